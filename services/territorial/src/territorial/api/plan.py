"""The plan de acción municipal: draft, actions, approval by the council, follow-up."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from juntos_events.json_types import JsonInt
from juntos_web import EngineDep, Principal, Problem, problem_doc, require
from juntos_web.idempotency import IdempotencyKey
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from territorial import handlers, queries
from territorial.api.comun import (
    CONFLICTOS,
    LEEN_MUNICIPIO,
    Cbt,
    Entrada,
    Fecha,
    Identificador,
    IdPath,
    IfMatch,
    M,
    MunicipioPath,
    Texto,
    con_etag,
    mandar,
    version_de,
)
from territorial.domain import plan
from territorial.events import Accion
from territorial.handlers import Resultado
from territorial.vocabulario import EstadoAccion, EstadoPlan

router = APIRouter(tags=["plan de acción municipal"])
PRESUPUESTO_MAXIMO = 10**13  # COP: well above any municipal budget, far below int64


class AccionEntrada(Entrada):
    cbt: Cbt = Field(description="A CBT the LBT rates CUMPLE_PARCIALMENTE or NO_CUMPLE")
    descripcion: Annotated[Texto, Field(max_length=500)]
    entidad_responsable_id: Identificador
    presupuesto_cop: JsonInt = Field(ge=0, le=PRESUPUESTO_MAXIMO, description="Colombian pesos")
    fecha_inicio: Fecha
    fecha_fin: Fecha


class AprobacionEntrada(Entrada):
    fecha_sesion_consejo: Fecha = Field(
        description="Date of the Consejo Municipal de Política Social session that approved it"
    )
    acta: Annotated[Texto, Field(max_length=100)] | None = Field(
        None, description="Reference of the session's minutes, e.g. 'Acta 012 de 2026'"
    )


class SeguimientoEntrada(Entrada):
    estado: EstadoAccion
    avance: JsonInt = Field(default=0, ge=0, le=100, description="Percent done (CUMPLIDA is 100)")
    fecha: Fecha


class VersionVista(BaseModel):
    version_plan: int
    estado: EstadoPlan
    basado_en: int | None
    fecha_sesion_consejo: date | None
    acta: str | None
    presupuesto_cop: int
    acciones: list[Accion]


class PlanVista(BaseModel):
    municipio: str
    version: int = Field(description="Version of the plan's record (its ETag)")
    vigente: VersionVista | None = Field(description="The approved version in force")
    borrador: VersionVista | None = Field(description="The version being written, if any")
    aprobadas: list[int] = Field(description="Every approved version, oldest first")


def _version(v: plan.VersionPlan) -> VersionVista:
    return VersionVista(
        version_plan=v.numero,
        estado=v.estado,
        basado_en=v.basado_en,
        fecha_sesion_consejo=v.fecha_sesion_consejo,
        acta=v.acta,
        presupuesto_cop=v.presupuesto_cop,
        acciones=sorted(v.acciones.values(), key=lambda a: (a.cbt, a.accion_id)),
    )


def _vista(municipio: str, r: Resultado[plan.Plan]) -> PlanVista:
    s = r.estado
    return PlanVista(
        municipio=municipio,
        version=r.version,
        vigente=_version(s.vigente) if s.vigente else None,
        borrador=_version(s.borrador) if s.borrador else None,
        aprobadas=sorted(s.aprobadas),
    )


async def _mandar(
    request: Request,
    engine: AsyncEngine,
    p: Principal,
    municipio: str,
    construir: handlers.Construir,
    *,
    key: str | None = None,
    if_match: str | None = None,
    status: int = 200,
) -> Response:
    """Every change of the plan: the caller's own municipality, If-Match, Idempotency-Key."""
    p.ensure_municipio(municipio)
    version = version_de(if_match)
    return await mandar(
        request,
        p,
        key,
        lambda: handlers.ejecutar(
            engine, plan.PLAN, municipio, construir, actor=p.sub, if_match=version
        ),
        lambda r: _vista(municipio, r),
        status,
    )


@router.get("/municipios/{municipio}/plan-accion", summary="The plan in force and the draft")
async def ver(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
) -> PlanVista:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        estado, version = await handlers.cargar(conn, plan.PLAN, municipio)
    return con_etag(  # type: ignore[return-value]
        _vista(municipio, Resultado(estado, version, [])), version
    )


