"""The live consumer: every event type reporting reads, applied to the live generations.

Each event runs in the consumer's batch transaction with its inbox row (backbone), and is
applied once per generation (`aplicado`). A known type whose data lacks what reporting reads
goes to the dead-letter topic (`DeadLetter`, no retries). A type reporting does not know, on a
topic it reads, is skipped with a warning log line and counted, never a crash: producers may
add event types before reporting learns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from juntos_events.consumer import DeadLetter, Handler, Subscriptions
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


async def proyectar(envelope: Envelope, conn: AsyncConnection) -> None:
    try:
        await handlers.aplicar_en_vivo(conn, envelope)
    except handlers.EventoDesconocido:
        saltar_desconocido(envelope, "live")
    except domain.EventoInvalido as exc:
        raise DeadLetter(f"{envelope.event_type} lacks what reporting reads: {exc}") from None


@dataclass
class Suscripciones(Subscriptions):
    """Subscriptions whose unknown types (of the services read) reach `proyectar`, which logs
    and skips them, instead of being ignored silently by the runner."""

    servicios: set[str] = field(default_factory=set)

    def handler_for(self, envelope: Envelope) -> Handler | None:
        handler = super().handler_for(envelope)
        if handler is None and envelope.service in self.servicios:
            return proyectar
        return handler

    def wants(self, service: str, event_type: str) -> bool:
        return service in self.servicios or super().wants(service, event_type)


subscriptions = Suscripciones(servicios=domain.servicios_leidos())
for _servicio, _tipo in sorted({*domain.LECTURAS, *domain.CONOCIDOS_SIN_USO}):
    subscriptions.on(_servicio, _tipo)(proyectar)
