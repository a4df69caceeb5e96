"""Every error path answers RFC 9457 problem+json, and a 500 leaks nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from juntos_web import PROBLEM_JSON, Role
from juntos_web.testing import bearer

PROBLEM_KEYS = {"type", "title", "status", "instance"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    return body


async def test_401_without_token_challenges_bearer(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/info")
    body = assert_problem(response, 401)
    assert body["title"] == "Unauthorized"
    assert body["detail"] == "a bearer token is required"
    assert response.headers["www-authenticate"] == 'Bearer realm="juntos"'


async def test_403_for_a_role_the_route_does_not_admit(
    client: httpx.AsyncClient, demo_app: FastAPI
) -> None:
    response = await client.get("/v1/nacional", headers=bearer(demo_app, Role.MUNICIPAL, "05001"))
    body = assert_problem(response, 403)
    assert body["detail"] == "role MUNICIPAL may not call this operation"


async def test_404_for_an_unknown_path(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nada"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


async def test_405_keeps_the_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/info")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


async def test_422_lists_each_invalid_field_readably(
    client: httpx.AsyncClient, demo_app: FastAPI
) -> None:
    response = await client.post(
        "/v1/visitas",
        json={"fecha": "ayer"},
        headers=bearer(demo_app, Role.COGESTOR, "05001"),
    )
    body = assert_problem(response, 422)
    assert body["type"] == "urn:juntos:problem:validation"
    errors = {e["field"]: e for e in body["errors"]}
    assert set(errors) == {"body.fecha", "body.municipio"}
    assert errors["body.fecha"]["detail"].startswith("body.fecha: Input should be a valid date")
    assert errors["body.municipio"]["detail"] == "body.municipio: Field required"
    assert "body.fecha: Input should be a valid date" in str(body["detail"])


async def test_422_for_a_malformed_json_body(client: httpx.AsyncClient, demo_app: FastAPI) -> None:
    response = await client.post(
        "/v1/visitas",
        content=b"{not json",
        headers={**bearer(demo_app, Role.COGESTOR, "05001"), "content-type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"]


async def test_500_is_generic_and_logged(
    client: httpx.AsyncClient, demo_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/v1/boom", headers=bearer(demo_app, Role.NACIONAL))
    body = assert_problem(response, 500)
    assert body["title"] == "Internal Server Error"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(logged) == 1 and "unhandled error" in logged[0].getMessage()


async def test_problem_raised_by_a_route_carries_type_and_extensions(
    client: httpx.AsyncClient, demo_app: FastAPI
) -> None:
    response = await client.get("/v1/conflict", headers=bearer(demo_app, Role.NACIONAL))
    body = assert_problem(response, 409)
    assert body["type"] == "urn:juntos:problem:stale-version"
    assert body["detail"] == "the family changed meanwhile"
    assert body["current"] == 3


def test_openapi_declares_problem_responses(demo_app: FastAPI) -> None:
    schema = demo_app.openapi()
    assert {"ProblemDetail", "FieldError"} <= schema["components"]["schemas"].keys()
    responses = schema["paths"]["/v1/info"]["get"]["responses"]
    for status in ("401", "403", "422", "500"):
        assert PROBLEM_JSON in responses[status]["content"]
    assert schema["paths"]["/v1/info"]["get"]["security"] == [{"bearer": []}]
    assert "503" in schema["paths"]["/readyz"]["get"]["responses"]


@pytest.mark.parametrize(
    "texto",
    [rb"\ud800", rb"x\udfffy", rb"\ud83d", rb"\ude00\ud83d"],  # lone, low, high alone, reversed
)
async def test_400_for_an_unpaired_surrogate_before_any_route_code(
    client: httpx.AsyncClient, demo_app: FastAPI, texto: bytes
) -> None:
    """Such a string passes pydantic and breaks later (asyncpg, logs) as a 500: not text."""
    response = await client.post(
        "/v1/visitas",
        content=b'{"fecha": "2026-01-02", "municipio": "' + texto + b'"}',
        headers={**bearer(demo_app, Role.COGESTOR, "05001"), "content-type": "application/json"},
    )
    body = assert_problem(response, 400)
    assert body["type"] == "urn:juntos:problem:unpaired-surrogate"
    assert "surrogate" in body["detail"]


async def test_a_surrogate_pair_is_one_character_and_welcome(
    client: httpx.AsyncClient, demo_app: FastAPI
) -> None:
    response = await client.post(
        "/v1/visitas",
        content=rb'{"fecha": "2026-01-02", "municipio": "05001", "nota": "\ud83d\ude00"}',
        headers={**bearer(demo_app, Role.COGESTOR, "05001"), "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
