"""The published event contracts, read from a copy of JUNTOS' `docs/events/` folder.

Each service publishes `<service>/asyncapi.json` (its topic, its message types and the CloudEvents
headers every message carries) and `<service>/schemas/<Event>.v<N>.json`, whose `$id` is exactly
the `dataschema` attribute of the events of that type and version. That is all a partner needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CE_TYPE_PREFIX = "co.gov.juntos"


class ContractError(ValueError):
    """The contracts folder lacks something the consumer was asked to subscribe to."""


@dataclass(frozen=True)
class Contracts:
    """Schemas by their `$id` (= `dataschema`), the header schema, the topic of each event type."""

    schemas: dict[str, dict[str, Any]]
    headers: dict[str, Any]
    topics: dict[str, str]
    """`co.gov.juntos.<service>.<Event>` -> the Kafka topic it is published on."""

    @classmethod
    def load(cls, folder: Path) -> Contracts:
        schemas: dict[str, dict[str, Any]] = {}
        topics: dict[str, str] = {}
        headers: dict[str, Any] | None = None
        for document in sorted(folder.glob("*/asyncapi.json")):
            service = document.parent.name
            asyncapi = json.loads(document.read_text())
            headers = asyncapi["components"]["schemas"]["CloudEventHeaders"]
            for channel in asyncapi["channels"].values():
                for ref in channel.get("messages", {}).values():
                    message = _resolve(asyncapi, ref["$ref"])
                    topics[f"{CE_TYPE_PREFIX}.{service}.{message['name']}"] = channel["address"]
            for path in sorted((document.parent / "schemas").glob("*.json")):
                schema = json.loads(path.read_text())
                schemas[schema["$id"]] = schema
        if headers is None:
            raise ContractError(f"no <service>/asyncapi.json under {folder}")
        return cls(schemas=schemas, headers=headers, topics=topics)

    def ce_types(self, names: Iterable[str]) -> set[str]:
        """The full CloudEvents types of short names like "CupoAsignado" (unknown: an error)."""
        wanted = set()
        for name in names:
            found = {t for t in self.topics if t.rsplit(".", 1)[1] == name}
            if not found:
                raise ContractError(f"no published event type {name!r} in the contracts")
            wanted |= found
        return wanted


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)
