"""JSON-typed scalars: exactly JSON Schema's values, in the Python mode FastAPI validates in."""

from __future__ import annotations

import pytest
from juntos_events.json_types import JsonBool, JsonInt, JsonNumber, json_int_between
from pydantic import BaseModel, Field, ValidationError


class Cuerpo(BaseModel):
    entero: JsonInt = Field(0, ge=0, le=100)
    acotado: json_int_between(0, 10) | None = None
    numero: JsonNumber = 0.0
    bandera: JsonBool = False


@pytest.mark.parametrize(
    ("campo", "valor", "esperado"),
    [
        ("entero", 7, 7),
        ("entero", 7.0, 7),  # a JSON Schema integer
        ("acotado", 3.0, 3),
        ("acotado", None, None),
        ("numero", 2, 2.0),
        ("numero", 2.5, 2.5),
        ("bandera", True, True),
    ],
)
def test_json_values_are_taken(campo: str, valor: object, esperado: object) -> None:
    assert getattr(Cuerpo.model_validate({campo: valor}), campo) == esperado


@pytest.mark.parametrize(
    ("campo", "valor"),
    [
        ("entero", True),
        ("entero", "7"),
        ("entero", 7.5),
        ("entero", 101.0),
        ("acotado", False),
        ("acotado", 11),
        ("numero", True),
        ("numero", "2.5"),
        ("bandera", 1),
        ("bandera", "true"),
    ],
)
def test_other_types_are_refused(campo: str, valor: object) -> None:
    with pytest.raises(ValidationError):
        Cuerpo.model_validate({campo: valor})


def test_the_schema_gives_bounds_as_json_schema() -> None:
    propiedades = Cuerpo.model_json_schema()["properties"]
    assert {"type": "integer", "minimum": 0, "maximum": 100}.items() <= propiedades[
        "entero"
    ].items()
    [entero, nulo] = propiedades["acotado"]["anyOf"]
    assert entero == {"type": "integer", "minimum": 0, "maximum": 10} and nulo == {"type": "null"}
