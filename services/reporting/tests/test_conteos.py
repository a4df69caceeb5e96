"""Current counts and the derived pending-LB history, on a real PostgreSQL.

The count tables are what national indicators read at 1.5 million families, so they must be
exactly the counts of the rows there are, whatever wrote the rows: the incremental path, a
refold after a late event, a rebuild's COPY or the migration that adds them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from juntos_catalogo import catalogo
from juntos_events.migrate import upgrade
from reporting import handlers, queries
from reporting.proyecciones import (
    LOGROS,
    NIVELES_CONTEO,
    PROYECCIONES,
    TODOS,
    Historia,
    tablas_de_conteo,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import relato as r
from .conftest import MIGRATIONS, aplicar, filas, plan_sin_seqscan


def _relato(f: str, municipio: str, base: datetime) -> list[r.Suceso]:
    """One family through every kind of change of its status, board and points."""
    return [
        r.preseleccionada(f, municipio, base),
        r.marcada_desplazada(f, base + timedelta(hours=1)),
        r.cogestor_asignado(f, municipio, "cg-1", base + timedelta(days=1)),
        r.vinculada(f, municipio, "cg-1", base + timedelta(days=2)),
        r.linea_base(f, municipio, base + timedelta(days=3)),
        r.evaluados(f, municipio, base + timedelta(days=3), pendientes=("LB1", "LB2", "LB7")),
        r.plan(f, municipio, base + timedelta(days=3, hours=2)),
        r.logro_alcanzado(f, municipio, "LB1", base + timedelta(days=4)),
        r.logro_perdido(f, municipio, "LB1", base + timedelta(days=5)),
        r.evaluados(f, municipio, base + timedelta(days=6), pendientes=("LB2",)),
        r.logro_alcanzado(f, municipio, "LB2", base + timedelta(days=7)),
        r.promovida(f, base + timedelta(days=8)),
    ]


def _poblacion(n: int) -> list[r.Suceso]:
    """`n` families in three municipalities of two departments, some stopping half-way."""
    base = r.dia(r.D1)
    sucesos = []
    for i in range(n):
        relato = _relato(f"fam-{i}", ("91001", "91263", "97001")[i % 3], base)
        sucesos += relato[: len(relato) - (i % 4) * 2]
    return sucesos


def _contables() -> list[tuple[str, str, str, tuple[str, ...], str]]:
    """(projection, table, municipality column, counted columns, which rows) of each count."""
    resultado = []
    for p in PROYECCIONES.values():
        for h in p.todas_las_historias():
            if h.conteo:
                resultado.append(
                    (p.nombre, h.tabla, h.municipio, h.conteo, "valid_to = 'infinity'")
                )
        for pt in p.puntos:
            if pt.conteo:
                resultado.append((p.nombre, pt.tabla, "municipio", (), "true"))
    return resultado


async def _conteos(engine: AsyncEngine) -> dict[str, tuple[list[tuple], list[tuple]]]:
    """Each count table as stored, and as counted from its rows now."""
    resultado = {}
    for proyeccion, tabla, municipio, columnas, cuenta in _contables():
        for sufijo, territorio in NIVELES_CONTEO:
            nombres = ", ".join([territorio, *columnas])
            origen = f"{municipio} AS municipio" if territorio == "municipio" else territorio
            guardado = await filas(
                engine,
                f"SELECT {nombres}, n FROM {{{proyeccion}}}.{tabla}_{sufijo} ORDER BY {nombres}",
            )
            contado = await filas(
                engine,
                f"SELECT {nombres}, count(*) FROM (SELECT {origen}"
                f"{''.join(', ' + c for c in columnas)} FROM {{{proyeccion}}}.{tabla}"
                f" WHERE {cuenta}) x GROUP BY {nombres} ORDER BY {nombres}",
            )
            resultado[f"{tabla}_{sufijo}"] = (guardado, contado)
    return resultado


async def test_counts_equal_the_rows_after_live_and_late_events(engine: AsyncEngine) -> None:
    """Shuffled events (late ones refold whole histories: deletes and re-inserts) leave every
    count table equal to a count of its rows, with no zero left behind."""
    sucesos = _poblacion(12)
    random.Random(3).shuffle(sucesos)
    await aplicar(engine, *sucesos)
    conteos = await _conteos(engine)
    tablas = ("familia_estado", "familia_logro", "familia_pendientes", "linea_base", "plan")
    assert set(conteos) == {f"{t}_{sufijo}" for t in tablas for sufijo, _ in NIVELES_CONTEO}
    for tabla, (guardado, contado) in conteos.items():
        assert guardado == contado, tabla
        assert guardado, tabla
        assert all(fila[-1] > 0 for fila in guardado), tabla


async def test_count_updates_stay_on_their_page(engine: AsyncEngine) -> None:
    """No index of a count table reads `n` (a zero is deleted by the ctid its upsert returns),
    so updating a count is HOT: no new index entry for each count a statement changes."""
    await aplicar(engine, *_poblacion(6))
    nuevos = [
        r.evaluados(f"fam-{i}", ("91001", "91263", "97001")[i % 3], r.dia(r.D4), ("LB9",))
        for i in range(6)
    ]
    async with engine.begin() as conn:
        esquemas = await handlers.esquemas_vivos(conn)
        for suceso in nuevos:
            await handlers.aplicar(conn, suceso.sobre(), esquemas)
        cambios = {}
        for proyeccion, tabla, *_ in _contables():
            for conteo in tablas_de_conteo(tabla):
                t = f"{esquemas[proyeccion]}.{conteo}"
                cambios[conteo] = tuple(
                    (
                        await conn.exec_driver_sql(
                            f"SELECT pg_stat_get_xact_tuples_updated('{t}'::regclass),"
                            f" pg_stat_get_xact_tuples_hot_updated('{t}'::regclass)"
                        )
                    ).one()
                )
    assert cambios["familia_logro_conteo"][0] > 0 and cambios["familia_logro_conteo_dpto"][0] > 0
    for conteo, (actualizadas, hot) in cambios.items():
        assert hot == actualizadas, conteo


def _pendientes_esperados(tablero: dict[str, str]) -> dict[str, int]:
    """The pending LB per group, computed here from the catalog's dimensions."""
    dimension = {lb.codigo: lb.dimension for lb in catalogo().logros_basicos}
    esperado: dict[str, int] = {}
    for logro, estado in tablero.items():
        for grupo in (TODOS, dimension[logro]):
            esperado[grupo] = esperado.get(grupo, 0) + (estado == "POR_ALCANZAR")
    return esperado


