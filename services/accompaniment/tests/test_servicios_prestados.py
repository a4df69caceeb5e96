"""A delivered service is evidence for each LB of its program, and the board is evaluated once
with them all: a program serves two or three LB, and each evaluation reads all 45."""

from __future__ import annotations

from datetime import date

import pytest
from accompaniment import domain
from accompaniment.ejemplos import familia_ejemplo
from accompaniment.events import CasoAbierto
from accompaniment.vocabulario import EstadoLogro, TipoVisita

HOY = date(2024, 6, 15)


def _caso() -> tuple[domain.Caso, list]:
    linea_base, miembros, _ = familia_ejemplo(HOY)
    caso = domain.fold(
        [CasoAbierto(familia_id="f-1", municipio="05001", fecha_vinculacion=HOY, desplazada=True)]
    )
    visita = domain.Visita("v1", "cog-1", HOY, TipoVisita.LINEA_BASE, 60)
    eventos = domain.decide(caso, domain.LevantarLineaBase(visita, linea_base, miembros))
    return domain.fold(eventos, caso), miembros


def test_a_service_for_two_lb_registers_both_and_evaluates_once(monkeypatch) -> None:
    caso, miembros = _caso()
    assert {caso.tablero[lb].estado for lb in ("LB24", "LB25")} == {EstadoLogro.POR_ALCANZAR}
    evaluaciones = []
    original = domain.evaluar
    monkeypatch.setattr(
        domain, "evaluar", lambda *a, **k: evaluaciones.append(1) or original(*a, **k)
    )

    eventos = domain.decide(
        caso,
        domain.RegistrarServicio(
            logros=("LB24", "LB25", "LB24"),
            integrante_id=None,
            referencia="s-1",
            fecha=HOY,
            miembros=miembros,
        ),
    )

    assert len(evaluaciones) == 1
    tipos = [e.event_type for e in eventos]
    assert tipos[:3] == ["ServicioRegistrado", "ServicioRegistrado", "LogrosEvaluados"]
    assert [e.logro for e in eventos[:2]] == ["LB24", "LB25"]  # each LB once
    alcanzados = {e.logro: e.evidencia for e in eventos if e.event_type == "LogroAlcanzado"}
    assert set(alcanzados) == {"LB24", "LB25"}
    assert {(ev.tipo, ev.referencia) for ev in alcanzados.values()} == {("SERVICIO", "s-1")}


def test_a_service_for_a_closed_case_is_nothing() -> None:
    caso, miembros = _caso()
    cerrado = domain.fold(domain.decide(caso, domain.Cerrar("RETIRADA", HOY)), caso)
    comando = domain.RegistrarServicio(("LB2",), "jefe", "s-2", HOY, miembros)
    assert domain.decide(cerrado, comando) == []


@pytest.mark.parametrize("logros", [("LB24",), ("LB24", "LB25")])
def test_the_events_rebuild_the_board_the_evaluation_saw(logros) -> None:
    caso, miembros = _caso()
    comando = domain.RegistrarServicio(logros, None, "s-3", HOY, miembros)
    despues = domain.fold(domain.decide(caso, comando), caso)
    assert set(despues.servicios) >= set(logros)
    assert {lb: c.estado for lb, c in despues.tablero.items()} == {
        lb: r.estado for lb, r in domain.tablero(despues, miembros, HOY).items()
    }
