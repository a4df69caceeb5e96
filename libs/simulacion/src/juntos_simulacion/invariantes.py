"""What must hold once every consumer has caught up, checked through the services' APIs.

The comparisons are pure functions of what was read (tested alone); `comprobar` reads it.
Reporting answers aggregates only (it never returns a family id), so "every family in reporting
with the same status" is checked as equal counts per municipality and status.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juntos_events import dlq
from juntos_events.topics import PRODUCERS

from juntos_simulacion.cliente import Rechazo, en_paralelo
from juntos_simulacion.etapas import NACIONAL, Contexto, listar_familias
from juntos_simulacion.medidas import Medida
from juntos_simulacion.pila import token

# enrollment's status -> the accompaniment case it implies (None: no case)
CASO_ESPERADO = {
    "PRESELECCIONADA": None,
    "NO_VINCULADA": None,
    "VINCULADA": "ABIERTO",
    "PROMOVIDA": "CERRADO",
    "RETIRADA": "CERRADO",
    "EGRESADA_POR_TIEMPO": "CERRADO",
}
# reporting's column -> enrollment statuses it counts (vinculadas: ever, so exits too)
COLUMNAS_ENROLLMENT = {
    "potencial": set(CASO_ESPERADO),
    "preseleccionadas": {"PRESELECCIONADA"},
    "vinculadas": {"VINCULADA", "PROMOVIDA", "RETIRADA", "EGRESADA_POR_TIEMPO"},
    "en_acompanamiento": {"VINCULADA"},
    "no_vinculadas": {"NO_VINCULADA"},
    "promovidas": {"PROMOVIDA"},
    "retiradas": {"RETIRADA"},
    "egresadas_por_tiempo": {"EGRESADA_POR_TIEMPO"},
}


@dataclass(frozen=True)
class Invariante:
    nombre: str
    ok: bool
    cifras: str

    def resumen(self) -> dict[str, Any]:
        return {"invariante": self.nombre, "ok": self.ok, "cifras": self.cifras}


def estados_coinciden(enrollment: dict[str, str], casos: dict[str, str | None]) -> Invariante:
    """Every family enrollment holds has the accompaniment case its status implies."""
    distintas = [
        fid for fid, estado in enrollment.items() if casos.get(fid) != CASO_ESPERADO.get(estado)
    ]
    de_mas = sorted(set(casos) - set(enrollment))
    ejemplos = [f"{fid}: {enrollment[fid]} vs {casos.get(fid)}" for fid in distintas[:3]]
    return Invariante(
        "every family in enrollment is in accompaniment with the same status",
        not distintas and not de_mas,
        f"{len(enrollment)} families, {len(distintas)} differ, {len(de_mas)} cases unknown to"
        f" enrollment; by status {dict(sorted(Counter(enrollment.values()).items()))}"
        + (f"; e.g. {'; '.join(ejemplos)}" if ejemplos else ""),
    )


def conteos_fuente(
    familias: list[tuple[str, str]], casos: dict[str, tuple[str, bool, bool]]
) -> dict[str, Counter[str]]:
    """Per municipality, reporting's columns computed from the sources: `familias` are
    enrollment's (municipio, estado), `casos` accompaniment's familia_id -> (municipio,
    baseline taken, plan built)."""
    conteos: dict[str, Counter[str]] = defaultdict(Counter)
    for municipio, estado in familias:
        for columna, estados in COLUMNAS_ENROLLMENT.items():
            conteos[municipio][columna] += estado in estados
    for municipio, con_lb, con_plan in casos.values():
        conteos[municipio]["con_linea_base"] += con_lb
        conteos[municipio]["con_plan"] += con_plan
    return conteos


def reporting_coincide(
    fuente: dict[str, Counter[str]], reporting: dict[str, dict[str, int]]
) -> Invariante:
    """Reporting's counts per municipality and column equal the sources'."""
    columnas = [*COLUMNAS_ENROLLMENT, "con_linea_base", "con_plan"]
    vacio: Counter[str] = Counter()
    diferencias = [
        f"{m} {c}: reporting {reporting.get(m, {}).get(c, 0)} vs source {fuente.get(m, vacio)[c]}"
        for m in sorted(set(fuente) | set(reporting))
        for c in columnas
        if reporting.get(m, {}).get(c, 0) != fuente.get(m, vacio)[c]
    ]
    totales = {c: sum(x[c] for x in fuente.values()) for c in columnas}
    return Invariante(
        "counts in reporting equal counts from enrollment and accompaniment",
        not diferencias,
        f"{len(diferencias)} differences over {len(fuente)} municipalities; source totals "
        f"{totales}" + (f"; e.g. {'; '.join(diferencias[:3])}" if diferencias else ""),
    )


def sin_cartas_muertas(cartas: list[str], plantadas: int = 0) -> Invariante:
    """No event in a dead-letter topic unless a planted bad input put it there.

    The generator plants bad rows in the files only; the importers refuse them before any event
    exists, so the expected count is 0."""
    return Invariante(
        "no event in a dead-letter topic unless planted",
        len(cartas) <= plantadas,
        f"{len(cartas)} dead letters, {plantadas} planted" + (f": {cartas[:3]}" if cartas else ""),
    )


def importaciones_esperadas(
    esperadas: int, familias: int, plantadas: dict[str, int], rechazos: dict[str, int]
) -> Invariante:
    """Enrollment holds the families the manifest expects, and each importer reported exactly
    the rows planted in its file (`plantados.ndjson`: every row an importer must reject)."""
    distintos = {
        archivo: (n, plantadas.get(archivo, 0))
        for archivo, n in rechazos.items()
        if n != plantadas.get(archivo, 0)
    }
    return Invariante(
        "imports: families as the manifest expects, refused rows exactly the planted ones",
        familias == esperadas and not distintos,
        f"{familias} families (expected {esperadas}); refused rows per file {rechazos}"
        + (f"; differ (got, planted): {distintos}" if distintos else ""),
    )


def plantadas_por_archivo(ruta: Path) -> dict[str, int]:
    with ruta.open() as f:
        return dict(Counter(json.loads(linea)["archivo"] for linea in f))


def graduadas(enviadas: set[str], promovidas: set[str]) -> Invariante:
    """Every family whose follow-up met every LB was graduated by enrollment.

    Others may graduate too: a household follow-up plus a RUAF delivery can leave nothing
    pending, and the exit rule graduates them as well; they are counted, not failed."""
    faltan, otras = enviadas - promovidas, promovidas - enviadas
    return Invariante(
        "families that reached every LB are PROMOVIDA in enrollment",
        bool(enviadas) and not faltan,
        f"{len(enviadas)} sent to graduate, {len(promovidas)} PROMOVIDA, {len(faltan)} missing,"
        f" {len(otras)} more graduated by follow-ups and deliveries",
    )


def sin_errores(medidas: list[Medida]) -> Invariante:
    fallidas = {m.etapa: m.fallidas for m in medidas if m.fallidas}
    return Invariante(
        "no request refused unexpectedly",
        not fallidas,
        f"refused per stage: {fallidas}" if fallidas else "0 refused",
    )


async def comprobar(ctx: Contexto, medidas: list[Medida]) -> list[Invariante]:
    """Read enrollment, accompaniment, reporting and the dead-letter topics; check it all."""
    enrollment = {
        f["familia_id"]: (f["municipio"], f["estado"]) async for f in listar_familias(ctx)
    }
    casos: dict[str, tuple[str, str, bool, bool]] = {}

    async def caso(fid: str) -> None:
        r = await ctx.cliente.pedir(
            "GET",
            ctx.url("accompaniment", f"/v1/casos/{fid}"),
            token(*NACIONAL),
            esperado=(200, 404),
        )
        if r.status_code == 200:
            c = r.json()
            casos[fid] = (c["municipio"], c["estado"], c["linea_base"], c["plan_version"] > 0)

    await en_paralelo(list(enrollment), caso, ctx.concurrencia)
    r = await ctx.cliente.pedir(
        "GET",
        ctx.url("reporting", "/v1/indicadores/familias"),
        token(*NACIONAL),
        params={"nivel": "MUNICIPIO", "formato": "csv"},
    )
    reporting = {
        fila["territorio"]: {
            k: int(v) for k, v in fila.items() if v.isdigit() and k != "territorio"
        }
        for fila in csv.DictReader(io.StringIO(r.text))
    }
    cartas = await dlq.list_dead_letters(ctx.pila.bootstrap, tuple(PRODUCERS))
    return [
        importaciones_esperadas(
            ctx.manifiesto["poblacion"]["familias"],
            len(enrollment),
            plantadas_por_archivo(ctx.dir / "plantados.ndjson"),
            ctx.importaciones,
        ),
        estados_coinciden(
            {fid: e for fid, (_, e) in enrollment.items()}, {fid: c[1] for fid, c in casos.items()}
        ),
        reporting_coincide(
            conteos_fuente(
                list(enrollment.values()), {f: (c[0], c[2], c[3]) for f, c in casos.items()}
            ),
            reporting,
        ),
        graduadas(ctx.graduandas, {fid for fid, (_, e) in enrollment.items() if e == "PROMOVIDA"}),
        sin_cartas_muertas([c.address for c in cartas]),
        sin_errores(medidas),
    ]


__all__ = ["Invariante", "Rechazo", "comprobar"]
