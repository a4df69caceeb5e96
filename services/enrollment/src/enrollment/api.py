"""Enrollment's HTTP API under /v1: thin routes that parse, authorize, call a handler.

Scope: national staff see every family, a departmental coordinator its department, a municipal
one its municipality, a cogestor only the families assigned to it (and, for the first visit,
the preselected families of its municipality). Entities only search by document. Every read of
personal data is written to the audit log.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from juntos_catalogo import divipola
from juntos_events.json_types import json_int_between
from juntos_web import Principal, Problem, Role, problem_doc, problema, require, v1_router
from juntos_web.idempotency import IdempotencyKey, idempotent
from juntos_web.text import PRINTABLE
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncConnection

from enrollment import domain, handlers, lotes, queries
from enrollment.boveda import DatosPersonales
from enrollment.domain import Familia, ReglaIncumplida
from enrollment.events import Atributos, Integrante
from enrollment.handlers import Resultado, Servicios, VersionDesactualizada
from enrollment.importacion import ImportacionEnCurso, importar
from enrollment.registros import ArchivoInvalido, Formato, columnas
from enrollment.vocabulario import (
    EstadoFamilia,
    MotivoIngresoIntegrante,
    MotivoNoVinculacion,
    MotivoReapertura,
    MotivoRetiro,
    MotivoRetiroIntegrante,
    Registro,
    TipoDocumento,
)

router = v1_router()
ID = r"^[A-Za-z0-9_.@-]+$"
MAX_VINCULACIONES = 200  # a field day's acuerdos; more: several requests
MAX_ASIGNACIONES = 2000  # the largest capacity a cogestor may have
MAX_CONSULTA = 200  # families per bulk read: a cogestor's load, a partner's page
MAX_BUSQUEDA = 1000  # documents per bulk search: a page of a RUAF file

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD


def _en_divipola(codigo: str) -> str:
    if not divipola().es_municipio(codigo):
        raise ValueError(f"{codigo} is not a DIVIPOLA municipality code")
    return codigo


Municipio = Annotated[
    str,
    AfterValidator(_en_divipola),
    WithJsonSchema(
        {
            "type": "string",
            "description": "DIVIPOLA municipality code",
            "enum": sorted(m.codigo for m in divipola().municipios),
            "examples": ["05001"],
        }
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The family version the change is based on (its ETag, e.g. "3"); 412 if stale',
    ),
]
CONFLICTS: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No such family"),
    409: problem_doc("The family's state does not allow this"),
    412: problem_doc("If-Match names an older version of the family"),
}


async def srv(request: Request) -> Servicios:
    """Async on purpose: FastAPI runs a plain `def` dependency in a worker thread per request."""
    servicios: Servicios = request.app.state.enrollment
    return servicios


Srv = Annotated[Servicios, Depends(srv)]


# --- models -----------------------------------------------------------------------------------


class IntegranteVista(Atributos):
    integrante_id: str
    datos: DatosPersonales | None = Field(
        None, description="Personal data; null once erased (habeas data)"
    )


class FamiliaVista(BaseModel):
    """A family with its members' personal data (reading it is audited)."""

    familia_id: str
    estado: EstadoFamilia
    municipio: str
    desplazada: bool
    registros: list[Registro]
    nivel_sisben: int | None
    cogestor_id: str | None
    fecha_vinculacion: date | None
    fecha_limite: date | None
    datos_eliminados: bool
    version: int
    integrantes: list[IntegranteVista]


def _hasta(maximo: int, que: str) -> Any:
    """A bulk request's list: 1 to `maximo` items, the limit said in the schema."""
    return Field(
        min_length=1,
        max_length=maximo,
        description=f"at most {maximo} {que}; more: several requests",
    )


class ConsultaFamilias(BaseModel):
    familia_ids: list[uuid.UUID] = _hasta(MAX_CONSULTA, "families")


class FamiliasLeidas(BaseModel):
    familias: list[FamiliaVista] = Field(description="One per family asked, in its order")


class FamiliaEstado(BaseModel):
    """A family after a change: no personal data, so changes need no audited read."""

    familia_id: str
    estado: EstadoFamilia
    municipio: str
    desplazada: bool
    cogestor_id: str | None
    fecha_vinculacion: date | None
    fecha_limite: date | None
    version: int
    integrantes: list[Integrante]


class FamiliaResumen(BaseModel):
    familia_id: str
    municipio: str
    estado: EstadoFamilia
    desplazada: bool
    registros: list[str]
    integrantes: int
    cogestor_id: str | None
    fecha_vinculacion: date | None
    fecha_limite: date | None
    version: int


class PaginaFamilias(BaseModel):
    items: list[FamiliaResumen]
    siguiente: str | None = Field(None, description="Cursor of the next page (`cursor=`)")


class Busqueda(BaseModel):
    tipo_documento: TipoDocumento
    numero_documento: str = Field(min_length=3, max_length=20, pattern=r"^[0-9A-Za-z]+$")


