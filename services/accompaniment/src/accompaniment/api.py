"""Accompaniment's HTTP API under /v1: thin routes that parse, authorize, call a handler.

Only the cogestor assigned to a family records its visits, baseline, follow-ups and plan; the
national, departmental and municipal coordinators read the families of their territory.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from juntos_catalogo import catalogo, divipola
from juntos_events.commands import Applied, StaleVersion
from juntos_events.json_types import JsonBool, JsonInt, JsonNumber
from juntos_events.rules import todos_en_alcance
from juntos_web import Principal, Problem, Role, problem_doc, problema, require, v1_router
from juntos_web.idempotency import IdempotencyKey, idempotent
from juntos_web.text import PRINTABLE
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from accompaniment import domain, handlers, queries, sync
from accompaniment.domain import Caso, ReglaIncumplida
from accompaniment.events import Prioridad, SesionComunitariaRealizada
from accompaniment.linea_base import LineaBase
from accompaniment.vocabulario import EstadoLogro, TipoVisita

router = v1_router()
N, D, M, C = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR
LECTORES = (N, D, M, C)
MAX_TABLEROS = 200  # boards per bulk read: a cogestor's families
CONFLICTS: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No accompaniment case for that family"),
    409: problem_doc("The case's state does not allow this"),
    412: problem_doc("If-Match names an older version of the case"),
}
LOGROS = [lb.codigo for lb in catalogo().logros_basicos]
Logro = Annotated[str, WithJsonSchema({"type": "string", "enum": LOGROS})]


def _municipio(codigo: str) -> str:
    if not divipola().es_municipio(codigo):
        raise ValueError(f"{codigo} is not a DIVIPOLA municipality code")
    return codigo


Municipio = Annotated[
    str,
    AfterValidator(_municipio),
    WithJsonSchema({"type": "string", "enum": sorted(m.codigo for m in divipola().municipios)}),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=40, description='The case version seen (ETag, e.g. "5")'),
]


async def srv(request: Request) -> handlers.Servicios:
    """Async on purpose: FastAPI runs a plain `def` dependency in a worker thread per request."""
    servicios: handlers.Servicios = request.app.state.accompaniment
    return servicios


Srv = Annotated[handlers.Servicios, Depends(srv)]


# --- models -----------------------------------------------------------------------------------


class VisitaEntrada(BaseModel):
    visita_id: uuid.UUID | None = Field(None, description="Client-generated id (offline devices)")
    fecha: date
    duracion_minutos: JsonInt = Field(ge=1, le=24 * 60)
    notas: str | None = Field(None, max_length=2000, pattern=PRINTABLE)
    latitud: JsonNumber | None = Field(None, ge=-5, le=14)  # Colombia's extent, with margin
    longitud: JsonNumber | None = Field(None, ge=-82, le=-66)


class VisitaSimple(VisitaEntrada):
    tipo: Literal[TipoVisita.VINCULACION, TipoVisita.PLAN_FAMILIAR, TipoVisita.SEGUIMIENTO]


class LineaBaseEntrada(VisitaEntrada):
    linea_base: LineaBase


class SeguimientoEntrada(VisitaEntrada):
    cambios: dict[str, Any] = Field(
        description="Changed answers, shaped like the questionnaire (members by id)"
    )


class PrioridadEntrada(BaseModel):
    logro: Logro
    responsable_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    fecha_meta: date
    acciones: list[Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]] = Field(
        min_length=1, max_length=20
    )
    recursos: list[Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]] = Field(
        default_factory=list, max_length=20
    )


class PlanEntrada(BaseModel):
    fecha: date
    prioridades: list[PrioridadEntrada] = Field(min_length=1, max_length=45)


class CasoVista(BaseModel):
    familia_id: str
    estado: str
    municipio: str
    desplazada: bool
    cogestor_id: str | None
    fecha_vinculacion: date | None
    linea_base: bool
    plan_version: int
    version: int
    pendientes: int | None


class FilaTablero(BaseModel):
    logro: str
    dimension: str
    estado: EstadoLogro
    desde: date | None
    integrantes: list[str]
    explicacion: str


class Tablero(BaseModel):
    familia_id: str
    fecha: date
    version: int
    logros: list[FilaTablero]


class ConsultaTableros(BaseModel):
    familia_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_TABLEROS,
        description=f"at most {MAX_TABLEROS} families; more: several requests",
    )


class Tableros(BaseModel):
    tableros: list[Tablero] = Field(description="The families with a baseline, in the order asked")
    sin_linea_base: list[str] = Field(
        description="The families asked whose baseline has not been taken yet, in order"
    )


class PlanVista(BaseModel):
    familia_id: str
    version: int
    prioridades: list[Prioridad]


class VisitaVista(BaseModel):
    visita_id: str
    fecha: date
    tipo: TipoVisita
    cogestor_id: str
    duracion_minutos: int


class SesionEntrada(BaseModel):
    sesion_id: uuid.UUID
    municipio: Municipio
    fecha: date
    tema_logro: Logro | None = None
    tema_dimension: Annotated[
        str | None,
        WithJsonSchema(
            {
                "type": ["string", "null"],
                "enum": [d.codigo for d in catalogo().dimensiones] + [None],
            }
        ),
    ] = None
    familias: list[uuid.UUID] = Field(min_length=1, max_length=200)
    para_desplazados: JsonBool = False


class SesionVista(BaseModel):
    sesion_id: str
    municipio: str
    fecha: date
    tema_logro: str | None
    tema_dimension: str | None
    familias: int
    para_desplazados: bool
    cogestor_id: str


class ItemSync(VisitaEntrada):
    id: uuid.UUID = Field(description="Client-generated; becomes the visit id (resends are safe)")
    familia_id: uuid.UUID
    version_vista: JsonInt = Field(ge=0, description="The case version the device last saw")
    tipo: TipoVisita
    linea_base: LineaBase | None = None
    cambios: dict[str, Any] | None = None
    prioridades: list[PrioridadEntrada] | None = Field(
        None, min_length=1, max_length=45, description="A plan familiar built at this visit"
    )

    @model_validator(mode="after")
    def _un_contenido(self) -> ItemSync:
        dados = [
            c for c in ("linea_base", "cambios", "prioridades") if getattr(self, c) is not None
        ]
        if len(dados) > 1:
            raise ValueError(
                f"an item carries at most one of linea_base, cambios, prioridades: {dados}"
            )
        return self


class LoteSync(BaseModel):
    items: list[ItemSync] = Field(min_length=1, max_length=200)


class ConflictoVista(BaseModel):
    pregunta: str
    valor_dispositivo: Any
    valor_actual: Any


class ResultadoSync(BaseModel):
    id: str
    estado: Literal["APLICADO", "DUPLICADO", "CONFLICTO", "RECHAZADO"]
    version: int | None
    detalle: str | None
    conflictos: list[ConflictoVista]


class RespuestaSync(BaseModel):
    resultados: list[ResultadoSync]
    resumen: dict[str, int]


# --- helpers ----------------------------------------------------------------------------------


def _negado(p: Principal, fila: Any, *, escribir: bool) -> ReglaIncumplida | None:
    """The caller's refusal over a family's row (404/403), or None; writes belong to the
    family's assigned cogestor only."""
    if fila is None:
        return ReglaIncumplida(
            "accompaniment knows no family with that id", status=404, codigo="not-found"
        )
    if p.role is Role.COGESTOR:
        permitido = fila.cogestor_id == p.sub
    else:
        permitido = not escribir and p.can_see_municipio(fila.municipio)
    if not permitido:
        return ReglaIncumplida(
            "the family is outside your scope", status=403, codigo="out-of-scope"
        )
    return None


