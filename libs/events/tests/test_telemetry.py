"""What reaches the trace viewer: work done for a request or a message, with standard names."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from juntos_events.events import EventRegistry
from juntos_events.telemetry import setup_telemetry
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import headers_of, publish_outbox

PROCESSES = Path(__file__).parent / "processes"


async def test_queries_of_no_request_start_no_trace_and_those_of_one_follow_the_conventions(
    engine: AsyncEngine,
) -> None:
    spans = InMemorySpanExporter()
    setup_telemetry("test", exporter=spans)
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1 AS polling"))  # like a relay's or consumer's poll
        with trace.get_tracer("test").start_as_current_span("GET /v1/x", kind=SpanKind.SERVER):
            await conn.execute(text("SELECT 2 AS pedido"))
    queries = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    texts = [s.attributes.get("db.query.text", "") for s in queries]
    assert not any("polling" in t for t in texts), "a query outside any request is no trace"
    [query] = [s for s in queries if "pedido" in s.attributes.get("db.query.text", "")]
    assert query.parent is not None
    assert query.attributes["db.system.name"] == "postgresql"
    assert query.attributes["db.namespace"] == engine.url.database
    assert "db.statement" not in query.attributes and "db.system" not in query.attributes


async def test_with_no_exporter_nothing_is_recorded_yet_the_trace_context_still_flows(
    engine: AsyncEngine, registry: EventRegistry, kafka_bootstrap: str, topic_reader
) -> None:
    """A service with OTEL_TRACES_EXPORTER unset records no span (nobody would see it) but still
    makes trace ids, which the outbox row and the Kafka record carry; an exporter added later
    (what the tests do) turns recording on, queries included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROCESSES / "telemetry_proc.py"),
        engine.url.render_as_string(hide_password=False),
        registry.service,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["sin"]["recording"] is False, "no exporter: spans record nothing"
    assert seen["sin"]["queries_wrapped"] is False, "nor does each statement pay for a span"
    assert seen["con"]["recording"] is True
    assert (seen["antes"], seen["sin"]["recording_said"], seen["con"]["recording_said"]) == (
        False,
        False,
        True,
    ), "telemetry.recording() says what spans do (the relay batches when they record nothing)"
    assert seen["exportados"] == ["CLIENT", "SERVER"], "with an exporter, the query's span too"

    assert await publish_outbox(engine, kafka_bootstrap) == 2
    records = {r.key: headers_of(r) for r in await topic_reader(registry.topic, 2)}
    for key, run in ((b"fam-sin-exportador", "sin"), (b"fam-con-exportador", "con")):
        _, carried_trace, _, _ = records[key]["traceparent"].split("-")
        assert carried_trace == seen[run]["trace_id"], f"{run}: the request's trace reaches Kafka"
