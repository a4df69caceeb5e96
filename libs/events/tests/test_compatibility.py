"""A released event schema may only grow; breaking it needs a new version with an upcaster."""

from __future__ import annotations

from pathlib import Path

from juntos_events.contracts import Contract, breaking_changes, check, write
from juntos_events.events import DomainEvent, EventRegistry


class Lugar(DomainEvent):
    municipio: str


class V1(DomainEvent):
    familia: str
    integrantes: int
    lugar: Lugar


def schema(cls: type[DomainEvent]) -> dict:
    return cls.model_json_schema()


def test_new_optional_field_is_compatible():
    class V1Plus(DomainEvent):
        familia: str
        integrantes: int
        lugar: Lugar
        zona: str | None = None

    assert breaking_changes(schema(V1), schema(V1Plus)) == []


def test_removed_retyped_and_new_required_fields_break():
    class Broken(DomainEvent):
        familia: int  # retyped
        lugar: Lugar  # integrantes removed
        firmante: str  # new and required

    assert sorted(breaking_changes(schema(V1), schema(Broken))) == [
        'familia: type {"type": "string"} became {"type": "integer"}',
        "firmante: new required field",
        "integrantes: removed",
    ]


def test_nested_models_are_compared_too():
    class Lugar(DomainEvent):  # same definition name as the released one, field retyped
        municipio: int

    class V1Nested(DomainEvent):
        familia: str
        integrantes: int
        lugar: Lugar

    problems = breaking_changes(schema(V1), schema(V1Nested))
    assert problems == ['Lugar.municipio: type {"type": "string"} became {"type": "integer"}']


def _contract(*versions: tuple[int, type[DomainEvent]]) -> Contract:
    registry = EventRegistry("enrollment")
    for version, cls in versions:
        registry.register("FamiliaVinculada", version=version)(cls)
    return Contract(registry, "JUNTOS enrollment", "0.1.0")


def test_check_against_released_files(tmp_path: Path):
    write([_contract((1, V1))], tmp_path)
    assert check([_contract((1, V1))], tmp_path) == []

    class V1Changed(DomainEvent):  # the same v1, now with a new required field
        familia: str
        integrantes: int
        lugar: Lugar
        firmante: str

    problems = check([_contract((1, V1Changed))], tmp_path)
    assert any("firmante: new required field (register v2" in p for p in problems)

    # the right way: v1 stays as released, v2 is new; after `juntos events docs` all is current
    fixed = _contract((1, V1), (2, V1Changed))
    assert all("out of date" in p for p in check([fixed], tmp_path))
    write([fixed], tmp_path)
    assert check([fixed], tmp_path) == []
    assert (tmp_path / "enrollment/schemas/FamiliaVinculada.v2.json").is_file()

    dropped = _contract((2, V1Changed))
    assert any("v1: released, no longer registered" in p for p in check([dropped], tmp_path))