async def test_pending_lb_history_follows_the_board(engine: AsyncEngine) -> None:
    f, mpio = "fam-p", "91001"
    relato = _relato(f, mpio, r.dia(r.D1))
    await aplicar(engine, *relato)
    historia = await filas(
        engine,
        "SELECT grupo, pendientes, valid_from, valid_to = 'infinity'"
        " FROM {logros}.familia_pendientes WHERE familia_id = $1 AND grupo = $2"
        " ORDER BY valid_from",
        f=f,
        g=TODOS,
    )
    # 3 pending at the first evaluation, 2 when LB1 is reached, 3 again when it is lost,
    # 1 at the second evaluation, 0 when LB2 is reached
    assert [fila[1] for fila in historia] == [3, 2, 3, 1, 0]
    assert historia[-1][3] is True
    vigentes = dict(
        await filas(
            engine,
            "SELECT grupo, pendientes FROM {logros}.familia_pendientes"
            " WHERE familia_id = $1 AND valid_to = 'infinity'",
            f=f,
        )
    )
    tablero = {f"LB{n}": "ALCANZADO" for n in range(1, 46)}
    assert vigentes == _pendientes_esperados(tablero)
    assert len(vigentes) == 1 + 10  # every LB and each dimension with an LB on the board


def _consulta(corte: datetime, nivel: queries.Nivel = queries.Nivel.NACION) -> queries.Consulta:
    territorios = {queries.Nivel.NACION: [""], queries.Nivel.DEPARTAMENTO: ["91", "97"]}
    return queries.Consulta(
        corte=corte, nivel=nivel, departamento=None, municipio=None, territorios=territorios[nivel]
    )


