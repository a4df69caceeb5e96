"""Territorial's local read models: the LBT's current ratings, the capacity map and its inputs,
microregions, and the listings of accountability sessions, participation spaces and complaints.

They are written in the transaction of the command or consumed event that changes them (never
behind), and only answer questions: decisions are taken on the event streams. The capacity map
is recomputed, for the municipalities an input touched, in that same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from juntos_events.events import DomainEvent
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from territorial.domain import capacidades
from territorial.domain.capacidades import (
    CambiosDeDemanda,
    Celda,
    LineaCupos,
    Programa,
    Tablero,
    TableroGuardado,
)
from territorial.domain.lbt import LineaBase
from territorial.domain.participacion import Rendicion, Veeduria
from territorial.domain.red import Microrregion
from territorial.events import EspacioParticipacionRealizado
from territorial.vocabulario import COMPROMISO_CERRADO, EstadoCondicion

_BLOQUEO_MAPA = 7431
"""Advisory-lock class of a municipality's map: its recomputations run one after the other."""

# --- the LBT's current ratings --------------------------------------------------------------


async def proyectar_lbt(conn: AsyncConnection, lbt: LineaBase, version: int) -> None:
    filas = [
        {
            "municipio": lbt.municipio,
            "cbt": c.cbt,
            "dimension": c.dimension,
            "estado": str(c.estado),
            "fecha": c.fecha,
            "version": version,
        }
        for c in lbt.condiciones.values()
    ]
    await conn.execute(
        text(
            "INSERT INTO lbt_condiciones (municipio, cbt, dimension, estado, fecha, version)"
            " VALUES (:municipio, :cbt, :dimension, :estado, :fecha, :version)"
            " ON CONFLICT (municipio, cbt) DO UPDATE SET estado = excluded.estado,"
            " fecha = excluded.fecha, version = excluded.version"
            " WHERE lbt_condiciones.version < excluded.version"
        ),
        filas,
    )
    await recalcular_mapa(conn, [lbt.municipio])


async def estado_cbt(conn: AsyncConnection, municipio: str, cbt: str) -> EstadoCondicion | None:
    valor = (
        await conn.execute(
            text("SELECT estado FROM lbt_condiciones WHERE municipio = :m AND cbt = :c"),
            {"m": municipio, "c": cbt},
        )
    ).scalar_one_or_none()
    return EstadoCondicion(valor) if valor else None


# --- demand and supply ------------------------------------------------------------------------


async def tableros_guardados(
    conn: AsyncConnection, familias: Iterable[str]
) -> dict[str, TableroGuardado]:
    """The kept boards of these families, locked until the transaction ends (in id order, so
    two transactions never wait for each other's families crosswise)."""
    filas = await conn.execute(
        text(
            "SELECT familia_id, municipio, pendientes, evento_en FROM demanda_familias"
            " WHERE familia_id = ANY(:f) ORDER BY familia_id FOR UPDATE"
        ),
        {"f": sorted(set(familias))},
    )
    return {
        f.familia_id: TableroGuardado(Tablero(f.municipio, frozenset(f.pendientes)), f.evento_en)
        for f in filas
    }


async def guardar_demanda(conn: AsyncConnection, cambios: CambiosDeDemanda) -> None:
    """Write a run's boards and move its counters: one statement per table, whatever its size."""
    if cambios.familias:
        familias = sorted(cambios.familias.items())
        await conn.execute(
            text(
                "INSERT INTO demanda_familias (familia_id, municipio, pendientes, evento_en)"
                " SELECT f, m, string_to_array(p, ' '), t FROM "
                + _unnest(f="text", m="text", p="text", t="timestamptz")
                + " AS u(f, m, p, t)"
                " ON CONFLICT (familia_id) DO UPDATE SET municipio = excluded.municipio,"
                " pendientes = excluded.pendientes, evento_en = excluded.evento_en"
            ),
            {  # pendientes travel joined (unnest would flatten an array of arrays)
                "f": [f for f, _ in familias],
                "m": [g.tablero.municipio for _, g in familias],
                "p": [" ".join(sorted(g.tablero.pendientes)) for _, g in familias],
                "t": [g.evento_en for _, g in familias],
            },
        )
    await _contar(conn, "demanda_logros", "logro", cambios.por_logro)
    await _contar(conn, "demanda_dimensiones", "dimension", cambios.por_dimension)


