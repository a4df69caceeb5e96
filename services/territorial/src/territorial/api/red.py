"""The network in the territory: microregions (national), the Red Local and the municipal
council (the municipality), the departmental council (the department)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from juntos_events.json_types import JsonInt
from juntos_web import EngineDep, Principal, Problem, Role, problem_doc, require
from juntos_web.idempotency import IdempotencyKey
from pydantic import BaseModel, Field
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from territorial import handlers, queries
from territorial.api.comun import (
    CONFLICTOS,
    ID,
    LEEN_MUNICIPIO,
    D,
    Departamento,
    DepartamentoPath,
    Entrada,
    Fecha,
    Identificador,
    IdPath,
    IfMatch,
    M,
    Municipio,
    MunicipioPath,
    N,
    Pagina,
    Texto,
    con_etag,
    mandar,
    pagina,
    version_de,
)
from territorial.domain import red
from territorial.handlers import Resultado
from territorial.vocabulario import TipoSesion

router = APIRouter(tags=["red"])


# --- microregions -------------------------------------------------------------------------


class MicrorregionEntrada(Entrada):
    denominacion: Annotated[Texto, Field(max_length=120)]
    operador_id: Identificador = Field(description="The social operator (entity id)")
    municipios: list[Municipio] = Field(min_length=1, max_length=200)


class MicrorregionVista(BaseModel):
    microrregion_id: str
    denominacion: str
    operador_id: str
    municipios: list[str]


def _ve_microrregion(p: Principal, fila: Row) -> bool:
    match p.role:
        case Role.NACIONAL:
            return True
        case Role.ENTIDAD:
            return p.can_see_entidad(fila.operador_id)
    return any(p.can_see_municipio(m) for m in fila.municipios)


@router.put(
    "/microrregiones/{microrregion_id}",
    summary="Define a microregion: the municipalities one social operator serves",
    responses={409: problem_doc("A municipality is already in another microregion")},
)
async def definir_microrregion(
    microrregion_id: IdPath,
    entrada: MicrorregionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N))],
) -> MicrorregionVista:
    municipios = frozenset(entrada.municipios)

    async def construir(conn: AsyncConnection, estado: red.Microrregion) -> red.DefinirMicrorregion:
        return red.DefinirMicrorregion(
            microrregion_id=microrregion_id,
            denominacion=entrada.denominacion,
            operador_id=entrada.operador_id,
            municipios=municipios,
            ocupados=await queries.microrregiones_de(conn, municipios),
        )

    def vista(r: Resultado[red.Microrregion]) -> MicrorregionVista:
        m = r.estado
        return MicrorregionVista(
            microrregion_id=m.microrregion_id,
            denominacion=m.denominacion,
            operador_id=m.operador_id,
            municipios=sorted(m.municipios),
        )

    return await mandar(  # type: ignore[return-value]
        request,
        p,
        None,
        lambda: handlers.ejecutar(
            engine, red.MICRORREGION, microrregion_id, construir, actor=p.sub
        ),
        vista,
    )


@router.get(
    "/microrregiones",
    summary="Microregions in your scope (department, municipality, or the operator's own)",
)
async def microrregiones(
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N, D, M, Role.COGESTOR, Role.ENTIDAD))],
    departamento: Annotated[Departamento | None, Query()] = None,
    municipio: Annotated[Municipio | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64, pattern=ID)] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Pagina[MicrorregionVista]:
    if departamento is not None and not p.can_see_departamento(departamento):
        raise Problem(403, f"department {departamento} is outside your scope", type="out-of-scope")
    if municipio is not None:
        p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        filas = await queries.listar_microrregiones(
            conn,
            departamento=departamento or (p.dpto if p.role is Role.DEPARTAMENTAL else None),
            municipio=municipio or p.mpio,
            operador_id=p.entidad,
            despues_de=cursor,
            limite=limite + 1,
        )
    items = [MicrorregionVista.model_validate(f._mapping) for f in filas]
    return pagina(items, limite, lambda m: m.microrregion_id)


@router.get(
    "/microrregiones/{microrregion_id}",
    summary="A microregion",
    responses={404: problem_doc("No such microregion")},
)
async def microrregion(
    microrregion_id: IdPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N, D, M, Role.COGESTOR, Role.ENTIDAD))],
) -> MicrorregionVista:
    async with engine.connect() as conn:
        fila = await queries.microrregion(conn, microrregion_id)
    if fila is None:
        raise Problem(404, "no microregion with that id", type="not-found")
    if not _ve_microrregion(p, fila):
        raise Problem(403, "the microregion is outside your scope", type="out-of-scope")
    return MicrorregionVista.model_validate(fila._mapping)


# --- Red Local and the municipal council --------------------------------------------------


class RedLocalEntrada(Entrada):
    """What is sent changes; what is left out keeps its value."""

    convenio_fecha: Fecha | None = Field(
        None, description="Date the mayor signed the JUNTOS implementation agreement"
    )
    delegado_municipal_id: Identificador | None = Field(
        None, description="The municipal delegate's pseudonymous user id (not a name)"
    )
    coordinador_local_id: Identificador | None = Field(
        None, description="The operator's local coordinator's pseudonymous user id"
    )


class SesionEntrada(Entrada):
    fecha: Fecha
    tipo: TipoSesion = TipoSesion.ORDINARIA
    asistentes: JsonInt = Field(ge=0, le=10_000)


class SesionVista(BaseModel):
    sesion_id: str
    fecha: date
    tipo: TipoSesion
    asistentes: int


class RedLocalVista(BaseModel):
    municipio: str
    convenio_fecha: date | None
    delegado_municipal_id: str | None
    coordinador_local_id: str | None
    sesiones_consejo: list[SesionVista] = Field(
        description="Sessions of the Consejo Municipal de Política Social"
    )
    version: int


def _sesiones(sesiones: tuple[red.Sesion, ...]) -> list[SesionVista]:
    return [SesionVista(**s.__dict__) for s in sorted(sesiones, key=lambda s: s.fecha)]


def _red_local(municipio: str, r: Resultado[red.RedLocal]) -> RedLocalVista:
    s = r.estado
    return RedLocalVista(
        municipio=municipio,
        convenio_fecha=s.convenio_fecha,
        delegado_municipal_id=s.delegado_municipal_id,
        coordinador_local_id=s.coordinador_local_id,
        sesiones_consejo=_sesiones(s.sesiones),
        version=r.version,
    )


@router.get("/municipios/{municipio}/red-local", summary="The municipality's Red Local")
async def ver_red_local(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
) -> RedLocalVista:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        estado, version = await handlers.cargar(conn, red.RED_LOCAL, municipio)
    return con_etag(  # type: ignore[return-value]
        _red_local(municipio, Resultado(estado, version, [])), version
    )


@router.put(
    "/municipios/{municipio}/red-local",
    summary="The implementation agreement's date, the municipal delegate, the local coordinator",
    responses=CONFLICTOS,
)
async def actualizar_red_local(
    municipio: MunicipioPath,
    entrada: RedLocalEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    if_match: IfMatch = None,
) -> RedLocalVista:
    p.ensure_municipio(municipio)
    comando = red.ActualizarRedLocal(
        municipio=municipio, hoy=handlers.hoy_en_colombia(), **entrada.model_dump()
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        None,
        lambda: handlers.ejecutar(
            engine,
            red.RED_LOCAL,
            municipio,
            handlers.comando(comando),
            actor=p.sub,
            if_match=version_de(if_match),
        ),
        lambda r: _red_local(municipio, r),
    )


@router.post(
    "/municipios/{municipio}/consejo-politica-social/sesiones",
    summary="A session of the Consejo Municipal de Política Social",
    status_code=201,
    responses=CONFLICTOS,
)
async def sesion_consejo_municipal(
    municipio: MunicipioPath,
    entrada: SesionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
) -> RedLocalVista:
    p.ensure_municipio(municipio)
    comando = red.RegistrarSesion(
        territorio=municipio,
        sesion_id=str(uuid.uuid4()),
        hoy=handlers.hoy_en_colombia(),
        **entrada.model_dump(),
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine, red.RED_LOCAL, municipio, handlers.comando(comando), actor=p.sub
        ),
        lambda r: _red_local(municipio, r),
        status=201,
    )


# --- departmental council -----------------------------------------------------------------


class ConsejoDepartamentalVista(BaseModel):
    departamento: str
    sesiones: list[SesionVista]
    version: int


def _consejo(
    departamento: str, r: Resultado[red.ConsejoDepartamental]
) -> ConsejoDepartamentalVista:
    return ConsejoDepartamentalVista(
        departamento=departamento, sesiones=_sesiones(r.estado.sesiones), version=r.version
    )


def _en_departamento(p: Principal, departamento: str) -> None:
    if not p.can_see_departamento(departamento):
        raise Problem(403, f"department {departamento} is outside your scope", type="out-of-scope")


@router.get(
    "/departamentos/{departamento}/consejo-politica-social",
    summary="The sessions of the Consejo Departamental de Política Social",
)
async def ver_consejo_departamental(
    departamento: DepartamentoPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N, D))],
) -> ConsejoDepartamentalVista:
    _en_departamento(p, departamento)
    async with engine.connect() as conn:
        estado, version = await handlers.cargar(conn, red.CONSEJO_DEPARTAMENTAL, departamento)
    return con_etag(  # type: ignore[return-value]
        _consejo(departamento, Resultado(estado, version, [])), version
    )


@router.post(
    "/departamentos/{departamento}/consejo-politica-social/sesiones",
    summary="A session of the Consejo Departamental de Política Social",
    status_code=201,
    responses=CONFLICTOS,
)
async def sesion_consejo_departamental(
    departamento: DepartamentoPath,
    entrada: SesionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(D))],
    idempotency_key: IdempotencyKey = None,
) -> ConsejoDepartamentalVista:
    _en_departamento(p, departamento)
    comando = red.RegistrarSesion(
        territorio=departamento,
        sesion_id=str(uuid.uuid4()),
        hoy=handlers.hoy_en_colombia(),
        **entrada.model_dump(),
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine,
            red.CONSEJO_DEPARTAMENTAL,
            departamento,
            handlers.comando(comando),
            actor=p.sub,
        ),
        lambda r: _consejo(departamento, r),
        status=201,
    )