async def _informes(conn: AsyncConnection, s: dict[str, str], c: queries.Consulta) -> dict:
    todos = [f"LB{n}" for n in range(1, 46)]
    return {
        "familias": await queries.conteo_familias(conn, s, c),
        "logros": await queries.logros_por_estado(conn, s, c, todos),
        "pendientes": await queries.familias_por_pendientes(conn, s, c, todos),
        "pendientes_lb7": await queries.familias_por_pendientes(conn, s, c, ["LB7"]),
        "pendientes_salud": await queries.familias_por_pendientes(
            conn, s, c, [lb.codigo for lb in catalogo().logros_basicos if lb.dimension == "SALUD"]
        ),
    }


async def test_a_cut_after_the_newest_event_reads_the_counts_an_older_one_the_histories(
    engine: AsyncEngine,
) -> None:
    """The same reports from both sources agree; then a count is tampered with: only the
    reports whose cut is after the newest event see it."""
    await aplicar(engine, *_poblacion(9))
    # each projection is judged by its own newest event: the cut `pasado` is not after the
    # newest of any of them, `despues` is after the newest of all
    ((pasado, ultimo),) = await filas(
        engine,
        "SELECT least(l, f), greatest(l, f) FROM (SELECT max(t) AS l FROM {logros}.aplicado) a,"
        " (SELECT max(t) AS f FROM {familias}.aplicado) b",
    )
    ahora, despues = datetime.now(UTC), ultimo + timedelta(microseconds=1)
    for nivel in (queries.Nivel.NACION, queries.Nivel.DEPARTAMENTO):
        async with queries.lectura(engine) as (conn, s):
            de_conteos = await _informes(conn, s, _consulta(ahora, nivel))
            assert de_conteos == await _informes(conn, s, _consulta(despues, nivel))
            assert de_conteos["familias"]
    async with queries.lectura(engine) as (conn, s):
        nacion_ahora = await _informes(conn, s, _consulta(ahora))
        nacion_pasado = await _informes(conn, s, _consulta(pasado))
    assert nacion_ahora["familias"][""]["potencial"] == 9
    assert nacion_ahora["pendientes_lb7"] != {}

    async with engine.begin() as conn:
        s = await handlers.esquemas_vivos(conn)
        for proyeccion, tabla in (("familias", "familia_estado"), ("logros", "familia_pendientes")):
            for conteo in tablas_de_conteo(tabla):
                await conn.exec_driver_sql(f"UPDATE {s[proyeccion]}.{conteo} SET n = n + 1000")
    async with queries.lectura(engine) as (conn, s):
        alterado = await _informes(conn, s, _consulta(ahora))
        historico = await _informes(conn, s, _consulta(pasado))
    assert alterado["familias"][""]["potencial"] > 1000
    assert sum(alterado["pendientes"].values()) > 1000
    assert historico == nacion_pasado


async def test_the_history_side_of_a_per_lb_report_still_reads_the_index(
    engine: AsyncEngine,
) -> None:
    """Past cuts read the history through `vigentes`: its filters reach the index."""
    h: Historia = LOGROS.historia("familia_logro")
    lb1 = "AND logro = 'LB1'"
    c = _consulta(datetime(2026, 1, 1, tzinfo=UTC))
    desde = queries.vigentes("{logros}", h, c, lb1)
    plan = await plan_sin_seqscan(
        engine, f"SELECT estado, sum(n) FROM {desde} GROUP BY 1", c.params()
    )
    assert "familia_logro_x0" in plan, plan


