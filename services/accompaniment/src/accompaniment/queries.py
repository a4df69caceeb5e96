"""Accompaniment's read models: the roster learnt from enrollment, case summaries, sessions.

The roster is how accompaniment knows a family without reading enrollment's tables: consumers of
enrollment's events keep it, in the transaction that applies each event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from accompaniment.domain import Caso
from accompaniment.reglas import Miembro
from accompaniment.vocabulario import EstadoLogro


async def familia(conn: AsyncConnection, familia_id: str) -> Row[Any] | None:
    return (
        await conn.execute(text("SELECT * FROM familias WHERE familia_id = :f"), {"f": familia_id})
    ).first()


async def familias(conn: AsyncConnection, familia_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """`familia` of many families in one round trip (offline batches)."""
    rows = await conn.execute(
        text("SELECT * FROM familias WHERE familia_id = ANY(:fs)"), {"fs": list(familia_ids)}
    )
    return {r.familia_id: r for r in rows}


_MIEMBROS = (
    "SELECT familia_id, integrante_id, fecha_nacimiento, sexo, parentesco, discapacidad, gestante"
    " FROM integrantes WHERE familia_id = ANY(:fs) AND activo ORDER BY familia_id, integrante_id"
)


async def miembros(conn: AsyncConnection, familia_id: str) -> list[Miembro]:
    return (await miembros_de(conn, [familia_id])).get(familia_id, [])


async def miembros_de(
    conn: AsyncConnection, familia_ids: Sequence[str]
) -> dict[str, list[Miembro]]:
    """The active members of many families in one round trip, by family."""
    por_familia: dict[str, list[Miembro]] = {}
    for r in await conn.execute(text(_MIEMBROS), {"fs": list(familia_ids)}):
        fila = dict(r._mapping)
        por_familia.setdefault(fila.pop("familia_id"), []).append(Miembro(**fila))
    return por_familia


async def registrar_familias(
    conn: AsyncConnection, familias: Sequence[tuple[str, str, bool, str]]
) -> None:
    """(familia_id, municipio, desplazada, estado) of families not known yet; one round trip."""
    if familias:
        await conn.execute(
            text(
                "INSERT INTO familias (familia_id, municipio, desplazada, estado_inscripcion)"
                " VALUES (:f, :m, :d, :e) ON CONFLICT (familia_id) DO NOTHING"
            ),
            [{"f": f, "m": m, "d": d, "e": e} for f, m, d, e in familias],
        )


async def actualizar_familia(conn: AsyncConnection, familia_id: str, **valores: Any) -> None:
    await actualizar_familias(conn, [{"familia_id": familia_id, **valores}])


async def actualizar_familias(conn: AsyncConnection, filas: Sequence[Mapping[str, Any]]) -> None:
    """Set columns of many families (`familia_id` plus the same columns in every row), in order,
    in one round trip."""
    if not filas:
        return
    columnas = ", ".join(f"{k} = :{k}" for k in filas[0] if k != "familia_id")
    await conn.execute(
        text(f"UPDATE familias SET {columnas} WHERE familia_id = :familia_id"),
        [dict(f) for f in filas],
    )


async def asignar_cogestores(
    conn: AsyncConnection, asignaciones: Sequence[tuple[str, str]]
) -> None:
    """(familia_id, cogestor_id) in order, in one round trip."""
    if asignaciones:
        await conn.execute(
            text("UPDATE familias SET cogestor_id = :c WHERE familia_id = :f"),
            [{"f": f, "c": c} for f, c in asignaciones],
        )


async def guardar_integrante(
    conn: AsyncConnection, familia_id: str, integrante: dict[str, Any], *, activo: bool = True
) -> None:
    await guardar_integrantes(conn, [(familia_id, integrante)], activo=activo)


async def guardar_integrantes(
    conn: AsyncConnection,
    integrantes: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    activo: bool = True,
) -> None:
    """Upsert (familia_id, member) rows in order, in one round trip."""
    if not integrantes:
        return
    await conn.execute(
        text(
            """
            INSERT INTO integrantes (familia_id, integrante_id, fecha_nacimiento, sexo, parentesco,
                                     discapacidad, gestante, activo)
            VALUES (:familia_id, :integrante_id, :fecha_nacimiento, :sexo, :parentesco,
                    :discapacidad, :gestante, :activo)
            ON CONFLICT (familia_id, integrante_id) DO UPDATE SET
                fecha_nacimiento = excluded.fecha_nacimiento, sexo = excluded.sexo,
                parentesco = excluded.parentesco, discapacidad = excluded.discapacidad,
                gestante = excluded.gestante, activo = excluded.activo
            """
        ),
        [
            {"familia_id": familia_id, **asdict(miembro(integrante)), "activo": activo}
            for familia_id, integrante in integrantes
        ],
    )


def miembro(integrante: Mapping[str, Any]) -> Miembro:
    """A member as enrollment's events carry it, as the roster stores and reads it back."""
    return Miembro(
        integrante_id=integrante["integrante_id"],
        fecha_nacimiento=date.fromisoformat(str(integrante["fecha_nacimiento"])),
        sexo=integrante["sexo"],
        parentesco=integrante["parentesco"],
        discapacidad=bool(integrante.get("discapacidad", False)),
        gestante=bool(integrante.get("gestante", False)),
    )