class Encontrada(BaseModel):
    familia_id: str
    integrante_id: str
    estado: EstadoFamilia
    municipio: str
    desplazada: bool


class BusquedaLote(BaseModel):
    documentos: list[Busqueda] = _hasta(MAX_BUSQUEDA, "documents")


class Encontradas(BaseModel):
    resultados: list[Encontrada | None] = Field(
        description="One per document asked, in its order: the person's family, or null when "
        "nobody with that document is enrolled in your scope"
    )


class VinculacionEntrada(BaseModel):
    fecha: date
    firmante_id: str = Field(min_length=1, max_length=64, pattern=ID)
    lugar_municipio: Municipio


class VinculacionItem(VinculacionEntrada):
    familia_id: uuid.UUID


class LoteVinculaciones(BaseModel):
    items: list[VinculacionItem] = _hasta(MAX_VINCULACIONES, "acuerdos")


class ResultadoVinculacion(BaseModel):
    familia_id: str
    estado: Literal["APLICADO", "DUPLICADO", "RECHAZADO"] = Field(
        description="DUPLICADO: the family had already signed this acuerdo (nothing written)"
    )
    version: int | None = Field(description="The family's version after the item (its ETag)")
    status: int | None = Field(
        None, description="RECHAZADO: the status the single vinculación answers for it"
    )
    tipo: str | None = Field(None, description="RECHAZADO: the problem type it answers")
    detalle: str | None = Field(None, description="RECHAZADO: why")


class RespuestaVinculaciones(BaseModel):
    resultados: list[ResultadoVinculacion] = Field(description="One per item, in its order")
    resumen: dict[str, int]


class NoVinculacionEntrada(BaseModel):
    fecha: date
    motivo: MotivoNoVinculacion


class ForzarDuplicado(BaseModel):
    justificacion: str = Field(min_length=10, max_length=500, pattern=PRINTABLE)


class IntegranteEntrada(Atributos):
    datos: DatosPersonales
    motivo: MotivoIngresoIntegrante = MotivoIngresoIntegrante.NACIMIENTO
    forzar_duplicado: ForzarDuplicado | None = Field(
        None, description="Register even if the document is already enrolled (audited)"
    )


class CorreccionEntrada(Atributos):
    datos: DatosPersonales | None = None


class RetiroIntegranteEntrada(BaseModel):
    motivo: MotivoRetiroIntegrante
    fecha: date


class RetiroEntrada(BaseModel):
    motivo: MotivoRetiro
    fecha: date


class ReaperturaEntrada(BaseModel):
    motivo: MotivoReapertura
    justificacion: str = Field(min_length=10, max_length=1000, pattern=PRINTABLE)


class AsignacionEntrada(BaseModel):
    cogestor_id: str = Field(min_length=1, max_length=64, pattern=ID)


class FamiliasEntrada(BaseModel):
    familias: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_ASIGNACIONES,
        description=f"at most {MAX_ASIGNACIONES:,} families, each once",
    )


class CogestorEntrada(BaseModel):
    operador: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    microrregion: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    municipios: list[Municipio] = Field(min_length=1, max_length=200)
    capacidad: json_int_between(1, 2000) | None = None


class CogestorVista(BaseModel):
    cogestor_id: str
    operador: str
    microrregion: str
    municipios: list[str]
    capacidad: int
    carga: int


class FamiliaAsignada(BaseModel):
    familia_id: str
    version: int = Field(description="The family's version after the request (its ETag)")


class AsignacionesVista(BaseModel):
    cogestor: CogestorVista
    cambiadas: int = Field(description="families the request moved (the others already had it)")
    familias: list[FamiliaAsignada] = Field(description="every family listed, in its order")


class Auditado(BaseModel):
    id: int
    en: str
    actor: str
    rol: str
    accion: str
    familia_id: str | None
    detalle: dict[str, Any]


class ImportacionVista(BaseModel):
    importacion_id: uuid.UUID
    registro: Registro
    estado: str
    resumen: dict[str, int]
    rechazos: list[dict[str, Any]] = Field(
        default_factory=list, description="The first rejected rows (all: GET .../rechazos)"
    )


# --- helpers ----------------------------------------------------------------------------------


def _puede_ver(p: Principal, municipio: str, cogestor_id: str | None) -> bool:
    if p.role is Role.COGESTOR:
        return cogestor_id == p.sub
    return p.can_see_municipio(municipio)


def _alcance(p: Principal, *, visita: bool = False) -> handlers.Alcance:
    """The caller's scope over a family's row: its refusal (404/403) or None; `visita` lets a
    cogestor of the municipality in."""

    def negar(fila: Any) -> ReglaIncumplida | None:
        if fila is None:
            return ReglaIncumplida("no family with that id", status=404, codigo="not-found")
        cogestor_local = visita and p.role is Role.COGESTOR and p.mpio == fila.municipio
        if not (cogestor_local or _puede_ver(p, fila.municipio, fila.cogestor_id)):
            return ReglaIncumplida(
                "the family is outside your scope", status=403, codigo="out-of-scope"
            )
        return None

    return negar