async def _tablas_nuevas(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """The tables reporting_0004 adds, with their rows."""
    tablas = [("logros", "familia_pendientes")]
    tablas += [(p, conteo) for p, tabla, *_ in _contables() for conteo in tablas_de_conteo(tabla)]
    return {
        tabla: await filas(engine, f"SELECT * FROM {{{proyeccion}}}.{tabla} AS f ORDER BY f::text")
        for proyeccion, tabla in tablas
    }


async def test_the_migration_adds_counts_and_pending_history_to_filled_generations(
    engine: AsyncEngine, db: str
) -> None:
    """A generation filled before reporting_0004 (its new tables dropped, the database put
    back at 0003) gets them, equal to what the live path had written."""
    sucesos = _poblacion(9)
    random.Random(5).shuffle(sucesos)
    await aplicar(engine, *sucesos)
    esperado = await _tablas_nuevas(engine)
    async with engine.begin() as conn:
        s = await handlers.esquemas_vivos(conn)
        await conn.exec_driver_sql(f"DROP TABLE {s['logros']}.familia_pendientes CASCADE")
        for proyeccion, tabla, *_ in _contables():
            await conn.exec_driver_sql(f"DROP FUNCTION {s[proyeccion]}.{tabla}_contar() CASCADE")
            for conteo in tablas_de_conteo(tabla):
                await conn.exec_driver_sql(f"DROP TABLE {s[proyeccion]}.{conteo}")
        await conn.exec_driver_sql(
            "UPDATE alembic_version SET version_num = 'reporting_0003'"
            " WHERE version_num LIKE 'reporting_%'"
        )
    await upgrade(db, MIGRATIONS)
    assert await _tablas_nuevas(engine) == esperado
    # and the triggers are back: one more event keeps the counts right
    await aplicar(engine, r.evaluados("fam-0", "91001", r.dia(r.D4), pendientes=("LB9",)))
    for tabla, (guardado, contado) in (await _conteos(engine)).items():
        assert guardado == contado, tabla


async def _forma_de_los_conteos(engine: AsyncEngine) -> dict[str, tuple[list[str], list[str]]]:
    """Per count table of the live generations: its reloptions and the columns its indexes read."""
    async with engine.begin() as conn:
        esquemas = await handlers.esquemas_vivos(conn)
        forma = {}
        for proyeccion, tabla, *_ in _contables():
            for conteo in tablas_de_conteo(tabla):
                t = f"{esquemas[proyeccion]}.{conteo}"
                opciones = await conn.scalar(
                    text(
                        "SELECT coalesce(reloptions, '{}') FROM pg_class"
                        f" WHERE oid = '{t}'::regclass"
                    )
                )
                indexadas = await conn.scalars(
                    text(
                        "SELECT DISTINCT a.attname FROM pg_index i JOIN pg_attribute a"
                        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                        f" WHERE i.indrelid = '{t}'::regclass ORDER BY 1"
                    )
                )
                forma[conteo] = (list(opciones), list(indexadas))
        return forma


async def test_the_migration_lets_older_count_tables_update_in_place(
    engine: AsyncEngine, db: str
) -> None:
    """A generation whose count tables still have the partial index on `n = 0` (before
    reporting_0005) loses it and gets the fillfactor; its counts stay right."""
    await aplicar(engine, *_poblacion(6))
    nueva = await _forma_de_los_conteos(engine)
    assert all(
        opciones == ["fillfactor=50"] and "n" not in indexadas
        for opciones, indexadas in nueva.values()
    ), nueva
    async with engine.begin() as conn:
        s = await handlers.esquemas_vivos(conn)
        for proyeccion, tabla, *_ in _contables():
            for conteo in tablas_de_conteo(tabla):
                await conn.exec_driver_sql(
                    f"CREATE INDEX {conteo}_cero ON {s[proyeccion]}.{conteo} (n) WHERE n = 0"
                )
                await conn.exec_driver_sql(
                    f"ALTER TABLE {s[proyeccion]}.{conteo} RESET (fillfactor)"
                )
        await conn.exec_driver_sql(
            "UPDATE alembic_version SET version_num = 'reporting_0004'"
            " WHERE version_num LIKE 'reporting_%'"
        )
    vieja = await _forma_de_los_conteos(engine)
    assert all("n" in indexadas for _, indexadas in vieja.values()), vieja
    await upgrade(db, MIGRATIONS)
    assert await _forma_de_los_conteos(engine) == nueva
    await aplicar(engine, r.evaluados("fam-0", "91001", r.dia(r.D4), pendientes=("LB9",)))
    for tabla, (guardado, contado) in (await _conteos(engine)).items():
        assert guardado == contado, tabla
