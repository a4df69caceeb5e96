"""Public contracts: JSON Schema per event type and version, AsyncAPI 3 document per service."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from juntos_events.asyncapi import asyncapi_document
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.migrate import upgrade
from juntos_testing.db import public_tables

ASYNCAPI_3_SCHEMA = Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json"


class Ubicacion(DomainEvent):
    municipio: str
    zona: str = "urbana"


def contract_registry() -> EventRegistry:
    registry = EventRegistry("enrollment")

    @registry.register("FamiliaVinculada", version=1)
    class FamiliaVinculadaV1(DomainEvent):
        """The family signed the co-responsibility agreement."""

        familia: str
        ubicacion: Ubicacion

    @registry.register("FamiliaVinculada", version=2)
    class FamiliaVinculadaV2(DomainEvent):
        """The family signed the co-responsibility agreement (with signer member)."""

        familia: str
        ubicacion: Ubicacion
        firmante: str

    return registry


def test_json_schema_per_type_and_version_is_valid_and_validates_events():
    schemas = contract_registry().json_schemas()
    assert set(schemas) == {"FamiliaVinculada.v1", "FamiliaVinculada.v2"}
    v2 = schemas["FamiliaVinculada.v2"]
    jsonschema.Draft202012Validator.check_schema(v2)
    assert v2["$id"] == "urn:juntos:schema:enrollment:FamiliaVinculada:v2"
    good = {"familia": "f1", "ubicacion": {"municipio": "05001"}, "firmante": "i1"}
    jsonschema.validate(good, v2)
    missing = {"familia": "f1", "ubicacion": {"municipio": "05001"}}
    errors = list(jsonschema.Draft202012Validator(v2).iter_errors(missing))
    assert [e.message for e in errors] == ["'firmante' is a required property"]


def test_asyncapi_document_is_valid_asyncapi_3():
    document = asyncapi_document(
        contract_registry(),
        title="JUNTOS enrollment",
        version="0.1.0",
        consumes=["juntos.accompaniment.events"],
    )
    schema = json.loads(ASYNCAPI_3_SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    assert set(document["channels"]) == {"juntos.enrollment.events", "juntos.accompaniment.events"}
    messages = document["components"]["messages"]
    assert set(messages) == {"FamiliaVinculada.v1", "FamiliaVinculada.v2"}
    assert "Ubicacion" in document["components"]["schemas"], "nested models become components"
    assert json.dumps(document).count("#/$defs/") == 0, "every $ref resolves inside the document"


async def test_migrations_are_idempotent_and_create_the_backbone(database_url: str):
    await upgrade(database_url)
    await upgrade(database_url)  # a second run (every service start) changes nothing
    tables = await public_tables(database_url)
    assert {"events", "outbox", "inbox", "snapshots", "alembic_version"} <= tables
