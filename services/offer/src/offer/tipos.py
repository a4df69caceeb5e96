"""Input types of the API: codes checked against the shipped catalogs, with clear refusals.

Municipality, LB and dimension codes are enums in the OpenAPI document (read from
`juntos_catalogo`, never retyped), and a wrong one gets a 422 that says which code is unknown.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header
from juntos_catalogo import catalogo, divipola
from juntos_web import Principal, Problem, Role, problem_doc
from pydantic import AfterValidator, Field, WithJsonSchema

from offer.vocabulario import ID, PERIODO


def _en_divipola(codigo: str) -> str:
    if not divipola().es_municipio(codigo):
        raise ValueError(f"{codigo} is not a DIVIPOLA municipality code")
    return codigo


def _es_logro(codigo: str) -> str:
    if codigo not in {lb.codigo for lb in catalogo().logros_basicos}:
        raise ValueError(f"{codigo} is not one of the 45 Logros Básicos (LB1..LB45)")
    return codigo


def _es_dimension(codigo: str) -> str:
    if codigo not in {d.codigo for d in catalogo().dimensiones}:
        raise ValueError(f"{codigo} is not a dimension of the catalog")
    return codigo


Municipio = Annotated[
    str,
    AfterValidator(_en_divipola),
    WithJsonSchema(
        {
            "type": "string",
            "description": "DIVIPOLA municipality code",
            "enum": sorted(m.codigo for m in divipola().municipios),
            "examples": ["05001"],
        }
    ),
]
Logro = Annotated[
    str,
    AfterValidator(_es_logro),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Logro Básico code",
            "enum": [lb.codigo for lb in catalogo().logros_basicos],
            "examples": ["LB8"],
        }
    ),
]
Dimension = Annotated[
    str,
    AfterValidator(_es_dimension),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Dimension code of the catalog",
            "enum": [d.codigo for d in catalogo().dimensiones],
            "examples": ["EDUCACION_Y_CAPACITACION"],
        }
    ),
]
Periodo = Annotated[str, Field(pattern=PERIODO, description='"2026" or "2026-S1"')]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
Entidad = Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The version the change is based on (its ETag, e.g. "3"); 412 if stale',
    ),
]

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD

NO_ENCONTRADO: dict[int | str, dict[str, Any]] = {404: problem_doc("No such program or slot")}
CONFLICTOS: dict[int | str, dict[str, Any]] = {
    **NO_ENCONTRADO,
    409: problem_doc("The rules refuse it (no free slot, already assigned, no demand...)"),
    412: problem_doc("If-Match names an older version"),
}


def version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    valor = if_match.strip().removeprefix("W/").strip('"')
    if not valor.isdigit():
        raise Problem(412, 'If-Match must be a version ETag such as "3"', type="stale-version")
    return int(valor)


def territorio(p: Principal) -> tuple[str | None, str | None]:
    """(municipio, departamento) a territorial caller is limited to."""
    if p.role in (Role.MUNICIPAL, Role.COGESTOR):
        return p.mpio, None
    if p.role is Role.DEPARTAMENTAL:
        return None, p.dpto
    return None, None
