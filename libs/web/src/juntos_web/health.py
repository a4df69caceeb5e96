"""Liveness and readiness: /healthz says the process runs, /readyz that it can do its work.

An orchestrator restarts a service whose liveness fails, so /healthz touches nothing outside
the process (a database outage must not restart every pod). /readyz asks the database and the
broker, each bounded by a short timeout so a hung dependency answers 503, not a hung probe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from juntos_events.logs import get_logger
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from juntos_web.problems import Problem, problem_doc
from juntos_web.settings import ServiceSettings

ReadinessCheck = Callable[[FastAPI], Awaitable[object]]
"""A readiness check gets the app (engine and settings on app.state); raising means not ready."""

log = get_logger(__name__)


async def database_answers(app: FastAPI) -> None:
    engine: AsyncEngine = app.state.engine
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def kafka_answers(app: FastAPI) -> None:
    """A metadata request through a short-lived admin client: the probe keeps no connection."""
    settings: ServiceSettings = app.state.settings
    timeout_ms = int(settings.readiness_timeout_seconds * 1000)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-readyz",
        request_timeout_ms=timeout_ms,
    )
    try:
        await admin.start()
        await admin.describe_cluster()
    finally:
        await admin.close()


DEFAULT_CHECKS: Mapping[str, ReadinessCheck] = {
    "database": database_answers,
    "kafka": kafka_answers,
}


class CheckResult(BaseModel):
    status: Literal["ok", "failed"]
    duration_ms: float
    error: str | None = None


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: dict[str, CheckResult]


class Liveness(BaseModel):
    status: Literal["ok"]


async def _timed(name: str, check: ReadinessCheck, app: FastAPI, seconds: float) -> CheckResult:
    """Only the exception's type is reported: /readyz is public, hosts and messages are logged."""
    started = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(seconds):
            await check(app)
    except TimeoutError:
        error = f"no answer within {seconds:g}s"
        log.warning("readiness check timed out", check=name, seconds=seconds)
    except Exception as exc:
        error = type(exc).__name__
        log.warning("readiness check failed", check=name, error=repr(exc))
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(status="failed" if error else "ok", duration_ms=elapsed, error=error)


async def run_checks(app: FastAPI) -> dict[str, CheckResult]:
    """Run the app's readiness checks concurrently, each under the configured timeout."""
    checks: Mapping[str, ReadinessCheck] = app.state.readiness_checks
    timeout = app.state.settings.readiness_timeout_seconds
    results = await asyncio.gather(
        *(_timed(name, check, app, timeout) for name, check in checks.items())
    )
    return dict(zip(checks, results, strict=True))


router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process is up (no dependency is asked)")
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database and the Kafka broker answer",
    response_model=Readiness,
    responses={503: problem_doc("A dependency does not answer; `checks` says which")},
)
async def readyz(request: Request) -> Readiness | JSONResponse:
    results = await run_checks(request.app)
    failed = sorted(name for name, result in results.items() if result.status == "failed")
    if failed:
        return Problem(
            503,
            f"failing checks: {', '.join(failed)}",
            title="Service not ready",
            type="not-ready",
            checks={name: result.model_dump() for name, result in results.items()},
        ).response(request)
    return Readiness(status="ready", checks=results)