def _unnest(**columnas: str) -> str:
    """`unnest(CAST(:a AS text[]), ...)`: rows from one array parameter per column."""
    return f"unnest({', '.join(f'CAST(:{c} AS {t}[])' for c, t in columnas.items())})"


async def _contar(
    conn: AsyncConnection, tabla: str, columna: str, deltas: Mapping[tuple[str, str], int]
) -> None:
    if not deltas:
        return
    filas = sorted(deltas.items())
    await conn.execute(
        text(
            f"INSERT INTO {tabla} (municipio, {columna}, familias)"
            f" SELECT * FROM {_unnest(m='text', k='text', d='int')}"
            f" ON CONFLICT (municipio, {columna}) DO UPDATE"
            f" SET familias = {tabla}.familias + excluded.familias"
        ),
        {
            "m": [m for (m, _), _ in filas],
            "k": [k for (_, k), _ in filas],
            "d": [d for _, d in filas],
        },
    )


async def habilitar_cupos(conn: AsyncConnection, lineas: Sequence[LineaCupos]) -> set[str]:
    """Keep each line unless a newer one of its (program, municipality, period) is kept, in one
    statement (`lineas`: at most one per key, `capacidades.mas_recientes`); answers the
    municipalities whose slots changed."""
    if not lineas:
        return set()
    aplicadas = await conn.execute(
        text(
            "INSERT INTO oferta_cupos"
            " (programa_id, municipio, periodo, entidad, logros, cupos, evento_en)"
            " SELECT p, m, per, e, string_to_array(l, ' '), c, t FROM "
            + _unnest(p="text", m="text", per="text", e="text", l="text", c="int", t="timestamptz")
            + " AS u(p, m, per, e, l, c, t)"
            " ON CONFLICT (programa_id, municipio, periodo) DO UPDATE SET"
            " entidad = excluded.entidad, logros = excluded.logros, cupos = excluded.cupos,"
            " evento_en = excluded.evento_en WHERE oferta_cupos.evento_en < excluded.evento_en"
            " RETURNING municipio"
        ),
        {  # logros travel joined (unnest would flatten an array of arrays)
            "p": [x.programa_id for x in lineas],
            "m": [x.municipio for x in lineas],
            "per": [x.periodo for x in lineas],
            "e": [x.entidad for x in lineas],
            "l": [" ".join(sorted(set(x.logros))) for x in lineas],
            "c": [x.cupos for x in lineas],
            "t": [x.cuando for x in lineas],
        },
    )
    return {f.municipio for f in aplicadas}


async def programas_vigentes(
    conn: AsyncConnection, municipios: Iterable[str]
) -> dict[str, list[Programa]]:
    """Each program of each municipality in its most recent period ("2026-S2" > "2026")."""
    filas = await conn.execute(
        text(
            "SELECT DISTINCT ON (municipio, programa_id) municipio, logros, cupos FROM oferta_cupos"
            " WHERE municipio = ANY(:m) ORDER BY municipio, programa_id, periodo DESC"
        ),
        {"m": sorted(set(municipios))},
    )
    programas: dict[str, list[Programa]] = {}
    for f in filas:
        programas.setdefault(f.municipio, []).append(Programa(tuple(f.logros), f.cupos))
    return programas


async def demanda_por_logro(conn: AsyncConnection, municipio: str) -> dict[str, int]:
    filas = await conn.execute(
        text("SELECT logro, familias FROM demanda_logros WHERE municipio = :m AND familias > 0"),
        {"m": municipio},
    )
    return {f.logro: f.familias for f in filas}


# --- the capacity map ---------------------------------------------------------------------


