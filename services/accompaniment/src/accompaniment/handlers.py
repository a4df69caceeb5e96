"""Accompaniment commands: the case's command loop, its read model, and the offline batch.

Every command loads the case stream, decides, appends (events + outbox) and updates the case
summary in one transaction. Members come from the local roster (enrollment's events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from juntos_events.commands import Aggregate, Applied, given, retrying
from juntos_events.events import DomainEvent
from juntos_events.store import EventStore, Stream
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from accompaniment import domain, queries
from accompaniment.domain import Caso, Comando
from accompaniment.events import VisitaRegistrada, events
from accompaniment.reglas import Miembro

COLOMBIA = ZoneInfo("America/Bogota")

store = EventStore(events)
casos: Aggregate[Caso, Comando] = Aggregate(
    store=store,
    stream_type="caso",
    fold=domain.fold,
    decide=domain.decide,
    evolve_from=lambda nuevos, caso: domain.fold(nuevos, caso),
)


def hoy_en_colombia() -> date:
    return datetime.now(COLOMBIA).date()


@dataclass
class Servicios:
    engine: AsyncEngine
    hoy: Callable[[], date] = hoy_en_colombia


def _resumen(aplicado: Applied[Caso]) -> tuple[Caso, int, date | None]:
    visitas = [e.fecha for e in aplicado.events if isinstance(e, VisitaRegistrada)]
    return aplicado.after, aplicado.version, max(visitas, default=None)


async def _proyectar(conn: AsyncConnection, aplicado: Applied[Caso]) -> None:
    await queries.proyectar_casos(conn, [_resumen(aplicado)])


async def aplicar(
    conn: AsyncConnection,
    familia_id: str,
    comando: Comando | Callable[[Sequence[Any]], Comando],
    *,
    actor: str,
    expected: int | None = None,
    causation_id: str | None = None,
) -> Applied[Caso]:
    """One command in the caller's transaction; a callable gets the family's current members."""

    async def build(c: AsyncConnection, caso: Caso) -> Comando:
        if callable(comando):
            return comando(await queries.miembros(c, familia_id))
        return comando

    return await casos.apply(
        conn,
        familia_id,
        build,
        actor=actor,
        expected=expected,
        causation_id=causation_id,
        after=_proyectar,
    )


Decidir = Callable[[str, Caso, Stream, Sequence[Miembro]], Sequence[DomainEvent]]


async def aplicar_lote(
    conn: AsyncConnection, familia_ids: Sequence[str], decidir: Decidir, *, actor: str
) -> dict[str, Applied[Caso]]:
    """Many cases' commands in the caller's transaction, in a constant number of round trips.

    `decidir(familia, case, stream, members)` answers each case's new events (pure; it records
    its own refusals; `stream` is the case's version and events as read). All cases are read at
    once, their events appended in one guarded statement (a lost race anywhere is a
    ConcurrencyConflict for the whole batch) and their summaries updated in one more. Answers
    the Applied of each case that got events.
    """
    cargados = await casos.load_streams(conn, familia_ids)
    roster = await queries.miembros_de(conn, familia_ids)
    nuevos = {
        fid: list(decidir(fid, caso, leido, roster.get(fid, [])))
        for fid, (caso, leido) in cargados.items()
    }
    versiones = await store.append_many(
        conn,
        casos.stream_type,
        [(fid, cargados[fid][1].version, eventos) for fid, eventos in nuevos.items()],
        actor=actor,
    )
    aplicados = {
        fid: Applied(caso, casos.evolve_from(nuevos[fid], caso), v, nuevos[fid])
        for fid, v in versiones.items()
        for caso in [cargados[fid][0]]
    }
    await queries.proyectar_casos(conn, [_resumen(a) for a in aplicados.values()])
    return aplicados


async def ejecutar(
    srv: Servicios,
    familia_id: str,
    comando: Comando | Callable[[Sequence[Any]], Comando],
    *,
    actor: str,
    expected: int | None = None,
) -> Applied[Caso]:
    return await retrying(
        srv.engine,
        lambda conn: aplicar(conn, familia_id, comando, actor=actor, expected=expected),
        expected=expected,
    )


async def caso(conn: AsyncConnection, familia_id: str) -> tuple[Caso, int]:
    return await casos.load(conn, familia_id)


__all__ = ["Servicios", "aplicar", "aplicar_lote", "caso", "casos", "ejecutar", "given", "store"]