async def _familia_en_alcance(
    conn: AsyncConnection, p: Principal, familia_id: str, *, visita: bool = False
) -> Any:
    """The family's read-model row, or 404/403; `visita` lets a cogestor of the municipality in."""
    fila = await queries.familia(conn, familia_id)
    if (rechazo := _alcance(p, visita=visita)(fila)) is not None:
        raise problema(rechazo)
    return fila


def _version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    valor = if_match.strip().removeprefix("W/").strip('"')
    if not valor.isdigit():
        raise Problem(412, 'If-Match must be a version ETag such as "3"', type="stale-version")
    return int(valor)


def _estado(r: Resultado, status: int = 200) -> JSONResponse:
    f = r.after
    cuerpo = FamiliaEstado(
        familia_id=f.familia_id,
        estado=f.estado or EstadoFamilia.PRESELECCIONADA,
        municipio=f.municipio,
        desplazada=f.desplazada,
        cogestor_id=f.cogestor_id,
        fecha_vinculacion=f.fecha_vinculacion,
        fecha_limite=f.fecha_limite,
        version=r.version,
        integrantes=[
            Integrante(integrante_id=k, **v.model_dump()) for k, v in f.integrantes.items()
        ],
    )
    return JSONResponse(
        cuerpo.model_dump(mode="json"), status_code=status, headers={"ETag": f'"{r.version}"'}
    )


async def _mandar(
    request: Request,
    p: Principal,
    key: str | None,
    run: Any,
    status: int = 200,
) -> Response:
    """Run a command with idempotency and map the domain's refusals to problems."""

    async def produce() -> Response:
        try:
            return _estado(await run(), status)
        except ReglaIncumplida as regla:
            raise problema(regla) from None
        except VersionDesactualizada as stale:
            raise Problem(
                412, str(stale), type="stale-version", headers={"ETag": f'"{stale.actual}"'}
            ) from None

    return await idempotent(request, p, key, produce)


async def _en_familia(
    request: Request,
    s: Servicios,
    p: Principal,
    familia_id: uuid.UUID,
    construir: handlers.Construir,
    *,
    key: str | None = None,
    if_match: str | None = None,
    visita: bool = False,
    status: int = 200,
) -> Response:
    """The shape of every family command: scope check, then the command (idempotent, If-Match)."""
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        await _familia_en_alcance(conn, p, fid, visita=visita)
    version = _version(if_match)
    return await _mandar(
        request,
        p,
        key,
        lambda: handlers.ejecutar(s, fid, construir, actor=p.sub, if_match=version),
        status,
    )


# --- families ---------------------------------------------------------------------------------


@router.get("/familias", summary="Families in your scope, by municipality, with a cursor")
async def listar(
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    municipio: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    estado: EstadoFamilia | None = None,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f-]+$")] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaginaFamilias:
    if municipio is not None and p.role is not Role.COGESTOR:
        p.ensure_municipio(municipio)
    async with s.engine.connect() as conn:
        filas = await queries.listar_familias(
            conn,
            municipio=municipio or (p.mpio if p.role is Role.MUNICIPAL else None),
            departamento=p.dpto if p.role is Role.DEPARTAMENTAL else None,
            cogestor_id=p.sub if p.role is Role.COGESTOR else None,
            estado=estado.value if estado else None,
            despues_de=cursor,
            limite=limite + 1,
        )
    items = [FamiliaResumen.model_validate(f._mapping) for f in filas[:limite]]
    siguiente = items[-1].familia_id if len(filas) > limite else None
    return PaginaFamilias(items=items, siguiente=siguiente)


@router.get(
    "/familias/{familia_id}",
    summary="A family with its members' personal data (audited)",
    responses=CONFLICTS,
)
async def detalle(
    familia_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    response: Response,
) -> FamiliaVista:
    fid = str(familia_id)
    async with s.engine.begin() as conn:
        await _familia_en_alcance(conn, p, fid)
        leida = (await handlers.leer_familias(conn, s.boveda, [fid], actor=p.sub, rol=p.role))[fid]
    response.headers["ETag"] = f'"{leida.version}"'
    return _vista(fid, leida)


def _vista(fid: str, leida: handlers.Leida) -> FamiliaVista:
    familia = leida.familia
    return FamiliaVista(
        familia_id=fid,
        estado=familia.estado or EstadoFamilia.PRESELECCIONADA,
        municipio=familia.municipio,
        desplazada=familia.desplazada,
        registros=sorted(familia.registros),
        nivel_sisben=familia.nivel_sisben,
        cogestor_id=familia.cogestor_id,
        fecha_vinculacion=familia.fecha_vinculacion,
        fecha_limite=familia.fecha_limite,
        datos_eliminados=familia.datos_eliminados,
        version=leida.version,
        integrantes=[
            IntegranteVista(integrante_id=k, datos=leida.datos.get(k), **v.model_dump())
            for k, v in familia.integrantes.items()
        ],
    )


