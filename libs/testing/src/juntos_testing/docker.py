"""Is a Docker engine reachable? Tests built on testcontainers skip quickly when it is not."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

SKIP_REASON = (
    "no Docker engine answers (DOCKER_HOST, /var/run/docker.sock); testcontainers needs one"
)

requires_docker = pytest.mark.docker


@functools.cache
def docker_available(timeout: float = 1.0) -> bool:
    """True when a Docker engine answers `GET /_ping`; False within `timeout` otherwise."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        return _ping(host, timeout)
    candidates = [Path("/var/run/docker.sock"), Path.home() / ".docker/run/docker.sock"]
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(runtime) / "docker.sock")
    return any(p.exists() and _ping(f"unix://{p}", timeout) for p in candidates)


def _ping(url: str, timeout: float) -> bool:
    parsed = urlparse(url)
    try:
        if parsed.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parsed.path)
        elif parsed.scheme in ("tcp", "http", "https"):
            sock = socket.create_connection(
                (parsed.hostname or "localhost", parsed.port or 2375), timeout=timeout
            )
            if parsed.scheme == "https" or os.environ.get("DOCKER_TLS_VERIFY"):
                sock.close()
                return True  # TLS engine: a TCP answer is as far as a quick probe goes
        else:
            return False
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status = sock.recv(64).split(b"\r\n", 1)[0]
        return b" 200" in status
    except OSError:
        return False
