"""The live consumer: every event type reporting reads, applied to the live generations.

Each run of consecutive events of a partition batch (all of reporting's types, and the unknown
types of the services it reads, go to one batch handler) is applied with a few set-based
statements per projection (`handlers.aplicar_lote`), in the consumer's batch transaction, and
once per generation: each generation's `aplicado` table is the only guard (`idempotent`: no
inbox rows, which guarded the same thing a second time, one more index insert per event). A
known type whose data lacks what reporting reads goes to the dead-letter topic (`DeadLetter`,
no retries): the handler raises, the runner retries the run's events one at a time, and only
that one is set aside. A type reporting does not know, on a topic it reads, is skipped with a
warning log line and counted, never a crash: producers may add event types before reporting
learns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from juntos_events.consumer import BatchHandler, DeadLetter, Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from reporting import domain, handlers

log = get_logger(__name__)

DESCONOCIDOS = Counter(
    "juntos_reporting_unknown_events_total",
    "Events of a type reporting does not know, skipped",
    ["service", "event_type"],
)


def saltar_desconocido(envelope: Envelope, donde: str) -> None:
    """The one log line (and count) of a skipped unknown event type."""
    DESCONOCIDOS.labels(envelope.service, envelope.event_type).inc()
    log.warning(
        "unknown event type skipped",
        service=envelope.service,
        event_type=envelope.event_type,
        schema_version=envelope.schema_version,
        event_id=envelope.id,
        where=donde,
    )


def _en_vivo(envelope: Envelope) -> None:
    saltar_desconocido(envelope, "live")


async def proyectar(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    try:
        await handlers.aplicar_en_vivo(conn, envelopes, _en_vivo)
    except domain.EventoInvalido as exc:
        # alone, this event goes to the dead-letter topic; in a run, the runner retries the
        # run's events one at a time, so only the invalid one does
        raise DeadLetter(f"lacks what reporting reads: {exc}") from None


@dataclass
class Suscripciones(Subscriptions):
    """Subscriptions whose unknown types (of the services read) reach `proyectar`, which logs
    and skips them, in the same runs as the known ones, instead of being ignored silently."""

    servicios: set[str] = field(default_factory=set)

    def batch_handler_for(self, envelope: Envelope) -> BatchHandler | None:
        handler = super().batch_handler_for(envelope)
        if (
            handler is None
            and envelope.service in self.servicios
            and self.handler_for(envelope) is None
        ):
            return proyectar
        return handler

    def wants(self, service: str, event_type: str) -> bool:
        return service in self.servicios or super().wants(service, event_type)


subscriptions = Suscripciones(idempotent=True, servicios=domain.servicios_leidos())
for _servicio in sorted(domain.servicios_leidos()):
    subscriptions.on_batch(
        _servicio,
        *sorted(t for s, t in {*domain.LECTURAS, *domain.CONOCIDOS_SIN_USO} if s == _servicio),
    )(proyectar)
