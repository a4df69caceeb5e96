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

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from juntos_events.events import CE_TYPE_PREFIX, DomainEvent, EventRegistry, schema_urn
from juntos_events.jsonio import json_loads

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
    """The exact message the relay will publish for `event`, built at append time.

    Written directly in the CloudEvents Kafka binding's binary mode, as the SDK's
    `to_binary_event` writes it: building the SDK's `CloudEvent` costs about 15 µs an event (its
    attribute checks), and every appended event is encoded. The SDK reads back what this
    writes, equal to what it encodes itself (tested).
    """
    if occurred_at.tzinfo is None:
        raise ValueError("an event's time must carry its UTC offset")
    name, version = event.event_type, event.schema_version
    time = occurred_at.isoformat()
    if time.endswith("+00:00"):
        time = time[:-6] + "Z"
    stream = stream_id.encode()
    headers = {
        "ce_id": event_id.encode(),
        "ce_source": registry.source.encode(),
        "ce_type": registry.ce_type(name).encode(),
        "ce_subject": stream,
        "ce_time": time.encode(),
        "content-type": b"application/json",
        "ce_dataschema": schema_urn(registry.service, name, version).encode(),
        "ce_schemaversion": str(version).encode(),
        "ce_partitionkey": stream,
        "ce_specversion": b"1.0",
    }
    return KafkaMessage(headers=headers, key=stream_id, value=event.model_dump_json().encode())


def decode(headers: Sequence[tuple[str, bytes]], key: bytes | None, value: bytes) -> Envelope:
    """Parse a consumed Kafka record; raises MalformedEnvelope for anything that is not ours.

    Messages exactly as `encode` writes them take a direct path (headers read as they are,
    `datetime.fromisoformat`, `jsonio.json_loads`): the SDK's parse costs about 145 µs a record,
    many times a raw consumer's whole cost per record, and a rebuild reads every event ever
    published. Anything else goes through the SDK, which validates it in full and says why
    it is refused; both paths give the same envelope (tested).
    """
    header_map = dict(headers)
    envelope = _directo(header_map, value)
    return envelope if envelope is not None else _por_el_sdk(header_map, key, value)


_OBLIGATORIOS = ("ce_id", "ce_source", "ce_type", "ce_time")


def event_type_of(headers: Sequence[tuple[str, bytes]]) -> tuple[str, str] | None:
    """(service, event name) from a record's `ce_type` header alone, without parsing its body;
    None when the header is missing or not a JUNTOS type (only `decode` can judge those)."""
    for name, value in headers:
        if name == "ce_type":
            try:
                return _tipo_juntos(value.decode())
            except UnicodeDecodeError:
                return None
    return None


def _tipo_juntos(ce_type: str) -> tuple[str, str] | None:
    """(service, event name) of a `co.gov.juntos.<service>.<Event>` type; None for others."""
    prefix, _, name = ce_type.rpartition(".")
    root, _, service = prefix.rpartition(".")
    return (service, name) if root == CE_TYPE_PREFIX else None


def _directo(header_map: dict[str, bytes], value: bytes) -> Envelope | None:
    """The envelope of a message in `encode`'s exact shape, else None (the SDK decides)."""
    try:
        if (
            header_map.get("ce_specversion") != b"1.0"
            or header_map.get("content-type") != b"application/json"
        ):
            return None
        if not all(header_map.get(h) for h in _OBLIGATORIOS):
            return None
        tipo = _tipo_juntos(header_map["ce_type"].decode())
        time = datetime.fromisoformat(header_map["ce_time"].decode())
        data = json_loads(value)
        if tipo is None or not tipo[1] or time.tzinfo is None or not isinstance(data, dict):
            return None
        service, name = tipo
        version = header_map.get("ce_schemaversion")
        subject = header_map.get("ce_subject")
        traceparent = header_map.get(TRACEPARENT)
        return Envelope(
            id=header_map["ce_id"].decode(),
            service=service,
            event_type=name,
            schema_version=int(version) if version else 1,
            subject=subject.decode() if subject else "",
            time=time,
            data=data,
            traceparent=traceparent.decode() if traceparent else None,
        )
    except (ValueError, UnicodeDecodeError):
        return None


def _por_el_sdk(header_map: dict[str, bytes], key: bytes | None, value: bytes) -> Envelope:
    try:
        ce = from_binary_event(KafkaMessage(headers=header_map, key=key, value=value))
        ce_type: str = ce.get_type()
        tipo = _tipo_juntos(ce_type)
        if tipo is None:
            raise MalformedEnvelope(f"not a JUNTOS event type: {ce_type!r}")
        service, name = tipo
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
