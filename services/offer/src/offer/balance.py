"""Demand against supply per municipality and LB, and the DemandaInsatisfecha crossing.

`balance` keeps, per (municipio, logro), the families with the LB pending, the slots of the
programs serving it (each program's latest period in the municipality) and whether demand is
above supply. Every change (a board, a reach, an exit, new slots, a program's new LB) adjusts it
in the caller's transaction. The rows are locked in (municipio, logro) order, so two writers of
the same pair are serialised and the crossing is published exactly once, never per change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from offer.demanda import cruce
from offer.events import DemandaInsatisfecha, store

Clave = tuple[str, str]  # (municipio, logro)

_CREAR = text(
    "INSERT INTO balance (municipio, logro, demanda, cupos, insatisfecha)"
    " SELECT m, l, 0, 0, false FROM unnest(CAST(:m AS text[]), CAST(:l AS text[])) AS k(m, l)"
    " ORDER BY m, l ON CONFLICT DO NOTHING"
)
_BLOQUEAR = text(
    "SELECT b.municipio, b.logro, b.demanda, b.cupos, b.insatisfecha FROM balance b"
    " JOIN unnest(CAST(:m AS text[]), CAST(:l AS text[])) AS k(m, l)"
    " ON b.municipio = k.m AND b.logro = k.l ORDER BY b.municipio, b.logro FOR UPDATE OF b"
)
# One lateral look-up per pair (its municipality's slot rows through `cupos_municipio`), so the
# cost follows the pairs asked for; joined the other way, a program's 200 pairs were compared
# with every slot row of every program (230 ms for 2,000 rows, growing with the table). Finding
# each program's latest period per municipality once (DISTINCT ON) and joining the programs was
# tried and is slower at 100,000 families (444-710 ms against 242-417 ms for 4,376 pairs): the
# membership test in a national program's 1,100 municipalities, detoasted once per slot row of
# the hash join, outweighs the per-pair look-ups.
_SUMINISTRO = text(
    """
    SELECT k.m AS municipio, k.l AS logro, s.cupos
    FROM unnest(CAST(:m AS text[]), CAST(:l AS text[])) AS k(m, l)
    CROSS JOIN LATERAL (
        SELECT sum(c.capacidad)::int AS cupos
        FROM cupos c JOIN programas p USING (programa_id)
        WHERE c.municipio = k.m AND k.l = ANY(p.logros) AND c.municipio = ANY(p.municipios)
          AND c.periodo = (SELECT max(c2.periodo) FROM cupos c2
                           WHERE c2.programa_id = c.programa_id AND c2.municipio = c.municipio)
    ) AS s
    WHERE s.cupos IS NOT NULL
    """
)
_GUARDAR = text(
    "UPDATE balance b SET demanda = k.d, cupos = k.c, insatisfecha = k.i"
    " FROM unnest(CAST(:m AS text[]), CAST(:l AS text[]), CAST(:d AS int[]), CAST(:c AS int[]),"
    " CAST(:i AS boolean[])) AS k(m, l, d, c, i) WHERE b.municipio = k.m AND b.logro = k.l"
)


def _columnas(claves: Iterable[Clave]) -> dict[str, list[str]]:
    claves = list(claves)
    return {"m": [k[0] for k in claves], "l": [k[1] for k in claves]}


async def cupos_que_sirven(conn: AsyncConnection, claves: Iterable[Clave]) -> dict[Clave, int]:
    """The slots serving each pair: per program serving its LB there, the capacity of the
    program's latest period in the municipality (pairs with none are left out)."""
    return {
        (r.municipio, r.logro): r.cupos for r in await conn.execute(_SUMINISTRO, _columnas(claves))
    }


async def ajustar(
    conn: AsyncConnection,
    *,
    demanda: Mapping[Clave, int] | None = None,
    suministro: Iterable[Clave] = (),
    actor: str,
    causation_id: str | Mapping[Clave, str] | None = None,
) -> list[DemandaInsatisfecha]:
    """Add `demanda` deltas, recompute the slots of `suministro` pairs; publish crossings
    (`causation_id`: the cause of them all, or of each pair)."""
    demanda = demanda or {}
    recalcular = set(suministro)
    claves = sorted(set(demanda) | recalcular)
    if not claves:
        return []
    await conn.execute(_CREAR, _columnas(claves))
    filas = list(await conn.execute(_BLOQUEAR, _columnas(claves)))
    cupos = await cupos_que_sirven(conn, recalcular) if recalcular else {}
    nuevos: list[tuple[Clave, int, int, bool]] = []
    cruces: list[DemandaInsatisfecha] = []
    for f in filas:
        clave = (f.municipio, f.logro)
        d = max(0, f.demanda + demanda.get(clave, 0))
        c = cupos.get(clave, 0) if clave in recalcular else f.cupos
        ahora, publicar = cruce(f.insatisfecha, d, c)
        nuevos.append((clave, d, c, ahora))
        if publicar:
            cruces.append(
                DemandaInsatisfecha(municipio=f.municipio, logro=f.logro, demanda=d, cupos=c)
            )
    await conn.execute(
        _GUARDAR,
        {
            **_columnas(k for k, *_ in nuevos),
            "d": [n[1] for n in nuevos],
            "c": [n[2] for n in nuevos],
            "i": [n[3] for n in nuevos],
        },
    )
    if cruces:  # all in two statements: a first board crosses a pair for each pending LB
        streams = [f"demanda:{e.municipio}:{e.logro}" for e in cruces]
        versions = await store.versions(conn, streams)  # the row locks serialise these streams
        causas = {
            stream: [
                causation_id.get((e.municipio, e.logro))
                if isinstance(causation_id, Mapping)
                else causation_id
            ]
            for stream, e in zip(streams, cruces, strict=True)
        }
        await store.append_many(
            conn,
            "demanda",
            [(s, versions[s], [e]) for s, e in zip(streams, cruces, strict=True)],
            actor=actor,
            causation_ids=causas,
        )
    return cruces