@router.post(
    "/familias/consulta",
    summary="Several families with their members' personal data at once (each read audited)",
    description="Each family as `GET /v1/familias/{familia_id}` answers it (same content, same "
    "roles and scope, one `LEER_FAMILIA` audit row per family with the caller and role), in the "
    "order asked (a family listed twice is answered twice and audited once): what a partner "
    "system or a field device syncing its families down reads. All "
    "or nothing: if any family is unknown or outside your scope, nothing is read or audited and "
    "the problem names each by its index (`motivos`): 403 if any is outside your scope, else 404, "
    "as the single read answers them. POST because the body does not fit a URL (up to "
    f"{MAX_CONSULTA} ids, ~7.5 KB, more than proxies reliably take in a query string); it changes "
    "nothing but the audit log, so it may be repeated. A constant number of statements per "
    "request: the families' rows, their streams, their data keys, the audit rows.",
    responses={
        403: problem_doc("A family is outside your scope (`motivos` names each)"),
        404: problem_doc("An unknown family (`motivos` names each)"),
    },
)
async def consultar(
    consulta: ConsultaFamilias, s: Srv, p: Annotated[Principal, Depends(require(N, D, M, C))]
) -> FamiliasLeidas:
    ids = [str(f) for f in consulta.familia_ids]
    try:
        leidas = await handlers.consultar_familias(
            s, ids, alcance=_alcance(p), actor=p.sub, rol=p.role
        )
    except ReglaIncumplida as regla:
        raise problema(regla) from None
    return FamiliasLeidas(familias=[_vista(fid, x) for fid, x in zip(ids, leidas, strict=True)])


@router.post(
    "/familias/busqueda",
    summary="Find the family of a person by document (audited); POST keeps it out of URLs",
    responses={404: problem_doc("Nobody with that document is enrolled in your scope")},
)
async def buscar(
    consulta: Busqueda, s: Srv, p: Annotated[Principal, Depends(require(N, D, M, C, E))]
) -> Encontrada:
    [encontrada] = await _buscar(s, p, [consulta])
    if encontrada is None:
        raise Problem(404, "nobody with that document is enrolled in your scope", type="not-found")
    return encontrada


@router.post(
    "/familias/busqueda/lote",
    summary="Find the families of many people by document at once (each search audited)",
    description="Each document as `POST /v1/familias/busqueda` answers it (same scope, one "
    "`BUSCAR_DOCUMENTO` audit row per document), in the order asked, with null where the single "
    "search answers 404: what an entity matching a file of beneficiaries (RUAF) sends. National "
    "and entity roles only (systems matching files; people search one document at a time). Up "
    f"to {MAX_BUSQUEDA} documents; a constant number of statements per request.",
)
async def buscar_lote(
    lote: BusquedaLote, s: Srv, p: Annotated[Principal, Depends(require(N, E))]
) -> Encontradas:
    return Encontradas(resultados=await _buscar(s, p, lote.documentos))


async def _buscar(
    s: Servicios, p: Principal, documentos: Sequence[Busqueda]
) -> list[Encontrada | None]:
    """Each document's member within the caller's scope (None: nobody, or outside it), with one
    `BUSCAR_DOCUMENTO` audit row each: the single search and the bulk one alike."""
    huellas = [s.huellas.de(d.tipo_documento, d.numero_documento) for d in documentos]
    async with s.engine.begin() as conn:
        hallados = await queries.por_huellas(conn, huellas)
        filas = await queries.familias(conn, list({h.familia_id for h in hallados.values()}))
        resultados: list[Encontrada | None] = []
        for huella in huellas:
            hallado = hallados.get(huella)
            fila = filas.get(hallado.familia_id) if hallado else None
            visible = fila is not None and (
                p.role is Role.ENTIDAD or _puede_ver(p, fila.municipio, fila.cogestor_id)
            )
            resultados.append(_encontrada(fila, hallado) if visible else None)
        await queries.auditar_familias(  # in the order asked
            conn,
            actor=p.sub,
            rol=p.role,
            accion="BUSCAR_DOCUMENTO",
            familia_ids=[r.familia_id if r else None for r in resultados],
            detalles=[{"encontrada": r is not None} for r in resultados],
        )
    return resultados


def _encontrada(fila: Any, hallado: Any) -> Encontrada:
    return Encontrada(
        familia_id=fila.familia_id,
        integrante_id=hallado.integrante_id,
        estado=fila.estado,
        municipio=fila.municipio,
        desplazada=fila.desplazada,
    )


