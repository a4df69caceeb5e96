"""A local Prometheus (Debian package `prometheus`) scraping the services of `juntos dev up`.

Unlike Kafka and Zipkin it is not a Maven jar: it is a Go binary from the distribution, so a
missing binary ends `--with-metrics` with an install hint instead of a download.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from juntos_cli.infra.process import (
    HOST,
    PidFileProcess,
    ensure_port_free,
    require_tool,
    spawn,
    stop_pid_file,
    wait_until,
)

WHY = "for --with-metrics (install it: apt-get install prometheus; or leave out --with-metrics)"


def require_prometheus() -> str:
    """The `prometheus` binary, or a one-line MissingToolError telling how to install it."""
    return require_tool("prometheus", WHY)


def scrape_config(targets: Mapping[str, str], interval: str = "15s") -> dict[str, Any]:
    """One scrape job per service (`targets`: service name → host:port).

    The job name is the service name, so every series carries `job="<service>"` and the Grafana
    dashboards group by it; deploy/prometheus/prometheus.yml has the same shape for docker
    compose (tests/deploy keeps the two in step).
    """
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target]}],
            }
            for name, target in targets.items()
        ],
    }


class LocalPrometheus(PidFileProcess):
    """Prometheus on 127.0.0.1:<port> with its config and TSDB in `data_dir`.

    The config is written on every start from `targets`, so it always matches the ports of the
    stack that starts it.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        targets: Mapping[str, str],
        log_dir: Path | None = None,
        scrape_interval: str = "5s",
        retention: str = "7d",
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.targets = dict(targets)
        self.scrape_interval = scrape_interval  # short: an operator wants to see a change soon
        self.retention = retention
        self.config_file = self.data_dir / "prometheus.yml"
        self.tsdb_dir = self.data_dir / "data"
        self.pid_file = self.data_dir / "prometheus.pid"
        self.log_file = (Path(log_dir).resolve() if log_dir else self.data_dir) / "prometheus.log"

    @property
    def url(self) -> str:
        """The web UI and HTTP API."""
        return f"http://{HOST}:{self.port}"

    def ready(self) -> bool:
        """GET /-/ready answers 200 (the TSDB is open and scraping has begun)."""
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def write_config(self) -> Path:
        """Write the scrape config for `targets`; returns its path."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = scrape_config(self.targets, self.scrape_interval)
        text = "# written by juntos_cli on every start\n" + yaml.safe_dump(config, sort_keys=False)
        self.config_file.write_text(text)
        return self.config_file

    def start(self, timeout: float = 60.0) -> None:
        """Start Prometheus and wait until it is ready; a running Prometheus is left alone."""
        if self.is_running():
            return
        binary = require_prometheus()
        ensure_port_free(self.port, "prometheus")
        self.write_config()
        proc = spawn(
            [
                binary,
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.tsdb_dir}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address={HOST}:{self.port}",
            ],
            pid_file=self.pid_file,
            log_file=self.log_file,
            cwd=self.data_dir,
        )
        wait_until(
            self.ready,
            what="prometheus",
            timeout=timeout,
            log_file=self.log_file,
            proc=proc,
            interval=0.25,
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (Prometheus closes its TSDB cleanly), SIGKILL after `timeout`."""
        stop_pid_file(self.pid_file, timeout)
