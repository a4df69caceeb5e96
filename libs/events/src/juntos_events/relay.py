"""The outbox relay: publishes committed outbox rows to Kafka, then deletes them.

It never reads "everything after position N" (a transaction that commits late would be
skipped); it claims whatever unpublished rows exist. Rows are split into lanes by key hash. A
relay takes a lane with a transaction-scoped advisory lock, so while one relay publishes a lane
no other can, and the lock is held until that batch's rows are deleted: per-key order holds
with any number of relays. A relay that dies mid-batch leaves its rows in place (its
transaction aborts); the next relay publishes them again, and consumers' inboxes absorb the
duplicates.

The outbox is a queue table: every published row is deleted, and until a vacuum removes them the
dead rows stay in the primary key's index, where each claim (lowest ids first) walks them again.
Autovacuum visits a database about once a minute (`autovacuum_naptime`), by which time a busy
service has left tens of thousands of them (a claim then reads ~1,000 pages to find nothing), so
the relay vacuums the outbox itself once it has deleted `vacuum_after_rows` rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from juntos_events import metrics, telemetry
from juntos_events.envelope import TRACEPARENT
from juntos_events.logs import get_logger
from juntos_events.schema import outbox
from juntos_events.store import LANES
from juntos_events.telemetry import messaging_attributes

LOCK_CLASS = 0x4A54  # advisory-lock namespace of the relay ("JT")

# Plain SQL, prepared once per connection by asyncpg: these run for every batch.
_CLAIM_ROWS = (
    "SELECT id, topic, key, headers, payload, traceparent FROM outbox"
    " WHERE lane = ANY($1::smallint[]) ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
)
_DELETE_ROWS = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"
# What `producer.send` uses unless told otherwise (murmur2 of the key, as the Java client).
_PARTITIONER = DefaultPartitioner()
# The wire format promises W3C trace context, whatever other propagators are configured.
_W3C = TraceContextTextMapPropagator()

log = get_logger(__name__)
tracer = trace.get_tracer("juntos_events.relay")


@dataclass
class RelaySettings:
    batch_size: int = 500
    idle_poll_seconds: float = 0.2
    max_lanes: int = LANES
    backlog_every_seconds: float = 5.0
    vacuum_after_rows: int = 5_000
    """Rows deleted since the last vacuum that make the relay vacuum the outbox (0: never)."""
    vacuum_every_seconds: float = 2.0
    """At most one vacuum in this time: rows deleted while older transactions are open cannot be
    removed yet, and vacuuming again at once would find them still there."""


def idempotent_producer(bootstrap: str, **overrides: object) -> AIOKafkaProducer:
    """The producer every publisher uses: idempotent, acks from all in-sync replicas.

    Keys are sent as bytes through the default partitioner: the relay's batches choose each
    key's partition as `send` does with them (`OutboxRelay._send_batches`), so neither may be
    overridden.
    """
    if fixed := {"partitioner", "key_serializer"} & overrides.keys():
        raise ValueError(f"the relay's producer keeps its default {', '.join(sorted(fixed))}")
    options: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)  # type: ignore[arg-type]


class OutboxRelay:
    """Publishes one service's outbox to Kafka until stopped."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        settings: RelaySettings | None = None,
    ) -> None:
        self.engine = engine
        self.producer = producer
        self.settings = settings or RelaySettings()
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_backlog = 0.0
        self._deleted_since_vacuum = 0
        self._last_vacuum = 0.0

    async def run(self) -> None:
        """Loop: publish batches while there are rows; sleep until notified or polled otherwise."""
        listener = await self._listen()
        try:
            while not self._stopping.is_set():
                published = await self.publish_batch()
                await self._maybe_measure_backlog()
                if published < self.settings.batch_size:  # caught up (see _maybe_vacuum)
                    await self._maybe_vacuum()
                if published == 0:
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self.settings.idle_poll_seconds)
        finally:
            if listener is not None:
                await listener.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()

    async def publish_batch(self) -> int:
        """Claim lanes, publish their oldest rows, await every ack, delete them: one transaction."""
        started = time.perf_counter()
        async with self.engine.begin() as conn:
            lanes = await self._claim_lanes(conn)
            if not lanes:
                return 0
            rows = (
                await conn.exec_driver_sql(_CLAIM_ROWS, (lanes, self.settings.batch_size))
            ).all()
            if not rows:
                return 0
            await asyncio.gather(*await self._publish(rows))
            await conn.exec_driver_sql(_DELETE_ROWS, ([row[0] for row in rows],))
        self._deleted_since_vacuum += len(rows)
        for topic, count in Counter(row[1] for row in rows).items():
            metrics.OUTBOX_PUBLISHED.labels(topic).inc(count)
        metrics.RELAY_BATCH_SECONDS.observe(time.perf_counter() - started)
        return len(rows)

    async def _claim_lanes(self, conn: AsyncConnection) -> list[int]:
        # Start at a random lane so that several relays tend to take different lanes.
        result = await conn.execute(
            text(
                f"SELECT lane FROM (SELECT (s + o.off) % {LANES} AS lane"
                f" FROM generate_series(0, {LANES - 1}) s,"
                f" (SELECT floor(random() * {LANES})::int AS off) o) l"
                f" WHERE pg_try_advisory_xact_lock({LOCK_CLASS}, lane) LIMIT :max"
            ),
            {"max": self.settings.max_lanes},
        )
        return [row.lane for row in result]

    async def _publish(self, rows: Sequence[Row[Any]]) -> list[asyncio.Future[Any]]:
        """Hand the rows to the producer, in order: the acks to await."""
        if telemetry.recording():
            return [await self._send(*row[1:]) for row in rows]
        return await self._send_batches(rows)

    async def _send_batches(self, rows: Sequence[Row[Any]]) -> list[asyncio.Future[Any]]:
        """When no span would be recorded, the rows go in batches per partition.

        `producer.send` costs tens of µs a message in Python (metadata, partitioner, one future
        each); a batch builder per partition appends a message in a few. The partition is the
        producer's own choice for the key (its partitioner over the same partition list), so a
        key's messages go where `send` would put them, in id order. The stored trace context is
        passed on as it is, which keeps the trace whole.
        """
        acks: list[asyncio.Future[Any]] = []
        batches: dict[tuple[str, int], BatchBuilder] = {}
        partitions: dict[str, list[int]] = {}
        chosen: dict[tuple[str, str], int] = {}
        for _, topic, key, headers, payload, traceparent in rows:
            clave = key.encode()
            wire = [(k, v.encode()) for k, v in headers.items()]
            if traceparent:
                wire.append((TRACEPARENT, traceparent.encode()))
            if topic not in partitions:  # the list `send` gives its partitioner
                partitions[topic] = list(await self.producer.partitions_for(topic))
            if (topic, key) not in chosen:
                everyone = partitions[topic]
                chosen[topic, key] = int(_PARTITIONER(clave, everyone, everyone))
            where = (topic, chosen[topic, key])
            batch = batches.get(where)
            if batch is None:
                batch = batches[where] = self.producer.create_batch()
            if batch.append(key=clave, value=payload, timestamp=None, headers=wire) is None:
                acks.append(await self.producer.send_batch(batch, topic, partition=where[1]))
                batch = batches[where] = self.producer.create_batch()  # full: a new one
                # an empty batch takes any first message (the broker judges its size)
                batch.append(key=clave, value=payload, timestamp=None, headers=wire)
        for (topic, partition), batch in batches.items():
            acks.append(await self.producer.send_batch(batch, topic, partition=partition))
        return acks

    async def _send(
        self, topic: str, key: str, headers: dict[str, str], payload: bytes, traceparent: str | None
    ) -> asyncio.Future[Any]:
        """Send one row inside a producer span that continues the trace stored with the row."""
        wire = [(k, v.encode()) for k, v in headers.items()]
        parent = _W3C.extract({TRACEPARENT: traceparent}) if traceparent else None
        span = tracer.start_span(
            f"send {topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                **messaging_attributes("send", topic),
                "messaging.message.id": headers.get("ce_id", ""),
                "messaging.kafka.message.key": key,
            },
        )
        carrier: dict[str, str] = {}
        _W3C.inject(carrier, context=trace.set_span_in_context(span))
        wire += [(k, v.encode()) for k, v in carrier.items()]
        ack = await self.producer.send(topic, value=payload, key=key.encode(), headers=wire)
        ack.add_done_callback(lambda _: span.end())
        return ack

    async def _listen(self) -> object | None:
        """LISTEN on the outbox channel so that a commit wakes the relay at once."""
        try:
            conn = await self.engine.connect()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            await driver.add_listener("juntos_outbox", lambda *_: self._wakeup.set())  # type: ignore[union-attr]
            return conn
        except Exception as exc:  # polling still works; the relay only gets slower to react
            log.warning("outbox LISTEN unavailable, polling only", error=str(exc))
            return None

    async def _maybe_vacuum(self) -> None:
        """Only once caught up: while a backlog drains (full batches, after an outage) the
        table is large and its dead rows a small part of it, and a vacuum would hold up the
        publishing it is meant to speed up."""
        due = self.settings.vacuum_after_rows
        now = time.monotonic()
        if not due or self._deleted_since_vacuum < due:
            return
        if now - self._last_vacuum < self.settings.vacuum_every_seconds:
            return
        self._last_vacuum, self._deleted_since_vacuum = now, 0
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            # SKIP_LOCKED: if autovacuum or another relay is at it, that one will do. TRUNCATE
            # false: giving the emptied end of the table back to the system takes an exclusive
            # lock (every append to the outbox waits) and a transaction id (which holds back the
            # horizon); the queue fills those pages again anyway. A role that does not own the
            # table only gets a warning from PostgreSQL (autovacuum still runs).
            await auto.exec_driver_sql("VACUUM (SKIP_LOCKED, TRUNCATE false) outbox")
        metrics.OUTBOX_VACUUMS.inc()

    async def _maybe_measure_backlog(self) -> None:
        now = time.monotonic()
        if now - self._last_backlog < self.settings.backlog_every_seconds:
            return
        self._last_backlog = now
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0
                        ),
                    )
                )
            ).one()
        metrics.OUTBOX_BACKLOG.set(row[0])
        metrics.OUTBOX_OLDEST_AGE.set(float(row[1]))
