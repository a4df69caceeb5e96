"""Offer tests: a migrated database per test, an HTTP-only app over it, and a real enrollment.

Other services' events are applied through offer's own consumer handlers (`publicar`), in a
transaction of the real database, as the consumer runner does; the Kafka path itself is covered
by test_eventos_kafka.py. Enrollment, for RUAF matching, is the real app served by uvicorn.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from juntos_events.envelope import Envelope
from juntos_events.migrate import upgrade
from juntos_testing.serving import serve
from juntos_web import Role
from juntos_web.testing import TEST_ENTIDAD, bearer, service_client, settings_for_tests
from offer.consumers import subscriptions
from offer.main import create_app
from offer.settings import OfferSettings
from sqlalchemy import text

MIGRATIONS = Path(str(files("offer") / "migrations" / "versions"))
ENROLLMENT_MIGRATIONS = Path(str(files("enrollment") / "migrations" / "versions"))
ENROLLMENT_SAMPLES = Path(str(files("enrollment"))).parents[1] / "samples"


def offer_settings(database_url: str, **values: Any) -> OfferSettings:
    base = settings_for_tests("offer", database_url=database_url, **values).model_dump()
    return OfferSettings(**{**base, **values})


@pytest.fixture
async def app(database_url: str) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(offer_settings(database_url))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


def como(app: FastAPI, role: Role, scope: str | None = None, sub: str | None = None) -> dict:
    return bearer(app, role, scope, sub=sub)


def entidad(app: FastAPI, nombre: str = TEST_ENTIDAD) -> dict:
    return como(app, Role.ENTIDAD, nombre)


def programa_body(**cambios: Any) -> dict:
    return {
        "entidad": TEST_ENTIDAD,
        "titulo": "Atención integral a la primera infancia",
        "nivel": "NACIONAL",
        "alcance": "INTEGRANTE",
        "logros": ["LB8"],
        "elegibilidad": {"edad_maxima": 5},
        "municipios": ["05001", "05002"],
        **cambios,
    }


async def registrar(
    client: httpx.AsyncClient, app: FastAPI, quien: str = TEST_ENTIDAD, **cambios: Any
) -> dict:
    cuerpo = programa_body(entidad=quien, **cambios)
    r = await client.post("/v1/programas", json=cuerpo, headers=entidad(app, quien))
    assert r.status_code == 201, r.text
    return r.json()


async def habilitar(
    client: httpx.AsyncClient,
    app: FastAPI,
    programa: dict,
    cupos: int,
    municipio: str = "05001",
    periodo: str = "2026",
) -> dict:
    r = await client.put(
        f"/v1/programas/{programa['programa_id']}/cupos/{municipio}/{periodo}",
        json={"cupos": cupos},
        headers=entidad(app, programa["entidad"]),
    )
    assert r.status_code == 200, r.text
    return r.json()


# --- other services' events, through offer's consumer handlers -------------------------------


async def publicar(
    app: FastAPI, servicio: str, tipo: str, datos: dict, *, cuando: datetime | None = None
) -> None:
    envelope = Envelope(
        id=str(uuid.uuid4()),
        service=servicio,
        event_type=tipo,
        schema_version=1,
        subject=str(datos.get("familia_id", "")),
        time=cuando or datetime.now(UTC),
        data=datos,
    )
    async with app.state.offer.engine.begin() as conn:
        await subscriptions.apply_one(envelope, conn)


def miembro(
    nacimiento: str, sexo: str = "M", parentesco: str = "HIJO", **attrs: Any
) -> dict[str, Any]:
    return {
        "integrante_id": attrs.pop("integrante_id", str(uuid.uuid4())),
        "fecha_nacimiento": nacimiento,
        "sexo": sexo,
        "parentesco": parentesco,
        "discapacidad": False,
        "gestante": False,
        "etnia": "NINGUNA",
        **attrs,
    }


@dataclass
class Familia:
    familia_id: str
    municipio: str
    integrantes: list[dict[str, Any]]

    def id_de(self, i: int) -> str:
        return str(self.integrantes[i]["integrante_id"])


async def familia(
    app: FastAPI,
    *miembros: dict[str, Any],
    municipio: str = "05001",
    desplazada: bool = False,
    familia_id: str | None = None,
) -> Familia:
    """A family enrollment preselected (FamiliaPreseleccionada), as offer receives it."""
    integrantes = list(miembros) or [miembro("1985-03-14", parentesco="JEFE")]
    f = Familia(familia_id or str(uuid.uuid4()), municipio, integrantes)
    await publicar(
        app,
        "enrollment",
        "FamiliaPreseleccionada",
        {
            "familia_id": f.familia_id,
            "municipio": municipio,
            "registro": "RUPD" if desplazada else "SISBEN",
            "desplazada": desplazada,
            "nivel_sisben": None if desplazada else 1,
            "integrantes": integrantes,
        },
    )
    return f


async def tablero(
    app: FastAPI,
    f: Familia,
    fecha: str,
    pendientes: dict[str, list[str]],
    *,
    alcanzados: tuple[str, ...] = (),
    cuando: datetime | None = None,
) -> None:
    """A LogrosEvaluados board: `pendientes` POR_ALCANZAR (with members), the rest as given."""
    evaluaciones = [
        {"logro": lb, "estado": "POR_ALCANZAR", "integrantes": m} for lb, m in pendientes.items()
    ] + [{"logro": lb, "estado": "ALCANZADO", "integrantes": []} for lb in alcanzados]
    await publicar(
        app,
        "accompaniment",
        "LogrosEvaluados",
        {
            "familia_id": f.familia_id,
            "municipio": f.municipio,
            "fecha": fecha,
            "desplazada": False,
            "evaluaciones": evaluaciones,
        },
        cuando=cuando,
    )


def datos_de_plan(f: Familia, version: int, prioridades: list[str]) -> dict[str, Any]:
    """A PlanFamiliarConstruido's data: `prioridades` in that order."""
    return {
        "familia_id": f.familia_id,
        "municipio": f.municipio,
        "version": version,
        "fecha": "2026-04-01",
        "prioridades": [
            {"logro": lb, "orden": i, "fecha_meta": "2026-12-31", "acciones": 1}
            for i, lb in enumerate(prioridades, start=1)
        ],
    }


