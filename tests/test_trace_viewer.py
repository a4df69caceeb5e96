"""One business flow seen as a person sees it: in the trace viewer.

The stack starts with `juntos dev up` (PostgreSQL, Kafka, Zipkin, the five services), the SISBEN
sample goes in with `juntos enrollment import`, and a cogestor vinculates a family through
enrollment's API. That one request must come out as one trace: the HTTP request, the outbox
relay's send, accompaniment opening the case (and sending its own event), reporting projecting
both. The trace is found and checked through Zipkin's API (spans from at least three services,
OpenTelemetry's semantic conventions for HTTP, database and messaging, no personal data), then
opened in Zipkin's UI in headless Chromium (Debian's `chromium`), whose screenshot is kept in
`test-artifacts/` at the repository root.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from juntos_cli.stack import Stack
from juntos_testing.serving import dev_stack, juntos

REPO = Path(__file__).parents[1]
SAMPLE = REPO / "services/enrollment/samples/sisben-muestra.csv"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROUTE = "/v1/familias/{familia_id}/vinculacion"
COGESTOR = "cgs-traza"
MUNICIPIO = "05002"
SERVICES = ("enrollment", "accompaniment", "reporting")
T = TypeVar("T")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """`juntos dev up` in a home of its own, on free ports; `juntos dev down` afterwards."""
    with dev_stack(tmp_path / "juntos-home") as s:
        yield s


def test_a_vinculacion_is_one_trace_across_services_in_the_viewer(stack: Stack) -> None:
    enrollment = stack.services["enrollment"].url
    imported = juntos("enrollment", "import", "sisben", str(SAMPLE), "--url", enrollment)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    nacional = {"Authorization": f"Bearer {_token('NACIONAL')}"}
    cogestor = {"Authorization": f"Bearer {_token('COGESTOR', MUNICIPIO, COGESTOR)}"}

    with httpx.Client(base_url=enrollment, timeout=30) as api:
        familias = api.get("/v1/familias", params={"municipio": MUNICIPIO}, headers=nacional)
        fid = familias.json()["items"][0]["familia_id"]
        detalle = api.get(f"/v1/familias/{fid}", headers=nacional).json()
        jefe = next(i for i in detalle["integrantes"] if i["parentesco"] == "JEFE")
        api.put(
            f"/v1/cogestores/{COGESTOR}",
            headers=nacional,
            json={"operador": "op", "microrregion": "mr", "municipios": [MUNICIPIO]},
        ).raise_for_status()
        api.put(
            f"/v1/familias/{fid}/cogestor", headers=nacional, json={"cogestor_id": COGESTOR}
        ).raise_for_status()
        vinculacion = api.post(
            f"/v1/familias/{fid}/vinculacion",
            headers=cogestor,
            json={
                "fecha": date.today().isoformat(),
                "firmante_id": jefe["integrante_id"],
                "lugar_municipio": MUNICIPIO,
            },
        )
        assert vinculacion.status_code == 200, vinculacion.text

    zipkin = f"http://127.0.0.1:{stack.ports.zipkin}"
    trace_id = _eventually(lambda: _find_trace(zipkin, fid), "the vinculación's trace in Zipkin")
    spans = _eventually(
        lambda: _whole_trace(zipkin, trace_id), "spans of enrollment, accompaniment and reporting"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"trace-{trace_id}.json").write_text(json.dumps(spans, indent=2))
    _assert_one_tree(spans)
    _assert_semantic_conventions(spans, fid)
    _assert_no_personal_data(spans)

    _assert_no_background_traces(zipkin)

    shot = _screenshot(f"{zipkin}/zipkin/traces/{trace_id}", trace_id, len(spans))
    width, height = _png_size(shot.read_bytes())
    assert width >= 1200 and height >= 600, (width, height)
    print(f"\ntrace {trace_id}: screenshot of the trace viewer at {shot}")


# --- the viewer's API ----------------------------------------------------------------------


def _find_trace(zipkin: str, fid: str) -> str | None:
    """The trace whose enrollment server span is the vinculación of `fid`."""
    r = httpx.get(
        f"{zipkin}/api/v2/traces",
        params={"serviceName": "enrollment", "annotationQuery": f"http.route={ROUTE}", "limit": 10},
        timeout=10,
    )
    r.raise_for_status()
    for trace in r.json():
        for span in trace:
            if span.get("kind") == "SERVER" and span.get("tags", {}).get("url.path", "").endswith(
                f"/{fid}/vinculacion"
            ):
                return span["traceId"]
    return None


def _whole_trace(zipkin: str, trace_id: str) -> list[dict[str, Any]] | None:
    """The trace once every hop arrived: reporting projected both services' events."""
    r = httpx.get(f"{zipkin}/api/v2/trace/{trace_id}", timeout=10)
    r.raise_for_status()
    spans: list[dict[str, Any]] = r.json()
    processed = {
        (_service(s), s["tags"].get("messaging.destination.name"))
        for s in spans
        if s.get("kind") == "CONSUMER"
    }
    wanted = {
        ("accompaniment", "juntos.enrollment.events"),
        ("reporting", "juntos.enrollment.events"),
        ("reporting", "juntos.accompaniment.events"),
    }
    return spans if wanted <= processed else None


def _service(span: dict[str, Any]) -> str:
    return span.get("localEndpoint", {}).get("serviceName", "")


