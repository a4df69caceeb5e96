"""Partner systems' OAuth2 clients (national operators only) and the token endpoint (anyone).

`POST /v1/oauth/token` (RFC 6749 §4.4, client credentials) is the one route without a bearer
token: the client authenticates with its id and secret, by HTTP Basic or in the form. Client
registration takes no Idempotency-Key on purpose: a replayed answer would have to keep the
secret; a lost answer means registering again and revoking the unused client.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from juntos_web import Principal, Problem, oauth, problem_doc, problema, require
from juntos_web.auth import public
from juntos_web.text import PRINTABLE
from pydantic import BaseModel, Field

from offer.credenciales import Credenciales
from offer.domain import ReglaIncumplida
from offer.tipos import Entidad, N

router = APIRouter()
TOKEN_PATH = "/v1/oauth/token"


async def credenciales(request: Request) -> Credenciales:
    c: Credenciales = request.app.state.credenciales
    return c


Cred = Annotated[Credenciales, Depends(credenciales)]
Operador = Annotated[Principal, Depends(require(N))]
NO_CLIENTE = {404: problem_doc("No client with that id")}


class ClienteEntrada(BaseModel):
    entidad: Entidad = Field(description="The entity whose programs the client's tokens reach")
    descripcion: str = Field(
        min_length=3, max_length=200, pattern=PRINTABLE, description="Which system, who runs it"
    )


class ClienteNuevo(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown this once; JUNTOS keeps only a hash of it")
    entidad: str
    descripcion: str
    token_url: str = TOKEN_PATH


class ClienteVista(BaseModel):
    client_id: str
    entidad: str
    descripcion: str
    revocado: bool


class Cambio(BaseModel):
    evento: str
    actor: str
    cuando: datetime


class ClienteDetalle(ClienteVista):
    historial: list[Cambio] = Field(description="Registration and revocation: who and when")


class Revocacion(BaseModel):
    motivo: str = Field(min_length=3, max_length=500, pattern=PRINTABLE)


@router.post(
    "/clientes",
    status_code=201,
    summary="Register an OAuth2 client for a partner entity's system (the secret is shown once)",
)
async def registrar(entrada: ClienteEntrada, c: Cred, p: Operador) -> JSONResponse:
    r = await c.registrar(entrada.entidad, entrada.descripcion, actor=p.sub)
    cuerpo = ClienteNuevo(**vars(r))
    return JSONResponse(cuerpo.model_dump(), status_code=201, headers=oauth.NO_STORE)


@router.get("/clientes", summary="The registered clients (never their secrets)")
async def listar(
    c: Cred, p: Operador, entidad: Annotated[Entidad | None, Query()] = None
) -> list[ClienteVista]:
    return [ClienteVista(**f._mapping) for f in await c.lista(entidad)]


@router.get("/clientes/{client_id}", summary="A client and its audit trail", responses=NO_CLIENTE)
async def ver(client_id: uuid.UUID, c: Cred, p: Operador) -> ClienteDetalle:
    return await _detalle(c, str(client_id))


async def _detalle(c: Credenciales, client_id: str) -> ClienteDetalle:
    cliente, historial = await c.historial(client_id)
    if cliente.client_id is None:
        raise Problem(404, "no client with that id", type="not-found")
    return ClienteDetalle(
        client_id=cliente.client_id,
        entidad=cliente.entidad,
        descripcion=cliente.descripcion,
        revocado=cliente.revocado,
        historial=[Cambio(evento=e, actor=a, cuando=t) for e, a, t in historial],
    )


@router.post(
    "/clientes/{client_id}/revocacion",
    summary="Revoke a client: no new tokens (issued ones expire within their short life)",
    responses=NO_CLIENTE,
)
async def revocar(
    client_id: uuid.UUID, entrada: Revocacion, c: Cred, p: Operador
) -> ClienteDetalle:
    try:
        await c.revocar(str(client_id), entrada.motivo, actor=p.sub)
    except ReglaIncumplida as regla:
        raise problema(regla) from None
    return await _detalle(c, str(client_id))


@router.post(
    "/oauth/token",
    summary="OAuth2 client credentials: a short-lived token with role ENTIDAD for the client",
    dependencies=[Depends(public())],
    openapi_extra=oauth.TOKEN_OPENAPI,
    response_class=JSONResponse,
)
async def token(request: Request, c: Cred) -> Response:
    try:
        pedido = await oauth.client_credentials_request(request)
        acceso, vida = await c.token(pedido.client_id, pedido.client_secret)
    except oauth.OAuthError as error:
        return error.response()
    return oauth.token_response(acceso, vida)
