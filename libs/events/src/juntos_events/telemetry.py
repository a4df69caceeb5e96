"""OpenTelemetry set up once per process: resource, exporter chosen by environment, instrumentation.

OTEL_TRACES_EXPORTER picks the exporter: `zipkin` (the local trace viewer; endpoint from
OTEL_EXPORTER_ZIPKIN_ENDPOINT), `otlp` (Jaeger or a collector; OTEL_EXPORTER_OTLP_ENDPOINT),
`console`, or `none` (the default, so tests and tools export nothing). Kafka spans are made by
the relay and the consumer runner themselves, because they must continue the trace stored with
each outbox row rather than the relay's own loop.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

_configured: TracerProvider | None = None


def _exporter(kind: str) -> SpanExporter | None:
    if kind == "zipkin":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        return ZipkinExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if kind == "console":
        return ConsoleSpanExporter()
    return None


def setup_telemetry(service_name: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """Idempotent; `exporter` overrides the environment (tests pass an in-memory one)."""
    global _configured
    if _configured is not None:
        if exporter is not None:
            _configured.add_span_processor(SimpleSpanProcessor(exporter))
        return _configured
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": service_name,
                "service.namespace": "juntos",
                "deployment.environment": os.environ.get("JUNTOS_ENV", "local"),
            }
        )
    )
    chosen = exporter or _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none").lower())
    if chosen is not None:
        processor = SimpleSpanProcessor if exporter is not None else BatchSpanProcessor
        provider.add_span_processor(processor(chosen))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument()
    _configured = provider
    return provider


def shutdown_telemetry() -> None:
    if _configured is not None:
        _configured.shutdown()
