"""Writes of offer's read models, in the transaction of the command or event that causes them.

Programs, slots and assignments mirror offer's own streams (an older version never overwrites a
newer one). The roster (enrollment), boards, demand and plans (accompaniment) are what offer
knows from others: pseudonymous ids and the attributes eligibility needs, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from juntos_events.events import DomainEvent
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from offer.demanda import Cabecera, Demanda, FilaDemanda
from offer.domain import Cupos, Programa, dimensiones_de
from offer.events import CupoAsignado, CupoLiberado

# --- offer's own streams ----------------------------------------------------------------------

_PROGRAMA = text(
    """
    INSERT INTO programas (programa_id, entidad, titulo, nivel, alcance, logros, dimensiones,
                           elegibilidad, municipios, version)
    VALUES (:programa_id, :entidad, :titulo, :nivel, :alcance, :logros, :dimensiones,
            :elegibilidad, :municipios, :version)
    ON CONFLICT (programa_id) DO UPDATE SET
        titulo = excluded.titulo, nivel = excluded.nivel, alcance = excluded.alcance,
        logros = excluded.logros, dimensiones = excluded.dimensiones,
        elegibilidad = excluded.elegibilidad, municipios = excluded.municipios,
        version = excluded.version
    WHERE programas.version < excluded.version
    """
).bindparams(bindparam("elegibilidad", type_=JSONB))


async def programa(conn: AsyncConnection, p: Programa, version: int) -> None:
    await programas(conn, [(p, version)])


async def programas(conn: AsyncConnection, cambiados: Sequence[tuple[Programa, int]]) -> None:
    """The programs' rows (one statement for them all) and their reported quality."""
    if not cambiados:
        return
    filas = []
    for p, version in cambiados:
        d = p.vigente()
        filas.append(
            {
                "programa_id": p.programa_id,
                "entidad": d.entidad,
                "titulo": d.titulo,
                "nivel": d.nivel.value,
                "alcance": d.alcance.value,
                "logros": list(d.logros),
                "dimensiones": list(dimensiones_de(d.logros)),
                "elegibilidad": d.elegibilidad.model_dump(mode="json"),
                "municipios": list(d.municipios),
                "version": version,
            }
        )
    await conn.execute(_PROGRAMA, filas)
    calidad = [
        {"p": p.programa_id, "per": k, "c": v} for p, _ in cambiados for k, v in p.calidad.items()
    ]
    if calidad:
        await conn.execute(
            text(
                "INSERT INTO calidad (programa_id, periodo, cumplimiento) VALUES (:p, :per, :c)"
                " ON CONFLICT (programa_id, periodo)"
                " DO UPDATE SET cumplimiento = excluded.cumplimiento"
            ),
            calidad,
        )


async def cupos(
    conn: AsyncConnection,
    streams: Sequence[tuple[Cupos, int, str]],
    nuevos: Sequence[DomainEvent],
    desde: Mapping[str, date] | None = None,
) -> None:
    """Each stream's counters (state, version, entidad: one statement for them all), and one
    row per slot `nuevos` assigned or released (`desde`: when its LB got pending)."""
    await conn.execute(
        text(
            """
            INSERT INTO cupos (programa_id, municipio, periodo, entidad, capacidad, asignados,
                               version)
            VALUES (:p, :m, :per, :e, :cap, :a, :v)
            ON CONFLICT (programa_id, municipio, periodo) DO UPDATE SET
                capacidad = excluded.capacidad, asignados = excluded.asignados,
                version = excluded.version
            WHERE cupos.version < excluded.version
            """
        ),
        [
            {
                "p": c.programa_id,
                "m": c.municipio,
                "per": c.periodo,
                "e": entidad,
                "cap": c.capacidad,
                "a": len(c.asignados),
                "v": version,
            }
            for c, version, entidad in streams
        ],
    )
    asignados = [
        {
            **e.model_dump(mode="python"),
            "desde": (desde or {}).get(e.cupo_id),
            "logros": list(e.logros),
        }
        for e in nuevos
        if isinstance(e, CupoAsignado)
    ]
    if asignados:
        await conn.execute(
            text(
                """
                INSERT INTO asignaciones (cupo_id, programa_id, entidad, municipio, periodo,
                    familia_id, integrante_id, logros, fecha, pendiente_desde, estado)
                VALUES (:cupo_id, :programa_id, :entidad, :municipio, :periodo, :familia_id,
                    :integrante_id, :logros, :fecha, :desde, 'ASIGNADO')
                ON CONFLICT (cupo_id) DO NOTHING
                """
            ),
            asignados,
        )
    liberados = [
        {"motivo": e.motivo.value, "f": e.fecha, "c": e.cupo_id}
        for e in nuevos
        if isinstance(e, CupoLiberado)
    ]
    if liberados:
        await conn.execute(
            text(
                "UPDATE asignaciones SET estado = 'LIBERADO', motivo = :motivo, liberado = :f"
                " WHERE cupo_id = :c"
            ),
            liberados,
        )


