"""Role × territory for every accompaniment route. The family lives in 05001 and is assigned to
the sample cogestor of 05001; writes carry a stale If-Match, so the one caller allowed to write
gets 412 (the command was reached, nothing changed)."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from accompaniment.ejemplos import familia_ejemplo
from fastapi import FastAPI
from juntos_web import Role
from juntos_web.testing import (
    assert_access_matrix,
    assert_every_route_declares_roles,
    municipio_access,
    sample_callers,
    service_client,
)

from .conftest import MUNICIPIO, cogestor, familia_vinculada

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
STALE = {"If-Match": '"999"'}


@pytest.fixture
async def anonimo(app: FastAPI) -> httpx.AsyncClient:
    async with service_client(app) as client:
        yield client


@pytest.fixture
async def familia(anonimo: httpx.AsyncClient, app: FastAPI) -> str:
    linea_base, miembros, _ = familia_ejemplo()
    fid = await familia_vinculada(app, miembros)
    r = await anonimo.post(
        f"/v1/casos/{fid}/linea-base",
        json={
            "fecha": date.today().isoformat(),
            "duracion_minutos": 60,
            "linea_base": linea_base.model_dump(mode="json"),
        },
        headers=cogestor(app),
    )
    assert r.status_code == 201, r.text
    return fid


def only(status: dict[Role, int], default: int = 403) -> dict:
    return {(role, scope): status.get(role, default) for role, scope in sample_callers(MUNICIPIO)}


def test_every_route_declares_roles(app: FastAPI) -> None:
    assert_every_route_declares_roles(app)


async def test_reads(anonimo: httpx.AsyncClient, app: FastAPI, familia: str) -> None:
    lectores = municipio_access(MUNICIPIO, roles=(N, D, M, C))
    for path in ("", "/logros", "/visitas"):
        await assert_access_matrix(anonimo, app, "GET", f"/v1/casos/{familia}{path}", lectores)
    await assert_access_matrix(  # the bulk board read: the single board's table
        anonimo, app, "POST", "/v1/casos/logros", lectores, json={"familia_ids": [familia]}
    )
    await assert_access_matrix(
        anonimo, app, "GET", f"/v1/casos?municipio={MUNICIPIO}", {**lectores, (C, "05002"): 200}
    )
    await assert_access_matrix(anonimo, app, "GET", f"/v1/sesiones?municipio={MUNICIPIO}", lectores)


async def test_writes_belong_to_the_assigned_cogestor(
    anonimo: httpx.AsyncClient, app: FastAPI, familia: str
) -> None:
    solo_cogestor = {**only({}), (C, MUNICIPIO): 412}
    visita = {"fecha": "2026-01-01", "duracion_minutos": 10}
    escrituras = [
        ("POST", "visitas", {**visita, "tipo": "SEGUIMIENTO"}),
        ("POST", "seguimientos", {**visita, "cambios": {}}),
        (
            "POST",
            "linea-base",
            {**visita, "linea_base": familia_ejemplo()[0].model_dump(mode="json")},
        ),
        (
            "PUT",
            "plan",
            {
                "fecha": "2026-01-01",
                "prioridades": [{"logro": "LB2", "fecha_meta": "2027-01-01", "acciones": ["x"]}],
            },
        ),
    ]
    for method, path, body in escrituras:
        await assert_access_matrix(
            anonimo,
            app,
            method,
            f"/v1/casos/{familia}/{path}",
            solo_cogestor,
            json=body,
            headers=STALE,
        )
    lote = {
        "items": [
            {
                "id": str(uuid.uuid4()),
                "familia_id": familia,
                "version_vista": 0,
                "tipo": "VISITA" if False else "SEGUIMIENTO",
                "fecha": "2026-01-01",
                "duracion_minutos": 5,
                "cambios": {"hogar": {"credito_usura": False}},
            }
        ]
    }
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/sync",
        {**only({}), **{(C, s): 200 for r, s in sample_callers(MUNICIPIO) if r is C}},
        json=lote,
    )


async def test_sessions(anonimo: httpx.AsyncClient, app: FastAPI, familia: str) -> None:
    # the body names the same session each time: the first admitted caller records it, the
    # others get the same answer (idempotent by sesion_id)
    sesion = {
        "sesion_id": str(uuid.uuid4()),
        "municipio": MUNICIPIO,
        "fecha": "2026-02-01",
        "tema_logro": "LB14",
        "familias": [familia],
    }
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/sesiones",
        municipio_access(MUNICIPIO, roles=(C, M), ok=201),
        json=sesion,
    )
