"""The command loop every service runs: load a stream, fold it, decide, append.

Services keep their domain pure (`fold`, `decide`) and their side effects in an `after` hook
(read models, other streams), all in the caller's transaction. `retrying` reruns a command on a
lost race when the caller did not name the version it saw; a caller that did (If-Match, an
offline device) gets `StaleVersion` instead: decisions are never made on data nobody saw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from juntos_events.events import DomainEvent
from juntos_events.store import ConcurrencyConflict, EventStore

S = TypeVar("S")
C = TypeVar("C")
R = TypeVar("R")


class StaleVersion(Exception):
    """The caller's expected version is not the stream's current one."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the stream is at version {actual}, not {expected}: reload and retry")
        self.expected, self.actual = expected, actual


@dataclass(frozen=True)
class Applied(Generic[S]):
    before: S
    after: S
    version: int
    events: Sequence[DomainEvent]


@dataclass(frozen=True)
class Aggregate(Generic[S, C]):
    """How to rebuild and command one kind of stream."""

    store: EventStore
    stream_type: str
    fold: Callable[[Iterable[DomainEvent]], S]
    decide: Callable[[S, C], list[DomainEvent]]
    evolve_from: Callable[[Sequence[DomainEvent], S], S]

    async def load(self, conn: AsyncConnection, stream_id: str) -> tuple[S, int]:
        stream = await self.store.load(conn, stream_id)
        return self.fold(r.event for r in stream.events), stream.version

    async def apply(
        self,
        conn: AsyncConnection,
        stream_id: str,
        build: Callable[[AsyncConnection, S], Awaitable[C]],
        *,
        actor: str,
        expected: int | None = None,
        causation_id: str | None = None,
        after: Callable[[AsyncConnection, Applied[S]], Awaitable[None]] | None = None,
    ) -> Applied[S]:
        """One command inside the caller's transaction; `after` runs only if events were added."""
        state, version = await self.load(conn, stream_id)
        if expected is not None and expected != version:
            raise StaleVersion(expected, version)
        new = self.decide(state, await build(conn, state))
        if not new:
            return Applied(state, state, version, [])
        version = await self.store.append(
            conn, stream_id, self.stream_type, version, new, actor=actor, causation_id=causation_id
        )
        applied = Applied(state, self.evolve_from(new, state), version, new)
        if after is not None:
            await after(conn, applied)
        return applied


def given(command: C) -> Callable[[AsyncConnection, object], Awaitable[C]]:
    """A `build` for commands that need nothing from the database."""

    async def build(conn: AsyncConnection, state: object) -> C:
        return command

    return build


async def retrying(
    engine: AsyncEngine,
    run: Callable[[AsyncConnection], Awaitable[R]],
    *,
    expected: int | None = None,
    attempts: int = 5,
) -> R:
    """`run` in its own transaction, again on a lost race unless an expected version was given."""
    for attempt in range(attempts):
        try:
            async with engine.begin() as conn:
                return await run(conn)
        except ConcurrencyConflict as conflict:
            if expected is not None:
                raise StaleVersion(expected, conflict.actual or expected + 1) from None
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
