"""The token endpoint's protocol (RFC 6749 §2.3.1, §4.4, §5.2) and client secrets."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from juntos_web import create_service_app
from juntos_web.auth import public
from juntos_web.oauth import OAuthError, Secrets, client_credentials_request
from juntos_web.testing import service_client, settings_for_tests

GRANT = "grant_type=client_credentials"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def client() -> httpx.AsyncClient:
    router = APIRouter(prefix="/v1")

    @router.post("/oauth/token", dependencies=[Depends(public())])
    async def token(request: Request) -> Response:
        try:
            pedido = await client_credentials_request(request)
        except OAuthError as error:
            return error.response()
        return JSONResponse({"id": pedido.client_id, "secret": pedido.client_secret})

    app = create_service_app(settings_for_tests("demo"), routers=[router])
    async with service_client(app) as c:
        yield c


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode(), **FORM}


async def test_basic_credentials_are_form_decoded(client: httpx.AsyncClient) -> None:
    """§2.3.1: id and secret are form-encoded before Basic, so a ':' in a secret survives."""
    raw = f"{quote_plus('cliente 1')}:{quote_plus('s:é+cret')}"
    r = await client.post("/v1/oauth/token", content=GRANT, headers=basic(raw))
    assert r.json() == {"id": "cliente 1", "secret": "s:é+cret"}


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (GRANT + "&" + GRANT, FORM, "invalid_request"),  # a repeated parameter
        (GRANT, basic("no-colon"), "invalid_request"),
        (GRANT, {"Authorization": "Basic %%%", **FORM}, "invalid_request"),
        (GRANT, {"content-type": "text/plain"}, "invalid_request"),
        (b"grant_type=\xff", FORM, "invalid_request"),
        ("grant_type=authorization_code", FORM, "unsupported_grant_type"),
        (GRANT, {"Authorization": "Bearer abc", **FORM}, "invalid_client"),  # no client auth
        (GRANT + "&client_id=a%00b&client_secret=x", FORM, "invalid_request"),  # not VSCHAR
        (GRANT, basic("caf%C3%A9:x"), "invalid_request"),
    ],
)
async def test_malformed_requests(
    client: httpx.AsyncClient, body: str | bytes, headers: dict[str, str], error: str
) -> None:
    r = await client.post("/v1/oauth/token", content=body, headers=headers)
    assert r.status_code == (401 if error == "invalid_client" else 400)
    assert r.json()["error"] == error


def test_secrets_are_random_hashed_and_checked() -> None:
    fast = Secrets(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    a, b = Secrets.new(), Secrets.new()
    assert a != b and a.startswith("jcs_") and len(a) > 40
    stored = fast.hash(a)
    assert stored.startswith("$argon2id$") and a not in stored
    assert fast.verify(stored, a)
    assert not fast.verify(stored, b)
    assert not fast.verify(None, a)  # an unknown client
    assert not fast.verify("not a hash", a)
