"""Enrollment's local read models and look-ups: families by municipality and cogestor, audit.

The read models are written in the command's own transaction (they are never behind), and only
ever answer questions; the decisions are taken on the event streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import bindparam

from enrollment.domain import Cogestor, Familia

_UPSERT_FAMILIA = text(
    """
    INSERT INTO familias (familia_id, municipio, estado, desplazada, registros, integrantes,
                          cogestor_id, fecha_vinculacion, fecha_limite, version, actualizada)
    VALUES (:familia_id, :municipio, :estado, :desplazada, :registros, :integrantes,
            :cogestor_id, :fecha_vinculacion, :fecha_limite, :version, now())
    ON CONFLICT (familia_id) DO UPDATE SET
        municipio = excluded.municipio, estado = excluded.estado,
        desplazada = excluded.desplazada, registros = excluded.registros,
        integrantes = excluded.integrantes, cogestor_id = excluded.cogestor_id,
        fecha_vinculacion = excluded.fecha_vinculacion, fecha_limite = excluded.fecha_limite,
        version = excluded.version, actualizada = now()
    WHERE familias.version < excluded.version
    """
)


def fila_familia(familia: Familia, version: int) -> dict[str, Any]:
    return {
        "familia_id": familia.familia_id,
        "municipio": familia.municipio,
        "estado": str(familia.estado),
        "desplazada": familia.desplazada,
        "registros": sorted(familia.registros),
        "integrantes": len(familia.integrantes),
        "cogestor_id": familia.cogestor_id,
        "fecha_vinculacion": familia.fecha_vinculacion,
        "fecha_limite": familia.fecha_limite,
        "version": version,
    }


async def proyectar_familias(conn: AsyncConnection, filas: Sequence[dict[str, Any]]) -> None:
    """Many families in one round trip (imports, commands, consumers' runs)."""
    if filas:
        await conn.execute(_UPSERT_FAMILIA, list(filas))


_UPSERT_COGESTOR = text(
    """
    INSERT INTO cogestores (cogestor_id, operador, microrregion, municipios, capacidad,
                            carga, version)
    VALUES (:cogestor_id, :operador, :microrregion, :municipios, :capacidad, :carga,
            :version)
    ON CONFLICT (cogestor_id) DO UPDATE SET
        operador = excluded.operador, microrregion = excluded.microrregion,
        municipios = excluded.municipios, capacidad = excluded.capacidad,
        carga = excluded.carga, version = excluded.version
    WHERE cogestores.version < excluded.version
    """
)


def _fila_cogestor(cogestor: Cogestor, version: int) -> dict[str, Any]:
    return {
        "cogestor_id": cogestor.cogestor_id,
        "operador": cogestor.operador,
        "microrregion": cogestor.microrregion,
        "municipios": sorted(cogestor.municipios),
        "capacidad": cogestor.capacidad,
        "carga": cogestor.carga,
        "version": version,
    }


async def proyectar_cogestor(conn: AsyncConnection, cogestor: Cogestor, version: int) -> None:
    await proyectar_cogestores(conn, [(cogestor, version)])


async def proyectar_cogestores(
    conn: AsyncConnection, cogestores: Sequence[tuple[Cogestor, int]]
) -> None:
    """Many cogestors in one round trip (bulk assignment)."""
    if cogestores:
        await conn.execute(_UPSERT_COGESTOR, [_fila_cogestor(c, v) for c, v in cogestores])


async def familia(conn: AsyncConnection, familia_id: str) -> Row[Any] | None:
    return (await familias(conn, [familia_id])).get(familia_id)


async def familias(conn: AsyncConnection, familia_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """`familia` of many families in one round trip (bulk commands), by id."""
    rows = await conn.execute(
        text("SELECT * FROM familias WHERE familia_id = ANY(:fs)"), {"fs": list(familia_ids)}
    )
    return {r.familia_id: r for r in rows}


async def familias_vencidas(conn: AsyncConnection, hoy: date) -> list[str]:
    rows = await conn.execute(
        text(
            "SELECT familia_id FROM familias WHERE estado = 'VINCULADA' AND fecha_limite <= :hoy"
            " ORDER BY fecha_limite, familia_id"
        ),
        {"hoy": hoy},
    )
    return [r.familia_id for r in rows]


async def listar_familias(
    conn: AsyncConnection,
    *,
    municipio: str | None,
    departamento: str | None,
    cogestor_id: str | None,
    estado: str | None,
    despues_de: str | None,
    limite: int,
) -> list[Row[Any]]:
    """Keyset pagination on familia_id: stable under concurrent inserts, O(limit) per page."""
    filtros, params = ["TRUE"], {"limite": limite}
    for columna, valor, sql in (
        ("municipio", municipio, "municipio = :municipio"),
        ("departamento", departamento, "left(municipio, 2) = :departamento"),
        ("cogestor_id", cogestor_id, "cogestor_id = :cogestor_id"),
        ("estado", estado, "estado = :estado"),
        ("despues_de", despues_de, "familia_id > :despues_de"),
    ):
        if valor is not None:
            filtros.append(sql)
            params[columna] = valor
    sql = f"SELECT * FROM familias WHERE {' AND '.join(filtros)} ORDER BY familia_id LIMIT :limite"
    return list(await conn.execute(text(sql), params))


async def cogestor(conn: AsyncConnection, cogestor_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM cogestores WHERE cogestor_id = :c"), {"c": cogestor_id}
        )
    ).first()


async def por_huella(conn: AsyncConnection, huella: bytes) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT familia_id, integrante_id FROM documentos WHERE huella = :h"),
            {"h": huella},
        )
    ).first()


