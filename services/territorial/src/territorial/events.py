"""The events territorial publishes on `juntos.territorial.events`, and the ones it keeps.

Published events carry codes (DIVIPOLA, CBT, LB), pseudonymous user and entity ids, dates,
states and counts. Free text that may name people (a citizen's complaint and the answer to it)
and the municipality's working drafts of its action plan are private: stored in territorial's
event store, never on Kafka. Field names such as `nombre` are refused by the registry, so the
official names of territories travel as `denominacion`.

Stream keys (and Kafka keys): `departamento:<dd>`, `municipio:<ddmmm>` (the catalogue),
`microrregion:<id>`, `red-local:<ddmmm>`, `consejo-departamental:<dd>`, `lbt:<ddmmm>`,
`plan:<ddmmm>`, `rendicion:<uuid>`, `espacio:<uuid>`, `veeduria:<uuid>`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from juntos_events.events import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict, Field

from territorial.vocabulario import (
    CategoriaVeeduria,
    EstadoAccion,
    EstadoCompromiso,
    EstadoCondicion,
    EstadoVeeduria,
    NivelGobierno,
    TipoEspacio,
    TipoSesion,
)

events = EventRegistry("territorial")

Municipio = Annotated[str, Field(pattern=r"^\d{5}$", description="DIVIPOLA municipality code")]
Departamento = Annotated[str, Field(pattern=r"^\d{2}$", description="DIVIPOLA department code")]
Cbt = Annotated[str, Field(pattern=r"^CBT([1-9]|1[0-9]|2[0-2])$", description="CBT1..CBT22")]
Dimension = Annotated[str, Field(description="Dimension code of the catalog, e.g. SALUD")]
IdUsuario = Annotated[
    str, Field(description="Pseudonymous user id (the token's sub), never a name or a document")
]


class _Valor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- catalogue ----------------------------------------------------------------------------


@events.register("DepartamentoCatalogado")
class DepartamentoCatalogado(DomainEvent):
    """A DIVIPOLA department, as territorial's reference catalogue publishes it."""

    departamento: Departamento
    denominacion: str = Field(description="DANE's official name, e.g. ANTIOQUIA")


@events.register("MunicipioCatalogado")
class MunicipioCatalogado(DomainEvent):
    """A DIVIPOLA municipal entity; published again only if DANE renames or retypes it."""

    municipio: Municipio
    denominacion: str = Field(description="DANE's official name, e.g. MEDELLÍN")
    departamento: Departamento
    tipo: str = Field(description="Municipio, Isla or Área no municipalizada")


# --- network: microregions, Red Local, councils -------------------------------------------


@events.register("MicrorregionDefinida")
class MicrorregionDefinida(DomainEvent):
    """The municipalities one social operator serves; a redefinition carries the full set."""

    microrregion_id: str
    denominacion: str
    operador_id: str = Field(description="The social operator (entity id)")
    municipios: tuple[Municipio, ...]


@events.register("ConvenioImplementacionFirmado")
class ConvenioImplementacionFirmado(DomainEvent):
    """The mayor signed the JUNTOS implementation agreement (again if the date is corrected)."""

    municipio: Municipio
    fecha: date


@events.register("RedLocalDesignada")
class RedLocalDesignada(DomainEvent):
    """Who runs the Red Local: the municipal delegate and the operator's local coordinator."""

    municipio: Municipio
    delegado_municipal_id: IdUsuario
    coordinador_local_id: IdUsuario


@events.register("SesionConsejoMunicipalRegistrada")
class SesionConsejoMunicipalRegistrada(DomainEvent):
    """A session of the Consejo Municipal de Política Social."""

    municipio: Municipio
    sesion_id: str
    fecha: date
    tipo: TipoSesion
    asistentes: int = Field(ge=0)


@events.register("SesionConsejoDepartamentalRegistrada")
class SesionConsejoDepartamentalRegistrada(DomainEvent):
    """A session of the Consejo Departamental de Política Social."""

    departamento: Departamento
    sesion_id: str
    fecha: date
    tipo: TipoSesion
    asistentes: int = Field(ge=0)


# --- Línea de Base Territorial ------------------------------------------------------------


class Condicion(_Valor):
    """One CBT as rated by the municipality: state, evidence, date and who recorded it."""

    cbt: Cbt
    dimension: Dimension
    estado: EstadoCondicion
    evidencia: str = Field(description="A short text or a URL (a decree, a report)")
    fecha: date
    registrado_por: IdUsuario


