"""Offer's HTTP API under /v1: thin routes that parse, authorize, call a handler.

Scope: an entity manages (and sees) only its own programs, their slots and its RUAF imports;
national staff everything; departmental and municipal coordinators the slots and programs of
their territory, and they may assign slots there. Municipality reports are in `api_reportes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from juntos_web import Principal, Problem, Role, problem_doc, require, v1_router
from juntos_web.idempotency import IdempotencyKey, idempotent
from juntos_web.text import PRINTABLE
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from offer import api_entregas, api_reportes, domain, handlers, queries
from offer.domain import ReglaIncumplida
from offer.elegibilidad import explicar
from offer.events import Elegibilidad
from offer.handlers import Servicios, VersionDesactualizada
from offer.tipos import (
    CONFLICTOS,
    NO_ENCONTRADO,
    D,
    E,
    Entidad,
    Id,
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
    EstadoCupo,
    MotivoLiberacion,
    MotivoLiberacionManual,
    NivelGobierno,
)

router = v1_router()
router.include_router(api_reportes.router)
router.include_router(api_entregas.router)


def srv(request: Request) -> Servicios:
    servicios: Servicios = request.app.state.offer
    return servicios


Srv = Annotated[Servicios, Depends(srv)]


# --- models -----------------------------------------------------------------------------------


class ProgramaEntrada(BaseModel):
    entidad: Entidad = Field(description="The entity that runs it (an entity: its own code)")
    titulo: str = Field(min_length=3, max_length=200, pattern=PRINTABLE)
    nivel: NivelGobierno
    alcance: Alcance = Alcance.INTEGRANTE
    logros: list[Logro] = Field(min_length=1, max_length=45)
    elegibilidad: Elegibilidad = Elegibilidad()
    municipios: list[Municipio] = Field(min_length=1, max_length=1200)


class CuposVista(BaseModel):
    programa_id: str
    municipio: str
    periodo: str
    capacidad: int
    asignados: int
    libres: int
    version: int


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


class CuposEntrada(BaseModel):
    cupos: int = Field(ge=0, le=1_000_000)


class CalidadEntrada(BaseModel):
    cumplimiento: int = Field(ge=0, le=100, description="percent of the standards met")


class AsignacionEntrada(BaseModel):
    familia_id: Id
    integrante_id: Id | None = Field(None, description="Required by INTEGRANTE programs")
    fecha: date | None = Field(None, description="Default: today (Colombia)")


class AsignacionVista(BaseModel):
    cupo_id: str
    programa_id: str
    entidad: str
    municipio: str
    periodo: str
    familia_id: str
    integrante_id: str | None
    logros: list[str]
    fecha: date
    estado: EstadoCupo
    motivo: MotivoLiberacion | None = None


class PaginaAsignaciones(BaseModel):
    items: list[AsignacionVista]
    siguiente: str | None = None


class LoteEntrada(BaseModel):
    fecha: date | None = Field(None, description="Ages and waiting times are counted at this date")
    simular: bool = Field(False, description="Only say who would get a slot, assign nothing")


class Elegida(BaseModel):
    posicion: int
    cupo_id: str | None = Field(description="null in a simulation")
    familia_id: str
    integrante_id: str | None
    prioridad_plan: int | None
    logro_plan: str | None
    pendiente_desde: date
    logro_espera: str
    dias_espera: int
    vulnerabilidad: list[str]
    explicacion: str


CRITERIO = [
    "1. plan-familiar priority of one of the program's LB (orden 1 first; none: after)",
    "2. waiting time: earliest date one of the program's LB became pending (oldest first)",
    "3. vulnerability: count of DESPLAZADA, DISCAPACIDAD, MENOR_DE_5 (more first)",
    "4. ties: familia_id, then integrante_id",
]


class LoteVista(BaseModel):
    programa_id: str
    municipio: str
    periodo: str
    simulacion: bool
    libres: int = Field(description="free slots before the batch")
    candidatos: int = Field(description="eligible families (members) with demand, without slot")
    criterio: list[str] = CRITERIO
    asignaciones: list[Elegida]


class LiberacionEntrada(BaseModel):
    motivo: MotivoLiberacionManual = Field(
        description="(FAMILIA_EGRESADA comes from enrollment's exit events)"
    )
    fecha: date | None = None


# --- helpers ----------------------------------------------------------------------------------


def _problema(regla: ReglaIncumplida) -> Problem:
    return Problem(regla.status, str(regla), type=regla.codigo, motivos=list(regla.motivos) or None)


async def _responder(
    request: Request,
    p: Principal,
    key: str | None,
    run: Callable[[], Awaitable[tuple[BaseModel, int]]],
    status: int = 200,
) -> Response:
    """Run a command with idempotency; map the domain's refusals to problems."""

    async def produce() -> Response:
        try:
            cuerpo, v = await run()
        except ReglaIncumplida as regla:
            raise _problema(regla) from None
        except VersionDesactualizada as stale:
            raise Problem(
                412, str(stale), type="stale-version", headers={"ETag": f'"{stale.actual}"'}
            ) from None
        return JSONResponse(
            cuerpo.model_dump(mode="json"), status_code=status, headers={"ETag": f'"{v}"'}
        )

    return await idempotent(request, p, key, produce)


