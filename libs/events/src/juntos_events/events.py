"""Domain event types, their registry per producing service, and upcasting of old versions.

An event type is a pydantic model with a stable name and a schema version. The registry of a
service knows its topic and CloudEvents source, generates the JSON Schema of every type and
version, and refuses event models whose fields look like personal data: events leave the
service, so names and document numbers must never be in them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from juntos_events.jsonio import json_loads
from juntos_events.topics import event_topic

CE_TYPE_PREFIX = "co.gov.juntos"

# Field names that would carry personal data; events hold pseudonymous ids only.
PERSONAL_FIELD = re.compile(
    r"(^|_)(nombres?|apellidos?|documento|numero_documento|cedula|telefono|direccion|email|correo)($|_)",
    re.IGNORECASE,
)


class DomainEvent(BaseModel):
    """Immutable facts; unknown fields are rejected so that a producer cannot leak data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    private: ClassVar[bool] = False
    """Kept in the producer's own store only: never in the outbox, on Kafka or in contracts."""


E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class PersonalDataInEvent(TypeError):
    """An event model declares a field that looks like personal data."""


class UnknownEventType(LookupError):
    """A stored or received event has a type or version this registry does not know."""


@dataclass
class EventRegistry:
    """The event types one service publishes, plus upcasters from their older versions."""

    service: str
    types: dict[tuple[str, int], type[DomainEvent]] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)
    _latest: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    @property
    def topic(self) -> str:
        return event_topic(self.service)

    @property
    def source(self) -> str:
        return f"/juntos/{self.service}"

    def ce_type(self, event_type: str) -> str:
        return f"{CE_TYPE_PREFIX}.{self.service}.{event_type}"

    def register(self, name: str, version: int = 1, *, private: bool = False) -> Callable[[E], E]:
        """Class decorator: `@registry.register("FamiliaVinculada", version=1)`.

        `private=True` marks an event the service keeps for itself (e.g. enrollment's encrypted
        personal data): it is stored and replayed like any other but never published.
        """

        def decorate(cls: E) -> E:
            leaked = [f for f in cls.model_fields if PERSONAL_FIELD.search(f)]
            if leaked and not private:
                raise PersonalDataInEvent(
                    f"{name} v{version} declares {leaked}: events carry pseudonymous ids only"
                )
            key = (name, version)
            if key in self.types and self.types[key] is not cls:
                raise ValueError(f"{name} v{version} is already registered in {self.service}")
            cls.event_type = name
            cls.schema_version = version
            cls.private = private
            self.types[key] = cls
            self._latest[name] = max(version, self._latest.get(name, version))
            return cls

        return decorate

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register the function that turns version `from_version` of `name` into the next one."""

        def decorate(fn: Upcaster) -> Upcaster:
            self.upcasters[(name, from_version)] = fn
            return fn

        return decorate

    def latest_version(self, name: str) -> int:
        latest = self._latest.get(name)
        if latest is None:
            raise UnknownEventType(f"{self.service} does not know event type {name!r}")
        return latest

    def upcast(self, name: str, version: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Bring stored or received data up to the latest version this registry knows."""
        latest = self.latest_version(name)
        while version < latest:
            step = self.upcasters.get((name, version))
            if step is None:
                raise UnknownEventType(f"no upcaster for {name} v{version} -> v{version + 1}")
            data = step(data)
            version += 1
        return version, data

    def load(self, name: str, version: int, data: dict[str, Any]) -> DomainEvent:
        """Parse stored data into the latest model of its type."""
        version, data = self.upcast(name, version, data)
        return self.types[(name, version)].model_validate(data)

    def load_json(self, name: str, version: int, text: str) -> DomainEvent:
        """`load` of stored JSON text: parsed and validated in one pass by the event's model when
        it is at the latest version (a stream's reads are mostly this), else upcast first."""
        if version == self.latest_version(name):
            return self.types[(name, version)].model_validate_json(text)
        return self.load(name, version, json_loads(text))

    def __iter__(self) -> Iterator[type[DomainEvent]]:
        return iter(self.types.values())

    def published(self) -> dict[tuple[str, int], type[DomainEvent]]:
        """The types other services may see: everything but private events."""
        return {key: cls for key, cls in self.types.items() if not cls.private}

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """JSON Schema of every registered type and version, keyed `Name.vN`."""
        schemas = {}
        for (name, version), cls in sorted(self.published().items()):
            schema = cls.model_json_schema()
            schema["$id"] = schema_urn(self.service, name, version)
            schema["title"] = f"{name} v{version}"
            schemas[f"{name}.v{version}"] = schema
        return schemas


def schema_urn(service: str, name: str, version: int) -> str:
    """Stable absolute URI of an event schema, used as the CloudEvents `dataschema`."""
    return f"urn:juntos:schema:{service}:{name}:v{version}"
