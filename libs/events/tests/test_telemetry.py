"""What reaches the trace viewer: work done for a request or a message, with standard names."""

from __future__ import annotations

from juntos_events.telemetry import setup_telemetry
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


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
