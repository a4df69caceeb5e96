"""One of the five FastAPI services, run by uvicorn as a detached process."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx
import psutil

from juntos_cli.infra.process import (
    HOST,
    PidFileProcess,
    ensure_port_free,
    running_process,
    spawn,
    stop_pid_file,
    wait_until,
)


class LocalService(PidFileProcess):
    """`python -m uvicorn <name>.main:create_app --factory` on 127.0.0.1:<port>.

    The apps are black boxes: configured through the environment, ready when GET /readyz
    answers 200 (GET /healthz only says the process is alive).
    """

    def __init__(
        self, name: str, port: int, run_dir: Path, log_dir: Path, env: Mapping[str, str]
    ) -> None:
        self.name = name
        self.port = port
        self.env = dict(env)
        self.pid_file = Path(run_dir) / f"{name}.pid"
        self.log_file = Path(log_dir) / f"{name}.log"
        self._proc: psutil.Process | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"

    def app_exists(self) -> bool:
        """True when `<name>.main` can be imported (the app may not be written yet)."""
        try:
            return importlib.util.find_spec(f"{self.name}.main") is not None
        except ImportError:
            return False

    def ready(self) -> bool:
        """GET /readyz answers 200."""
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        """Launch uvicorn without waiting; a running service is left alone."""
        if self.is_running():
            return
        ensure_port_free(self.port, f"service {self.name}")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._proc = spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"{self.name}.main:create_app",
                "--factory",
                "--host",
                HOST,
                "--port",
                str(self.port),
            ],
            pid_file=self.pid_file,
            log_file=self.log_file,
            env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait for /readyz; fail with the tail of the service log if it dies or stalls."""
        wait_until(
            self.ready,
            what=f"service {self.name}",
            timeout=timeout,
            log_file=self.log_file,
            proc=self._proc or running_process(self.pid_file),
            interval=0.3,
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (uvicorn drains requests and runs shutdown hooks), SIGKILL after `timeout`."""
        stop_pid_file(self.pid_file, timeout)
