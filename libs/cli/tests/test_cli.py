"""`juntos dev` commands: error paths stay one red line; up/status/down on real servers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from juntos_cli.infra.home import JuntosHome
from juntos_cli.infra.process import free_port, port_open
from juntos_cli.main import app
from juntos_cli.stack import Ports, Stack
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "juntos-home"
    monkeypatch.setenv("JUNTOS_HOME", str(path))
    return path


@pytest.fixture
def listener() -> Iterator[int]:
    """A port some other process (here: this test) already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _ports_args() -> list[str]:
    return [
        "--pg-port",
        str(free_port()),
        "--kafka-port",
        str(free_port()),
        "--kafka-controller-port",
        str(free_port()),
        "--zipkin-port",
        str(free_port()),
    ]


def test_status_on_an_empty_home(home: Path) -> None:
    result = runner.invoke(app, ["dev", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.count("stopped") == 9
    assert "running" not in result.output
    assert not home.exists()  # looking does not create anything


def test_taken_port_is_one_red_line_without_traceback(home: Path, listener: int) -> None:
    env = {**os.environ, "JUNTOS_HOME": str(home)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "juntos_cli.main",
            "dev",
            "up",
            "--no-services",
            *_ports_args(),
            "--pg-port",
            str(listener),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"port {listener} for postgres is already in use" in lines[0]
    assert not (home / "postgres").exists()  # failed before starting anything


def test_missing_java_is_one_line(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = runner.invoke(app, ["dev", "up", "--no-services", *_ports_args()])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: `java` was not found on PATH; it is needed to run Kafka and Zipkin "
        "(install a JDK 17+)"
    ]


def test_missing_prometheus_is_one_line_with_the_install_hint(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    args = [*_ports_args(), "--prometheus-port", str(free_port())]
    result = runner.invoke(app, ["dev", "up", "--no-services", "--with-metrics", *args])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: `prometheus` was not found on PATH; it is needed for --with-metrics (install it: "
        "apt-get install prometheus; or leave out --with-metrics)"
    ]
    assert not home.exists()  # failed before starting anything


def test_up_status_down_on_real_servers(home: Path, tmp_path: Path) -> None:
    """With the prometheus binary installed (CI installs it best-effort), --with-metrics too."""
    metrics = ["--prometheus-port", str(free_port())] if shutil.which("prometheus") else []
    args = [*_ports_args(), *metrics]
    ports = dict(zip(args[::2], map(int, args[1::2]), strict=True))
    running = 4 if metrics else 3
    try:
        flags = ["--no-services", *(["--with-metrics"] if metrics else [])]
        result = runner.invoke(app, ["dev", "up", *flags, *args])
        assert result.exit_code == 0, result.output
        assert f"127.0.0.1:{ports['--kafka-port']}" in result.output
        assert f"postgresql://postgres@127.0.0.1:{ports['--pg-port']}/enrollment" in result.output
        assert f"http://127.0.0.1:{ports['--zipkin-port']}/zipkin/" in result.output
        if metrics:
            assert f"http://127.0.0.1:{ports['--prometheus-port']}" in result.output
            assert (home / "prometheus" / "prometheus.yml").is_file()
            assert (home / "logs" / "prometheus.log").is_file()
        assert all(port_open(p) for p in ports.values())

        _statements_show_the_stack_queries(home, ports["--pg-port"])

        again = runner.invoke(app, ["dev", "up", "--no-services"])  # ports come from stack.json
        assert again.exit_code == 0, again.output
        assert again.output.count("already running") == 3

        status = runner.invoke(app, ["dev", "status"])
        assert status.exit_code == 0
        assert status.output.count("running") == running
        assert status.output.count("stopped") == 9 - running

        down = runner.invoke(app, ["dev", "down"])
        assert down.exit_code == 0, down.output
        assert not any(port_open(p) for p in ports.values())
        assert (home / "postgres" / "pgdata" / "PG_VERSION").exists()  # data is kept

        purge = runner.invoke(app, ["dev", "down", "--purge"])
        assert purge.exit_code == 0, purge.output
        assert not home.exists()
    finally:
        if home.exists():  # never leave servers behind, whatever failed above
            stack = Stack(JuntosHome(home), Path.cwd(), Ports.load(home / "stack.json") or Ports())
            stack.down(say=lambda _: None)


def _statements_show_the_stack_queries(home: Path, pg_port: int) -> None:
    """pg_stat_statements is loaded by `dev up`: a query shows, normalised, then resets."""
    stack = Stack(JuntosHome(home), Path.cwd(), Ports.load(home / "stack.json") or Ports())
    stack.postgres.psql("SELECT count(*) FROM pg_class WHERE relname = 'juntos_probe'", "offer")
    shown = runner.invoke(app, ["dev", "statements", "--top", "50"])
    assert shown.exit_code == 0, shown.output
    probe = [s for s in stack.postgres.top_statements(50) if "relname =" in s["query"]]
    assert [(s["database"], s["calls"]) for s in probe] == [("offer", 1)]
    assert "'juntos_probe'" not in probe[0]["query"]  # constants are normalised away
    assert "offer" in shown.output and "pg_class" in shown.output
    reset = runner.invoke(app, ["dev", "statements", "--reset"])
    assert reset.exit_code == 0, reset.output
    assert not [s for s in stack.postgres.top_statements(50) if "pg_class" in s["query"]]


def test_statements_of_a_stopped_stack_is_one_line(home: Path) -> None:
    result = runner.invoke(app, ["dev", "statements"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: postgres is not running: start the stack with `juntos dev up`"
    ]


def test_dev_token_is_accepted_by_a_service_and_carries_its_scope(home: Path) -> None:
    import asyncio

    import jwt
    from enrollment.main import create_app
    from juntos_web.testing import service_client, settings_for_tests

    home.mkdir(parents=True)
    secret = "dev-secret-for-this-test-0123456789abcdef"
    (home / "dev-jwt-secret").write_text(secret)
    result = runner.invoke(app, ["dev", "token", "--role", "municipal", "--scope", "05001"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["role"], claims["mpio"]) == ("MUNICIPAL", "05001")

    async def call() -> int:
        service = create_app(settings_for_tests("enrollment", jwt_secret=secret))
        async with service_client(service) as client:
            response = await client.get("/v1/info", headers={"Authorization": f"Bearer {token}"})
            return response.status_code

    assert asyncio.run(call()) == 200


def test_dev_token_errors_are_one_line(home: Path) -> None:
    missing = runner.invoke(app, ["dev", "token", "--role", "NACIONAL"])
    assert missing.exit_code == 1 and "run `juntos dev up` first" in missing.output
    home.mkdir(parents=True)
    (home / "dev-jwt-secret").write_text("s" * 40)
    for args, message in (
        (["--role", "JEFE"], "not a valid Role"),
        (["--role", "NACIONAL", "--scope", "05"], "has no scope"),
    ):
        result = runner.invoke(app, ["dev", "token", *args])
        assert result.exit_code == 1
        assert message in result.output and "Traceback" not in result.output


def test_offer_gets_enrollments_url_and_a_service_token(home: Path) -> None:
    """Offer matches RUAF rows through enrollment's API: dev up hands it the way there."""
    import jwt
    from juntos_cli.infra.home import JuntosHome
    from juntos_cli.stack import Ports, Stack

    secret = "dev-secret-for-this-test-0123456789abcdef"
    stack = Stack(JuntosHome(home), Path.cwd(), Ports())
    env = stack._offer_env({"JUNTOS_JWT_SECRET": secret})
    assert env["OFFER_ENROLLMENT_URL"] == stack.services["enrollment"].url
    claims = jwt.decode(
        env["OFFER_ENROLLMENT_TOKEN"], secret, algorithms=["HS256"], audience="juntos-api"
    )
    assert (claims["role"], claims["entidad"]) == ("ENTIDAD", "juntos-offer")


def test_without_zipkin_no_service_exports_spans(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dev up --no-zipkin`: every service is told to export nothing, not to post to a dead port."""
    from juntos_cli.infra.service import LocalService

    monkeypatch.setattr(LocalService, "start", lambda self: None)  # env only: no processes
    monkeypatch.setattr(LocalService, "wait_ready", lambda self, timeout: None)
    stack = Stack(JuntosHome(home), Path.cwd(), Ports(zipkin=free_port()))
    stack._start_services(timeout=1, say=lambda _: None)
    exporters = {name: s.env["OTEL_TRACES_EXPORTER"] for name, s in stack.services.items()}
    assert exporters == dict.fromkeys(stack.services, "none")
