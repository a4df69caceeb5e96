"""Partner systems' client credentials, as a partner and an operator use them: offer served over
real HTTP on a real database; the partner only knows its client id, its secret and the URL."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from juntos_events.migrate import upgrade
from juntos_testing.serving import juntos, serve
from juntos_web import Role
from juntos_web.testing import TEST_ENTIDAD, service_client, settings_for_tests
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .conftest import MIGRATIONS, como, offer_settings, programa_body

TOKEN = "/v1/oauth/token"
FORM = {"grant_type": "client_credentials"}


@pytest.fixture
async def offer(database_url: str) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create(database_url)


def create(database_url: str, **settings: Any) -> FastAPI:
    from offer.main import create_app

    return create_app(offer_settings(database_url, **settings))


@pytest.fixture
def url(offer: FastAPI) -> Iterator[str]:
    yield from serve(offer)


async def registrar(url: str, app: FastAPI, entidad: str = TEST_ENTIDAD) -> dict:
    async with httpx.AsyncClient(base_url=url) as c:
        r = await c.post(
            "/v1/clientes",
            json={"entidad": entidad, "descripcion": "Sistema de información misional"},
            headers=como(app, Role.NACIONAL, sub="operador-1"),
        )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def pedir_token(url: str, **request: Any) -> httpx.Response:
    if not {"data", "json", "content"} & request.keys():
        request["data"] = FORM
    async with httpx.AsyncClient(base_url=url) as c:
        return await c.post(TOKEN, **request)


def rfc_error(r: httpx.Response, status: int, error: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    assert r.json()["error"] == error and r.json()["error_description"]
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Basic ")


async def test_a_partner_gets_a_token_and_manages_only_its_own_programs(
    offer: FastAPI, url: str
) -> None:
    cliente = await registrar(url, offer)
    assert cliente["client_secret"].startswith("jcs_") and cliente["token_url"] == TOKEN
    r = await pedir_token(url, headers=basic(cliente["client_id"], cliente["client_secret"]))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    cuerpo = r.json()
    assert cuerpo["token_type"] == "Bearer" and cuerpo["expires_in"] == 900
    socio = {"Authorization": f"Bearer {cuerpo['access_token']}"}
    # the form is the other way to authenticate the client (RFC 6749 §2.3.1)
    por_formulario = await pedir_token(
        url,
        data={**FORM, "client_id": cliente["client_id"], "client_secret": cliente["client_secret"]},
    )
    assert por_formulario.status_code == 200, por_formulario.text

    async with httpx.AsyncClient(base_url=url) as c:
        info = (await c.get("/v1/info", headers=socio)).json()
        assert info["caller"] == {
            "sub": f"client:{cliente['client_id']}",
            "role": "ENTIDAD",
            "scope": TEST_ENTIDAD,
        }
        propio = await c.post("/v1/programas", json=programa_body(), headers=socio)
        assert propio.status_code == 201, propio.text
        pid = propio.json()["programa_id"]
        calidad = await c.put(
            f"/v1/programas/{pid}/calidad/2026", json={"cumplimiento": 80}, headers=socio
        )
        assert calidad.status_code == 200, calidad.text
        ajeno = await c.post(
            "/v1/programas",
            json=programa_body(entidad="otra-entidad"),
            headers=como(offer, Role.NACIONAL),
        )
        assert ajeno.status_code == 201, ajeno.text
        otro = ajeno.json()["programa_id"]
        assert (await c.get(f"/v1/programas/{otro}", headers=socio)).status_code == 403
        assert (
            await c.post("/v1/programas", json=programa_body(entidad="otra-entidad"), headers=socio)
        ).status_code == 403
        assert (
            await c.put(
                f"/v1/programas/{otro}/calidad/2026", json={"cumplimiento": 1}, headers=socio
            )
        ).status_code == 403
        # its commands are recorded as the client's
        auditoria = await c.get(f"/v1/clientes/{cliente['client_id']}", headers=socio)
        assert auditoria.status_code == 403  # managing clients is for national operators

    # every service accepts the token, not only offer
    from enrollment.main import create_app as enrollment_app

    enrollment = enrollment_app(settings_for_tests("enrollment"))
    async with service_client(enrollment) as c:
        r = await c.get("/v1/info", headers=socio)
    assert r.status_code == 200 and r.json()["caller"]["role"] == "ENTIDAD"


async def test_refusals_are_rfc_6749_errors(offer: FastAPI, url: str) -> None:
    cliente = await registrar(url, offer)
    cid, secreto = cliente["client_id"], cliente["client_secret"]
    rfc_error(await pedir_token(url, headers=basic(cid, secreto + "x")), 401, "invalid_client")
    desconocido = await pedir_token(
        url, headers=basic("00000000-0000-0000-0000-000000000000", secreto)
    )
    rfc_error(desconocido, 401, "invalid_client")
    assert desconocido.json() == (await pedir_token(url, headers=basic(cid, "x"))).json()
    rfc_error(await pedir_token(url, data={}, headers=basic(cid, secreto)), 400, "invalid_request")
    rfc_error(
        await pedir_token(url, data={"grant_type": "password"}, headers=basic(cid, secreto)),
        400,
        "unsupported_grant_type",
    )
    rfc_error(
        await pedir_token(url, json=FORM, headers=basic(cid, secreto)), 400, "invalid_request"
    )
    rfc_error(
        await pedir_token(url, data={**FORM, "scope": "admin"}, headers=basic(cid, secreto)),
        400,
        "invalid_scope",
    )
    ambos = {**FORM, "client_id": cid, "client_secret": secreto}
    rfc_error(
        await pedir_token(url, data=ambos, headers=basic(cid, secreto)), 400, "invalid_request"
    )
    rfc_error(await pedir_token(url), 401, "invalid_client")  # no credentials at all

    async with httpx.AsyncClient(base_url=url) as c:
        nacional = como(offer, Role.NACIONAL, sub="operador-2")
        r = await c.post(
            f"/v1/clientes/{cid}/revocacion", json={"motivo": "sistema retirado"}, headers=nacional
        )
        assert r.status_code == 200 and r.json()["revocado"] is True, r.text
        again = await c.post(
            f"/v1/clientes/{cid}/revocacion", json={"motivo": "otra vez"}, headers=nacional
        )
        assert again.status_code == 200
        historial = again.json()["historial"]
    rfc_error(await pedir_token(url, headers=basic(cid, secreto)), 401, "invalid_client")
    assert [(h["evento"], h["actor"]) for h in historial] == [
        ("ClienteRegistrado", "operador-1"),
        ("ClienteRevocado", "operador-2"),
    ]


async def test_the_token_expires(database_url: str) -> None:
    await upgrade(database_url, MIGRATIONS)
    app = create(database_url, oauth_token_ttl_seconds=1, jwt_leeway_seconds=0)
    servidor = serve(app)
    url = next(servidor)
    try:
        cliente = await registrar(url, app)
        r = await pedir_token(url, headers=basic(cliente["client_id"], cliente["client_secret"]))
        assert r.status_code == 200 and r.json()["expires_in"] == 1
        socio = {"Authorization": f"Bearer {r.json()['access_token']}"}
        async with httpx.AsyncClient(base_url=url) as c, asyncio.timeout(30):
            while (info := await c.get("/v1/info", headers=socio)).status_code == 200:
                await asyncio.sleep(0.2)
        assert info.status_code == 401 and "expired" in info.json()["detail"]
    finally:
        next(servidor, None)


async def test_the_secret_is_in_no_event_table_or_log(
    offer: FastAPI, url: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    cliente = await registrar(url, offer)
    secreto = cliente["client_secret"]
    assert (await pedir_token(url, headers=basic(cliente["client_id"], secreto))).status_code == 200
    assert (await pedir_token(url, headers=basic(cliente["client_id"], "mal"))).status_code == 401
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            tablas = (
                await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
            volcado = ""
            for tabla in list(tablas):
                filas = await conn.execute(text(f'SELECT to_jsonb(t)::text FROM "{tabla}" t'))
                volcado += "\n".join(filas.scalars())
            en_outbox = (
                await conn.execute(text("SELECT count(*) FROM outbox WHERE key LIKE 'cliente:%'"))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert cliente["client_id"] in volcado and "$argon2id$" in volcado  # the dump is real
    assert secreto not in volcado and secreto[4:] not in volcado
    assert en_outbox == 0, "client events are private: never published"
    logs = caplog.text
    assert "oauth token issued" in logs and "oauth token refused" in logs
    assert secreto[4:] not in logs


async def test_operators_manage_clients_with_the_cli(offer: FastAPI, url: str) -> None:
    token = como(offer, Role.NACIONAL, sub="operador-cli")["Authorization"].removeprefix("Bearer ")
    opciones = ("--url", url, "--token", token)
    creado = await asyncio.to_thread(
        juntos,
        "partners",
        "create-client",
        "--entidad",
        "sena",
        "--descripcion",
        "Sistema de gestión de formación",
        *opciones,
    )
    assert creado.returncode == 0, creado.stderr
    cid = re.search(r"client_id:\s+(\S+)", creado.stdout).group(1)
    secreto = re.search(r"client_secret:\s+(\S+)", creado.stdout).group(1)
    r = await pedir_token(url, headers=basic(cid, secreto))
    assert r.status_code == 200, r.text

    lista = await asyncio.to_thread(
        juntos, "partners", "list-clients", "--entidad", "sena", *opciones
    )
    assert cid in lista.stdout and "active" in lista.stdout and secreto not in lista.stdout
    revocado = await asyncio.to_thread(
        juntos, "partners", "revoke-client", cid, "--motivo", "fin del convenio", *opciones
    )
    assert revocado.returncode == 0 and "revoked" in revocado.stdout, revocado.stderr
    visto = await asyncio.to_thread(juntos, "partners", "show-client", cid, *opciones)
    assert "ClienteRevocado" in visto.stdout and "operador-cli" in visto.stdout
    assert (await pedir_token(url, headers=basic(cid, secreto))).status_code == 401
