"""Reactions to other services' events: graduation when accompaniment reports every LB reached.

Contract with accompaniment: it publishes `TodosLosLogrosAlcanzados` (`familia_id`, `fecha`) when
every Logro Básico that applies to the family is ALCANZADO. Enrollment then promotes the family;
a family that already left, or is not vinculada, is left as it is (logged, not dead-lettered).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from juntos_events.commands import Step
from juntos_events.consumer import Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.events import DomainEvent
from juntos_events.logs import get_logger
from sqlalchemy.ext.asyncio import AsyncConnection

from enrollment import domain, handlers
from enrollment.domain import Familia, ReglaIncumplida

log = get_logger(__name__)
subscriptions = Subscriptions()
ACTOR = "sistema:accompaniment"


@subscriptions.on_batch("accompaniment", "TodosLosLogrosAlcanzados")
async def promover(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of graduations in the round trips of one (`Aggregate.apply_steps`): each family
    promoted as one at a time would be, each event the cause of its family's change."""
    await handlers.familias.apply_steps(
        conn,
        [_promocion(e) for e in envelopes],
        actor=ACTOR,
        after=lambda conn, aplicados: handlers.despues_de_familias(conn, aplicados, ACTOR),
    )


def _promocion(envelope: Envelope) -> Step[Familia]:
    familia_id = str(envelope.data["familia_id"])
    fecha = date.fromisoformat(str(envelope.data["fecha"]))

    def decidir(familia: Familia) -> list[DomainEvent]:
        try:
            return domain.decide(familia, domain.Promover(fecha))
        except ReglaIncumplida as regla:
            log.warning(
                "graduation not applied",
                familia_id=familia_id,
                reason=regla.codigo,
                event_id=envelope.id,
            )
            return []

    return Step(familia_id, decidir, envelope.id)
