"""What every report route shares: its query parameters, the caller's scope, pages and CSV.

Scope (decided here, once):
- NACIONAL: everything.
- DEPARTAMENTAL: a report filtered to its department (`departamento=`) or to one of its
  municipalities (`municipio=`); national figures (no filter) are refused (403).
- MUNICIPAL: reports filtered to its municipality (`municipio=`).
- COGESTOR: the field-operation reports (`/v1/operacion/...`) of its municipality only, like
  its municipal coordinator sees them; no program indicators, offer or seed tables.
- ENTIDAD: the offer report only (`/v1/oferta/cupos`), any territory, its own programs' slots
  and services (demand is the program's, an aggregate the entity plans its offer with).
Reports are aggregates: no family id, name or document ever leaves reporting.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from juntos_catalogo import catalogo, divipola
from juntos_web import Principal, Problem, Role
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from reporting import domain
from reporting.queries import ORDEN_NIVEL, Consulta, Nivel

N, D, M, C, E = Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR, Role.ENTIDAD
CSV = "text/csv"
MAX_MESES = 120
"""Monthly series cover at most 10 years: an earlier `desde` starts 10 years before `fecha`."""


def _en_divipola(codigo: str) -> str:
    if not divipola().es_municipio(codigo):
        raise ValueError(f"{codigo} is not a DIVIPOLA municipality code")
    return codigo


def _departamento(codigo: str) -> str:
    if divipola().departamento(codigo) is None:
        raise ValueError(f"{codigo} is not a DIVIPOLA department code")
    return codigo


def _es_logro(codigo: str) -> str:
    if codigo not in {lb.codigo for lb in catalogo().logros_basicos}:
        raise ValueError(f"{codigo} is not one of the 45 Logros Básicos (LB1..LB45)")
    return codigo


def _es_dimension(codigo: str) -> str:
    if codigo not in {d.codigo for d in catalogo().dimensiones}:
        raise ValueError(f"{codigo} is not a dimension of the catalog")
    return codigo


def _iso(valor: Any) -> Any:
    """Dates as YYYY-MM-DD only (pydantic would read a number as a Unix timestamp)."""
    if not isinstance(valor, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", valor):
        raise ValueError("a date must be written YYYY-MM-DD")
    return valor


Fecha = Annotated[date, BeforeValidator(_iso)]


def _es_cbt(codigo: str) -> str:
    if codigo not in {c.codigo for c in catalogo().condiciones_basicas_territoriales}:
        raise ValueError(f"{codigo} is not one of the 22 CBT (CBT1..CBT22)")
    return codigo


def _enum(valores: Iterable[str], descripcion: str, ejemplo: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "description": descripcion, "enum": list(valores), "examples": [ejemplo]}
    )


Municipio = Annotated[
    str,
    AfterValidator(_en_divipola),
    _enum(sorted(m.codigo for m in divipola().municipios), "DIVIPOLA municipality", "05001"),
]
Departamento = Annotated[
    str,
    AfterValidator(_departamento),
    _enum(sorted(d.codigo for d in divipola().departamentos), "DIVIPOLA department", "05"),
]
Logro = Annotated[
    str,
    AfterValidator(_es_logro),
    _enum([lb.codigo for lb in catalogo().logros_basicos], "Logro Básico", "LB8"),
]
Cbt = Annotated[
    str,
    AfterValidator(_es_cbt),
    _enum(
        [c.codigo for c in catalogo().condiciones_basicas_territoriales],
        "Condición Básica Territorial",
        "CBT1",
    ),
]
Dimension = Annotated[
    str,
    AfterValidator(_es_dimension),
    _enum([d.codigo for d in catalogo().dimensiones], "Dimension of the catalog", "SALUD"),
]


class Formato(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True)
class Parametros:
    """The query parameters every territorial report takes."""

    fecha: date
    nivel: Nivel
    departamento: str | None
    municipio: str | None
    cursor: str | None
    limite: int
    csv: bool

    @property
    def corte(self) -> Any:
        return domain.corte(self.fecha)

    def territorios(self) -> list[str]:
        """Every territory of the report's rows, in order ('' is the nation)."""
        d = divipola()
        if self.municipio is not None:
            dentro = self.departamento is None or self.municipio[:2] == self.departamento
            return [self.municipio] if dentro else []
        if self.nivel is Nivel.NACION:
            return [""]
        if self.nivel is Nivel.DEPARTAMENTO:
            codigos = [x.codigo for x in d.departamentos]
            return [c for c in codigos if self.departamento in (None, c)]
        if self.departamento is not None:
            return [m.codigo for m in d.municipios_de(self.departamento)]
        return [m.codigo for m in d.municipios]

    def consulta(self, territorios: Sequence[str], *, nivel: Nivel | None = None) -> Consulta:
        return Consulta(
            corte=self.corte,
            nivel=nivel or self.nivel,
            departamento=self.departamento,
            municipio=self.municipio,
            territorios=territorios,
        )

    def paginar(self, claves: Sequence[str]) -> tuple[list[str], str | None]:
        """The page of `claves` after the cursor, and the next cursor (CSV: all of them)."""
        resto = [k for k in claves if self.cursor is None or k > self.cursor]
        if self.csv:
            return resto, None
        pagina = resto[: self.limite]
        return pagina, pagina[-1] if len(resto) > self.limite else None


