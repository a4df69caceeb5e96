"""Typed view of logros.yaml, validated once on first use."""

from __future__ import annotations

import functools
from importlib.resources import files

import yaml
from pydantic import BaseModel, ConfigDict, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Dimension(_Frozen):
    codigo: str
    numero: int
    nombre: str
    objetivo: str


class LogroBasico(_Frozen):
    codigo: str
    dimension: str
    aplica_a: str
    texto: str

    @property
    def numero(self) -> int:
        return int(self.codigo.removeprefix("LB"))


class CondicionTerritorial(_Frozen):
    codigo: str
    dimension: str
    texto: str


class Cifras(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    meta_familias: int
    familias_con_acompanamiento_iniciado: int
    familias_sisben_1_con_acompanamiento: int
    familias_desplazadas_con_acompanamiento: int
    duracion_maxima_acompanamiento_anios: int
    entidades_nacionales_en_la_red: int
    cogestores_por_departamento: dict[str, int]


class Catalogo(_Frozen):
    dimensiones: tuple[Dimension, ...]
    logros_basicos: tuple[LogroBasico, ...]
    condiciones_basicas_territoriales: tuple[CondicionTerritorial, ...]
    cifras: Cifras

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalogo:
        known = {d.codigo for d in self.dimensiones}
        for item in (*self.logros_basicos, *self.condiciones_basicas_territoriales):
            if item.dimension not in known:
                raise ValueError(f"{item.codigo} names unknown dimension {item.dimension}")
        return self

    def logro(self, codigo: str) -> LogroBasico:
        return self._logros[codigo]

    def dimension(self, codigo: str) -> Dimension:
        return self._dimensiones[codigo]

    def logros_de(self, dimension: str) -> tuple[LogroBasico, ...]:
        return tuple(lb for lb in self.logros_basicos if lb.dimension == dimension)

    def condiciones_de(self, dimension: str) -> tuple[CondicionTerritorial, ...]:
        return tuple(c for c in self.condiciones_basicas_territoriales if c.dimension == dimension)

    @functools.cached_property
    def _logros(self) -> dict[str, LogroBasico]:
        return {lb.codigo: lb for lb in self.logros_basicos}

    @functools.cached_property
    def _dimensiones(self) -> dict[str, Dimension]:
        return {d.codigo: d for d in self.dimensiones}


@functools.cache
def catalogo() -> Catalogo:
    """The catalog shipped with the package (parsed and validated once per process)."""
    text = (files("juntos_catalogo") / "logros.yaml").read_text(encoding="utf-8")
    return Catalogo.model_validate(yaml.safe_load(text))
