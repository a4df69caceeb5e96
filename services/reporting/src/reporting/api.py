"""Reporting's HTTP API under /v1: indicators, field operation, offer, the seed's tables.

Routes are thin: parse the parameters, check the caller's scope (`api_comun.alcance`), read the
live projections as of `fecha` (`queries`), fill territories without data with zeros, and answer
one page as JSON or the whole table as CSV (`?formato=csv` or `Accept: text/csv`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from juntos_catalogo import catalogo, divipola
from juntos_web import Principal, require, v1_router
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from reporting import domain, queries
from reporting.api_comun import (
    C,
    Cbt,
    D,
    Dimension,
    E,
    Fecha,
    Logro,
    M,
    N,
    Pagina,
    Parametros,
    Params,
    alcance,
    cbts_de,
    clave_logro,
    csv_de,
    de_clave_logro,
    documentado,
    hace_dias,
    hace_meses,
    logros_de,
    meses,
    nombre_territorio,
    pct,
    quiere_csv,
    responder,
)
from reporting.api_comun import Formato as FormatoQ
from reporting.queries import Nivel

router = v1_router()


def engine(request: Request) -> AsyncEngine:
    motor: AsyncEngine = request.app.state.engine
    return motor


Engine = Annotated[AsyncEngine, Depends(engine)]
DimensionQ = Annotated[Dimension | None, Query(description="Only the LB of this dimension")]
LogroQ = Annotated[Logro | None, Query(description="Only this LB")]
Desde = Annotated[
    Fecha | None,
    Query(description="First month of the series (default: 11 months before `fecha`)"),
]
Dias = Annotated[int, Query(ge=1, le=3650, description="Recent = within this many days")]


class Territorial(BaseModel):
    territorio: str | None = Field(description="DIVIPOLA code; null for the whole nation")
    nombre: str


def _territorial(clave: str) -> dict[str, Any]:
    return {"territorio": clave or None, "nombre": nombre_territorio(clave)}


def _series(params: Parametros, desde: date | None) -> tuple[list[str], datetime]:
    """The months of a series and the instant it starts."""
    inicio = desde or hace_meses(params.fecha, 11)
    lista = meses(inicio, params.fecha)
    primero = date.fromisoformat(f"{lista[0]}-01") if lista else params.fecha
    return lista, domain.inicio(max(inicio, primero))


# --- program indicators -------------------------------------------------------------------


class FilaFamilias(Territorial):
    """Families of the program by status, as of the date."""

    potencial: int = Field(description="Families preselected (SISBEN 1 or RUPD), any status")
    preseleccionadas: int = Field(description="Preselected, not yet vinculadas")
    vinculadas: int = Field(description="Ever vinculadas (started accompaniment)")
    en_acompanamiento: int = Field(description="Vinculadas now (not exited)")
    no_vinculadas: int
    promovidas: int = Field(description="Graduated: every applicable LB reached")
    retiradas: int
    egresadas_por_tiempo: int = Field(description="Exited at the 5-year limit")
    con_linea_base: int = Field(description="Families whose baseline was taken")
    con_plan: int = Field(description="Families with a family plan")


@router.get(
    "/indicadores/familias",
    summary="Program indicators: potential, vinculadas, in accompaniment, exits, baselines",
    response_model=Pagina[FilaFamilias],
    responses=documentado(FilaFamilias, "One row per territory"),
)
async def familias(
    params: Params, db: Engine, p: Annotated[Principal, Depends(require(N, D, M))]
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    async with queries.lectura(db) as (conn, s):
        conteos = await queries.conteo_familias(conn, s, params.consulta(pagina))
    items = []
    for clave in pagina:
        c = conteos.get(clave, {})
        campos = {
            n: c.get(n, 0) for n in FilaFamilias.model_fields if n not in Territorial.model_fields
        }
        items.append(FilaFamilias(**_territorial(clave), **campos))
    return responder(params, FilaFamilias, items, siguiente, "familias")


class FilaDesplazadas(Territorial):
    """Displaced (RUPD) and SISBEN-1 families; a family in both registries counts as displaced."""

    potencial_desplazadas: int
    potencial_sisben: int
    vinculadas_desplazadas: int
    vinculadas_sisben: int
    en_acompanamiento_desplazadas: int
    en_acompanamiento_sisben: int


@router.get(
    "/indicadores/desplazadas",
    summary="Displaced vs SISBEN families: potential, vinculadas, in accompaniment",
    response_model=Pagina[FilaDesplazadas],
    responses=documentado(FilaDesplazadas, "One row per territory"),
)
async def desplazadas(
    params: Params, db: Engine, p: Annotated[Principal, Depends(require(N, D, M))]
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    async with queries.lectura(db) as (conn, s):
        conteos = await queries.conteo_familias(conn, s, params.consulta(pagina))
    items = []
    for clave in pagina:
        c = conteos.get(clave, {})
        fila: dict[str, int] = {}
        for total in ("potencial", "vinculadas", "en_acompanamiento"):
            fila[f"{total}_desplazadas"] = c.get(f"{total}_desplazadas", 0)
            fila[f"{total}_sisben"] = c.get(total, 0) - fila[f"{total}_desplazadas"]
        items.append(FilaDesplazadas(**_territorial(clave), **fila))
    return responder(params, FilaDesplazadas, items, siguiente, "desplazadas")


class FilaSalidas(Territorial):
    """Families that left the program in each month, by reason."""

    mes: str = Field(description="YYYY-MM (event time, Colombian calendar)")
    promovidas: int
    retiradas: int
    egresadas_por_tiempo: int


@router.get(
    "/indicadores/salidas",
    summary="Exits over time: graduated, withdrawn, exited at the 5-year limit, per month",
    response_model=Pagina[FilaSalidas],
    responses=documentado(FilaSalidas, "One row per territory and month"),
)
async def salidas(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M))],
    desde: Desde = None,
) -> Any:
    alcance(p, params)
    lista, inicio = _series(params, desde)
    claves = [f"{t}|{m}" for t in params.territorios() for m in lista]
    pagina, siguiente = params.paginar(claves)
    territorios = sorted({c.split("|")[0] for c in pagina})
    async with queries.lectura(db) as (conn, s):
        datos = await queries.salidas_por_mes(conn, s, params.consulta(territorios), inicio)
    items = []
    for clave in pagina:
        territorio, mes = clave.split("|")
        d = datos.get((territorio, mes), {})
        items.append(
            FilaSalidas(
                **_territorial(territorio),
                mes=mes,
                promovidas=d.get("PROMOVIDA", 0),
                retiradas=d.get("RETIRADA", 0),
                egresadas_por_tiempo=d.get("EGRESADA_POR_TIEMPO", 0),
            )
        )
    return responder(params, FilaSalidas, items, siguiente, "salidas")


class FilaLogro(Territorial):
    """Families with the LB in each status (of the families with a board)."""

    logro: str
    dimension: str
    familias: int = Field(description="Families whose board has this LB")
    alcanzado: int
    por_alcanzar: int
    no_aplica: int
    pct_alcanzado: float | None
    pct_por_alcanzar: float | None
    pct_no_aplica: float | None


@router.get(
    "/indicadores/logros",
    summary="% of families with each LB ALCANZADO / POR_ALCANZAR / NO_APLICA",
    response_model=Pagina[FilaLogro],
    responses=documentado(FilaLogro, "One row per territory and LB"),
)
async def logros(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M))],
    dimension: DimensionQ = None,
    logro: LogroQ = None,
) -> Any:
    alcance(p, params)
    cubiertos = logros_de(dimension, logro)
    claves = sorted(clave_logro(t, lb) for t in params.territorios() for lb in cubiertos)
    pagina, siguiente = params.paginar(claves)
    territorios = sorted({de_clave_logro(c)[0] for c in pagina})
    async with queries.lectura(db) as (conn, s):
        datos = await queries.logros_por_estado(conn, s, params.consulta(territorios), cubiertos)
    cat = catalogo()
    items = []
    for clave in pagina:
        territorio, lb = de_clave_logro(clave)
        d = datos.get((territorio, lb), {})
        a, pa, na = (d.get(e, 0) for e in domain.ESTADOS_LOGRO)
        total = a + pa + na
        items.append(
            FilaLogro(
                **_territorial(territorio),
                logro=lb,
                dimension=cat.logro(lb).dimension,
                familias=total,
                alcanzado=a,
                por_alcanzar=pa,
                no_aplica=na,
                pct_alcanzado=pct(a, total),
                pct_por_alcanzar=pct(pa, total),
                pct_no_aplica=pct(na, total),
            )
        )
    return responder(params, FilaLogro, items, siguiente, "logros")


class FilaPendientes(Territorial):
    """Families by how many LB they have pending (of the LB filtered)."""

    pendientes: int
    familias: int


@router.get(
    "/indicadores/logros-pendientes",
    summary="Families by number of LB pending (POR_ALCANZAR)",
    response_model=Pagina[FilaPendientes],
    responses=documentado(FilaPendientes, "One row per territory and number of LB pending"),
)
async def pendientes(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M))],
    dimension: DimensionQ = None,
    logro: LogroQ = None,
) -> Any:
    alcance(p, params)
    cubiertos = logros_de(dimension, logro)
    claves = [f"{t}|{n:02d}" for t in params.territorios() for n in range(len(cubiertos) + 1)]
    pagina, siguiente = params.paginar(claves)
    territorios = sorted({c.split("|")[0] for c in pagina})
    async with queries.lectura(db) as (conn, s):
        datos = await queries.familias_por_pendientes(
            conn, s, params.consulta(territorios), cubiertos
        )
    items = []
    for clave in pagina:
        territorio, numero = clave.split("|")
        n = int(numero)
        items.append(
            FilaPendientes(
                **_territorial(territorio), pendientes=n, familias=datos.get((territorio, n), 0)
            )
        )
    return responder(params, FilaPendientes, items, siguiente, "logros-pendientes")


class FilaAlcanzados(Territorial):
    """LB reached in each month: POR_ALCANZAR to ALCANZADO (again after a regression)."""

    mes: str
    logros_alcanzados: int


@router.get(
    "/indicadores/logros-alcanzados",
    summary="LB reached over time, per month",
    response_model=Pagina[FilaAlcanzados],
    responses=documentado(FilaAlcanzados, "One row per territory and month"),
)
async def alcanzados(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M))],
    dimension: DimensionQ = None,
    logro: LogroQ = None,
    desde: Desde = None,
) -> Any:
    alcance(p, params)
    lista, inicio = _series(params, desde)
    claves = [f"{t}|{m}" for t in params.territorios() for m in lista]
    pagina, siguiente = params.paginar(claves)
    territorios = sorted({c.split("|")[0] for c in pagina})
    async with queries.lectura(db) as (conn, s):
        datos = await queries.logros_alcanzados_por_mes(
            conn, s, params.consulta(territorios), logros_de(dimension, logro), inicio
        )
    items = [
        FilaAlcanzados(
            **_territorial(c.split("|")[0]),
            mes=c.split("|")[1],
            logros_alcanzados=datos.get((c.split("|")[0], c.split("|")[1]), 0),
        )
        for c in pagina
    ]
    return responder(params, FilaAlcanzados, items, siguiente, "logros-alcanzados")


# --- field operation ----------------------------------------------------------------------


class FilaCampo(Territorial):
    """Field work pending: families in accompaniment without baseline, plan or a recent visit."""

    en_acompanamiento: int
    sin_linea_base: int
    sin_plan: int
    sin_visita_reciente: int = Field(description="No visit in the last `dias` days")
    sesiones_comunitarias: int = Field(description="Community sessions in the last `dias` days")
    participaciones: int = Field(description="Families attending those sessions (with repeats)")


@router.get(
    "/operacion/campo",
    summary="Field operation by territory: families without a visit in N days, baselines and "
    "plans pending, community sessions",
    response_model=Pagina[FilaCampo],
    responses=documentado(FilaCampo, "One row per territory"),
)
async def campo(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    dias: Dias = 30,
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    desde = hace_dias(params.fecha, dias)
    async with queries.lectura(db) as (conn, s):
        datos = await queries.campo(conn, s, params.consulta(pagina), desde, params.fecha)
    items = []
    for clave in pagina:
        d = datos.get(clave, {})
        campos = {
            n: d.get(n, 0) for n in FilaCampo.model_fields if n not in Territorial.model_fields
        }
        items.append(FilaCampo(**_territorial(clave), **campos))
    return responder(params, FilaCampo, items, siguiente, "campo")


class FilaCogestor(BaseModel):
    """A cogestor's load in the territory (pseudonymous staff id, no family)."""

    cogestor_id: str
    municipios: int = Field(description="Municipalities of the territory it serves")
    capacidad: int | None = Field(description="Families it may accompany (enrollment)")
    familias_asignadas: int
    en_acompanamiento: int
    ocupacion_pct: float | None = Field(description="familias_asignadas / capacidad")
    visitas: int = Field(description="Visits in the last `dias` days")


