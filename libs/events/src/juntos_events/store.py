"""Event store on PostgreSQL with the transactional outbox.

`append` runs in the caller's transaction: the events and their outbox rows commit or vanish
together with whatever else the command changed. Optimistic concurrency is checked twice: the
insert only happens if the stream is still at `expected_version`, and the unique key
(stream_id, version) stops the writer that loses a race between that check and its insert.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate
from sqlalchemy import Text, and_, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid_utils.compat import uuid7

from juntos_events import metrics
from juntos_events.envelope import TRACEPARENT, encode
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.schema import events, snapshots

LANES = 16  # the outbox is split by key hash so relays can share work without reordering a key


class ConcurrencyConflict(Exception):
    """The stream moved on since the writer read it: reload, decide again, or show the conflict."""

    def __init__(self, stream_id: str, expected: int, actual: int | None = None) -> None:
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        where = f", it is at {actual}" if actual is not None else ""
        super().__init__(f"stream {stream_id} was expected at version {expected}{where}")


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: the upcast domain event plus where and when it was recorded."""

    stream_id: str
    version: int
    event_id: uuid.UUID
    global_position: int
    occurred_at: datetime
    metadata: dict[str, Any]
    event: DomainEvent


@dataclass(frozen=True)
class Snapshot:
    version: int
    state: dict[str, Any]


@dataclass(frozen=True)
class Stream:
    """What a handler needs to decide: the events (after any snapshot) and the current version."""

    stream_id: str
    version: int
    events: list[RecordedEvent] = field(default_factory=list)
    snapshot: Snapshot | None = None


_RECORDED = (
    events.c.global_position,
    events.c.stream_id,
    events.c.version,
    events.c.event_id,
    events.c.event_type,
    events.c.schema_version,
    cast(events.c.data, Text).label("data"),
    events.c.metadata,
    events.c.occurred_at,
)
"""What a read of events selects: the data as text, which the event's model parses itself."""


def _texts(values: Sequence[str]) -> Any:
    """An array parameter: one statement (and one prepared plan) for any number of values."""
    return bindparam("texts", list(values), type_=ARRAY(Text))


def _ids(values: Sequence[uuid.UUID]) -> Any:
    return bindparam("ids", list(values), type_=ARRAY(PG_UUID(as_uuid=True)))


def lane_of(key: str) -> int:
    """Stable across processes (unlike hash()), so every relay agrees on a key's lane."""
    return zlib.crc32(key.encode()) % LANES


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


# One round trip per command: the guarded insert of the events and their outbox rows, as plain
# SQL so that asyncpg prepares it once per connection. The guard compares the stream's current
# version with the expected one; if it differs nothing is inserted and the count is 0. Private
# events (kept by the service for itself) get no outbox row.
_APPEND = """
WITH new_events AS (
    INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version,
                        data, metadata, occurred_at)
    SELECT $1, $2, $3 + e.n, e.event_id, e.event_type, e.schema_version, e.data, $8::jsonb, $9
    FROM unnest($4::uuid[], $5::text[], $6::int[], $7::jsonb[])
         WITH ORDINALITY AS e(event_id, event_type, schema_version, data, n)
    WHERE (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1) = $3
    RETURNING event_id
), published AS (
    INSERT INTO outbox (lane, event_id, topic, key, headers, payload, traceparent)
    SELECT $10, o.event_id, $11, $1, o.headers, o.payload, $14
    FROM unnest($15::uuid[], $12::jsonb[], $13::bytea[]) AS o(event_id, headers, payload)
    WHERE o.event_id IN (SELECT event_id FROM new_events)
    RETURNING event_id
)
SELECT count(*) FROM new_events
"""


