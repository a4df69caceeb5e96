"""Operations endpoints and the lifespan: health, readiness, metrics, hooks."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from juntos_web import PROBLEM_JSON, LifespanHook, Role, create_service_app
from juntos_web import app as fabrica
from juntos_web.testing import bearer, service_client, settings_for_tests


async def test_healthz_needs_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_docs_and_openapi_are_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "JUNTOS demo"


async def test_metrics_count_requests(client: httpx.AsyncClient, demo_app: FastAPI) -> None:
    await client.get("/v1/info", headers=bearer(demo_app, Role.NACIONAL))
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{handler="/v1/info",method="GET",status="2xx"}' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "juntos_outbox_backlog" in text  # the backbone's metrics share the registry
    assert 'handler="/healthz"' not in text  # probes would drown the request rates


async def test_readyz_names_the_failing_check() -> None:
    async def kafka_ok(app: FastAPI) -> None:
        return None

    app = create_service_app(
        settings_for_tests("demo"), readiness_checks={"kafka": kafka_ok}
    )  # database on a closed port
    async with service_client(app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["title"] == "Service not ready"
    assert body["detail"] == "failing checks: database"
    assert body["checks"]["database"]["status"] == "failed"
    assert body["checks"]["database"]["error"]  # the exception type, no host or message
    assert "127.0.0.1" not in response.text
    assert body["checks"]["kafka"]["status"] == "ok"


async def test_readyz_with_nothing_running_fails_both(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "failing checks: database, kafka"


async def test_a_hung_check_is_cut_by_the_timeout() -> None:
    async def hangs(app: FastAPI) -> None:
        await asyncio.sleep(3600)

    app = create_service_app(
        settings_for_tests("demo", readiness_timeout_seconds=0.05),
        readiness_checks={"database": hangs, "kafka": hangs},
    )
    async with service_client(app) as client:
        body = (await client.get("/readyz")).json()
    assert body["checks"]["database"]["error"] == "no answer within 0.05s"


@pytest.fixture
def real_app(database_url: str, kafka_bootstrap: str) -> FastAPI:
    """The demo service on the session's real PostgreSQL and Kafka."""
    return create_service_app(
        settings_for_tests(
            "demo",
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            readiness_timeout_seconds=10,
        )
    )


async def test_readyz_is_200_when_the_real_servers_answer(real_app: FastAPI) -> None:
    async with service_client(real_app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "kafka": "ok",
    }


async def test_lifespan_runs_hooks_in_order_around_the_engine() -> None:
    calls: list[str] = []

    async def migrate(app: FastAPI) -> None:
        assert app.state.engine is not None
        calls.append("migrate")

    def background(name: str) -> LifespanHook:
        @asynccontextmanager
        async def running(app: FastAPI) -> AsyncIterator[None]:
            calls.append(f"start {name}")
            yield
            calls.append(f"stop {name}")

        return running

    app = create_service_app(
        settings_for_tests("demo"),
        startup=[migrate],
        lifespans=[background("relay"), background("consumers")],
    )
    async with service_client(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        calls.append("serving")
    assert calls == [
        "migrate",
        "start relay",
        "start consumers",
        "serving",
        "stop consumers",
        "stop relay",
    ]


async def test_the_first_app_to_start_in_a_process_settles_the_gc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The start-up heap frozen out of the cyclic GC and a larger young generation, once: a
    batch's decoded objects no longer set off full collections over the whole heap."""
    monkeypatch.setattr(fabrica, "_gc_settled", False)
    antes = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    try:
        async with service_client(create_service_app(settings_for_tests("demo"))) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert gc.get_threshold() == (fabrica.GC_YOUNG_THRESHOLD, 10, 10)
            assert gc.get_freeze_count() > 10_000  # the modules, schemas and validators
        gc.set_threshold(700, 10, 10)
        async with service_client(create_service_app(settings_for_tests("demo"))):
            assert gc.get_threshold() == (700, 10, 10)  # a second app changes nothing
    finally:
        gc.set_threshold(*antes)


async def test_a_backend_the_server_closed_is_replaced_without_a_failed_request(
    real_app: FastAPI, database_url: str
) -> None:
    """A restart or pg_terminate_backend closes pooled connections; the next request must not
    be the one that finds out (the checkout hook replaces them, with no ping round trips)."""
    async with service_client(real_app) as client:
        assert (await client.get("/readyz")).status_code == 200
        otro = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            cerradas = await otro.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await otro.close()
        assert cerradas >= 1
        await asyncio.sleep(0.2)
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