@router.get(
    "/operacion/cogestores",
    summary="Cogestores and their load: families assigned, capacity, recent visits",
    response_model=Pagina[FilaCogestor],
    responses=documentado(FilaCogestor, "One row per cogestor"),
)
async def cogestores(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    dias: Dias = 30,
) -> Any:
    alcance(p, params)
    desde = hace_dias(params.fecha, dias)
    limite = None if params.csv else params.limite + 1
    async with queries.lectura(db) as (conn, s):
        filas = await queries.cogestores(
            conn,
            s,
            params.consulta([], nivel=Nivel.NACION),
            desde,
            params.fecha,
            params.cursor,
            limite,
        )
    items = [
        FilaCogestor(
            **{k: v for k, v in f._mapping.items()},
            ocupacion_pct=pct(f.familias_asignadas, f.capacidad or 0),
        )
        for f in filas
    ]
    siguiente = None
    if limite is not None and len(items) > params.limite:
        items = items[: params.limite]
        siguiente = items[-1].cogestor_id
    return responder(params, FilaCogestor, items, siguiente, "cogestores")


class FilaVisitas(BaseModel):
    """Visits per cogestor and month of the visit."""

    cogestor_id: str
    mes: str
    visitas: int
    familias_visitadas: int


@router.get(
    "/operacion/visitas",
    summary="Visits per cogestor per month",
    response_model=Pagina[FilaVisitas],
    responses=documentado(FilaVisitas, "One row per cogestor and month"),
)
async def visitas(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    desde: Desde = None,
) -> Any:
    alcance(p, params)
    lista, _ = _series(params, desde)
    inicio = date.fromisoformat(f"{lista[0]}-01") if lista else params.fecha + timedelta(days=1)
    limite = None if params.csv else params.limite + 1
    async with queries.lectura(db) as (conn, s):
        filas = await queries.visitas_por_mes(
            conn,
            s,
            params.consulta([], nivel=Nivel.NACION),
            inicio,
            params.fecha,
            params.cursor,
            limite,
        )
    items = [FilaVisitas(**f._mapping) for f in filas]
    siguiente = None
    if limite is not None and len(items) > params.limite:
        items = items[: params.limite]
        siguiente = f"{items[-1].cogestor_id}|{items[-1].mes}"
    return responder(params, FilaVisitas, items, siguiente, "visitas")