async def _en_alcance(conn: AsyncConnection, p: Principal, fid: str, *, escribir: bool) -> Any:
    """The family's row, or 404/403."""
    fila = await queries.familia(conn, fid)
    if (negado := _negado(p, fila, escribir=escribir)) is not None:
        raise problema(negado)
    return fila


async def _todas_en_alcance(conn: AsyncConnection, p: Principal, fids: list[str]) -> None:
    """A bulk read's families all readable, or one problem naming each refused by its index."""
    filas = await queries.familias(conn, fids)
    try:
        todos_en_alcance(
            "familia_ids",
            len(fids),
            lambda i: _negado(p, filas.get(fids[i]), escribir=False),
            efecto="nothing was read",
        )
    except ReglaIncumplida as regla:
        raise problema(regla) from None


def _version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    valor = if_match.strip().removeprefix("W/").strip('"')
    if not valor.isdigit():
        raise Problem(412, 'If-Match must be a version ETag such as "3"', type="stale-version")
    return int(valor)


def _visita(entrada: VisitaEntrada, tipo: TipoVisita, cogestor: str) -> domain.Visita:
    return domain.Visita(
        visita_id=str(entrada.visita_id or uuid.uuid4()),
        cogestor_id=cogestor,
        fecha=entrada.fecha,
        tipo=tipo,
        duracion_minutos=entrada.duracion_minutos,
        notas=entrada.notas,
        latitud=entrada.latitud,
        longitud=entrada.longitud,
    )


