"""Real HTTP and the real CLI in tests: a service on a local port, `juntos` as a subprocess."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI
from juntos_cli.infra.process import free_port


def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free local port in a thread; yields its base URL.

    For tests that need real HTTP (a CLI in a subprocess, another service calling this one):
    `yield from serve(app)` in a fixture.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{app.title} did not start on port {port}")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def juntos(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the operators' CLI as a user would: a subprocess, no stdin, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "juntos_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
