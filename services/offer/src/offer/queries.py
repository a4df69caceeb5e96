"""Offer's local read models: programs, slots, the families a program may serve.

Read models only answer questions; decisions are taken on the event streams. Reports over a
municipality (map, demand, Tabla 4, gaps, duplication) are in `reportes`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from offer.elegibilidad import Hogar, Pendiente, Persona

# --- the families a command or a batch looks at ----------------------------------------------

_DE_MUNICIPIO = "SELECT DISTINCT familia_id FROM demanda WHERE municipio = $1 AND logro = ANY($2)"
_DE_MUNICIPIOS = (
    "SELECT DISTINCT familia_id FROM demanda WHERE municipio = ANY($1) AND logro = ANY($2)"
)
_UNA = "SELECT $1::text AS familia_id WHERE $2::text[] IS NOT NULL"


async def _hogares(
    conn: AsyncConnection, conjunto: str, clave: str | list[str], logros: Sequence[str]
) -> list[Hogar]:
    """Families of `conjunto` with their members, and their pending `logros` with priorities.

    Plain asyncpg under the caller's transaction: a batch reads every family of a municipality
    with demand (tens of thousands of rows), and asyncpg's records are cheap to build.
    """
    apg = (await conn.get_raw_connection()).driver_connection
    assert apg is not None
    args = (clave, list(logros))
    familias = await apg.fetch(
        f"SELECT familia_id, municipio, desplazada, activa FROM familias"
        f" WHERE familia_id IN ({conjunto})",
        *args,
    )
    miembros: dict[str, dict[str, Persona]] = defaultdict(dict)
    for r in await apg.fetch(
        "SELECT familia_id, integrante_id, fecha_nacimiento, sexo, discapacidad, gestante"
        f" FROM integrantes WHERE familia_id IN ({conjunto})",
        *args,
    ):
        miembros[r[0]][r[1]] = Persona(r[1], r[2], r[3], r[4], r[5])
    orden: dict[tuple[str, str], int] = {
        (r[0], r[1]): r[2]
        for r in await apg.fetch(
            "SELECT familia_id, logro, orden FROM prioridades"
            f" WHERE familia_id IN ({conjunto}) AND logro = ANY($2)",
            *args,
        )
    }
    pendientes: dict[str, dict[str, Pendiente]] = defaultdict(dict)
    municipio: dict[str, str] = {}
    for r in await apg.fetch(
        "SELECT familia_id, logro, municipio, integrantes, desde FROM demanda"
        f" WHERE familia_id IN ({conjunto}) AND logro = ANY($2)",
        *args,
    ):
        municipio[r[0]] = r[2]
        pendientes[r[0]][r[1]] = Pendiente(r[1], r[4], tuple(r[3]), orden.get((r[0], r[1])))
    return [
        Hogar(
            familia_id=f[0],
            municipio=municipio.get(f[0]) or f[1] or "",
            desplazada=f[2],
            activa=f[3],
            integrantes=miembros.get(f[0], {}),
            pendientes=pendientes.get(f[0], {}),
        )
        for f in sorted(familias, key=lambda f: f[0])
    ]


async def hogar(conn: AsyncConnection, familia_id: str, logros: Sequence[str]) -> Hogar | None:
    """One family with its pending `logros`, or None if enrollment never told offer about it."""
    hallados = await _hogares(conn, _UNA, familia_id, logros)
    return hallados[0] if hallados else None


async def hogares_con_demanda(
    conn: AsyncConnection, municipio: str, logros: Sequence[str]
) -> list[Hogar]:
    """Every known family of the municipality with one of `logros` pending."""
    return await _hogares(conn, _DE_MUNICIPIO, municipio, logros)


async def hogares_con_demanda_en(
    conn: AsyncConnection, municipios: Sequence[str], logros: Sequence[str]
) -> list[Hogar]:
    """`hogares_con_demanda` of several municipalities in one read (a program's batch)."""
    return await _hogares(conn, _DE_MUNICIPIOS, list(municipios), logros)


# --- programs and slots -----------------------------------------------------------------------


async def programa(conn: AsyncConnection, programa_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM programas WHERE programa_id = :p"), {"p": programa_id}
        )
    ).first()


async def entidades_de(conn: AsyncConnection, programa_ids: Sequence[str]) -> dict[str, str]:
    """The entity of each of these programs that exists (by id)."""
    if not programa_ids:
        return {}
    filas = await conn.execute(
        text("SELECT programa_id, entidad FROM programas WHERE programa_id = ANY(:ids)"),
        {"ids": list(programa_ids)},
    )
    return {f.programa_id: f.entidad for f in filas}


