"""The Mapa de Capacidades: per municipality and dimension, capacity against demand and supply.

Scoring (documented in the README, changed only with it):

- **capacidad** (0..1): the mean of the dimension's CBT in the current LBT, CUMPLE = 1,
  CUMPLE_PARCIALMENTE = 0.5, NO_CUMPLE = 0. None (SIN_LINEA_BASE) before the first survey.
- **demanda**: families of the municipality with at least one LB of the dimension POR_ALCANZAR
  on their latest board (accompaniment's LogrosEvaluados).
- **oferta**: slots of the programs serving at least one LB of the dimension, each program in
  its most recent period (offer's CuposHabilitados); a program counts once per dimension.
- **cobertura** = oferta / demanda (None without demand); **brecha** = max(demanda - oferta, 0),
  the families a slot each would still leave out.
- **clasificacion**: DEBILIDAD if capacidad < 0.5 or cobertura < 0.5; FORTALEZA if
  capacidad >= 0.75 and (no demand or cobertura >= 1); EN_DESARROLLO otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from territorial import territorio
from territorial.vocabulario import Clasificacion, EstadoCondicion

PUNTAJE = {
    EstadoCondicion.CUMPLE: 1.0,
    EstadoCondicion.CUMPLE_PARCIALMENTE: 0.5,
    EstadoCondicion.NO_CUMPLE: 0.0,
}
CAPACIDAD_FUERTE = 0.75
CAPACIDAD_DEBIL = 0.5
COBERTURA_SUFICIENTE = 1.0
COBERTURA_CRITICA = 0.5


@dataclass(frozen=True)
class Celda:
    """One dimension of one municipality's map."""

    dimension: str
    capacidad: float | None
    condiciones: int
    demanda: int
    oferta: int
    cobertura: float | None
    brecha: int
    clasificacion: Clasificacion


@dataclass(frozen=True)
class Programa:
    """A program's slots in a municipality (its most recent period) and the LB it serves."""

    logros: tuple[str, ...]
    cupos: int


def capacidad(estados: Sequence[EstadoCondicion]) -> float | None:
    if not estados:
        return None
    return round(sum(PUNTAJE[e] for e in estados) / len(estados), 4)


def cobertura(demanda: int, oferta: int) -> float | None:
    return None if demanda == 0 else round(oferta / demanda, 4)


def clasificar(capacidad: float | None, cobertura: float | None) -> Clasificacion:
    if capacidad is None:
        return Clasificacion.SIN_LINEA_BASE
    if capacidad < CAPACIDAD_DEBIL or (cobertura is not None and cobertura < COBERTURA_CRITICA):
        return Clasificacion.DEBILIDAD
    if capacidad >= CAPACIDAD_FUERTE and (cobertura is None or cobertura >= COBERTURA_SUFICIENTE):
        return Clasificacion.FORTALEZA
    return Clasificacion.EN_DESARROLLO


def celda(dimension: str, estados: Sequence[EstadoCondicion], demanda: int, oferta: int) -> Celda:
    cap, cob = capacidad(estados), cobertura(demanda, oferta)
    return Celda(
        dimension=dimension,
        capacidad=cap,
        condiciones=len(estados),
        demanda=demanda,
        oferta=oferta,
        cobertura=cob,
        brecha=max(demanda - oferta, 0),
        clasificacion=clasificar(cap, cob),
    )


def mapa(
    estados: Mapping[str, Sequence[EstadoCondicion]],
    demanda: Mapping[str, int],
    oferta: Mapping[str, int],
) -> list[Celda]:
    """Every dimension of the catalog, in its order, from the inputs of one municipality."""
    return [
        celda(d, estados.get(d, ()), demanda.get(d, 0), oferta.get(d, 0))
        for d in territorio.dimensiones()
    ]


def dimensiones_de(logros: Iterable[str]) -> frozenset[str]:
    """The dimensions of some LB codes (codes the catalog does not know are ignored)."""
    return frozenset(d for lb in logros if (d := territorio.dimension_de_logro(lb)) is not None)


@dataclass(frozen=True)
class Tablero:
    """What demand keeps of a family's latest board: where it lives and its pending LB."""

    municipio: str
    pendientes: frozenset[str]


