"""What every route of territorial shares: validated codes, ETags, command answers, pages.

Codes are checked against DIVIPOLA and the catalog as the request is parsed, so an unknown
municipality is the same 422 on every route (path, query or body), naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header, Path, Request
from fastapi.responses import JSONResponse, Response
from juntos_web import Principal, Problem, Role, problem_doc, problema
from juntos_web.idempotency import idempotent
from juntos_web.text import PRINTABLE
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from territorial import territorio
from territorial.domain import ReglaIncumplida
from territorial.handlers import Resultado, VersionDesactualizada

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
LEEN_MUNICIPIO = (N, D, M, C)
"""Who reads a municipality's records: national, its department, itself, its cogestores."""

ID = r"^[A-Za-z0-9_.:-]+$"
"""Ids chosen by callers (microregions, actions, entities, users): no spaces, no '@', so an
e-mail address or a name cannot pass for a pseudonymous id."""

T = TypeVar("T")


def _enum(descripcion: str, codigos: tuple[str, ...], ejemplo: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "description": descripcion, "enum": list(codigos), "examples": [ejemplo]}
    )


Municipio = Annotated[
    str,
    AfterValidator(territorio.municipio_valido),
    _enum("DIVIPOLA municipality code", territorio.codigos_municipio(), "05001"),
]
Departamento = Annotated[
    str,
    AfterValidator(territorio.departamento_valido),
    _enum("DIVIPOLA department code", territorio.codigos_departamento(), "05"),
]
Cbt = Annotated[
    str, AfterValidator(territorio.cbt_valido), _enum("CBT code", territorio.cbts(), "CBT1")
]
Dimension = Annotated[
    str,
    AfterValidator(territorio.dimension_valida),
    _enum("Dimension code of the catalog", territorio.dimensiones(), "SALUD"),
]
MunicipioPath = Annotated[Municipio, Path(description="DIVIPOLA municipality code")]
DepartamentoPath = Annotated[Departamento, Path(description="DIVIPOLA department code")]
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID)]
Identificador = Annotated[str, Field(min_length=1, max_length=64, pattern=ID)]
Texto = Annotated[str, Field(min_length=1, pattern=PRINTABLE)]


class Entrada(BaseModel):
    """A request body: a field the schema does not name is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _fecha_escrita(valor: object) -> object:
    if isinstance(valor, str | date):
        return valor
    raise ValueError("a date is written YYYY-MM-DD")


Fecha = Annotated[date, BeforeValidator(_fecha_escrita)]
"""A date as JSON writes it (pydantic alone would also take a number as a Unix time)."""


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The version the change is based on (its ETag, e.g. "3"); 412 if stale',
    ),
]
CONFLICTOS: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No such record"),
    409: problem_doc("The record's state does not allow this"),
    412: problem_doc("If-Match names an older version"),
}


class Pagina(BaseModel, Generic[T]):
    items: list[T]
    siguiente: str | None = Field(None, description="Cursor of the next page (`cursor=`)")


def pagina(items: list[T], limite: int, cursor: Callable[[T], str]) -> Pagina[T]:
    """`items` holds up to limite + 1 rows: the extra one only says there is a next page."""
    return Pagina[T](
        items=items[:limite], siguiente=cursor(items[limite - 1]) if len(items) > limite else None
    )


def version_de(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    valor = if_match.strip().removeprefix("W/").strip('"')
    if not valor.isdigit():
        raise Problem(412, 'If-Match must be a version ETag such as "3"', type="stale-version")
    return int(valor)


def con_etag(cuerpo: BaseModel, version: int, status: int = 200) -> JSONResponse:
    return JSONResponse(
        cuerpo.model_dump(mode="json"), status_code=status, headers={"ETag": f'"{version}"'}
    )


async def mandar(
    request: Request,
    p: Principal,
    key: str | None,
    run: Callable[[], Awaitable[Resultado[Any]]],
    vista: Callable[[Resultado[Any]], BaseModel],
    status: int = 200,
) -> Response:
    """Run a command once per Idempotency-Key; answer its view with the new version as ETag,
    or the domain's refusal as a problem."""

    async def produce() -> Response:
        try:
            resultado = await run()
        except ReglaIncumplida as regla:
            raise problema(regla) from None
        except VersionDesactualizada as stale:
            raise Problem(
                412, str(stale), type="stale-version", headers={"ETag": f'"{stale.actual}"'}
            ) from None
        return con_etag(vista(resultado), resultado.version, status)

    return await idempotent(request, p, key, produce)
