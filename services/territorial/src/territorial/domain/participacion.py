"""Participation and social control: accountability sessions, participation spaces, complaints.

- A rendición de cuentas: a level of government (national, departmental, municipal) reports to
  the community of a municipality; attendance and the commitments made, each followed up until
  CUMPLIDO or INCUMPLIDO.
- A participation space: a community meeting of the program (type, date, participants).
- A veeduría: a citizen's report or complaint on the program, RECIBIDA -> EN_TRAMITE ->
  RESUELTA. Its text and the answer may name people: they go to private events only; the
  published ones carry the id, the municipality, the category and the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from juntos_events.events import DomainEvent

from territorial.domain import Agregado, ReglaIncumplida, no_existe, no_futura
from territorial.events import (
    Compromiso,
    EspacioParticipacionRealizado,
    RendicionCuentasRealizada,
    RespuestaVeeduriaRegistrada,
    SeguimientoCompromisoRegistrado,
    TextoVeeduriaRegistrado,
    VeeduriaActualizada,
    VeeduriaRecibida,
)
from territorial.vocabulario import (
    COMPROMISO_CERRADO,
    CategoriaVeeduria,
    EstadoCompromiso,
    EstadoVeeduria,
    NivelGobierno,
    TipoEspacio,
)

# --- rendición de cuentas -----------------------------------------------------------------


@dataclass(frozen=True)
class Rendicion:
    rendicion_id: str = ""
    municipio: str = ""
    fecha: date | None = None
    nivel: NivelGobierno | None = None
    asistentes: int = 0
    compromisos: Mapping[str, Compromiso] = field(default_factory=dict)

    @property
    def existe(self) -> bool:
        return bool(self.rendicion_id)


@dataclass(frozen=True)
class RealizarRendicion:
    rendicion_id: str
    municipio: str
    fecha: date
    nivel: NivelGobierno
    asistentes: int
    compromisos: tuple[Compromiso, ...]
    hoy: date


@dataclass(frozen=True)
class SeguirCompromiso:
    compromiso_id: str
    estado: EstadoCompromiso
    fecha: date
    hoy: date


def _evolve_rendicion(s: Rendicion, e: DomainEvent) -> Rendicion:
    if isinstance(e, RendicionCuentasRealizada):
        return Rendicion(
            e.rendicion_id,
            e.municipio,
            e.fecha,
            e.nivel,
            e.asistentes,
            {c.compromiso_id: c for c in e.compromisos},
        )
    if isinstance(e, SeguimientoCompromisoRegistrado):
        compromiso = s.compromisos[e.compromiso_id].model_copy(update={"estado": e.estado})
        return replace(s, compromisos={**s.compromisos, e.compromiso_id: compromiso})
    return s


def _decide_rendicion(s: Rendicion, c: RealizarRendicion | SeguirCompromiso) -> list[DomainEvent]:
    if isinstance(c, RealizarRendicion):
        if s.existe:
            raise ReglaIncumplida("the session is already registered", codigo="already-exists")
        no_futura(c.fecha, c.hoy, "the session date")
        return [
            RendicionCuentasRealizada(
                rendicion_id=c.rendicion_id,
                municipio=c.municipio,
                fecha=c.fecha,
                nivel=c.nivel,
                asistentes=c.asistentes,
                compromisos=c.compromisos,
            )
        ]
    if not s.existe:
        raise no_existe("the accountability session")
    compromiso = s.compromisos.get(c.compromiso_id)
    if compromiso is None:
        raise no_existe("the commitment")
    no_futura(c.fecha, c.hoy, "the follow-up date")
    if s.fecha is not None and c.fecha < s.fecha:
        raise ReglaIncumplida(
            f"the commitment was made on {s.fecha}; its follow-up is dated on or after it",
            status=422,
            codigo="date-before-history",
        )
    if compromiso.estado in COMPROMISO_CERRADO:
        raise ReglaIncumplida(f"the commitment is {compromiso.estado}: closed", codigo="closed")
    if c.estado == compromiso.estado:
        return []
    return [
        SeguimientoCompromisoRegistrado(
            rendicion_id=s.rendicion_id,
            municipio=s.municipio,
            compromiso_id=c.compromiso_id,
            estado=c.estado,
            fecha=c.fecha,
        )
    ]


RENDICION: Agregado[Rendicion] = Agregado(
    "rendicion", Rendicion(), _evolve_rendicion, _decide_rendicion
)


# --- participation space ------------------------------------------------------------------


@dataclass(frozen=True)
class Espacio:
    espacio_id: str = ""


@dataclass(frozen=True)
class RegistrarEspacio:
    espacio_id: str
    municipio: str
    tipo: TipoEspacio
    fecha: date
    participantes: int
    hoy: date


def _evolve_espacio(s: Espacio, e: DomainEvent) -> Espacio:
    return Espacio(e.espacio_id) if isinstance(e, EspacioParticipacionRealizado) else s


def _decide_espacio(s: Espacio, c: RegistrarEspacio) -> list[DomainEvent]:
    if s.espacio_id:
        raise ReglaIncumplida("the space is already registered", codigo="already-exists")
    no_futura(c.fecha, c.hoy)
    return [
        EspacioParticipacionRealizado(
            espacio_id=c.espacio_id,
            municipio=c.municipio,
            tipo=c.tipo,
            fecha=c.fecha,
            participantes=c.participantes,
        )
    ]


ESPACIO: Agregado[Espacio] = Agregado("espacio", Espacio(), _evolve_espacio, _decide_espacio)


# --- veeduría -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Veeduria:
    veeduria_id: str = ""
    municipio: str = ""
    categoria: CategoriaVeeduria | None = None
    estado: EstadoVeeduria | None = None
    recibida: date | None = None
    actualizada: date | None = None
    texto: str = ""
    respuesta: str | None = None

    @property
    def existe(self) -> bool:
        return bool(self.veeduria_id)


@dataclass(frozen=True)
class RecibirVeeduria:
    veeduria_id: str
    municipio: str
    categoria: CategoriaVeeduria
    texto: str
    fecha: date
    hoy: date


@dataclass(frozen=True)
class TramitarVeeduria:
    estado: EstadoVeeduria
    fecha: date
    respuesta: str | None
    hoy: date


def _evolve_veeduria(s: Veeduria, e: DomainEvent) -> Veeduria:
    match e:
        case VeeduriaRecibida():
            return Veeduria(
                e.veeduria_id,
                e.municipio,
                e.categoria,
                EstadoVeeduria.RECIBIDA,
                recibida=e.fecha,
                actualizada=e.fecha,
            )
        case TextoVeeduriaRegistrado():
            return replace(s, texto=e.texto)
        case VeeduriaActualizada():
            return replace(s, estado=e.estado, actualizada=e.fecha)
        case RespuestaVeeduriaRegistrada():
            return replace(s, respuesta=e.respuesta)
    return s


def _decide_veeduria(s: Veeduria, c: RecibirVeeduria | TramitarVeeduria) -> list[DomainEvent]:
    if isinstance(c, RecibirVeeduria):
        if s.existe:
            raise ReglaIncumplida("the report is already registered", codigo="already-exists")
        no_futura(c.fecha, c.hoy)
        return [
            VeeduriaRecibida(
                veeduria_id=c.veeduria_id,
                municipio=c.municipio,
                categoria=c.categoria,
                fecha=c.fecha,
            ),
            TextoVeeduriaRegistrado(veeduria_id=c.veeduria_id, texto=c.texto),
        ]
    if not s.existe or s.categoria is None:
        raise no_existe("the report")
    no_futura(c.fecha, c.hoy)
    if s.actualizada is not None and c.fecha < s.actualizada:
        raise ReglaIncumplida(
            f"the report was last updated on {s.actualizada}; changes are dated on or after it",
            status=422,
            codigo="date-before-history",
        )
    if s.estado is EstadoVeeduria.RESUELTA:
        raise ReglaIncumplida("the report is RESUELTA: closed", codigo="closed")
    if c.estado is EstadoVeeduria.RECIBIDA:
        raise ReglaIncumplida(
            "a report goes to EN_TRAMITE or RESUELTA", status=422, codigo="invalid-transition"
        )
    out: list[DomainEvent] = []
    if c.estado != s.estado:
        out.append(
            VeeduriaActualizada(
                veeduria_id=s.veeduria_id,
                municipio=s.municipio,
                categoria=s.categoria,
                estado=c.estado,
                fecha=c.fecha,
            )
        )
    if c.respuesta is not None and c.respuesta != s.respuesta:
        out.append(RespuestaVeeduriaRegistrada(veeduria_id=s.veeduria_id, respuesta=c.respuesta))
    return out


VEEDURIA: Agregado[Veeduria] = Agregado("veeduria", Veeduria(), _evolve_veeduria, _decide_veeduria)
