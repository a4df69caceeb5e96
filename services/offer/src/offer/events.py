"""The events offer publishes on `juntos.offer.events`.

Streams (and Kafka keys): `programa:<id>` (the program and its reported quality),
`cupos:<programa>:<municipio>:<periodo>` (one program's slots in one municipality and period:
capacity and every assignment, so its version guards the capacity), `servicio:<id>` (a delivered
service), `demanda:<municipio>:<logro>` (unmet-demand crossings), `cliente:<client_id>` (a
partner system's OAuth2 client: private events, the audit trail of its credentials). Events
carry pseudonymous ids only; RUAF documents never leave the import that matched them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.json_types import JsonBool, json_int_between
from juntos_events.store import EventStore
from pydantic import BaseModel, ConfigDict, Field, model_validator

from offer.vocabulario import PERIODO, Alcance, MotivoLiberacion, NivelGobierno, Sexo

events = EventRegistry("offer")

Municipio = Annotated[str, Field(pattern=r"^\d{5}$", description="DIVIPOLA municipality code")]
Logro = Annotated[str, Field(pattern=r"^LB([1-9]|[1-3][0-9]|4[0-5])$", description="LB1..LB45")]
Periodo = Annotated[str, Field(pattern=PERIODO, description='"2026" or "2026-S1"')]


Edad = json_int_between(0, 120)


class Elegibilidad(BaseModel):
    """Who a program may serve; a slot is never assigned to someone outside it.

    Ages are completed years on the assignment date. For a FAMILIA program, the age, sex,
    disability and pregnancy rules are met when at least one active member meets them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    edad_minima: Edad | None = None
    edad_maxima: Edad | None = Field(None, description="inclusive")
    sexo: Sexo | None = None
    solo_desplazadas: JsonBool = False
    solo_con_discapacidad: JsonBool = False
    solo_gestantes: JsonBool = False

    @model_validator(mode="after")
    def _rango(self) -> Elegibilidad:
        if (
            self.edad_minima is not None
            and self.edad_maxima is not None
            and self.edad_minima > self.edad_maxima
        ):
            raise ValueError("edad_minima is greater than edad_maxima")
        return self


class _Programa(DomainEvent):
    programa_id: str
    entidad: str
    titulo: str
    nivel: NivelGobierno
    alcance: Alcance
    logros: tuple[Logro, ...]
    dimensiones: tuple[str, ...] = Field(description="the dimensions of `logros` (catalog codes)")
    elegibilidad: Elegibilidad
    municipios: tuple[Municipio, ...]


@events.register("ProgramaRegistrado")
class ProgramaRegistrado(_Programa):
    """A partner entity's program joins the Mapa de Oferta Local of its municipalities."""


@events.register("ProgramaActualizado")
class ProgramaActualizado(_Programa):
    """The full corrected program (same fields as ProgramaRegistrado)."""


@events.register("CalidadReportada")
class CalidadReportada(DomainEvent):
    """The entity's own report of compliance with its service standards (Tabla 4, calidad)."""

    programa_id: str
    entidad: str
    periodo: Periodo
    cumplimiento: int = Field(ge=0, le=100, description="percent of standards met")


@events.register("CuposHabilitados")
class CuposHabilitados(DomainEvent):
    """Slots of a program in a municipality and period; the latest value replaces the previous."""

    programa_id: str
    entidad: str
    municipio: Municipio
    periodo: Periodo
    logros: tuple[Logro, ...]
    cupos: int = Field(ge=0)


class _Cupo(DomainEvent):
    cupo_id: str
    programa_id: str
    entidad: str
    municipio: Municipio
    periodo: Periodo
    familia_id: str
    integrante_id: str | None = None
    logros: tuple[Logro, ...]
    fecha: date


@events.register("CupoAsignado")
class CupoAsignado(_Cupo):
    """Preferential access: a slot for a JUNTOS family (or one of its members)."""


@events.register("CupoRechazado")
class CupoRechazado(_Cupo):
    """The family declined the slot; a CupoLiberado (RECHAZADO) follows in the same stream."""


@events.register("CupoLiberado")
class CupoLiberado(_Cupo):
    """The slot is free again."""

    motivo: MotivoLiberacion


@events.register("ServicioPrestado")
class ServicioPrestado(DomainEvent):
    """A benefit an entity delivered to a JUNTOS member (RUAF); evidence for LogroAlcanzado."""

    servicio_id: str
    programa_id: str
    entidad: str
    municipio: Municipio
    familia_id: str
    integrante_id: str | None = None
    logros: tuple[Logro, ...]
    fecha: date
    valor: int = Field(ge=0, description="Colombian pesos")


@events.register("DemandaInsatisfecha")
class DemandaInsatisfecha(DomainEvent):
    """Demand for an LB in a municipality went above the slots for it (once per crossing)."""

    municipio: Municipio
    logro: Logro
    demanda: int = Field(description="families with the LB pending")
    cupos: int = Field(description="slots of the programs serving the LB, latest period each")


# --- partner systems' OAuth2 clients (private: kept in offer's store, never published) --------


@events.register("ClienteRegistrado", private=True)
class ClienteRegistrado(DomainEvent):
    """An operator gave a partner entity's system client credentials. The secret is in no
    event: only its Argon2id hash, in the `clientes_api` table."""

    client_id: str
    entidad: str
    descripcion: str


@events.register("ClienteRevocado", private=True)
class ClienteRevocado(DomainEvent):
    """The client gets no new token; tokens already issued run out within their short life."""

    client_id: str
    entidad: str
    motivo: str


store = EventStore(events)
"""Offer's event store (and outbox), bound to the events above."""