@events.register("LineaBaseTerritorialLevantada")
class LineaBaseTerritorialLevantada(DomainEvent):
    """A whole survey of the 22 CBT; `levantamiento` counts the surveys (1, 2, ...)."""

    municipio: Municipio
    levantamiento: int = Field(ge=1)
    fecha: date
    condiciones: tuple[Condicion, ...]


@events.register("CondicionTerritorialActualizada")
class CondicionTerritorialActualizada(DomainEvent):
    """One CBT changed after survey `levantamiento`."""

    municipio: Municipio
    levantamiento: int = Field(ge=1)
    condicion: Condicion
    anterior: EstadoCondicion


# --- Plan de acción municipal -------------------------------------------------------------


class Accion(_Valor):
    """An action of the plan to close a weak CBT."""

    accion_id: str
    cbt: Cbt
    dimension: Dimension
    descripcion: str
    entidad_responsable_id: str
    presupuesto_cop: int = Field(ge=0, description="Budget in Colombian pesos")
    fecha_inicio: date
    fecha_fin: date
    estado: EstadoAccion = EstadoAccion.PENDIENTE
    avance: int = Field(0, ge=0, le=100, description="Percent done, from the follow-up")


@events.register("PlanAccionBorradorAbierto", private=True)
class PlanAccionBorradorAbierto(DomainEvent):
    """Never published: the municipality started writing version `version_plan`."""

    municipio: Municipio
    version_plan: int
    basado_en: int | None = None


@events.register("AccionPlanRegistrada", private=True)
class AccionPlanRegistrada(DomainEvent):
    """Never published: an action added to (or changed in) the draft."""

    municipio: Municipio
    version_plan: int
    accion: Accion


@events.register("AccionPlanRetirada", private=True)
class AccionPlanRetirada(DomainEvent):
    """Never published: an action taken out of the draft."""

    municipio: Municipio
    version_plan: int
    accion_id: str


@events.register("PlanAccionMunicipalAprobado")
class PlanAccionMunicipalAprobado(DomainEvent):
    """The municipal council approved version `version_plan`: the whole plan, now in force."""

    municipio: Municipio
    version_plan: int
    basado_en: int | None = None
    fecha_sesion_consejo: date
    acta: str | None = None
    acciones: tuple[Accion, ...]
    presupuesto_total_cop: int


@events.register("SeguimientoAccionRegistrado")
class SeguimientoAccionRegistrado(DomainEvent):
    """Follow-up of an action of the plan in force."""

    municipio: Municipio
    version_plan: int
    accion_id: str
    cbt: Cbt
    estado: EstadoAccion
    avance: int = Field(ge=0, le=100)
    fecha: date


# --- participation and social control -----------------------------------------------------


class Compromiso(_Valor):
    compromiso_id: str
    descripcion: str
    responsable_id: str = Field(description="The entity or office that committed (its id)")
    fecha_limite: date
    estado: EstadoCompromiso = EstadoCompromiso.PENDIENTE


@events.register("RendicionCuentasRealizada")
class RendicionCuentasRealizada(DomainEvent):
    """An accountability session: a level of government reported to the community."""

    rendicion_id: str
    municipio: Municipio
    fecha: date
    nivel: NivelGobierno
    asistentes: int = Field(ge=0)
    compromisos: tuple[Compromiso, ...]


@events.register("SeguimientoCompromisoRegistrado")
class SeguimientoCompromisoRegistrado(DomainEvent):
    rendicion_id: str
    municipio: Municipio
    compromiso_id: str
    estado: EstadoCompromiso
    fecha: date


@events.register("EspacioParticipacionRealizado")
class EspacioParticipacionRealizado(DomainEvent):
    espacio_id: str
    municipio: Municipio
    tipo: TipoEspacio
    fecha: date
    participantes: int = Field(ge=0)


@events.register("VeeduriaRecibida")
class VeeduriaRecibida(DomainEvent):
    """A citizen's report or complaint on the program: id, place, category; never its text."""

    veeduria_id: str
    municipio: Municipio
    categoria: CategoriaVeeduria
    fecha: date


@events.register("TextoVeeduriaRegistrado", private=True)
class TextoVeeduriaRegistrado(DomainEvent):
    """Never published: the complaint as the citizen wrote it (it may name people)."""

    veeduria_id: str
    texto: str


@events.register("VeeduriaActualizada")
class VeeduriaActualizada(DomainEvent):
    veeduria_id: str
    municipio: Municipio
    categoria: CategoriaVeeduria
    estado: EstadoVeeduria
    fecha: date


@events.register("RespuestaVeeduriaRegistrada", private=True)
class RespuestaVeeduriaRegistrada(DomainEvent):
    """Never published: the answer given to the citizen (it may name people too)."""

    veeduria_id: str
    respuesta: str
