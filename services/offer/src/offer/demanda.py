"""Demand from accompaniment's boards, and the unmet-demand crossing; pure, no I/O.

A family's latest board (LogrosEvaluados) replaces the previous one: its POR_ALCANZAR LB are the
family's demand in the board's municipality. An LB that stays pending keeps the date it became
pending (the waiting time the batch assignment counts). A reach (LogroAlcanzado) newer than a
board wins over it, so replays in any order end in the same demand.

`Demanda` is what offer holds of one family for this; `con_tablero`, `con_alcanzado` and
`con_perdido` fold one event into it, so the consumer can fold a whole run of a family's events
in memory and write the result once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from offer.vocabulario import EstadoLogro


@dataclass(frozen=True)
class FilaDemanda:
    logro: str
    municipio: str
    integrantes: tuple[str, ...]
    desde: date


@dataclass(frozen=True)
class Tablero:
    familia_id: str
    municipio: str
    fecha: date
    pendientes: Mapping[str, tuple[str, ...]]
    """POR_ALCANZAR LB -> the members they concern."""

    @classmethod
    def de_evaluaciones(
        cls, familia_id: str, municipio: str, fecha: date, evaluaciones: Iterable[Mapping]
    ) -> Tablero:
        pendientes = {
            str(e["logro"]): tuple(sorted(str(i) for i in e.get("integrantes") or ()))
            for e in evaluaciones
            if e.get("estado") == EstadoLogro.POR_ALCANZAR
        }
        return cls(familia_id, municipio, fecha, pendientes)


def es_mas_antiguo(nuevo: tuple[date, object], guardado: tuple[date, object] | None) -> bool:
    """A board older than the stored one (by date, then event time) changes nothing."""
    return guardado is not None and nuevo < guardado


def reemplazar(
    anteriores: Mapping[str, FilaDemanda],
    tablero: Tablero,
    alcanzados: Mapping[str, date],
) -> dict[str, FilaDemanda]:
    """The family's demand after `tablero`; `alcanzados` are reaches reported after boards."""
    nuevas = {}
    for lb, integrantes in tablero.pendientes.items():
        alcanzado = alcanzados.get(lb)
        if alcanzado is not None and alcanzado > tablero.fecha:
            continue  # reached after this board was taken
        previa = anteriores.get(lb)
        desde = min(previa.desde, tablero.fecha) if previa else tablero.fecha
        nuevas[lb] = FilaDemanda(lb, tablero.municipio, integrantes, desde)
    return nuevas


def deltas(
    anteriores: Iterable[FilaDemanda], nuevas: Iterable[FilaDemanda]
) -> dict[tuple[str, str], int]:
    """How many families each (municipio, logro) gains or loses."""
    cuenta: Counter[tuple[str, str]] = Counter()
    for f in anteriores:
        cuenta[f.municipio, f.logro] -= 1
    for f in nuevas:
        cuenta[f.municipio, f.logro] += 1
    return {k: v for k, v in cuenta.items() if v}


def cruce(insatisfecha_antes: bool, demanda: int, cupos: int) -> tuple[bool, bool]:
    """(unmet now, publish DemandaInsatisfecha): only when demand goes above supply."""
    ahora = demanda > cupos
    return ahora, ahora and not insatisfecha_antes


@dataclass(frozen=True)
class Cabecera:
    """The stored board's header: which board the demand comes from."""

    municipio: str
    fecha: date
    recibido: datetime


@dataclass(frozen=True)
class Demanda:
    """What offer holds of one family's demand (rows `demanda`, `tableros`, `alcanzados`)."""

    activa: bool = True
    tablero: Cabecera | None = None
    filas: Mapping[str, FilaDemanda] = field(default_factory=dict)
    alcanzados: Mapping[str, date] = field(default_factory=dict)
    """LB reached after a board (LogroAlcanzado), with the date."""


def con_tablero(d: Demanda, tablero: Tablero, recibido: datetime) -> Demanda | None:
    """The family's demand after a board; None when it changes nothing (the family left the
    program, or the board is older than the stored one)."""
    if not d.activa:
        return None
    guardado = (d.tablero.fecha, d.tablero.recibido) if d.tablero else None
    if es_mas_antiguo((tablero.fecha, recibido), guardado):
        return None
    return replace(
        d,
        tablero=Cabecera(tablero.municipio, tablero.fecha, recibido),
        filas=reemplazar(d.filas, tablero, d.alcanzados),
    )


def con_alcanzado(d: Demanda, logro: str, fecha: date) -> Demanda | None:
    """A reach removes the LB from demand, unless a newer board already says where it stands."""
    if d.tablero is not None and d.tablero.fecha > fecha:
        return None
    previo = d.alcanzados.get(logro)
    return replace(
        d,
        alcanzados={**d.alcanzados, logro: max(fecha, previo) if previo else fecha},
        filas={k: v for k, v in d.filas.items() if k != logro},
    )


def con_perdido(d: Demanda, logro: str, municipio: str, fecha: date) -> Demanda | None:
    """A lost LB is demand again, unless a newer board or reach says otherwise."""
    alcanzado_en = d.alcanzados.get(logro)
    if (
        not d.activa
        or (d.tablero is not None and d.tablero.fecha > fecha)
        or (alcanzado_en is not None and alcanzado_en > fecha)
    ):
        return None
    filas = dict(d.filas)
    filas.setdefault(logro, FilaDemanda(logro, municipio, (), fecha))
    return replace(d, alcanzados={k: v for k, v in d.alcanzados.items() if k != logro}, filas=filas)
