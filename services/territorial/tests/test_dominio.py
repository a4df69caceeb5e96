"""The pure core: the capacity map's scoring, demand counters, catalogue publication, rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from juntos_catalogo import divipola
from territorial import territorio
from territorial.domain import ReglaIncumplida, capacidades, catalogo, lbt, plan
from territorial.domain.capacidades import Programa, Tablero, TableroGuardado, TableroRecibido
from territorial.vocabulario import Clasificacion, EstadoAccion, EstadoCondicion

C, P, N = EstadoCondicion.CUMPLE, EstadoCondicion.CUMPLE_PARCIALMENTE, EstadoCondicion.NO_CUMPLE
HOY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("estados", "demanda", "oferta", "capacidad", "clasificacion"),
    [
        ((), 5, 5, None, Clasificacion.SIN_LINEA_BASE),
        ((C, C, C, C), 0, 0, 1.0, Clasificacion.FORTALEZA),  # strong, nobody waiting
        ((C, C, C, P), 4, 4, 0.875, Clasificacion.FORTALEZA),  # covered
        ((C, C, C, P), 4, 3, 0.875, Clasificacion.EN_DESARROLLO),  # 0.75 coverage
        ((C, C, C, P), 4, 1, 0.875, Clasificacion.DEBILIDAD),  # 0.25 coverage
        ((C, P), 4, 2, 0.75, Clasificacion.EN_DESARROLLO),  # coverage 0.5 is not critical
        ((C, N), 0, 0, 0.5, Clasificacion.EN_DESARROLLO),  # 0.5 is not weak
        ((P, N), 0, 100, 0.25, Clasificacion.DEBILIDAD),  # supply does not make up for it
    ],
)
def test_scoring_and_thresholds(estados, demanda, oferta, capacidad, clasificacion) -> None:
    celda = capacidades.celda("SALUD", estados, demanda, oferta)
    assert (celda.capacidad, celda.clasificacion) == (capacidad, clasificacion)
    assert celda.brecha == max(demanda - oferta, 0)


def test_the_map_has_every_dimension_of_the_catalog() -> None:
    celdas = capacidades.mapa({"SALUD": [N]}, {"SALUD": 3}, {})
    assert len(celdas) == 10 and celdas[0].dimension == "IDENTIFICACION"
    assert (
        next(c for c in celdas if c.dimension == "SALUD").clasificacion is Clasificacion.DEBILIDAD
    )


def test_supply_counts_a_program_once_per_dimension() -> None:
    programas = [
        Programa(("LB13", "LB14", "LB24"), 10),
        Programa(("LB13",), 5),
        Programa(("LB99",), 7),
    ]
    assert capacidades.oferta_por_dimension(programas) == {"SALUD": 15, "HABITABILIDAD": 10}
    assert capacidades.oferta_por_logro(programas) == {
        "LB13": 15,
        "LB14": 10,
        "LB24": 10,
        "LB99": 7,
    }


def test_a_new_board_moves_the_counters_by_its_difference() -> None:
    antes = Tablero("05001", frozenset({"LB13", "LB14", "LB24"}))
    despues = Tablero("05001", frozenset({"LB14", "LB1"}))
    logros, dims = capacidades.cambios_de_demanda(antes, despues)
    assert logros == {("05001", "LB13"): -1, ("05001", "LB24"): -1, ("05001", "LB1"): 1}
    assert dims == {("05001", "HABITABILIDAD"): -1, ("05001", "IDENTIFICACION"): 1}  # SALUD stays
    # a family that moved leaves its old municipality
    logros, dims = capacidades.cambios_de_demanda(antes, Tablero("05002", antes.pendientes))
    assert logros[("05001", "LB13")] == -1 and logros[("05002", "LB13")] == 1
    assert dims[("05001", "SALUD")] == -1 and dims[("05002", "SALUD")] == 1


def test_catalogue_publication_appends_only_what_is_missing_or_renamed() -> None:
    entradas = catalogo.entradas(divipola())
    assert len(entradas) == 33 + 1122
    todo = catalogo.pendientes(entradas, {})
    assert len(todo) == 1155 and {p.version for p in todo} == {0}
    publicados = {e.stream: (1, e.evento.model_dump(mode="json")) for e in entradas}
    assert catalogo.pendientes(entradas, publicados) == []
    viejo = {**publicados["municipio:27493"][1], "denominacion": "BELÉN DE BAJIRÁ"}
    del publicados["municipio:05001"]
    publicados["municipio:27493"] = (1, viejo)
    pendientes = catalogo.pendientes(entradas, publicados)
    assert [(p.entrada.stream, p.version) for p in pendientes] == [
        ("municipio:05001", 0),
        ("municipio:27493", 1),
    ]


def _encuesta(fecha: date, **estados: EstadoCondicion) -> lbt.Levantar:
    return lbt.Levantar(
        municipio="05001",
        fecha=fecha,
        calificaciones=tuple(
            lbt.Calificacion(cbt, estados.get(cbt, C), "acta") for cbt in territorio.cbts()
        ),
        actor="u1",
        hoy=HOY,
    )


def test_lbt_changes_only_what_changed_and_refuses_going_back_in_time() -> None:
    eventos = lbt.LBT.decide(lbt.LBT.inicial, _encuesta(date(2026, 3, 1), CBT8=N))
    estado = lbt.LBT.fold(eventos)
    mismo = lbt.ActualizarCondicion(
        "05001", lbt.Calificacion("CBT8", N, "acta"), date(2026, 4, 1), "u2", HOY
    )
    assert lbt.LBT.decide(estado, mismo) == []
    atras = lbt.ActualizarCondicion(
        "05001", lbt.Calificacion("CBT8", C, "x"), date(2026, 2, 1), "u2", HOY
    )
    with pytest.raises(ReglaIncumplida, match="on or after"):
        lbt.LBT.decide(estado, atras)
    with pytest.raises(ReglaIncumplida, match="future"):
        lbt.LBT.decide(estado, _encuesta(date(2026, 11, 26)))


def test_approval_keeps_the_follow_up_of_actions_carried_over() -> None:
    def registrar(accion_id: str) -> plan.RegistrarAccion:
        return plan.RegistrarAccion(
            municipio="05001",
            accion_id=accion_id,
            cbt="CBT8",
            descripcion="x",
            entidad_responsable_id="e1",
            presupuesto_cop=10,
            fecha_inicio=date(2026, 1, 1),
            fecha_fin=date(2026, 12, 31),
            estado_cbt=N,
        )

    estado, historia = plan.PLAN.inicial, []
    for comando in (
        plan.AbrirBorrador("05001"),
        registrar("a1"),
        plan.Aprobar("05001", date(2026, 2, 1), None, HOY),
        plan.AbrirBorrador("05001"),
        registrar("a2"),
        plan.RegistrarSeguimiento("05001", "a1", EstadoAccion.EN_CURSO, 30, date(2026, 3, 1), HOY),
        plan.Aprobar("05001", date(2026, 4, 1), "Acta 2", HOY),
    ):
        eventos = plan.PLAN.decide(estado, comando)
        estado, historia = plan.PLAN.fold(eventos, estado), [*historia, *eventos]
    assert estado.vigente is not None and estado.vigente.numero == 2
    a1 = estado.vigente.acciones["a1"]
    assert (a1.estado, a1.avance) == (EstadoAccion.EN_CURSO, 30)
    assert estado.aprobadas[1].acciones["a1"].estado is EstadoAccion.PENDIENTE  # as approved
    assert [type(e).__name__ for e in historia].count("PlanAccionMunicipalAprobado") == 2
    atras = plan.RegistrarSeguimiento(
        "05001", "a1", EstadoAccion.PENDIENTE, 0, date(2026, 5, 1), HOY
    )
    with pytest.raises(ReglaIncumplida, match="cannot go back"):
        plan.PLAN.decide(estado, atras)


def test_a_run_of_boards_is_applied_in_order_as_one_by_one() -> None:
    """Later boards follow earlier ones; one as old as the kept one, or older, changes nothing;
    a closure empties the family's board where it lives; every pair moved is kept, at 0 too."""
    t = [datetime(2026, 6, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(5)]
    guardados = {"a": TableroGuardado(Tablero("05001", frozenset({"LB13"})), t[1])}
    cambios = capacidades.aplicar_tableros(
        guardados,
        [
            TableroRecibido("a", Tablero("05001", frozenset({"LB1"})), t[1]),  # as old: nothing
            TableroRecibido("a", Tablero("05001", frozenset({"LB14"})), t[3]),
            TableroRecibido("a", Tablero("05001", frozenset({"LB1"})), t[2]),  # older: nothing
            TableroRecibido("b", Tablero("68001", frozenset({"LB2"})), t[1]),
            TableroRecibido("b", None, t[2]),  # closed: nothing pending in 68001
            TableroRecibido("c", None, t[2]),  # closed with no board: nothing
        ],
    )
    assert cambios.familias == {
        "a": TableroGuardado(Tablero("05001", frozenset({"LB14"})), t[3]),
        "b": TableroGuardado(Tablero("68001", frozenset()), t[2]),
    }
    assert cambios.por_logro == {("05001", "LB13"): -1, ("05001", "LB14"): 1, ("68001", "LB2"): 0}
    assert cambios.por_dimension == {("68001", "IDENTIFICACION"): 0}  # LB13, LB14: both SALUD
    assert cambios.municipios == {"05001", "68001"}
    assert cambios.cierres_sin_tablero == ["c"]