# --- offer --------------------------------------------------------------------------------


class FilaOferta(Territorial):
    """Slots against demand for one LB (slots: each program's latest period here)."""

    logro: str
    dimension: str
    cupos_habilitados: int
    cupos_asignados: int
    cupos_libres: int
    demanda: int = Field(description="Families in accompaniment with the LB POR_ALCANZAR")
    demanda_sin_cupo: int = Field(description="demanda - cupos_asignados, if positive")
    servicios_prestados: int


@router.get(
    "/oferta/cupos",
    summary="Offer: slots assigned vs demand per LB and territory (entities: their programs)",
    response_model=Pagina[FilaOferta],
    responses=documentado(FilaOferta, "One row per territory and LB"),
)
async def oferta(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M, E))],
    dimension: DimensionQ = None,
    logro: LogroQ = None,
    periodo: Annotated[
        str | None, Query(pattern=r"^\d{4}(-S[12])?$", description='"2026" or "2026-S1"')
    ] = None,
) -> Any:
    alcance(p, params)
    cubiertos = logros_de(dimension, logro)
    claves = sorted(clave_logro(t, lb) for t in params.territorios() for lb in cubiertos)
    pagina, siguiente = params.paginar(claves)
    territorios = sorted({de_clave_logro(c)[0] for c in pagina})
    async with queries.lectura(db) as (conn, s):
        datos = await queries.oferta(
            conn, s, params.consulta(territorios), cubiertos, p.entidad, periodo
        )
    cat = catalogo()
    items = []
    for clave in pagina:
        territorio, lb = de_clave_logro(clave)
        d = datos.get((territorio, lb), {})
        habilitados, asignados = d.get("cupos_habilitados", 0), d.get("cupos_asignados", 0)
        demanda = d.get("demanda", 0)
        items.append(
            FilaOferta(
                **_territorial(territorio),
                logro=lb,
                dimension=cat.logro(lb).dimension,
                cupos_habilitados=habilitados,
                cupos_asignados=asignados,
                cupos_libres=max(habilitados - asignados, 0),
                demanda=demanda,
                demanda_sin_cupo=max(demanda - asignados, 0),
                servicios_prestados=d.get("servicios_prestados", 0),
            )
        )
    return responder(params, FilaOferta, items, siguiente, "oferta")