@router.post(
    "/familias/{familia_id}/vinculacion",
    summary="The family signs the acuerdo de corresponsabilidad (cogestor's first visit)",
    responses=CONFLICTS,
)
async def vincular(
    familia_id: uuid.UUID,
    entrada: VinculacionEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> FamiliaEstado:
    comando = domain.Vincular(
        fecha=entrada.fecha,
        firmante_id=entrada.firmante_id,
        lugar_municipio=entrada.lugar_municipio,
        cogestor_id=p.sub,
        cogestor_municipio=p.mpio or "",
    )
    return await _en_familia(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        handlers.comando(comando),
        key=idempotency_key,
        if_match=if_match,
        visita=True,
    )


@router.post(
    "/vinculaciones",
    summary="Many acuerdos signed in the field, uploaded at once (each as the single vinculación)",
    description="Each item as `POST /v1/familias/{familia_id}/vinculacion` by the same cogestor "
    "(same events, rules and scope), with its own result in the items' order: APLICADO, "
    "DUPLICADO (the family already signed this same acuerdo: date, signer and place; a resend "
    "writes nothing) or RECHAZADO (with the status, problem type and message the single route "
    "answers). The items are applied in one transaction; a family listed twice is applied in "
    f"order, one by one. At most {MAX_VINCULACIONES} items per request.",
)
async def vincular_lote(
    lote: LoteVinculaciones, s: Srv, p: Annotated[Principal, Depends(require(C))]
) -> RespuestaVinculaciones:
    pedidos = [
        (
            str(item.familia_id),
            domain.Vincular(
                fecha=item.fecha,
                firmante_id=item.firmante_id,
                lugar_municipio=item.lugar_municipio,
                cogestor_id=p.sub,
                cogestor_municipio=p.mpio or "",
            ),
        )
        for item in lote.items
    ]
    hechos = await lotes.vincular(s, pedidos, alcance=_alcance(p, visita=True), actor=p.sub)
    resultados = [
        ResultadoVinculacion(
            familia_id=h.familia_id,
            estado=h.estado.value,
            version=h.version,
            status=h.rechazo.status if h.rechazo else None,
            tipo=h.rechazo.codigo if h.rechazo else None,
            detalle=str(h.rechazo) if h.rechazo else None,
        )
        for h in hechos
    ]
    return RespuestaVinculaciones(
        resultados=resultados, resumen=dict(Counter(r.estado for r in resultados))
    )


@router.post(
    "/familias/{familia_id}/no-vinculacion",
    summary="The family declines to join (or was not found) at the first visit",
    responses=CONFLICTS,
)
async def no_vincular(
    familia_id: uuid.UUID,
    entrada: NoVinculacionEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> FamiliaEstado:
    comando = domain.NoVincular(
        fecha=entrada.fecha,
        motivo=entrada.motivo,
        cogestor_id=p.sub,
        cogestor_municipio=p.mpio or "",
    )
    return await _en_familia(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        handlers.comando(comando),
        key=idempotency_key,
        if_match=if_match,
        visita=True,
    )


@router.post(
    "/familias/{familia_id}/integrantes",
    summary="Register a member (birth, arrival); a document already enrolled is refused",
    status_code=201,
    responses={**CONFLICTS, 409: problem_doc("Duplicate document, or the family's state")},
)
async def registrar_integrante(
    familia_id: uuid.UUID,
    entrada: IntegranteEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> FamiliaEstado:
    fid = str(familia_id)
    huella = s.huellas.de(entrada.datos.tipo_documento, entrada.datos.numero_documento)
    integrante = Integrante(
        integrante_id=str(uuid.uuid4()),
        **entrada.model_dump(include=set(Atributos.model_fields)),
    )

    async def construir(conn: AsyncConnection, familia: Familia) -> domain.ComandoFamilia:
        existente = await queries.por_huella(conn, huella)
        if existente is not None and entrada.forzar_duplicado is None:
            raise ReglaIncumplida(
                f"a person with that document is already enrolled (family {existente.familia_id});"
                " set forzar_duplicado with a justificacion to register anyway",
                codigo="duplicate-person",
            )
        if existente is not None and entrada.forzar_duplicado is not None:
            await queries.auditar(
                conn,
                actor=p.sub,
                rol=p.role,
                accion="FORZAR_DUPLICADO",
                familia_id=fid,
                detalle={
                    "otra_familia": existente.familia_id,
                    "justificacion": entrada.forzar_duplicado.justificacion,
                },
            )
        else:
            await queries.indexar_documentos(
                conn,
                [{"huella": huella, "familia_id": fid, "integrante_id": integrante.integrante_id}],
            )
        llave = await handlers.llave_de(conn, s.boveda, fid)
        return domain.RegistrarIntegrante(
            integrante=integrante,
            motivo=entrada.motivo,
            sellado=s.boveda.sellar(llave, entrada.datos),
        )

    return await _en_familia(  # type: ignore[return-value]
        request, s, p, familia_id, construir, key=idempotency_key, if_match=if_match, status=201
    )


@router.put(
    "/familias/{familia_id}/integrantes/{integrante_id}",
    summary="Correct a member's attributes and, optionally, personal data (kept as history)",
    responses=CONFLICTS,
)
async def corregir_integrante(
    familia_id: uuid.UUID,
    integrante_id: Annotated[str, Field(max_length=64, pattern=ID)],
    entrada: CorreccionEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    if_match: IfMatch = None,
) -> FamiliaEstado:
    fid = str(familia_id)
    integrante = Integrante(
        integrante_id=integrante_id, **entrada.model_dump(include=set(Atributos.model_fields))
    )

    async def construir(conn: AsyncConnection, familia: Familia) -> domain.ComandoFamilia:
        sellado = None
        if entrada.datos is not None:
            llave = await handlers.llave_de(conn, s.boveda, fid)
            sellado = s.boveda.sellar(llave, entrada.datos)
        return domain.CorregirIntegrante(integrante=integrante, sellado=sellado)

    return await _en_familia(  # type: ignore[return-value]
        request, s, p, familia_id, construir, key=None, if_match=if_match
    )


@router.post(
    "/familias/{familia_id}/integrantes/{integrante_id}/retiro",
    summary="A member leaves the household (death, moving out, registry error)",
    responses=CONFLICTS,
)
async def retirar_integrante(
    familia_id: uuid.UUID,
    integrante_id: Annotated[str, Field(max_length=64, pattern=ID)],
    entrada: RetiroIntegranteEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> FamiliaEstado:
    comando = domain.RetirarIntegrante(integrante_id, entrada.motivo, entrada.fecha)
    return await _en_familia(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        handlers.comando(comando),
        key=idempotency_key,
        if_match=if_match,
    )


@router.put(
    "/familias/{familia_id}/cogestor",
    summary="Assign or reassign the family's cogestor (refused over the cogestor's capacity)",
    responses=CONFLICTS,
)
async def asignar(
    familia_id: uuid.UUID,
    entrada: AsignacionEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M))],
    if_match: IfMatch = None,
) -> FamiliaEstado:
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        await _familia_en_alcance(conn, p, fid)
    return await _mandar(  # type: ignore[return-value]
        request,
        p,
        None,
        lambda: handlers.asignar_cogestor(
            s, fid, entrada.cogestor_id, actor=p.sub, if_match=_version(if_match)
        ),
    )


@router.post(
    "/familias/{familia_id}/retiro",
    summary="Withdraw the family (voluntary, abroad, all members deceased, duplicate)",
    responses=CONFLICTS,
)
async def retirar(
    familia_id: uuid.UUID,
    entrada: RetiroEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M))],
    idempotency_key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> FamiliaEstado:
    comando = domain.Retirar(entrada.motivo, entrada.fecha)
    return await _en_familia(  # type: ignore[return-value]
        request,
        s,
        p,
        familia_id,
        handlers.comando(comando),
        key=idempotency_key,
        if_match=if_match,
    )


