"""`juntos territorial publish-catalogue`: the operator's command against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from juntos_testing.serving import juntos, serve
from juntos_web import Role
from juntos_web.testing import closed_port

from .conftest import como


@pytest.fixture
def servidor(app: FastAPI) -> Iterator[str]:
    yield from serve(app)


async def test_publish_catalogue_once_then_nothing(app: FastAPI, servidor: str) -> None:
    token = como(app, Role.NACIONAL)["Authorization"].removeprefix("Bearer ")
    comando = ("territorial", "publish-catalogue", "--url", servidor, "--token", token)
    primera = await asyncio.to_thread(juntos, *comando)
    assert primera.returncode == 0, primera.stderr
    assert "published 33 department(s) and 1122 municipality(ies)" in primera.stdout
    segunda = await asyncio.to_thread(juntos, *comando)
    assert segunda.returncode == 0 and "already published" in segunda.stdout


async def test_errors_are_one_line_without_traceback(app: FastAPI, servidor: str) -> None:
    municipal = como(app, Role.MUNICIPAL, "05001")["Authorization"].removeprefix("Bearer ")
    prohibido = await asyncio.to_thread(
        juntos, "territorial", "publish-catalogue", "--url", servidor, "--token", municipal
    )
    caido = await asyncio.to_thread(
        juntos,
        "territorial",
        "publish-catalogue",
        "--url",
        f"http://127.0.0.1:{closed_port()}",
        "--token",
        "x",
    )
    for r, texto in ((prohibido, "403"), (caido, "cannot reach territorial")):
        assert r.returncode == 1
        assert texto in r.stderr
        assert "Traceback" not in r.stderr + r.stdout
