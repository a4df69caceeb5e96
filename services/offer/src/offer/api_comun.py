"""What the routes share: the services, the domain's refusals as problems, program scope."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from juntos_web import Principal, Problem, Role, problema
from juntos_web.idempotency import idempotent
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from offer import queries
from offer.domain import ReglaIncumplida
from offer.handlers import Servicios, VersionDesactualizada


async def srv(request: Request) -> Servicios:
    """Async on purpose: FastAPI runs a plain `def` dependency in a worker thread per request."""
    servicios: Servicios = request.app.state.offer
    return servicios


Srv = Annotated[Servicios, Depends(srv)]


class CuposVista(BaseModel):
    programa_id: str
    municipio: str
    periodo: str
    capacidad: int
    asignados: int
    libres: int
    version: int


async def responder(
    request: Request,
    p: Principal,
    key: str | None,
    run: Callable[[], Awaitable[tuple[BaseModel, int | None]]],
    status: int = 200,
) -> Response:
    """Run a command with idempotency; map the domain's refusals to problems. The version
    `run` answers is the ETag (None: no single stream, no ETag)."""

    async def produce() -> Response:
        try:
            cuerpo, v = await run()
        except ReglaIncumplida as regla:
            raise problema(regla) from None
        except VersionDesactualizada as stale:
            raise Problem(
                412, str(stale), type="stale-version", headers={"ETag": f'"{stale.actual}"'}
            ) from None
        return JSONResponse(
            cuerpo.model_dump(mode="json"),
            status_code=status,
            headers={"ETag": f'"{v}"'} if v is not None else None,
        )

    return await idempotent(request, p, key, produce)


async def programa_en_alcance(
    conn: AsyncConnection, p: Principal, programa_id: uuid.UUID, *municipios: str
) -> Any:
    """The program's row, or 404; 403 outside the caller's entity or territory (in any of
    `municipios` when the command touches those)."""
    fila = await queries.programa(conn, str(programa_id))
    if fila is None:
        raise Problem(404, "no program with that id", type="not-found")
    if p.role is Role.ENTIDAD:
        if fila.entidad != p.entidad:
            raise Problem(403, "the program belongs to another entity", type="out-of-scope")
    elif municipios:
        for municipio in municipios:
            p.ensure_municipio(municipio)
    elif not any(p.can_see_municipio(m) for m in fila.municipios):
        raise Problem(403, "the program runs outside your scope", type="out-of-scope")
    return fila


def vista_cupos(c: Any) -> CuposVista:
    return CuposVista(
        programa_id=c.programa_id,
        municipio=c.municipio,
        periodo=c.periodo,
        capacidad=c.capacidad,
        asignados=c.asignados,
        libres=max(0, c.capacidad - c.asignados),
        version=c.version,
    )
