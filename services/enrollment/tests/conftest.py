"""Enrollment tests: a migrated database per test and an HTTP-only app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path

import httpx
import pytest
from enrollment.main import create_app, servicios
from fastapi import FastAPI
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.testing import bearer, service_client, settings_for_tests

MIGRATIONS = Path(str(files("enrollment") / "migrations" / "versions"))
SAMPLES = Path(__file__).parents[1] / "samples"


@pytest.fixture
async def app(database_url: str) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(settings_for_tests("enrollment", database_url=database_url))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


def como(app: FastAPI, role: Role, scope: str | None = None, sub: str | None = None) -> dict:
    return bearer(app, role, scope, sub=sub)


async def importar_muestra(
    client: httpx.AsyncClient, app: FastAPI, registro: str, nombre: str | None = None
) -> dict:
    archivo = SAMPLES / (nombre or f"{registro.lower()}-muestra.csv")
    r = await client.post(
        f"/v1/importaciones/{registro}",
        content=archivo.read_bytes(),
        headers={"content-type": "text/csv", **como(app, Role.NACIONAL)},
    )
    assert r.status_code == 200, r.text
    return r.json()


__all__ = ["como", "importar_muestra", "servicios"]
