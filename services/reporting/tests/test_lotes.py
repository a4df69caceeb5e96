"""A batch of events applied at once (`handlers.aplicar_lote`, the live consumer's path) gives
exactly the rows of the same events applied one by one, in a number of statements that does not
grow with the batch."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from juntos_events.envelope import Envelope
from juntos_testing.db import statements
from reporting import carga, domain, handlers, reconstruccion
from reporting.proyecciones import PROYECCIONES
from sqlalchemy.ext.asyncio import AsyncEngine

from . import relato as r
from .relato import Suceso

MPIO = "91001"
D1, D2 = date(2026, 2, 1), date(2026, 3, 1)


def _corriente() -> tuple[list[Suceso], list[Suceso]]:
    """Every projection's events, with what makes a batch hard: several events of one family
    at one instant (a board evaluated, an LB reached and lost again: rows replaced and reopened
    within the instant), a late event in the middle of the same family's batch, a redelivered
    id, a second baseline of a family older than its first, an unknown type; then a last batch
    with an invalid event (which sends the consumer back to one event at a time)."""
    historia = r.historia("b-")
    f, g = "b-f9", "b-f10"
    t = r.dia(D1)
    vinculada_g = r.vinculada(g, MPIO, "cg-9", t + timedelta(days=2))
    linea_base = r.linea_base(f, MPIO, t + timedelta(days=3, hours=1))
    propios = [
        r.preseleccionada(f, MPIO, t),
        r.preseleccionada(g, MPIO, t),
        r.cogestor_asignado(f, MPIO, "cg-9", t + timedelta(days=1)),
        r.cogestor_asignado(f, MPIO, "cg-8", t + timedelta(days=1)),  # same instant: replaced
        r.cogestor_asignado(f, MPIO, "cg-9", t + timedelta(days=1)),  # ... and back
        r.vinculada(f, MPIO, "cg-9", t + timedelta(days=2)),
        vinculada_g,
        r.desconocido(f, t + timedelta(days=2)),
        linea_base,
        r.evaluados(f, MPIO, t + timedelta(days=3), pendientes=("LB1", "LB2", "LB3")),
        r.logro_alcanzado(f, MPIO, "LB1", t + timedelta(days=3)),  # same instant as the board
        r.logro_perdido(f, MPIO, "LB1", t + timedelta(days=3)),  # ... undone: reopened
        r.logro_alcanzado(f, MPIO, "LB2", t + timedelta(days=4)),
        r.evaluados(f, MPIO, t + timedelta(days=3, hours=12), pendientes=("LB3", "LB4")),  # late
        r.marcada_desplazada(f, t + timedelta(hours=2)),  # late: older than f's newest
        vinculada_g,  # redelivered: the same id
        r.linea_base(f, MPIO, t + timedelta(days=3)),  # an earlier first baseline
        r.evaluados(g, MPIO, t + timedelta(days=5), pendientes=("LB7",)),
        r.logro_alcanzado(g, MPIO, "LB7", t + timedelta(days=6)),
        r.retirada(g, t + timedelta(days=6)),
        r.logro_alcanzado(f, MPIO, "LB3", t + timedelta(days=5)),
        r.logro_perdido(f, MPIO, "LB3", t + timedelta(days=5)),  # the row that ended: reopened
        r.logro_perdido(f, MPIO, "LB2", t + timedelta(days=5)),
        r.promovida(f, r.dia(D2)),
        linea_base,  # redelivered again, at the end
    ]
    # the two stories interleaved, as partitions interleave families
    mezcla = [x for par in zip(historia, propios, strict=False) for x in par]
    mezcla += [*historia[len(propios) :], *propios[len(historia) :]]
    cola = [  # LB7 lost, then reached again at the same instant: the row that ended reopens
        r.logro_perdido(g, MPIO, "LB7", t + timedelta(days=7)),
        r.invalido(g, t + timedelta(days=7)),
        r.logro_alcanzado(g, MPIO, "LB7", t + timedelta(days=7)),
    ]
    return mezcla, cola


async def _por_lotes(engine: AsyncEngine, lotes: list[list[Suceso]], esquemas) -> list[str]:
    """As the consumer does: each batch in a transaction; a batch that fails is retried one
    event at a time (the invalid one is set aside). The ids of the unknown types skipped."""
    saltados: list[Envelope] = []
    for sucesos in lotes:
        lote = [s.sobre() for s in sucesos]
        vistos: list[Envelope] = []
        try:
            async with engine.begin() as conn:
                await handlers.aplicar_lote(conn, lote, esquemas, vistos.append)
        except domain.EventoInvalido:
            assert not vistos  # reported only once the whole batch was read
            for envelope in lote:
                try:
                    async with engine.begin() as conn:
                        await handlers.aplicar_lote(conn, [envelope], esquemas, vistos.append)
                except domain.EventoInvalido:
                    pass
        saltados += vistos
    return [e.id for e in saltados]


async def _a_granel(engine: AsyncEngine, sucesos: list[Suceso], esquemas) -> None:
    """The reference: the rebuild's bulk path (facts stored, every history folded once by the
    canonical `domain.tramos`), code the live path does not share."""
    lote = carga.Lote(esquemas)
    for suceso in sucesos:
        with contextlib.suppress(handlers.EventoDesconocido, domain.EventoInvalido):
            lote.agregar(suceso.sobre())
    async with engine.begin() as conn:
        await carga.cargar(conn, lote)
    await carga.plegar(engine, esquemas, lambda n: None)


async def _generacion(engine: AsyncEngine) -> dict[str, str]:
    """A new, empty generation of every projection."""
    async with engine.begin() as conn:
        return {
            nombre: (await handlers.nueva_generacion(conn, p))[1]
            for nombre, p in PROYECCIONES.items()
        }


@pytest.mark.parametrize("tamano", [3, 8, 1000])
async def test_a_batch_gives_the_rows_of_one_by_one(engine: AsyncEngine, tamano: int) -> None:
    """Every table of every projection (histories, facts, states, points, counts, applied
    ids) is identical after the stream one by one, in batches, and through the rebuild's bulk
    path."""
    mezcla, cola = _corriente()
    sucesos = [*mezcla, *cola]
    async with engine.begin() as conn:
        uno_a_uno = await handlers.esquemas_vivos(conn)
    await _por_lotes(engine, [[s] for s in sucesos], uno_a_uno)
    en_lotes = await _generacion(engine)
    lotes = [mezcla[i : i + tamano] for i in range(0, len(mezcla), tamano)]
    saltados = await _por_lotes(engine, [*lotes, cola], en_lotes)
    a_granel = await _generacion(engine)
    await _a_granel(engine, sucesos, a_granel)

    assert saltados == [s.id for s in sucesos if s.evento.event_type == "FamiliaTeletransportada"]
    async with engine.begin() as conn:
        for nombre in PROYECCIONES:
            for esquemas in (uno_a_uno, en_lotes):
                a, b = a_granel[nombre], esquemas[nombre]
                assert await reconstruccion.comparar(conn, nombre, a, b) == {}, b
        # the stream did reach every kind of table, and the hard cases happened
        logros = en_lotes["logros"]
        filas = await conn.exec_driver_sql(
            f"SELECT count(*) FROM {logros}.familia_logro WHERE familia_id = 'b-f9'"
        )
        assert filas.scalar() > 45
        for nombre, esquema in en_lotes.items():
            for tabla in PROYECCIONES[nombre].tablas():
                n = (await conn.exec_driver_sql(f"SELECT count(*) FROM {esquema}.{tabla}")).scalar()
                assert n, f"{esquema}.{tabla} is empty: the stream does not exercise it"
        primera = await conn.exec_driver_sql(
            f"SELECT t FROM {logros}.linea_base WHERE familia_id = 'b-f9'"
        )
        assert primera.scalar() == r.dia(D1) + timedelta(days=3)


def _familias(prefijo: str, n: int, dia: int) -> list[Suceso]:
    """Follow-up events of `n` families (created by `_altas`): every kind of history and point
    table, with several events of one family at one instant."""
    sucesos = []
    t = r.dia(D1) + timedelta(days=dia)
    for i in range(n):
        f = f"{prefijo}{i}"
        sucesos += [
            r.cogestor_asignado(f, MPIO, f"cg-{dia}", t),
            r.vinculada(f, MPIO, f"cg-{dia}", t),
            r.evaluados(f, MPIO, t, pendientes=("LB1", "LB2")),
            r.logro_alcanzado(f, MPIO, "LB1", t),
            r.logro_alcanzado(f, MPIO, "LB2", t + timedelta(hours=1)),
            r.visita(f, MPIO, f"cg-{dia}", t),
            r.linea_base(f, MPIO, t),
            r.cupo_asignado("p1", "ent", MPIO, f, ("LB1",), t),
            r.veeduria(f"v-{f}", MPIO, t, estado="EN_TRAMITE" if dia else None),
        ]
    return sucesos


async def test_statements_per_batch_do_not_grow_with_the_batch(engine: AsyncEngine) -> None:
    """A second batch over existing families (states and rows read, rows replaced, closed and
    new ones inserted, points upserted) costs the same statements for 2 families or 20."""
    enviadas = statements(engine)
    contadas = []
    for n in (2, 20):
        altas = [r.preseleccionada(f"n{n}-{i}", MPIO, r.dia(D1)) for i in range(n)]
        async with engine.begin() as conn:
            esquemas = await handlers.esquemas_vivos(conn)
            lote = [s.sobre() for s in [*altas, *_familias(f"n{n}-", n, 0)]]
            await handlers.aplicar_lote(conn, lote, esquemas)
        enviadas.clear()
        async with engine.begin() as conn:
            lote = [s.sobre() for s in _familias(f"n{n}-", n, 1)]
            assert await handlers.aplicar_lote(conn, lote, esquemas) == len(lote)
        contadas.append(len(enviadas))
    assert contadas[0] == contadas[1], contadas
    assert contadas[0] <= 40, enviadas


async def test_a_family_rows_are_read_only_for_a_fact_at_its_newest_instant(
    engine: AsyncEngine,
) -> None:
    """A batch of facts newer than each family's newest one finds the open rows in the families'
    states (a fact can only close them); a first fact at that very instant may replace rows that
    started then or reopen rows that ended then, so those families' rows are read. That both give
    the rows of one by one is `test_a_batch_gives_the_rows_of_one_by_one`'s."""
    enviadas = statements(engine)
    altas = [r.preseleccionada(f"a-{i}", MPIO, r.dia(D1)) for i in range(5)]
    async with engine.begin() as conn:
        esquemas = await handlers.esquemas_vivos(conn)
        lote = [s.sobre() for s in [*altas, *_familias("a-", 5, 0)]]
        await handlers.aplicar_lote(conn, lote, esquemas)
    newest = r.dia(D1) + timedelta(hours=1)  # _familias' last board fact: LB2 reached
    leidas = []
    for sucesos in (
        _familias("a-", 5, 1),  # a day later
        [r.logro_perdido(f"a-{i}", MPIO, "LB2", newest + timedelta(days=1)) for i in range(5)],
        [r.logro_alcanzado(f"a-{i}", MPIO, "LB2", newest + timedelta(days=2)) for i in range(5)],
    ):
        enviadas.clear()
        async with engine.begin() as conn:
            await handlers.aplicar_lote(conn, [s.sobre() for s in sucesos], esquemas)
        leidas.append([q for q in enviadas if "x.valid_to = 'infinity' OR" in q])
    assert [len(x) for x in leidas] == [0, 2, 0], leidas  # board and pending LB, same instant
    async with engine.begin() as conn:
        abiertas = await conn.exec_driver_sql(
            f"SELECT logro, estado FROM {esquemas['logros']}.familia_logro"
            " WHERE familia_id = 'a-0' AND valid_to = 'infinity' AND logro IN ('LB1', 'LB2')"
            " ORDER BY logro"
        )
        assert abiertas.all() == [("LB1", "ALCANZADO"), ("LB2", "ALCANZADO")]


