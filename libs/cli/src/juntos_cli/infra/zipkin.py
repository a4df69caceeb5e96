"""Zipkin (server + UI, in-memory storage) from Maven Central: the local trace viewer."""

from __future__ import annotations

from pathlib import Path

import httpx

from juntos_cli.infra.maven import ensure_libs
from juntos_cli.infra.process import (
    HOST,
    InfraError,
    PidFileProcess,
    base_env,
    ensure_port_free,
    require_tool,
    spawn,
    stop_pid_file,
    wait_until,
)

POM = Path("deploy/kafka/zipkin-pom.xml")


class LocalZipkin(PidFileProcess):
    """Zipkin on 127.0.0.1:<port>; services post spans to `spans_endpoint`."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        libs_dir: Path,
        repo_root: Path,
        log_dir: Path | None = None,
        max_spans: int = 100_000,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.libs_dir = Path(libs_dir).resolve()
        self.repo_root = Path(repo_root).resolve()
        self.log_file = (Path(log_dir).resolve() if log_dir else self.data_dir) / "zipkin.log"
        self.max_spans = max_spans  # in-memory storage; bounded so a 256 MB heap is enough
        self.pid_file = self.data_dir / "zipkin.pid"

    @property
    def url(self) -> str:
        """The trace UI."""
        return f"http://{HOST}:{self.port}/zipkin/"

    @property
    def spans_endpoint(self) -> str:
        """Where OpenTelemetry's Zipkin exporter posts spans."""
        return f"http://{HOST}:{self.port}/api/v2/spans"

    def ensure_jar(self) -> Path:
        """The runnable Zipkin jar, resolved with Maven on first use."""
        ensure_libs(self.repo_root / POM, self.libs_dir)
        jars = sorted(self.libs_dir.glob("zipkin-server-*-exec.jar"))
        if not jars:
            raise InfraError(f"no zipkin-server-*-exec.jar in {self.libs_dir}")
        return jars[-1]

    def healthy(self) -> bool:
        """GET /health answers 200."""
        try:
            return httpx.get(f"http://{HOST}:{self.port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 90.0) -> None:
        """Start Zipkin and wait for /health; a running Zipkin is left alone."""
        if self.is_running():
            return
        java = require_tool("java", "to run Zipkin (install a JDK 17+, or use --no-zipkin)")
        ensure_port_free(self.port, "zipkin")
        jar = self.ensure_jar()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = base_env() | {
            "QUERY_PORT": str(self.port),
            "STORAGE_TYPE": "mem",
            "MEM_MAX_SPANS": str(self.max_spans),
        }
        p = "--armeria.ports[0]"
        proc = spawn(
            # C1 only: a trace viewer needs a fast start more than peak throughput
            [
                java,
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                str(jar),
                f"{p}.port={self.port}",
                f"{p}.ip={HOST}",
                f"{p}.protocols[0]=http",
            ],
            pid_file=self.pid_file,
            log_file=self.log_file,
            env=env,
            cwd=self.data_dir,
        )
        wait_until(
            self.healthy,
            what="zipkin",
            timeout=timeout,
            log_file=self.log_file,
            proc=proc,
            interval=0.25,
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, SIGKILL after `timeout`."""
        stop_pid_file(self.pid_file, timeout)
