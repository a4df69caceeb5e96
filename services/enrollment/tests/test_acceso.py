"""Role × territory for every enrollment route: nobody reads or writes outside their scope.

The family lives in 05001 and is assigned to the sample cogestor of 05001. Writes are sent with
a stale If-Match, so an authorised caller gets 412 (reached the command, changed nothing) and
the same family serves every row of the table.
"""

from __future__ import annotations

import httpx
import pytest
from enrollment.registros import columnas
from enrollment.vocabulario import Registro
from fastapi import FastAPI
from juntos_web import Role
from juntos_web.testing import (
    TEST_ENTIDAD,
    assert_access_matrix,
    assert_every_route_declares_roles,
    municipio_access,
    sample_callers,
)

from .conftest import como, importar_muestra

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
COGESTOR_LOCAL = "test-cogestor-05001"  # the sub of the sample (COGESTOR, 05001) caller
STALE = {"If-Match": '"999"'}


@pytest.fixture
async def anonimo(app: FastAPI) -> httpx.AsyncClient:
    from juntos_web.testing import service_client

    async with service_client(app) as client:
        yield client


@pytest.fixture
async def familia(anonimo: httpx.AsyncClient, app: FastAPI) -> dict:
    await importar_muestra(anonimo, app, "SISBEN")
    nacional = como(app, N)
    await anonimo.put(
        f"/v1/cogestores/{COGESTOR_LOCAL}",
        json={"operador": "op", "microrregion": "mr", "municipios": ["05001"]},
        headers=nacional,
    )
    fid = (await anonimo.get("/v1/familias?municipio=05001", headers=nacional)).json()["items"][0][
        "familia_id"
    ]
    r = await anonimo.put(
        f"/v1/familias/{fid}/cogestor", json={"cogestor_id": COGESTOR_LOCAL}, headers=nacional
    )
    assert r.status_code == 200, r.text
    return (await anonimo.get(f"/v1/familias/{fid}", headers=nacional)).json()


def only(status: dict[Role, int], default: int = 403) -> dict:
    return {(role, scope): status.get(role, default) for role, scope in sample_callers("05001")}


def test_every_route_declares_roles(app: FastAPI) -> None:
    assert_every_route_declares_roles(app)


async def test_reads(anonimo: httpx.AsyncClient, app: FastAPI, familia: dict) -> None:
    fid = familia["familia_id"]
    jefe = next(i for i in familia["integrantes"] if i["parentesco"] == "JEFE")
    for method, url, body in (
        ("GET", f"/v1/familias/{fid}", None),
        ("POST", "/v1/familias/consulta", {"familia_ids": [fid]}),  # the bulk read: same rows
    ):
        await assert_access_matrix(
            anonimo, app, method, url, municipio_access("05001", roles=(N, D, M, C)), json=body
        )
    await assert_access_matrix(
        anonimo,
        app,
        "GET",
        "/v1/familias?municipio=05001",
        {**municipio_access("05001", roles=(N, D, M, C)), (C, "05002"): 200},  # own families only
    )
    await assert_access_matrix(anonimo, app, "GET", f"/v1/familias/{fid}/auditoria", only({N: 200}))
    await assert_access_matrix(
        anonimo,
        app,
        "GET",
        f"/v1/cogestores/{COGESTOR_LOCAL}",
        municipio_access("05001", roles=(N, D, M, C)),
    )
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/familias/busqueda",
        {**municipio_access("05001", roles=(N, D, M, C, E), outside=404), (E, TEST_ENTIDAD): 200},
        json={k: jefe["datos"][k] for k in ("tipo_documento", "numero_documento")},
    )


