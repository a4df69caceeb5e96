"""Partner systems' client credentials: register, revoke, list, audit, and exchange for a token.

A registration appends ClienteRegistrado and writes the secret's Argon2id hash in the same
transaction; the secret is returned once to the operator and kept nowhere. A token request
checks the hash and issues a short-lived JWT with role ENTIDAD for the client's entity, which
every service accepts and which scopes the partner to its own programs. Each outcome is logged
with the client id, never with the secret.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from juntos_events.commands import Aggregate, Applied, given
from juntos_events.logs import get_logger
from juntos_web import Principal, Role
from juntos_web.auth import TokenIssuer
from juntos_web.oauth import Secrets, invalid_client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from offer.clientes import (
    Cliente,
    ComandoCliente,
    RegistrarCliente,
    RevocarCliente,
    decide_cliente,
    fold_cliente,
)
from offer.events import store
from offer.handlers import ejecutar

log = get_logger(__name__)

clientes: Aggregate[Cliente, ComandoCliente] = Aggregate(
    store=store,
    stream_type="cliente",
    fold=fold_cliente,
    decide=decide_cliente,
    evolve_from=lambda nuevos, c: fold_cliente(nuevos, c),
)


def cliente_stream(client_id: str) -> str:
    return f"cliente:{client_id}"


@dataclass(frozen=True)
class Registro:
    client_id: str
    client_secret: str
    entidad: str
    descripcion: str


@dataclass
class Credenciales:
    engine: AsyncEngine
    emisor: TokenIssuer
    vida: timedelta
    secretos: Secrets

    async def registrar(self, entidad: str, descripcion: str, *, actor: str) -> Registro:
        client_id = str(uuid.uuid4())
        secreto = Secrets.new()
        huella = self.secretos.hash(secreto)

        async def guardar(conn: AsyncConnection, hecho: Applied[Cliente]) -> None:
            await conn.execute(
                text(
                    "INSERT INTO clientes_api (client_id, entidad, descripcion, secreto_hash, "
                    "version) VALUES (:c, :e, :d, :h, :v)"
                ),
                {"c": client_id, "e": entidad, "d": descripcion, "h": huella, "v": hecho.version},
            )

        comando = RegistrarCliente(client_id, entidad, descripcion)
        await ejecutar(
            self.engine,
            lambda conn: clientes.apply(
                conn, cliente_stream(client_id), given(comando), actor=actor, after=guardar
            ),
        )
        log.info("oauth client registered", client_id=client_id, entidad=entidad, actor=actor)
        return Registro(client_id, secreto, entidad, descripcion)

    async def revocar(self, client_id: str, motivo: str, *, actor: str) -> None:
        async def marcar(conn: AsyncConnection, hecho: Applied[Cliente]) -> None:
            await conn.execute(
                text("UPDATE clientes_api SET revocado = true, version = :v WHERE client_id = :c"),
                {"c": client_id, "v": hecho.version},
            )

        hecho = await ejecutar(
            self.engine,
            lambda conn: clientes.apply(
                conn,
                cliente_stream(client_id),
                given(RevocarCliente(motivo)),
                actor=actor,
                after=marcar,
            ),
        )
        if hecho.events:
            log.info("oauth client revoked", client_id=client_id, actor=actor)

    async def token(self, client_id: str, secreto: str) -> tuple[str, int]:
        """The access token and its life in seconds; `invalid_client` for any failure."""
        async with self.engine.connect() as conn:
            fila = (
                await conn.execute(
                    text(
                        "SELECT entidad, secreto_hash, revocado FROM clientes_api"
                        " WHERE client_id = :c"
                    ),
                    {"c": client_id},
                )
            ).one_or_none()
        if not self.secretos.verify(fila.secreto_hash if fila else None, secreto):
            log.warning("oauth token refused", client_id=client_id[:64], reason="credentials")
            raise invalid_client()
        if fila.revocado:
            log.warning("oauth token refused", client_id=client_id, reason="revoked")
            raise invalid_client()
        quien = Principal(sub=f"client:{client_id}", role=Role.ENTIDAD, entidad=fila.entidad)
        token = self.emisor.issue(quien, self.vida, jti=str(uuid.uuid4()))
        log.info("oauth token issued", client_id=client_id, entidad=fila.entidad)
        return token, int(self.vida.total_seconds())

    async def lista(self, entidad: str | None) -> list[Any]:
        async with self.engine.connect() as conn:
            return list(
                await conn.execute(
                    text(
                        "SELECT client_id, entidad, descripcion, revocado FROM clientes_api "
                        "WHERE CAST(:e AS text) IS NULL OR entidad = :e ORDER BY entidad, client_id"
                    ),
                    {"e": entidad},
                )
            )

    async def historial(self, client_id: str) -> tuple[Cliente, list[tuple[str, str, datetime]]]:
        """The client and its audit trail: (event, actor, when) of every change."""
        async with self.engine.connect() as conn:
            registrados = await store.read(conn, cliente_stream(client_id))
        cliente = fold_cliente(r.event for r in registrados)
        return cliente, [
            (r.event.event_type, str(r.metadata.get("actor", "")), r.occurred_at)
            for r in registrados
        ]