async def _programa(
    conn: AsyncConnection, p: Principal, programa_id: uuid.UUID, municipio: str | None = None
) -> Any:
    """The program's row, or 404; 403 outside the caller's entity or territory."""
    fila = await queries.programa(conn, str(programa_id))
    if fila is None:
        raise Problem(404, "no program with that id", type="not-found")
    if p.role is Role.ENTIDAD:
        if fila.entidad != p.entidad:
            raise Problem(403, "the program belongs to another entity", type="out-of-scope")
    elif municipio is not None:
        p.ensure_municipio(municipio)
    elif not any(p.can_see_municipio(m) for m in fila.municipios):
        raise Problem(403, "the program runs outside your scope", type="out-of-scope")
    return fila


async def _vista_programa(conn: AsyncConnection, programa_id: str) -> ProgramaVista:
    fila = await queries.programa(conn, programa_id)
    assert fila is not None
    return ProgramaVista(
        **{k: v for k, v in fila._mapping.items()},
        cupos=[_vista_cupos(c) for c in await queries.cupos_de_programa(conn, programa_id)],
        calidad=await queries.calidad_de(conn, programa_id),
    )


def _vista_cupos(c: Any) -> CuposVista:
    return CuposVista(
        programa_id=c.programa_id,
        municipio=c.municipio,
        periodo=c.periodo,
        capacidad=c.capacidad,
        asignados=c.asignados,
        libres=max(0, c.capacidad - c.asignados),
        version=c.version,
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

    return await _responder(request, p, None, run, 201)  # type: ignore[return-value]


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
        await _programa(conn, p, programa_id)
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
        await _programa(conn, p, programa_id)
    comando = domain.ActualizarPrograma(_datos(entrada, _entidad(p, entrada.entidad)))

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.mandar_programa(
            s, pid, comando, actor=p.sub, if_match=version(if_match)
        )
        async with s.engine.connect() as conn:
            return await _vista_programa(conn, pid), hecho.version

    return await _responder(request, p, None, run)  # type: ignore[return-value]


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
        await _programa(conn, p, programa_id)
    comando = domain.ReportarCalidad(periodo, entrada.cumplimiento)

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.mandar_programa(s, pid, comando, actor=p.sub)
        async with s.engine.connect() as conn:
            return await _vista_programa(conn, pid), hecho.version

    return await _responder(request, p, None, run)  # type: ignore[return-value]


# --- slots ------------------------------------------------------------------------------------

CUPOS = "/programas/{programa_id}/cupos/{municipio}/{periodo}"


async def _vista_de_stream(
    s: Servicios, programa_id: str, municipio: str, periodo: str
) -> CuposVista:
    async with s.engine.connect() as conn:
        estado, v = await handlers.cupos.load(
            conn, domain.cupos_stream(programa_id, municipio, periodo)
        )
    return CuposVista(
        programa_id=programa_id,
        municipio=municipio,
        periodo=periodo,
        capacidad=estado.capacidad,
        asignados=len(estado.asignados),
        libres=estado.libres,
        version=v,
    )


@router.put(
    CUPOS,
    summary="Slots of the program in a municipality and period (replaces)",
    responses=CONFLICTOS,
)
async def habilitar_cupos(
    programa_id: uuid.UUID,
    municipio: Municipio,
    periodo: Periodo,
    entrada: CuposEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> CuposVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await _programa(conn, p, programa_id, municipio)

    async def run() -> tuple[BaseModel, int]:
        await handlers.habilitar_cupos(s, pid, municipio, periodo, entrada.cupos, actor=p.sub)
        vista = await _vista_de_stream(s, pid, municipio, periodo)
        return vista, vista.version

    return await _responder(request, p, None, run)  # type: ignore[return-value]


@router.get(CUPOS, summary="Capacity, assigned and free slots", responses=NO_ENCONTRADO)
async def ver_cupos(
    programa_id: uuid.UUID,
    municipio: Municipio,
    periodo: Periodo,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    response: Response,
) -> CuposVista:
    async with s.engine.connect() as conn:
        await _programa(conn, p, programa_id, municipio)
    vista = await _vista_de_stream(s, str(programa_id), municipio, periodo)
    response.headers["ETag"] = f'"{vista.version}"'
    return vista


def _vista_asignacion(e: Any, estado: EstadoCupo, motivo: Any = None) -> AsignacionVista:
    return AsignacionVista(
        cupo_id=e.cupo_id,
        programa_id=e.programa_id,
        entidad=e.entidad,
        municipio=e.municipio,
        periodo=e.periodo,
        familia_id=e.familia_id,
        integrante_id=e.integrante_id,
        logros=list(e.logros),
        fecha=e.fecha,
        estado=estado,
        motivo=motivo,
    )


@router.post(
    CUPOS + "/asignaciones",
    summary="Assign a slot to a family or member (refused if ineligible, without demand or full)",
    status_code=201,
    responses=CONFLICTOS,
)
async def asignar(
    programa_id: uuid.UUID,
    municipio: Municipio,
    periodo: Periodo,
    entrada: AsignacionEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    idempotency_key: IdempotencyKey = None,
) -> AsignacionVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await _programa(conn, p, programa_id, municipio)

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.asignar_cupo(
            s,
            pid,
            municipio,
            periodo,
            familia_id=entrada.familia_id,
            integrante_id=entrada.integrante_id,
            fecha=entrada.fecha or s.hoy(),
            actor=p.sub,
        )
        return _vista_asignacion(hecho.events[0], EstadoCupo.ASIGNADO), hecho.version

    return await _responder(request, p, idempotency_key, run, 201)  # type: ignore[return-value]


@router.post(
    CUPOS + "/asignacion-masiva",
    summary="Assign every free slot by the documented priority; each pick says why",
    responses=CONFLICTOS,
)
async def asignar_en_lote(
    programa_id: uuid.UUID,
    municipio: Municipio,
    periodo: Periodo,
    entrada: LoteEntrada,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
) -> LoteVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await _programa(conn, p, programa_id, municipio)
    fecha = entrada.fecha or s.hoy()
    try:
        lote = await handlers.asignar_lote(
            s, pid, municipio, periodo, fecha=fecha, actor=p.sub, simular=entrada.simular
        )
    except ReglaIncumplida as regla:
        raise _problema(regla) from None
    return LoteVista(
        programa_id=pid,
        municipio=municipio,
        periodo=periodo,
        simulacion=entrada.simular,
        libres=lote.libres,
        candidatos=lote.candidatos,
        asignaciones=[
            Elegida(
                posicion=i,
                cupo_id=None if entrada.simular else cid,
                familia_id=c.familia_id,
                integrante_id=c.integrante_id,
                prioridad_plan=c.prioridad_plan,
                logro_plan=c.logro_plan,
                pendiente_desde=c.pendiente_desde,
                logro_espera=c.logro_espera,
                dias_espera=(fecha - c.pendiente_desde).days,
                vulnerabilidad=[v.value for v in c.vulnerabilidad],
                explicacion=explicar(c, i, fecha),
            )
            for i, (c, cid) in enumerate(lote.elegidos, start=1)
        ],
    )


@router.get("/cupos", summary="Assigned and released slots in your scope (cursor)")
async def listar_cupos(
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    programa_id: uuid.UUID | None = None,
    municipio: Annotated[Municipio | None, Query()] = None,
    periodo: Annotated[Periodo | None, Query()] = None,
    familia_id: Annotated[Id | None, Query()] = None,
    estado: EstadoCupo | None = None,
    cursor: Annotated[uuid.UUID | None, Query()] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaginaAsignaciones:
    if municipio is not None and p.role is not Role.ENTIDAD:
        p.ensure_municipio(municipio)
    mpio, dpto = territorio(p)
    async with s.engine.connect() as conn:
        filas = await queries.listar_asignaciones(
            conn,
            programa_id=str(programa_id) if programa_id else None,
            municipio=municipio or mpio,
            departamento=dpto,
            periodo=periodo,
            entidad=p.entidad if p.role is Role.ENTIDAD else None,
            familia_id=familia_id,
            estado=estado.value if estado else None,
            despues_de=str(cursor) if cursor else None,
            limite=limite + 1,
        )
    items = [_vista_asignacion(f, EstadoCupo(f.estado), f.motivo) for f in filas[:limite]]
    return PaginaAsignaciones(
        items=items, siguiente=items[-1].cupo_id if len(filas) > limite else None
    )


@router.post(
    "/cupos/{cupo_id}/liberacion",
    summary="Free a slot: the family declined it (RECHAZADO) or did not take it up (VENCIDO)",
    responses=CONFLICTOS,
)
async def liberar(
    cupo_id: uuid.UUID,
    entrada: LiberacionEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
) -> AsignacionVista:
    async with s.engine.connect() as conn:
        fila = await queries.asignacion(conn, str(cupo_id))
        if fila is None:
            raise Problem(404, "no slot with that id", type="not-found")
        await _programa(conn, p, uuid.UUID(fila.programa_id), fila.municipio)

    async def run() -> tuple[BaseModel, int]:
        hecho = await handlers.liberar_cupo(
            s,
            fila.programa_id,
            fila.municipio,
            fila.periodo,
            str(cupo_id),
            MotivoLiberacion(entrada.motivo.value),
            entrada.fecha or s.hoy(),
            actor=p.sub,
        )
        async with s.engine.connect() as conn:
            ahora = await queries.asignacion(conn, str(cupo_id))
        return _vista_asignacion(ahora, EstadoCupo(ahora.estado), ahora.motivo), hecho.version

    return await _responder(request, p, None, run)  # type: ignore[return-value]