async def recalcular_mapa(conn: AsyncConnection, municipios: Iterable[str]) -> None:
    """Recompute the map of these municipalities from their inputs as this transaction sees
    them, with the same five statements for one municipality or a thousand.

    The per-municipality lock makes concurrent recomputations (API and consumers) queue, so the
    last one to commit read every input committed before it; locks are taken in code order,
    before any input is read."""
    codigos = sorted(set(municipios))
    if not codigos:
        return
    await conn.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:clase, m))"
            " FROM (SELECT m FROM unnest(CAST(:m AS int[])) AS u(m) ORDER BY m) AS s"
        ),
        {"clase": _BLOQUEO_MAPA, "m": [int(m) for m in codigos]},
    )
    estados: dict[str, dict[str, list[EstadoCondicion]]] = {}
    for f in await conn.execute(
        text("SELECT municipio, dimension, estado FROM lbt_condiciones WHERE municipio = ANY(:m)"),
        {"m": codigos},
    ):
        estados.setdefault(f.municipio, {}).setdefault(f.dimension, []).append(
            EstadoCondicion(f.estado)
        )
    demanda: dict[str, dict[str, int]] = {}
    for f in await conn.execute(
        text(
            "SELECT municipio, dimension, familias FROM demanda_dimensiones"
            " WHERE municipio = ANY(:m)"
        ),
        {"m": codigos},
    ):
        demanda.setdefault(f.municipio, {})[f.dimension] = f.familias
    programas = await programas_vigentes(conn, codigos)
    filas = [
        {"municipio": m, **_celda(c)}
        for m in codigos
        for c in capacidades.mapa(
            estados.get(m, {}),
            demanda.get(m, {}),
            capacidades.oferta_por_dimension(programas.get(m, [])),
        )
    ]
    columnas = {
        "municipio": "text",
        "dimension": "text",
        "capacidad": "float8",
        "condiciones": "int",
        "demanda": "int",
        "oferta": "int",
        "cobertura": "float8",
        "brecha": "int",
        "clasificacion": "text",
    }
    await conn.execute(
        text(
            f"INSERT INTO mapa_capacidades ({', '.join(columnas)}, recalculado)"
            f" SELECT *, now() FROM {_unnest(**columnas)}"
            " ON CONFLICT (municipio, dimension) DO UPDATE SET"
            " capacidad = excluded.capacidad, condiciones = excluded.condiciones,"
            " demanda = excluded.demanda, oferta = excluded.oferta,"
            " cobertura = excluded.cobertura, brecha = excluded.brecha,"
            " clasificacion = excluded.clasificacion, recalculado = now()"
        ),
        {c: [f[c] for f in filas] for c in columnas},
    )


def _celda(c: Celda) -> dict[str, Any]:
    return {
        "dimension": c.dimension,
        "capacidad": c.capacidad,
        "condiciones": c.condiciones,
        "demanda": c.demanda,
        "oferta": c.oferta,
        "cobertura": c.cobertura,
        "brecha": c.brecha,
        "clasificacion": str(c.clasificacion),
    }


async def mapa(conn: AsyncConnection, municipio: str) -> list[Row[Any]]:
    return list(
        await conn.execute(
            text("SELECT * FROM mapa_capacidades WHERE municipio = :m"), {"m": municipio}
        )
    )


async def listar_mapa(
    conn: AsyncConnection,
    *,
    departamento: str | None,
    dimension: str | None,
    clasificacion: str | None,
    despues_de: tuple[str, str] | None,
    limite: int,
) -> list[Row[Any]]:
    """Keyset pagination on (municipio, dimension)."""
    filtros, params = _filtros(
        departamento=("left(municipio, 2) = :departamento", departamento),
        dimension=("dimension = :dimension", dimension),
        clasificacion=("clasificacion = :clasificacion", clasificacion),
    )
    if despues_de is not None:
        filtros.append("(municipio, dimension) > (:cursor_m, :cursor_d)")
        params.update(cursor_m=despues_de[0], cursor_d=despues_de[1])
    sql = (
        f"SELECT * FROM mapa_capacidades WHERE {' AND '.join(filtros)}"
        " ORDER BY municipio, dimension LIMIT :limite"
    )
    return list(await conn.execute(text(sql), {**params, "limite": limite}))