async def retirar_integrante(conn: AsyncConnection, familia_id: str, integrante_id: str) -> None:
    await conn.execute(
        text("UPDATE integrantes SET activo = false WHERE familia_id = :f AND integrante_id = :i"),
        {"f": familia_id, "i": integrante_id},
    )


_PROYECTAR_CASO = text(
    """
    UPDATE familias SET caso_abierto = :abierto, caso_version = :version,
           linea_base = coalesce(linea_base, :linea_base), plan_version = :plan,
           pendientes = :pendientes,
           ultima_visita = greatest(ultima_visita, :ultima_visita)
    WHERE familia_id = :f AND caso_version < :version
    """
)


async def proyectar_casos(
    conn: AsyncConnection, casos: Sequence[tuple[Caso, int, date | None]]
) -> None:
    """The case summaries of (case, version, last visit): one statement, sent once for all."""
    if not casos:
        return
    await conn.execute(_PROYECTAR_CASO, [_resumen(*c) for c in casos])


def _resumen(caso: Caso, version: int, ultima_visita: date | None) -> dict[str, Any]:
    pendientes = (
        sum(1 for c in caso.tablero.values() if c.estado is EstadoLogro.POR_ALCANZAR)
        if caso.tablero
        else None
    )
    return {
        "f": caso.familia_id,
        "abierto": caso.abierto,
        "version": version,
        "linea_base": ultima_visita if caso.linea_base is not None else None,
        "plan": caso.plan_version,
        "pendientes": pendientes,
        "ultima_visita": ultima_visita,
    }


async def listar_casos(
    conn: AsyncConnection,
    *,
    municipio: str | None,
    departamento: str | None,
    cogestor_id: str | None,
    despues_de: str | None,
    limite: int,
) -> list[Row[Any]]:
    filtros, params = ["caso_abierto"], {"limite": limite}
    for columna, valor, sql in (
        ("municipio", municipio, "municipio = :municipio"),
        ("departamento", departamento, "left(municipio, 2) = :departamento"),
        ("cogestor_id", cogestor_id, "cogestor_id = :cogestor_id"),
        ("despues_de", despues_de, "familia_id > :despues_de"),
    ):
        if valor is not None:
            filtros.append(sql)
            params[columna] = valor
    sql = f"SELECT * FROM familias WHERE {' AND '.join(filtros)} ORDER BY familia_id LIMIT :limite"
    return list(await conn.execute(text(sql), params))


async def guardar_sesion(conn: AsyncConnection, fila: dict[str, Any]) -> None:
    await conn.execute(
        text(
            "INSERT INTO sesiones (sesion_id, municipio, fecha, tema_logro, tema_dimension,"
            " familias, para_desplazados, cogestor_id) VALUES (:sesion_id, :municipio, :fecha,"
            " :tema_logro, :tema_dimension, :familias, :para_desplazados, :cogestor_id)"
            " ON CONFLICT DO NOTHING"
        ),
        fila,
    )


async def sesiones(
    conn: AsyncConnection, municipio: str, despues_de: str | None, limite: int
) -> list[Row[Any]]:
    return list(
        await conn.execute(
            text(
                "SELECT * FROM sesiones WHERE municipio = :m AND sesion_id > :d"
                " ORDER BY sesion_id LIMIT :l"
            ),
            {"m": municipio, "d": despues_de or "", "l": limite},
        )
    )
