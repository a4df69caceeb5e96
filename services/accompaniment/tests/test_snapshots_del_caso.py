"""A case's snapshot is the case: dumped to JSON and loaded back it equals the state folded from
every event, at every point of a case's life, and it knows its version."""

from __future__ import annotations

import json
from datetime import date

from accompaniment import domain, snapshots
from accompaniment.ejemplos import familia_ejemplo
from accompaniment.events import CasoAbierto
from accompaniment.vocabulario import TipoVisita

HOY = date(2024, 6, 15)


def _vida() -> list[domain.Caso]:
    """A case's states: opened, baseline, plan, a delivery, a follow-up, closed."""
    linea_base, miembros, _ = familia_ejemplo(HOY)

    def visita(n: int, tipo: TipoVisita) -> domain.Visita:
        return domain.Visita(f"v{n}", "cog-1", HOY, tipo, 60, notas="x" if n == 2 else None)

    abierto = CasoAbierto(
        familia_id="f-1", municipio="05001", fecha_vinculacion=HOY, desplazada=True
    )
    estados = [domain.fold([abierto])]
    pendiente = None
    comandos = [
        lambda: domain.LevantarLineaBase(visita(1, TipoVisita.LINEA_BASE), linea_base, miembros),
        lambda: domain.ConstruirPlan(
            HOY,
            (domain.PrioridadPlan(pendiente, "jefe", date(2025, 1, 1), ("ir",), ("sena",)),),
            miembros,
            visita(2, TipoVisita.PLAN_FAMILIAR),
        ),
        lambda: domain.RegistrarServicio(("LB24", "LB25"), None, "s-1", HOY, miembros),
        lambda: domain.Seguimiento(
            visita(3, TipoVisita.SEGUIMIENTO), {"hogar": {"credito_usura": True}}, miembros
        ),
        lambda: domain.Cerrar("RETIRADA", HOY),
    ]
    eventos: list = [abierto]
    for comando in comandos:
        nuevos = domain.decide(estados[-1], comando())
        assert nuevos
        eventos += nuevos
        estados.append(domain.fold(nuevos, estados[-1]))
        assert estados[-1] == domain.fold(eventos) and estados[-1].version == len(eventos)
        pendiente = next(lb for lb, c in estados[-1].tablero.items() if c.estado == "POR_ALCANZAR")
    return estados


def test_a_snapshot_loads_back_the_same_case_at_every_point_of_its_life() -> None:
    for caso in _vida():
        guardado = json.loads(json.dumps(snapshots.dump(caso)))
        assert snapshots.load(guardado) == caso


def test_the_case_knows_what_changed_after_a_version() -> None:
    *_, seguido, cerrado = _vida()
    assert seguido.cambiadas_desde(seguido.version) == set()
    assert seguido.cambiadas_desde(seguido.linea_base_en) == {"hogar.credito_usura"}
    assert seguido.cambiadas_desde(seguido.linea_base_en - 1) is None  # the baseline since
    assert snapshots.load(snapshots.dump(cerrado)).cambiadas_desde(2) is None
