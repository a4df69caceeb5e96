"""LocalPrometheus runs the real `prometheus` binary and scrapes what it is told to.

The check goes through Prometheus' own HTTP API (/api/v1/targets), the same view an operator
gets, so a config the binary does not accept or a target it cannot reach fails the test.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from juntos_cli.infra.process import free_port, port_open
from juntos_cli.infra.prometheus import LocalPrometheus, scrape_config
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="the prometheus binary is not on PATH (apt-get install prometheus)",
)


@pytest.fixture
def metrics_endpoint() -> Iterator[str]:
    """A small live /metrics endpoint in a thread, with one counter of its own."""
    registry = CollectorRegistry()
    Counter("juntos_test_pings_total", "Pings", registry=registry).inc(3)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_scrape_config_has_one_job_per_service() -> None:
    config = scrape_config({"enrollment": "h:8001", "offer": "h:8003"}, interval="5s")
    assert config["global"]["scrape_interval"] == "5s"
    assert [(job["job_name"], job["static_configs"]) for job in config["scrape_configs"]] == [
        ("enrollment", [{"targets": ["h:8001"]}]),
        ("offer", [{"targets": ["h:8003"]}]),
    ]


def _targets_health(prometheus: LocalPrometheus) -> dict[str, str]:
    response = httpx.get(f"{prometheus.url}/api/v1/targets", timeout=5)
    response.raise_for_status()
    active = response.json()["data"]["activeTargets"]
    return {target["labels"]["job"]: target["health"] for target in active}


@needs_prometheus
def test_prometheus_scrapes_a_live_endpoint_and_says_it_is_up(
    metrics_endpoint: str, tmp_path: Path
) -> None:
    closed = f"127.0.0.1:{free_port()}"  # a target nobody serves: must not be reported up
    prometheus = LocalPrometheus(
        tmp_path / "prometheus",
        free_port(),
        {"fakesvc": metrics_endpoint, "gone": closed},
        log_dir=tmp_path / "logs",
        scrape_interval="1s",
    )
    try:
        prometheus.start(timeout=60)
        assert prometheus.is_running() and prometheus.pid
        written = yaml.safe_load(prometheus.config_file.read_text())
        assert {job["job_name"] for job in written["scrape_configs"]} == {"fakesvc", "gone"}

        deadline = time.monotonic() + 30
        health = _targets_health(prometheus)
        while health != {"fakesvc": "up", "gone": "down"} and time.monotonic() < deadline:
            time.sleep(0.5)
            health = _targets_health(prometheus)
        assert health == {"fakesvc": "up", "gone": "down"}

        query = httpx.get(
            f"{prometheus.url}/api/v1/query",
            params={"query": 'juntos_test_pings_total{job="fakesvc"}'},
            timeout=5,
        ).json()
        assert [float(r["value"][1]) for r in query["data"]["result"]] == [3.0]

        pid = prometheus.pid
        prometheus.start()  # idempotent
        assert prometheus.pid == pid
    finally:
        prometheus.stop()
    assert not prometheus.is_running()
    assert not port_open(prometheus.port)
    assert (tmp_path / "logs" / "prometheus.log").is_file()
