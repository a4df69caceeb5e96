"""Territorial's aggregates: state, commands, `decide` and `evolve`; pure, no I/O.

One module per part of the service: `catalogo` (DIVIPOLA published as events), `red`
(microregions, Red Local, councils), `lbt` (Línea de Base Territorial), `plan` (plan de acción
municipal), `participacion` (accountability, participation spaces, complaints) and
`capacidades` (the capacity map's scoring). Handlers load a stream, fold it with `evolve`, ask
`decide` what happens and append the result; `Agregado` tells them how, for every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import reduce
from typing import Any, Generic, TypeVar

from juntos_events.events import DomainEvent
from juntos_events.rules import ReglaIncumplida

S = TypeVar("S")


def no_existe(que: str) -> ReglaIncumplida:
    return ReglaIncumplida(f"{que} does not exist", status=404, codigo="not-found")


def no_futura(fecha: date, hoy: date, que: str = "the date") -> None:
    """Program records describe what happened: a date after today (Colombia) is a typo."""
    if fecha > hoy:
        raise ReglaIncumplida(
            f"{que} {fecha} is in the future (today is {hoy})", status=422, codigo="future-date"
        )


@dataclass(frozen=True)
class Agregado(Generic[S]):
    """How handlers treat one kind of aggregate: its stream prefix, first state and fold."""

    tipo: str
    inicial: S
    evolve: Callable[[S, DomainEvent], S]
    decide: Callable[[S, Any], list[DomainEvent]]

    def stream(self, clave: str) -> str:
        return f"{self.tipo}:{clave}"

    def fold(self, eventos: Iterable[DomainEvent], estado: S | None = None) -> S:
        return reduce(self.evolve, eventos, self.inicial if estado is None else estado)
