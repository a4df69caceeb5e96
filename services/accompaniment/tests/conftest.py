"""Accompaniment tests: a migrated database, an HTTP-only app, and enrollment's facts fed to
the real consumer handlers (in a real transaction) the way Kafka would deliver them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from accompaniment import consumers
from accompaniment.main import create_app
from accompaniment.reglas import Miembro
from fastapi import FastAPI
from juntos_events.envelope import Envelope
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.testing import bearer, service_client, settings_for_tests

MIGRATIONS = Path(str(files("accompaniment") / "migrations" / "versions"))
MUNICIPIO = "05001"
COGESTOR = "test-cogestor-05001"  # the sub of the sample (COGESTOR, 05001) caller


@pytest.fixture
async def app(database_url: str) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(settings_for_tests("accompaniment", database_url=database_url))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


def como(app: FastAPI, role: Role, scope: str | None = None, sub: str | None = None) -> dict:
    return bearer(app, role, scope, sub=sub)


def cogestor(app: FastAPI) -> dict:
    return como(app, Role.COGESTOR, MUNICIPIO)


async def entregar(
    app: FastAPI, event_type: str, data: dict[str, Any], *, service: str = "enrollment"
) -> None:
    """Deliver one event to the service's real handler, in a transaction, as the consumer does."""
    envelope = Envelope(
        id=str(uuid.uuid4()),
        service=service,
        event_type=event_type,
        schema_version=1,
        subject=data.get("familia_id", ""),
        time=datetime.now(UTC),
        data=data,
    )
    async with app.state.engine.begin() as conn:
        await consumers.subscriptions.apply_one(envelope, conn)


def integrante(m: Miembro) -> dict[str, Any]:
    return {
        "integrante_id": m.integrante_id,
        "fecha_nacimiento": m.fecha_nacimiento.isoformat(),
        "sexo": m.sexo,
        "parentesco": m.parentesco,
        "discapacidad": m.discapacidad,
        "gestante": m.gestante,
        "etnia": "NINGUNA",
    }


async def familia_vinculada(
    app: FastAPI, miembros: list[Miembro], *, desplazada: bool = True, cogestor_id: str = COGESTOR
) -> str:
    """A family as enrollment would announce it: preselected, vinculada, assigned."""
    fid = str(uuid.uuid4())
    await entregar(
        app,
        "FamiliaPreseleccionada",
        {
            "familia_id": fid,
            "municipio": MUNICIPIO,
            "registro": "RUPD" if desplazada else "SISBEN",
            "desplazada": desplazada,
            "integrantes": [integrante(m) for m in miembros],
        },
    )
    await entregar(
        app,
        "FamiliaVinculada",
        {
            "familia_id": fid,
            "municipio": MUNICIPIO,
            "fecha_vinculacion": date.today().isoformat(),
            "fecha_limite": date.today().replace(year=date.today().year + 5).isoformat(),
            "firmante_id": miembros[0].integrante_id,
            "lugar_municipio": MUNICIPIO,
            "cogestor_id": cogestor_id,
        },
    )
    await entregar(
        app,
        "CogestorAsignado",
        {"familia_id": fid, "municipio": MUNICIPIO, "cogestor_id": cogestor_id},
    )
    return fid