# Many streams in one round trip (bulk commands, imports): each stream is written only if it is
# still at its expected version (`guard`, one index probe per stream); the caller compares the
# count with what it sent and voids the transaction if a stream moved. The unique key stops a
# writer that loses a race between the check and the insert, as in _APPEND.
# Each event carries its own cause (one call may append what several events caused).
_APPEND_MANY = """
WITH guard AS (
    SELECT s.stream_id FROM unnest($4::text[], $5::int[]) AS s(stream_id, expected)
    WHERE (SELECT coalesce(max(x.version), 0) FROM events x WHERE x.stream_id = s.stream_id)
          = s.expected
), new_events AS (
    INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version,
                        data, metadata, occurred_at)
    SELECT e.stream_id, $1, e.version, e.event_id, e.event_type, e.schema_version, e.data,
           CASE WHEN e.causation_id IS NULL THEN $2::jsonb
                ELSE $2::jsonb || jsonb_build_object('causation_id', e.causation_id) END, $3
    FROM unnest($6::text[], $7::int[], $8::uuid[], $9::text[], $10::int[], $11::jsonb[],
                $19::text[])
         AS e(stream_id, version, event_id, event_type, schema_version, data, causation_id)
    WHERE e.stream_id IN (SELECT stream_id FROM guard)
    RETURNING event_id
), published AS (
    INSERT INTO outbox (lane, event_id, topic, key, headers, payload, traceparent)
    SELECT o.lane, o.event_id, $12, o.key, o.headers, o.payload, $13
    FROM unnest($14::smallint[], $15::uuid[], $16::text[], $17::jsonb[], $18::bytea[])
         AS o(lane, event_id, key, headers, payload)
    WHERE o.event_id IN (SELECT event_id FROM new_events)
    RETURNING event_id
)
SELECT count(*) FROM new_events
"""


@dataclass
class _Rows:
    """Column arrays of events about to be stored, and of the outbox rows of the public ones."""

    streams: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    ids: list[uuid.UUID] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    schema_versions: list[int] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    lanes: list[int] = field(default_factory=list)
    published: list[uuid.UUID] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)

    def add(
        self,
        registry: EventRegistry,
        stream_id: str,
        version: int,
        event: DomainEvent,
        occurred_at: datetime,
    ) -> None:
        # time-ordered (UUIDv7): every index keyed by event id (events, the consumers' inboxes,
        # reporting's `aplicado`) grows at its right edge instead of at a random page
        event_id = uuid7()
        message = encode(
            registry, event, event_id=str(event_id), stream_id=stream_id, occurred_at=occurred_at
        )
        self.streams.append(stream_id)
        self.versions.append(version)
        self.ids.append(event_id)
        self.types.append(event.event_type)
        self.schema_versions.append(event.schema_version)
        self.data.append(message.value.decode())
        if not event.private:
            self.lanes.append(lane_of(stream_id))
            self.published.append(event_id)
            self.keys.append(stream_id)
            self.headers.append(json.dumps({k: v.decode() for k, v in message.headers.items()}))
            self.payloads.append(message.value)


def _metadata(actor: str, correlation_id: str | None, causation_id: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"actor": actor}
    if correlation_id:
        meta["correlation_id"] = correlation_id
    if causation_id:
        meta["causation_id"] = causation_id
    traceparent = current_traceparent()
    if traceparent:
        meta["traceparent"] = traceparent
    return meta


