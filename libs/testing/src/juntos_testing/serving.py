"""Real HTTP and the real CLI in tests: a service on a local port, `juntos` as a subprocess."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from juntos_cli.infra.home import JuntosHome, repo_root
from juntos_cli.infra.process import free_port, port_is_free
from juntos_cli.stack import Ports, Stack


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


@contextmanager
def dev_stack(home: Path, *, zipkin: bool = True, timeout: float = 300) -> Iterator[Stack]:
    """`juntos dev up` in `home` on free ports (JUNTOS_HOME set meanwhile, for the CLI and its
    subprocesses); `juntos dev down` afterwards, and never servers left behind."""
    first = free_run(9)
    ports = Ports(
        postgres=first,
        kafka=first + 1,
        kafka_controller=first + 2,
        zipkin=first + 3,
        services=first + 4,
    )
    before = os.environ.get("JUNTOS_HOME")
    os.environ["JUNTOS_HOME"] = str(home)
    try:
        up = juntos(
            "dev",
            "up",
            *("--pg-port", str(ports.postgres)),
            *("--kafka-port", str(ports.kafka)),
            *("--kafka-controller-port", str(ports.kafka_controller)),
            *("--zipkin-port", str(ports.zipkin)),
            *("--service-port", str(ports.services)),
            *(() if zipkin else ("--no-zipkin",)),
            timeout=timeout,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        print(up.stdout)
        yield Stack(JuntosHome(home), repo_root(), ports)
    finally:
        down = juntos("dev", "down")
        if down.returncode != 0 and home.exists():  # never leave servers behind
            Stack(JuntosHome(home), repo_root(), ports).down(say=lambda _: None)
        if before is None:
            os.environ.pop("JUNTOS_HOME", None)
        else:
            os.environ["JUNTOS_HOME"] = before


def free_run(n: int) -> int:
    """The first of `n` consecutive free ports below the kernel's ephemeral range.

    `dev up` binds its ports seconds after they are chosen; a port from the ephemeral range may
    meanwhile become the local end of some outgoing connection (a busy machine opens thousands),
    and `dev up` then refuses it. The kernel never hands out ports below that range.
    """
    lowest = _ephemeral_start()
    for _ in range(200):
        first = random.randrange(10_000, lowest - n)
        if all(port_is_free(first + i) for i in range(n)):
            return first
    raise RuntimeError(f"no {n} consecutive free ports below {lowest}")


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default