def _caso_vista(fid: str, caso: Caso, version: int, fila: Any) -> CasoVista:
    pendientes = sum(1 for c in caso.tablero.values() if c.estado is EstadoLogro.POR_ALCANZAR)
    return CasoVista(
        familia_id=fid,
        estado=str(caso.estado or "SIN_CASO"),
        municipio=fila.municipio,
        desplazada=caso.desplazada or fila.desplazada,
        cogestor_id=fila.cogestor_id,
        fecha_vinculacion=caso.fecha_vinculacion,
        linea_base=caso.linea_base is not None,
        plan_version=caso.plan_version,
        version=version,
        pendientes=pendientes if caso.tablero else None,
    )


async def _mandar(
    request: Request,
    s: handlers.Servicios,
    p: Principal,
    familia_id: uuid.UUID,
    comando: Any,
    *,
    key: str | None = None,
    if_match: str | None = None,
    status: int = 200,
) -> Response:
    """The shape of every case command: scope, idempotency, If-Match, problems, the new state."""
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        fila = await _en_alcance(conn, p, fid, escribir=True)
    esperada = _version(if_match)

    async def produce() -> Response:
        try:
            aplicado: Applied[Caso] = await handlers.ejecutar(
                s, fid, comando, actor=p.sub, expected=esperada
            )
        except ReglaIncumplida as regla:
            raise problema(regla) from None
        except StaleVersion as stale:
            raise Problem(
                412, str(stale), type="stale-version", headers={"ETag": f'"{stale.actual}"'}
            ) from None
        vista = _caso_vista(fid, aplicado.after, aplicado.version, fila)
        return JSONResponse(
            vista.model_dump(mode="json"),
            status_code=status,
            headers={"ETag": f'"{aplicado.version}"'},
        )

    return await idempotent(request, p, key, produce)


# --- cases ------------------------------------------------------------------------------------


@router.get("/casos", summary="Open cases in your scope, with a cursor")
async def listar(
    s: Srv,
    p: Annotated[Principal, Depends(require(*LECTORES))],
    municipio: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f-]+$")] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CasoVista]:
    if municipio is not None and p.role is not Role.COGESTOR:
        p.ensure_municipio(municipio)
    async with s.engine.connect() as conn:
        filas = await queries.listar_casos(
            conn,
            municipio=municipio or (p.mpio if p.role is Role.MUNICIPAL else None),
            departamento=p.dpto if p.role is Role.DEPARTAMENTAL else None,
            cogestor_id=p.sub if p.role is Role.COGESTOR else None,
            despues_de=cursor,
            limite=limite,
        )
    return [
        CasoVista(
            familia_id=f.familia_id,
            estado="ABIERTO",
            municipio=f.municipio,
            desplazada=f.desplazada,
            cogestor_id=f.cogestor_id,
            fecha_vinculacion=f.fecha_vinculacion,
            linea_base=f.linea_base is not None,
            plan_version=f.plan_version,
            version=f.caso_version,
            pendientes=f.pendientes,
        )
        for f in filas
    ]


