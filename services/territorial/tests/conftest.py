"""Territorial tests: a migrated database per test and an HTTP-only app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from importlib.resources import files
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from juntos_catalogo import catalogo
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.testing import bearer, service_client, settings_for_tests
from territorial.main import create_app

MIGRATIONS = Path(str(files("territorial") / "migrations" / "versions"))
CBTS = [c.codigo for c in catalogo().condiciones_basicas_territoriales]


@pytest.fixture
async def app(database_url: str) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(settings_for_tests("territorial", database_url=database_url))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


def como(app: FastAPI, role: Role, scope: str | None = None, sub: str | None = None) -> dict:
    return bearer(app, role, scope, sub=sub)


def municipal(app: FastAPI, municipio: str) -> dict:
    return como(app, Role.MUNICIPAL, municipio, sub=f"coord-{municipio}")


def encuesta(
    fecha: str = "2026-03-01",
    estados: Mapping[str, str] | None = None,
    defecto: str = "CUMPLE",
) -> dict:
    """A survey body rating every CBT `defecto` except those in `estados`."""
    estados = estados or {}
    return {
        "fecha": fecha,
        "condiciones": {
            c: {"estado": estados.get(c, defecto), "evidencia": f"informe {c}"} for c in CBTS
        },
    }


async def levantar(
    client: httpx.AsyncClient, app: FastAPI, municipio: str, **kwargs
) -> httpx.Response:
    r = await client.post(
        f"/v1/municipios/{municipio}/lbt",
        json=encuesta(**kwargs),
        headers=municipal(app, municipio),
    )
    assert r.status_code == 201, r.text
    return r
