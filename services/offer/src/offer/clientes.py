"""A partner system's OAuth2 client (pure): registered for one entity, revoked once, for good.

The client is what a partner entity's system authenticates as to get tokens (role ENTIDAD,
scoped to that entity); its stream `cliente:<client_id>` is the audit trail of who registered
and who revoked it, and when (the actor and time of each event).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import reduce

from juntos_events.events import DomainEvent

from offer.domain import ReglaIncumplida
from offer.events import ClienteRegistrado, ClienteRevocado


@dataclass(frozen=True)
class Cliente:
    client_id: str | None = None
    entidad: str = ""
    descripcion: str = ""
    revocado: bool = False


@dataclass(frozen=True)
class RegistrarCliente:
    client_id: str
    entidad: str
    descripcion: str


@dataclass(frozen=True)
class RevocarCliente:
    motivo: str


ComandoCliente = RegistrarCliente | RevocarCliente


def decide_cliente(c: Cliente, comando: ComandoCliente) -> list[DomainEvent]:
    match comando:
        case RegistrarCliente():
            if c.client_id is not None:
                raise ReglaIncumplida("the client already exists", codigo="already-exists")
            return [ClienteRegistrado(**vars(comando))]
        case RevocarCliente():
            if c.client_id is None:
                raise ReglaIncumplida("no client with that id", status=404, codigo="not-found")
            if c.revocado:
                return []  # revoking twice changes nothing
            return [
                ClienteRevocado(client_id=c.client_id, entidad=c.entidad, motivo=comando.motivo)
            ]


def _evolve(e: DomainEvent, c: Cliente) -> Cliente:
    match e:
        case ClienteRegistrado():
            return Cliente(e.client_id, e.entidad, e.descripcion)
        case ClienteRevocado():
            return replace(c, revocado=True)
    return c


def fold_cliente(events: Iterable[DomainEvent], state: Cliente | None = None) -> Cliente:
    return reduce(lambda s, e: _evolve(e, s), events, state or Cliente())
