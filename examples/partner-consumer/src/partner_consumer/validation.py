"""One Kafka record -> a validated event, nothing (a type we do not follow), or Rejected.

Checks, in order: the `ce_*` headers against the published CloudEventHeaders schema; the
CloudEvent itself (through the CloudEvents SDK's Kafka binding, binary mode); then, for the types
we follow, that `dataschema` names a schema we have, agrees with `type` and `schemaversion`, and
that `data` is valid against it. Reasons name the field and the rule, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from partner_consumer.contracts import Contracts


class Rejected(ValueError):
    """The record breaks the contract; the message says how, without any of its values."""


@dataclass(frozen=True)
class Event:
    """A received event that passed every check."""

    id: str
    type: str
    """Short name, e.g. "CupoAsignado"."""
    source: str
    subject: str
    time: datetime
    schema_version: int
    data: dict[str, Any]
    traceparent: str | None


class Validator:
    def __init__(self, contracts: Contracts, follow: set[str]) -> None:
        self.follow = follow
        self._headers = Draft202012Validator(contracts.headers)
        self._data = {
            urn: Draft202012Validator(schema, format_checker=FormatChecker())
            for urn, schema in contracts.schemas.items()
        }

    def check(
        self, headers: list[tuple[str, bytes]], key: bytes | None, value: bytes
    ) -> Event | None:
        """The event if it is one we follow and valid; None for other types; else Rejected."""
        text = _text_headers(headers)
        _first_error(self._headers, text, "header")
        try:
            ce = from_binary_event(KafkaMessage(headers=dict(headers), key=key, value=value))
        except Exception as exc:  # the SDK raises several types for bad input; all mean the same
            raise Rejected(f"not a CloudEvent: {type(exc).__name__}") from None
        ce_type = ce.get_type()
        if ce_type not in self.follow:
            return None
        data = ce.get_data()
        if not isinstance(data, dict):
            raise Rejected("data is not a JSON object")
        urn = ce.get_dataschema() or ""
        version = str(ce.get_extension("schemaversion") or "")
        service, name = ce_type.split(".")[-2:]
        if urn != f"urn:juntos:schema:{service}:{name}:v{version}":
            raise Rejected(f"dataschema {urn!r} does not match type {ce_type} v{version}")
        validator = self._data.get(urn)
        if validator is None:
            raise Rejected(f"unknown schema {urn} (update the contracts, then replay)")
        _first_error(validator, data, "data")
        return Event(
            id=ce.get_id(),
            type=name,
            source=ce.get_source(),
            subject=ce.get_subject() or "",
            time=ce.get_time(),
            schema_version=int(version),
            data=data,
            traceparent=text.get("traceparent"),
        )


def _text_headers(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    text = {}
    for name, raw in headers:
        try:
            text[name] = raw.decode()
        except UnicodeDecodeError:
            raise Rejected(f"header {name} is not UTF-8") from None
    return text


def _first_error(validator: Draft202012Validator, instance: Any, where: str) -> None:
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    if error.validator in _NAMES_ONLY:  # these messages name properties, not values
        raise Rejected(f"{where} {path}: {error.message}")
    rule = error.validator_value
    rule = rule if isinstance(rule, str) else repr(rule)[:120]
    raise Rejected(f"{where} {path}: fails {error.validator} {rule}")


_NAMES_ONLY = frozenset({"required", "additionalProperties"})