@router.get("/casos/{familia_id}", summary="A family's case", responses=CONFLICTS)
async def ver_caso(
    familia_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(*LECTORES))],
    response: Response,
) -> CasoVista:
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        fila = await _en_alcance(conn, p, fid, escribir=False)
        caso, version = await handlers.caso(conn, fid)
    response.headers["ETag"] = f'"{version}"'
    return _caso_vista(fid, caso, version, fila)


@router.get(
    "/casos/{familia_id}/logros",
    summary="The family's 45 LB: status, since when, and why",
    responses=CONFLICTS,
)
async def ver_tablero(
    familia_id: uuid.UUID, s: Srv, p: Annotated[Principal, Depends(require(*LECTORES))]
) -> Tablero:
    fid = str(familia_id)
    hoy = s.hoy()
    async with s.engine.connect() as conn:
        await _en_alcance(conn, p, fid, escribir=False)
        caso, version = await handlers.caso(conn, fid)
        miembros = await queries.miembros(conn, fid)
    tablero = _tablero(fid, caso, version, miembros, hoy)
    if tablero is None:
        raise Problem(409, "the baseline has not been taken yet", type="no-baseline")
    return tablero


@router.post(
    "/casos/logros",
    summary="The boards of several families at once (a device syncing its families down)",
    description="Each family's board as `GET /v1/casos/{familia_id}/logros` answers it (same "
    "roles and scope), in the order asked; a family whose baseline has not been taken yet (the "
    "single read's 409) is listed in `sin_linea_base` instead. All or nothing on scope: if any "
    "family is unknown or outside your scope the problem names each by its index (`motivos`): "
    "403 if any is outside your scope, else 404. POST because the body does not fit a URL (up "
    f"to {MAX_TABLEROS} ids); it changes nothing. A constant number of statements per request: "
    "the families' rows, their streams, their members.",
    responses={
        403: problem_doc("A family is outside your scope (`motivos` names each)"),
        404: problem_doc("An unknown family (`motivos` names each)"),
    },
)
async def ver_tableros(
    consulta: ConsultaTableros, s: Srv, p: Annotated[Principal, Depends(require(*LECTORES))]
) -> Tableros:
    fids = [str(f) for f in consulta.familia_ids]
    hoy = s.hoy()
    async with s.engine.connect() as conn:
        await _todas_en_alcance(conn, p, fids)
        casos = await handlers.casos.load_many(conn, fids)
        miembros = await queries.miembros_de(conn, fids)
    tableros = {
        fid: _tablero(fid, caso, version, miembros.get(fid, []), hoy)
        for fid, (caso, version) in casos.items()
    }
    return Tableros(
        tableros=[t for fid in fids if (t := tableros[fid]) is not None],
        sin_linea_base=[fid for fid in fids if tableros[fid] is None],
    )


def _tablero(fid: str, caso: Caso, version: int, miembros: list[Any], hoy: date) -> Tablero | None:
    """The board a reader sees (the stored states, the rules' explanations), or None before
    the baseline."""
    resultados = domain.tablero(caso, miembros, hoy)
    if resultados is None:
        return None
    cat = catalogo()
    return Tablero(
        familia_id=fid,
        fecha=hoy,
        version=version,
        logros=[
            FilaTablero(
                logro=codigo,
                dimension=cat.logro(codigo).dimension,
                estado=caso.tablero[codigo].estado if codigo in caso.tablero else r.estado,
                desde=caso.tablero[codigo].desde if codigo in caso.tablero else None,
                integrantes=list(r.integrantes),
                explicacion=r.explicacion,
            )
            for codigo, r in resultados.items()
        ],
    )


@router.get("/casos/{familia_id}/plan", summary="The current plan familiar", responses=CONFLICTS)
async def ver_plan(
    familia_id: uuid.UUID, s: Srv, p: Annotated[Principal, Depends(require(*LECTORES))]
) -> PlanVista:
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        await _en_alcance(conn, p, fid, escribir=False)
        caso, _ = await handlers.caso(conn, fid)
    if caso.plan_version == 0:
        raise Problem(404, "the family has no plan yet", type="not-found")
    return PlanVista(familia_id=fid, version=caso.plan_version, prioridades=list(caso.prioridades))


