"""The command loop every service runs: load a stream, fold it, decide, append.

Services keep their domain pure (`fold`, `decide`) and their side effects in an `after` hook
(read models, other streams), all in the caller's transaction. `retrying` reruns a command on a
lost race when the caller did not name the version it saw; a caller that did (If-Match, an
offline device) gets `StaleVersion` instead: decisions are never made on data nobody saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from juntos_events.events import DomainEvent
from juntos_events.store import ConcurrencyConflict, EventStore, Snapshot, Stream

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
class Step(Generic[S]):
    """One command of a run on one stream (`apply_steps`): its new events from the stream's state
    as the run's earlier steps left it (pure; a step that refuses answers no events and records
    why itself), and what caused it (a consumed event's id)."""

    stream_id: str
    decide: Callable[[S], Sequence[DomainEvent]]
    cause: str | None = None


@dataclass(frozen=True)
class Snapshots(Generic[S]):
    """How an aggregate keeps its streams' states, so that loading a long stream reads its
    last snapshot and the events after it instead of every event since it began.

    `schema` names the state's shape: change it whenever `dump`'s output changes, and the old
    snapshots are ignored (those streams are read whole, and snapshotted again as they grow).
    A snapshot is taken, in the transaction that appended, once a stream has `every` events
    past its last one.
    """

    schema: str
    dump: Callable[[S], dict[str, Any]]
    load: Callable[[dict[str, Any]], S]
    every: int = 20


@dataclass(frozen=True)
class Aggregate(Generic[S, C]):
    """How to rebuild and command one kind of stream."""

    store: EventStore
    stream_type: str
    fold: Callable[[Iterable[DomainEvent]], S]
    decide: Callable[[S, C], list[DomainEvent]]
    evolve_from: Callable[[Sequence[DomainEvent], S], S]
    snapshots: Snapshots[S] | None = None

    async def load(self, conn: AsyncConnection, stream_id: str) -> tuple[S, int]:
        state, stream = (await self.load_streams(conn, [stream_id]))[stream_id]
        return state, stream.version

    async def load_many(
        self, conn: AsyncConnection, stream_ids: Sequence[str]
    ) -> dict[str, tuple[S, int]]:
        """`load` of many streams of this kind in one read (bulk commands)."""
        loaded = await self.load_streams(conn, stream_ids)
        return {stream_id: (state, stream.version) for stream_id, (state, stream) in loaded.items()}

    async def load_streams(
        self, conn: AsyncConnection, stream_ids: Sequence[str]
    ) -> dict[str, tuple[S, Stream]]:
        """`load_many`, keeping each stream as read (its version, its snapshot if it was usable,
        the events after it): what `keep_snapshots` needs after appending."""
        streams = await self.store.load_many(conn, stream_ids)
        for stream_id, stream in streams.items():
            if stream.snapshot is not None and not self._usable(stream.snapshot):
                events = await self.store.read(conn, stream_id)
                streams[stream_id] = Stream(stream_id, stream.version, events)
        return {stream_id: (self._state(stream), stream) for stream_id, stream in streams.items()}

    def _usable(self, snapshot: Snapshot) -> bool:
        return self.snapshots is not None and snapshot.state.get("schema") == self.snapshots.schema

    def _state(self, stream: Stream) -> S:
        events = [r.event for r in stream.events]
        if stream.snapshot is None or self.snapshots is None:
            return self.fold(events)
        return self.evolve_from(events, self.snapshots.load(stream.snapshot.state["state"]))

    async def keep_snapshots(
        self,
        conn: AsyncConnection,
        loaded: Mapping[str, tuple[S, Stream]],
        after: Mapping[str, tuple[S, int]],
    ) -> None:
        """Snapshot each stream (as `load_streams` read it) whose new state and version
        (`after`) are `every` events past its last snapshot; one statement for them all, in the
        caller's transaction."""
        policy = self.snapshots
        if policy is None:
            return
        taken = []
        for stream_id, (state, version) in after.items():
            snapshot = loaded[stream_id][1].snapshot  # usable: `load_streams` drops the others
            since = snapshot.version if snapshot is not None else 0
            if version - since >= policy.every:
                state_json = {"schema": policy.schema, "state": policy.dump(state)}
                taken.append((stream_id, version, state_json))
        await self.store.save_snapshots(conn, taken)

    async def apply_many(
        self,
        conn: AsyncConnection,
        stream_ids: Sequence[str],
        decide: Callable[[Mapping[str, S]], Mapping[str, Sequence[DomainEvent]]],
        *,
        actor: str,
        causation_id: str | None = None,
        after: Callable[[AsyncConnection, Sequence[Applied[S]]], Awaitable[None]] | None = None,
    ) -> dict[str, Applied[S]]:
        """One command over many streams of this kind, inside the caller's transaction.

        One read of every stream, `decide` (pure: each stream's state → its new events; it may
        refuse the whole command), one guarded append of them all: all or nothing, and each
        stream's version still guards it (a lost race is a ConcurrencyConflict, as in `apply`).
        Answers each stream's Applied (by stream id); `after` runs once, with them all,
        if any stream got events.
        """
        streams = await self.load_streams(conn, stream_ids)
        new = decide({stream_id: state for stream_id, (state, _) in streams.items()})
        versions = await self.store.append_many(
            conn,
            self.stream_type,
            [
                (stream_id, streams[stream_id][1].version, list(events))
                for stream_id, events in new.items()
            ],
            actor=actor,
            causation_id=causation_id,
        )
        applied = {}
        for stream_id, (state, stream) in streams.items():
            events = list(new.get(stream_id, ()))
            after_state = self.evolve_from(events, state) if events else state
            applied[stream_id] = Applied(
                state, after_state, versions.get(stream_id, stream.version), events
            )
        await self.keep_snapshots(
            conn,
            streams,
            {stream_id: (applied[stream_id].after, v) for stream_id, v in versions.items()},
        )
        if after is not None and versions:
            await after(conn, list(applied.values()))
        return applied

    async def apply_steps(
        self,
        conn: AsyncConnection,
        steps: Sequence[Step[S]],
        *,
        actor: str,
        after: Callable[[AsyncConnection, Sequence[Applied[S]]], Awaitable[None]] | None = None,
        loaded: Callable[[AsyncConnection, Sequence[str]], Awaitable[None]] | None = None,
    ) -> dict[str, Applied[S]]:
        """A run of commands, in order, several on one stream if so, inside the caller's
        transaction: what they give one at a time, in the round trips of one (`apply_many`).

        One read of every stream, each step decided on its stream's state after the steps before
        it, one guarded append of all the events (each with its step's cause), then `after` once
        with every stream that got events. Answers those streams' Applied (by stream id).
        `loaded(conn, stream_ids)` runs between the read and the first decision: the place for
        a read the steps decide with that changes together with the streams (read after them, a
        change that commits in between moves a stream too, and the guarded append refuses).
        """
        stream_ids = list(dict.fromkeys(step.stream_id for step in steps))
        streams = await self.load_streams(conn, stream_ids)
        if loaded is not None:
            await loaded(conn, stream_ids)
        states = {stream_id: state for stream_id, (state, _) in streams.items()}
        new: dict[str, list[DomainEvent]] = {}
        causes: dict[str, list[str | None]] = {}
        for step in steps:
            events = list(step.decide(states[step.stream_id]))
            if events:
                states[step.stream_id] = self.evolve_from(events, states[step.stream_id])
                new.setdefault(step.stream_id, []).extend(events)
                causes.setdefault(step.stream_id, []).extend([step.cause] * len(events))
        versions = await self.store.append_many(
            conn,
            self.stream_type,
            [
                (stream_id, streams[stream_id][1].version, events)
                for stream_id, events in new.items()
            ],
            actor=actor,
            causation_ids=causes,
        )
        applied = {
            stream_id: Applied(streams[stream_id][0], states[stream_id], version, new[stream_id])
            for stream_id, version in versions.items()
        }
        await self.keep_snapshots(
            conn, streams, {stream_id: (a.after, a.version) for stream_id, a in applied.items()}
        )
        if after is not None and applied:
            await after(conn, list(applied.values()))
        return applied

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
        state, stream = (await self.load_streams(conn, [stream_id]))[stream_id]
        version = stream.version
        if expected is not None and expected != version:
            raise StaleVersion(expected, version)
        new = self.decide(state, await build(conn, state))
        if not new:
            return Applied(state, state, version, [])
        version = await self.store.append(
            conn, stream_id, self.stream_type, version, new, actor=actor, causation_id=causation_id
        )
        applied = Applied(state, self.evolve_from(new, state), version, new)
        await self.keep_snapshots(
            conn, {stream_id: (state, stream)}, {stream_id: (applied.after, version)}
        )
        if after is not None:
            await after(conn, applied)
        return applied


def given(command: C) -> Callable[[AsyncConnection, object], Awaitable[C]]:
    """A `build` for commands that need nothing from the database."""

    async def build(conn: AsyncConnection, state: object) -> C:
        return command

    return build


async def together_or_alone(
    engine: AsyncEngine,
    streams: Sequence[str],
    together: Callable[[AsyncConnection, Mapping[str, int]], Awaitable[Mapping[int, R]]],
    alone: Callable[[int], Awaitable[R]],
) -> list[R]:
    """The results of a batch's independent items (item n is about `streams[n]`), in order.

    The items whose stream appears once in the batch go to `together`, in one transaction
    (stream → position; it answers results by position and may leave items out); the others
    (several items of one stream must see each other, in order), those left out, and every item
    if that transaction lost a race (`ConcurrencyConflict`: nothing of it was written) go to
    `alone(n)` afterwards, one by one, in the batch's order.
    """
    times = Counter(streams)
    once = {stream: n for n, stream in enumerate(streams) if times[stream] == 1}
    done: Mapping[int, R] = {}
    if once:
        try:
            async with engine.begin() as conn:
                done = await together(conn, once)
        except ConcurrencyConflict:
            done = {}
    return [done[n] if n in done else await alone(n) for n in range(len(streams))]


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
