"""The plan de acción municipal: actions to close weak CBT, approved by the municipal council.

Workflow: the municipality opens a draft (version 1, or N+1 based on the plan in force), adds,
changes and removes actions, and the Consejo Municipal de Política Social approves it
(PlanAccionMunicipalAprobado, with the session date). An approved version is frozen: changing
the plan means opening a new draft version, which starts as a copy of the approved one. The plan
in force keeps its actions' follow-up (SeguimientoAccionRegistrado) while the next version is
written; on approval, the actions it carries over keep their follow-up state.

Only actions on a CBT the LBT rates CUMPLE_PARCIALMENTE or NO_CUMPLE can be added (the handler
passes the CBT's current rating).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import singledispatch

from juntos_events.events import DomainEvent

from territorial import territorio
from territorial.domain import Agregado, ReglaIncumplida, no_existe, no_futura
from territorial.events import (
    Accion,
    AccionPlanRegistrada,
    AccionPlanRetirada,
    PlanAccionBorradorAbierto,
    PlanAccionMunicipalAprobado,
    SeguimientoAccionRegistrado,
)
from territorial.vocabulario import ACCION_CERRADA, EstadoAccion, EstadoCondicion, EstadoPlan

# An action moves forward only; any open action may be cancelled.
_ORDEN = {EstadoAccion.PENDIENTE: 0, EstadoAccion.EN_CURSO: 1, EstadoAccion.CUMPLIDA: 2}


@dataclass(frozen=True)
class VersionPlan:
    numero: int
    estado: EstadoPlan
    acciones: Mapping[str, Accion] = field(default_factory=dict)
    basado_en: int | None = None
    fecha_sesion_consejo: date | None = None
    acta: str | None = None

    @property
    def presupuesto_cop(self) -> int:
        return sum(a.presupuesto_cop for a in self.acciones.values())


@dataclass(frozen=True)
class Plan:
    municipio: str = ""
    vigente: VersionPlan | None = None
    """The approved version in force, with its actions' follow-up."""
    borrador: VersionPlan | None = None
    aprobadas: Mapping[int, VersionPlan] = field(default_factory=dict)
    """Every approved version as the council approved it."""

    def version(self, numero: int) -> VersionPlan | None:
        if self.borrador is not None and self.borrador.numero == numero:
            return self.borrador
        return self.aprobadas.get(numero)


# --- commands -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AbrirBorrador:
    municipio: str


@dataclass(frozen=True)
class RegistrarAccion:
    """Add the action to the draft, or change it (same id)."""

    municipio: str
    accion_id: str
    cbt: str
    descripcion: str
    entidad_responsable_id: str
    presupuesto_cop: int
    fecha_inicio: date
    fecha_fin: date
    estado_cbt: EstadoCondicion | None
    """The CBT's rating in the current LBT; None when the municipality has no LBT."""


@dataclass(frozen=True)
class RetirarAccion:
    municipio: str
    accion_id: str


@dataclass(frozen=True)
class Aprobar:
    municipio: str
    fecha_sesion_consejo: date
    acta: str | None
    hoy: date


@dataclass(frozen=True)
class RegistrarSeguimiento:
    municipio: str
    accion_id: str
    estado: EstadoAccion
    avance: int
    fecha: date
    hoy: date


ComandoPlan = AbrirBorrador | RegistrarAccion | RetirarAccion | Aprobar | RegistrarSeguimiento


# --- evolve -------------------------------------------------------------------------------


@singledispatch
def _evolve(e: DomainEvent, s: Plan) -> Plan:
    return s


@_evolve.register
def _(e: PlanAccionBorradorAbierto, s: Plan) -> Plan:
    copia = e.basado_en is not None and s.vigente is not None
    acciones = dict(s.vigente.acciones) if copia and s.vigente is not None else {}
    borrador = VersionPlan(e.version_plan, EstadoPlan.BORRADOR, acciones, e.basado_en)
    return replace(s, municipio=e.municipio, borrador=borrador)


