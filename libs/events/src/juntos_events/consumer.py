"""Consumers: apply other services' events exactly once in effect, and never stall on a bad one.

Each batch of a partition is applied in one database transaction together with its inbox rows
(keyed by the CloudEvent id), so a redelivered event has no second effect; the Kafka offset is
committed only after that transaction. A handler registered with `on_batch` receives each run of
consecutive events it handles in one call, so it can read and write a run's families with a few
set-based statements instead of a few statements per event (partition order is kept: a run
never jumps over an event of another handler). A consumer that is caught up keeps a run to
one trace (the events one request produced), so its span, database calls and sends sit in that
request's trace. One that is behind (a poll brought at least `runs_cross_requests_from` events
of a partition) lets runs cross requests: kept to one request, a run was a few families, and a
catch-up ran its set-based statements once per request. Then the run's span is a child of its
first event's producer span and every other trace in the run gets a `process` span of its own,
linked to it, so no request's trace loses the consumer that applied its events.

Events of a type the consumer has no handler for are skipped from their headers alone: no body
parse, no inbox row (applying them changes nothing). Subscriptions whose handlers guard against
a second application themselves (`Subscriptions.idempotent`) get no inbox rows at all. If the
batch fails, each event is retried alone (bounded, with backoff); one that still fails goes to
the dead-letter topic with the error in its headers, and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from juntos_events import metrics
from juntos_events.envelope import (
    TRACEPARENT,
    Envelope,
    MalformedEnvelope,
    decode,
    event_type_of,
)
from juntos_events.events import EventRegistry, UnknownEventType
from juntos_events.logs import get_logger
from juntos_events.telemetry import messaging_attributes
from juntos_events.topics import dead_letter_topic, event_topic

Handler = Callable[[Envelope, AsyncConnection], Awaitable[None]]
BatchHandler = Callable[[Sequence[Envelope], AsyncConnection], Awaitable[None]]
"""Applies a run of consecutive events (in partition order) in the batch's transaction."""

MAX_SPAN_LINKS = 128
"""A batch span links to the traces of at most this many of its events."""

# Plain SQL so asyncpg prepares it once per connection (it runs for every batch).
_CLAIM_INBOX = (
    "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[])"
    " ON CONFLICT DO NOTHING RETURNING event_id"
)

log = get_logger(__name__)
tracer = trace.get_tracer("juntos_events.consumer")


def _trace_of(envelope: Envelope) -> tuple[str, ...]:
    """The trace id in the event's traceparent, as a key (empty if it has none)."""
    return tuple((envelope.traceparent or "").split("-")[1:2])


@dataclass
class ConsumerSettings:
    max_records: int = 500
    runs_cross_requests_from: int = 64
    """Events of one partition in one poll from which runs cross requests' traces (behind)."""
    poll_timeout_ms: int = 500
    max_attempts: int = 3
    retry_backoff_seconds: float = 0.2
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000


