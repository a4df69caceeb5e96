"""The rules engine alone (`accompaniment.reglas.evaluar`) vs a raw loop over the same answers.

N is the number of families; one evaluation computes the family's 45 LB. The families are
drawn before timing (bench/familias.py, seeded): juntos_simulacion's households, their baseline,
displaced or not, some with a Plan Familiar or a delivered service, so that every LB takes
different statuses. Both sides are pure CPU in this one process, with no I/O and no servers:
the figures are per core.

The project calls `evaluar` as `domain.tablero` does, which returns the 45 `Resultado`s with
their members and explanations. The baseline is the floor of that work, a raw loop that does
what no engine can avoid: for each member, the ages in years and months at the visit date and
the lookup of their answers; then for each of the 45 LB, every answer the LB reads (the
rules table's `preguntas`: member questions for each member, household questions once) and one
status out of whether they were answered, with no rule logic and no explanations.
Order A B B A over the two halves of the families, so that drift falls on both sides alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from accompaniment.linea_base import RespuestasIntegrante
from accompaniment.reglas import REGLAS, evaluar

from bench import familias
from bench.familias import HOY, Familia
from bench.report import Phase, Result, release_memory
from bench.servers import Servers
from bench.workload import progress

SEED = 20_261_126
WARM_UP = 200  # families evaluated untimed by each side first
CHUNK = 1_000  # families between two progress-bar updates

_DE_INTEGRANTE = set(RespuestasIntegrante.model_fields)
# (code, member questions, household questions) of each LB, as the rules table lists them
_TABLA = [
    (
        regla.codigo,
        tuple(p for p in regla.preguntas if p in _DE_INTEGRANTE),
        tuple(p for p in regla.preguntas if p not in _DE_INTEGRANTE),
    )
    for regla in REGLAS
]


def con_reglas(f: Familia) -> dict[str, Any]:
    return evaluar(
        f.linea_base,
        f.miembros,
        hoy=HOY,
        desplazada=f.desplazada,
        plan_familiar=f.plan_familiar,
        servicios=f.servicios,
    )


def bucle_crudo(f: Familia) -> dict[str, str]:
    """Ages and answers of each member, every answer each LB reads; no rule logic."""
    hoy = HOY
    integrantes = f.linea_base.integrantes
    hogar = f.linea_base.hogar
    personas = []
    for m in f.miembros:
        n = m.fecha_nacimiento
        anios = hoy.year - n.year - ((hoy.month, hoy.day) < (n.month, n.day))
        meses = (hoy.year - n.year) * 12 + hoy.month - n.month - (hoy.day < n.day)
        personas.append((anios, meses, integrantes.get(m.integrante_id)))
    estados = {}
    for codigo, de_integrante, del_hogar in _TABLA:
        faltan = 0
        for _, _, r in personas:
            if r is None:
                faltan += 1
                continue
            for campo in de_integrante:
                if getattr(r, campo) is None:
                    faltan += 1
        for campo in del_hogar:
            if getattr(hogar, campo) is None:
                faltan += 1
        estados[codigo] = "POR_ALCANZAR" if faltan else "ALCANZADO"
    return estados


def _evaluar(label: str, fams: Sequence[Familia], una: Callable[[Familia], object]) -> None:
    with progress() as bar:
        task = bar.add_task(label, total=len(fams))
        for inicio in range(0, len(fams), CHUNK):
            for f in fams[inicio : inicio + CHUNK]:
                una(f)
            bar.advance(task, min(CHUNK, len(fams) - inicio))


def estados(fams: Sequence[Familia]) -> tuple[Counter[str], list[str]]:
    """Untimed: the statuses the engine gives (all LB, all families), and the LB that took a
    single status across them (the generator should make every LB vary)."""
    total: Counter[str] = Counter()
    por_logro: dict[str, set[str]] = {}
    for f in fams:
        for codigo, r in con_reglas(f).items():
            total[r.estado.value] += 1
            por_logro.setdefault(codigo, set()).add(r.estado.value)
    return total, sorted(c for c, vistos in por_logro.items() if len(vistos) == 1)


async def run(servers: Servers | None, events: int) -> Result:
    fams = familias.generar(events + WARM_UP, seed=SEED)
    calentamiento, fams = fams[:WARM_UP], fams[WARM_UP:]
    miembros = sum(len(f.miembros) for f in fams)
    mitad = len(fams) // 2
    partes = (fams[:mitad], fams[mitad:])
    lados = {
        "project": ("evaluar (accompaniment.reglas)", con_reglas, "reglas-project"),
        "baseline": ("raw loop over ages and answers", bucle_crudo, "reglas-baseline"),
    }
    rondas: dict[str, list[Phase]] = {"project": [], "baseline": []}
    for label, una, _ in lados.values():
        _evaluar(f"warm-up {label}", calentamiento, una)
    for n, lado in enumerate(("project", "baseline", "baseline", "project")):
        label, una, perfil = lados[lado]
        parte = partes[n // 2]
        release_memory()
        with Phase(profile_as=perfil) as phase:
            _evaluar(f"{label} {n // 2 + 1}/2", parte, una)
        rondas[lado].append(phase)
    total, un_estado = estados(fams)
    if len(fams) >= 2_000 and un_estado:
        raise AssertionError(f"the generated families do not vary: {un_estado} take one status")
    project, baseline = Phase.total(rondas["project"]), Phase.total(rondas["baseline"])
    print(
        f"reglas    {len(fams):,} families ({miembros:,} members): project"
        f" {project.seconds / len(fams) * 1e6:,.0f} µs/family | baseline"
        f" {baseline.seconds / len(fams) * 1e6:,.1f} µs/family (one core)",
        flush=True,
    )
    return Result(
        bench="reglas",
        events=len(fams),
        unit="families",
        project=project,
        baseline=baseline,
        target=None,
        project_path=(
            "accompaniment.reglas.evaluar: 45 LB with members and explanations per family,"
            " pure CPU, one core"
        ),
        baseline_path="raw loop: ages, answer lookup, every answer each LB reads, no rule logic",
        extra={
            "families": len(fams),
            "members": miembros,
            "project_us_per_family": round(project.seconds / len(fams) * 1e6, 1),
            "baseline_us_per_family": round(baseline.seconds / len(fams) * 1e6, 2),
            "statuses": dict(sorted(total.items())),
            "lb_with_one_status": un_estado,
            "cpu": "one core, one process, no I/O",
            "rounds": "ABBA halves",
            "seed": SEED,
            "hoy": HOY.isoformat(),
        },
    )