async def servicios(conn: AsyncConnection, filas: Sequence[dict[str, Any]]) -> None:
    if filas:
        await conn.execute(
            text(
                """
                INSERT INTO servicios (servicio_id, programa_id, entidad, municipio, familia_id,
                    integrante_id, logros, fecha, valor)
                VALUES (:servicio_id, :programa_id, :entidad, :municipio, :familia_id,
                    :integrante_id, :logros, :fecha, :valor)
                ON CONFLICT (servicio_id) DO NOTHING
                """
            ),
            list(filas),
        )


# --- roster from enrollment --------------------------------------------------------------------

_INTEGRANTE = text(
    """
    INSERT INTO integrantes (familia_id, integrante_id, fecha_nacimiento, sexo, discapacidad,
                             gestante)
    VALUES (:familia_id, :integrante_id, :fecha_nacimiento, :sexo, :discapacidad, :gestante)
    ON CONFLICT (familia_id, integrante_id) DO UPDATE SET
        fecha_nacimiento = excluded.fecha_nacimiento, sexo = excluded.sexo,
        discapacidad = excluded.discapacidad, gestante = excluded.gestante
    """
)


async def familia(
    conn: AsyncConnection,
    familia_id: str,
    *,
    municipio: str | None = None,
    desplazada: bool | None = None,
    activa: bool | None = None,
) -> None:
    """Create or update what offer knows of a family; None leaves a field as it is."""
    await familias(conn, [(familia_id, municipio, desplazada, activa)])


async def familias(
    conn: AsyncConnection, filas: Sequence[tuple[str, str | None, bool | None, bool | None]]
) -> None:
    """(familia_id, municipio, desplazada, activa) in order, one round trip; None leaves a
    field as it is."""
    await conn.execute(
        text(
            """
            INSERT INTO familias (familia_id, municipio, desplazada, activa)
            VALUES (:f, :m, coalesce(:d, false), coalesce(:a, true))
            ON CONFLICT (familia_id) DO UPDATE SET
                municipio = coalesce(:m, familias.municipio),
                desplazada = coalesce(:d, familias.desplazada),
                activa = coalesce(:a, familias.activa)
            """
        ),
        [{"f": f, "m": m, "d": d, "a": a} for f, m, d, a in filas],
    )


