"""Role × territory for every territorial route: nobody reads or writes outside their scope.

The data lives in 05001 (Medellín, Antioquia). Writes on versioned records are sent with a
stale If-Match, so an authorised caller gets 412 (it reached the command and changed nothing)
and the same records serve every row of the table. The last test checks that every route of
the app is in this file.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from juntos_web import Role
from juntos_web.testing import (
    TEST_ENTIDAD,
    assert_access_matrix,
    assert_every_route_declares_roles,
    municipio_access,
    sample_callers,
    service_client,
    uniform_access,
)

from .conftest import como, encuesta, municipal

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
MPIO = "05001"
STALE = {"If-Match": '"999"'}
LECTORES = (N, D, M, C)
PROBADAS: set[tuple[str, str]] = set()
"""(method, path template) of every route a matrix below called."""
GRUPOS: set[str] = set()
"""The matrix tests that ran; the coverage check needs all of them."""


@pytest.fixture
async def anonimo(app: FastAPI) -> httpx.AsyncClient:
    async with service_client(app) as client:
        yield client


@pytest.fixture
async def datos(anonimo: httpx.AsyncClient, app: FastAPI) -> dict:
    """One record of every kind in 05001."""
    yo, nacional = municipal(app, MPIO), como(app, N)
    mr = {"denominacion": "Valle de Aburrá", "operador_id": TEST_ENTIDAD, "municipios": [MPIO]}
    assert (
        await anonimo.put("/v1/microrregiones/mr-1", json=mr, headers=nacional)
    ).status_code == 200
    r = await anonimo.post(
        f"/v1/municipios/{MPIO}/lbt", json=encuesta(estados={"CBT8": "NO_CUMPLE"}), headers=yo
    )
    assert r.status_code == 201
    plan = f"/v1/municipios/{MPIO}/plan-accion"
    await anonimo.post(f"{plan}/borrador", headers=yo)
    await anonimo.put(f"{plan}/acciones/a1", json=_accion(), headers=yo)
    r = await anonimo.post(
        f"{plan}/aprobacion", json={"fecha_sesion_consejo": "2026-04-01"}, headers=yo
    )
    assert r.status_code == 200, r.text
    r = await anonimo.post(
        f"/v1/municipios/{MPIO}/rendiciones-cuentas",
        json={
            "fecha": "2026-05-01",
            "nivel": "MUNICIPAL",
            "asistentes": 10,
            "compromisos": [
                {
                    "descripcion": "Informe",
                    "responsable_id": "alcaldia",
                    "fecha_limite": "2026-12-01",
                }
            ],
        },
        headers=yo,
    )
    rendicion = r.json()
    r = await anonimo.post(
        f"/v1/municipios/{MPIO}/veedurias",
        json={"categoria": "OTRO", "texto": "Queja de prueba", "fecha": "2026-05-02"},
        headers=yo,
    )
    return {
        "rid": rendicion["rendicion_id"],
        "cid": rendicion["compromisos"][0]["compromiso_id"],
        "vid": r.json()["veeduria_id"],
    }


def _accion() -> dict:
    return {
        "cbt": "CBT8",
        "descripcion": "Afiliación",
        "entidad_responsable_id": "ss-05001",
        "presupuesto_cop": 1000,
        "fecha_inicio": "2026-05-01",
        "fecha_fin": "2026-06-01",
    }


def only(status: dict[tuple[Role, str | None] | Role, int], default: int = 403) -> dict:
    """Every sample caller gets `default` unless named (by role, or by role and scope)."""
    return {
        (role, scope): status.get((role, scope), status.get(role, default))
        for role, scope in sample_callers(MPIO)
    }


async def matriz(client, app, method: str, plantilla: str, valores: dict, tabla, **kwargs) -> None:
    PROBADAS.add((method, plantilla))
    url = re.sub(r"\{(\w+)\}", lambda m: valores[m[1]], plantilla)
    await assert_access_matrix(client, app, method, url, tabla, **kwargs)


def test_every_route_declares_roles(app: FastAPI) -> None:
    assert_every_route_declares_roles(app)


async def test_catalogue_and_network(anonimo, app, datos) -> None:
    GRUPOS.add("test_catalogue_and_network")
    v = {"municipio": MPIO, "departamento": "05", "microrregion_id": "mr-1"}
    for plantilla in (
        "/v1/departamentos",
        "/v1/departamentos/{departamento}",
        "/v1/municipios",
        "/v1/municipios/{municipio}",
        "/v1/microrregiones",
    ):
        await matriz(anonimo, app, "GET", plantilla, v, uniform_access(200, MPIO))
    await matriz(
        anonimo,
        app,
        "GET",
        "/v1/microrregiones/{microrregion_id}",
        v,
        municipio_access(MPIO, allow_entidad=True),  # the entity is the operator
    )
    await matriz(anonimo, app, "POST", "/v1/catalogo/publicacion", v, only({N: 200}))
    await matriz(
        anonimo,
        app,
        "PUT",
        "/v1/microrregiones/{microrregion_id}",
        v,
        only({N: 200}),
        json={"denominacion": "Valle de Aburrá", "operador_id": TEST_ENTIDAD, "municipios": [MPIO]},
    )
    await matriz(
        anonimo,
        app,
        "GET",
        "/v1/municipios/{municipio}/red-local",
        v,
        municipio_access(MPIO, roles=LECTORES),
    )
    await matriz(
        anonimo,
        app,
        "PUT",
        "/v1/municipios/{municipio}/red-local",
        v,
        municipio_access(MPIO, roles=(M,), ok=412),
        json={"convenio_fecha": "2026-01-01"},
        headers=STALE,
    )
    sesion = {"fecha": "2026-03-01", "asistentes": 5}
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/municipios/{municipio}/consejo-politica-social/sesiones",
        v,
        municipio_access(MPIO, roles=(M,), ok=201),
        json=sesion,
    )
    await matriz(
        anonimo,
        app,
        "GET",
        "/v1/departamentos/{departamento}/consejo-politica-social",
        v,
        only({N: 200, (D, "05"): 200}),
    )
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/departamentos/{departamento}/consejo-politica-social/sesiones",
        v,
        only({(D, "05"): 201}),
        json=sesion,
    )


async def test_lbt_and_map(anonimo, app, datos) -> None:
    GRUPOS.add("test_lbt_and_map")
    v = {"municipio": MPIO, "cbt": "CBT1"}
    lectura = municipio_access(MPIO, roles=LECTORES)
    for plantilla in ("/v1/municipios/{municipio}/lbt", "/v1/municipios/{municipio}/lbt/historial"):
        await matriz(anonimo, app, "GET", plantilla, v, lectura)
    escritura = municipio_access(MPIO, roles=(M,), ok=412)
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/municipios/{municipio}/lbt",
        v,
        escritura,
        json=encuesta(),
        headers=STALE,
    )
    await matriz(
        anonimo,
        app,
        "PUT",
        "/v1/municipios/{municipio}/lbt/condiciones/{cbt}",
        v,
        escritura,
        json={"estado": "NO_CUMPLE", "evidencia": "acta", "fecha": "2026-04-01"},
        headers=STALE,
    )
    await matriz(
        anonimo,
        app,
        "GET",
        "/v1/municipios/{municipio}/mapa-capacidades",
        v,
        municipio_access(MPIO, allow_entidad=True),  # entities read every municipality's map
    )
    await matriz(
        anonimo,
        app,
        "GET",
        "/v1/mapa-capacidades",
        v,
        only({N: 200, D: 200, E: 200}),  # a department sees its own municipalities
    )


async def test_action_plan(anonimo, app, datos) -> None:
    GRUPOS.add("test_action_plan")
    v = {"municipio": MPIO, "accion_id": "a1", "version_plan": "1"}
    lectura = municipio_access(MPIO, roles=LECTORES)
    for plantilla in (
        "/v1/municipios/{municipio}/plan-accion",
        "/v1/municipios/{municipio}/plan-accion/versiones/{version_plan}",
    ):
        await matriz(anonimo, app, "GET", plantilla, v, lectura)
    escritura = municipio_access(MPIO, roles=(M,), ok=412)
    base = "/v1/municipios/{municipio}/plan-accion"
    for method, plantilla, cuerpo in (
        ("POST", f"{base}/borrador", None),
        ("PUT", f"{base}/acciones/{{accion_id}}", _accion()),
        ("DELETE", f"{base}/acciones/{{accion_id}}", None),
        ("POST", f"{base}/aprobacion", {"fecha_sesion_consejo": "2026-04-02"}),
        (
            "POST",
            f"{base}/acciones/{{accion_id}}/seguimiento",
            {"estado": "EN_CURSO", "fecha": "2026-05-01"},
        ),
    ):
        await matriz(anonimo, app, method, plantilla, v, escritura, json=cuerpo, headers=STALE)


async def test_participation_and_social_control(anonimo, app, datos) -> None:
    GRUPOS.add("test_participation_and_social_control")
    v = {"municipio": MPIO, **{k: datos[k] for k in ("rid", "cid", "vid")}}
    v |= {"rendicion_id": datos["rid"], "compromiso_id": datos["cid"], "veeduria_id": datos["vid"]}
    lectura = municipio_access(MPIO, roles=LECTORES)
    for plantilla in (
        "/v1/municipios/{municipio}/rendiciones-cuentas",
        "/v1/rendiciones-cuentas/{rendicion_id}",
        "/v1/municipios/{municipio}/espacios-participacion",
    ):
        await matriz(anonimo, app, "GET", plantilla, v, lectura)
    await matriz(
        anonimo,
        app,
        "GET",
        "/v1/municipios/{municipio}/veedurias",
        v,
        municipio_access(MPIO, roles=(N, D, M)),
    )
    await matriz(
        anonimo, app, "GET", "/v1/veedurias/{veeduria_id}", v, municipio_access(MPIO, roles=(N, M))
    )
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/municipios/{municipio}/rendiciones-cuentas",
        v,
        municipio_access(MPIO, roles=(M,), ok=201),
        json={"fecha": "2026-05-01", "nivel": "NACIONAL", "asistentes": 3},
    )
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/rendiciones-cuentas/{rendicion_id}/compromisos/{compromiso_id}/seguimiento",
        v,
        municipio_access(MPIO, roles=(M,), ok=412),
        json={"estado": "EN_CURSO", "fecha": "2026-05-02"},
        headers=STALE,
    )
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/municipios/{municipio}/espacios-participacion",
        v,
        municipio_access(MPIO, roles=(M,), ok=201),
        json={"tipo": "OTRO", "fecha": "2026-05-01", "participantes": 3},
    )
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/municipios/{municipio}/veedurias",
        v,
        municipio_access(MPIO, roles=(M, C), ok=201),  # a cogestor files what a citizen brings
        json={"categoria": "OTRO", "texto": "Queja", "fecha": "2026-05-03"},
    )
    await matriz(
        anonimo,
        app,
        "POST",
        "/v1/veedurias/{veeduria_id}/estado",
        v,
        municipio_access(MPIO, roles=(M,), ok=412),
        json={"estado": "EN_TRAMITE", "fecha": "2026-05-04"},
        headers=STALE,
    )


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    """Runs after the others (file order): a new route without its table fails here."""
    if len(GRUPOS) < 4:
        pytest.skip("needs the four matrix tests of this file to have run first")
    rutas = {
        (method, r.path)
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute) and r.path.startswith("/v1/")
        for method in r.methods or ()
    } - {("GET", "/v1/info")}
    assert rutas - PROBADAS == set()
