"""Reactions to enrollment's events (the roster, opening and closing cases) and to offer's
delivered services (evidence for an LB).

Each handler runs in the consumer's transaction with the inbox row, so a redelivered event
changes nothing twice; case commands it issues append to the case stream (with the outbox) in
that same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from juntos_events.consumer import Subscriptions
from juntos_events.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncConnection

from accompaniment import domain, handlers, queries
from accompaniment.handlers import COLOMBIA

subscriptions = Subscriptions()
ENROLLMENT = "enrollment"
SALIDAS = {
    "FamiliaRetirada": "RETIRADA",
    "FamiliaPromovida": "PROMOVIDA",
    "FamiliaEgresadaPorTiempo": "EGRESADA_POR_TIEMPO",
}


def _dia(envelope: Envelope) -> date:
    return envelope.time.astimezone(COLOMBIA).date()


async def _caso(conn: AsyncConnection, envelope: Envelope, familia_id: str, comando: Any) -> None:
    await handlers.aplicar(
        conn, familia_id, comando, actor=f"sistema:{envelope.service}", causation_id=envelope.id
    )


async def _reevaluar(conn: AsyncConnection, envelope: Envelope, familia_id: str) -> None:
    dia = _dia(envelope)
    await _caso(conn, envelope, familia_id, lambda m: domain.Reevaluar(hoy=dia, miembros=m))


@subscriptions.on_batch(ENROLLMENT, "FamiliaPreseleccionada")
async def preseleccionadas(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of new families (an import's): their rows and their members, two round trips."""
    datos = [e.data for e in envelopes]
    await queries.registrar_familias(
        conn, [(d["familia_id"], d["municipio"], d["desplazada"], "PRESELECCIONADA") for d in datos]
    )
    await queries.guardar_integrantes(
        conn, [(d["familia_id"], i) for d in datos for i in d["integrantes"]]
    )


@subscriptions.on(ENROLLMENT, "FamiliaMarcadaDesplazada")
async def desplazada(envelope: Envelope, conn: AsyncConnection) -> None:
    fid = envelope.data["familia_id"]
    await queries.actualizar_familia(conn, fid, desplazada=True)
    dia = _dia(envelope)
    await _caso(
        conn, envelope, fid, lambda m: domain.Reevaluar(hoy=dia, miembros=m, desplazada=True)
    )


@subscriptions.on(ENROLLMENT, "FamiliaVinculada")
async def vinculada(envelope: Envelope, conn: AsyncConnection) -> None:
    d = envelope.data
    fid = d["familia_id"]
    fecha = date.fromisoformat(d["fecha_vinculacion"])
    await queries.actualizar_familia(
        conn, fid, estado_inscripcion="VINCULADA", fecha_vinculacion=fecha
    )
    fila = await queries.familia(conn, fid)
    await _caso(
        conn,
        envelope,
        fid,
        domain.Abrir(
            familia_id=fid,
            municipio=d["municipio"],
            fecha_vinculacion=fecha,
            desplazada=bool(fila and fila.desplazada),
        ),
    )


@subscriptions.on(ENROLLMENT, "FamiliaNoVinculada")
async def no_vinculada(envelope: Envelope, conn: AsyncConnection) -> None:
    await queries.actualizar_familia(
        conn, envelope.data["familia_id"], estado_inscripcion="NO_VINCULADA"
    )


@subscriptions.on(ENROLLMENT, "IntegranteRegistrado")
@subscriptions.on(ENROLLMENT, "IntegranteActualizado")
async def integrante(envelope: Envelope, conn: AsyncConnection) -> None:
    fid = envelope.data["familia_id"]
    await queries.guardar_integrante(conn, fid, envelope.data["integrante"])
    await _reevaluar(conn, envelope, fid)


@subscriptions.on(ENROLLMENT, "IntegranteRetirado")
async def integrante_retirado(envelope: Envelope, conn: AsyncConnection) -> None:
    fid = envelope.data["familia_id"]
    await queries.retirar_integrante(conn, fid, envelope.data["integrante_id"])
    await _reevaluar(conn, envelope, fid)


@subscriptions.on_batch(ENROLLMENT, "CogestorAsignado")
async def cogestores(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of assignments (a cogestor's list): one round trip, applied in order."""
    await queries.asignar_cogestores(
        conn, [(e.data["familia_id"], e.data["cogestor_id"]) for e in envelopes]
    )


async def _salida(envelope: Envelope, conn: AsyncConnection) -> None:
    fid = envelope.data["familia_id"]
    estado = SALIDAS[envelope.event_type]
    await queries.actualizar_familia(conn, fid, estado_inscripcion=estado, cogestor_id=None)
    await _caso(conn, envelope, fid, domain.Cerrar(motivo=estado, fecha=_dia(envelope)))


for _tipo in SALIDAS:
    subscriptions.on(ENROLLMENT, _tipo)(_salida)


@subscriptions.on(ENROLLMENT, "FamiliaReabierta")
async def reabierta(envelope: Envelope, conn: AsyncConnection) -> None:
    d = envelope.data
    fid = d["familia_id"]
    await queries.actualizar_familia(conn, fid, estado_inscripcion=d["estado"])
    fila = await queries.familia(conn, fid)
    if d["estado"] == "VINCULADA" and fila is not None and fila.fecha_vinculacion is not None:
        await _caso(
            conn,
            envelope,
            fid,
            domain.Abrir(
                familia_id=fid,
                municipio=fila.municipio,
                fecha_vinculacion=fila.fecha_vinculacion,
                desplazada=fila.desplazada,
            ),
        )


@subscriptions.on("offer", "ServicioPrestado")
async def servicio_prestado(envelope: Envelope, conn: AsyncConnection) -> None:
    """Contract with offer: familia_id, integrante_id (or null), logros (LB codes), fecha."""
    d = envelope.data
    fecha = date.fromisoformat(str(d["fecha"]))
    for logro in d["logros"]:
        await _caso(
            conn,
            envelope,
            d["familia_id"],
            lambda m, logro=logro: domain.RegistrarServicio(
                logro=logro,
                integrante_id=d.get("integrante_id"),
                referencia=envelope.id,
                fecha=fecha,
                miembros=m,
            ),
        )