@dataclass
class Subscriptions:
    """Which event types a consumer applies, and how to upcast them (registries of producers)."""

    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    batch_handlers: dict[tuple[str, str], BatchHandler] = field(default_factory=dict)
    registries: dict[str, EventRegistry] = field(default_factory=dict)
    idempotent: bool = False
    """True when every handler applies an event at most once by itself, in the batch's
    transaction (reporting's `aplicado` tables): the runner then writes no inbox rows, which
    would be a second index insert per event guarding the same thing."""

    def on(self, service: str, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator: `@subs.on("enrollment", "FamiliaVinculada")`."""

        def decorate(fn: Handler) -> Handler:
            self._registrable(service, event_type)
            self.handlers[(service, event_type)] = fn
            return fn

        return decorate

    def on_batch(self, service: str, *event_types: str) -> Callable[[BatchHandler], BatchHandler]:
        """Decorator: `@subs.on_batch("accompaniment", "LogrosEvaluados")`; the handler gets
        every run of consecutive events of these types (one or more) in one call."""

        def decorate(fn: BatchHandler) -> BatchHandler:
            for event_type in event_types:  # all or none
                self._registrable(service, event_type)
            for event_type in event_types:
                self.batch_handlers[(service, event_type)] = fn
            return fn

        return decorate

    def _registrable(self, service: str, event_type: str) -> None:
        if (service, event_type) in self.handlers or (service, event_type) in self.batch_handlers:
            raise ValueError(f"{service} {event_type} has a handler already")

    def topics(self) -> list[str]:
        """The producers' topics this consumer must read: exactly those it has handlers for."""
        return sorted(
            {event_topic(service) for service, _ in [*self.handlers, *self.batch_handlers]}
        )

    def upcast_with(self, registry: EventRegistry) -> None:
        self.registries[registry.service] = registry

    def handler_for(self, envelope: Envelope) -> Handler | None:
        return self.handlers.get((envelope.service, envelope.event_type))

    def batch_handler_for(self, envelope: Envelope) -> BatchHandler | None:
        return self.batch_handlers.get((envelope.service, envelope.event_type))

    async def apply_one(self, envelope: Envelope, conn: AsyncConnection) -> None:
        """Apply one event with its handler (a batch handler gets a run of one), as the runner
        would: for tests and tools that feed a consumer's handlers directly."""
        handler = self.handler_for(envelope)
        batch_handler = self.batch_handler_for(envelope)
        if handler is not None:
            await handler(envelope, conn)
        elif batch_handler is not None:
            await batch_handler([envelope], conn)
        else:
            raise LookupError(f"no handler for {envelope.service} {envelope.event_type}")

    def wants(self, service: str, event_type: str) -> bool:
        """Whether events of this type can reach a handler; the runner skips the others from
        their headers, before parsing their bodies or writing inbox rows for them."""
        return (service, event_type) in self.handlers or (
            service,
            event_type,
        ) in self.batch_handlers

    def upcast(self, envelope: Envelope) -> Envelope:
        registry = self.registries.get(envelope.service)
        if registry is None:
            return envelope
        version, data = registry.upcast(envelope.event_type, envelope.schema_version, envelope.data)
        return Envelope(**{**envelope.__dict__, "schema_version": version, "data": data})


class DeadLetter(Exception):
    """Raised by a handler for an event that can never be applied: skip the retries."""


@dataclass
class _Item:
    record: ConsumerRecord[bytes, bytes]
    envelope: Envelope | None
    error: str | None = None


class ConsumerRunner:
    """One consumer group reading some topics into one service's database."""

    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        bootstrap: str,
        topics: Iterable[str],
        subscriptions: Subscriptions,
        settings: ConsumerSettings | None = None,
        dlq_producer: AIOKafkaProducer | None = None,
        group: str | None = None,
    ) -> None:
        """`name` keys the inbox, metrics and logs; `group` is the Kafka group (`name` if None)."""
        self.name = name
        self.group = group or name
        self.engine = engine
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.subs = subscriptions
        self.settings = settings or ConsumerSettings()
        self._dlq_producer = dlq_producer
        self._own_producer = dlq_producer is None
        self._stopping = asyncio.Event()
        self.consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        s = self.settings
        self.consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=s.max_records,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
        )
        if self._dlq_producer is None:
            from juntos_events.relay import idempotent_producer

            self._dlq_producer = idempotent_producer(self.bootstrap)
            await self._dlq_producer.start()
        await self.consumer.start()
        try:
            while not self._stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=s.poll_timeout_ms)
                for tp, records in batches.items():
                    await self.process(tp, records)
                    await self.consumer.commit({tp: records[-1].offset + 1})
                await self._measure_lag()
        finally:
            with contextlib.suppress(Exception):
                await self.consumer.stop()
            if self._own_producer and self._dlq_producer is not None:
                await self._dlq_producer.stop()

    def stop(self) -> None:
        self._stopping.set()

    async def process(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        wanted = []
        for record in records:
            tipo = event_type_of(record.headers)
            if tipo is not None and not self.subs.wants(*tipo):
                # no handler: applying it would change nothing, so no body parse, no inbox row
                metrics.CONSUMED.labels(self.name, record.topic, "ignored").inc()
            else:
                wanted.append(record)
        items = [self._decode(r) for r in wanted]
        good = [i for i in items if i.envelope is not None]
        try:
            await self._apply(good)
        except Exception:
            # Find the culprit(s): each event alone, bounded retries, then the dead-letter topic.
            for item in good:
                await self._apply_alone(item)
        for item in items:
            if item.envelope is None:
                await self._dead_letter(item)

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> _Item:
        try:
            envelope = decode(record.headers, record.key, record.value or b"")
            return _Item(record, self.subs.upcast(envelope))
        except (MalformedEnvelope, UnknownEventType) as exc:
            return _Item(record, None, f"{type(exc).__name__}: {exc}")

    async def _apply(self, items: list[_Item]) -> None:
        if not items:
            return
        async with self.engine.begin() as conn:
            ids = [i.envelope.id for i in items if i.envelope]
            fresh = set(ids) if self.subs.idempotent else await self._claim_inbox(conn, ids)
            to_apply = []
            for item in items:
                assert item.envelope is not None
                if item.envelope.id not in fresh:
                    metrics.CONSUMED.labels(self.name, item.record.topic, "duplicate").inc()
                    continue
                fresh.discard(item.envelope.id)  # the same id twice in one batch counts once
                to_apply.append(item)
            crossing = len(items) >= self.settings.runs_cross_requests_from
            for (batch_handler, _), run in itertools.groupby(
                to_apply, lambda item: self._run_of(item, crossing)
            ):
                if batch_handler is None:
                    for item in run:
                        assert item.envelope is not None
                        await self._handle(item, item.envelope, conn)
                else:
                    await self._handle_run(batch_handler, list(run), conn)

    def _run_of(self, item: _Item, crossing: bool) -> tuple[BatchHandler | None, tuple[str, ...]]:
        """A run: consecutive events of one batch handler, and of one trace unless `crossing`."""
        assert item.envelope is not None
        handler = self.subs.batch_handler_for(item.envelope)
        if handler is None or crossing:
            return handler, ()
        return handler, _trace_of(item.envelope)

    async def _handle_run(
        self, handler: BatchHandler, run: list[_Item], conn: AsyncConnection
    ) -> None:
        """One span for the run, a child of its first event's producer span, linked to the
        other traces' producer spans; each of those traces gets a sibling `process` span over
        the same work, linked to the run's span, so no request's trace loses its consumer."""
        envelopes = [i.envelope for i in run if i.envelope is not None]
        by_trace: dict[tuple[str, ...], Context] = {}
        for e in envelopes:
            trace_id = _trace_of(e)
            if trace_id not in by_trace:
                by_trace[trace_id] = propagate.extract(
                    {TRACEPARENT: e.traceparent} if e.traceparent else {}
                )
        first, *rest = by_trace.values()
        others = [  # the run's other traces, with their producer spans
            (context, span_context)
            for context in rest
            if (span_context := trace.get_current_span(context).get_span_context()).is_valid
        ]
        links = [Link(span_context) for _, span_context in others[:MAX_SPAN_LINKS]]
        topic = run[0].record.topic
        attributes = {
            **messaging_attributes("process", topic),
            "messaging.consumer.group.name": self.group,
            "messaging.batch.message_count": len(run),
            "messaging.destination.partition.id": str(run[0].record.partition),
            "messaging.kafka.offset": run[0].record.offset,
            "juntos.event_type": sorted({e.event_type for e in envelopes}),
        }
        name = f"process {topic}"
        with tracer.start_as_current_span(
            name, context=first, kind=SpanKind.CONSUMER, links=links, attributes=attributes
        ) as span:
            siblings = [
                tracer.start_span(
                    name,
                    context=context,
                    kind=SpanKind.CONSUMER,
                    links=[Link(span.get_span_context())],
                    attributes=attributes,
                )
                for context, _ in others
            ]
            try:
                await handler(envelopes, conn)
            except Exception as exc:
                for sibling in siblings:
                    sibling.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            finally:
                for sibling in siblings:
                    sibling.end()
        for item in run:
            metrics.CONSUMED.labels(self.name, item.record.topic, "applied").inc()

    async def _handle(self, item: _Item, envelope: Envelope, conn: AsyncConnection) -> None:
        handler = self.subs.handler_for(envelope)
        outcome = "ignored" if handler is None else "applied"
        if handler is not None:
            parent = propagate.extract(
                {TRACEPARENT: envelope.traceparent} if envelope.traceparent else {}
            )
            with tracer.start_as_current_span(
                f"process {item.record.topic}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes={
                    **messaging_attributes("process", item.record.topic),
                    "messaging.consumer.group.name": self.group,
                    "messaging.message.id": envelope.id,
                    "messaging.kafka.offset": item.record.offset,
                    "messaging.destination.partition.id": str(item.record.partition),
                    "juntos.event_type": envelope.event_type,
                },
            ):
                await handler(envelope, conn)
        metrics.CONSUMED.labels(self.name, item.record.topic, outcome).inc()

    async def _apply_alone(self, item: _Item) -> None:
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                await self._apply([item])
                return
            except DeadLetter as exc:
                item.error = f"DeadLetter: {exc}"
                break
            except Exception as exc:
                item.error = "".join(traceback.format_exception_only(exc)).strip()
                log.warning(
                    "event failed",
                    consumer=self.name,
                    event_id=item.envelope.id if item.envelope else None,
                    attempt=attempt,
                    error=type(exc).__name__,
                )
                if attempt < attempts:
                    await asyncio.sleep(self.settings.retry_backoff_seconds * 2 ** (attempt - 1))
        await self._dead_letter(item)

    async def _dead_letter(self, item: _Item) -> None:
        record = item.record
        topic = dead_letter_topic(record.topic)
        headers = [
            *record.headers,
            ("dlq_error", (item.error or "unknown")[:2000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        assert self._dlq_producer is not None
        await self._dlq_producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=headers
        )
        metrics.DEAD_LETTERS.labels(self.name, record.topic).inc()
        metrics.CONSUMED.labels(self.name, record.topic, "dead_letter").inc()
        log.error(
            "event sent to dead-letter topic",
            consumer=self.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )

    async def _claim_inbox(self, conn: AsyncConnection, ids: list[str]) -> set[str]:
        """Insert inbox rows; the ids that were not there yet are the ones to apply."""
        result = await conn.exec_driver_sql(_CLAIM_INBOX, (self.name, ids))
        return {row[0] for row in result}

    async def _measure_lag(self) -> None:
        assert self.consumer is not None
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            position = await self.consumer.position(tp)
            metrics.CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(
                max(0, highwater - position)
            )