async def parametros(
    request: Request,
    fecha: Annotated[
        Fecha | None,
        Query(description="Report as of the end of this day (Colombian time); default today"),
    ] = None,
    nivel: Annotated[
        Nivel | None,
        Query(
            description="Rows per nation, department or municipality (default: the filter's "
            "level; never coarser than the filter)"
        ),
    ] = None,
    departamento: Annotated[Departamento | None, Query()] = None,
    municipio: Annotated[Municipio | None, Query()] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=120,
            pattern=r"^[0-9A-Za-z_|.@:-]*$",
            description="`siguiente` of the previous page",
        ),
    ] = None,
    limite: Annotated[int, Query(ge=1, le=1000, description="Rows per page")] = 100,
    formato: Annotated[
        Formato | None,
        Query(description="csv for the whole table as CSV (or send Accept: text/csv)"),
    ] = None,
) -> Parametros:
    del_filtro = (
        Nivel.MUNICIPIO
        if municipio is not None
        else Nivel.DEPARTAMENTO
        if departamento is not None
        else Nivel.NACION
    )
    elegido = nivel or del_filtro
    if ORDEN_NIVEL[elegido] < ORDEN_NIVEL[del_filtro]:
        elegido = del_filtro
    return Parametros(
        fecha=fecha or domain.hoy(),
        nivel=elegido,
        departamento=departamento,
        municipio=municipio,
        cursor=cursor,
        limite=limite,
        csv=quiere_csv(request, formato),
    )


Params = Annotated[Parametros, Depends(parametros)]


def quiere_csv(request: Request, formato: Formato | None) -> bool:
    if formato is not None:
        return formato is Formato.CSV
    aceptados = request.headers.get("accept", "")
    return CSV in aceptados and "application/json" not in aceptados


def alcance(p: Principal, params: Parametros) -> None:
    """403 unless the report's territory filter is inside the caller's scope."""
    if p.role in (Role.NACIONAL, Role.ENTIDAD):
        return  # entities reach only the routes that admit them, over any territory
    if params.municipio is not None:
        p.ensure_municipio(params.municipio)
        return
    if params.departamento is not None and p.can_see_departamento(params.departamento):
        return
    donde = f"department {params.departamento}" if params.departamento else "the nation"
    raise Problem(
        403,
        f"{donde} is outside your scope: filter by "
        + ("your department or municipality" if p.dpto else f"municipio={p.mpio}"),
        type="out-of-scope",
    )


def nombre_territorio(codigo: str) -> str:
    if codigo == "":
        return "COLOMBIA"
    d = divipola()
    lugar = d.departamento(codigo) if len(codigo) == 2 else d.municipio(codigo)
    return lugar.nombre if lugar is not None else codigo


def logros_de(dimension: str | None, logro: str | None) -> list[str]:
    """The LB a report covers: one, those of a dimension, or all 45 (in catalog order)."""
    return [
        lb.codigo
        for lb in catalogo().logros_basicos
        if (dimension is None or lb.dimension == dimension) and logro in (None, lb.codigo)
    ]


def cbts_de(dimension: str | None, cbt: str | None) -> list[str]:
    """The CBT a report covers: one, those of a dimension, or all 22."""
    return [
        c.codigo
        for c in catalogo().condiciones_basicas_territoriales
        if (dimension is None or c.dimension == dimension) and cbt in (None, c.codigo)
    ]


def clave_logro(territorio: str, logro: str) -> str:
    return f"{territorio}|{int(logro[2:]):02d}"


def de_clave_logro(clave: str) -> tuple[str, str]:
    territorio, _, numero = clave.partition("|")
    return territorio, f"LB{int(numero)}"


def meses(desde: date, hasta: date) -> list[str]:
    """The months from `desde` to `hasta` ("YYYY-MM"), at most MAX_MESES (the latest ones)."""
    inicio = desde.year * 12 + desde.month - 1
    fin = hasta.year * 12 + hasta.month - 1
    inicio = max(inicio, fin - MAX_MESES + 1)
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(inicio, fin + 1)]


def hace_meses(fecha: date, n: int) -> date:
    """The first day of the month `n` months before `fecha`'s month."""
    m = max(fecha.year * 12 + fecha.month - 1 - n, 0)
    return date(max(m // 12, 1), m % 12 + 1, 1)


def hace_dias(fecha: date, dias: int) -> date:
    """`dias` days before `fecha`, or the first date there is."""
    try:
        return fecha - timedelta(days=dias)
    except OverflowError:
        return date.min


def pct(parte: int, total: int) -> float | None:
    return round(100 * parte / total, 1) if total else None


# --- pages and CSV ------------------------------------------------------------------------

T = TypeVar("T", bound=BaseModel)


class Pagina(BaseModel, Generic[T]):
    fecha: date = Field(description="The report is as of the end of this day (Colombian time)")
    items: list[T]
    siguiente: str | None = Field(None, description="Cursor of the next page (`cursor=`)")


def responder(
    params: Parametros, modelo: type[T], items: list[T], siguiente: str | None, nombre: str
) -> Pagina[T] | Response:
    """The page as JSON, or the whole table as CSV (header from the row model's fields)."""
    if not params.csv:
        return Pagina[modelo](fecha=params.fecha, items=items, siguiente=siguiente)  # type: ignore[valid-type]
    return csv_de(modelo, items, f"{nombre}-{params.fecha.isoformat()}.csv")


def csv_de(modelo: type[BaseModel], items: Iterable[BaseModel], archivo: str) -> Response:
    salida = io.StringIO()
    escritor = csv.writer(salida, lineterminator="\n")
    columnas = list(modelo.model_fields)
    escritor.writerow(columnas)
    for item in items:
        fila = item.model_dump(mode="json")
        escritor.writerow(["" if fila[c] is None else fila[c] for c in columnas])
    return Response(
        salida.getvalue(),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{archivo}"'},
    )


def documentado(modelo: type[BaseModel], descripcion: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a report: the JSON page, or CSV."""
    return {
        200: {
            "description": descripcion,
            "content": {CSV: {"schema": {"type": "string", "description": modelo.__doc__}}},
        }
    }
