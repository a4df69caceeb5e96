"""The DIVIPOLA catalogue, read-only: departments and municipalities for every caller.

It is the reference other services validate municipality codes against; the same entries are
published as events (DepartamentoCatalogado, MunicipioCatalogado).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from juntos_catalogo import divipola
from juntos_web import ALL_ROLES, EngineDep, Principal, require
from pydantic import BaseModel, Field

from territorial import handlers, queries
from territorial.api.comun import Departamento, DepartamentoPath, MunicipioPath, N, Pagina, pagina

router = APIRouter(tags=["catálogo"])
Cualquiera = Annotated[Principal, Depends(require(*ALL_ROLES))]


class DepartamentoVista(BaseModel):
    codigo: str
    denominacion: str = Field(description="DANE's official name")
    municipios: int


class MunicipioVista(BaseModel):
    codigo: str
    denominacion: str = Field(description="DANE's official name")
    tipo: str = Field(description="Municipio, Isla or Área no municipalizada")
    departamento: str
    departamento_denominacion: str


class MunicipioDetalle(MunicipioVista):
    microrregion_id: str | None = Field(None, description="The microregion that serves it")


class PublicacionVista(BaseModel):
    departamentos: int = Field(description="Department entries appended now")
    municipios: int = Field(description="Municipality entries appended now")


def _departamento(codigo: str) -> DepartamentoVista:
    d = divipola()
    dpto = d.departamento(codigo)
    assert dpto is not None
    return DepartamentoVista(
        codigo=dpto.codigo, denominacion=dpto.nombre, municipios=len(d.municipios_de(codigo))
    )


def _municipio(codigo: str) -> MunicipioVista:
    d = divipola()
    m = d.municipio(codigo)
    assert m is not None
    dpto = d.departamento(m.departamento_codigo)
    assert dpto is not None
    return MunicipioVista(
        codigo=m.codigo,
        denominacion=m.nombre,
        tipo=m.tipo,
        departamento=dpto.codigo,
        departamento_denominacion=dpto.nombre,
    )


@router.get("/departamentos", summary="DIVIPOLA departments, in code order, with a cursor")
async def departamentos(
    p: Cualquiera,
    cursor: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    limite: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Pagina[DepartamentoVista]:
    codigos = [d.codigo for d in divipola().departamentos if cursor is None or d.codigo > cursor]
    items = [_departamento(c) for c in codigos[: limite + 1]]
    return pagina(items, limite, lambda d: d.codigo)


@router.get("/departamentos/{departamento}", summary="A DIVIPOLA department")
async def departamento(departamento: DepartamentoPath, p: Cualquiera) -> DepartamentoVista:
    return _departamento(departamento)


@router.get("/municipios", summary="DIVIPOLA municipalities, in code order, by department and type")
async def municipios(
    p: Cualquiera,
    departamento: Annotated[Departamento | None, Query()] = None,
    tipo: Annotated[str | None, Query(max_length=40, description="e.g. Municipio")] = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Pagina[MunicipioVista]:
    d = divipola()
    todos = d.municipios_de(departamento) if departamento else d.municipios
    elegidos = [
        m.codigo
        for m in todos
        if (cursor is None or m.codigo > cursor) and (tipo is None or m.tipo == tipo)
    ]
    items = [_municipio(c) for c in elegidos[: limite + 1]]
    return pagina(items, limite, lambda m: m.codigo)


@router.get("/municipios/{municipio}", summary="A DIVIPOLA municipality and its microregion")
async def municipio(municipio: MunicipioPath, p: Cualquiera, engine: EngineDep) -> MunicipioDetalle:
    async with engine.connect() as conn:
        microrregion = (await queries.microrregiones_de(conn, [municipio])).get(municipio)
    return MunicipioDetalle(**_municipio(municipio).model_dump(), microrregion_id=microrregion)


@router.post(
    "/catalogo/publicacion",
    summary="Publish the DIVIPOLA entries the event store lacks (idempotent; also at start-up)",
    description="Idempotent by nature (a second call appends nothing), so it takes no"
    " Idempotency-Key.",
)
async def publicar(
    p: Annotated[Principal, Depends(require(N))], engine: EngineDep
) -> PublicacionVista:
    hecho = await handlers.publicar_catalogo(engine)
    return PublicacionVista(departamentos=hecho.departamentos, municipios=hecho.municipios)
