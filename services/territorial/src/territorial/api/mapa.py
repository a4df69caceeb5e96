"""The Mapa de Capacidades: strengths and weaknesses per municipality and dimension.

Entities (ENTIDAD) may read the map and the supply gaps of any municipality: it holds
institutional figures and counts of families, no family, and it is what they need to decide
where to open slots.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from juntos_web import EngineDep, Principal, Problem, Role, require
from pydantic import BaseModel, Field

from territorial import queries, territorio
from territorial.api.comun import (
    LEEN_MUNICIPIO,
    D,
    Departamento,
    Dimension,
    E,
    MunicipioPath,
    N,
    Pagina,
    pagina,
)
from territorial.domain import capacidades
from territorial.vocabulario import Clasificacion

router = APIRouter(tags=["mapa de capacidades"])


class LogroVista(BaseModel):
    logro: str
    familias_pendientes: int = Field(description="Families with this LB POR_ALCANZAR")
    cupos: int = Field(description="Slots of programs serving this LB (most recent period)")


class CeldaVista(BaseModel):
    dimension: str
    capacidad: float | None = Field(
        description="Mean of the dimension's CBT: CUMPLE 1, CUMPLE_PARCIALMENTE 0.5, NO_CUMPLE 0"
    )
    condiciones: int = Field(description="CBT of the dimension rated in the LBT")
    demanda: int = Field(description="Families with at least one LB of the dimension pending")
    oferta: int = Field(description="Slots of programs serving an LB of the dimension")
    cobertura: float | None = Field(description="oferta / demanda; null without demand")
    brecha: int = Field(description="max(demanda - oferta, 0)")
    clasificacion: Clasificacion


class CeldaDetalle(CeldaVista):
    logros: list[LogroVista]


class MapaVista(BaseModel):
    municipio: str
    fortalezas: list[str]
    debilidades: list[str]
    dimensiones: list[CeldaDetalle]


class FilaMapa(CeldaVista):
    municipio: str


@router.get(
    "/municipios/{municipio}/mapa-capacidades",
    summary="The municipality's capacity map: capacity (CBT) against demand and supply",
)
async def mapa(
    municipio: MunicipioPath,
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(*LEEN_MUNICIPIO, E))],
) -> MapaVista:
    p.ensure_municipio(municipio, allow_entidad=True)
    async with engine.connect() as conn:
        filas = {f.dimension: f for f in await queries.mapa(conn, municipio)}
        demanda = await queries.demanda_por_logro(conn, municipio)
        oferta = capacidades.oferta_por_logro(
            (await queries.programas_vigentes(conn, [municipio])).get(municipio, [])
        )
    vacio = {c.dimension: c for c in capacidades.mapa({}, {}, {})}
    celdas = []
    for dimension in territorio.dimensiones():
        fila = filas.get(dimension)
        base = (
            CeldaVista.model_validate(fila._mapping)
            if fila is not None
            else CeldaVista.model_validate(vacio[dimension].__dict__)
        )
        logros = [
            LogroVista(logro=lb, familias_pendientes=demanda.get(lb, 0), cupos=oferta.get(lb, 0))
            for lb in territorio.logros_de(dimension)
        ]
        celdas.append(CeldaDetalle(**base.model_dump(), logros=logros))
    return MapaVista(
        municipio=municipio,
        fortalezas=[c.dimension for c in celdas if c.clasificacion is Clasificacion.FORTALEZA],
        debilidades=[c.dimension for c in celdas if c.clasificacion is Clasificacion.DEBILIDAD],
        dimensiones=celdas,
    )


@router.get(
    "/mapa-capacidades",
    summary="Municipalities × dimensions of the map, filtered (e.g. every weak SALUD)",
)
async def listar(
    engine: EngineDep,
    p: Annotated[Principal, Depends(require(N, D, E))],
    departamento: Annotated[Departamento | None, Query()] = None,
    dimension: Annotated[Dimension | None, Query()] = None,
    clasificacion: Clasificacion | None = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^\d{5}:[A-Z_]{1,40}$", description="municipio:DIMENSION")
    ] = None,
    limite: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Pagina[FilaMapa]:
    if p.role is Role.DEPARTAMENTAL:
        if departamento is not None and departamento != p.dpto:
            raise Problem(
                403, f"department {departamento} is outside your scope", type="out-of-scope"
            )
        departamento = p.dpto
    despues_de = tuple(cursor.split(":", 1)) if cursor else None
    async with engine.connect() as conn:
        filas = await queries.listar_mapa(
            conn,
            departamento=departamento,
            dimension=dimension,
            clasificacion=clasificacion.value if clasificacion else None,
            despues_de=despues_de,  # type: ignore[arg-type]
            limite=limite + 1,
        )
    items = [FilaMapa.model_validate(f._mapping) for f in filas]
    return pagina(items, limite, lambda f: f"{f.municipio}:{f.dimension}")