@_evolve.register
def _(e: AccionPlanRegistrada, s: Plan) -> Plan:
    assert s.borrador is not None
    acciones = {**s.borrador.acciones, e.accion.accion_id: e.accion}
    return replace(s, borrador=replace(s.borrador, acciones=acciones))


@_evolve.register
def _(e: AccionPlanRetirada, s: Plan) -> Plan:
    assert s.borrador is not None
    acciones = {k: v for k, v in s.borrador.acciones.items() if k != e.accion_id}
    return replace(s, borrador=replace(s.borrador, acciones=acciones))


@_evolve.register
def _(e: PlanAccionMunicipalAprobado, s: Plan) -> Plan:
    aprobada = VersionPlan(
        numero=e.version_plan,
        estado=EstadoPlan.APROBADO,
        acciones={a.accion_id: a for a in e.acciones},
        basado_en=e.basado_en,
        fecha_sesion_consejo=e.fecha_sesion_consejo,
        acta=e.acta,
    )
    return replace(
        s,
        municipio=e.municipio,
        vigente=aprobada,
        borrador=None,
        aprobadas={**s.aprobadas, e.version_plan: aprobada},
    )


@_evolve.register
def _(e: SeguimientoAccionRegistrado, s: Plan) -> Plan:
    assert s.vigente is not None
    accion = replace_accion(s.vigente.acciones[e.accion_id], estado=e.estado, avance=e.avance)
    acciones = {**s.vigente.acciones, e.accion_id: accion}
    return replace(s, vigente=replace(s.vigente, acciones=acciones))


def replace_accion(accion: Accion, **cambios: object) -> Accion:
    return accion.model_copy(update=cambios)


# --- decide -------------------------------------------------------------------------------


def _abrir(s: Plan, c: AbrirBorrador) -> list[DomainEvent]:
    if s.borrador is not None:
        raise ReglaIncumplida(
            f"version {s.borrador.numero} of the plan is already open as a draft",
            codigo="draft-open",
        )
    anterior = s.vigente.numero if s.vigente is not None else None
    return [
        PlanAccionBorradorAbierto(
            municipio=c.municipio, version_plan=(anterior or 0) + 1, basado_en=anterior
        )
    ]


def _borrador(s: Plan) -> VersionPlan:
    if s.borrador is not None:
        return s.borrador
    if s.vigente is not None:
        raise ReglaIncumplida(
            f"version {s.vigente.numero} of the plan is approved and cannot change:"
            " open a new draft version based on it",
            codigo="plan-approved",
        )
    raise ReglaIncumplida("the municipality has no plan draft: open one", codigo="no-draft")


def _registrar(s: Plan, c: RegistrarAccion) -> list[DomainEvent]:
    borrador = _borrador(s)
    anterior = borrador.acciones.get(c.accion_id)
    if anterior is None or anterior.cbt != c.cbt:
        if c.estado_cbt is None:
            raise ReglaIncumplida(
                "the municipality has no LBT: the plan closes the weak CBT it identifies",
                codigo="no-baseline",
            )
        if c.estado_cbt is EstadoCondicion.CUMPLE:
            raise ReglaIncumplida(
                f"the LBT rates {c.cbt} as CUMPLE: the plan's actions close weak CBT",
                status=422,
                codigo="cbt-not-weak",
            )
    if c.fecha_fin < c.fecha_inicio:
        raise ReglaIncumplida(
            "the action ends before it starts", status=422, codigo="dates-reversed"
        )
    accion = Accion(
        accion_id=c.accion_id,
        cbt=c.cbt,
        dimension=territorio.dimension_de_cbt(c.cbt),
        descripcion=c.descripcion,
        entidad_responsable_id=c.entidad_responsable_id,
        presupuesto_cop=c.presupuesto_cop,
        fecha_inicio=c.fecha_inicio,
        fecha_fin=c.fecha_fin,
        estado=anterior.estado if anterior else EstadoAccion.PENDIENTE,
        avance=anterior.avance if anterior else 0,
    )
    if accion == anterior:
        return []
    return [
        AccionPlanRegistrada(municipio=c.municipio, version_plan=borrador.numero, accion=accion)
    ]