async def test_rows_apart_from_the_state_refuse_the_batch(engine: AsyncEngine) -> None:
    """Open rows taken from the state must be there to close: if they were written apart (here:
    one deleted by hand), the batch is refused and writes nothing, rather than leaving a row
    open that the state says is closed."""
    altas = [r.preseleccionada("d-0", MPIO, r.dia(D1))]
    async with engine.begin() as conn:
        esquemas = await handlers.esquemas_vivos(conn)
        await handlers.aplicar_lote(
            conn, [s.sobre() for s in [*altas, *_familias("d-", 1, 0)]], esquemas
        )
        await conn.exec_driver_sql(
            f"DELETE FROM {esquemas['logros']}.familia_logro"
            " WHERE familia_id = 'd-0' AND logro = 'LB1' AND valid_to = 'infinity'"
        )
    perdido = r.logro_perdido("d-0", MPIO, "LB1", r.dia(D1) + timedelta(days=2))
    with pytest.raises(handlers.FilasDesalineadas, match="rebuild the projection"):
        async with engine.begin() as conn:
            await handlers.aplicar_lote(conn, [perdido.sobre()], esquemas)
    async with engine.begin() as conn:
        hechos = await conn.exec_driver_sql(
            f"SELECT count(*) FROM {esquemas['logros']}.familia_logro_hecho WHERE clave = 'd-0'"
        )
        assert hechos.scalar() == 3  # the refused fact was not stored either