def _filtros(**condiciones: tuple[str, Any]) -> tuple[list[str], dict[str, Any]]:
    filtros, params = ["TRUE"], {}
    for nombre, (sql, valor) in condiciones.items():
        if valor is not None:
            filtros.append(sql)
            params[nombre] = valor
    return filtros, params


# --- microregions -------------------------------------------------------------------------


async def proyectar_microrregion(conn: AsyncConnection, m: Microrregion, version: int) -> None:
    """The microregion and its municipalities; a municipality held by another one fails the
    primary key (a concurrent definition lost the race)."""
    await conn.execute(
        text(
            "INSERT INTO microrregiones (microrregion_id, denominacion, operador_id, municipios,"
            " version) VALUES (:i, :d, :o, :m, :v) ON CONFLICT (microrregion_id) DO UPDATE SET"
            " denominacion = excluded.denominacion, operador_id = excluded.operador_id,"
            " municipios = excluded.municipios, version = excluded.version"
        ),
        {
            "i": m.microrregion_id,
            "d": m.denominacion,
            "o": m.operador_id,
            "m": sorted(m.municipios),
            "v": version,
        },
    )
    await conn.execute(
        text("DELETE FROM microrregion_municipios WHERE microrregion_id = :i"),
        {"i": m.microrregion_id},
    )
    await conn.execute(
        text("INSERT INTO microrregion_municipios (municipio, microrregion_id) VALUES (:m, :i)"),
        [{"m": municipio, "i": m.microrregion_id} for municipio in sorted(m.municipios)],
    )


async def microrregiones_de(conn: AsyncConnection, municipios: Iterable[str]) -> dict[str, str]:
    """Municipality -> the microregion that holds it, for the given municipalities."""
    filas = await conn.execute(
        text(
            "SELECT municipio, microrregion_id FROM microrregion_municipios"
            " WHERE municipio = ANY(:m)"
        ),
        {"m": sorted(set(municipios))},
    )
    return {f.municipio: f.microrregion_id for f in filas}


async def microrregion(conn: AsyncConnection, microrregion_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM microrregiones WHERE microrregion_id = :i"), {"i": microrregion_id}
        )
    ).first()


async def listar_microrregiones(
    conn: AsyncConnection,
    *,
    departamento: str | None,
    municipio: str | None,
    operador_id: str | None,
    despues_de: str | None,
    limite: int,
) -> list[Row[Any]]:
    filtros, params = _filtros(
        departamento=(
            "EXISTS (SELECT 1 FROM unnest(municipios) AS u(m) WHERE left(u.m, 2) = :departamento)",
            departamento,
        ),
        municipio=(":municipio = ANY(municipios)", municipio),
        operador_id=("operador_id = :operador_id", operador_id),
        despues_de=("microrregion_id > :despues_de", despues_de),
    )
    sql = (
        f"SELECT * FROM microrregiones WHERE {' AND '.join(filtros)}"
        " ORDER BY microrregion_id LIMIT :limite"
    )
    return list(await conn.execute(text(sql), {**params, "limite": limite}))


# --- participation and social control -----------------------------------------------------


async def proyectar_rendicion(conn: AsyncConnection, r: Rendicion, version: int) -> None:
    await conn.execute(
        text(
            "INSERT INTO rendiciones (rendicion_id, municipio, fecha, nivel, asistentes,"
            " compromisos, cerrados, version) VALUES (:i, :m, :f, :n, :a, :c, :x, :v)"
            " ON CONFLICT (rendicion_id) DO UPDATE SET cerrados = excluded.cerrados,"
            " version = excluded.version WHERE rendiciones.version < excluded.version"
        ),
        {
            "i": r.rendicion_id,
            "m": r.municipio,
            "f": r.fecha,
            "n": str(r.nivel),
            "a": r.asistentes,
            "c": len(r.compromisos),
            "x": sum(c.estado in COMPROMISO_CERRADO for c in r.compromisos.values()),
            "v": version,
        },
    )


