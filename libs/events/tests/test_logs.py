"""Logs are one JSON object per line, carrying the trace and span of the work they describe."""

from __future__ import annotations

import json
import logging

import pytest
from juntos_events.logs import get_logger, setup_logging
from juntos_events.telemetry import setup_telemetry
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def test_log_lines_are_json_with_trace_ids(capsys: pytest.CaptureFixture[str]) -> None:
    setup_telemetry("test", exporter=InMemorySpanExporter())
    setup_logging("enrollment")
    with trace.get_tracer("test").start_as_current_span("importar") as span:
        get_logger("juntos.test").info("familias importadas", importadas=3, rechazadas=1)
        logging.getLogger("uvicorn.error").warning("broker slow")  # a library's stdlib logger
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    ours, library = lines[-2], lines[-1]
    context = span.get_span_context()
    assert ours["event"] == "familias importadas" and ours["importadas"] == 3
    assert ours["service"] == "enrollment" and ours["level"] == "info"
    assert ours["trace_id"] == format(context.trace_id, "032x")
    assert ours["span_id"] == format(context.span_id, "016x")
    assert library["event"] == "broker slow" and library["trace_id"] == ours["trace_id"]


def test_uvicorn_lines_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn sets up its own text handlers before the app factory runs (`--factory`)."""
    import uvicorn

    uvicorn.Config("x:y", log_level="info")  # configures logging as `uvicorn ... --factory` does
    setup_logging("offer")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/v1/programas", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    access, error = lines[-2], lines[-1]
    assert access["logger"] == "uvicorn.access" and "GET /v1/programas" in access["event"]
    assert access["service"] == "offer" and access["level"] == "info"
    assert error["event"] == "Application startup complete."