def _assert_one_tree(spans: list[dict[str, Any]]) -> None:
    """One root (the HTTP request); every other span's parent is in the trace."""
    ids = {s["id"] for s in spans}
    roots = [s for s in spans if "parentId" not in s]
    assert len(roots) == 1, [(r["name"], _service(r)) for r in roots]
    assert (roots[0]["kind"], _service(roots[0])) == ("SERVER", "enrollment")
    orphans = [s["name"] for s in spans if "parentId" in s and s["parentId"] not in ids]
    assert not orphans, orphans
    assert {_service(s) for s in spans} >= set(SERVICES)


def _assert_semantic_conventions(spans: list[dict[str, Any]], fid: str) -> None:
    """HTTP, database and messaging spans named and tagged as OpenTelemetry specifies.

    Zipkin lower-cases span names and keeps span kinds and attributes (as string tags).
    """
    server = next(s for s in spans if s.get("kind") == "SERVER")
    assert server["name"] == f"post {ROUTE}"
    assert {k: server["tags"].get(k) for k in ("http.request.method", "http.route")} == {
        "http.request.method": "POST",
        "http.route": ROUTE,
    }
    assert server["tags"]["http.response.status_code"] == "200"

    sends = _messaging(spans, "PRODUCER", "send")
    topics = {s["tags"]["messaging.destination.name"] for s in sends}
    assert topics >= {"juntos.enrollment.events", "juntos.accompaniment.events"}
    assert all(s["tags"]["messaging.message.id"] for s in sends)
    assert any(s["tags"].get("messaging.kafka.message.key") == fid for s in sends)
    for span in _messaging(spans, "CONSUMER", "process"):
        tags = span["tags"]
        assert tags["messaging.consumer.group.name"]
        assert tags["messaging.destination.partition.id"].isdigit()
        assert tags["messaging.kafka.offset"].isdigit()

    database = [s for s in spans if any(k.startswith("db.") for k in s.get("tags", {}))]
    assert {_service(s) for s in database} >= set(SERVICES)
    for span in database:
        tags = span["tags"]
        assert span.get("kind") == "CLIENT"
        assert tags["db.system.name"] == "postgresql"
        assert tags["db.namespace"] == _service(span)  # each service's own database
        assert tags["db.query.text"]
        assert "db.statement" not in tags  # the deprecated names are gone


def _messaging(spans: list[dict[str, Any]], kind: str, operation: str) -> list[dict[str, Any]]:
    """The spans of `kind`, each checked to be a Kafka `{operation} {topic}` span."""
    found = [s for s in spans if s.get("kind") == kind]
    assert found, kind
    for span in found:
        tags = span["tags"]
        assert span["name"] == f"{operation} {tags['messaging.destination.name']}"
        assert tags["messaging.system"] == "kafka"
        assert tags["messaging.operation.type"] == tags["messaging.operation.name"] == operation
    return found


def _assert_no_background_traces(zipkin: str) -> None:
    """Every trace the viewer lists starts with a request or a message, none with a lone query
    (the relays and consumers poll their databases many times a second)."""
    r = httpx.get(f"{zipkin}/api/v2/traces", params={"limit": 1000}, timeout=10)
    r.raise_for_status()
    roots = [s for trace in r.json() for s in trace if "parentId" not in s]
    assert roots
    lone = sorted({(_service(s), s["name"]) for s in roots if s.get("kind") == "CLIENT"})
    assert not lone, lone


def _assert_no_personal_data(spans: list[dict[str, Any]]) -> None:
    """Names and document numbers of the sample appear in no span (statements carry $n)."""
    text = json.dumps(spans, ensure_ascii=False)
    with SAMPLE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    secrets = {r["numero_documento"] for r in rows} | {
        r[k] for r in rows for k in ("primer_nombre", "primer_apellido") if r[k]
    }
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, leaked


# --- the viewer's UI -----------------------------------------------------------------------


def _screenshot(url: str, trace_id: str, span_count: int) -> Path:
    """Open the trace page in headless Chromium, wait until it shows the services, keep a PNG.

    The viewer renders only the span rows that fit in the window, so the window is made tall
    enough for every row: the screenshot shows the whole trace.
    """
    from playwright.sync_api import sync_playwright

    shot = ARTIFACTS / f"trace-viewer-{trace_id}.png"
    height = min(8000, 400 + 30 * span_count)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": height})
            page.goto(url, wait_until="networkidle")
            try:
                for service in SERVICES:  # each span row reads "<service>: <span name>"
                    page.get_by_text(f"{service}: ").first.wait_for(timeout=30_000)
                summary = page.get_by_text("Services").first.locator("xpath=..").inner_text()
            finally:  # what the viewer showed, also when it did not show the trace
                page.screenshot(path=str(shot), full_page=True)
                (ARTIFACTS / f"trace-viewer-{trace_id}.txt").write_text(page.inner_text("body"))
        finally:
            browser.close()
    shown = re.search(r"Services\s*(\d+)", summary)
    assert shown and int(shown.group(1)) >= len(SERVICES), summary
    return shot


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR), without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


# --- helpers -------------------------------------------------------------------------------


def _token(role: str, scope: str | None = None, sub: str | None = None) -> str:
    args = ["dev", "token", "--role", role]
    args += ["--scope", scope] if scope else []
    args += ["--sub", sub] if sub else []
    result = juntos(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _eventually(check: Callable[[], T | None], what: str, seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not seen within {seconds:.0f} s: {what}")
