"""The five services share one shape: each starts, is guarded, scoped and conforms to its API.

One parametrized file instead of five copies: whatever holds for a service here holds for all.
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import timedelta
from importlib import metadata
from importlib.resources import files
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from juntos_events.migrate import upgrade
from juntos_events.topics import SERVICES
from juntos_web import ServiceSettings
from juntos_web.auth import Role
from juntos_web.testing import (
    assert_access_matrix,
    assert_every_route_declares_roles,
    assert_request_bodies_are_strict,
    bearer,
    service_client,
    settings_for_tests,
    uniform_access,
)
from schemathesis import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

FUZZ_EXAMPLES = 6  # per operation
CROSS_FIELD = frozenset(
    {"POST /v1/programas", "PUT /v1/programas/{programa_id}", "POST /v1/programas/lote"}
)
"""Operations whose bodies have rules across fields that JSON Schema cannot state (an age range's
minimum above its maximum; a bulk line naming a program of the same request): schema-valid bodies
may get a 422 there, so only the check that "valid data is accepted" is left out for them; every
other check still runs."""


def build_app(service: str, settings: ServiceSettings | None = None) -> FastAPI:
    """The service's own factory, as uvicorn calls it, with test settings."""
    create_app = importlib.import_module(f"{service}.main").create_app
    app: FastAPI = create_app(settings or settings_for_tests(service))
    return app


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(service: str) -> FastAPI:
    return build_app(service)


async def test_the_app_starts_and_is_alive(service: str, app: FastAPI) -> None:
    async with service_client(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        schema = (await client.get("/openapi.json")).json()
    assert schema["info"]["title"] == f"JUNTOS {service}"
    assert schema["info"]["version"] == metadata.version(f"juntos-{service}")


def test_the_factory_reads_the_environment(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICE_NAME", raising=False)
    monkeypatch.setenv("JUNTOS_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:1/{service}")
    app = importlib.import_module(f"{service}.main").create_app()
    assert app.state.settings.service_name == service
    assert app.state.settings.database_url.startswith("postgresql+asyncpg://")


async def test_v1_needs_a_token(app: FastAPI) -> None:
    async with service_client(app) as client:
        response = await client.get("/v1/info")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_info_answers_every_role_in_any_scope(service: str, app: FastAPI) -> None:
    async with service_client(app) as client:
        await assert_access_matrix(client, app, "GET", "/v1/info", uniform_access(200))
        info = (await client.get("/v1/info", headers=bearer(app, Role.COGESTOR, "05001"))).json()
    assert info["service"] == service
    assert info["caller"] == {"sub": "test-cogestor-05001", "role": "COGESTOR", "scope": "05001"}


def test_every_route_declares_roles(app: FastAPI) -> None:
    assert_every_route_declares_roles(app)


def test_request_bodies_take_json_types_only(app: FastAPI) -> None:
    """No `true` for a number, no `"5"` for an integer: the fuzzer's negative cases, and
    partners' type errors, get 422 rather than being coerced into data."""
    assert_request_bodies_are_strict(app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi(
    service: str, mode: GenerationMode, database_url: str, kafka_bootstrap: str
) -> None:
    """Schemathesis with all its checks: no 5xx, documented statuses, content types and bodies,
    auth really enforced (it replays requests without the token), invalid input rejected.

    Against the real servers, so /readyz answers 200 and the routes that will read the database
    are fuzzed for real. Hypothesis drives the strategy directly because the pytest plugin's
    fixture-based loader does not work under pytest 9 (and its eager loader cannot take
    fixtures).
    """
    settings = settings_for_tests(
        service,
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        readiness_timeout_seconds=10,
    )
    asyncio.run(upgrade(database_url, Path(str(files(service) / "migrations" / "versions"))))
    app = build_app(service, settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.update(headers=bearer(app, Role.NACIONAL, expires_in=timedelta(hours=1)))

    def fuzz(operation: schemathesis.APIOperation) -> None:
        """Each operation gets its own examples, so every route is exercised, however many."""

        @hypothesis.given(case=operation.as_strategy(mode))
        @hypothesis.settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            excluded = [positive_data_acceptance] if case.operation.label in CROSS_FIELD else []
            # requests' 10 s default was hit once by a large publication on a machine at load 8
            response = case.call_and_validate(excluded_checks=excluded, timeout=60)
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        run()

    statuses: dict[str, set[int]] = {}
    fuzzed = 0
    try:
        for result in schema.get_all_operations():
            try:
                fuzz(result.ok())
                fuzzed += 1
            except hypothesis.errors.Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
        if not fuzzed:
            pytest.skip("no operation takes input yet: nothing to make invalid")
    finally:
        # schemathesis keeps an app's lifespan running until exit; stop it so the engine lets
        # go of the test database before the plugin drops it.
        shutdown_lifespans()
    if mode is GenerationMode.POSITIVE:
        # Every 401 would conform too: make sure the token was really sent and accepted (random
        # ids mostly meet 404s, which is fine: the route was reached).
        unreached = [op for op, codes in statuses.items() if codes <= {401}]
        assert "GET /v1/info" in statuses and not unreached, statuses
