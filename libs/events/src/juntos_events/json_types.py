"""Scalars that take JSON's types only, for request bodies and the payloads they become.

FastAPI validates a parsed body in pydantic's Python mode, whose lax rules turn `true` into 1
and `"5"` into 5: a partner's type error would be stored as data instead of answered with 422.
Pydantic's `StrictInt` goes too far the other way: JSON Schema's `integer` includes `3.0`, which
it refuses. `JsonInt` takes exactly JSON Schema's integers.

An optional or aliased integer with bounds is `json_int_between(ge, le)`: bounds given beside a
union, or after the validator, cannot be pushed into the integer, and pydantic then documents
them as `ge`/`le`, which no JSON Schema tool reads.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict, StrictBool, StrictFloat

__all__ = ["JsonBool", "JsonInt", "JsonNumber", "json_int_between"]


def _integral(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


_JSON_INT = (Strict(), BeforeValidator(_integral))
JsonInt = Annotated[int, *_JSON_INT]
JsonNumber = StrictFloat  # strict floats take ints, not bools or strings
JsonBool = StrictBool


def json_int_between(ge: int, le: int) -> Any:
    """`JsonInt` within [ge, le], the bounds first so that the schema says minimum/maximum."""
    return Annotated[int, Field(ge=ge, le=le), *_JSON_INT]
