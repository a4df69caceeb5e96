"""The pure core: folding, canonical histories, and the incremental form that must equal them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from reporting import domain
from reporting.domain import Tramo, corte, evolucionar, tramos
from reporting.proyecciones import FAMILIAS, LOGROS

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def h(minutos: int) -> datetime:
    return T0 + timedelta(minutes=minutos)


def _un_valor(e: dict) -> dict:
    return {"": (e["v"],)} if "v" in e else {}


def test_changes_set_keys_and_merge_boards() -> None:
    e = evolucionar({}, {"municipio": "05001", "logros": {"LB1": "POR_ALCANZAR", "LB2": "X"}})
    e = evolucionar(e, {"logros": {"LB1": "ALCANZADO"}})
    assert e["logros"] == {"LB1": "ALCANZADO", "LB2": "X"}
    e = evolucionar(e, {domain.REEMPLAZAR: True, "logros": {"LB3": "NO_APLICA"}})
    assert e["logros"] == {"LB3": "NO_APLICA"} and domain.REEMPLAZAR not in e


def test_a_history_starts_at_each_change_and_coalesces_equal_values() -> None:
    hechos = [(h(0), {"v": "A"}), (h(1), {"v": "A"}), (h(2), {"v": "B"}), (h(3), {"v": "A"})]
    assert tramos(hechos, _un_valor) == [
        Tramo("", h(0), h(2), ("A",)),
        Tramo("", h(2), h(3), ("B",)),
        Tramo("", h(3), None, ("A",)),
    ]


def test_facts_at_the_same_instant_count_once_the_last_wins() -> None:
    hechos = [(h(0), {"v": "A"}), (h(1), {"v": "B"}), (h(1), {"v": "A"})]
    assert tramos(hechos, _un_valor) == [Tramo("", h(0), None, ("A",))]


def _incremental(hechos: list[tuple[datetime, dict]], filas, partir: int) -> list[Tramo]:
    """What the live path does, on an in-memory table: the first `partir` facts as one batch,
    the rest as a second batch over the rows it reads (open, or ended at the newest fact's
    time), whose difference (`Escritura`) is then written to the table."""
    tabla: domain.FilasEnMemoria = {}
    estado = domain.seguir({}, hechos[:partir], [filas], [tabla])
    ultimo = hechos[partir - 1][0] if partir else None
    antes = {k: v for k, v in tabla.items() if v[0] is None or v[0] == ultimo}
    despues = dict(antes)
    domain.seguir(estado, hechos[partir:], [filas], [despues])
    escritura = domain.Escritura()
    escritura.entidad("e", antes, despues)
    for _, sub, desde in escritura.borrar:
        del tabla[sub, desde]
    for _, sub, desde, hasta in escritura.terminar:
        tabla[sub, desde] = (hasta, tabla[sub, desde][1])
    for _, sub, desde, hasta, valores in escritura.insertar:
        assert (sub, desde) not in tabla
        tabla[sub, desde] = (hasta, valores)
    return sorted(
        (Tramo(s, d, hasta, v) for (s, d), (hasta, v) in tabla.items()),
        key=lambda x: (x.sub, x.desde),
    )


@pytest.mark.parametrize("semilla", range(200))
def test_incremental_equals_canonical_for_facts_in_order(semilla: int) -> None:
    azar = random.Random(semilla)
    hechos = []
    minuto = 0
    for _ in range(azar.randint(1, 12)):
        minuto += azar.choice([0, 0, 1, 2])  # ties are common: several events per command
        if azar.random() < 0.2:
            cambio = {domain.REEMPLAZAR: True, "municipio": "05001", "logros": {}}
        else:
            lb = f"LB{azar.randint(1, 4)}"
            cambio = {
                "municipio": azar.choice(["05001", "05002"]),
                "logros": {lb: azar.choice(domain.ESTADOS_LOGRO)},
            }
        hechos.append((h(minuto), cambio))
    esperado = tramos(hechos, LOGROS.historias[0].filas)
    for partir in {0, azar.randint(0, len(hechos)), len(hechos)}:
        assert _incremental(hechos, LOGROS.historias[0].filas, partir) == esperado
    for tramo in esperado:
        assert tramo.hasta is None or tramo.desde < tramo.hasta
    plegado: dict = {}
    for _, cambio in hechos:
        plegado = evolucionar(plegado, cambio)
    assert domain.tramos_y_estado(hechos, LOGROS.historias[0].filas) == (esperado, plegado)


def test_family_rows_wait_for_the_preselection() -> None:
    filas = FAMILIAS.historias[0].filas
    assert filas(evolucionar({}, {"desplazada": True})) == {}
    e = evolucionar({"desplazada": True}, {"estado": "PRESELECCIONADA", "municipio": "05001"})
    assert filas(e) == {"": ("PRESELECCIONADA", "05001", True, None, None, False, None)}


def test_the_cut_is_the_end_of_the_day_in_colombia() -> None:
    assert corte(date(2026, 3, 1)) == datetime(2026, 3, 2, 5, tzinfo=UTC)
    assert corte(date.max) > corte(date(9000, 1, 1))
    assert corte(date.min) < corte(date(2, 1, 1))


def test_what_reporting_reads_of_events() -> None:
    ops = domain.operaciones(
        "accompaniment",
        "LogrosEvaluados",
        {
            "familia_id": "f1",
            "municipio": "05001",
            "evaluaciones": [{"logro": "LB01", "estado": "ALCANZADO"}],
        },
        T0,
    )
    assert ops == {
        "logros": [
            domain.Hecho(
                "familia_logro",
                "f1",
                {domain.REEMPLAZAR: True, "municipio": "05001", "logros": {"LB1": "ALCANZADO"}},
            )
        ]
    }
    assert domain.operaciones("enrollment", "IntegranteRegistrado", {}, T0) == {}
    with pytest.raises(KeyError):
        domain.operaciones("enrollment", "FamiliaTeletransportada", {}, T0)
    with pytest.raises(domain.EventoInvalido):
        domain.operaciones("enrollment", "FamiliaVinculada", {"familia_id": "f"}, T0)
