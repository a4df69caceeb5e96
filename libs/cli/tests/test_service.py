"""LocalService runs an ASGI app with uvicorn, detached, and knows when it is ready."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest
from juntos_cli.infra.process import StartupError, free_port, port_open
from juntos_cli.infra.service import LocalService

APP = """
import os

def create_app():
    if os.environ.get("CRASH"):
        raise RuntimeError("boom: misconfigured")

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = os.environ["DATABASE_URL"].encode() if scope["path"] == "/env" else b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
    return app
"""


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "src" / "fakesvc"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(textwrap.dedent(APP))
    monkeypatch.syspath_prepend(str(pkg.parent))
    monkeypatch.setenv("PYTHONPATH", str(pkg.parent))
    return tmp_path


def _service(app_dir: Path, **env: str) -> LocalService:
    return LocalService(
        "fakesvc",
        free_port(),
        app_dir / "run",
        app_dir / "logs",
        {"DATABASE_URL": "postgresql+asyncpg://x/fakesvc", **env},
    )


def test_service_starts_detached_with_its_env_and_stops(app_dir: Path) -> None:
    service = _service(app_dir)
    assert service.app_exists()
    try:
        service.start()
        service.wait_ready(timeout=30)
        assert service.is_running() and service.pid
        assert httpx.get(f"{service.url}/env").text == "postgresql+asyncpg://x/fakesvc"
        pid = service.pid
        service.start()  # idempotent
        assert service.pid == pid
    finally:
        service.stop()
    assert not service.is_running()
    assert not port_open(service.port)


def test_crashing_service_fails_fast_with_its_log(app_dir: Path) -> None:
    service = _service(app_dir, CRASH="1")
    try:
        service.start()
        with pytest.raises(StartupError, match="boom: misconfigured"):
            service.wait_ready(timeout=30)
    finally:
        service.stop()


def test_missing_app_is_detected(app_dir: Path) -> None:
    assert not LocalService("nosuchsvc", 1, app_dir, app_dir, {}).app_exists()
