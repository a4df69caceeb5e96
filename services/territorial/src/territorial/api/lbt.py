"""The Línea de Base Territorial: surveys of the 22 CBT, changes, and its history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from juntos_events.store import RecordedEvent
from juntos_web import EngineDep, Principal, Problem, problem_doc, require
from juntos_web.idempotency import IdempotencyKey
from pydantic import BaseModel, ConfigDict, Field, create_model

from territorial import handlers, territorio
from territorial.api.comun import (
    CONFLICTOS,
    LEEN_MUNICIPIO,
    Cbt,
    Entrada,
    Fecha,
    IfMatch,
    M,
    MunicipioPath,
    Texto,
    con_etag,
    mandar,
    version_de,
)
from territorial.domain import lbt
from territorial.events import (
    Condicion,
    CondicionTerritorialActualizada,
    LineaBaseTerritorialLevantada,
)
from territorial.handlers import Resultado
from territorial.vocabulario import EstadoCondicion

router = APIRouter(tags=["línea de base territorial"])
Evidencia = Annotated[
    Texto, Field(max_length=500, description="A short text or a URL: a decree, a report")
]


class Calificacion(Entrada):
    model_config = ConfigDict(extra="forbid")

    estado: EstadoCondicion
    evidencia: Evidencia


Calificaciones = create_model(
    "Calificaciones",
    __config__=ConfigDict(extra="forbid"),
    __doc__="Each of the 22 CBT, by code, exactly once",
    **{cbt: (Calificacion, ...) for cbt in territorio.cbts()},  # type: ignore[call-overload]
)


class LevantamientoEntrada(Entrada):
    fecha: Fecha = Field(description="Date of the survey (not after today)")
    condiciones: Calificaciones  # type: ignore[valid-type]


class CondicionEntrada(Entrada):
    estado: EstadoCondicion
    evidencia: Evidencia
    fecha: Fecha


class LbtVista(BaseModel):
    municipio: str
    version: int = Field(description="Version of the LBT (its ETag): one per survey or change")
    levantamiento: int = Field(description="How many whole surveys it has had")
    fecha: date | None
    condiciones: list[Condicion]


class Cambio(BaseModel):
    version: int
    tipo: str = Field(description="LEVANTAMIENTO (22 CBT) or ACTUALIZACION (one CBT)")
    fecha: date
    levantamiento: int
    cbt: str | None = None
    estado: EstadoCondicion | None = None
    anterior: EstadoCondicion | None = None
    registrado_por: str
    registrado_en: datetime


def _vista(municipio: str, r: Resultado[lbt.LineaBase]) -> LbtVista:
    s = r.estado
    orden = {cbt: i for i, cbt in enumerate(territorio.cbts())}
    return LbtVista(
        municipio=municipio,
        version=r.version,
        levantamiento=s.levantamientos,
        fecha=s.fecha,
        condiciones=sorted(s.condiciones.values(), key=lambda c: orden[c.cbt]),
    )


def _cambio(r: RecordedEvent) -> Cambio:
    e = r.event
    comun = {
        "version": r.version,
        "registrado_por": str(r.metadata.get("actor", "")),
        "registrado_en": r.occurred_at,
    }
    if isinstance(e, LineaBaseTerritorialLevantada):
        return Cambio(tipo="LEVANTAMIENTO", fecha=e.fecha, levantamiento=e.levantamiento, **comun)
    assert isinstance(e, CondicionTerritorialActualizada)
    return Cambio(
        tipo="ACTUALIZACION",
        fecha=e.condicion.fecha,
        levantamiento=e.levantamiento,
        cbt=e.condicion.cbt,
        estado=e.condicion.estado,
        anterior=e.anterior,
        **comun,
    )


@router.post(
    "/municipios/{municipio}/lbt",
    summary="Survey the 22 CBT: a new version of the municipality's LBT",
    status_code=201,
    responses=CONFLICTOS,
)
async def levantar(
    municipio: MunicipioPath,
    entrada: LevantamientoEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> LbtVista:
    p.ensure_municipio(municipio)
    comando = lbt.Levantar(
        municipio=municipio,
        fecha=entrada.fecha,
        calificaciones=tuple(
            lbt.Calificacion(cbt, c.estado, c.evidencia)
            for cbt, c in dict(entrada.condiciones).items()
        ),
        actor=p.sub,
        hoy=handlers.hoy_en_colombia(),
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        idempotency_key,
        lambda: handlers.ejecutar(
            engine,
            lbt.LBT,
            municipio,
            handlers.comando(comando),
            actor=p.sub,
            if_match=version_de(if_match),
        ),
        lambda r: _vista(municipio, r),
        status=201,
    )


@router.put(
    "/municipios/{municipio}/lbt/condiciones/{cbt}",
    summary="Change one CBT of the LBT (a new version; the history keeps the old rating)",
    responses=CONFLICTOS,
)
async def actualizar_condicion(
    municipio: MunicipioPath,
    cbt: Cbt,
    entrada: CondicionEntrada,
    request: Request,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(M))],
    if_match: IfMatch = None,
) -> LbtVista:
    p.ensure_municipio(municipio)
    comando = lbt.ActualizarCondicion(
        municipio=municipio,
        calificacion=lbt.Calificacion(cbt, entrada.estado, entrada.evidencia),
        fecha=entrada.fecha,
        actor=p.sub,
        hoy=handlers.hoy_en_colombia(),
    )
    return await mandar(  # type: ignore[return-value]
        request,
        p,
        None,
        lambda: handlers.ejecutar(
            engine,
            lbt.LBT,
            municipio,
            handlers.comando(comando),
            actor=p.sub,
            if_match=version_de(if_match),
        ),
        lambda r: _vista(municipio, r),
    )


@router.get(
    "/municipios/{municipio}/lbt",
    summary="The LBT now, or as it was at a version and/or on a date",
    responses={404: problem_doc("No LBT (at that version or date)")},
)
async def ver(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
    version: Annotated[int | None, Query(ge=1, description="The LBT at this version")] = None,
    fecha: Annotated[date | None, Query(description="The LBT as it stood on this date")] = None,
) -> LbtVista:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        historia = await handlers.historia(conn, lbt.LBT, municipio)
    if version is not None:
        historia = [r for r in historia if r.version <= version]
        if not historia or historia[-1].version != version:
            raise Problem(404, f"the LBT of {municipio} has no version {version}", type="not-found")
    if fecha is not None:
        historia = historia[: len(lbt.hasta_fecha([r.event for r in historia], fecha))]
    estado = lbt.LBT.fold(r.event for r in historia)
    if not estado.existe:
        raise Problem(404, f"municipality {municipio} has no LBT then", type="not-found")
    ultima = historia[-1].version
    return con_etag(  # type: ignore[return-value]
        _vista(municipio, Resultado(estado, ultima, [])), ultima
    )


@router.get(
    "/municipios/{municipio}/lbt/historial",
    summary="Every version of the LBT: surveys and changes, who recorded them and when",
)
async def historial(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO))],
) -> list[Cambio]:
    p.ensure_municipio(municipio)
    async with engine.connect() as conn:
        historia = await handlers.historia(conn, lbt.LBT, municipio)
    return [_cambio(r) for r in historia]
