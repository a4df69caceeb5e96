"""pytest plugin `juntos`: real PostgreSQL and Kafka servers, started once per test session.

Servers live in the session's temp folder on free ports, so they never clash with a running
`juntos dev up`, and are stopped at the end even when tests fail (a watchdog process stops
them if pytest itself is killed). With JUNTOS_TEST_REUSE=1 they live in
`<repo>/.juntos/test-servers` and keep running between sessions, for fast local iteration.
Under pytest-xdist every worker gets its own servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from juntos_cli.infra.home import kafka_libs_dir, repo_root, test_servers_dir
from juntos_cli.infra.kafka import LocalKafka
from juntos_cli.infra.postgres import LocalPostgres
from juntos_cli.infra.process import InfraError, free_port, port_is_free

from juntos_testing.docker import SKIP_REASON, docker_available
from juntos_testing.publishing import kafka_producer  # noqa: F401  (a fixture of the plugin)

REUSE_ENV = "JUNTOS_TEST_REUSE"


def _reuse() -> bool:
    return os.environ.get(REUSE_ENV, "") not in ("", "0", "false", "no")


TEST_SECRETS = {
    # enrollment's key-encryption key (a Fernet key) and document pepper, for tests only
    "ENROLLMENT_KEKS": "dGVzdHMtb25seS1rZWstMDEyMzQ1Njc4OWFiY2RlZiE=",
    "ENROLLMENT_DOCUMENT_PEPPER": "tests-only-document-pepper",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: needs a Docker engine (testcontainers); skipped when none is reachable"
    )
    # Services refuse to start without their secrets; tests build apps from plain settings.
    for name, value in TEST_SECRETS.items():
        os.environ.setdefault(name, value)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None and not docker_available():
        pytest.skip(SKIP_REASON)


def pytest_report_header(config: pytest.Config) -> str | None:
    if _reuse():
        return f"juntos: {REUSE_ENV}=1, servers kept running in {test_servers_dir()}"
    return None


# --- session servers -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def juntos_servers_home() -> Iterator[Path]:
    """Folder holding this session's server data (temp, or the reuse folder).

    Not under pytest's own temp folder: pytest deletes all but the newest three of those when a
    session starts, so a second session on the same machine (a developer's run beside CI's)
    would delete a running server's data under it.
    """
    if _reuse():
        home = test_servers_dir()
        home.mkdir(parents=True, exist_ok=True)
        yield home
        return
    home = Path(tempfile.mkdtemp(prefix="juntos-test-servers-"))
    watchdog = _start_watchdog(home)
    yield home
    with contextlib.suppress(psutil.Error):
        watchdog.terminate()
        watchdog.wait(5)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(juntos_servers_home: Path) -> Iterator[LocalPostgres]:
    """A real PostgreSQL (fsync off) for the whole session; trust auth, user `postgres`."""
    data = juntos_servers_home / "postgres"
    with _lock(juntos_servers_home, "postgres"):
        probe = LocalPostgres(data, 0)
        ports = _ports(data, ["port"], probe.is_running())
        server = LocalPostgres(data, ports["port"], fast=True)
        server.start()
    yield server
    if not _reuse():
        server.stop()


@pytest.fixture(scope="session")
def kafka_server(juntos_servers_home: Path) -> Iterator[LocalKafka]:
    """A real single-node Kafka (KRaft) broker for the session; topics are never auto-created."""
    data = juntos_servers_home / "kafka"
    repo = repo_root()
    with _lock(juntos_servers_home, "kafka"):
        probe = LocalKafka(data, 0, 0, kafka_libs_dir(repo), repo)
        ports = _ports(data, ["port", "controller_port"], probe.is_running())
        server = LocalKafka(
            data, ports["port"], ports["controller_port"], kafka_libs_dir(repo), repo, heap="512m"
        )
        server.start()
    yield server
    if not _reuse():
        server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: LocalKafka) -> str:
    """`host:port` of the session's broker."""
    return kafka_server.bootstrap


@pytest.fixture
def database_url(pg_server: LocalPostgres, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test, as a `postgresql+asyncpg://` URL; dropped after."""
    name = database_name_for(request.node.name)
    pg_server.create_database(name)
    yield pg_server.async_url(name)
    with contextlib.suppress(InfraError):
        pg_server.drop_database(name)


def database_name_for(test_name: str) -> str:
    """A unique, valid database name that still tells which test made it."""
    slug = re.sub(r"[^a-z0-9]+", "_", test_name.lower()).strip("_")[:40]
    return f"t_{slug}_{uuid.uuid4().hex[:8]}"


# --- internals -----------------------------------------------------------------------------


@contextlib.contextmanager
def _lock(home: Path, name: str) -> Iterator[None]:
    """Serialise starts on a shared folder (xdist workers with JUNTOS_TEST_REUSE=1)."""
    with (home / f".{name}.lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _ports(data: Path, names: list[str], running: bool) -> dict[str, int]:
    """Free ports for a server; in reuse mode the remembered ones while they still work."""
    saved_file = data / "ports.json"
    if _reuse() and saved_file.is_file():
        saved: dict[str, int] = json.loads(saved_file.read_text())
        if set(saved) == set(names) and (running or all(port_is_free(p) for p in saved.values())):
            return saved
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = free_port()
        if port not in ports.values():
            ports[names[len(ports)]] = port
    if _reuse():
        data.mkdir(parents=True, exist_ok=True)
        saved_file.write_text(json.dumps(ports))
    return ports


def _start_watchdog(home: Path) -> subprocess.Popen[bytes]:
    me = psutil.Process()
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "juntos_testing.watchdog",
            str(me.pid),
            str(me.create_time()),
            str(home),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
