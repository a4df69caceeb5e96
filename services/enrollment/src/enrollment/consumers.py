"""Reactions to other services' events: graduation when accompaniment reports every LB reached.

Contract with accompaniment: it publishes `TodosLosLogrosAlcanzados` (`familia_id`, `fecha`) when
every Logro Básico that applies to the family is ALCANZADO. Enrollment then promotes the family;
a family that already left, or is not vinculada, is left as it is (logged, not dead-lettered).
"""

from __future__ import annotations

from datetime import date

from juntos_events.consumer import Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from sqlalchemy.ext.asyncio import AsyncConnection

from enrollment import domain, handlers
from enrollment.domain import ReglaIncumplida

log = get_logger(__name__)
subscriptions = Subscriptions()


@subscriptions.on("accompaniment", "TodosLosLogrosAlcanzados")
async def promover(envelope: Envelope, conn: AsyncConnection) -> None:
    familia_id = str(envelope.data["familia_id"])
    fecha = date.fromisoformat(str(envelope.data["fecha"]))
    try:
        await handlers.aplicar(
            conn,
            familia_id,
            handlers.comando(domain.Promover(fecha)),
            actor="sistema:accompaniment",
            causation_id=envelope.id,
        )
    except ReglaIncumplida as regla:
        log.warning(
            "graduation not applied", familia_id=familia_id, reason=regla.codigo, event=envelope.id
        )
