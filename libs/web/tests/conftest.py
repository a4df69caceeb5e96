"""A demo service exercising every piece of juntos_web: scope checks, validation, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from juntos_web import Principal, Problem, Role, create_service_app, require, v1_router
from juntos_web.testing import service_client, settings_for_tests
from pydantic import BaseModel

COORDINATORS = (Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR)


class Visita(BaseModel):
    fecha: date
    municipio: str


def demo_router() -> APIRouter:
    """Routes shaped like the real ones will be: role-guarded, scope-checked, validated."""
    router = v1_router()

    @router.get("/municipios/{code}")
    async def municipio(
        code: str, principal: Annotated[Principal, Depends(require(*COORDINATORS))]
    ) -> dict[str, str]:
        principal.ensure_municipio(code)
        return {"municipio": code}

    @router.get("/leaky/{code}")
    async def leaky(
        code: str, _: Annotated[Principal, Depends(require(*COORDINATORS))]
    ) -> dict[str, str]:
        return {"municipio": code}  # forgets the scope check: the matrix must catch it

    @router.get("/nacional", dependencies=[Depends(require(Role.NACIONAL))])
    async def nacional() -> dict[str, bool]:
        return {"ok": True}

    @router.post("/visitas")
    async def visitas(
        visita: Visita, principal: Annotated[Principal, Depends(require(Role.COGESTOR))]
    ) -> Visita:
        principal.ensure_municipio(visita.municipio)
        return visita

    @router.get("/boom", dependencies=[Depends(require(Role.NACIONAL))])
    async def boom() -> None:
        raise RuntimeError("secret internal detail: password=hunter2")

    @router.get("/conflict", dependencies=[Depends(require(Role.NACIONAL))])
    async def conflict() -> None:
        raise Problem(409, "the family changed meanwhile", type="stale-version", current=3)

    return router


@pytest.fixture
def demo_app() -> FastAPI:
    return create_service_app(settings_for_tests("demo"), routers=[demo_router()], version="9.9.9")


@pytest.fixture
async def client(demo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(demo_app) as client:
        yield client
