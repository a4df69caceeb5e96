"""Territorial commands: load the stream, decide, append with the outbox, update read models.

Everything a command changes (events, outbox rows, the read models and the capacity map)
commits in one transaction. A writer that lost a race is retried on fresh state, unless the
caller named the version it saw (If-Match): then it gets a conflict, never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from juntos_catalogo import divipola
from juntos_events.events import DomainEvent
from juntos_events.store import ConcurrencyConflict, EventStore, RecordedEvent
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from territorial import queries
from territorial.domain import Agregado, catalogo
from territorial.events import events

COLOMBIA = ZoneInfo("America/Bogota")
INTENTOS = 5
CATALOGO_ACTOR = "sistema:catalogo"
_BLOQUEO_CATALOGO = 7432  # one catalogue publication at a time, whatever the replicas

store = EventStore(events)
S = TypeVar("S")


def hoy_en_colombia() -> date:
    """Program dates (sessions, surveys, follow-ups) are Colombian calendar days."""
    return datetime.now(COLOMBIA).date()


class VersionDesactualizada(Exception):
    """The caller's If-Match names a version the aggregate has moved past."""

    def __init__(self, esperada: int, actual: int) -> None:
        super().__init__(f"the record is at version {actual}, not {esperada}: reload and retry")
        self.esperada, self.actual = esperada, actual


@dataclass(frozen=True)
class Resultado(Generic[S]):
    estado: S
    version: int
    eventos: Sequence[DomainEvent]


Construir = Callable[[AsyncConnection, Any], Awaitable[Any]]
"""Builds the command from the current state, with whatever it must look up first."""


def comando(c: Any) -> Construir:
    """A `Construir` for commands that need nothing from the database."""

    async def construir(conn: AsyncConnection, estado: Any) -> Any:
        return c

    return construir


async def historia(conn: AsyncConnection, agregado: Agregado[S], clave: str) -> list[RecordedEvent]:
    return await store.read(conn, agregado.stream(clave))


async def cargar(conn: AsyncConnection, agregado: Agregado[S], clave: str) -> tuple[S, int]:
    stream = await store.load(conn, agregado.stream(clave))
    return agregado.fold(r.event for r in stream.events), stream.version


async def aplicar(
    conn: AsyncConnection,
    agregado: Agregado[S],
    clave: str,
    construir: Construir,
    *,
    actor: str,
    if_match: int | None = None,
    causation_id: str | None = None,
) -> Resultado[S]:
    """One command on one aggregate inside the caller's transaction."""
    estado, version = await cargar(conn, agregado, clave)
    if if_match is not None and if_match != version:
        raise VersionDesactualizada(if_match, version)
    nuevos = agregado.decide(estado, await construir(conn, estado))
    if not nuevos:
        return Resultado(estado, version, [])
    despues = agregado.fold(nuevos, estado)
    version = await store.append(
        conn,
        agregado.stream(clave),
        agregado.tipo,
        version,
        nuevos,
        actor=actor,
        causation_id=causation_id,
    )
    await queries.proyectar(conn, agregado.tipo, despues, version, nuevos)
    return Resultado(despues, version, nuevos)


async def ejecutar(
    engine: AsyncEngine,
    agregado: Agregado[S],
    clave: str,
    construir: Construir,
    *,
    actor: str,
    if_match: int | None = None,
) -> Resultado[S]:
    """`aplicar` in its own transaction, retried on a lost race when no If-Match was given.

    A read model's unique key (a municipality claimed by two microregions at once) is a lost
    race too: the retry decides again on what the winner committed."""
    for intento in range(INTENTOS):
        try:
            async with engine.begin() as conn:
                return await aplicar(
                    conn, agregado, clave, construir, actor=actor, if_match=if_match
                )
        except ConcurrencyConflict as conflict:
            if if_match is not None:
                raise VersionDesactualizada(if_match, conflict.actual or if_match + 1) from None
            if intento == INTENTOS - 1:
                raise
        except IntegrityError:
            if intento == INTENTOS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# --- the catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class Publicacion:
    departamentos: int
    municipios: int


async def publicar_catalogo(engine: AsyncEngine) -> Publicacion:
    """Publish every DIVIPOLA entry the store does not hold yet (or holds with another name).

    Idempotent: a second run appends nothing. One transaction, so a crash publishes nothing
    and the next run starts over; an advisory lock keeps concurrent replicas from racing."""
    deseadas = catalogo.entradas(divipola())
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BLOQUEO_CATALOGO})
        publicados = await queries.catalogo_publicado(conn, [e.stream for e in deseadas])
        pendientes = catalogo.pendientes(deseadas, publicados)
        for p in pendientes:
            await store.append(
                conn,
                p.entrada.stream,
                p.entrada.tipo,
                p.version,
                [p.entrada.evento],
                actor=CATALOGO_ACTOR,
            )
    tipos = [p.entrada.tipo for p in pendientes]
    return Publicacion(tipos.count(catalogo.DEPARTAMENTO), tipos.count(catalogo.MUNICIPIO))
