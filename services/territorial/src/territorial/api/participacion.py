"""Participation and social control: accountability sessions, participation spaces, complaints.

A complaint's text may name people: only the municipal coordinator of its municipality and
national staff read it (`GET /veedurias/{id}`); departmental coordinators see the listing
(category and state). Cogestores may file a complaint a citizen brings them but read none:
complaints are often about their own work.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from juntos_events.json_types import json_int_between
from juntos_web import EngineDep, Principal, Problem, problem_doc, require
from juntos_web.idempotency import IdempotencyKey
from pydantic import BaseModel, Field
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from territorial import handlers, queries
from territorial.api.comun import (
    CONFLICTOS,
    LEEN_MUNICIPIO,
    C,
    D,
    Entrada,
    Fecha,
    Identificador,
    IfMatch,
    M,
    MunicipioPath,
    N,
    Pagina,
    Texto,
    con_etag,
    mandar,
    version_de,
)
from territorial.domain import participacion
from territorial.events import Compromiso
from territorial.handlers import Resultado
from territorial.vocabulario import (
    CategoriaVeeduria,
    EstadoCompromiso,
    EstadoVeeduria,
    NivelGobierno,
    TipoEspacio,
)

router = APIRouter(tags=["participación y control social"])
Cursor = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="`siguiente` of the previous page")
]
Limite = Annotated[int, Query(ge=1, le=500)]
Asistentes = json_int_between(0, 1_000_000)


async def _en_alcance(
    engine: AsyncEngine, p: Principal, tabla: str, ident: uuid.UUID, que: str
) -> str:
    """The municipality of a record, or 404 / 403."""
    async with engine.connect() as conn:
        municipio = await queries.municipio_de(conn, tabla, str(ident))
    if municipio is None:
        raise Problem(404, f"no {que} with that id", type="not-found")
    p.ensure_municipio(municipio)
    return municipio


def _listado(filas: list[Row[Any]], modelo: type[BaseModel], limite: int) -> Pagina[Any]:
    """Rows newest first (up to limite + 1); the cursor is the `orden` of the last one shown."""
    siguiente = str(filas[limite - 1].orden) if len(filas) > limite else None
    items = [modelo.model_validate(f._mapping) for f in filas[:limite]]
    return Pagina[Any](items=items, siguiente=siguiente)


# --- rendición de cuentas -----------------------------------------------------------------


class CompromisoEntrada(Entrada):
    descripcion: Annotated[Texto, Field(max_length=300)]
    responsable_id: Identificador = Field(description="The entity or office that commits")
    fecha_limite: Fecha


class RendicionEntrada(Entrada):
    fecha: Fecha
    nivel: NivelGobierno = Field(description="The level of government rendering accounts")
    asistentes: Asistentes
    compromisos: list[CompromisoEntrada] = Field(default_factory=list, max_length=100)


class RendicionVista(BaseModel):
    rendicion_id: str
    municipio: str
    fecha: date
    nivel: NivelGobierno
    asistentes: int
    compromisos: list[Compromiso]
    version: int


class RendicionResumen(BaseModel):
    rendicion_id: str
    municipio: str
    fecha: date
    nivel: NivelGobierno
    asistentes: int
    compromisos: int
    cerrados: int = Field(description="Commitments CUMPLIDO or INCUMPLIDO")


class SeguimientoCompromisoEntrada(Entrada):
    estado: EstadoCompromiso
    fecha: Fecha


def _rendicion(r: Resultado[participacion.Rendicion]) -> RendicionVista:
    s = r.estado
    assert s.fecha is not None and s.nivel is not None
    return RendicionVista(
        rendicion_id=s.rendicion_id,
        municipio=s.municipio,
        fecha=s.fecha,
        nivel=s.nivel,
        asistentes=s.asistentes,
        compromisos=list(s.compromisos.values()),
        version=r.version,
    )


@router.post(
    "/municipios/{municipio}/rendiciones-cuentas",
    summary="An accountability session: level of government, attendance, commitments",
    status_code=201,
    responses=CONFLICTOS,
)
async def rendir_cuentas(
    municipio: MunicipioPath,
    entrada: RendicionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
) -> RendicionVista:
    p.ensure_municipio(municipio)
    rid = str(uuid.uuid4())
    comando = participacion.RealizarRendicion(
        rendicion_id=rid,
        municipio=municipio,
        fecha=entrada.fecha,
        nivel=entrada.nivel,
        asistentes=entrada.asistentes,
        compromisos=tuple(
            Compromiso(compromiso_id=str(uuid.uuid4()), **c.model_dump())
            for c in entrada.compromisos
        ),
        hoy=handlers.hoy_en_colombia(),
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine, participacion.RENDICION, rid, handlers.comando(comando), actor=p.sub
        ),
        _rendicion,
        status=201,
    )


@router.get(
    "/municipios/{municipio}/rendiciones-cuentas",
    summary="The municipality's accountability sessions, newest first",
)
async def rendiciones(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
    cursor: Cursor = None,
    limite: Limite = 100,
) -> Pagina[RendicionResumen]:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        filas = await queries.listar_del_municipio(
            conn, "rendiciones", municipio, antes_de=cursor, limite=limite + 1
        )
    return _listado(filas, RendicionResumen, limite)


@router.get(
    "/rendiciones-cuentas/{rendicion_id}",
    summary="An accountability session with its commitments",
    responses={404: problem_doc("No such session")},
)
async def rendicion(
    rendicion_id: uuid.UUID,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
) -> RendicionVista:
    await _en_alcance(engine, p, "rendiciones", rendicion_id, "accountability session")
    async with engine.connect() as conn:
        estado, version = await handlers.cargar(conn, participacion.RENDICION, str(rendicion_id))
    return con_etag(_rendicion(Resultado(estado, version, [])), version)  # type: ignore[return-value]


@router.post(
    "/rendiciones-cuentas/{rendicion_id}/compromisos/{compromiso_id}/seguimiento",
    summary="Follow-up of a commitment made in an accountability session",
    responses=CONFLICTOS,
)
async def seguir_compromiso(
    rendicion_id: uuid.UUID,
    compromiso_id: uuid.UUID,
    entrada: SeguimientoCompromisoEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> RendicionVista:
    await _en_alcance(engine, p, "rendiciones", rendicion_id, "accountability session")
    comando = participacion.SeguirCompromiso(
        compromiso_id=str(compromiso_id),
        estado=entrada.estado,
        fecha=entrada.fecha,
        hoy=handlers.hoy_en_colombia(),
    )
    version = version_de(if_match)
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine,
            participacion.RENDICION,
            str(rendicion_id),
            handlers.comando(comando),
            actor=p.sub,
            if_match=version,
        ),
        _rendicion,
    )


# --- participation spaces -----------------------------------------------------------------


class EspacioEntrada(Entrada):
    tipo: TipoEspacio
    fecha: Fecha
    participantes: Asistentes


class EspacioVista(BaseModel):
    espacio_id: str
    municipio: str
    tipo: TipoEspacio
    fecha: date
    participantes: int


@router.post(
    "/municipios/{municipio}/espacios-participacion",
    summary="A community participation space of the program took place",
    status_code=201,
    responses=CONFLICTOS,
)
async def registrar_espacio(
    municipio: MunicipioPath,
    entrada: EspacioEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
) -> EspacioVista:
    p.ensure_municipio(municipio)
    eid = str(uuid.uuid4())
    comando = participacion.RegistrarEspacio(
        espacio_id=eid, municipio=municipio, hoy=handlers.hoy_en_colombia(), **entrada.model_dump()
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine, participacion.ESPACIO, eid, handlers.comando(comando), actor=p.sub
        ),
        lambda r: EspacioVista(espacio_id=eid, municipio=municipio, **entrada.model_dump()),
        status=201,
    )


@router.get(
    "/municipios/{municipio}/espacios-participacion",
    summary="The municipality's participation spaces, newest first",
)
async def espacios(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
    cursor: Cursor = None,
    limite: Limite = 100,
) -> Pagina[EspacioVista]:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        filas = await queries.listar_del_municipio(
            conn, "espacios_participacion", municipio, antes_de=cursor, limite=limite + 1
        )
    return _listado(filas, EspacioVista, limite)


# --- veedurías ----------------------------------------------------------------------------


class VeeduriaEntrada(Entrada):
    categoria: CategoriaVeeduria
    texto: Annotated[Texto, Field(max_length=4000)] = Field(
        description="The citizen's report as written; kept private, never published"
    )
    fecha: Fecha = Field(description="When it was received")


class TramiteEntrada(Entrada):
    estado: EstadoVeeduria = Field(description="EN_TRAMITE or RESUELTA")
    fecha: Fecha
    respuesta: Annotated[Texto, Field(max_length=4000)] | None = Field(
        None, description="The answer given to the citizen; kept private"
    )


class VeeduriaResumen(BaseModel):
    veeduria_id: str
    municipio: str
    categoria: CategoriaVeeduria
    estado: EstadoVeeduria
    recibida: date
    actualizada: date


class VeeduriaVista(VeeduriaResumen):
    texto: str
    respuesta: str | None
    version: int


def _resumen(r: Resultado[participacion.Veeduria]) -> VeeduriaResumen:
    s = r.estado
    return VeeduriaResumen(
        veeduria_id=s.veeduria_id,
        municipio=s.municipio,
        categoria=s.categoria,  # type: ignore[arg-type]
        estado=s.estado,  # type: ignore[arg-type]
        recibida=s.recibida,  # type: ignore[arg-type]
        actualizada=s.actualizada,  # type: ignore[arg-type]
    )


@router.post(
    "/municipios/{municipio}/veedurias",
    summary="A citizen's report or complaint on the program (its text stays private)",
    status_code=201,
    responses=CONFLICTOS,
)
async def recibir_veeduria(
    municipio: MunicipioPath,
    entrada: VeeduriaEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M, C))],
    idempotency_key: IdempotencyKey = None,
) -> VeeduriaResumen:
    p.ensure_municipio(municipio)
    vid = str(uuid.uuid4())
    comando = participacion.RecibirVeeduria(
        veeduria_id=vid, municipio=municipio, hoy=handlers.hoy_en_colombia(), **entrada.model_dump()
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine, participacion.VEEDURIA, vid, handlers.comando(comando), actor=p.sub
        ),
        _resumen,
        status=201,
    )


@router.get(
    "/municipios/{municipio}/veedurias",
    summary="The municipality's reports and complaints (category and state), newest first",
)
async def veedurias(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N, D, M))],
    cursor: Cursor = None,
    limite: Limite = 100,
) -> Pagina[VeeduriaResumen]:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        filas = await queries.listar_del_municipio(
            conn, "veedurias", municipio, antes_de=cursor, limite=limite + 1
        )
    return _listado(filas, VeeduriaResumen, limite)


@router.get(
    "/veedurias/{veeduria_id}",
    summary="A report with its text and answer (the municipality and national staff only)",
    responses={404: problem_doc("No such report")},
)
async def veeduria(
    veeduria_id: uuid.UUID,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N, M))],
) -> VeeduriaVista:
    await _en_alcance(engine, p, "veedurias", veeduria_id, "report")
    async with engine.connect() as conn:
        estado, version = await handlers.cargar(conn, participacion.VEEDURIA, str(veeduria_id))
    resumen = _resumen(Resultado(estado, version, []))
    vista = VeeduriaVista(
        **resumen.model_dump(), texto=estado.texto, respuesta=estado.respuesta, version=version
    )
    return con_etag(vista, version)  # type: ignore[return-value]


@router.post(
    "/veedurias/{veeduria_id}/estado",
    summary="Move a report to EN_TRAMITE or RESUELTA, optionally with the answer (private)",
    responses=CONFLICTOS,
)
async def tramitar_veeduria(
    veeduria_id: uuid.UUID,
    entrada: TramiteEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> VeeduriaResumen:
    await _en_alcance(engine, p, "veedurias", veeduria_id, "report")
    comando = participacion.TramitarVeeduria(
        estado=entrada.estado,
        fecha=entrada.fecha,
        respuesta=entrada.respuesta,
        hoy=handlers.hoy_en_colombia(),
    )
    version = version_de(if_match)
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine,
            participacion.VEEDURIA,
            str(veeduria_id),
            handlers.comando(comando),
            actor=p.sub,
            if_match=version,
        ),
        _resumen,
    )