async def plan(app: FastAPI, f: Familia, version: int, prioridades: list[str]) -> None:
    datos = datos_de_plan(f, version, prioridades)
    await publicar(app, "accompaniment", "PlanFamiliarConstruido", datos)


async def eventos(app: FastAPI, tipo: str) -> list[dict]:
    async with app.state.offer.engine.connect() as conn:
        filas = await conn.execute(
            text("SELECT data FROM events WHERE event_type = :t ORDER BY global_position"),
            {"t": tipo},
        )
        return [dict(r.data) for r in filas]


# --- a real enrollment, for RUAF matching ---------------------------------------------------


@dataclass
class EnrollmentReal:
    url: str
    app: FastAPI

    def token(self, role: Role = Role.ENTIDAD, scope: str | None = "offer") -> str:
        return bearer(self.app, role, scope)["Authorization"].removeprefix("Bearer ")


@pytest.fixture
async def enrollment(pg_server: Any) -> AsyncIterator[EnrollmentReal]:
    """Enrollment on its own database and port, with the SISBEN sample imported."""
    from enrollment.main import create_app as enrollment_app

    nombre = f"t_enrollment_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(nombre)
    url = pg_server.async_url(nombre)
    await upgrade(url, ENROLLMENT_MIGRATIONS)
    app = enrollment_app(settings_for_tests("enrollment", database_url=url))
    servidor = serve(app)
    base = next(servidor)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            r = await c.post(
                "/v1/importaciones/SISBEN",
                content=(ENROLLMENT_SAMPLES / "sisben-muestra.csv").read_bytes(),
                headers={"content-type": "text/csv", **bearer(app, Role.NACIONAL)},
            )
            assert r.status_code == 200, r.text
        yield EnrollmentReal(base, app)
    finally:
        next(servidor, None)
        pg_server.drop_database(nombre)


async def buscar_en_enrollment(e: EnrollmentReal, tipo: str, numero: str) -> dict:
    async with httpx.AsyncClient(base_url=e.url) as c:
        r = await c.post(
            "/v1/familias/busqueda",
            json={"tipo_documento": tipo, "numero_documento": numero},
            headers={"Authorization": f"Bearer {e.token(Role.NACIONAL, None)}"},
        )
    assert r.status_code == 200, r.text
    return r.json()


def hoy() -> date:
    return date.today()
