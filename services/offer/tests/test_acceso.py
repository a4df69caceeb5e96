"""Role × territory for every offer route: nobody reads or writes outside their scope.

The program belongs to the sample entity and runs in 05001 only; its slots, the family and
the demand are in 05001. An entity that is not the program's owner (`otra`) is refused
everything about it. Writes whose effect would change the fixture are sent so that an
authorised caller reaches the command and is refused by the rules (412, 409).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
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

from .conftest import como, familia, habilitar, miembro, programa_body, registrar, tablero

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
OTRA = (E, "otra-entidad")
MPIO = "05001"


def only(status: dict[Role, int], default: int = 403) -> dict:
    return {(role, scope): status.get(role, default) for role, scope in sample_callers(MPIO)}


def del_programa(roles: tuple[Role, ...], ok: int = 200) -> dict:
    """Roles inside 05001 (and the owning entity) get `ok`; another entity 403."""
    return {**municipio_access(MPIO, roles=roles, ok=ok, allow_entidad=True), OTRA: 403}


def de_municipio(roles: tuple[Role, ...], ok: int = 200) -> dict:
    """Municipality reports: every entity may read them (aggregates, no family)."""
    table = municipio_access(MPIO, roles=roles, ok=ok, allow_entidad=True)
    return {**table, OTRA: table[E, TEST_ENTIDAD]}


@pytest.fixture
async def anonimo(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as c:
        yield c


@pytest.fixture
async def mundo(anonimo: httpx.AsyncClient, app: FastAPI) -> dict:
    p = await registrar(anonimo, app, municipios=[MPIO])
    await habilitar(anonimo, app, p, 5)
    f = await familia(app, miembro("1985-01-01", parentesco="JEFE"), miembro("2024-02-02"))
    await tablero(app, f, "2026-03-01", {"LB8": [f.id_de(1)]})
    cupo = await anonimo.post(
        f"/v1/programas/{p['programa_id']}/cupos/{MPIO}/2026/asignaciones",
        json={"familia_id": f.familia_id, "integrante_id": f.id_de(1), "fecha": "2026-09-01"},
        headers=como(app, N),
    )
    assert cupo.status_code == 201, cupo.text
    sin_demanda = await familia(app, miembro("2024-01-01"))
    importacion = await anonimo.post(
        "/v1/entregas/ruaf",
        content=b"tipo_documento,numero_documento,programa_id,fecha,valor\n",
        headers={"content-type": "text/csv", **como(app, E, TEST_ENTIDAD)},
    )
    assert importacion.status_code == 200, importacion.text
    return {
        "programa": p,
        "cupos": f"/v1/programas/{p['programa_id']}/cupos/{MPIO}/2026",
        "cupo_id": cupo.json()["cupo_id"],
        "sin_demanda": {
            "familia_id": sin_demanda.familia_id,
            "integrante_id": sin_demanda.id_de(0),
        },
        "importacion": importacion.json()["importacion_id"],
    }


def test_every_route_declares_roles(app: FastAPI) -> None:
    assert_every_route_declares_roles(app)


async def test_info(anonimo: httpx.AsyncClient, app: FastAPI) -> None:
    await assert_access_matrix(anonimo, app, "GET", "/v1/info", {**uniform_access(200), OTRA: 200})


async def test_programs(anonimo: httpx.AsyncClient, app: FastAPI, mundo: dict) -> None:
    pid = mundo["programa"]["programa_id"]
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/programas",
        {**only({N: 201, E: 201}), OTRA: 403},  # the body names the sample entity
        json=programa_body(municipios=[MPIO]),
    )
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/programas/lote",
        {**only({N: 200, E: 200}), OTRA: 403},  # the program and the line: the sample entity's
        json={
            "programas": [{**programa_body(municipios=[MPIO]), "programa_id": str(uuid.uuid4())}],
            "lineas": [{"programa_id": pid, "municipio": MPIO, "periodo": "2026", "cupos": 5}],
        },
    )
    await assert_access_matrix(
        anonimo, app, "GET", "/v1/programas", {**only({N: 200, D: 200, M: 200, E: 200}), OTRA: 200}
    )
    await assert_access_matrix(
        anonimo, app, "GET", f"/v1/programas/{pid}", del_programa((N, D, M, E))
    )
    await assert_access_matrix(
        anonimo,
        app,
        "PUT",
        f"/v1/programas/{pid}",
        {**only({N: 412, E: 412}), OTRA: 403},
        json=programa_body(municipios=[MPIO]),
        headers={"If-Match": '"99"'},
    )
    await assert_access_matrix(
        anonimo,
        app,
        "PUT",
        f"/v1/programas/{pid}/calidad/2026",
        {**only({N: 200, E: 200}), OTRA: 403},
        json={"cumplimiento": 70},
    )


async def test_slots(anonimo: httpx.AsyncClient, app: FastAPI, mundo: dict) -> None:
    url = mundo["cupos"]
    await assert_access_matrix(
        anonimo, app, "PUT", url, {**only({N: 200, E: 200}), OTRA: 403}, json={"cupos": 5}
    )
    await assert_access_matrix(
        anonimo,
        app,
        "PUT",
        f"/v1/programas/{mundo['programa']['programa_id']}/cupos",
        {**only({N: 200, E: 200}), OTRA: 403},
        json={"lineas": [{"municipio": MPIO, "periodo": "2026", "cupos": 5}]},
    )
    await assert_access_matrix(anonimo, app, "GET", url, del_programa((N, D, M, E)))
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        url + "/asignaciones",
        del_programa((N, D, M, E), ok=409),  # this family has no demand
        json={**mundo["sin_demanda"], "fecha": "2026-09-01"},
    )
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        url + "/asignacion-masiva",
        del_programa((N, D, M, E)),
        json={"simular": True, "fecha": "2026-09-01"},
    )
    for municipios in ({"municipios": [MPIO]}, {}):  # listed, or every line in scope
        await assert_access_matrix(
            anonimo,
            app,
            "POST",
            f"/v1/programas/{mundo['programa']['programa_id']}/asignacion-masiva",
            del_programa((N, D, M, E)),
            json={"periodo": "2026", "simular": True, "fecha": "2026-09-01", **municipios},
        )
    await assert_access_matrix(
        anonimo,
        app,
        "GET",
        f"/v1/cupos?municipio={MPIO}",
        {**municipio_access(MPIO, roles=(N, D, M, E), allow_entidad=True), OTRA: 200},
    )
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        f"/v1/cupos/{mundo['cupo_id']}/liberacion",
        del_programa((N, D, M, E)),  # the first frees it, the others find it free
        json={"motivo": "VENCIDO", "fecha": "2026-10-01"},
    )


async def test_municipality_reports(anonimo: httpx.AsyncClient, app: FastAPI, mundo: dict) -> None:
    raiz = f"/v1/municipios/{MPIO}"
    await assert_access_matrix(anonimo, app, "GET", raiz + "/oferta", de_municipio((N, D, M, C, E)))
    for reporte in ("demanda", "caracteristicas", "brechas", "concurrencia"):
        await assert_access_matrix(
            anonimo, app, "GET", f"{raiz}/{reporte}", de_municipio((N, D, M, E))
        )
    await assert_access_matrix(
        anonimo,
        app,
        "GET",
        raiz + "/demanda/familias",
        {**municipio_access(MPIO, roles=(N, D, M)), OTRA: 403},
    )


async def test_ruaf_imports(anonimo: httpx.AsyncClient, app: FastAPI, mundo: dict) -> None:
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/entregas/ruaf",
        {**only({N: 200, E: 200}), OTRA: 200},
        content=b"tipo_documento,numero_documento,programa_id,fecha,valor\n",
        headers={"content-type": "text/csv"},
    )
    iid = mundo["importacion"]
    for url in (f"/v1/entregas/ruaf/{iid}", f"/v1/entregas/ruaf/{iid}/rechazos"):
        # an entity sees only its own imports: someone else's is not found
        await assert_access_matrix(anonimo, app, "GET", url, {**only({N: 200, E: 200}), OTRA: 404})


async def test_partner_clients(anonimo: httpx.AsyncClient, app: FastAPI) -> None:
    """Clients are for national operators only; the token endpoint answers anyone who presents
    the client's credentials, whatever bearer token comes along (it is not client auth)."""
    nuevo = await anonimo.post(
        "/v1/clientes",
        json={"entidad": TEST_ENTIDAD, "descripcion": "sistema de prueba"},
        headers=como(app, N),
    )
    assert nuevo.status_code == 201, nuevo.text
    cid, secreto = nuevo.json()["client_id"], nuevo.json()["client_secret"]
    solo_nacional = {**only({N: 200}), OTRA: 403}
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/clientes",
        {**only({N: 201}), OTRA: 403},
        json={"entidad": "otra-entidad", "descripcion": "sistema de prueba"},
    )
    await assert_access_matrix(anonimo, app, "GET", "/v1/clientes", solo_nacional)
    await assert_access_matrix(anonimo, app, "GET", f"/v1/clientes/{cid}", solo_nacional)
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        "/v1/oauth/token",
        {**uniform_access(200), OTRA: 200},
        anonymous=200,
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secreto},
    )
    await assert_access_matrix(
        anonimo,
        app,
        "POST",
        f"/v1/clientes/{cid}/revocacion",
        solo_nacional,
        json={"motivo": "fin de la prueba"},
    )
