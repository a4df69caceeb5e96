"""Territory and catalog look-ups, read from `juntos_catalogo` (package data), never retyped.

DIVIPOLA gives the 33 departments and 1,122 municipal entities; the catalog gives the 22 CBT,
the 45 LB and the dimensions they belong to. Every code a caller or an event sends is checked
here, so an unknown municipality is refused the same way everywhere.
"""

from __future__ import annotations

import functools

from juntos_catalogo import catalogo, divipola


class CodigoDesconocido(ValueError):
    """A well-formed code that is not in DIVIPOLA or in the catalog."""


def es_municipio(codigo: str) -> bool:
    return divipola().es_municipio(codigo)


def es_departamento(codigo: str) -> bool:
    return divipola().departamento(codigo) is not None


def municipio_valido(codigo: str) -> str:
    if not es_municipio(codigo):
        raise CodigoDesconocido(f"{codigo} is not a DIVIPOLA municipality code")
    return codigo


def departamento_valido(codigo: str) -> str:
    if not es_departamento(codigo):
        raise CodigoDesconocido(f"{codigo} is not a DIVIPOLA department code")
    return codigo


@functools.cache
def codigos_municipio() -> tuple[str, ...]:
    return tuple(m.codigo for m in divipola().municipios)


@functools.cache
def codigos_departamento() -> tuple[str, ...]:
    return tuple(d.codigo for d in divipola().departamentos)


@functools.cache
def dimensiones() -> tuple[str, ...]:
    """Every dimension of the catalog, in its order (the 9 plus the displaced population)."""
    return tuple(d.codigo for d in catalogo().dimensiones)


@functools.cache
def cbts() -> tuple[str, ...]:
    """CBT1..CBT22, in catalog order."""
    return tuple(c.codigo for c in catalogo().condiciones_basicas_territoriales)


@functools.cache
def logros() -> tuple[str, ...]:
    return tuple(lb.codigo for lb in catalogo().logros_basicos)


@functools.cache
def _dimension_de_cbt() -> dict[str, str]:
    return {c.codigo: c.dimension for c in catalogo().condiciones_basicas_territoriales}


@functools.cache
def _dimension_de_logro() -> dict[str, str]:
    return {lb.codigo: lb.dimension for lb in catalogo().logros_basicos}


def dimension_de_cbt(cbt: str) -> str:
    try:
        return _dimension_de_cbt()[cbt]
    except KeyError:
        raise CodigoDesconocido(f"{cbt} is not a CBT of the catalog") from None


def dimension_de_logro(logro: str) -> str | None:
    """The LB's dimension; None for a code the catalog does not know (ignored by the map)."""
    return _dimension_de_logro().get(logro)


def cbt_valido(codigo: str) -> str:
    dimension_de_cbt(codigo)
    return codigo


def dimension_valida(codigo: str) -> str:
    if codigo not in dimensiones():
        raise CodigoDesconocido(f"{codigo} is not a dimension of the catalog")
    return codigo


@functools.cache
def logros_de(dimension: str) -> tuple[str, ...]:
    """The LB of a dimension, in catalog order."""
    return tuple(lb.codigo for lb in catalogo().logros_de(dimension))