# --- the seed's own figures ---------------------------------------------------------------


class FilaTabla3(BaseModel):
    """Tabla 3 of the seed document: cogestores per department, from the data."""

    departamento: str
    nombre: str
    cogestores: int = Field(description="Distinct cogestores serving a municipality of it")
    cifra_semilla: int | None = Field(
        description="The seed document's figure (31 Dec 2009), for comparison"
    )


def _cifras_tabla_3() -> dict[str, int]:
    d = divipola()
    cifras = {}
    for nombre, valor in catalogo().cifras.cogestores_por_departamento.items():
        departamento = d.departamento_por_nombre(nombre)
        if departamento is not None:
            cifras[departamento.codigo] = valor
    return cifras


@router.get(
    "/semilla/cogestores-por-departamento",
    summary="Tabla 3: cogestores per department, reproduced from the data",
    response_model=Pagina[FilaTabla3],
    responses=documentado(FilaTabla3, "One row per department"),
)
async def tabla_3(
    params: Params, db: Engine, p: Annotated[Principal, Depends(require(N, D))]
) -> Any:
    alcance(p, params)
    if params.municipio is not None:
        departamentos = [t[:2] for t in params.territorios()]
    elif params.departamento is not None:
        departamentos = [params.departamento]
    else:
        departamentos = [x.codigo for x in divipola().departamentos]
    pagina, siguiente = params.paginar(departamentos)
    async with queries.lectura(db) as (conn, s):
        datos = await queries.cogestores_por_departamento(
            conn, s, params.consulta(pagina, nivel=Nivel.DEPARTAMENTO)
        )
    cifras = _cifras_tabla_3()
    items = [
        FilaTabla3(
            departamento=d,
            nombre=nombre_territorio(d),
            cogestores=datos.get(d, 0),
            cifra_semilla=cifras.get(d),
        )
        for d in pagina
    ]
    return responder(params, FilaTabla3, items, siguiente, "tabla-3")


