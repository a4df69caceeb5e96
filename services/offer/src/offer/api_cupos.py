"""Slot routes: capacity, assignment (one, or the explained batch), release, the list."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from juntos_events.json_types import JsonBool, JsonInt
from juntos_web import Principal, Problem, Role, problema, require
from juntos_web.idempotency import IdempotencyKey
from pydantic import BaseModel, Field, field_validator

from offer import domain, handlers, queries
from offer.api_comun import CuposVista, Srv, programa_en_alcance, responder
from offer.domain import ReglaIncumplida
from offer.elegibilidad import explicar
from offer.handlers import Servicios
from offer.tipos import CONFLICTOS, NO_ENCONTRADO, D, E, Id, M, Municipio, N, Periodo, territorio
from offer.vocabulario import EstadoCupo, MotivoLiberacion, MotivoLiberacionManual

router = APIRouter()


class CuposEntrada(BaseModel):
    cupos: JsonInt = Field(ge=0, le=1_000_000)


MAX_LINEAS = 2_000
# uniqueItems inside the array's schema (not beside anyOf) so clients and fuzzers see the rule.
Municipios = Annotated[
    list[Municipio],
    Field(min_length=1, max_length=MAX_LINEAS, json_schema_extra={"uniqueItems": True}),
]


class LineaEntrada(CuposEntrada):
    municipio: Municipio
    periodo: Periodo


class LineasEntrada(BaseModel):
    lineas: list[LineaEntrada] = Field(
        min_length=1,
        max_length=MAX_LINEAS,
        description=f"at most {MAX_LINEAS:,} lines, each (municipio, periodo) once; "
        "more: split them over several requests",
    )


class LineasVista(BaseModel):
    programa_id: str
    cambiadas: int = Field(description="lines whose capacity or LB changed (the others were set)")
    lineas: list[CuposVista] = Field(description="every line after the request, in its order")


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
    simular: JsonBool = Field(False, description="Only say who would get a slot, assign nothing")


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


class LotesEntrada(LoteEntrada):
    periodo: Periodo
    municipios: Municipios | None = Field(
        None,
        description="the lines to fill, each municipality once; default: every line of the "
        "program in this period within your scope",
    )

    @field_validator("municipios")
    @classmethod
    def _una_vez(cls, municipios: list[str] | None) -> list[str] | None:
        if municipios is not None and len(set(municipios)) < len(municipios):
            raise ValueError("each municipality at most once")
        return municipios


class LineaLoteVista(BaseModel):
    municipio: str
    libres: int = Field(description="free slots before the batch")
    candidatos: int = Field(description="eligible families (members) with demand, without slot")
    asignaciones: list[Elegida]


class LotesVista(BaseModel):
    programa_id: str
    periodo: str
    simulacion: bool
    criterio: list[str] = CRITERIO
    lineas: list[LineaLoteVista] = Field(description="one per line, in the municipalities' order")


class LiberacionEntrada(BaseModel):
    motivo: MotivoLiberacionManual = Field(
        description="(FAMILIA_EGRESADA comes from enrollment's exit events)"
    )
    fecha: date | None = None


# --- slots ------------------------------------------------------------------------------------

CUPOS = "/programas/{programa_id}/cupos/{municipio}/{periodo}"


async def _vista_de_stream(
    s: Servicios, programa_id: str, municipio: str, periodo: str
) -> CuposVista:
    async with s.engine.connect() as conn:
        estado, v = await handlers.cupos.load(
            conn, domain.cupos_stream(programa_id, municipio, periodo)
        )
    return vista_de_estado(programa_id, municipio, periodo, estado, v)


def vista_de_estado(
    programa_id: str, municipio: str, periodo: str, estado: domain.Cupos, version: int
) -> CuposVista:
    """A line as its stream has it (a line never enabled: 0 slots, version 0)."""
    return CuposVista(
        programa_id=programa_id,
        municipio=municipio,
        periodo=periodo,
        capacidad=estado.capacidad,
        asignados=len(estado.asignados),
        libres=estado.libres,
        version=version,
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
        await programa_en_alcance(conn, p, programa_id, municipio)

    async def run() -> tuple[BaseModel, int]:
        await handlers.habilitar_cupos(s, pid, municipio, periodo, entrada.cupos, actor=p.sub)
        vista = await _vista_de_stream(s, pid, municipio, periodo)
        return vista, vista.version

    return await responder(request, p, None, run)  # type: ignore[return-value]


@router.put(
    "/programas/{programa_id}/cupos",
    summary="Slots of the program in many municipalities and periods at once (replaces each)",
    description="Each line as `PUT .../cupos/{municipio}/{periodo}` (same events, the same "
    "line again changes nothing), in one transaction: if any line is refused, nothing is "
    "changed and the 422 names every refused line by its index (`motivos`). Lines not listed "
    f"stay as they are. At most {MAX_LINEAS:,} lines per request.",
    responses=CONFLICTOS,
)
async def habilitar_lineas(
    programa_id: uuid.UUID,
    entrada: LineasEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
) -> LineasVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await programa_en_alcance(conn, p, programa_id, *{x.municipio for x in entrada.lineas})
    lineas = [domain.LineaCupos(x.municipio, x.periodo, x.cupos) for x in entrada.lineas]

    async def run() -> tuple[BaseModel, int | None]:
        hechos = await handlers.habilitar_lineas(s, pid, lineas, actor=p.sub)
        vistas = [
            vista_de_estado(pid, x.municipio, x.periodo, h.after, h.version)
            for x, h in zip(lineas, hechos, strict=True)
        ]
        cambiadas = sum(1 for h in hechos if h.events)
        return LineasVista(programa_id=pid, cambiadas=cambiadas, lineas=vistas), None

    return await responder(request, p, None, run)  # type: ignore[return-value]


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
        await programa_en_alcance(conn, p, programa_id, municipio)
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
        await programa_en_alcance(conn, p, programa_id, municipio)

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

    return await responder(request, p, idempotency_key, run, 201)  # type: ignore[return-value]


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
        await programa_en_alcance(conn, p, programa_id, municipio)
    fecha = entrada.fecha or s.hoy()
    try:
        lote = await handlers.asignar_lote(
            s, pid, municipio, periodo, fecha=fecha, actor=p.sub, simular=entrada.simular
        )
    except ReglaIncumplida as regla:
        raise problema(regla) from None
    return LoteVista(
        programa_id=pid,
        municipio=municipio,
        periodo=periodo,
        simulacion=entrada.simular,
        libres=lote.libres,
        candidatos=lote.candidatos,
        asignaciones=_elegidas(lote, fecha, entrada.simular),
    )


def _elegidas(lote: handlers.Lote, fecha: date, simular: bool) -> list[Elegida]:
    return [
        Elegida(
            posicion=i,
            cupo_id=None if simular else cid,
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
    ]


@router.post(
    "/programas/{programa_id}/asignacion-masiva",
    summary="The batch assignment on many lines of a program and period at once",
    description="Each line as `POST .../cupos/{municipio}/{periodo}/asignacion-masiva` (same "
    "priority, picks, events and explanations), all in one transaction: a line without slots "
    "refuses the whole batch (409 `no-slots`, `motivos` naming each), a municipality outside "
    "your scope is a 403, and a lost race retries the whole batch. Without `municipios`: every "
    "line of the program in `periodo` within your scope.",
    responses=CONFLICTOS,
)
async def asignar_en_lotes(
    programa_id: uuid.UUID,
    entrada: LotesEntrada,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
) -> LotesVista:
    pid = str(programa_id)
    async with s.engine.connect() as conn:
        await programa_en_alcance(conn, p, programa_id, *(entrada.municipios or ()))
        municipios = entrada.municipios or [
            f.municipio
            for f in await queries.cupos_de_programa(conn, pid)
            if f.periodo == entrada.periodo
            and (p.role is Role.ENTIDAD or p.can_see_municipio(f.municipio))
        ]
    fecha = entrada.fecha or s.hoy()
    try:
        lotes = await handlers.asignar_lotes(
            s, pid, entrada.periodo, municipios, fecha=fecha, actor=p.sub, simular=entrada.simular
        )
    except ReglaIncumplida as regla:
        raise problema(regla) from None
    return LotesVista(
        programa_id=pid,
        periodo=entrada.periodo,
        simulacion=entrada.simular,
        lineas=[
            LineaLoteVista(
                municipio=m,
                libres=lote.libres,
                candidatos=lote.candidatos,
                asignaciones=_elegidas(lote, fecha, entrada.simular),
            )
            for m, lote in zip(municipios, lotes, strict=True)
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
        await programa_en_alcance(conn, p, uuid.UUID(fila.programa_id), fila.municipio)

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

    return await responder(request, p, None, run)  # type: ignore[return-value]
