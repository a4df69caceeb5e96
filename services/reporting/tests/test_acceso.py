"""Role × territory for every reporting route: municipality, department and nation filters.

A municipal coordinator reads its municipality; a departmental one its department and its
municipalities; national staff everything. Cogestores read field operation of their
municipality only; entities the offer report only (any territory, their own slots).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from juntos_web import Role
from juntos_web.testing import (
    assert_access_matrix,
    assert_every_route_declares_roles,
    municipio_access,
    sample_callers,
    service_client,
    settings_for_tests,
)
from reporting.main import create_app

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
MPIO = "05001"

INDICADORES = (N, D, M)
CAMPO = (N, D, M, C)
OFERTA = (N, D, M, E)

RUTAS: dict[str, tuple[Role, ...]] = {
    "/v1/indicadores/familias": INDICADORES,
    "/v1/indicadores/desplazadas": INDICADORES,
    "/v1/indicadores/salidas": INDICADORES,
    "/v1/indicadores/logros": INDICADORES,
    "/v1/indicadores/logros-pendientes": INDICADORES,
    "/v1/indicadores/logros-alcanzados": INDICADORES,
    "/v1/operacion/campo": CAMPO,
    "/v1/operacion/cogestores": CAMPO,
    "/v1/operacion/visitas": CAMPO,
    "/v1/oferta/cupos": OFERTA,
    "/v1/semilla/acompanamiento-iniciado": INDICADORES,
    "/v1/semilla/cogestores-por-departamento": (N, D),
    "/v1/territorial/condiciones": INDICADORES,
    "/v1/territorial/planes": INDICADORES,
    "/v1/territorial/participacion": INDICADORES,
}


@pytest.fixture
async def app(db: str) -> FastAPI:
    return create_app(settings_for_tests("reporting", database_url=db))


@pytest.fixture
async def anonimo(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as client:
        yield client


def _departamento(roles: tuple[Role, ...]) -> dict:
    """`?departamento=05`: national staff, that department's coordinators, entities if admitted."""
    tabla = {}
    for role, scope in sample_callers(MPIO):
        dentro = role is N or (role is D and scope == "05") or role is E
        tabla[role, scope] = 200 if role in roles and dentro else 403
    return tabla


def _nacion(roles: tuple[Role, ...]) -> dict:
    return {
        (role, scope): 200 if role in roles and role in (N, E) else 403
        for role, scope in sample_callers(MPIO)
    }


def test_every_route_declares_roles(app: FastAPI) -> None:
    assert_every_route_declares_roles(app)
    documentadas = {p for p in app.openapi()["paths"] if p.startswith("/v1/")}
    assert documentadas == {*RUTAS, "/v1/info", "/v1/proyecciones"}


@pytest.mark.parametrize("ruta", sorted(RUTAS))
async def test_scope_of_every_report(anonimo: httpx.AsyncClient, app: FastAPI, ruta: str) -> None:
    roles = RUTAS[ruta]
    await assert_access_matrix(
        anonimo,
        app,
        "GET",
        f"{ruta}?municipio={MPIO}",
        municipio_access(MPIO, roles=roles, allow_entidad=E in roles),
    )
    await assert_access_matrix(anonimo, app, "GET", f"{ruta}?departamento=05", _departamento(roles))
    await assert_access_matrix(anonimo, app, "GET", ruta, _nacion(roles))
    # CSV export is the same report: the same scope
    await assert_access_matrix(
        anonimo,
        app,
        "GET",
        f"{ruta}?municipio={MPIO}&formato=csv",
        municipio_access(MPIO, roles=roles, allow_entidad=E in roles),
    )


async def test_projections_status_is_national_staff_only(
    anonimo: httpx.AsyncClient, app: FastAPI
) -> None:
    solo_nacional = {c: 200 if c[0] is N else 403 for c in sample_callers(MPIO)}
    await assert_access_matrix(anonimo, app, "GET", "/v1/proyecciones", solo_nacional)


async def test_out_of_scope_is_a_problem_that_says_why(
    anonimo: httpx.AsyncClient, app: FastAPI
) -> None:
    from juntos_web.testing import bearer

    r = await anonimo.get("/v1/indicadores/familias", headers=bearer(app, M, MPIO))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "municipio=05001" in r.json()["detail"]
