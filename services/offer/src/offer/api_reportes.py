"""Reports over one municipality: map, demand against supply, Tabla 4, gaps, duplication.

Aggregates hold no family: entities may read them to plan their offer (`allow_entidad`).
The list of families with demand is for coordinators of the territory only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from juntos_catalogo import catalogo
from juntos_web import Principal, require
from pydantic import BaseModel, Field

from offer import reportes
from offer.api_comun import Srv
from offer.tipos import C, D, Dimension, E, Entidad, Logro, M, Municipio, N

router = APIRouter()
RAIZ = "/municipios/{municipio}"


def _alcance(p: Principal, municipio: str) -> None:
    p.ensure_municipio(municipio, allow_entidad=True)


class ProgramaEnMapa(BaseModel):
    programa_id: str
    titulo: str
    entidad: str
    nivel: str
    alcance: str
    periodo: str | None = Field(description="the latest period with slots here")
    cupos: int
    asignados: int


class LogroEnMapa(BaseModel):
    logro: str
    texto: str
    programas: list[ProgramaEnMapa]


class DimensionEnMapa(BaseModel):
    dimension: str
    nombre_dimension: str
    logros: list[LogroEnMapa]


class Mapa(BaseModel):
    municipio: str
    dimensiones: list[DimensionEnMapa]


@router.get(RAIZ + "/oferta", summary="Mapa de Oferta Local: every program by dimension and LB")
async def mapa(
    municipio: Municipio,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C, E))],
    dimension: Annotated[Dimension | None, Query()] = None,
    logro: Annotated[Logro | None, Query()] = None,
    entidad: Annotated[Entidad | None, Query()] = None,
) -> Mapa:
    _alcance(p, municipio)
    async with s.engine.connect() as conn:
        filas = await reportes.programas_en(conn, municipio)
    cat = catalogo()
    dims = []
    for dim in cat.dimensiones:
        if dimension is not None and dim.codigo != dimension:
            continue
        logros = []
        for lb in cat.logros_de(dim.codigo):
            if logro is not None and lb.codigo != logro:
                continue
            programas = [
                ProgramaEnMapa(
                    programa_id=f.programa_id,
                    titulo=f.titulo,
                    entidad=f.entidad,
                    nivel=f.nivel,
                    alcance=f.alcance,
                    periodo=f.periodo,
                    cupos=f.capacidad,
                    asignados=f.asignados,
                )
                for f in filas
                if lb.codigo in f.logros and (entidad is None or f.entidad == entidad)
            ]
            logros.append(LogroEnMapa(logro=lb.codigo, texto=lb.texto, programas=programas))
        dims.append(
            DimensionEnMapa(dimension=dim.codigo, nombre_dimension=dim.nombre, logros=logros)
        )
    return Mapa(municipio=municipio, dimensiones=dims)


class DemandaLogro(BaseModel):
    logro: str
    dimension: str
    familias: int = Field(description="families with the LB pending")
    integrantes: int = Field(description="members the pending LB concerns (as evaluated)")
    programas: int
    cupos: int
    cobertura: float | None = Field(description="cupos / familias")
    familias_con_cupo: int
    familias_sin_cupo: int
    sin_programa: bool = Field(description="demand, and no program for the LB here")
    insatisfecha: bool


@router.get(RAIZ + "/demanda", summary="Demand against supply for each LB")
async def demanda(
    municipio: Municipio,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    dimension: Annotated[Dimension | None, Query()] = None,
    logro: Annotated[Logro | None, Query()] = None,
) -> list[DemandaLogro]:
    _alcance(p, municipio)
    async with s.engine.connect() as conn:
        filas = await reportes.por_logro(conn, municipio)
    return [
        DemandaLogro(
            logro=f.logro,
            dimension=f.dimension,
            familias=f.familias,
            integrantes=f.integrantes,
            programas=f.programas,
            cupos=f.cupos,
            cobertura=f.cobertura,
            familias_con_cupo=f.familias_con_cupo,
            familias_sin_cupo=f.familias - f.familias_con_cupo,
            sin_programa=bool(f.familias) and not f.programas,
            insatisfecha=f.insatisfecha,
        )
        for f in filas
        if (dimension is None or f.dimension == dimension) and (logro is None or f.logro == logro)
    ]


class FamiliaConDemanda(BaseModel):
    familia_id: str
    logro: str
    integrantes: list[str]
    pendiente_desde: date
    prioridad_plan: int | None
    con_cupo: bool


class PaginaDemanda(BaseModel):
    items: list[FamiliaConDemanda]
    siguiente: str | None = Field(None, description="Cursor of the next page (`cursor=`)")


@router.get(RAIZ + "/demanda/familias", summary="Families with pending LB (cursor)")
async def familias(
    municipio: Municipio,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M))],
    logro: Annotated[Logro | None, Query()] = None,
    sin_cupo: bool = False,
    cursor: Annotated[
        str | None,
        Query(
            max_length=80,
            pattern=r"^[A-Za-z0-9_.@-]{1,64}~LB\d{1,2}$",
            description="`familia_id~LB` of the last item seen",
        ),
    ] = None,
    limite: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PaginaDemanda:
    p.ensure_municipio(municipio)
    despues = tuple(cursor.split("~")) if cursor else None
    async with s.engine.connect() as conn:
        filas = await reportes.familias_con_demanda(
            conn,
            municipio,
            logro=logro,
            sin_cupo=sin_cupo,
            despues_de=despues,  # type: ignore[arg-type]
            limite=limite + 1,
        )
    items = [
        FamiliaConDemanda(
            familia_id=f.familia_id,
            logro=f.logro,
            integrantes=list(f.integrantes),
            pendiente_desde=f.desde,
            prioridad_plan=f.prioridad_plan,
            con_cupo=f.con_cupo,
        )
        for f in filas[:limite]
    ]
    siguiente = f"{items[-1].familia_id}~{items[-1].logro}" if len(filas) > limite else None
    return PaginaDemanda(items=items, siguiente=siguiente)


class CaracteristicasVista(BaseModel):
    dimension: str
    familias_con_demanda: int
    cupos: int
    suficiencia: float | None = Field(description="cupos / familias_con_demanda")
    oportunidad_dias: float | None = Field(description="median days from pending to slot")
    pertinencia: float | None = Field(description="share of the LB with demand that have a program")
    calidad: float | None = Field(description="mean reported compliance, percent")
    concurrencia: int = Field(description="pairs of programs that may duplicate each other")


@router.get(RAIZ + "/caracteristicas", summary="Tabla 4: offer characteristics per dimension")
async def caracteristicas(
    municipio: Municipio,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    dimension: Annotated[Dimension | None, Query()] = None,
) -> list[CaracteristicasVista]:
    _alcance(p, municipio)
    async with s.engine.connect() as conn:
        logros = await reportes.por_logro(conn, municipio)
        filas = await reportes.caracteristicas(conn, municipio, logros)
    return [
        CaracteristicasVista(**f.__dict__)
        for f in filas
        if dimension is None or f.dimension == dimension
    ]


class Brecha(BaseModel):
    logro: str
    dimension: str
    familias: int = Field(description="families with it pending here")


@router.get(RAIZ + "/brechas", summary="Offer gaps: LB with no program in the municipality")
async def brechas(
    municipio: Municipio,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    solo_con_demanda: bool = False,
) -> list[Brecha]:
    _alcance(p, municipio)
    async with s.engine.connect() as conn:
        filas = await reportes.por_logro(conn, municipio)
    return [
        Brecha(logro=f.logro, dimension=f.dimension, familias=f.familias)
        for f in filas
        if not f.programas and (f.familias or not solo_con_demanda)
    ]


class ConcurrenciaVista(BaseModel):
    logro: str
    dimension: str
    programa_a: str
    entidad_a: str
    programa_b: str
    entidad_b: str
    familias_en_ambos: int = Field(description="families with a slot or a service of both")


@router.get(
    RAIZ + "/concurrencia",
    summary="Possible duplication: programs of different entities, same LB and population",
)
async def concurrencia(
    municipio: Municipio,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    logro: Annotated[Logro | None, Query()] = None,
) -> list[ConcurrenciaVista]:
    _alcance(p, municipio)
    async with s.engine.connect() as conn:
        filas = await reportes.concurrencias(conn, municipio)
    return [ConcurrenciaVista(**c.__dict__) for c in filas if logro is None or c.logro == logro]
