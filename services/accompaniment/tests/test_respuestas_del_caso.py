"""A case validates its stored answers at most once: every command evaluates the board, and
validating the questionnaire costs about half an evaluation. States rebuilt from the events
still equal the states decided, board and all."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from accompaniment import domain
from accompaniment.ejemplos import familia_ejemplo
from accompaniment.events import CasoAbierto
from accompaniment.linea_base import LineaBase
from accompaniment.vocabulario import TipoVisita

HOY = date(2024, 6, 15)


@pytest.fixture
def validaciones(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every `LineaBase.model_validate` call from here on, by its input."""
    vistas: list[Any] = []
    original = LineaBase.model_validate.__func__  # type: ignore[attr-defined]

    def contando(cls: type[LineaBase], obj: Any, *args: Any, **kwargs: Any) -> LineaBase:
        vistas.append(obj)
        return original(cls, obj, *args, **kwargs)

    monkeypatch.setattr(LineaBase, "model_validate", classmethod(contando))
    return vistas


def _visita(n: int, tipo: TipoVisita) -> domain.Visita:
    return domain.Visita(f"v{n}", "cog-1", HOY, tipo, 60)


def _con_linea_base() -> tuple[domain.Caso, list[Any], list[Any]]:
    """A case after its baseline, its members, and every event so far."""
    linea_base, miembros, _ = familia_ejemplo(HOY)
    abierto = CasoAbierto(
        familia_id="f-1", municipio="05001", fecha_vinculacion=HOY, desplazada=True
    )
    caso = domain.fold([abierto])
    comando = domain.LevantarLineaBase(_visita(1, TipoVisita.LINEA_BASE), linea_base, miembros)
    eventos = domain.decide(caso, comando)
    return domain.fold(eventos, caso), miembros, [abierto, *eventos]


def test_taking_the_baseline_evaluates_it_without_validating_it_again(validaciones):
    _con_linea_base()
    assert validaciones == []


def test_a_loaded_case_validates_its_answers_once_for_all_its_commands(validaciones):
    caso, miembros, _ = _con_linea_base()
    for dia in (HOY, date(2024, 7, 1), date(2024, 8, 1)):
        domain.decide(caso, domain.Reevaluar(hoy=dia, miembros=miembros))
        domain.tablero(caso, miembros, dia)
    assert len(validaciones) == 1


def test_a_follow_up_validates_the_stored_and_the_merged_answers_once_each(validaciones):
    caso, miembros, eventos = _con_linea_base()
    cambios = {"hogar": {"desagues": "SIN_SISTEMA"}}
    nuevos = domain.decide(
        caso, domain.Seguimiento(_visita(2, TipoVisita.SEGUIMIENTO), cambios, miembros)
    )
    assert len(validaciones) == 2
    despues = domain.fold(nuevos, caso)
    assert despues.respuestas().hogar.desagues == "SIN_SISTEMA"
    # rebuilt from its events in another process: the same state, the same board
    releido = domain.fold([*eventos, *nuevos])
    assert releido == despues
    assert domain.tablero(releido, miembros, HOY) == domain.tablero(despues, miembros, HOY)


def test_answers_are_equal_by_content_whether_validated_or_not():
    caso, _, eventos = _con_linea_base()
    assert caso.linea_base is not None
    validadas = domain.Respuestas(caso.linea_base.datos, caso.respuestas())
    assert validadas == domain.Respuestas(dict(caso.linea_base.datos))
    assert domain.fold(eventos).linea_base == validadas
    assert domain.Respuestas({"version": 1}) != validadas
