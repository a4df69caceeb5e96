"""What partners see on the wire: CloudEvents binary-mode headers, a JSON body, trace context."""

from __future__ import annotations

import asyncio
import json

from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
from juntos_events.events import EventRegistry
from juntos_events.store import EventStore
from juntos_events.telemetry import setup_telemetry
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo, headers_of, publish_outbox


async def test_cloudevents_headers_and_traceparent_on_the_wire(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap, topic_reader
):
    spans = InMemorySpanExporter()
    setup_telemetry("test", exporter=spans)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /v1/familias") as request_span:
        async with engine.begin() as conn:
            await store.append(conn, "fam-w", "Familia", 0, [Demo(familia="fam-w", n=1)], actor="a")
    trace_id = format(request_span.get_span_context().trace_id, "032x")

    assert await publish_outbox(engine, kafka_bootstrap) == 1

    [record] = await topic_reader(registry.topic, 1)
    headers = headers_of(record)
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == f"co.gov.juntos.{registry.service}.Demo"
    assert headers["ce_source"] == f"/juntos/{registry.service}"
    assert headers["ce_subject"] == "fam-w"
    assert headers["ce_time"].endswith("Z")
    assert len(headers["ce_id"]) == 36
    assert headers["ce_schemaversion"] == "1"
    assert headers["content-type"] == "application/json"
    assert record.key == b"fam-w"
    assert json.loads(record.value) == {"familia": "fam-w", "n": 1, "municipio": "05001"}
    _, carried_trace, parent_span, _ = headers["traceparent"].split("-")
    assert carried_trace == trace_id, "the relay continues the trace of the request that appended"
    publish = [s for s in spans.get_finished_spans() if s.name == f"send {registry.topic}"]
    assert publish and format(publish[0].context.span_id, "016x") == parent_span
    assert publish[0].kind == SpanKind.PRODUCER
    assert {
        k: publish[0].attributes[k] for k in ("messaging.system", "messaging.operation.type")
    } == {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
    }
    assert publish[0].attributes["messaging.kafka.message.key"] == "fam-w"


async def test_without_a_tracing_sdk_the_stored_trace_context_is_passed_on_unchanged(
    engine: AsyncEngine,
    store: EventStore,
    registry: EventRegistry,
    kafka_bootstrap,
    topic_reader,
    monkeypatch,
):
    import juntos_events.relay as relay_module
    from opentelemetry import context
    from opentelemetry.trace import NonRecordingSpan, ProxyTracerProvider, SpanContext, TraceFlags

    incoming = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(incoming)))
    try:
        async with engine.begin() as conn:
            await store.append(conn, "fam-t", "Familia", 0, [Demo(familia="fam-t", n=1)], actor="a")
    finally:
        context.detach(token)

    monkeypatch.setattr(relay_module.trace, "get_tracer_provider", lambda: ProxyTracerProvider())
    assert await publish_outbox(engine, kafka_bootstrap) == 1
    [record] = await topic_reader(registry.topic, 1)
    assert headers_of(record)["traceparent"] == (
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    )


async def _two_requests_consumed(
    engine: AsyncEngine,
    store: EventStore,
    registry: EventRegistry,
    kafka_bootstrap: str,
    settings: ConsumerSettings,
) -> tuple[list[list[int]], list[int], list[ReadableSpan]]:
    """Two requests' events on one partition (1, 2 then 3), consumed by a batch handler: its
    runs, the requests' trace ids, and the consumer's process spans in the requests' order."""
    spans = InMemorySpanExporter()
    setup_telemetry("test", exporter=spans)
    tracer = trace.get_tracer("test")
    traces = []
    version = 0
    for ns in ((1, 2), (3,)):
        with tracer.start_as_current_span("POST /v1/sync") as request_span:
            async with engine.begin() as conn:
                events = [Demo(familia="fam-t", n=n) for n in ns]
                await store.append(conn, "fam-t", "Familia", version, events, actor="a")
        version += len(ns)
        traces.append(request_span.get_span_context().trace_id)
    await publish_outbox(engine, kafka_bootstrap)

    runs: list[list[int]] = []
    subs = Subscriptions()

    @subs.on_batch(registry.service, "Demo")
    async def demos(envelopes, conn) -> None:
        runs.append([e.data["n"] for e in envelopes])

    consumer = ConsumerRunner(
        name="traces",
        engine=engine,
        bootstrap=kafka_bootstrap,
        topics=[registry.topic],
        subscriptions=subs,
        settings=settings,
    )
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(60):
        while sum(map(len, runs)) < 3:
            await asyncio.sleep(0.1)
    consumer.stop()
    await task
    process = sorted(
        (
            s
            for s in spans.get_finished_spans()
            if s.name == f"process {registry.topic}" and s.kind == SpanKind.CONSUMER
        ),
        key=lambda s: traces.index(s.context.trace_id),
    )
    return runs, traces, process


async def test_a_caught_up_consumer_keeps_a_run_to_one_trace_and_its_span_continues_it(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap
):
    """A poll of three events: two runs, each span in its request's trace."""
    runs, traces, process = await _two_requests_consumed(
        engine, store, registry, kafka_bootstrap, ConsumerSettings()
    )
    assert runs == [[1, 2], [3]]
    assert [s.context.trace_id for s in process] == traces
    assert [s.attributes["messaging.batch.message_count"] for s in process] == [2, 1]
    assert all(s.parent is not None for s in process)  # the producer's send span


async def test_a_consumer_behind_lets_runs_cross_requests_and_each_trace_keeps_a_span(
    engine: AsyncEngine, store: EventStore, registry: EventRegistry, kafka_bootstrap
):
    """The same poll, for a consumer that counts it as behind: one run (one handler call), its
    span in the first request's trace, and a sibling span in the second's, linked to it."""
    runs, traces, process = await _two_requests_consumed(
        engine, store, registry, kafka_bootstrap, ConsumerSettings(runs_cross_requests_from=3)
    )
    assert runs == [[1, 2, 3]]
    assert [s.context.trace_id for s in process] == traces
    assert all(s.parent is not None for s in process)  # each request's send span
    assert [s.attributes["messaging.batch.message_count"] for s in process] == [3, 3]
    run_span, sibling = process
    assert [link.context.trace_id for link in run_span.links] == [traces[1]]
    assert [link.context.span_id for link in sibling.links] == [run_span.context.span_id]