async def por_huellas(conn: AsyncConnection, huellas: Sequence[bytes]) -> dict[bytes, Row[Any]]:
    """`por_huella` of many documents in one round trip, by fingerprint (absent: unknown)."""
    rows = await conn.execute(
        text("SELECT huella, familia_id, integrante_id FROM documentos WHERE huella = ANY(:hs)"),
        {"hs": list(huellas)},
    )
    return {bytes(r.huella): r for r in rows}


async def indexar_documentos(conn: AsyncConnection, filas: Sequence[dict[str, Any]]) -> None:
    """Rows of (huella, familia_id, integrante_id); a person already indexed keeps its family."""
    if filas:
        await conn.execute(
            text(
                "INSERT INTO documentos (huella, familia_id, integrante_id)"
                " VALUES (:huella, :familia_id, :integrante_id) ON CONFLICT DO NOTHING"
            ),
            list(filas),
        )


_AUDITAR = text(
    "INSERT INTO auditoria (actor, rol, accion, familia_id, detalle)"
    " VALUES (:actor, :rol, :accion, :familia_id, :detalle)"
).bindparams(bindparam("detalle", type_=JSONB))


async def auditar(
    conn: AsyncConnection,
    *,
    actor: str,
    rol: str,
    accion: str,
    familia_id: str | None,
    detalle: dict[str, Any] | None = None,
) -> None:
    """Who read or changed whose personal data, and when (Ley 1581). `detalle` holds no PII."""
    await auditar_familias(
        conn, actor=actor, rol=rol, accion=accion, familia_ids=[familia_id], detalle=detalle
    )


async def auditar_familias(
    conn: AsyncConnection,
    *,
    actor: str,
    rol: str,
    accion: str,
    familia_ids: Sequence[str | None],
    detalle: dict[str, Any] | None = None,
    detalles: Sequence[dict[str, Any]] | None = None,
) -> None:
    """`auditar` once per family, in one statement (a bulk read: one row for each family, in
    the order given); `detalles`, if given, is each row's own detail instead of `detalle`."""
    fila = {"actor": actor, "rol": rol, "accion": accion}
    propios = detalles if detalles is not None else [detalle or {}] * len(familia_ids)
    if familia_ids:
        await conn.execute(
            _AUDITAR,
            [
                {**fila, "familia_id": f, "detalle": d}
                for f, d in zip(familia_ids, propios, strict=True)
            ],
        )


async def llaves(conn: AsyncConnection, familia_ids: Sequence[str]) -> dict[str, bytes | None]:
    """The wrapped data keys of many families in one round trip (None: erased), by family."""
    if not familia_ids:
        return {}
    filas = await conn.execute(
        text("SELECT familia_id, llave FROM llaves_familia WHERE familia_id = ANY(:fs)"),
        {"fs": list(familia_ids)},
    )
    return {r.familia_id: r.llave for r in filas}


async def auditoria(
    conn: AsyncConnection, *, familia_id: str | None, despues_de: int | None, limite: int
) -> list[Row[Any]]:
    filtros, params = ["TRUE"], {"limite": limite}
    if familia_id is not None:
        filtros.append("familia_id = :familia_id")
        params["familia_id"] = familia_id
    if despues_de is not None:
        filtros.append("id > :despues_de")
        params["despues_de"] = despues_de
    sql = f"SELECT * FROM auditoria WHERE {' AND '.join(filtros)} ORDER BY id LIMIT :limite"
    return list(await conn.execute(text(sql), params))


async def importacion(conn: AsyncConnection, importacion_id: Any) -> Row[Any] | None:
    return (
        await conn.execute(
            text("SELECT * FROM importaciones WHERE importacion_id = :i"), {"i": importacion_id}
        )
    ).first()


async def rechazos(
    conn: AsyncConnection, importacion_id: Any, *, despues_de: int, limite: int
) -> list[Row[Any]]:
    return list(
        await conn.execute(
            text(
                "SELECT linea, hogar, motivo FROM importacion_rechazos"
                " WHERE importacion_id = :i AND linea > :d ORDER BY linea LIMIT :l"
            ),
            {"i": importacion_id, "d": despues_de, "l": limite},
        )
    )
