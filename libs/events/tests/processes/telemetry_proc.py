"""A fresh service process's tracing: python telemetry_proc.py DB_URL SERVICE.

Appends one event inside a request span with no exporter configured (the services' default),
then one more after an in-memory exporter was added; prints what each span recorded as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from juntos_events.store import EventStore
from juntos_events.telemetry import recording, setup_telemetry
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent.parent))
from conftest import Demo, make_registry


async def request(store: EventStore, database_url: str, familia: str) -> dict[str, object]:
    """What a route does: one span, one append (a query the asyncpg instrumentation sees)."""
    engine = create_async_engine(database_url)
    try:
        with trace.get_tracer("proc").start_as_current_span(
            "POST /x", kind=SpanKind.SERVER
        ) as span:
            async with engine.begin() as conn:
                await store.append(
                    conn, familia, "Familia", 0, [Demo(familia=familia, n=1)], actor="a"
                )
            recorded = span.is_recording()  # an ended span records nothing more
        return {
            "recording": recorded,
            "recording_said": recording(),  # what the relay asks before making spans
            "trace_id": f"{span.get_span_context().trace_id:032x}",
        }
    finally:
        await engine.dispose()


async def main(database_url: str, service: str) -> None:
    store = EventStore(make_registry(service))
    before_setup = recording()
    setup_telemetry(service)
    unexported = await request(store, database_url, "fam-sin-exportador")
    unexported["queries_wrapped"] = AsyncPGInstrumentor().is_instrumented_by_opentelemetry
    spans = InMemorySpanExporter()
    setup_telemetry(service, exporter=spans)
    exported = await request(store, database_url, "fam-con-exportador")
    kinds = sorted({s.kind.name for s in spans.get_finished_spans()})
    seen = {"sin": unexported, "con": exported, "exportados": kinds, "antes": before_setup}
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