async def proyectar_espacio(conn: AsyncConnection, e: EspacioParticipacionRealizado) -> None:
    await conn.execute(
        text(
            "INSERT INTO espacios_participacion (espacio_id, municipio, tipo, fecha, participantes)"
            " VALUES (:i, :m, :t, :f, :p) ON CONFLICT DO NOTHING"
        ),
        {"i": e.espacio_id, "m": e.municipio, "t": str(e.tipo), "f": e.fecha, "p": e.participantes},
    )


async def proyectar_veeduria(conn: AsyncConnection, v: Veeduria, version: int) -> None:
    await conn.execute(
        text(
            "INSERT INTO veedurias (veeduria_id, municipio, categoria, estado, recibida,"
            " actualizada, version) VALUES (:i, :m, :c, :e, :r, :a, :v)"
            " ON CONFLICT (veeduria_id) DO UPDATE SET estado = excluded.estado,"
            " actualizada = excluded.actualizada, version = excluded.version"
            " WHERE veedurias.version < excluded.version"
        ),
        {
            "i": v.veeduria_id,
            "m": v.municipio,
            "c": str(v.categoria),
            "e": str(v.estado),
            "r": v.recibida,
            "a": v.actualizada,
            "v": version,
        },
    )


_LISTADOS = {
    "rendiciones": "rendicion_id",
    "espacios_participacion": "espacio_id",
    "veedurias": "veeduria_id",
}


async def listar_del_municipio(
    conn: AsyncConnection, tabla: str, municipio: str, *, antes_de: int | None, limite: int
) -> list[Row[Any]]:
    """Newest first; the cursor is the `orden` of the last row seen."""
    assert tabla in _LISTADOS
    filtros, params = _filtros(
        municipio=("municipio = :municipio", municipio), antes=("orden < :antes", antes_de)
    )
    sql = f"SELECT * FROM {tabla} WHERE {' AND '.join(filtros)} ORDER BY orden DESC LIMIT :limite"
    return list(await conn.execute(text(sql), {**params, "limite": limite}))


async def municipio_de(conn: AsyncConnection, tabla: str, ident: str) -> str | None:
    """The municipality of a listed record (to check the caller's scope before loading it)."""
    columna = _LISTADOS[tabla]
    return (
        await conn.execute(
            text(f"SELECT municipio FROM {tabla} WHERE {columna} = :i"), {"i": ident}
        )
    ).scalar_one_or_none()


async def proyectar(
    conn: AsyncConnection, tipo: str, estado: Any, version: int, eventos: Sequence[DomainEvent]
) -> None:
    """The read models a command on an aggregate of `tipo` changes, in its transaction."""
    match tipo:
        case "lbt":
            await proyectar_lbt(conn, estado, version)
        case "microrregion":
            await proyectar_microrregion(conn, estado, version)
        case "rendicion":
            await proyectar_rendicion(conn, estado, version)
        case "veeduria":
            await proyectar_veeduria(conn, estado, version)
        case "espacio":
            for e in eventos:
                if isinstance(e, EspacioParticipacionRealizado):
                    await proyectar_espacio(conn, e)


# --- the published catalogue --------------------------------------------------------------


async def catalogo_publicado(
    conn: AsyncConnection, streams: Sequence[str]
) -> dict[str, tuple[int, dict[str, Any]]]:
    """The last event of each catalogue stream already in the store (by exact ids: the event
    store is indexed on stream_id, and the catalogue's ids are known)."""
    filas = await conn.execute(
        text(
            "SELECT DISTINCT ON (stream_id) stream_id, version, data FROM events"
            " WHERE stream_id = ANY(:s) ORDER BY stream_id, version DESC"
        ),
        {"s": list(streams)},
    )
    return {f.stream_id: (f.version, dict(f.data)) for f in filas}
