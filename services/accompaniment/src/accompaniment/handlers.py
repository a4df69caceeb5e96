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
from juntos_events.store import EventStore
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from accompaniment import domain, queries
from accompaniment.domain import Caso, Comando
from accompaniment.events import VisitaRegistrada, events

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


async def _proyectar(conn: AsyncConnection, aplicado: Applied[Caso]) -> None:
    visitas = [e.fecha for e in aplicado.events if isinstance(e, VisitaRegistrada)]
    await queries.proyectar_caso(conn, aplicado.after, aplicado.version, max(visitas, default=None))


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


__all__ = ["Servicios", "aplicar", "caso", "casos", "ejecutar", "given", "store"]