@router.post(
    "/familias/{familia_id}/reapertura",
    summary="Undo an exit (national coordinators only, with a reason; audited)",
    responses=CONFLICTS,
)
async def reabrir(
    familia_id: uuid.UUID,
    entrada: ReaperturaEntrada,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N))],
    idempotency_key: IdempotencyKey = None,
) -> FamiliaEstado:
    fid = str(familia_id)

    async def run() -> Resultado:
        async with s.engine.begin() as conn:
            await _familia_en_alcance(conn, p, fid)
            resultado = await handlers.aplicar(
                conn, fid, handlers.comando(domain.Reabrir(entrada.motivo)), actor=p.sub
            )
            await queries.auditar(
                conn,
                actor=p.sub,
                rol=p.role,
                accion="REABRIR_FAMILIA",
                familia_id=fid,
                detalle={"motivo": entrada.motivo, "justificacion": entrada.justificacion},
            )
            return resultado

    return await _mandar(request, p, idempotency_key, run)  # type: ignore[return-value]


@router.delete(
    "/familias/{familia_id}/datos-personales",
    summary="Erase the family's personal data on a legal request (crypto-shredding)",
    responses=CONFLICTS,
)
async def eliminar_datos(
    familia_id: uuid.UUID,
    request: Request,
    s: Srv,
    p: Annotated[Principal, Depends(require(N))],
) -> FamiliaEstado:
    fid = str(familia_id)
    async with s.engine.connect() as conn:
        await _familia_en_alcance(conn, p, fid)
    return await _mandar(  # type: ignore[return-value]
        request, p, None, lambda: handlers.eliminar_datos_personales(s, fid, actor=p.sub)
    )


