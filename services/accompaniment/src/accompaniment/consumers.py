"""Reactions to enrollment's events (the roster, opening and closing cases) and to offer's
delivered services (evidence for an LB).

Each handler runs in the consumer's transaction with the inbox row, so a redelivered event
changes nothing twice; case commands it issues append to the case stream (with the outbox) in
that same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


@subscriptions.on_batch(
    ENROLLMENT, "FamiliaVinculada", "IntegranteRegistrado", "IntegranteActualizado"
)
async def vinculadas_e_integrantes(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of acuerdos signed (each opens its case) and of members registered or corrected
    (the roster, then the case re-evaluated), in a constant number of round trips: the run's
    case commands together, in event order (`aplicar_lote` keeps the roster in memory step by
    step, so it reads it before the run's roster writes), then those writes."""
    vinculadas = [e.data for e in envelopes if e.event_type == "FamiliaVinculada"]
    integrantes = [e.data for e in envelopes if e.event_type != "FamiliaVinculada"]
    filas = (
        await queries.familias(conn, [d["familia_id"] for d in vinculadas]) if vinculadas else {}
    )
    await handlers.aplicar_lote(
        conn, [_paso(e, filas) for e in envelopes], actor=f"sistema:{ENROLLMENT}"
    )
    await queries.actualizar_familias(
        conn,
        [
            {
                "familia_id": d["familia_id"],
                "estado_inscripcion": "VINCULADA",
                "fecha_vinculacion": date.fromisoformat(d["fecha_vinculacion"]),
            }
            for d in vinculadas
        ],
    )
    await queries.guardar_integrantes(
        conn, [(d["familia_id"], d["integrante"]) for d in integrantes]
    )


def _paso(envelope: Envelope, filas: Mapping[str, Any]) -> handlers.Paso:
    d = envelope.data
    fid = d["familia_id"]
    if envelope.event_type != "FamiliaVinculada":
        dia = _dia(envelope)
        return handlers.Paso(
            fid,
            handlers.mandar(lambda m: domain.Reevaluar(hoy=dia, miembros=m)),
            envelope.id,
            queries.miembro(d["integrante"]),
        )
    fila = filas.get(fid)
    abrir = domain.Abrir(
        familia_id=fid,
        municipio=d["municipio"],
        fecha_vinculacion=date.fromisoformat(d["fecha_vinculacion"]),
        desplazada=bool(fila and fila.desplazada),
    )
    return handlers.Paso(fid, handlers.mandar(abrir), envelope.id)


@subscriptions.on(ENROLLMENT, "FamiliaNoVinculada")
async def no_vinculada(envelope: Envelope, conn: AsyncConnection) -> None:
    await queries.actualizar_familia(
        conn, envelope.data["familia_id"], estado_inscripcion="NO_VINCULADA"
    )


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


@subscriptions.on_batch(ENROLLMENT, *SALIDAS)
async def salidas(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of exits (a wave of graduations): the families' rows in one round trip, then their
    cases closed together, in event order (closing reads only the case)."""
    await queries.actualizar_familias(
        conn,
        [
            {
                "familia_id": e.data["familia_id"],
                "estado_inscripcion": SALIDAS[e.event_type],
                "cogestor_id": None,
            }
            for e in envelopes
        ],
    )
    await handlers.aplicar_lote(
        conn,
        [
            handlers.Paso(
                e.data["familia_id"],
                handlers.mandar(domain.Cerrar(motivo=SALIDAS[e.event_type], fecha=_dia(e))),
                e.id,
            )
            for e in envelopes
        ],
        actor=f"sistema:{ENROLLMENT}",
    )


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


@subscriptions.on_batch("offer", "ServicioPrestado")
async def servicios_prestados(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of delivered services (a RUAF file's), each evidence for its LB and one evaluation
    of its case's board, in order, in a constant number of round trips. Contract with offer:
    familia_id, integrante_id (or null), logros (LB codes), fecha."""
    pasos = [_servicio(e) for e in envelopes if e.data["logros"]]
    await handlers.aplicar_lote(conn, pasos, actor="sistema:offer")


def _servicio(envelope: Envelope) -> handlers.Paso:
    d = envelope.data
    logros, fecha = tuple(d["logros"]), date.fromisoformat(str(d["fecha"]))
    return handlers.Paso(
        d["familia_id"],
        handlers.mandar(
            lambda m: domain.RegistrarServicio(
                logros=logros,
                integrante_id=d.get("integrante_id"),
                referencia=envelope.id,
                fecha=fecha,
                miembros=m,
            )
        ),
        envelope.id,
    )