@router.get("/casos/{familia_id}/visitas", summary="Visits, oldest first", responses=CONFLICTS)
async def ver_visitas(
    familia_id: uuid.UUID, s: Srv, p: Annotated[Principal, Depends(require(*LECTORES))]
) -> list[VisitaVista]:
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        await _en_alcance(conn, p, fid, escribir=False)
        registrados = await handlers.store.read(conn, fid)
    return [
        VisitaVista.model_validate(r.event.model_dump())
        for r in registrados
        if r.event.event_type == "VisitaRegistrada"
    ]


@router.post(
    "/casos/{familia_id}/visitas",
    summary="Record a visit (the family's assigned cogestor)",
    status_code=201,
    responses=CONFLICTS,
)
async def registrar_visita(
    familia_id: uuid.UUID,
    entrada: VisitaSimple,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> CasoVista:
    comando = domain.RegistrarVisita(_visita(entrada, entrada.tipo, p.sub))
    return await _mandar(  # type: ignore[return-value]
        request, s, p, familia_id, comando, key=idempotency_key, if_match=if_match, status=201
    )


@router.post(
    "/casos/{familia_id}/linea-base",
    summary="Record the baseline visit and its answers; evaluates the 45 LB",
    status_code=201,
    responses=CONFLICTS,
)
async def levantar_linea_base(
    familia_id: uuid.UUID,
    entrada: LineaBaseEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> CasoVista:
    visita = _visita(entrada, TipoVisita.LINEA_BASE, p.sub)
    return await _mandar(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        lambda m: domain.LevantarLineaBase(visita, entrada.linea_base, m),
        key=idempotency_key,
        if_match=if_match,
        status=201,
    )


@router.post(
    "/casos/{familia_id}/seguimientos",
    summary="A follow-up visit with changed answers; re-evaluates the LB",
    status_code=201,
    responses=CONFLICTS,
)
async def seguimiento(
    familia_id: uuid.UUID,
    entrada: SeguimientoEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> CasoVista:
    visita = _visita(entrada, TipoVisita.SEGUIMIENTO, p.sub)
    return await _mandar(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        lambda m: domain.Seguimiento(visita, entrada.cambios, m),
        key=idempotency_key,
        if_match=if_match,
        status=201,
    )


@router.put(
    "/casos/{familia_id}/plan",
    summary="Build or revise the plan familiar (priorities among the pending LB)",
    responses=CONFLICTS,
)
async def construir_plan(
    familia_id: uuid.UUID,
    entrada: PlanEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(C))],
    if_match: IfMatch = None,
) -> CasoVista:
    prioridades = _prioridades(entrada.prioridades)
    return await _mandar(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        lambda m: domain.ConstruirPlan(entrada.fecha, prioridades, m),
        if_match=if_match,
    )


def _prioridades(entradas: list[PrioridadEntrada]) -> tuple[domain.PrioridadPlan, ...]:
    return tuple(
        domain.PrioridadPlan(
            logro=x.logro,
            responsable_id=x.responsable_id,
            fecha_meta=x.fecha_meta,
            acciones=tuple(x.acciones),
            recursos=tuple(x.recursos),
        )
        for x in entradas
    )


# --- offline sync -----------------------------------------------------------------------------


@router.post(
    "/sync",
    summary="Upload visits captured offline; per-item results, conflicts shown, resends safe",
)
async def sincronizar(
    lote: LoteSync, s: Srv, p: Annotated[Principal, Depends(require(C))]
) -> RespuestaSync:
    async with s.engine.connect() as conn:
        filas = await queries.familias(conn, [str(i.familia_id) for i in lote.items])
    ajenos = {
        n
        for n, item in enumerate(lote.items)
        if (fila := filas.get(str(item.familia_id))) is None or fila.cogestor_id != p.sub
    }
    aplicados = iter(
        await sync.aplicar_lote(
            s, [_pedido(p, i) for n, i in enumerate(lote.items) if n not in ajenos], actor=p.sub
        )
    )
    resultados = [
        sync.ResultadoItem(str(item.id), "RECHAZADO", None, "the family is not assigned to you")
        if n in ajenos
        else next(aplicados)
        for n, item in enumerate(lote.items)
    ]
    return RespuestaSync(
        resultados=[
            ResultadoSync(
                id=r.id,
                estado=r.estado,  # type: ignore[arg-type]
                version=r.version,
                detalle=r.detalle,
                conflictos=[ConflictoVista(**c.__dict__) for c in r.conflictos],
            )
            for r in resultados
        ],
        resumen=sync.resumen(resultados),
    )


def _pedido(p: Principal, item: ItemSync) -> sync.Pedido:
    visita = domain.Visita(
        visita_id=str(item.id),
        cogestor_id=p.sub,
        fecha=item.fecha,
        tipo=item.tipo,
        duracion_minutos=item.duracion_minutos,
        notas=item.notas,
        latitud=item.latitud,
        longitud=item.longitud,
    )
    comando: Any
    if item.linea_base is not None:
        linea_base = item.linea_base
        comando = lambda m: domain.LevantarLineaBase(visita, linea_base, m)  # noqa: E731
    elif item.cambios is not None:
        cambios = item.cambios
        comando = lambda m: domain.Seguimiento(visita, cambios, m)  # noqa: E731
    elif item.prioridades is not None:
        plan = _prioridades(item.prioridades)
        comando = lambda m: domain.ConstruirPlan(item.fecha, plan, m, visita)  # noqa: E731
    else:
        comando = domain.RegistrarVisita(visita)
    return sync.Pedido(
        str(item.id), str(item.familia_id), item.version_vista, comando, item.cambios
    )


# --- community sessions -----------------------------------------------------------------------


@router.post(
    "/sesiones",
    summary="Record a community session with several families of one municipality",
    status_code=201,
    responses={409: problem_doc("A family is not in accompaniment in that municipality")},
)
async def registrar_sesion(
    entrada: SesionEntrada, s: Srv, p: Annotated[Principal, Depends(require(C, M))]
) -> SesionVista:
    p.ensure_municipio(entrada.municipio)
    if (entrada.tema_logro is None) == (entrada.tema_dimension is None):
        raise Problem(
            422, "give exactly one theme: tema_logro or tema_dimension", type="validation"
        )
    sid = str(entrada.sesion_id)
    evento = SesionComunitariaRealizada(
        sesion_id=sid,
        municipio=entrada.municipio,
        fecha=entrada.fecha,
        tema_logro=entrada.tema_logro,
        tema_dimension=entrada.tema_dimension,
        familias=tuple(sorted({str(f) for f in entrada.familias})),
        para_desplazados=entrada.para_desplazados,
    )
    async with s.engine.begin() as conn:
        for fid in evento.familias:
            fila = await queries.familia(conn, fid)
            if fila is None or not fila.caso_abierto or fila.municipio != entrada.municipio:
                raise Problem(
                    409,
                    f"family {fid} has no open case in municipality {entrada.municipio}",
                    type="not-in-accompaniment",
                )
        stream = f"sesion:{sid}"
        if await handlers.store.version(conn, stream) == 0:
            await handlers.store.append(conn, stream, "sesion", 0, [evento], actor=p.sub)
            await queries.guardar_sesion(
                conn,
                {
                    **evento.model_dump(exclude={"familias"}),
                    "familias": len(evento.familias),
                    "cogestor_id": p.sub,
                },
            )
    return SesionVista(
        **evento.model_dump(exclude={"familias"}), familias=len(evento.familias), cogestor_id=p.sub
    )


@router.get("/sesiones", summary="Community sessions of a municipality")
async def listar_sesiones(
    municipio: Annotated[str, Query(pattern=r"^\d{5}$")],
    s: Srv,
    p: Annotated[Principal, Depends(require(*LECTORES))],
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f-]+$")] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SesionVista]:
    p.ensure_municipio(municipio)
    async with s.engine.connect() as conn:
        filas = await queries.sesiones(conn, municipio, cursor, limite)
    return [SesionVista.model_validate(f._mapping) for f in filas]
