"""Projections on a real PostgreSQL: histories in event time, idempotence, late events."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from reporting import handlers, queries
from reporting.proyecciones import PROYECCIONES
from sqlalchemy.ext.asyncio import AsyncEngine

from . import relato as r
from .conftest import aplicar, filas, plan_sin_seqscan

D1, D2, D3 = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
MPIO = "91001"

HISTORIA = (
    "SELECT estado, municipio, departamento, desplazada, registro, vinculada, cogestor_id,"
    " valid_from, valid_to FROM {familias}.familia_estado WHERE familia_id = $1"
    " ORDER BY valid_from"
)


async def test_a_family_status_history_in_event_time(engine: AsyncEngine) -> None:
    f = "fam-1"
    await aplicar(
        engine,
        r.preseleccionada(f, MPIO, r.dia(D1)),
        r.cogestor_asignado(f, MPIO, "cg-1", r.dia(D1, 13)),
        r.vinculada(f, MPIO, "cg-1", r.dia(D2)),
        r.integrante_registrado(f, r.dia(D2, 14)),
        r.promovida(f, r.dia(D3)),
    )
    historia = await filas(engine, HISTORIA, f=f)
    assert [fila[0] for fila in historia] == [
        "PRESELECCIONADA",
        "PRESELECCIONADA",
        "VINCULADA",
        "PROMOVIDA",
    ]
    assert historia[0][1:7] == (MPIO, "91", False, "SISBEN", False, None)
    assert historia[2][5:7] == (True, "cg-1")
    assert historia[3][5:7] == (True, None)  # graduation frees the cogestor, vinculada stays
    assert historia[0][7] == r.dia(D1) and historia[0][8] == r.dia(D1, 13)
    assert historia[-1][8].year == 9999 or str(historia[-1][8]) == "infinity"


async def test_redelivered_events_change_nothing(engine: AsyncEngine) -> None:
    suceso = r.preseleccionada("fam-2", MPIO, r.dia(D1))
    assert await aplicar(engine, suceso, suceso) == [1, 0]
    assert len(await filas(engine, HISTORIA, f="fam-2")) == 1
    hechos = await filas(engine, "SELECT count(*) FROM {familias}.familia_estado_hecho")
    assert hechos == [(1,)]


async def test_unknown_and_unused_event_types(engine: AsyncEngine) -> None:
    assert await aplicar(engine, r.integrante_registrado("fam-3", r.dia(D1))) == [0]
    try:
        await aplicar(engine, r.desconocido("fam-3", r.dia(D1)))
    except handlers.EventoDesconocido:
        pass
    else:
        raise AssertionError("an unknown type must be reported to the caller")


async def _historias(engine: AsyncEngine) -> dict[str, list[tuple]]:
    return {
        "familia": await filas(
            engine,
            "SELECT familia_id, estado, desplazada, vinculada, cogestor_id, valid_from, valid_to"
            " FROM {familias}.familia_estado ORDER BY 1, valid_from",
        ),
        "logro": await filas(
            engine,
            "SELECT familia_id, logro, estado, municipio, valid_from, valid_to"
            " FROM {logros}.familia_logro ORDER BY 1, 2, valid_from",
        ),
        "actual": await filas(
            engine,
            "SELECT clave, t, estado FROM {familias}.familia_estado_actual UNION ALL"
            " SELECT clave, t, estado FROM {logros}.familia_logro_actual ORDER BY 1, 2",
        ),
    }


def _relato_de_una_familia(f: str) -> list[r.Suceso]:
    base = r.dia(D1)
    return [
        r.preseleccionada(f, MPIO, base),
        r.marcada_desplazada(f, base + timedelta(hours=1)),
        r.cogestor_asignado(f, MPIO, "cg-1", base + timedelta(days=1)),
        r.vinculada(f, MPIO, "cg-1", base + timedelta(days=2)),
        r.evaluados(f, MPIO, base + timedelta(days=3), pendientes=("LB1", "LB2", "LB3")),
        r.logro_alcanzado(f, MPIO, "LB1", base + timedelta(days=4)),
        r.logro_perdido(f, MPIO, "LB1", base + timedelta(days=5)),
        r.cogestor_asignado(f, MPIO, "cg-2", base + timedelta(days=5)),
        r.evaluados(f, MPIO, base + timedelta(days=6), pendientes=("LB2",)),
        r.logro_alcanzado(f, MPIO, "LB2", base + timedelta(days=7)),
        r.promovida(f, base + timedelta(days=8)),
    ]


async def test_late_events_are_placed_in_history_as_if_in_order(
    engine: AsyncEngine, pg_server, database_url: str
) -> None:
    """Each family's events shuffled give exactly the rows of the events in order."""
    en_orden = [s for i in range(3) for s in _relato_de_una_familia(f"fam-{i}")]
    await aplicar(engine, *en_orden)
    esperado = await _historias(engine)
    assert len(esperado["logro"]) > 45

    from juntos_events.migrate import upgrade
    from sqlalchemy.ext.asyncio import create_async_engine

    from .conftest import MIGRATIONS

    otra = database_url.rsplit("/", 1)[1] + "_b"
    pg_server.create_database(otra)
    desordenado = create_async_engine(pg_server.async_url(otra))
    try:
        await upgrade(pg_server.async_url(otra), MIGRATIONS)
        mezclados = list(en_orden)
        random.Random(7).shuffle(mezclados)
        await aplicar(desordenado, *mezclados)
        assert await _historias(desordenado) == esperado
    finally:
        await desordenado.dispose()
        pg_server.drop_database(otra)


async def test_per_lb_indicators_are_answered_from_an_index(engine: AsyncEngine) -> None:
    """The live generation (created by the migrations) and a new one both have the index an
    indicator of one LB reads alone (at 200,000 families: 1.7 s without it)."""
    async with engine.begin() as conn:
        _, nueva = await handlers.nueva_generacion(conn, PROYECCIONES["logros"])
        esquemas = {(await handlers.esquemas_vivos(conn))["logros"], nueva}
        definiciones = {
            esquema: (
                await conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = $1"
                    " AND indexname = 'familia_logro_x0'",
                    (esquema,),
                )
            ).scalar()
            for esquema in esquemas
        }
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            fila[0]
            for fila in await conn.exec_driver_sql(
                f"EXPLAIN SELECT estado, count(*) FROM {nueva}.familia_logro"
                " WHERE logro = 'LB1' AND valid_from < now() AND valid_to >= now() GROUP BY 1"
            )
        )
    assert len(definiciones) == 2
    for definicion in definiciones.values():
        assert definicion is not None and "(logro, valid_to, valid_from)" in definicion
        assert "INCLUDE (estado, municipio, departamento)" in definicion
    assert "Index Only Scan using familia_logro_x0" in plan


async def test_a_department_filter_is_a_range_of_municipality_codes(engine: AsyncEngine) -> None:
    """`left(municipio, 2) = :d` read every row of the nation (2.5 s for one department at
    100,000 families); a range of codes is an index condition."""
    consulta = queries.Consulta(
        corte=datetime.now(UTC),
        nivel=queries.Nivel.DEPARTAMENTO,
        departamento="52",
        municipio=None,
        territorios=["52"],
    )
    plan = await plan_sin_seqscan(
        engine,
        f"SELECT count(*) FROM {{familias}}.familia_estado WHERE true {consulta.donde()}",
        consulta.params(),
    )
    assert "Index Cond: ((municipio >= " in plan, plan
