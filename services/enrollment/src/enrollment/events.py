"""The events enrollment publishes on `juntos.enrollment.events`, and the one it keeps.

Published events carry pseudonymous ids and the attributes other services need (birth date,
sex, relationship, disability, pregnancy, ethnicity, displacement, municipality), never names,
documents or contact data. Those live only in the private `DatosPersonalesRegistrados`, each
member's fields sealed with the family's data key (see `boveda`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.json_types import JsonBool
from pydantic import BaseModel, ConfigDict, Field

from enrollment.vocabulario import (
    EstadoFamilia,
    Etnia,
    MotivoIngresoIntegrante,
    MotivoNoVinculacion,
    MotivoReapertura,
    MotivoRetiro,
    MotivoRetiroIntegrante,
    Parentesco,
    Registro,
    Sexo,
)

events = EventRegistry("enrollment")

Municipio = Annotated[str, Field(pattern=r"^\d{5}$", description="DIVIPOLA municipality code")]


class Atributos(BaseModel):
    """What other services may know about a member: enough for rules, not enough to identify."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fecha_nacimiento: date
    sexo: Sexo
    parentesco: Parentesco
    discapacidad: JsonBool = False  # strict: partners' input models derive from this
    gestante: JsonBool = False
    etnia: Etnia = Etnia.NINGUNA


class Integrante(Atributos):
    integrante_id: str


@events.register("FamiliaPreseleccionada")
class FamiliaPreseleccionada(DomainEvent):
    """A household of SISBEN level 1 or RUPD entered the program's potential population."""

    familia_id: str
    municipio: Municipio
    registro: Registro
    desplazada: bool
    nivel_sisben: int | None = None
    integrantes: tuple[Integrante, ...]


@events.register("FamiliaMarcadaDesplazada")
class FamiliaMarcadaDesplazada(DomainEvent):
    """A preselected family was also found in the other registry (RUPD): it is displaced."""

    familia_id: str
    registro: Registro


@events.register("FamiliaVinculada")
class FamiliaVinculada(DomainEvent):
    """The family signed the acuerdo de corresponsabilidad; its 5 years of accompaniment start."""

    familia_id: str
    municipio: Municipio
    fecha_vinculacion: date
    fecha_limite: date
    firmante_id: str
    lugar_municipio: Municipio
    cogestor_id: str


@events.register("FamiliaNoVinculada")
class FamiliaNoVinculada(DomainEvent):
    familia_id: str
    fecha: date
    motivo: MotivoNoVinculacion
    cogestor_id: str


@events.register("IntegranteRegistrado")
class IntegranteRegistrado(DomainEvent):
    familia_id: str
    integrante: Integrante
    motivo: MotivoIngresoIntegrante


@events.register("IntegranteActualizado")
class IntegranteActualizado(DomainEvent):
    """A correction of a member's attributes; carries the full corrected set."""

    familia_id: str
    integrante: Integrante


@events.register("IntegranteRetirado")
class IntegranteRetirado(DomainEvent):
    familia_id: str
    integrante_id: str
    motivo: MotivoRetiroIntegrante
    fecha: date


@events.register("CogestorAsignado")
class CogestorAsignado(DomainEvent):
    familia_id: str
    municipio: Municipio
    cogestor_id: str
    anterior_id: str | None = None


@events.register("FamiliaRetirada")
class FamiliaRetirada(DomainEvent):
    familia_id: str
    motivo: MotivoRetiro
    fecha: date


@events.register("FamiliaPromovida")
class FamiliaPromovida(DomainEvent):
    """Every applicable Logro Básico reached: the family graduates from accompaniment."""

    familia_id: str
    fecha: date


@events.register("FamiliaEgresadaPorTiempo")
class FamiliaEgresadaPorTiempo(DomainEvent):
    familia_id: str
    fecha: date
    fecha_vinculacion: date


@events.register("FamiliaReabierta")
class FamiliaReabierta(DomainEvent):
    """A national coordinator undid an exit; the family goes back to `estado`."""

    familia_id: str
    motivo: MotivoReapertura
    estado: EstadoFamilia


@events.register("DatosPersonalesEliminados")
class DatosPersonalesEliminados(DomainEvent):
    """Habeas data: the family's data key was destroyed; its pseudonymous history stays."""

    familia_id: str
    fecha: date


@events.register("DatosPersonalesRegistrados", private=True)
class DatosPersonalesRegistrados(DomainEvent):
    """Never published: each member's personal fields, sealed with the family's data key."""

    familia_id: str
    sellados: dict[str, str]


@events.register("CogestorRegistrado")
class CogestorRegistrado(DomainEvent):
    """A social worker of an operator, serving the municipalities of a microregion."""

    cogestor_id: str
    operador: str
    microrregion: str
    municipios: tuple[str, ...]
    capacidad: int


@events.register("FamiliaAsignadaACogestor")
class FamiliaAsignadaACogestor(DomainEvent):
    cogestor_id: str
    familia_id: str


@events.register("FamiliaLiberadaDeCogestor")
class FamiliaLiberadaDeCogestor(DomainEvent):
    cogestor_id: str
    familia_id: str
