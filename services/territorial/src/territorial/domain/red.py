"""The network that runs JUNTOS in the territory: microregions, the Red Local, the councils.

- A microregion groups the municipalities one social operator serves; a municipality belongs to
  at most one (the handler passes which municipalities other microregions hold).
- The Red Local of a municipality: the implementation agreement signed with the mayor (its
  date), the municipal delegate and the operator's local coordinator (pseudonymous user ids,
  never names), and the sessions of the Consejo Municipal de Política Social.
- The Consejo Departamental de Política Social of a department, with its sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import singledispatch

from juntos_events.events import DomainEvent

from territorial.domain import Agregado, ReglaIncumplida, no_futura
from territorial.events import (
    ConvenioImplementacionFirmado,
    MicrorregionDefinida,
    RedLocalDesignada,
    SesionConsejoDepartamentalRegistrada,
    SesionConsejoMunicipalRegistrada,
)
from territorial.vocabulario import TipoSesion

# --- microregion --------------------------------------------------------------------------


@dataclass(frozen=True)
class Microrregion:
    microrregion_id: str = ""
    denominacion: str = ""
    operador_id: str = ""
    municipios: frozenset[str] = frozenset()

    @property
    def existe(self) -> bool:
        return bool(self.microrregion_id)


@dataclass(frozen=True)
class DefinirMicrorregion:
    microrregion_id: str
    denominacion: str
    operador_id: str
    municipios: frozenset[str]
    ocupados: Mapping[str, str]
    """Municipality -> the microregion that holds it now (from the read model)."""


def _evolve_microrregion(s: Microrregion, e: DomainEvent) -> Microrregion:
    if isinstance(e, MicrorregionDefinida):
        return Microrregion(
            e.microrregion_id, e.denominacion, e.operador_id, frozenset(e.municipios)
        )
    return s


def _decide_microrregion(s: Microrregion, c: DefinirMicrorregion) -> list[DomainEvent]:
    ajenos = sorted(
        f"{m} ({c.ocupados[m]})"
        for m in c.municipios
        if c.ocupados.get(m, c.microrregion_id) != c.microrregion_id
    )
    if ajenos:
        raise ReglaIncumplida(
            "a municipality is served by one operator: already in another microregion: "
            + ", ".join(ajenos),
            codigo="municipality-taken",
        )
    if s.existe and (s.denominacion, s.operador_id, s.municipios) == (
        c.denominacion,
        c.operador_id,
        c.municipios,
    ):
        return []
    return [
        MicrorregionDefinida(
            microrregion_id=c.microrregion_id,
            denominacion=c.denominacion,
            operador_id=c.operador_id,
            municipios=tuple(sorted(c.municipios)),
        )
    ]


MICRORREGION: Agregado[Microrregion] = Agregado(
    "microrregion", Microrregion(), _evolve_microrregion, _decide_microrregion
)


# --- council sessions (municipal and departmental) ----------------------------------------


@dataclass(frozen=True)
class Sesion:
    sesion_id: str
    fecha: date
    tipo: TipoSesion
    asistentes: int


@dataclass(frozen=True)
class RegistrarSesion:
    territorio: str  # the municipality (Red Local) or department (departmental council)
    sesion_id: str
    fecha: date
    tipo: TipoSesion
    asistentes: int
    hoy: date


def _sesion_nueva(sesiones: tuple[Sesion, ...], c: RegistrarSesion) -> None:
    no_futura(c.fecha, c.hoy, "the session date")
    if any(s.sesion_id == c.sesion_id for s in sesiones):
        raise ReglaIncumplida("the session is already registered", codigo="already-exists")


# --- Red Local ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RedLocal:
    municipio: str = ""
    convenio_fecha: date | None = None
    delegado_municipal_id: str | None = None
    coordinador_local_id: str | None = None
    sesiones: tuple[Sesion, ...] = ()


@dataclass(frozen=True)
class ActualizarRedLocal:
    """What is given changes; what is None stays as it is (a signed agreement stays signed)."""

    municipio: str
    convenio_fecha: date | None
    delegado_municipal_id: str | None
    coordinador_local_id: str | None
    hoy: date


@singledispatch
def _evolve_red(e: DomainEvent, s: RedLocal) -> RedLocal:
    return s


@_evolve_red.register
def _(e: ConvenioImplementacionFirmado, s: RedLocal) -> RedLocal:
    return replace(s, municipio=e.municipio, convenio_fecha=e.fecha)


@_evolve_red.register
def _(e: RedLocalDesignada, s: RedLocal) -> RedLocal:
    return replace(
        s,
        municipio=e.municipio,
        delegado_municipal_id=e.delegado_municipal_id,
        coordinador_local_id=e.coordinador_local_id,
    )


@_evolve_red.register
def _(e: SesionConsejoMunicipalRegistrada, s: RedLocal) -> RedLocal:
    sesion = Sesion(e.sesion_id, e.fecha, e.tipo, e.asistentes)
    return replace(s, municipio=e.municipio, sesiones=(*s.sesiones, sesion))


def _decide_red(s: RedLocal, c: ActualizarRedLocal | RegistrarSesion) -> list[DomainEvent]:
    if isinstance(c, RegistrarSesion):
        _sesion_nueva(s.sesiones, c)
        return [
            SesionConsejoMunicipalRegistrada(
                municipio=c.territorio,
                sesion_id=c.sesion_id,
                fecha=c.fecha,
                tipo=c.tipo,
                asistentes=c.asistentes,
            )
        ]
    out: list[DomainEvent] = []
    if c.convenio_fecha is not None and c.convenio_fecha != s.convenio_fecha:
        no_futura(c.convenio_fecha, c.hoy, "the agreement date")
        out.append(ConvenioImplementacionFirmado(municipio=c.municipio, fecha=c.convenio_fecha))
    designacion = (c.delegado_municipal_id, c.coordinador_local_id)
    if None in designacion and designacion != (None, None):
        raise ReglaIncumplida(
            "name both the municipal delegate and the local coordinator, or neither",
            status=422,
            codigo="incomplete-designation",
        )
    if designacion != (None, None) and designacion != (
        s.delegado_municipal_id,
        s.coordinador_local_id,
    ):
        out.append(
            RedLocalDesignada(
                municipio=c.municipio,
                delegado_municipal_id=c.delegado_municipal_id or "",
                coordinador_local_id=c.coordinador_local_id or "",
            )
        )
    return out


RED_LOCAL: Agregado[RedLocal] = Agregado(
    "red-local", RedLocal(), lambda s, e: _evolve_red(e, s), _decide_red
)


# --- departmental council -----------------------------------------------------------------


@dataclass(frozen=True)
class ConsejoDepartamental:
    departamento: str = ""
    sesiones: tuple[Sesion, ...] = field(default_factory=tuple)


def _evolve_consejo(s: ConsejoDepartamental, e: DomainEvent) -> ConsejoDepartamental:
    if isinstance(e, SesionConsejoDepartamentalRegistrada):
        sesion = Sesion(e.sesion_id, e.fecha, e.tipo, e.asistentes)
        return ConsejoDepartamental(e.departamento, (*s.sesiones, sesion))
    return s


def _decide_consejo(s: ConsejoDepartamental, c: RegistrarSesion) -> list[DomainEvent]:
    _sesion_nueva(s.sesiones, c)
    return [
        SesionConsejoDepartamentalRegistrada(
            departamento=c.territorio,
            sesion_id=c.sesion_id,
            fecha=c.fecha,
            tipo=c.tipo,
            asistentes=c.asistentes,
        )
    ]


CONSEJO_DEPARTAMENTAL: Agregado[ConsejoDepartamental] = Agregado(
    "consejo-departamental", ConsejoDepartamental(), _evolve_consejo, _decide_consejo
)
