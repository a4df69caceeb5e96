"""OpenTelemetry set up once per process: resource, exporter chosen by environment, instrumentation.

OTEL_TRACES_EXPORTER picks the exporter: `zipkin` (the local trace viewer; endpoint from
OTEL_EXPORTER_ZIPKIN_ENDPOINT), `otlp` (Jaeger or a collector; OTEL_EXPORTER_OTLP_ENDPOINT),
`console`, or `none` (the default, so tests and tools export nothing). Kafka spans are made by
the relay and the consumer runner themselves, because they must continue the trace stored with
each outbox row rather than the relay's own loop.

Spans follow OpenTelemetry's semantic conventions: the stable HTTP and database attribute names
(`http.request.method`, `http.route`, `db.system.name`, `db.query.text`...), which the
instrumentations emit only when OTEL_SEMCONV_STABILITY_OPT_IN asks for them (set here unless the
operator chose), and the messaging names of `messaging_attributes`.

A database call that belongs to no request and no message (the relay's and the consumers'
polling, readiness checks, migrations) starts no trace: it would flood the trace viewer with one
meaningless trace per poll. Spans inside a request or a message are all kept.
OTEL_TRACES_SAMPLER, when set, replaces this.

With no exporter nothing is recorded (unless OTEL_TRACES_SAMPLER chose a sampler): every span
is a non-recording one, which still gets its trace and span ids, so the W3C trace context keeps
flowing (outbox rows, Kafka headers, log lines) at almost no cost; and queries are not
instrumented. Recording them for nobody was about a tenth of each service's CPU in
`juntos simulate run` (bench/README.md). An exporter added later (tests) turns both on.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import SpanKind

_configured: TracerProvider | None = None
# Read once per process by the instrumentations, when the first one is set up.
SEMCONV_OPT_IN = "http,database"


def messaging_attributes(operation: str, topic: str) -> dict[str, str]:
    """The messaging attributes of a Kafka `send` or `process` span, named `{operation} {topic}`."""
    return {
        "messaging.system": "kafka",
        "messaging.operation.name": operation,
        "messaging.operation.type": operation,
        "messaging.destination.name": topic,
    }


class _NoBackgroundQueries(Sampler):
    """Root sampler: a client call (a database query) with no parent is dropped, all else kept."""

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "NoBackgroundQueries"


class _WhileExporting(Sampler):
    """`inner` once spans go somewhere; until then nothing is recorded (ids are still made)."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner
        self.exporting = False

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        """Whatever the arguments (the SDK's signature grows): `inner` decides, or nobody."""
        if not self.exporting:
            return SamplingResult(Decision.DROP)
        return self.inner.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return f"WhileExporting{{{self.inner.get_description()}}}"


def _sampler() -> Sampler | None:
    """Ours unless the operator chose one (None lets the SDK read OTEL_TRACES_SAMPLER)."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return _WhileExporting(ParentBased(root=_NoBackgroundQueries()))


def recording() -> bool:
    """Whether spans started now can be recorded and go somewhere.

    False with no SDK provider, and with ours before an exporter is added (its sampler drops
    everything then); an operator's own sampler counts as recording.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return False
    sampler = provider.sampler
    return not isinstance(sampler, _WhileExporting) or sampler.exporting


def _export(provider: TracerProvider, processor: SpanProcessor) -> None:
    """Spans go somewhere from now on: record them, queries included.

    Queries are instrumented only then: their spans carry no context anywhere, and the wrapper
    costs each statement a regex and attribute building even when nothing records.
    """
    provider.add_span_processor(processor)
    if isinstance(provider.sampler, _WhileExporting):
        provider.sampler.exporting = True
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # idempotent


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
            _export(_configured, SimpleSpanProcessor(exporter))
        return _configured
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", SEMCONV_OPT_IN)
    provider = TracerProvider(
        sampler=_sampler(),
        resource=Resource.create(
            {
                "service.name": service_name,
                "service.namespace": "juntos",
                "deployment.environment": os.environ.get("JUNTOS_ENV", "local"),
            }
        ),
    )
    chosen = exporter or _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none").lower())
    if chosen is not None:
        processor = SimpleSpanProcessor if exporter is not None else BatchSpanProcessor
        _export(provider, processor(chosen))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider


def shutdown_telemetry() -> None:
    if _configured is not None:
        _configured.shutdown()
