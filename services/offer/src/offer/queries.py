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

_DE_MUNICIPIO = "SELECT DISTINCT familia_id FROM demanda WHERE municipio = :m AND logro = ANY(:lbs)"
_UNA = "SELECT CAST(:f AS text) AS familia_id"


async def _hogares(
    conn: AsyncConnection, conjunto: str, params: dict[str, Any], logros: Sequence[str]
) -> list[Hogar]:
    p = {**params, "lbs": list(logros)}
    familias = {
        r.familia_id: r
        for r in await conn.execute(
            text(f"SELECT * FROM familias WHERE familia_id IN ({conjunto})"), p
        )
    }
    miembros: dict[str, dict[str, Persona]] = defaultdict(dict)
    for r in await conn.execute(
        text(f"SELECT * FROM integrantes WHERE familia_id IN ({conjunto})"), p
    ):
        miembros[r.familia_id][r.integrante_id] = Persona(
            r.integrante_id, r.fecha_nacimiento, r.sexo, r.discapacidad, r.gestante
        )
    orden: dict[tuple[str, str], int] = {
        (r.familia_id, r.logro): r.orden
        for r in await conn.execute(
            text(
                "SELECT familia_id, logro, orden FROM prioridades"
                f" WHERE familia_id IN ({conjunto}) AND logro = ANY(:lbs)"
            ),
            p,
        )
    }
    pendientes: dict[str, dict[str, Pendiente]] = defaultdict(dict)
    municipio: dict[str, str] = {}
    for r in await conn.execute(
        text(
            "SELECT familia_id, logro, municipio, integrantes, desde FROM demanda"
            f" WHERE familia_id IN ({conjunto}) AND logro = ANY(:lbs)"
        ),
        p,
    ):
        municipio[r.familia_id] = r.municipio
        pendientes[r.familia_id][r.logro] = Pendiente(
            r.logro, r.desde, tuple(r.integrantes), orden.get((r.familia_id, r.logro))
        )
    return [
        Hogar(
            familia_id=fid,
            municipio=municipio.get(fid) or f.municipio or "",
            desplazada=f.desplazada,
            activa=f.activa,
            integrantes=miembros.get(fid, {}),
            pendientes=pendientes.get(fid, {}),
        )
        for fid, f in sorted(familias.items())
    ]


async def hogar(conn: AsyncConnection, familia_id: str, logros: Sequence[str]) -> Hogar | None:
    """One family with its pending `logros`, or None if enrollment never told offer about it."""
    hallados = await _hogares(conn, _UNA, {"f": familia_id}, logros)
    return hallados[0] if hallados else None


async def hogares_con_demanda(
    conn: AsyncConnection, municipio: str, logros: Sequence[str]
) -> list[Hogar]:
    """Every known family of the municipality with one of `logros` pending."""
    return await _hogares(conn, _DE_MUNICIPIO, {"m": municipio}, logros)


# --- programs and slots -----------------------------------------------------------------------


async def programa(conn: AsyncConnection, programa_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM programas WHERE programa_id = :p"), {"p": programa_id}
        )
    ).first()


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


async def asignados_de_familia(conn: AsyncConnection, familia_id: str) -> list[Row[Any]]:
    return list(
        await conn.execute(
            text(
                "SELECT * FROM asignaciones WHERE familia_id = :f AND estado = 'ASIGNADO'"
                " ORDER BY programa_id, municipio, periodo, cupo_id"
            ),
            {"f": familia_id},
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
