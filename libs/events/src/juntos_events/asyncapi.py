"""AsyncAPI 3.0 document of a service, generated from its event registry.

Partners read it to learn what a topic carries: each message is a CloudEvent in Kafka binary
mode, so the document describes the `ce_*` headers and the JSON body of every type and version.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from juntos_events.events import EventRegistry

REF = "#/components/schemas/{model}"

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes (Kafka binary mode) and W3C trace context",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Event id (UUID); consumers deduplicate on it"},
        "ce_source": {"type": "string", "description": "/juntos/<service>"},
        "ce_type": {"type": "string", "description": "co.gov.juntos.<service>.<EventType>"},
        "ce_subject": {"type": "string", "description": "Pseudonymous aggregate id (also the key)"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_dataschema": {"type": "string", "description": "urn:juntos:schema:<service>:<T>:v<N>"},
        "ce_schemaversion": {"type": "string", "description": "Schema version of the data"},
        "ce_partitionkey": {"type": "string"},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
    },
}


def asyncapi_document(
    registry: EventRegistry,
    *,
    title: str,
    version: str,
    description: str = "",
    consumes: Iterable[str] = (),
) -> dict[str, Any]:
    """The AsyncAPI document: the service's own topic (send) and the topics it reads (receive)."""
    schemas: dict[str, Any] = {"CloudEventHeaders": CLOUDEVENT_HEADERS}
    messages: dict[str, Any] = {}
    for (name, ver), cls in sorted(registry.published().items()):
        key = f"{name}.v{ver}"
        schema = cls.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[key] = schema
        messages[key] = {
            "name": name,
            "title": f"{name} v{ver}",
            "summary": (cls.__doc__ or name).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
            "payload": {"$ref": f"#/components/schemas/{key}"},
            "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": "0.5.0"}},
        }
    topic = registry.topic
    channels: dict[str, Any] = {
        topic: {
            "address": topic,
            "description": f"Domain events of {registry.service}, keyed by aggregate id",
            "messages": {k: {"$ref": f"#/components/messages/{k}"} for k in messages},
        }
    }
    operations: dict[str, Any] = {
        f"publish.{registry.service}": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [{"$ref": f"#/channels/{topic}/messages/{k}"} for k in messages],
        }
    }
    for other in consumes:
        channels[other] = {"address": other, "description": "Consumed; see its producer's document"}
        operations[f"consume.{other}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{other}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": version, "description": description},
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:59092",
                "protocol": "kafka",
                "description": "juntos dev up",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