@router.get(
    "/municipios/{municipio}/plan-accion/versiones/{version_plan}",
    summary="A version of the plan as approved by the council (or the open draft)",
    responses={404: problem_doc("No such version")},
)
async def version(
    municipio: MunicipioPath,
    version_plan: Annotated[int, Path(ge=1, le=10_000)],
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
) -> VersionVista:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        estado, _ = await handlers.cargar(conn, plan.PLAN, municipio)
    encontrada = estado.version(version_plan)
    if encontrada is None:
        raise Problem(404, f"the plan has no version {version_plan}", type="not-found")
    return _version(encontrada)


@router.post(
    "/municipios/{municipio}/plan-accion/borrador",
    summary="Open a draft: version 1, or the next version as a copy of the plan in force",
    status_code=201,
    responses=CONFLICTOS,
)
async def abrir_borrador(
    municipio: MunicipioPath,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> PlanVista:
    return await _mandar(  # type: ignore[return-value]
        request,
        engine,
        p,
        municipio,
        handlers.comando(plan.AbrirBorrador(municipio)),
        key=idempotency_key,
        if_match=if_match,
        status=201,
    )


@router.put(
    "/municipios/{municipio}/plan-accion/acciones/{accion_id}",
    summary="Add an action to the draft, or change it (only drafts change)",
    responses=CONFLICTOS,
)
async def registrar_accion(
    municipio: MunicipioPath,
    accion_id: IdPath,
    entrada: AccionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    if_match: IfMatch = None,
) -> PlanVista:
    async def construir(conn: AsyncConnection, estado: plan.Plan) -> plan.RegistrarAccion:
        return plan.RegistrarAccion(
            municipio=municipio,
            accion_id=accion_id,
            estado_cbt=await queries.estado_cbt(conn, municipio, entrada.cbt),
            **entrada.model_dump(),
        )

    return await _mandar(  # type: ignore[return-value]
        request, engine, p, municipio, construir, if_match=if_match
    )


@router.delete(
    "/municipios/{municipio}/plan-accion/acciones/{accion_id}",
    summary="Take an action out of the draft",
    responses=CONFLICTOS,
)
async def retirar_accion(
    municipio: MunicipioPath,
    accion_id: IdPath,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    if_match: IfMatch = None,
) -> PlanVista:
    return await _mandar(  # type: ignore[return-value]
        request,
        engine,
        p,
        municipio,
        handlers.comando(plan.RetirarAccion(municipio, accion_id)),
        if_match=if_match,
    )


@router.post(
    "/municipios/{municipio}/plan-accion/aprobacion",
    summary="The Consejo Municipal de Política Social approved the draft: it comes into force",
    responses=CONFLICTOS,
)
async def aprobar(
    municipio: MunicipioPath,
    entrada: AprobacionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> PlanVista:
    comando = plan.Aprobar(
        municipio=municipio,
        fecha_sesion_consejo=entrada.fecha_sesion_consejo,
        acta=entrada.acta,
        hoy=handlers.hoy_en_colombia(),
    )
    return await _mandar(  # type: ignore[return-value]
        request,
        engine,
        p,
        municipio,
        handlers.comando(comando),
        key=idempotency_key,
        if_match=if_match,
    )


@router.post(
    "/municipios/{municipio}/plan-accion/acciones/{accion_id}/seguimiento",
    summary="Follow-up of an action of the plan in force: its state and progress",
    responses=CONFLICTOS,
)
async def seguimiento(
    municipio: MunicipioPath,
    accion_id: IdPath,
    entrada: SeguimientoEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> PlanVista:
    comando = plan.RegistrarSeguimiento(
        municipio=municipio,
        accion_id=accion_id,
        estado=entrada.estado,
        avance=entrada.avance,
        fecha=entrada.fecha,
        hoy=handlers.hoy_en_colombia(),
    )
    return await _mandar(  # type: ignore[return-value]
        request,
        engine,
        p,
        municipio,
        handlers.comando(comando),
        key=idempotency_key,
        if_match=if_match,
    )