@dataclass
class EventStore:
    """The event store of one service, bound to the registry of the events it publishes."""

    registry: EventRegistry

    async def append(
        self,
        conn: AsyncConnection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        new_events: Sequence[DomainEvent],
        *,
        actor: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> int:
        """Append `new_events` after `expected_version` (0: new stream); return the new version.

        Must run inside a transaction the caller commits. Raises ConcurrencyConflict when the
        stream is not at `expected_version`.
        """
        if not new_events:
            return expected_version
        occurred_at = occurred_at or datetime.now(UTC)
        meta = _metadata(actor, correlation_id, causation_id)
        rows = _Rows()
        for n, event in enumerate(new_events, start=1):
            rows.add(self.registry, stream_id, expected_version + n, event, occurred_at)
        params = (
            stream_id,
            stream_type,
            expected_version,
            rows.ids,
            rows.types,
            rows.schema_versions,
            rows.data,
            json.dumps(meta),
            occurred_at,
            lane_of(stream_id),
            self.registry.topic,
            rows.headers,
            rows.payloads,
            meta.get("traceparent"),
            rows.published,
        )
        try:
            result = await conn.exec_driver_sql(_APPEND, params)
        except IntegrityError as exc:  # lost the race after the check; the transaction is void
            raise ConcurrencyConflict(stream_id, expected_version) from exc
        if result.scalar_one() != len(new_events):
            actual = await self.version(conn, stream_id)
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        for event in new_events:
            metrics.EVENTS_APPENDED.labels(self.registry.service, event.event_type).inc()
        return expected_version + len(new_events)

    async def start_streams(
        self,
        conn: AsyncConnection,
        stream_type: str,
        streams: Sequence[tuple[str, Sequence[DomainEvent]]],
        *,
        actor: str,
        occurred_at: datetime | None = None,
    ) -> None:
        """Create many new streams in one statement (bulk imports).

        Raises ConcurrencyConflict if any of them already exists; the caller's transaction is
        then void (roll it back: nothing of it may commit).
        """
        await self.append_many(
            conn,
            stream_type,
            [(stream_id, 0, new_events) for stream_id, new_events in streams],
            actor=actor,
            occurred_at=occurred_at,
        )

    async def append_many(
        self,
        conn: AsyncConnection,
        stream_type: str,
        streams: Sequence[tuple[str, int, Sequence[DomainEvent]]],
        *,
        actor: str,
        causation_id: str | None = None,
        causation_ids: Mapping[str, Sequence[str | None]] | None = None,
        occurred_at: datetime | None = None,
    ) -> dict[str, int]:
        """Append to many streams of one type in one statement: (stream, expected, events).

        `causation_ids[stream]`, beside a stream's events, names each one's cause (one call may
        append what several events caused: a consumer's run); the others get `causation_id`.
        Returns each stream's new version. All or nothing: if any stream is not at its expected
        version, raises ConcurrencyConflict (naming the first such stream) and the caller's
        transaction is void (roll it back; `retrying` does). Rows go in in stream-id order, so
        two bulk writers of overlapping streams meet them in the same order (a deadlock
        PostgreSQL would still break is the caller's to retry, as for any statement).
        """
        streams = sorted((s for s in streams if s[2]), key=lambda s: s[0])
        if not streams:
            return {}
        if len({stream_id for stream_id, _, _ in streams}) != len(streams):
            raise ValueError("a stream appears twice in one append_many")
        occurred_at = occurred_at or datetime.now(UTC)
        meta = _metadata(actor, None, None)
        rows, causes = _Rows(), []
        for stream_id, expected, new_events in streams:
            own = (causation_ids or {}).get(stream_id)
            if own is not None and len(own) != len(new_events):
                raise ValueError(f"{len(own)} causes for {len(new_events)} events of {stream_id}")
            causes += own or [causation_id] * len(new_events)
            for n, event in enumerate(new_events, start=1):
                rows.add(self.registry, stream_id, expected + n, event, occurred_at)
        params = (
            stream_type,
            json.dumps(meta),
            occurred_at,
            [stream_id for stream_id, _, _ in streams],
            [expected for _, expected, _ in streams],
            rows.streams,
            rows.versions,
            rows.ids,
            rows.types,
            rows.schema_versions,
            rows.data,
            self.registry.topic,
            meta.get("traceparent"),
            rows.lanes,
            rows.published,
            rows.keys,
            rows.headers,
            rows.payloads,
            causes,
        )
        try:
            result = await conn.exec_driver_sql(_APPEND_MANY, params)
        except IntegrityError as exc:  # lost a race after the check
            raise ConcurrencyConflict(streams[0][0], streams[0][1]) from exc
        if result.scalar_one() != len(rows.ids):
            written = set(
                (
                    await conn.execute(
                        select(events.c.stream_id).where(events.c.event_id == any_(_ids(rows.ids)))
                    )
                ).scalars()
            )
            stream_id, expected, _ = next(s for s in streams if s[0] not in written)
            raise ConcurrencyConflict(stream_id, expected, await self.version(conn, stream_id))
        for _, _, new_events in streams:
            for event in new_events:
                metrics.EVENTS_APPENDED.labels(self.registry.service, event.event_type).inc()
        return {stream_id: expected + len(new) for stream_id, expected, new in streams}

    async def version(self, conn: AsyncConnection, stream_id: str) -> int:
        """The stream's current version (0: no events)."""
        return (await self.versions(conn, [stream_id]))[stream_id]

    async def versions(self, conn: AsyncConnection, stream_ids: Sequence[str]) -> dict[str, int]:
        """`version` of many streams in one statement (0 for a stream with no events)."""
        ids = list(dict.fromkeys(stream_ids))
        if not ids:
            return {}
        found = {
            row.stream_id: row.version
            for row in await conn.execute(
                select(events.c.stream_id, func.max(events.c.version).label("version"))
                .where(events.c.stream_id == any_(_texts(ids)))
                .group_by(events.c.stream_id)
            )
        }
        return {stream_id: found.get(stream_id, 0) for stream_id in ids}

    async def read(
        self, conn: AsyncConnection, stream_id: str, *, after_version: int = 0
    ) -> list[RecordedEvent]:
        result = await conn.execute(
            select(*_RECORDED)
            .where(and_(events.c.stream_id == stream_id, events.c.version > after_version))
            .order_by(events.c.version)
        )
        return [self._recorded(row) for row in result]

    def _recorded(self, row: Any) -> RecordedEvent:
        return RecordedEvent(
            stream_id=row.stream_id,
            version=row.version,
            event_id=row.event_id,
            global_position=row.global_position,
            occurred_at=row.occurred_at,
            metadata=row.metadata,
            event=self.registry.load_json(row.event_type, row.schema_version, row.data),
        )

    async def load(self, conn: AsyncConnection, stream_id: str) -> Stream:
        """Latest snapshot (if any) plus the events after it."""
        return (await self.load_many(conn, [stream_id]))[stream_id]

    async def load_many(
        self, conn: AsyncConnection, stream_ids: Sequence[str]
    ) -> dict[str, Stream]:
        """`load` of many streams in two round trips whatever their number (bulk commands).

        Every stream asked for is in the answer; one with no events is at version 0.
        """
        ids = list(dict.fromkeys(stream_ids))
        if not ids:
            return {}
        taken = {
            row.stream_id: Snapshot(row.version, row.state)
            for row in await conn.execute(
                select(snapshots.c.stream_id, snapshots.c.version, snapshots.c.state).where(
                    snapshots.c.stream_id == any_(_texts(ids))
                )
            )
        }
        after = func.coalesce(
            select(snapshots.c.version)
            .where(snapshots.c.stream_id == events.c.stream_id)
            .scalar_subquery(),
            0,
        )
        recorded: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in ids}
        result = await conn.execute(
            select(*_RECORDED)
            .where(and_(events.c.stream_id == any_(_texts(ids)), events.c.version > after))
            .order_by(events.c.stream_id, events.c.version)
        )
        for row in result:
            recorded[row.stream_id].append(self._recorded(row))
        loaded = {}
        for stream_id, stream_events in recorded.items():
            snapshot = taken.get(stream_id)
            version = (
                stream_events[-1].version
                if stream_events
                else (snapshot.version if snapshot else 0)
            )
            loaded[stream_id] = Stream(stream_id, version, stream_events, snapshot)
        return loaded

    async def save_snapshot(
        self, conn: AsyncConnection, stream_id: str, version: int, state: dict[str, Any]
    ) -> None:
        """Keep the newest snapshot only; an older one never replaces a newer one."""
        await self.save_snapshots(conn, [(stream_id, version, state)])

    async def save_snapshots(
        self, conn: AsyncConnection, taken: Sequence[tuple[str, int, dict[str, Any]]]
    ) -> None:
        """Snapshots of many streams (stream id, version, state) in one statement; each keeps
        its newest (an older one never replaces a newer one)."""
        if not taken:
            return
        statement = pg_insert(snapshots).values(
            [{"stream_id": s, "version": v, "state": state} for s, v, state in taken]
        )
        statement = statement.on_conflict_do_update(
            index_elements=[snapshots.c.stream_id],
            set_={"version": statement.excluded.version, "state": statement.excluded.state},
            where=snapshots.c.version < statement.excluded.version,
        )
        await conn.execute(statement)
