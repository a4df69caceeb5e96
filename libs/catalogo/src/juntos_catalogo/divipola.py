"""DIVIPOLA, DANE's codes for Colombia's departments and municipalities, from divipola.csv.

Services validate and resolve territory codes against this one shipped table (source and
refresh: the package README) rather than each keeping its own list.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from importlib.resources import files

_DEPARTAMENTO = re.compile(r"\d{2}")
_MUNICIPIO = re.compile(r"\d{5}")


@dataclass(frozen=True, slots=True)
class Departamento:
    codigo: str  # two digits, "05"
    nombre: str  # DANE's spelling, "ANTIOQUIA"


@dataclass(frozen=True, slots=True)
class Municipio:
    """A municipality, or one of DIVIPOLA's áreas no municipalizadas or the island San Andrés."""

    codigo: str  # five digits; the first two are the department's, "05001"
    nombre: str  # DANE's spelling, "MEDELLÍN"
    departamento_codigo: str
    tipo: str = "Municipio"  # DANE: "Municipio", "Isla" or "Área no municipalizada"


def _normalizar(nombre: str) -> str:
    """Upper case, no accents, punctuation as spaces: "Bogotá, D.C." -> "BOGOTA D C"."""
    sin_tildes = "".join(
        c for c in unicodedata.normalize("NFKD", nombre) if not unicodedata.combining(c)
    )
    return " ".join(re.sub(r"[^0-9A-Z]+", " ", sin_tildes.upper()).split())


def _formas(nombre_oficial: str) -> set[str]:
    """Normalized names a department goes by: DANE's, and it without "Archipiélago de"/"D.C."."""
    nombre = _normalizar(nombre_oficial)
    corto = nombre.removeprefix("ARCHIPIELAGO DE ").removesuffix(" D C")
    return {nombre, corto}


# Common names the rules in _formas do not reach (normalized).
_ALIAS_DEPARTAMENTO = {
    "BOGOTA DISTRITO CAPITAL": "11",
    "SAN ANDRES": "88",
    "SAN ANDRES Y PROVIDENCIA": "88",
    "VALLE": "76",
}


@dataclass(frozen=True)
class Divipola:
    departamentos: tuple[Departamento, ...]
    municipios: tuple[Municipio, ...]
    _por_codigo: dict[str, Municipio] = field(init=False, repr=False, compare=False)
    _departamentos: dict[str, Departamento] = field(init=False, repr=False, compare=False)
    _de: dict[str, tuple[Municipio, ...]] = field(init=False, repr=False, compare=False)
    _por_nombre: dict[str, Departamento] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the invariants callers rely on (e.g. department = code[:2]) and index once."""
        departamentos = {d.codigo: d for d in self.departamentos}
        if len(departamentos) != len(self.departamentos):
            raise ValueError("duplicate department code")
        for d in self.departamentos:
            if not _DEPARTAMENTO.fullmatch(d.codigo):
                raise ValueError(f"bad department code {d.codigo!r}")
        por_codigo = {m.codigo: m for m in self.municipios}
        if len(por_codigo) != len(self.municipios):
            raise ValueError("duplicate municipality code")
        de: dict[str, list[Municipio]] = {codigo: [] for codigo in departamentos}
        for m in self.municipios:
            if not _MUNICIPIO.fullmatch(m.codigo) or m.codigo[:2] != m.departamento_codigo:
                raise ValueError(f"{m.codigo!r} is not a municipality of {m.departamento_codigo!r}")
            if m.departamento_codigo not in departamentos:
                raise ValueError(f"{m.codigo} names unknown department {m.departamento_codigo}")
            de[m.departamento_codigo].append(m)
        por_nombre = {forma: d for d in self.departamentos for forma in _formas(d.nombre)}
        por_nombre.update({a: departamentos[c] for a, c in _ALIAS_DEPARTAMENTO.items()})
        object.__setattr__(self, "_por_codigo", por_codigo)
        object.__setattr__(self, "_departamentos", departamentos)
        object.__setattr__(self, "_de", {k: tuple(v) for k, v in de.items()})
        object.__setattr__(self, "_por_nombre", por_nombre)

    def municipio(self, codigo: str) -> Municipio | None:
        return self._por_codigo.get(codigo)

    def departamento(self, codigo: str) -> Departamento | None:
        return self._departamentos.get(codigo)

    def es_municipio(self, codigo: str) -> bool:
        """True for any DIVIPOLA municipal code, áreas no municipalizadas included."""
        return codigo in self._por_codigo

    def municipios_de(self, departamento_codigo: str) -> tuple[Municipio, ...]:
        """The department's municipalities in code order; () for an unknown department."""
        return self._de.get(departamento_codigo, ())

    def departamento_por_nombre(self, nombre: str) -> Departamento | None:
        """Resolve a department written as people and documents write it.

        Accents, case and punctuation are ignored, and DANE's long forms need not be spelled
        out: "Bogotá", "Bogotá D.C." and "BOGOTÁ, D.C." all give 11; "San Andrés, Providencia y
        Santa Catalina" gives 88 (DANE: "Archipiélago de San Andrés, ..."). None if unknown.
        """
        return self._por_nombre.get(_normalizar(nombre))


@functools.cache
def divipola() -> Divipola:
    """The DIVIPOLA table shipped with the package (read and checked once per process)."""
    text = (files("juntos_catalogo") / "divipola.csv").read_text(encoding="utf-8")
    filas = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    departamentos = {f["departamento_codigo"]: f["departamento"] for f in filas}
    return Divipola(
        departamentos=tuple(Departamento(c, n) for c, n in sorted(departamentos.items())),
        municipios=tuple(
            Municipio(
                codigo=f["municipio_codigo"],
                nombre=f["municipio"],
                departamento_codigo=f["departamento_codigo"],
                tipo=f["tipo"],
            )
            for f in sorted(filas, key=lambda f: f["municipio_codigo"])
        ),
    )
