"""The events accompaniment publishes on `juntos.accompaniment.events` (key: the family id,
or `sesion:<id>` for community sessions).

Evaluation is published as ONE event per evaluation with all 45 LB (`LogrosEvaluados`), not 45
events: consumers (offer's demand, territorial's capacity map, reporting) always need the whole
board of a family, and one event keeps a family's board consistent in every projection.
`LogroAlcanzado` / `LogroPerdido` are published only on a change of status, so a re-evaluation
that changes nothing publishes no reach. Visit notes (free text that may name people) stay in the
private `NotasDeVisita`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from juntos_events.events import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict, Field

from accompaniment.vocabulario import EstadoLogro, TipoEvidencia, TipoVisita

events = EventRegistry("accompaniment")

Municipio = Annotated[str, Field(pattern=r"^\d{5}$", description="DIVIPOLA municipality code")]
Logro = Annotated[str, Field(pattern=r"^LB([1-9]|[1-3][0-9]|4[0-5])$", description="LB1..LB45")]


class _Valor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evaluacion(_Valor):
    """One LB on a family's board: its status and the members it concerns (pending or applying)."""

    logro: Logro
    estado: EstadoLogro
    integrantes: tuple[str, ...] = ()


class Evidencia(_Valor):
    tipo: TipoEvidencia
    referencia: str = Field(description="visita_id, or the ServicioPrestado event id")


class Prioridad(_Valor):
    logro: Logro
    orden: int = Field(ge=1, description="1 = first priority")
    responsable_id: str | None = Field(None, description="the member responsible (pseudonymous)")
    fecha_meta: date
    acciones: int = Field(ge=0, description="how many actions the plan lists for this LB")


@events.register("CasoAbierto")
class CasoAbierto(DomainEvent):
    """A vinculada family's accompaniment case: its 5 years of visits and achievements start."""

    familia_id: str
    municipio: Municipio
    fecha_vinculacion: date
    desplazada: bool


@events.register("CasoCerrado")
class CasoCerrado(DomainEvent):
    familia_id: str
    motivo: str = Field(description="the enrollment exit: RETIRADA, PROMOVIDA, EGRESADA_POR_TIEMPO")
    fecha: date


@events.register("VisitaRegistrada")
class VisitaRegistrada(DomainEvent):
    familia_id: str
    visita_id: str
    cogestor_id: str
    municipio: Municipio
    fecha: date
    tipo: TipoVisita
    duracion_minutos: int = Field(ge=1, le=24 * 60)
    con_ubicacion: bool = False


@events.register("NotasDeVisita", private=True)
class NotasDeVisita(DomainEvent):
    """Never published: the cogestor's free-text notes and the GPS position of a visit."""

    familia_id: str
    visita_id: str
    notas: str | None = None
    latitud: float | None = None
    longitud: float | None = None


@events.register("LineaBaseLevantada")
class LineaBaseLevantada(DomainEvent):
    """The baseline questionnaire was answered (`version` of the questionnaire's schema)."""

    familia_id: str
    visita_id: str
    municipio: Municipio
    fecha: date
    version_cuestionario: int


@events.register("RespuestasActualizadas")
class RespuestasActualizadas(DomainEvent):
    """A follow-up changed answers; `preguntas` names the questions (paths) that changed."""

    familia_id: str
    visita_id: str
    fecha: date
    preguntas: tuple[str, ...]


@events.register("LogrosEvaluados")
class LogrosEvaluados(DomainEvent):
    """The family's whole board after an evaluation: 45 rows, one per LB."""

    familia_id: str
    municipio: Municipio
    fecha: date
    desplazada: bool
    evaluaciones: tuple[Evaluacion, ...]


@events.register("LogroAlcanzado")
class LogroAlcanzado(DomainEvent):
    familia_id: str
    municipio: Municipio
    logro: Logro
    fecha: date
    evidencia: Evidencia


@events.register("LogroPerdido")
class LogroPerdido(DomainEvent):
    """An LB that was reached is pending again (a regression, or a new member it applies to)."""

    familia_id: str
    municipio: Municipio
    logro: Logro
    fecha: date


@events.register("TodosLosLogrosAlcanzados")
class TodosLosLogrosAlcanzados(DomainEvent):
    """Every applicable LB is ALCANZADO: enrollment graduates the family (FamiliaPromovida)."""

    familia_id: str
    fecha: date


@events.register("PlanFamiliarConstruido")
class PlanFamiliarConstruido(DomainEvent):
    """The family's plan, or a revision of it (`version` > 1), with its priorities."""

    familia_id: str
    municipio: Municipio
    version: int = Field(ge=1)
    fecha: date
    prioridades: tuple[Prioridad, ...]


@events.register("SesionComunitariaRealizada")
class SesionComunitariaRealizada(DomainEvent):
    sesion_id: str
    municipio: Municipio
    fecha: date
    tema_logro: Logro | None = None
    tema_dimension: str | None = None
    familias: tuple[str, ...]
    para_desplazados: bool = False


@events.register("ServicioRegistrado")
class ServicioRegistrado(DomainEvent):
    """A service an entity delivered (offer's ServicioPrestado) counts as evidence for an LB."""

    familia_id: str
    logro: Logro
    integrante_id: str | None = None
    referencia: str
    fecha: date


@events.register("RespuestasRegistradas", private=True)
class RespuestasRegistradas(DomainEvent):
    """Never published: the full questionnaire answers after a baseline or follow-up."""

    familia_id: str
    visita_id: str
    respuestas: dict[str, Any]


@events.register("PlanDetallado", private=True)
class PlanDetallado(DomainEvent):
    """Never published: the plan's actions and the family's resources, in the family's words."""

    familia_id: str
    version: int
    acciones: dict[str, list[str]]
    recursos: dict[str, list[str]]