@router.get(
    "/familias/{familia_id}/auditoria",
    summary="Who read or changed the family's personal data, and when",
    responses=CONFLICTS,
)
async def auditoria(
    familia_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(N))],
    cursor: Annotated[int | None, Query(ge=0)] = None,
    limite: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Auditado]:
    async with s.engine.connect() as conn:
        await _familia_en_alcance(conn, p, str(familia_id))
        filas = await queries.auditoria(
            conn, familia_id=str(familia_id), despues_de=cursor, limite=limite
        )
    return [Auditado(**{**f._mapping, "en": f.en.isoformat(), "rol": str(f.rol)}) for f in filas]


class Rotacion(BaseModel):
    llaves_reenvueltas: int


@router.post(
    "/mantenimiento/rotacion-de-llaves",
    summary="Rewrap every family data key with the newest ENROLLMENT_KEKS key (national role)",
)
async def rotar_llaves(s: Srv, p: Annotated[Principal, Depends(require(N))]) -> Rotacion:
    hechas = await handlers.reenvolver_llaves(s)
    async with s.engine.begin() as conn:
        await queries.auditar(
            conn,
            actor=p.sub,
            rol=p.role,
            accion="ROTAR_LLAVES",
            familia_id=None,
            detalle={"llaves": hechas},
        )
    return Rotacion(llaves_reenvueltas=hechas)


# --- cogestores -------------------------------------------------------------------------------


@router.put(
    "/cogestores/{cogestor_id}",
    summary="Register or update a cogestor: operator, microregion (municipalities), capacity",
)
async def registrar_cogestor(
    cogestor_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)],
    entrada: CogestorEntrada,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D))],
) -> CogestorVista:
    for municipio in entrada.municipios:
        p.ensure_municipio(municipio)
    comando = domain.RegistrarCogestor(
        cogestor_id=cogestor_id,
        operador=entrada.operador,
        microrregion=entrada.microrregion,
        municipios=tuple(entrada.municipios),
        capacidad=entrada.capacidad or s.settings.capacidad_cogestor,
    )
    try:
        cogestor, _ = await handlers.registrar_cogestor(s, comando, actor=p.sub)
    except ReglaIncumplida as regla:
        raise problema(regla) from None
    return _vista_cogestor(cogestor)


def _vista_cogestor(cogestor: domain.Cogestor) -> CogestorVista:
    return CogestorVista(
        cogestor_id=cogestor.cogestor_id,
        operador=cogestor.operador,
        microrregion=cogestor.microrregion,
        municipios=sorted(cogestor.municipios),
        capacidad=cogestor.capacidad,
        carga=cogestor.carga,
    )


@router.put(
    "/cogestores/{cogestor_id}/familias",
    summary="Assign a list of families to the cogestor at once (all or nothing)",
    description="Each family as `PUT /v1/familias/{familia_id}/cogestor` (same events, rules "
    "and scope; a family that already has this cogestor is left as it is), in one transaction: "
    "if any family is refused, nothing is changed and the problem names every refused family by "
    "its index (`motivos`): 403/404 when one is outside your scope or unknown, 422 when one "
    "cannot be assigned (exited, outside the microregion, listed twice). The capacity is checked "
    "once, for all the families the list adds (409 over it). Families not listed keep their "
    f"cogestor. At most {MAX_ASIGNACIONES:,} families per request.",
    responses={
        403: problem_doc("A family is outside your scope (`motivos` names each)"),
        404: problem_doc("No such cogestor, or an unknown family (`motivos` names each)"),
        409: problem_doc("Over the cogestor's capacity"),
        422: problem_doc("A family cannot be assigned (`motivos` names each)"),
    },
)
async def asignar_familias(
    cogestor_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)],
    entrada: FamiliasEntrada,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M))],
) -> AsignacionesVista:
    ids = [str(f) for f in entrada.familias]
    try:
        hechos, cogestor, _ = await handlers.asignar_familias(
            s, cogestor_id, ids, alcance=_alcance(p), actor=p.sub
        )
    except ReglaIncumplida as regla:
        raise problema(regla) from None
    return AsignacionesVista(
        cogestor=_vista_cogestor(cogestor),
        cambiadas=sum(1 for h in hechos if h.events),
        familias=[
            FamiliaAsignada(familia_id=fid, version=h.version)
            for fid, h in zip(ids, hechos, strict=True)
        ],
    )


@router.get(
    "/cogestores/{cogestor_id}",
    summary="A cogestor and its current load",
    responses={404: problem_doc("No such cogestor")},
)
async def ver_cogestor(
    cogestor_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID)],
    s: Srv,
    p: Annotated[Principal, Depends(require(N, D, M, C))],
) -> CogestorVista:
    async with s.engine.connect() as conn:
        fila = await queries.cogestor(conn, cogestor_id)
    if fila is None:
        raise Problem(404, "no cogestor with that id", type="not-found")
    visible = (
        p.sub == cogestor_id
        if p.role is Role.COGESTOR
        else any(p.can_see_municipio(m) for m in fila.municipios)
    )
    if not visible:
        raise Problem(403, "the cogestor works outside your scope", type="out-of-scope")
    return CogestorVista.model_validate(fila._mapping)