async def test_writes(anonimo: httpx.AsyncClient, app: FastAPI, familia: dict) -> None:
    fid = familia["familia_id"]
    jefe = next(i for i in familia["integrantes"] if i["parentesco"] == "JEFE")
    atributos = {k: jefe[k] for k in ("fecha_nacimiento", "sexo", "parentesco")}
    datos = {
        "tipo_documento": "CC",
        "numero_documento": "777777",
        "primer_nombre": "X",
        "primer_apellido": "Y",
    }
    escrituras = [
        (
            "POST",
            "vinculacion",
            (C,),
            {
                "fecha": "2026-01-01",
                "firmante_id": jefe["integrante_id"],
                "lugar_municipio": "05001",
            },
        ),
        ("POST", "no-vinculacion", (C,), {"fecha": "2026-01-01", "motivo": "NO_ACEPTA"}),
        (
            "POST",
            "integrantes",
            (N, D, M, C),
            {"fecha_nacimiento": "2026-01-01", "sexo": "M", "parentesco": "NIETO", "datos": datos},
        ),
        ("PUT", f"integrantes/{jefe['integrante_id']}", (N, D, M, C), atributos),
        (
            "POST",
            f"integrantes/{jefe['integrante_id']}/retiro",
            (N, D, M, C),
            {"motivo": "SALIDA_DEL_HOGAR", "fecha": "2026-01-01"},
        ),
        ("PUT", "cogestor", (N, D, M), {"cogestor_id": COGESTOR_LOCAL}),
        ("POST", "retiro", (N, D, M), {"motivo": "VOLUNTARIO", "fecha": "2026-01-01"}),
    ]
    for method, path, roles, body in escrituras:
        await assert_access_matrix(
            anonimo,
            app,
            method,
            f"/v1/familias/{fid}/{path}",
            municipio_access("05001", roles=roles, ok=412),
            json=body,
            headers=STALE,
        )
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        f"/v1/familias/{fid}/reapertura",
        only({N: 409}),  # the family has not exited
        json={"motivo": "SALIDA_POR_ERROR", "justificacion": "justificación suficiente"},
    )
    await assert_access_matrix(
        anonimo,
        app,
        "PUT",
        "/v1/cogestores/cgs-nuevo",
        {**only({N: 200}), (D, "05"): 200},
        json={"operador": "op", "microrregion": "mr", "municipios": ["05001"]},
    )
    # the bulk routes: a cogestor's batch answers per item (200 for every cogestor: outside
    # its municipality each item is refused), a list of families all or nothing (403 outside)
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/vinculaciones",
        {**only({}), **{(r, s): 200 for r, s in sample_callers("05001") if r is C}},
        json={
            "items": [
                {
                    "familia_id": fid,
                    "fecha": "2026-01-01",
                    "firmante_id": jefe["integrante_id"],
                    "lugar_municipio": "05001",
                }
            ]
        },
    )
    await assert_access_matrix(
        anonimo,
        app,
        "PUT",
        f"/v1/cogestores/{COGESTOR_LOCAL}/familias",
        municipio_access("05001", roles=(N, D, M)),
        json={"familias": [fid]},
    )
    await assert_access_matrix(
        anonimo, app, "DELETE", f"/v1/familias/{fid}/datos-personales", only({N: 200})
    )
    await assert_access_matrix(
        anonimo, app, "POST", "/v1/mantenimiento/rotacion-de-llaves", only({N: 200})
    )


async def test_imports(anonimo: httpx.AsyncClient, app: FastAPI) -> None:
    cabecera = (",".join(columnas(Registro.SISBEN)) + "\n").encode()
    csv = {"content": cabecera, "headers": {"content-type": "text/csv"}}
    await assert_access_matrix(
        anonimo, app, "POST", "/v1/importaciones/SISBEN", only({N: 200}), **csv
    )
    hecha = await anonimo.post(
        "/v1/importaciones/SISBEN",
        content=cabecera,
        headers={"content-type": "text/csv", **como(app, N)},
    )
    assert hecha.status_code == 200, hecha.text
    iid = hecha.json()["importacion_id"]
    for url in (f"/v1/importaciones/{iid}", f"/v1/importaciones/{iid}/rechazos"):
        # an entity sees only its own imports: someone else's is not found
        await assert_access_matrix(anonimo, app, "GET", url, only({N: 200, E: 404}))
