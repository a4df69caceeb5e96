"""CloudEvents 1.0 in Kafka binary content mode, through the CloudEvents SDK.

The attributes travel as `ce_*` headers and the event data as the JSON body. Two extensions:
`schemaversion` (the event type's schema version, so consumers can upcast) and `partitionkey`
(the aggregate id, which is also the Kafka key and so keeps per-family order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event, to_binary_event
from cloudevents.core.v1.event import CloudEvent

from juntos_events.events import CE_TYPE_PREFIX, DomainEvent, EventRegistry, schema_urn

TRACEPARENT = "traceparent"


class MalformedEnvelope(ValueError):
    """A Kafka message that is not a CloudEvent of this project."""


@dataclass(frozen=True)
class Envelope:
    """A received event: CloudEvents attributes plus the raw (not yet upcast) data."""

    id: str
    service: str
    event_type: str
    schema_version: int
    subject: str
    time: datetime
    data: dict[str, Any]
    traceparent: str | None = None


def encode(
    registry: EventRegistry,
    event: DomainEvent,
    *,
    event_id: str,
    stream_id: str,
    occurred_at: datetime,
) -> KafkaMessage:
    """The exact message the relay will publish for `event`, built at append time."""
    name, version = event.event_type, event.schema_version
    ce = CloudEvent(
        attributes={
            "id": event_id,
            "source": registry.source,
            "type": registry.ce_type(name),
            "subject": stream_id,
            "time": occurred_at,
            "datacontenttype": "application/json",
            "dataschema": schema_urn(registry.service, name, version),
            "schemaversion": version,
            "partitionkey": stream_id,
        },
        data=event.model_dump(mode="json"),
    )
    return to_binary_event(ce)


def decode(headers: Sequence[tuple[str, bytes]], key: bytes | None, value: bytes) -> Envelope:
    """Parse a consumed Kafka record; raises MalformedEnvelope for anything that is not ours."""
    header_map = dict(headers)
    try:
        ce = from_binary_event(KafkaMessage(headers=header_map, key=key, value=value))
        ce_type: str = ce.get_type()
        prefix, _, name = ce_type.rpartition(".")
        root, _, service = prefix.rpartition(".")
        if root != CE_TYPE_PREFIX:
            raise MalformedEnvelope(f"not a JUNTOS event type: {ce_type!r}")
        data = ce.get_data()
        if not isinstance(data, dict):
            raise MalformedEnvelope("event data is not a JSON object")
        traceparent = header_map.get(TRACEPARENT)
        return Envelope(
            id=ce.get_id(),
            service=service,
            event_type=name,
            schema_version=int(ce.get_extension("schemaversion") or 1),
            subject=ce.get_subject() or "",
            time=ce.get_time(),
            data=data,
            traceparent=traceparent.decode() if traceparent else None,
        )
    except MalformedEnvelope:
        raise
    except Exception as exc:  # the SDK raises several types for bad input; all mean the same
        raise MalformedEnvelope(f"{type(exc).__name__}: {exc}") from exc
