"""The family case: visits, baseline answers, the 45-LB board, the plan; pure, no I/O.

Enrollment owns the family and its members; accompaniment receives them (`Miembro`s, from its
local roster of enrollment's events) as inputs of the commands that need them. The case's own
facts are its events. Evaluation is the rules engine's (`reglas.evaluar`); this module turns a
new board into events: the whole board (LogrosEvaluados) when it changed, LogroAlcanzado or
LogroPerdido only for LB whose status changed, and TodosLosLogrosAlcanzados once when nothing is
left pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import reduce, singledispatch
from typing import Any

from juntos_events.events import DomainEvent
from juntos_events.rules import ReglaIncumplida

from accompaniment.events import (
    CasoAbierto,
    CasoCerrado,
    Evaluacion,
    Evidencia,
    LineaBaseLevantada,
    LogroAlcanzado,
    LogroPerdido,
    LogrosEvaluados,
    NotasDeVisita,
    PlanDetallado,
    PlanFamiliarConstruido,
    Prioridad,
    RespuestasActualizadas,
    RespuestasRegistradas,
    ServicioRegistrado,
    TodosLosLogrosAlcanzados,
    VisitaRegistrada,
)
from accompaniment.linea_base import LineaBase, aplicar_cambios
from accompaniment.reglas import Miembro, Resultado, evaluar
from accompaniment.vocabulario import EstadoCaso, EstadoLogro, TipoEvidencia, TipoVisita


@dataclass(frozen=True)
class Casilla:
    """One LB on the board and the day it got that status."""

    estado: EstadoLogro
    desde: date


class Respuestas:
    """The baseline answers as stored (the model's JSON dump), validated back into the
    questionnaire at most once: every command on a case evaluates its board from them, and
    validating costs about half an evaluation. Carried unchanged from state to state until
    the answers change; equal when the answers are."""

    __slots__ = ("_modelo", "datos")

    def __init__(self, datos: Mapping[str, Any], modelo: LineaBase | None = None) -> None:
        self.datos = datos
        self._modelo = modelo

    @property
    def modelo(self) -> LineaBase:
        if self._modelo is None:
            self._modelo = LineaBase.model_validate(self.datos)
        return self._modelo

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Respuestas) and self.datos == other.datos

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Respuestas({self.datos!r})"


@dataclass(frozen=True)
class Caso:
    familia_id: str = ""
    estado: EstadoCaso | None = None
    municipio: str = ""
    desplazada: bool = False
    fecha_vinculacion: date | None = None
    visitas: frozenset[str] = frozenset()
    linea_base: Respuestas | None = None
    tablero: Mapping[str, Casilla] = field(default_factory=dict)
    plan_version: int = 0
    prioridades: tuple[Prioridad, ...] = ()
    servicios: Mapping[str, frozenset[str]] = field(default_factory=dict)
    todos_alcanzados: bool = False
    version: int = 0
    """The stream's version: `evolve` counts the events that made this state."""
    linea_base_en: int = 0
    """The version of the last baseline taken (everything changed then)."""
    cambiadas_en: Mapping[str, int] = field(default_factory=dict)
    """Each question a follow-up changed, and the version of its last change: an offline
    device's follow-up against an older version conflicts on these (`cambiadas_desde`)."""

    @property
    def abierto(self) -> bool:
        return self.estado is EstadoCaso.ABIERTO

    def respuestas(self) -> LineaBase | None:
        return None if self.linea_base is None else self.linea_base.modelo

    def cambiadas_desde(self, version: int) -> set[str] | None:
        """The questions changed after `version`; None means all of them (a baseline since)."""
        if self.linea_base_en > version:
            return None
        return {pregunta for pregunta, en in self.cambiadas_en.items() if en > version}


# --- evolve -----------------------------------------------------------------------------------


@singledispatch
def _evolve(event: DomainEvent, s: Caso) -> Caso:
    return s


@_evolve.register
def _(e: CasoAbierto, s: Caso) -> Caso:
    return replace(
        s,
        familia_id=e.familia_id,
        estado=EstadoCaso.ABIERTO,
        municipio=e.municipio,
        desplazada=e.desplazada,
        fecha_vinculacion=e.fecha_vinculacion,
    )


@_evolve.register
def _(e: CasoCerrado, s: Caso) -> Caso:
    return replace(s, estado=EstadoCaso.CERRADO)


@_evolve.register
def _(e: VisitaRegistrada, s: Caso) -> Caso:
    return replace(s, visitas=s.visitas | {e.visita_id})


@_evolve.register
def _(e: RespuestasRegistradas, s: Caso) -> Caso:
    return replace(s, linea_base=Respuestas(e.respuestas))


@_evolve.register
def _(e: LogrosEvaluados, s: Caso) -> Caso:
    tablero = {}
    for ev in e.evaluaciones:
        previa = s.tablero.get(ev.logro)
        mismo = previa is not None and previa.estado == ev.estado
        tablero[ev.logro] = previa if mismo and previa else Casilla(ev.estado, e.fecha)
    pendientes = any(ev.estado is EstadoLogro.POR_ALCANZAR for ev in e.evaluaciones)
    return replace(
        s,
        tablero=tablero,
        desplazada=e.desplazada,
        todos_alcanzados=s.todos_alcanzados and not pendientes,
    )


@_evolve.register
def _(e: TodosLosLogrosAlcanzados, s: Caso) -> Caso:
    return replace(s, todos_alcanzados=True)


@_evolve.register
def _(e: PlanFamiliarConstruido, s: Caso) -> Caso:
    return replace(s, plan_version=e.version, prioridades=e.prioridades)


@_evolve.register
def _(e: ServicioRegistrado, s: Caso) -> Caso:
    quien = e.integrante_id or "familia"
    actuales = s.servicios.get(e.logro, frozenset())
    return replace(s, servicios={**s.servicios, e.logro: actuales | {quien}})


@_evolve.register
def _(e: LineaBaseLevantada, s: Caso) -> Caso:
    return replace(s, linea_base_en=s.version + 1)


@_evolve.register
def _(e: RespuestasActualizadas, s: Caso) -> Caso:
    return replace(s, cambiadas_en={**s.cambiadas_en, **dict.fromkeys(e.preguntas, s.version + 1)})


def evolve(state: Caso, event: DomainEvent) -> Caso:
    return replace(_evolve(event, state), version=state.version + 1)


def fold(events: Iterable[DomainEvent], state: Caso | None = None) -> Caso:
    return reduce(evolve, events, state or Caso())


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Abrir:
    familia_id: str
    municipio: str
    fecha_vinculacion: date
    desplazada: bool


@dataclass(frozen=True)
class Cerrar:
    motivo: str
    fecha: date


@dataclass(frozen=True)
class Visita:
    visita_id: str
    cogestor_id: str
    fecha: date
    tipo: TipoVisita
    duracion_minutos: int
    notas: str | None = None
    latitud: float | None = None
    longitud: float | None = None


@dataclass(frozen=True)
class RegistrarVisita:
    visita: Visita


@dataclass(frozen=True)
class LevantarLineaBase:
    visita: Visita
    linea_base: LineaBase
    miembros: Sequence[Miembro]


@dataclass(frozen=True)
class Seguimiento:
    visita: Visita
    cambios: Mapping[str, Any]
    miembros: Sequence[Miembro]


@dataclass(frozen=True)
class Reevaluar:
    """Members changed (a birth, a death) or the day moved on: evaluate again, nothing else."""

    hoy: date
    miembros: Sequence[Miembro]
    desplazada: bool | None = None
    """Set when enrollment found the family in RUPD: the displaced LB start to apply."""


@dataclass(frozen=True)
class RegistrarServicio:
    """An entity delivered a service for some LB (offer's ServicioPrestado): evidence for each,
    and one evaluation of the board with them all (a program serves two or three LB)."""

    logros: tuple[str, ...]
    integrante_id: str | None
    referencia: str
    fecha: date
    miembros: Sequence[Miembro]


@dataclass(frozen=True)
class PrioridadPlan:
    logro: str
    responsable_id: str | None
    fecha_meta: date
    acciones: tuple[str, ...]
    recursos: tuple[str, ...]


@dataclass(frozen=True)
class ConstruirPlan:
    fecha: date
    prioridades: tuple[PrioridadPlan, ...]
    miembros: Sequence[Miembro]
    visita: Visita | None = None  # built at a PLAN_FAMILIAR visit (offline): recorded with it


Comando = (
    Abrir
    | Cerrar
    | RegistrarVisita
    | LevantarLineaBase
    | Seguimiento
    | Reevaluar
    | RegistrarServicio
    | ConstruirPlan
)


def decide(s: Caso, c: Comando) -> list[DomainEvent]:
    """The events `c` produces on case `s`, or ReglaIncumplida."""
    if isinstance(c, Abrir):
        if s.abierto:
            return []
        return [
            CasoAbierto(
                familia_id=c.familia_id,
                municipio=c.municipio,
                fecha_vinculacion=c.fecha_vinculacion,
                desplazada=c.desplazada,
            )
        ]
    if isinstance(c, Cerrar):
        if not s.abierto:
            return []
        return [CasoCerrado(familia_id=s.familia_id, motivo=c.motivo, fecha=c.fecha)]
    if isinstance(c, Reevaluar | RegistrarServicio) and not s.abierto:
        return []  # news about a family without an open case: nothing to evaluate
    if not s.abierto:
        raise ReglaIncumplida(
            "the family has no open accompaniment case (not vinculada, or it exited)",
            codigo="case-not-open",
        )
    visita = getattr(c, "visita", None)
    if visita is not None and visita.visita_id in s.visitas:
        return []  # the same visit sent again (offline retries): no second effect
    match c:
        case RegistrarVisita():
            return _visita(s, c.visita)
        case LevantarLineaBase():
            if s.linea_base is not None:
                raise ReglaIncumplida(
                    "the baseline was already taken; send a follow-up (seguimiento) instead",
                    codigo="baseline-exists",
                )
            datos = c.linea_base.model_dump(mode="json")
            eventos = [
                *_visita(s, c.visita),
                RespuestasRegistradas(
                    familia_id=s.familia_id, visita_id=c.visita.visita_id, respuestas=datos
                ),
                LineaBaseLevantada(
                    familia_id=s.familia_id,
                    visita_id=c.visita.visita_id,
                    municipio=s.municipio,
                    fecha=c.visita.fecha,
                    version_cuestionario=c.linea_base.version,
                ),
            ]
            return eventos + _evaluar(
                replace(fold(eventos, s), linea_base=Respuestas(datos, c.linea_base)),
                c.miembros,
                c.visita.fecha,
                _por_visita(c.visita),
                inicial=True,
            )
        case Seguimiento():
            actuales = s.respuestas()
            if actuales is None:
                raise ReglaIncumplida("the baseline has not been taken yet", codigo="no-baseline")
            nuevas, cambiadas = aplicar_cambios(actuales, dict(c.cambios))
            eventos = _visita(s, c.visita)
            despues = s.linea_base
            if cambiadas:
                despues = Respuestas(nuevas.model_dump(mode="json"), nuevas)
                eventos += [
                    RespuestasRegistradas(
                        familia_id=s.familia_id,
                        visita_id=c.visita.visita_id,
                        respuestas=despues.datos,
                    ),
                    RespuestasActualizadas(
                        familia_id=s.familia_id,
                        visita_id=c.visita.visita_id,
                        fecha=c.visita.fecha,
                        preguntas=tuple(cambiadas),
                    ),
                ]
            return eventos + _evaluar(
                replace(fold(eventos, s), linea_base=despues),
                c.miembros,
                c.visita.fecha,
                _por_visita(c.visita),
            )
        case Reevaluar():
            return _evaluar(s, c.miembros, c.hoy, None, desplazada=c.desplazada)
        case RegistrarServicio():
            registros = [
                ServicioRegistrado(
                    familia_id=s.familia_id,
                    logro=logro,
                    integrante_id=c.integrante_id,
                    referencia=c.referencia,
                    fecha=c.fecha,
                )
                for logro in dict.fromkeys(c.logros)
            ]
            evidencia = Evidencia(tipo=TipoEvidencia.SERVICIO, referencia=c.referencia)
            return [*registros, *_evaluar(fold(registros, s), c.miembros, c.fecha, evidencia)]
        case ConstruirPlan():
            return _plan(s, c)
    raise TypeError(f"unknown command {c!r}")  # pragma: no cover


def _por_visita(visita: Visita) -> Evidencia:
    return Evidencia(tipo=TipoEvidencia.VISITA, referencia=visita.visita_id)


def _visita(s: Caso, v: Visita) -> list[DomainEvent]:
    eventos: list[DomainEvent] = [
        VisitaRegistrada(
            familia_id=s.familia_id,
            visita_id=v.visita_id,
            cogestor_id=v.cogestor_id,
            municipio=s.municipio,
            fecha=v.fecha,
            tipo=v.tipo,
            duracion_minutos=v.duracion_minutos,
            con_ubicacion=v.latitud is not None,
        )
    ]
    if v.notas or v.latitud is not None:
        eventos.append(
            NotasDeVisita(
                familia_id=s.familia_id,
                visita_id=v.visita_id,
                notas=v.notas,
                latitud=v.latitud,
                longitud=v.longitud,
            )
        )
    return eventos


def tablero(
    s: Caso, miembros: Sequence[Miembro], hoy: date, desplazada: bool | None = None
) -> dict[str, Resultado] | None:
    """The board as the rules see it now (with explanations), or None before the baseline."""
    respuestas = s.respuestas()
    if respuestas is None:
        return None
    # a visit captured offline may be dated before a member registered later was born
    nacidos = [m for m in miembros if m.fecha_nacimiento <= hoy]
    return evaluar(
        respuestas,
        nacidos,
        hoy=hoy,
        desplazada=s.desplazada if desplazada is None else desplazada,
        plan_familiar=s.plan_version > 0,
        servicios=s.servicios,
    )


def _evaluar(
    s: Caso,
    miembros: Sequence[Miembro],
    hoy: date,
    evidencia: Evidencia | None,
    *,
    inicial: bool = False,
    desplazada: bool | None = None,
) -> list[DomainEvent]:
    desplazada = s.desplazada if desplazada is None else desplazada
    resultados = tablero(s, miembros, hoy, desplazada)
    if resultados is None:
        return []
    nuevo = {codigo: r.estado for codigo, r in resultados.items()}
    antes = {codigo: casilla.estado for codigo, casilla in s.tablero.items()}
    if nuevo == antes:
        return []
    eventos: list[DomainEvent] = [
        LogrosEvaluados(
            familia_id=s.familia_id,
            municipio=s.municipio,
            fecha=hoy,
            desplazada=desplazada,
            evaluaciones=tuple(
                Evaluacion(logro=r.logro, estado=r.estado, integrantes=r.integrantes)
                for r in resultados.values()
            ),
        )
    ]
    if not inicial:  # at the baseline, LB already met were not "reached" by the accompaniment
        for codigo, estado in nuevo.items():
            previo = antes.get(codigo)
            if estado is EstadoLogro.ALCANZADO and previo is EstadoLogro.POR_ALCANZAR:
                eventos.append(
                    LogroAlcanzado(
                        familia_id=s.familia_id,
                        municipio=s.municipio,
                        logro=codigo,
                        fecha=hoy,
                        evidencia=evidencia
                        or Evidencia(tipo=TipoEvidencia.VISITA, referencia="reevaluacion"),
                    )
                )
            elif estado is EstadoLogro.POR_ALCANZAR and previo is EstadoLogro.ALCANZADO:
                eventos.append(
                    LogroPerdido(
                        familia_id=s.familia_id, municipio=s.municipio, logro=codigo, fecha=hoy
                    )
                )
    pendientes = any(e is EstadoLogro.POR_ALCANZAR for e in nuevo.values())
    if not pendientes and not s.todos_alcanzados:
        eventos.append(TodosLosLogrosAlcanzados(familia_id=s.familia_id, fecha=hoy))
    return eventos


def _plan(s: Caso, c: ConstruirPlan) -> list[DomainEvent]:
    if not s.tablero:
        raise ReglaIncumplida("the plan is built after the baseline", codigo="no-baseline")
    ids = {m.integrante_id for m in c.miembros}
    vistos: set[str] = set()
    for p in c.prioridades:
        casilla = s.tablero.get(p.logro)
        if casilla is None or casilla.estado is not EstadoLogro.POR_ALCANZAR:
            estado = casilla.estado if casilla else "unknown"
            raise ReglaIncumplida(
                f"{p.logro} is {estado}: a plan prioritises only LB still POR_ALCANZAR",
                status=422,
                codigo="not-pending",
            )
        if p.logro in vistos:
            raise ReglaIncumplida(f"{p.logro} appears twice in the plan", status=422)
        vistos.add(p.logro)
        if p.responsable_id is not None and p.responsable_id not in ids:
            raise ReglaIncumplida(
                f"the responsible for {p.logro} is not a member of the family",
                status=422,
                codigo="not-a-member",
            )
    version = s.plan_version + 1
    prioridades = tuple(
        Prioridad(
            logro=p.logro,
            orden=i,
            responsable_id=p.responsable_id,
            fecha_meta=p.fecha_meta,
            acciones=len(p.acciones),
        )
        for i, p in enumerate(c.prioridades, start=1)
    )
    eventos: list[DomainEvent] = [
        PlanFamiliarConstruido(
            familia_id=s.familia_id,
            municipio=s.municipio,
            version=version,
            fecha=c.fecha,
            prioridades=prioridades,
        ),
        PlanDetallado(
            familia_id=s.familia_id,
            version=version,
            acciones={p.logro: list(p.acciones) for p in c.prioridades},
            recursos={p.logro: list(p.recursos) for p in c.prioridades},
        ),
    ]
    if c.visita is not None:
        eventos = [*_visita(s, c.visita), *eventos]
    return eventos + _evaluar(fold(eventos, s), c.miembros, c.fecha, None)
