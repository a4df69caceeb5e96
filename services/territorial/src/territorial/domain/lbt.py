"""The Línea de Base Territorial (LBT) of a municipality: its 22 CBT, versioned.

A survey rates all 22 CBT at once (LineaBaseTerritorialLevantada, survey number N); a single
CBT may change later (CondicionTerritorialActualizada). Every event is a version of the LBT (the
stream version, the ETag), so its evolution can be followed and the LBT read as of any version
or date. Dates only go forward: a change dated before the LBT's latest date is refused, so the
LBT as of a date is always a prefix of its history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from juntos_events.events import DomainEvent

from territorial import territorio
from territorial.domain import Agregado, ReglaIncumplida, no_futura
from territorial.events import (
    Condicion,
    CondicionTerritorialActualizada,
    LineaBaseTerritorialLevantada,
)
from territorial.vocabulario import EstadoCondicion


@dataclass(frozen=True)
class LineaBase:
    municipio: str = ""
    levantamientos: int = 0
    condiciones: Mapping[str, Condicion] = field(default_factory=dict)
    fecha: date | None = None
    """The latest date in the history (survey or change)."""

    @property
    def existe(self) -> bool:
        return self.levantamientos > 0


@dataclass(frozen=True)
class Calificacion:
    cbt: str
    estado: EstadoCondicion
    evidencia: str


@dataclass(frozen=True)
class Levantar:
    municipio: str
    fecha: date
    calificaciones: tuple[Calificacion, ...]
    actor: str
    hoy: date


@dataclass(frozen=True)
class ActualizarCondicion:
    municipio: str
    calificacion: Calificacion
    fecha: date
    actor: str
    hoy: date


def fecha_de(evento: DomainEvent) -> date | None:
    if isinstance(evento, LineaBaseTerritorialLevantada):
        return evento.fecha
    if isinstance(evento, CondicionTerritorialActualizada):
        return evento.condicion.fecha
    return None


def _evolve(s: LineaBase, e: DomainEvent) -> LineaBase:
    if isinstance(e, LineaBaseTerritorialLevantada):
        return LineaBase(
            municipio=e.municipio,
            levantamientos=e.levantamiento,
            condiciones={c.cbt: c for c in e.condiciones},
            fecha=e.fecha,
        )
    if isinstance(e, CondicionTerritorialActualizada):
        c = e.condicion
        return replace(s, condiciones={**s.condiciones, c.cbt: c}, fecha=c.fecha)
    return s


def _fechas_adelante(s: LineaBase, fecha: date, hoy: date) -> None:
    no_futura(fecha, hoy)
    if s.fecha is not None and fecha < s.fecha:
        raise ReglaIncumplida(
            f"the LBT already has a record of {s.fecha}; changes are dated on or after it",
            status=422,
            codigo="date-before-history",
        )


def _condicion(c: Calificacion, fecha: date, actor: str) -> Condicion:
    return Condicion(
        cbt=c.cbt,
        dimension=territorio.dimension_de_cbt(c.cbt),
        estado=c.estado,
        evidencia=c.evidencia,
        fecha=fecha,
        registrado_por=actor,
    )


def _levantar(s: LineaBase, c: Levantar) -> list[DomainEvent]:
    _fechas_adelante(s, c.fecha, c.hoy)
    vistos = [x.cbt for x in c.calificaciones]
    repetidos = sorted({cbt for cbt in vistos if vistos.count(cbt) > 1})
    faltan = [cbt for cbt in territorio.cbts() if cbt not in vistos]
    if repetidos or faltan:
        partes = [f"missing {', '.join(faltan)}" if faltan else ""]
        partes.append(f"repeated {', '.join(repetidos)}" if repetidos else "")
        raise ReglaIncumplida(
            "a survey rates each of the 22 CBT exactly once: " + "; ".join(p for p in partes if p),
            status=422,
            codigo="incomplete-survey",
        )
    orden = {cbt: i for i, cbt in enumerate(territorio.cbts())}
    return [
        LineaBaseTerritorialLevantada(
            municipio=c.municipio,
            levantamiento=s.levantamientos + 1,
            fecha=c.fecha,
            condiciones=tuple(
                _condicion(x, c.fecha, c.actor)
                for x in sorted(c.calificaciones, key=lambda x: orden[x.cbt])
            ),
        )
    ]


def _actualizar(s: LineaBase, c: ActualizarCondicion) -> list[DomainEvent]:
    if not s.existe:
        raise ReglaIncumplida(
            "the municipality has no LBT yet: survey the 22 CBT first", codigo="no-baseline"
        )
    _fechas_adelante(s, c.fecha, c.hoy)
    actual = s.condiciones[c.calificacion.cbt]
    if (actual.estado, actual.evidencia) == (c.calificacion.estado, c.calificacion.evidencia):
        return []
    return [
        CondicionTerritorialActualizada(
            municipio=c.municipio,
            levantamiento=s.levantamientos,
            condicion=_condicion(c.calificacion, c.fecha, c.actor),
            anterior=actual.estado,
        )
    ]


def _decide(s: LineaBase, c: Levantar | ActualizarCondicion) -> list[DomainEvent]:
    if isinstance(c, Levantar):
        return _levantar(s, c)
    return _actualizar(s, c)


LBT: Agregado[LineaBase] = Agregado("lbt", LineaBase(), _evolve, _decide)


def hasta_fecha(eventos: Iterable[DomainEvent], fecha: date) -> list[DomainEvent]:
    """The history as it stood on `fecha` (dates only go forward, so it is a prefix)."""
    out = []
    for evento in eventos:
        cuando = fecha_de(evento)
        if cuando is not None and cuando > fecha:
            break
        out.append(evento)
    return out
