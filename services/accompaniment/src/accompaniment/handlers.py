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

from juntos_events.commands import Aggregate, Applied, Step, given, retrying
from juntos_events.events import DomainEvent
from juntos_events.store import EventStore
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from accompaniment import domain, queries, snapshots
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
    snapshots=snapshots.casos,
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


Decidir = Callable[[str, Caso, Sequence[Miembro]], Sequence[DomainEvent]]


@dataclass(frozen=True)
class Paso:
    """One command of a batch on a family's case, what caused it (an event's id) and the roster
    change that came with it (a member registered or corrected: upserted before deciding)."""

    familia_id: str
    decidir: Decidir
    causa: str | None = None
    integrante: Miembro | None = None


def mandar(comando: Comando | Callable[[Sequence[Miembro]], Comando]) -> Decidir:
    """A `Decidir` that sends `comando` (a callable gets the family's current members)."""
    return lambda fid, caso, miembros: domain.decide(
        caso, comando(miembros) if callable(comando) else comando
    )


async def aplicar_lote(
    conn: AsyncConnection, pasos: Sequence[Paso], *, actor: str
) -> dict[str, Applied[Caso]]:
    """Many commands on cases in the caller's transaction, in a constant number of round trips.

    Each `decidir(familia, case, members)` answers its new events (pure; it records its own
    refusals) on the case and roster as the batch's earlier steps left them, so a batch gives
    what its steps give one at a time, in order (`Aggregate.apply_steps`: the cases read at
    once, from their snapshots, their events appended in one guarded statement, each with its
    step's cause; a lost race anywhere is a ConcurrencyConflict for the whole batch). The roster
    is read after the cases (a member change that commits in between moves its case too) and
    kept in memory; the summaries are updated in one more statement. Answers the Applied of
    each case that got events.
    """
    roster: dict[str, dict[str, Miembro]] = {}

    async def leer_roster(c: AsyncConnection, familia_ids: Sequence[str]) -> None:
        for fid, miembros in (await queries.miembros_de(c, list(familia_ids))).items():
            roster[fid] = {m.integrante_id: m for m in miembros}

    def paso_de(paso: Paso) -> Step[Caso]:
        def decidir(caso: Caso) -> Sequence[DomainEvent]:
            miembros = roster.setdefault(paso.familia_id, {})
            if paso.integrante is not None:
                miembros[paso.integrante.integrante_id] = paso.integrante
            return paso.decidir(paso.familia_id, caso, [miembros[i] for i in sorted(miembros)])

        return Step(paso.familia_id, decidir, paso.causa)

    async def proyectar(c: AsyncConnection, aplicados: Sequence[Applied[Caso]]) -> None:
        await queries.proyectar_casos(c, [_resumen(a) for a in aplicados])

    return await casos.apply_steps(
        conn, [paso_de(p) for p in pasos], actor=actor, after=proyectar, loaded=leer_roster
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


__all__ = [
    "Paso",
    "Servicios",
    "aplicar",
    "aplicar_lote",
    "caso",
    "casos",
    "ejecutar",
    "given",
    "store",
]