def _retirar(s: Plan, c: RetirarAccion) -> list[DomainEvent]:
    borrador = _borrador(s)
    if c.accion_id not in borrador.acciones:
        raise no_existe("the action")
    return [
        AccionPlanRetirada(
            municipio=c.municipio, version_plan=borrador.numero, accion_id=c.accion_id
        )
    ]


def _aprobar(s: Plan, c: Aprobar) -> list[DomainEvent]:
    if s.borrador is None:
        raise ReglaIncumplida("there is no draft to approve", codigo="no-draft")
    borrador = s.borrador
    if not borrador.acciones:
        raise ReglaIncumplida("a plan needs at least one action", codigo="empty-plan")
    no_futura(c.fecha_sesion_consejo, c.hoy, "the council session date")
    previa = s.vigente.fecha_sesion_consejo if s.vigente else None
    if previa is not None and c.fecha_sesion_consejo < previa:
        raise ReglaIncumplida(
            f"the plan in force was approved on {previa}; a new version is approved later",
            status=422,
            codigo="date-before-history",
        )
    en_curso = s.vigente.acciones if s.vigente else {}
    acciones = tuple(
        replace_accion(a, estado=en_curso[k].estado, avance=en_curso[k].avance)
        if k in en_curso
        else a
        for k, a in borrador.acciones.items()
    )
    return [
        PlanAccionMunicipalAprobado(
            municipio=c.municipio,
            version_plan=borrador.numero,
            basado_en=borrador.basado_en,
            fecha_sesion_consejo=c.fecha_sesion_consejo,
            acta=c.acta,
            acciones=acciones,
            presupuesto_total_cop=sum(a.presupuesto_cop for a in acciones),
        )
    ]


def _seguimiento(s: Plan, c: RegistrarSeguimiento) -> list[DomainEvent]:
    if s.vigente is None:
        raise ReglaIncumplida("the municipality has no approved plan yet", codigo="no-plan")
    accion = s.vigente.acciones.get(c.accion_id)
    if accion is None:
        raise no_existe("the action (in the plan in force)")
    no_futura(c.fecha, c.hoy, "the follow-up date")
    aprobado = s.vigente.fecha_sesion_consejo
    if aprobado is not None and c.fecha < aprobado:
        raise ReglaIncumplida(
            f"the plan was approved on {aprobado}; its follow-up is dated on or after it",
            status=422,
            codigo="date-before-history",
        )
    if accion.estado in ACCION_CERRADA:
        raise ReglaIncumplida(f"the action is {accion.estado}: it is closed", codigo="closed")
    atras = c.estado is not EstadoAccion.CANCELADA and _ORDEN[c.estado] < _ORDEN[accion.estado]
    if atras:
        raise ReglaIncumplida(
            f"the action is {accion.estado}; it cannot go back to {c.estado}",
            codigo="invalid-transition",
        )
    avance = 100 if c.estado is EstadoAccion.CUMPLIDA else c.avance
    if (c.estado, avance) == (accion.estado, accion.avance):
        return []
    return [
        SeguimientoAccionRegistrado(
            municipio=c.municipio,
            version_plan=s.vigente.numero,
            accion_id=c.accion_id,
            cbt=accion.cbt,
            estado=c.estado,
            avance=avance,
            fecha=c.fecha,
        )
    ]


def _decide(s: Plan, c: ComandoPlan) -> list[DomainEvent]:
    match c:
        case AbrirBorrador():
            return _abrir(s, c)
        case RegistrarAccion():
            return _registrar(s, c)
        case RetirarAccion():
            return _retirar(s, c)
        case Aprobar():
            return _aprobar(s, c)
        case RegistrarSeguimiento():
            return _seguimiento(s, c)
    raise TypeError(f"unknown command {c!r}")  # pragma: no cover


PLAN: Agregado[Plan] = Agregado("plan", Plan(), lambda s, e: _evolve(e, s), _decide)