async def integrantes(
    conn: AsyncConnection, miembros: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    """(familia_id, member) rows upserted in order, one round trip."""
    filas = [
        {
            "familia_id": familia_id,
            "integrante_id": str(m["integrante_id"]),
            "fecha_nacimiento": date.fromisoformat(str(m["fecha_nacimiento"])),
            "sexo": str(m["sexo"]),
            "discapacidad": bool(m.get("discapacidad", False)),
            "gestante": bool(m.get("gestante", False)),
        }
        for familia_id, m in miembros
    ]
    if filas:
        await conn.execute(_INTEGRANTE, filas)


async def retirar_integrante(conn: AsyncConnection, familia_id: str, integrante_id: str) -> None:
    await conn.execute(
        text("DELETE FROM integrantes WHERE familia_id = :f AND integrante_id = :i"),
        {"f": familia_id, "i": integrante_id},
    )


# --- boards, demand and plans from accompaniment ------------------------------------------------


async def demandas(conn: AsyncConnection, familias: Iterable[str]) -> dict[str, Demanda]:
    """What offer holds of these families' demand, four statements whatever their number; their
    board rows are locked (in id order, so two writers cannot deadlock): a family's boards are
    applied one transaction at a time."""
    ids = sorted(set(familias))
    inactivas = {
        r.familia_id
        for r in await conn.execute(
            text("SELECT familia_id FROM familias WHERE familia_id = ANY(:f) AND NOT activa"),
            {"f": ids},
        )
    }
    tableros = {
        r.familia_id: Cabecera(r.municipio, r.fecha, r.recibido)
        for r in await conn.execute(
            text(
                "SELECT familia_id, municipio, fecha, recibido FROM tableros"
                " WHERE familia_id = ANY(:f) ORDER BY familia_id FOR UPDATE"
            ),
            {"f": ids},
        )
    }
    filas: dict[str, dict[str, FilaDemanda]] = {}
    for r in await conn.execute(
        text(
            "SELECT familia_id, logro, municipio, integrantes, desde FROM demanda"
            " WHERE familia_id = ANY(:f)"
        ),
        {"f": ids},
    ):
        filas.setdefault(r.familia_id, {})[r.logro] = FilaDemanda(
            r.logro, r.municipio, tuple(r.integrantes), r.desde
        )
    alcanzados: dict[str, dict[str, date]] = {}
    for r in await conn.execute(
        text("SELECT familia_id, logro, fecha FROM alcanzados WHERE familia_id = ANY(:f)"),
        {"f": ids},
    ):
        alcanzados.setdefault(r.familia_id, {})[r.logro] = r.fecha
    return {
        f: Demanda(
            activa=f not in inactivas,
            tablero=tableros.get(f),
            filas=filas.get(f, {}),
            alcanzados=alcanzados.get(f, {}),
        )
        for f in ids
    }


_BORRAR_PARES = (
    "DELETE FROM {tabla} t USING unnest(CAST(:f AS text[]), CAST(:l AS text[])) AS k(f, l)"
    " WHERE t.familia_id = k.f AND t.logro = k.l"
)


async def guardar_demandas(
    conn: AsyncConnection, antes: Mapping[str, Demanda], despues: Mapping[str, Demanda]
) -> None:
    """Write what changed from `antes` to `despues`: at most six statements for any number of
    families (the rows that stay as they were are not touched)."""
    borrar_filas: list[tuple[str, str]] = []
    filas: list[tuple[str, FilaDemanda]] = []
    tableros: list[tuple[str, Cabecera]] = []
    borrar_alcanzados: list[tuple[str, str]] = []
    alcanzados: list[tuple[str, str, date]] = []
    for f, d in despues.items():
        a = antes[f]
        borrar_filas += [(f, lb) for lb in a.filas if lb not in d.filas]
        filas += [(f, fila) for lb, fila in d.filas.items() if a.filas.get(lb) != fila]
        if d.tablero is not None and d.tablero != a.tablero:
            tableros.append((f, d.tablero))
        borrar_alcanzados += [(f, lb) for lb in a.alcanzados if lb not in d.alcanzados]
        alcanzados += [
            (f, lb, fecha) for lb, fecha in d.alcanzados.items() if a.alcanzados.get(lb) != fecha
        ]
    if borrar_filas:
        await conn.execute(text(_BORRAR_PARES.format(tabla="demanda")), _pares(borrar_filas))
    if filas:
        await conn.execute(
            text(
                """
                INSERT INTO demanda (familia_id, logro, municipio, integrantes, desde)
                SELECT f, l, m, ARRAY(SELECT jsonb_array_elements_text(CAST(i AS jsonb))), d
                FROM unnest(CAST(:f AS text[]), CAST(:l AS text[]), CAST(:m AS text[]),
                            CAST(:i AS text[]), CAST(:d AS date[])) AS u(f, l, m, i, d)
                ON CONFLICT (familia_id, logro) DO UPDATE SET
                    municipio = excluded.municipio, integrantes = excluded.integrantes,
                    desde = excluded.desde
                """
            ),
            {  # integrantes travel as JSON (unnest would flatten an array of arrays)
                "f": [f for f, _ in filas],
                "l": [fila.logro for _, fila in filas],
                "m": [fila.municipio for _, fila in filas],
                "i": [json.dumps(fila.integrantes) for _, fila in filas],
                "d": [fila.desde for _, fila in filas],
            },
        )
    if tableros:
        await conn.execute(
            text(
                """
                INSERT INTO tableros (familia_id, municipio, fecha, recibido)
                SELECT * FROM unnest(CAST(:f AS text[]), CAST(:m AS text[]),
                                     CAST(:d AS date[]), CAST(:r AS timestamptz[]))
                ON CONFLICT (familia_id) DO UPDATE SET municipio = excluded.municipio,
                    fecha = excluded.fecha, recibido = excluded.recibido
                """
            ),
            {
                "f": [f for f, _ in tableros],
                "m": [t.municipio for _, t in tableros],
                "d": [t.fecha for _, t in tableros],
                "r": [t.recibido for _, t in tableros],
            },
        )
    if borrar_alcanzados:
        await conn.execute(
            text(_BORRAR_PARES.format(tabla="alcanzados")), _pares(borrar_alcanzados)
        )
    if alcanzados:
        await conn.execute(
            text(
                """
                INSERT INTO alcanzados (familia_id, logro, fecha)
                SELECT * FROM unnest(CAST(:f AS text[]), CAST(:l AS text[]), CAST(:d AS date[]))
                ON CONFLICT (familia_id, logro) DO UPDATE SET fecha = excluded.fecha
                """
            ),
            {
                "f": [a[0] for a in alcanzados],
                "l": [a[1] for a in alcanzados],
                "d": [a[2] for a in alcanzados],
            },
        )


def _pares(pares: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {"f": [f for f, _ in pares], "l": [lb for _, lb in pares]}


@dataclass(frozen=True)
class Plan:
    version: int
    fecha: date
    prioridades: Mapping[str, int]
    """LB -> its order in the plan."""


async def versiones_de_plan(conn: AsyncConnection, familias: Iterable[str]) -> dict[str, int]:
    """The stored plans' versions, locked in id order: a family's plans go one at a time."""
    filas = await conn.execute(
        text(
            "SELECT familia_id, version FROM planes WHERE familia_id = ANY(:f)"
            " ORDER BY familia_id FOR UPDATE"
        ),
        {"f": sorted(set(familias))},
    )
    return {r.familia_id: r.version for r in filas}


async def planes(conn: AsyncConnection, nuevos: Mapping[str, Plan]) -> None:
    """Replace these families' plans and priorities: three statements for any number."""
    if not nuevos:
        return
    ids = list(nuevos)
    await conn.execute(
        text(
            "INSERT INTO planes (familia_id, version, fecha)"
            " SELECT * FROM unnest(CAST(:f AS text[]), CAST(:v AS int[]), CAST(:d AS date[]))"
            " ON CONFLICT (familia_id) DO UPDATE SET version = excluded.version,"
            " fecha = excluded.fecha"
        ),
        {
            "f": ids,
            "v": [p.version for p in nuevos.values()],
            "d": [p.fecha for p in nuevos.values()],
        },
    )
    await conn.execute(text("DELETE FROM prioridades WHERE familia_id = ANY(:f)"), {"f": ids})
    filas = [(f, lb, o) for f, p in nuevos.items() for lb, o in p.prioridades.items()]
    if filas:
        await conn.execute(
            text(
                "INSERT INTO prioridades (familia_id, logro, orden) SELECT * FROM"
                " unnest(CAST(:f AS text[]), CAST(:l AS text[]), CAST(:o AS int[]))"
            ),
            {"f": [x[0] for x in filas], "l": [x[1] for x in filas], "o": [x[2] for x in filas]},
        )