# --- imports ----------------------------------------------------------------------------------


def _cuerpo_importacion(registro: Registro) -> dict[str, Any]:
    """The request body as OpenAPI can say it: the file starts with the registry's header."""
    cabecera = ",".join(columnas(registro))
    return {
        "requestBody": {
            "required": True,
            "description": f"The {registro} file: CSV with this header row, or NDJSON objects"
            " with the same names (see the service README)",
            "content": {
                "text/csv": {
                    "schema": {"type": "string", "pattern": f"^{cabecera}(\\r?\\n|$)"},
                    "example": f"{cabecera}\n",
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    }


def _puede_importar(s: Servicios, p: Principal, registro: Registro) -> None:
    if p.role is Role.NACIONAL:
        return
    permitidas = (
        s.settings.importadores_sisben
        if registro is Registro.SISBEN
        else s.settings.importadores_rupd
    )
    if p.entidad not in permitidas:
        raise Problem(403, f"entity {p.entidad} may not import the {registro} registry")


async def _importar_registro(
    registro: Registro,
    request: Request,
    s: Servicios,
    p: Principal,
    importacion_id: uuid.UUID | None,
) -> ImportacionVista:
    _puede_importar(s, p, registro)
    tipo = request.headers.get("content-type", "").split(";")[0].strip().lower()
    formatos = {"text/csv": Formato.CSV, "application/x-ndjson": Formato.NDJSON}
    if tipo not in formatos:
        raise Problem(415, "send the file as text/csv or application/x-ndjson")

    async def cuerpo() -> AsyncIterator[bytes]:
        async for trozo in request.stream():
            yield trozo

    try:
        iid, _ = await importar(
            s, registro, cuerpo(), formatos[tipo], actor=p.sub, importacion_id=importacion_id
        )
    except ImportacionEnCurso as exc:
        raise Problem(409, str(exc), type="import-running") from None
    except ArchivoInvalido as exc:
        raise Problem(422, str(exc), type="invalid-file") from None
    return await _importacion(s, p, iid)


def _ruta_importacion(registro: Registro) -> None:
    """One operation per registry, so that OpenAPI can describe each file's header."""

    @router.post(
        f"/importaciones/{registro.value}",
        summary=f"Import a {registro} file (streamed): valid households in, every bad row reported",
        openapi_extra=_cuerpo_importacion(registro),
        operation_id=f"importar_{registro.value.lower()}",
        responses={
            409: problem_doc("Another import is running"),
            415: problem_doc("Send text/csv or application/x-ndjson"),
            422: problem_doc("The file cannot be read (header, encoding)"),
        },
    )
    async def importar_registro(
        request: Request,
        s: Srv,
        p: Annotated[Principal, Depends(require(N, E))],
        importacion_id: Annotated[
            uuid.UUID | None, Query(description="Choose the id to follow progress with GET")
        ] = None,
    ) -> ImportacionVista:
        return await _importar_registro(registro, request, s, p, importacion_id)


for _registro in Registro:
    _ruta_importacion(_registro)


async def _importacion(s: Servicios, p: Principal, iid: uuid.UUID) -> ImportacionVista:
    async with s.engine.connect() as conn:
        fila = await queries.importacion(conn, iid)
        if fila is None or (p.role is not Role.NACIONAL and fila.actor != p.sub):
            raise Problem(404, "no import with that id", type="not-found")
        rechazos = await queries.rechazos(conn, iid, despues_de=0, limite=100)
    return ImportacionVista(
        importacion_id=iid,
        registro=fila.registro,
        estado=fila.estado,
        resumen=fila.resumen,
        rechazos=[dict(r._mapping) for r in rechazos],
    )


@router.get(
    "/importaciones/{importacion_id}",
    summary="An import's progress and summary",
    responses={404: problem_doc("No such import (or not yours)")},
)
async def ver_importacion(
    importacion_id: uuid.UUID, s: Srv, p: Annotated[Principal, Depends(require(N, E))]
) -> ImportacionVista:
    return await _importacion(s, p, importacion_id)


class Rechazada(BaseModel):
    linea: int
    hogar: str | None
    motivo: str


@router.get(
    "/importaciones/{importacion_id}/rechazos",
    summary="Every rejected row of an import, by line",
    responses={404: problem_doc("No such import (or not yours)")},
)
async def rechazos(
    importacion_id: uuid.UUID,
    s: Srv,
    p: Annotated[Principal, Depends(require(N, E))],
    cursor: Annotated[int, Query(ge=0, description="Last line already seen")] = 0,
    limite: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[Rechazada]:
    await _importacion(s, p, importacion_id)
    async with s.engine.connect() as conn:
        filas = await queries.rechazos(conn, importacion_id, despues_de=cursor, limite=limite)
    return [Rechazada.model_validate(f._mapping) for f in filas]