def cambios_de_demanda(
    antes: Tablero | None, despues: Tablero
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """How a family's new board moves the counters, per (municipality, LB) and (municipality,
    dimension): -1 where it was pending, +1 where it is, nothing where both (a family that moved
    leaves its old municipality's counters)."""
    logros: dict[tuple[str, str], int] = {}
    dims: dict[tuple[str, str], int] = {}
    for tablero, signo in ((antes, -1), (despues, 1)):
        if tablero is None:
            continue
        for lb in tablero.pendientes:
            clave = (tablero.municipio, lb)
            logros[clave] = logros.get(clave, 0) + signo
        for d in dimensiones_de(tablero.pendientes):
            clave = (tablero.municipio, d)
            dims[clave] = dims.get(clave, 0) + signo
    return (
        {k: v for k, v in logros.items() if v},
        {k: v for k, v in dims.items() if v},
    )


@dataclass(frozen=True)
class TableroGuardado:
    """A family's board as demand keeps it, with the time of the event that brought it."""

    tablero: Tablero
    evento_en: datetime


@dataclass(frozen=True)
class TableroRecibido:
    """An event about a family's board: its new board (LogrosEvaluados), or None for its
    closure (CasoCerrado: nothing pending any more, where it lives)."""

    familia_id: str
    tablero: Tablero | None
    cuando: datetime


@dataclass
class CambiosDeDemanda:
    """What a run of board events changes: the families' boards to keep, the counters' deltas
    and the municipalities whose map must be recomputed."""

    familias: dict[str, TableroGuardado] = field(default_factory=dict)
    por_logro: dict[tuple[str, str], int] = field(default_factory=dict)
    """Every (municipality, LB) some event moved, with the sum of its moves (0 included: one by
    one, its row would exist)."""
    por_dimension: dict[tuple[str, str], int] = field(default_factory=dict)
    municipios: set[str] = field(default_factory=set)
    cierres_sin_tablero: list[str] = field(default_factory=list)
    """Families closed with no board kept: nothing of them was demand."""


def aplicar_tableros(
    guardados: Mapping[str, TableroGuardado], recibidos: Iterable[TableroRecibido]
) -> CambiosDeDemanda:
    """Apply board events in order, as one by one would: each replaces the family's board unless
    the one kept is as new or newer (a late or replayed event changes nothing)."""
    vigentes = dict(guardados)
    cambios = CambiosDeDemanda()
    for r in recibidos:
        antes = vigentes.get(r.familia_id)
        if antes is not None and antes.evento_en >= r.cuando:
            continue
        if r.tablero is not None:
            nuevo = r.tablero
        elif antes is not None:
            nuevo = Tablero(antes.tablero.municipio, frozenset())
        else:
            cambios.cierres_sin_tablero.append(r.familia_id)
            continue
        vigentes[r.familia_id] = cambios.familias[r.familia_id] = TableroGuardado(nuevo, r.cuando)
        por_logro, por_dimension = cambios_de_demanda(antes.tablero if antes else None, nuevo)
        for suma, deltas in (
            (cambios.por_logro, por_logro),
            (cambios.por_dimension, por_dimension),
        ):
            for clave, delta in deltas.items():
                suma[clave] = suma.get(clave, 0) + delta
                cambios.municipios.add(clave[0])
    return cambios


@dataclass(frozen=True)
class LineaCupos:
    """A program's slots in a municipality and period (offer's CuposHabilitados), with the time
    of the event that brought them."""

    programa_id: str
    entidad: str
    municipio: str
    periodo: str
    logros: tuple[str, ...]
    cupos: int
    cuando: datetime

    @property
    def clave(self) -> tuple[str, str, str]:
        return (self.programa_id, self.municipio, self.periodo)


def mas_recientes(lineas: Iterable[LineaCupos]) -> list[LineaCupos]:
    """Per (program, municipality, period), the line that applying them one by one would keep:
    the newest, and of equally new ones the first (a later one as new changes nothing)."""
    ultimas: dict[tuple[str, str, str], LineaCupos] = {}
    for x in lineas:
        antes = ultimas.get(x.clave)
        if antes is None or antes.cuando < x.cuando:
            ultimas[x.clave] = x
    return [ultimas[k] for k in sorted(ultimas)]


def oferta_por_dimension(programas: Iterable[Programa]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in programas:
        for d in dimensiones_de(p.logros):
            out[d] = out.get(d, 0) + p.cupos
    return out


def oferta_por_logro(programas: Iterable[Programa]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in programas:
        for lb in set(p.logros):
            out[lb] = out.get(lb, 0) + p.cupos
    return out
