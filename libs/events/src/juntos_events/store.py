"""Event store on PostgreSQL with the transactional outbox.

`append` runs in the caller's transaction: the events and their outbox rows commit or vanish
together with whatever else the command changed. Optimistic concurrency is checked twice: the
insert only happens if the stream is still at `expected_version`, and the unique key
(stream_id, version) stops the writer that loses a race between that check and its insert.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate
from sqlalchemy import Integer, and_, column, func, insert, literal, select, values
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.types import DateTime, Text

from juntos_events import metrics
from juntos_events.envelope import TRACEPARENT, encode
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.schema import events, outbox, snapshots

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


def lane_of(key: str) -> int:
    """Stable across processes (unlike hash()), so every relay agrees on a key's lane."""
    return zlib.crc32(key.encode()) % LANES


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


_NEW_EVENT_COLUMNS = (
    "stream_id",
    "stream_type",
    "version",
    "event_id",
    "event_type",
    "schema_version",
    "data",
    "metadata",
    "occurred_at",
)


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
        traceparent = current_traceparent()
        meta: dict[str, Any] = {"actor": actor}
        if correlation_id:
            meta["correlation_id"] = correlation_id
        if causation_id:
            meta["causation_id"] = causation_id
        if traceparent:
            meta["traceparent"] = traceparent

        rows, outbox_rows = [], []
        lane = lane_of(stream_id)
        for offset, event in enumerate(new_events, start=1):
            event_id = uuid.uuid4()
            rows.append(
                (
                    stream_id,
                    stream_type,
                    expected_version + offset,
                    event_id,
                    event.event_type,
                    event.schema_version,
                    event.model_dump(mode="json"),
                    meta,
                    occurred_at,
                )
            )
            message = encode(
                self.registry,
                event,
                event_id=str(event_id),
                stream_id=stream_id,
                occurred_at=occurred_at,
            )
            outbox_rows.append(
                {
                    "lane": lane,
                    "event_id": event_id,
                    "topic": self.registry.topic,
                    "key": stream_id,
                    "headers": {k: v.decode() for k, v in message.headers.items()},
                    "payload": message.value,
                    "traceparent": traceparent,
                }
            )

        await self._insert_if_at(conn, stream_id, expected_version, rows)
        await conn.execute(insert(outbox), outbox_rows)
        for event in new_events:
            metrics.EVENTS_APPENDED.labels(self.registry.service, event.event_type).inc()
        return expected_version + len(new_events)

    async def _insert_if_at(
        self, conn: AsyncConnection, stream_id: str, expected: int, rows: list[tuple[Any, ...]]
    ) -> None:
        source = values(
            *(
                _col("stream_id", Text),
                _col("stream_type", Text),
                _col("version", Integer),
                _col("event_id", UUID(as_uuid=True)),
                _col("event_type", Text),
                _col("schema_version", Integer),
                _col("data", JSONB),
                _col("metadata", JSONB),
                _col("occurred_at", DateTime(timezone=True)),
            ),
            name="new_events",
        ).data(rows)
        current = (
            select(func.coalesce(func.max(events.c.version), 0))
            .where(events.c.stream_id == stream_id)
            .scalar_subquery()
        )
        statement = (
            pg_insert(events)
            .from_select(_NEW_EVENT_COLUMNS, select(source).where(current == literal(expected)))
            .returning(events.c.global_position)
        )
        try:
            inserted = (await conn.execute(statement)).fetchall()
        except IntegrityError as exc:  # lost the race after the check; the transaction is void
            raise ConcurrencyConflict(stream_id, expected) from exc
        if len(inserted) != len(rows):
            actual = await self.version(conn, stream_id)
            raise ConcurrencyConflict(stream_id, expected, actual)

    async def version(self, conn: AsyncConnection, stream_id: str) -> int:
        result = await conn.execute(
            select(func.coalesce(func.max(events.c.version), 0)).where(
                events.c.stream_id == stream_id
            )
        )
        return int(result.scalar_one())

    async def read(
        self, conn: AsyncConnection, stream_id: str, *, after_version: int = 0
    ) -> list[RecordedEvent]:
        result = await conn.execute(
            select(events)
            .where(and_(events.c.stream_id == stream_id, events.c.version > after_version))
            .order_by(events.c.version)
        )
        return [
            RecordedEvent(
                stream_id=row.stream_id,
                version=row.version,
                event_id=row.event_id,
                global_position=row.global_position,
                occurred_at=row.occurred_at,
                metadata=row.metadata,
                event=self.registry.load(row.event_type, row.schema_version, row.data),
            )
            for row in result
        ]

    async def load(self, conn: AsyncConnection, stream_id: str) -> Stream:
        """Latest snapshot (if any) plus the events after it."""
        row = (
            await conn.execute(
                select(snapshots.c.version, snapshots.c.state).where(
                    snapshots.c.stream_id == stream_id
                )
            )
        ).first()
        snapshot = Snapshot(row.version, row.state) if row else None
        recorded = await self.read(
            conn, stream_id, after_version=snapshot.version if snapshot else 0
        )
        version = recorded[-1].version if recorded else (snapshot.version if snapshot else 0)
        return Stream(stream_id, version, recorded, snapshot)

    async def save_snapshot(
        self, conn: AsyncConnection, stream_id: str, version: int, state: dict[str, Any]
    ) -> None:
        """Keep the newest snapshot only; an older one never replaces a newer one."""
        statement = pg_insert(snapshots).values(stream_id=stream_id, version=version, state=state)
        statement = statement.on_conflict_do_update(
            index_elements=[snapshots.c.stream_id],
            set_={"version": statement.excluded.version, "state": statement.excluded.state},
            where=snapshots.c.version < statement.excluded.version,
        )
        await conn.execute(statement)


def _col(name: str, type_: Any) -> ColumnClause[Any]:
    return column(name, type_)
