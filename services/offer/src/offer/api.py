"""Offer's HTTP API under /v1: thin routes that parse, authorize, call a handler.

Scope: an entity manages (and sees) only its own programs, their slots and its RUAF imports;
national staff everything; departmental and municipal coordinators the slots and programs of
their territory, and they may assign slots there. Municipality reports are in `api_reportes`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from juntos_events.json_types import JsonInt
from juntos_web import Principal, Problem, Role, problem_doc, require, v1_router
from juntos_web.text import PRINTABLE
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from offer import api_clientes, api_cupos, api_entregas, api_reportes, domain, handlers, queries
from offer.api_comun import CuposVista, Srv, programa_en_alcance, responder, vista_cupos
from offer.events import Elegibilidad
from offer.tipos import (
    CONFLICTOS,
    NO_ENCONTRADO,
    D,
    E,
    Entidad,
    IfMatch,
    Logro,
    M,
    Municipio,
    N,
    Periodo,
    territorio,
    version,
)
from offer.tipos import Dimension as DimensionCodigo
from offer.vocabulario import (
    Alcance,
    NivelGobierno,
)

router = v1_router()
router.include_router(api_cupos.router)
router.include_router(api_reportes.router)
router.include_router(api_entregas.router)
router.include_router(api_clientes.router)


class ProgramaEntrada(BaseModel):
    entidad: Entidad = Field(description="The entity that runs it (an entity: its own code)")
    titulo: str = Field(min_length=3, max_length=200, pattern=PRINTABLE)
    nivel: NivelGobierno
    alcance: Alcance = Alcance.INTEGRANTE
    logros: list[Logro] = Field(min_length=1, max_length=45)
    elegibilidad: Elegibilidad = Elegibilidad()
    municipios: list[Municipio] = Field(min_length=1, max_length=1200)


class ProgramaVista(BaseModel):
    programa_id: str
    entidad: str
    titulo: str
    nivel: NivelGobierno
    alcance: Alcance
    logros: list[str]
    dimensiones: list[str]
    elegibilidad: Elegibilidad
    municipios: list[str]
    version: int
    cupos: list[CuposVista] = []
    calidad: dict[str, int] = Field(default_factory=dict, description="compliance % per period")


class PaginaProgramas(BaseModel):
    items: list[ProgramaVista]
    siguiente: str | None = Field(None, description="Cursor of the next page (`cursor=`)")


class CalidadEntrada(BaseModel):
    cumplimiento: JsonInt = Field(ge=0, le=100, description="percent of the standards met")


# --- helpers ----------------------------------------------------------------------------------


async def _vista_programa(conn: AsyncConnection, programa_id: str) -> ProgramaVista:
    fila = await queries.programa(conn, programa_id)
    assert fila is not None
    return ProgramaVista(
        **{k: v for k, v in fila._mapping.items()},
        cupos=[vista_cupos(c) for c in await queries.cupos_de_programa(conn, programa_id)],
        calidad=await queries.calidad_de(conn, programa_id),
    )


def _datos(entrada: ProgramaEntrada, entidad: str) -> domain.DatosPrograma:
    return domain.DatosPrograma(
        entidad=entidad,
        titulo=entrada.titulo,
        nivel=entrada.nivel,
        alcance=entrada.alcance,
        logros=tuple(entrada.logros),
        elegibilidad=entrada.elegibilidad,
        municipios=tuple(entrada.municipios),
    )


def _entidad(p: Principal, pedida: str) -> str:
    if p.role is Role.ENTIDAD and pedida != p.entidad:
        raise Problem(403, "an entity registers only its own programs", type="out-of-scope")
    return pedida


# --- programs ---------------------------------------------------------------------------------


class RegistroEntrada(ProgramaEntrada):
    programa_id: uuid.UUID | None = Field(
        None,
        description="Choose the id to make retries safe: the same registration again is"
        " answered with the program, a different one with 409",
    )


@router.post(
    "/programas",
    summary="Register a program in the Mapa de Oferta Local (an entity: its own)",
    status_code=201,
    responses={409: problem_doc("A different program already has that id")},
)
async def registrar_programa(
    entrada: RegistroEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> ProgramaVista:
    entidad = _entidad(p, entrada.entidad)
    pid = str(entrada.programa_id or uuid.uuid4())
    comando = domain.RegistrarPrograma(pid, _datos(entrada, entidad))

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.mandar_programa(s, pid, comando, actor=p.sub)
        async with s.engine.connect() as conn:
            return await _vista_programa(conn, pid), hecho.version

    return await responder(request, p, None, run, 201)  # type: ignore[return-value]


MAX_PROGRAMAS = 200


class RegistroEnLote(ProgramaEntrada):
    programa_id: uuid.UUID = Field(
        description="Required here: the lines name it, and a retry registers nothing twice"
    )


class LineaDeProgramaEntrada(api_cupos.LineaEntrada):
    programa_id: uuid.UUID = Field(description="A program of `programas` or an existing one")


class OfertaEntrada(BaseModel):
    programas: list[RegistroEnLote] = Field(
        default_factory=list,
        max_length=MAX_PROGRAMAS,
        description=f"at most {MAX_PROGRAMAS}, each programa_id once",
    )
    lineas: list[LineaDeProgramaEntrada] = Field(
        default_factory=list,
        max_length=api_cupos.MAX_LINEAS,
        description=f"at most {api_cupos.MAX_LINEAS:,}, each (programa_id, municipio, periodo)"
        " once",
    )


class ProgramaEnLote(BaseModel):
    programa_id: str
    version: int
    registrado: bool = Field(description="false: the same registration was already there")


class OfertaVista(BaseModel):
    programas: list[ProgramaEnLote] = Field(description="in the request's order")
    lineas: list[CuposVista] = Field(description="every line after the request, in its order")
    registrados: int = Field(description="programs new with this request")
    cambiadas: int = Field(description="lines whose capacity or LB changed")


@router.post(
    "/programas/lote",
    summary="Register many programs and enable slot lines in one transaction",
    description="Each program as `POST /v1/programas` and each line as `PUT"
    " .../cupos/{municipio}/{periodo}` (same events; the same request again changes nothing),"
    " all or nothing: if any program or line is refused, nothing is changed and the 422 names"
    " each refused item by its index (`motivos`). Lines may name programs of this request or"
    " existing ones. An entity registers only its own programs and their slots.",
    responses=CONFLICTOS,
)
async def registrar_oferta(
    entrada: OfertaEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> OfertaVista:
    registros = [
        domain.RegistrarPrograma(str(x.programa_id), _datos(x, _entidad(p, x.entidad)))
        for x in entrada.programas
    ]
    lineas = [
        (str(x.programa_id), domain.LineaCupos(x.municipio, x.periodo, x.cupos))
        for x in entrada.lineas
    ]
    if p.role is Role.ENTIDAD:
        otros = {pid for pid, _ in lineas} - {r.programa_id for r in registros}
        async with s.engine.connect() as conn:
            for entidad in (await queries.entidades_de(conn, sorted(otros))).values():
                _entidad(p, entidad)

    async def run() -> tuple[BaseModel, int | None]:
        programas, habilitadas = await handlers.registrar_oferta(s, registros, lineas, actor=p.sub)
        vista = OfertaVista(
            programas=[
                ProgramaEnLote(
                    programa_id=r.programa_id, version=h.version, registrado=bool(h.events)
                )
                for r, h in zip(registros, programas, strict=True)
            ],
            lineas=[
                api_cupos.vista_de_estado(pid, x.municipio, x.periodo, h.after, h.version)
                for (pid, x), h in zip(lineas, habilitadas, strict=True)
            ],
            registrados=sum(1 for h in programas if h.events),
            cambiadas=sum(1 for h in habilitadas if h.events),
        )
        return vista, None

    return await responder(request, p, None, run)  # type: ignore[return-value]


@router.get("/programas", summary="Programs, by municipality, dimension, LB or entity (cursor)")
async def listar_programas(
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    municipio: Annotated[Municipio | None, Query()] = None,
    dimension: Annotated[DimensionCodigo | None, Query()] = None,
    logro: Annotated[Logro | None, Query()] = None,
    entidad: Annotated[Entidad | None, Query()] = None,
    cursor: Annotated[uuid.UUID | None, Query()] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaginaProgramas:
    if municipio is not None and p.role is not Role.ENTIDAD:
        p.ensure_municipio(municipio)
    if p.role is Role.ENTIDAD:
        if entidad is not None and entidad != p.entidad:
            raise Problem(403, "an entity sees only its own programs", type="out-of-scope")
        entidad = p.entidad
    mpio, dpto = territorio(p)
    async with s.engine.connect() as conn:
        filas = await queries.listar_programas(
            conn,
            municipio=municipio or mpio,
            departamento=dpto,
            dimension=dimension,
            logro=logro,
            entidad=entidad,
            despues_de=str(cursor) if cursor else None,
            limite=limite + 1,
        )
        items = [await _vista_programa(conn, f.programa_id) for f in filas[:limite]]
    siguiente = items[-1].programa_id if len(filas) > limite else None
    return PaginaProgramas(items=items, siguiente=siguiente)


@router.get(
    "/programas/{programa_id}",
    summary="A program, its slots and reported quality",
    responses=NO_ENCONTRADO,
)
async def ver_programa(
    programa_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    response: Response,
) -> ProgramaVista:
    async with s.engine.connect() as conn:
        await programa_en_alcance(conn, p, programa_id)
        vista = await _vista_programa(conn, str(programa_id))
    response.headers["ETag"] = f'"{vista.version}"'
    return vista


@router.put(
    "/programas/{programa_id}",
    summary="Update a program (the full new version; its entity cannot change)",
    responses=CONFLICTOS,
)
async def actualizar_programa(
    programa_id: uuid.UUID,
    entrada: ProgramaEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
    if_match: IfMatch = None,
) -> ProgramaVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await programa_en_alcance(conn, p, programa_id)
    comando = domain.ActualizarPrograma(_datos(entrada, _entidad(p, entrada.entidad)))

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.mandar_programa(
            s, pid, comando, actor=p.sub, if_match=version(if_match)
        )
        async with s.engine.connect() as conn:
            return await _vista_programa(conn, pid), hecho.version

    return await responder(request, p, None, run)  # type: ignore[return-value]


@router.put(
    "/programas/{programa_id}/calidad/{periodo}",
    summary="The entity's report of compliance with its service standards in a period",
    responses=CONFLICTOS,
)
async def reportar_calidad(
    programa_id: uuid.UUID,
    periodo: Periodo,
    entrada: CalidadEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> ProgramaVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await programa_en_alcance(conn, p, programa_id)
    comando = domain.ReportarCalidad(periodo, entrada.cumplimiento)

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.mandar_programa(s, pid, comando, actor=p.sub)
        async with s.engine.connect() as conn:
            return await _vista_programa(conn, pid), hecho.version

    return await responder(request, p, None, run)  # type: ignore[return-value]