async def listar_programas(
    conn: AsyncConnection,
    *,
    municipio: str | None,
    departamento: str | None,
    dimension: str | None,
    logro: str | None,
    entidad: str | None,
    despues_de: str | None,
    limite: int,
) -> list[Row[Any]]:
    """Keyset pagination on programa_id."""
    filtros, params = ["TRUE"], {"limite": limite}
    for nombre, valor, sql in (
        ("municipio", municipio, ":municipio = ANY(municipios)"),
        (
            "departamento",
            departamento,
            "EXISTS (SELECT 1 FROM unnest(municipios) m WHERE left(m, 2) = :departamento)",
        ),
        ("dimension", dimension, ":dimension = ANY(dimensiones)"),
        ("logro", logro, ":logro = ANY(logros)"),
        ("entidad", entidad, "entidad = :entidad"),
        ("despues_de", despues_de, "programa_id > :despues_de"),
    ):
        if valor is not None:
            filtros.append(sql)
            params[nombre] = valor
    sql = (
        f"SELECT * FROM programas WHERE {' AND '.join(filtros)} ORDER BY programa_id LIMIT :limite"
    )
    return list(await conn.execute(text(sql), params))


async def cupos_de_programa(conn: AsyncConnection, programa_id: str) -> list[Row[Any]]:
    return list(
        await conn.execute(
            text("SELECT * FROM cupos WHERE programa_id = :p ORDER BY municipio, periodo"),
            {"p": programa_id},
        )
    )


async def calidad_de(conn: AsyncConnection, programa_id: str) -> dict[str, int]:
    filas = await conn.execute(
        text("SELECT periodo, cumplimiento FROM calidad WHERE programa_id = :p ORDER BY periodo"),
        {"p": programa_id},
    )
    return {r.periodo: r.cumplimiento for r in filas}


async def municipios_con_cupos(conn: AsyncConnection, programa_id: str) -> list[str]:
    filas = await conn.execute(
        text("SELECT DISTINCT municipio FROM cupos WHERE programa_id = :p"), {"p": programa_id}
    )
    return [r.municipio for r in filas]


async def asignacion(conn: AsyncConnection, cupo_id: str) -> Row[Any] | None:
    return (
        await conn.execute(text("SELECT * FROM asignaciones WHERE cupo_id = :c"), {"c": cupo_id})
    ).first()


async def asignados_de_familias(
    conn: AsyncConnection, familia_ids: Sequence[str]
) -> list[Row[Any]]:
    """The slots these families hold, in stream order (programa, municipio, periodo, cupo)."""
    return list(
        await conn.execute(
            text(
                "SELECT * FROM asignaciones WHERE familia_id = ANY(:f) AND estado = 'ASIGNADO'"
                " ORDER BY programa_id, municipio, periodo, cupo_id"
            ),
            {"f": list(familia_ids)},
        )
    )


async def listar_asignaciones(
    conn: AsyncConnection,
    *,
    programa_id: str | None,
    municipio: str | None,
    departamento: str | None,
    periodo: str | None,
    entidad: str | None,
    familia_id: str | None,
    estado: str | None,
    despues_de: str | None,
    limite: int,
) -> list[Row[Any]]:
    filtros, params = ["TRUE"], {"limite": limite}
    for nombre, valor, sql in (
        ("programa_id", programa_id, "programa_id = :programa_id"),
        ("municipio", municipio, "municipio = :municipio"),
        ("departamento", departamento, "left(municipio, 2) = :departamento"),
        ("periodo", periodo, "periodo = :periodo"),
        ("entidad", entidad, "entidad = :entidad"),
        ("familia_id", familia_id, "familia_id = :familia_id"),
        ("estado", estado, "estado = :estado"),
        ("despues_de", despues_de, "cupo_id > :despues_de"),
    ):
        if valor is not None:
            filtros.append(sql)
            params[nombre] = valor
    sql = f"SELECT * FROM asignaciones WHERE {' AND '.join(filtros)} ORDER BY cupo_id LIMIT :limite"
    return list(await conn.execute(text(sql), params))


async def servicio_existe(conn: AsyncConnection, servicio_ids: Sequence[str]) -> set[str]:
    filas = await conn.execute(
        text("SELECT servicio_id FROM servicios WHERE servicio_id = ANY(:s)"),
        {"s": list(servicio_ids)},
    )
    return {r.servicio_id for r in filas}


# --- RUAF imports -----------------------------------------------------------------------------


async def importacion_ruaf(conn: AsyncConnection, importacion_id: Any) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM importaciones_ruaf WHERE importacion_id = :i"),
            {"i": importacion_id},
        )
    ).first()


async def rechazos_ruaf(
    conn: AsyncConnection, importacion_id: Any, *, despues_de: int, limite: int
) -> list[Row[Any]]:
    return list(
        await conn.execute(
            text(
                "SELECT linea, motivo FROM ruaf_rechazos WHERE importacion_id = :i AND linea > :d"
                " ORDER BY linea LIMIT :l"
            ),
            {"i": importacion_id, "d": despues_de, "l": limite},
        )
    )
