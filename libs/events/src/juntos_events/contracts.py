"""Published event contracts: written to docs/, and checked against the released ones.

Partners build on the JSON Schema of each event type and version. Once a version is released
(its schema file is committed under docs/events/), it may only grow: new optional fields are
fine; a removed field, a changed type or a new required field breaks consumers, and needs a new
version of the event type (with an upcaster from the old one) instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juntos_events.asyncapi import asyncapi_document
from juntos_events.events import EventRegistry


@dataclass(frozen=True)
class Contract:
    """What one service publishes and reads, as partners see it."""

    registry: EventRegistry
    title: str
    version: str
    consumes: tuple[str, ...] = ()

    def files(self) -> dict[str, str]:
        """Relative path -> content of every published file of this service."""
        service = self.registry.service
        out = {
            f"{service}/asyncapi.json": _dump(
                asyncapi_document(
                    self.registry, title=self.title, version=self.version, consumes=self.consumes
                )
            )
        }
        for key, schema in self.registry.json_schemas().items():
            out[f"{service}/schemas/{key}.json"] = _dump(schema)
        return out


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(contracts: Iterable[Contract], out_dir: Path) -> list[Path]:
    """Write every contract file; released schemas of versions no longer registered stay."""
    written = []
    for contract in contracts:
        for relative, content in contract.files().items():
            path = out_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            written.append(path)
    return written


def breaking_changes(
    released: dict[str, Any], current: dict[str, Any], where: str = ""
) -> list[str]:
    """Why `current` would break a consumer written against `released` (empty: compatible)."""
    problems: list[str] = []
    old_props: dict[str, Any] = released.get("properties", {})
    new_props: dict[str, Any] = current.get("properties", {})
    for name in old_props:
        if name not in new_props:
            problems.append(f"{where}{name}: removed")
        elif (was := _type_of(old_props[name])) != (now := _type_of(new_props[name])):
            problems.append(f"{where}{name}: type {was} became {now}")
    for name in set(current.get("required", [])) - set(released.get("required", [])):
        problems.append(f"{where}{name}: new required field")
    old_defs, new_defs = released.get("$defs", {}), current.get("$defs", {})
    for name, schema in old_defs.items():
        if name in new_defs:
            problems += breaking_changes(schema, new_defs[name], f"{where}{name}.")
    return problems


def _type_of(schema: dict[str, Any]) -> str:
    """A comparable description of a property's type (refs, unions and formats included)."""
    keys = ("type", "$ref", "format", "anyOf", "enum", "items", "const")
    return json.dumps({k: schema[k] for k in keys if k in schema}, sort_keys=True)


def check(contracts: Iterable[Contract], released_dir: Path) -> list[str]:
    """Problems between the committed docs and the code: incompatible changes, stale files."""
    problems: list[str] = []
    for contract in contracts:
        registry = contract.registry
        service_dir = released_dir / registry.service / "schemas"
        for path in sorted(service_dir.glob("*.json")) if service_dir.is_dir() else []:
            name, _, version = path.stem.rpartition(".v")
            cls = registry.published().get((name, int(version)))
            if cls is None:
                problems.append(f"{registry.service} {path.stem}: released, no longer registered")
                continue
            released = json.loads(path.read_text())
            current = registry.json_schemas()[path.stem]
            problems += [
                f"{registry.service} {path.stem}: {p} (register v{int(version) + 1} with an "
                "upcaster instead)"
                for p in breaking_changes(released, current)
            ]
        for relative, content in contract.files().items():
            path = released_dir / relative
            if not path.is_file() or path.read_text() != content:
                problems.append(f"{relative}: out of date (run `juntos events docs`)")
    return problems