class FilaIniciado(Territorial):
    """Families that started accompaniment (ever vinculadas): SISBEN-1 and displaced."""

    total: int
    sisben_1: int
    desplazadas: int


class CifrasSemilla(BaseModel):
    total: int
    sisben_1: int
    desplazadas: int


class PaginaIniciado(Pagina[FilaIniciado]):
    cifras_semilla: CifrasSemilla = Field(
        description="The seed document's national figures, for comparison"
    )


@router.get(
    "/semilla/acompanamiento-iniciado",
    summary="Families that started accompaniment: total, SISBEN-1, displaced",
    response_model=PaginaIniciado,
    responses=documentado(FilaIniciado, "One row per territory"),
)
async def iniciado(
    params: Params, db: Engine, p: Annotated[Principal, Depends(require(N, D, M))]
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    async with queries.lectura(db) as (conn, s):
        conteos = await queries.conteo_familias(conn, s, params.consulta(pagina))
    items = []
    for clave in pagina:
        c = conteos.get(clave, {})
        total, desplazadas = c.get("vinculadas", 0), c.get("vinculadas_desplazadas", 0)
        items.append(
            FilaIniciado(
                **_territorial(clave),
                total=total,
                sisben_1=total - desplazadas,
                desplazadas=desplazadas,
            )
        )
    if params.csv:
        return csv_de(FilaIniciado, items, f"acompanamiento-iniciado-{params.fecha}.csv")
    cifras = catalogo().cifras
    return PaginaIniciado(
        fecha=params.fecha,
        items=items,
        siguiente=siguiente,
        cifras_semilla=CifrasSemilla(
            total=cifras.familias_con_acompanamiento_iniciado,
            sisben_1=cifras.familias_sisben_1_con_acompanamiento,
            desplazadas=cifras.familias_desplazadas_con_acompanamiento,
        ),
    )


# --- territorial ------------------------------------------------------------------------


class FilaCondiciones(Territorial):
    """Territorial baseline: the CBT of the territory's municipalities by status."""

    municipios_con_linea_base: int
    cumple: int = Field(description="Municipality-CBT pairs rated CUMPLE")
    cumple_parcialmente: int
    no_cumple: int
    pct_cumple: float | None


@router.get(
    "/territorial/condiciones",
    summary="CBT status: municipalities with a territorial baseline, CBT met or not",
    response_model=Pagina[FilaCondiciones],
    responses=documentado(FilaCondiciones, "One row per territory"),
)
async def condiciones(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M))],
    dimension: DimensionQ = None,
    cbt: Annotated[Cbt | None, Query(description="Only this CBT")] = None,
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    async with queries.lectura(db) as (conn, s):
        datos = await queries.condiciones(conn, s, params.consulta(pagina), cbts_de(dimension, cbt))
    items = []
    for clave in pagina:
        d = datos.get(clave, {})
        cumple, parcial, no = (d.get(k, 0) for k in ("cumple", "cumple_parcialmente", "no_cumple"))
        items.append(
            FilaCondiciones(
                **_territorial(clave),
                municipios_con_linea_base=d.get("municipios_con_linea_base", 0),
                cumple=cumple,
                cumple_parcialmente=parcial,
                no_cumple=no,
                pct_cumple=pct(cumple, cumple + parcial + no),
            )
        )
    return responder(params, FilaCondiciones, items, siguiente, "condiciones")


