"""Delivered services: RUAF-style imports by entities (their own programs) or national staff.

`POST /v1/entregas/ruaf` takes the CSV as the body (`text/csv`). Every row is matched to a
JUNTOS member through enrollment; the answer lists unmatched and malformed rows by line with a
reason that never repeats the document.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from juntos_web import Principal, Problem, Role, problem_doc, require
from pydantic import BaseModel, Field

from offer import queries, ruaf
from offer.api_comun import Srv
from offer.enrollment import EnrollmentNoDisponible
from offer.handlers import Servicios
from offer.tipos import E, N

router = APIRouter()
TAMANO_MAXIMO = 20 * 1024 * 1024
CABECERA = ",".join(ruaf.COLUMNAS)


class Rechazo(BaseModel):
    linea: int
    motivo: str


class ImportacionRuaf(BaseModel):
    importacion_id: uuid.UUID
    resumen: dict[str, int] = Field(
        description="filas, registradas, ya_registradas, no_encontradas, rechazadas"
    )
    rechazos: list[Rechazo] = Field(description="The first rejected rows (all: GET .../rechazos)")


async def _vista(s: Servicios, p: Principal, iid: uuid.UUID) -> ImportacionRuaf:
    async with s.engine.connect() as conn:
        fila = await queries.importacion_ruaf(conn, iid)
        if fila is None or (p.role is not Role.NACIONAL and fila.actor != p.sub):
            raise Problem(404, "no import with that id", type="not-found")
        rechazos = await queries.rechazos_ruaf(conn, iid, despues_de=0, limite=ruaf.MOSTRAR)
    return ImportacionRuaf(
        importacion_id=iid,
        resumen=fila.resumen,
        rechazos=[Rechazo(linea=r.linea, motivo=r.motivo) for r in rechazos],
    )


CUERPO: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "RUAF-style CSV, UTF-8, with this header row (see the service README)",
        "content": {
            "text/csv": {
                "schema": {"type": "string", "pattern": f"^{CABECERA}(\\r?\\n[^\\x00]*)?$"},
                "example": f"{CABECERA}\nCC,1001001,<programa_id>,2026-05-01,150000\n",
            }
        },
    }
}


@router.post(
    "/entregas/ruaf",
    summary="Import delivered benefits (RUAF): matched rows become ServicioPrestado",
    openapi_extra=CUERPO,
    responses={
        413: problem_doc("The file is larger than 20 MB: split it"),
        415: problem_doc("Send text/csv"),
        503: problem_doc("Enrollment cannot be reached to match documents; nothing imported"),
    },
)
async def importar_ruaf(
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> ImportacionRuaf:
    tipo = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if tipo != "text/csv":
        raise Problem(415, "send the file as text/csv")
    cuerpo = bytearray()
    async for trozo in request.stream():
        cuerpo += trozo
        if len(cuerpo) > TAMANO_MAXIMO:
            raise Problem(413, "the file is larger than 20 MB: split it")
    entidad = p.entidad if p.role is Role.ENTIDAD else None
    try:
        hecho = await ruaf.importar(s, bytes(cuerpo), actor=p.sub, entidad=entidad)
    except ruaf.ArchivoInvalido as exc:
        raise Problem(422, str(exc), type="invalid-file") from None
    except EnrollmentNoDisponible as exc:
        raise Problem(
            503, f"{exc}; nothing was imported, retry later", type="enrollment-down"
        ) from None
    return await _vista(s, p, hecho.importacion_id)


@router.get(
    "/entregas/ruaf/{importacion_id}",
    summary="A RUAF import's summary",
    responses={404: problem_doc("No such import (or not yours)")},
)
async def ver_importacion(
    importacion_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> ImportacionRuaf:
    return await _vista(s, p, importacion_id)


@router.get(
    "/entregas/ruaf/{importacion_id}/rechazos",
    summary="Every unmatched or malformed row of a RUAF import, by line",
    responses={404: problem_doc("No such import (or not yours)")},
)
async def rechazos(
    importacion_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
    cursor: Annotated[int, Query(ge=0, le=10**9, description="Last line already seen")] = 0,
    limite: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[Rechazo]:
    await _vista(s, p, importacion_id)
    async with s.engine.connect() as conn:
        filas = await queries.rechazos_ruaf(conn, importacion_id, despues_de=cursor, limite=limite)
    return [Rechazo(linea=f.linea, motivo=f.motivo) for f in filas]