class FilaPlanes(Territorial):
    """Municipal action plans in force (approved) and their actions' follow-up."""

    municipios_con_plan: int
    acciones: int
    pendientes: int
    en_curso: int
    cumplidas: int
    canceladas: int
    avance_promedio: float | None = Field(description="Mean percent done of the actions")


@router.get(
    "/territorial/planes",
    summary="Municipal action plans: progress of their actions",
    response_model=Pagina[FilaPlanes],
    responses=documentado(FilaPlanes, "One row per territory"),
)
async def planes(
    params: Params, db: Engine, p: Annotated[Principal, Depends(require(N, D, M))]
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    async with queries.lectura(db) as (conn, s):
        datos = await queries.planes(conn, s, params.consulta(pagina))
    items = []
    for clave in pagina:
        d = datos.get(clave, {})
        promedio = d.get("avance_promedio")
        items.append(
            FilaPlanes(
                **_territorial(clave),
                **{
                    k: d.get(k, 0)
                    for k in (
                        "municipios_con_plan",
                        "acciones",
                        "pendientes",
                        "en_curso",
                        "cumplidas",
                        "canceladas",
                    )
                },
                avance_promedio=float(promedio) if promedio is not None else None,
            )
        )
    return responder(params, FilaPlanes, items, siguiente, "planes")


class FilaParticipacion(Territorial):
    """Social control: accountability, participation spaces, citizens' veedurías."""

    rendiciones_de_cuentas: int = Field(description="In the last `dias` days")
    asistentes: int
    compromisos: int = Field(description="Commitments made in those sessions")
    espacios_de_participacion: int = Field(description="In the last `dias` days")
    participantes: int
    veedurias_abiertas: int = Field(description="Received or in process, as of the date")
    veedurias_resueltas: int


@router.get(
    "/territorial/participacion",
    summary="Participation and social control: accountability sessions, spaces, veedurías",
    response_model=Pagina[FilaParticipacion],
    responses=documentado(FilaParticipacion, "One row per territory"),
)
async def participacion(
    params: Params,
    db: Engine,
    p: Annotated[Principal, Depends(require(N, D, M))],
    dias: Dias = 365,
) -> Any:
    alcance(p, params)
    pagina, siguiente = params.paginar(params.territorios())
    desde = hace_dias(params.fecha, dias)
    async with queries.lectura(db) as (conn, s):
        datos = await queries.participacion(conn, s, params.consulta(pagina), desde, params.fecha)
    items = []
    for clave in pagina:
        d = datos.get(clave, {})
        campos = {
            n: d.get(n, 0)
            for n in FilaParticipacion.model_fields
            if n not in Territorial.model_fields
        }
        items.append(FilaParticipacion(**_territorial(clave), **campos))
    return responder(params, FilaParticipacion, items, siguiente, "participacion")


# --- the projections ----------------------------------------------------------------------


class EstadoProyeccion(BaseModel):
    """A projection's live generation and how far behind the events it is."""

    proyeccion: str
    generacion: int
    esquema: str
    version: int
    activada: datetime
    ultimo_evento: datetime | None = Field(description="Event time of the newest event applied")
    retraso_segundos: float | None = Field(description="Seconds since that event time")


@router.get(
    "/proyecciones",
    summary="The projections: live generation, newest event applied, lag",
    response_model=list[EstadoProyeccion],
    responses=documentado(EstadoProyeccion, "One row per projection"),
)
async def proyecciones(
    request: Request,
    db: Engine,
    p: Annotated[Principal, Depends(require(N))],
    formato: Annotated[FormatoQ | None, Query()] = None,
) -> Any:
    async with queries.lectura(db) as (conn, _):
        filas = await queries.estado_proyecciones(conn)
    ahora = datetime.now(tz=domain.COLOMBIA)
    items = [
        EstadoProyeccion(
            **f,
            retraso_segundos=(ahora - f["ultimo_evento"]).total_seconds()
            if f["ultimo_evento"]
            else None,
        )
        for f in filas
    ]
    if quiere_csv(request, formato):
        return csv_de(EstadoProyeccion, items, "proyecciones.csv")
    return items
