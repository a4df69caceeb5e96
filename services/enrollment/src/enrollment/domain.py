"""The family and the cogestor: state, commands, `decide` and `evolve`; pure, no I/O.

Handlers load a stream, fold it with `evolve`, ask `decide` what happens, and append the result.
Personal data reaches the domain already sealed (opaque strings): the core can route it to the
private event but cannot read or leak it. Rule violations raise `ReglaIncumplida` with the
status an API gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import reduce, singledispatch

from juntos_events.events import DomainEvent
from juntos_events.rules import ReglaIncumplida, todos_o_ninguno

from enrollment.events import (
    Atributos,
    CogestorAsignado,
    CogestorRegistrado,
    DatosPersonalesEliminados,
    DatosPersonalesRegistrados,
    FamiliaAsignadaACogestor,
    FamiliaEgresadaPorTiempo,
    FamiliaLiberadaDeCogestor,
    FamiliaMarcadaDesplazada,
    FamiliaNoVinculada,
    FamiliaPreseleccionada,
    FamiliaPromovida,
    FamiliaReabierta,
    FamiliaRetirada,
    FamiliaVinculada,
    Integrante,
    IntegranteActualizado,
    IntegranteRegistrado,
    IntegranteRetirado,
)
from enrollment.vocabulario import (
    SALIDAS,
    EstadoFamilia,
    MotivoIngresoIntegrante,
    MotivoNoVinculacion,
    MotivoReapertura,
    MotivoRetiro,
    MotivoRetiroIntegrante,
    Registro,
)

ANOS_DE_ACOMPANAMIENTO = 5
EDAD_MINIMA_FIRMANTE = 18


def edad(nacimiento: date, hoy: date) -> int:
    return hoy.year - nacimiento.year - ((hoy.month, hoy.day) < (nacimiento.month, nacimiento.day))


def mas_anos(dia: date, anos: int) -> date:
    """Same day `anos` later; 29 February falls on 28 February in common years."""
    try:
        return dia.replace(year=dia.year + anos)
    except ValueError:
        return dia.replace(year=dia.year + anos, day=28)


# --- family -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Familia:
    familia_id: str = ""
    estado: EstadoFamilia | None = None
    municipio: str = ""
    registros: frozenset[Registro] = frozenset()
    desplazada: bool = False
    nivel_sisben: int | None = None
    integrantes: Mapping[str, Atributos] = field(default_factory=dict)
    retirados: frozenset[str] = frozenset()
    cogestor_id: str | None = None
    fecha_vinculacion: date | None = None
    acuerdo: tuple[date, str, str] | None = None
    """The signed acuerdo: date, signer, place (a resend of it is recognised)."""
    estado_previo: EstadoFamilia | None = None
    datos_eliminados: bool = False
    sellados: Mapping[str, str] = field(default_factory=dict)
    """Each member's latest sealed personal data; opaque here, opened only by `boveda`."""

    @property
    def existe(self) -> bool:
        return self.estado is not None

    @property
    def fecha_limite(self) -> date | None:
        if self.fecha_vinculacion is None:
            return None
        return mas_anos(self.fecha_vinculacion, ANOS_DE_ACOMPANAMIENTO)


@singledispatch
def _evolve_familia(event: DomainEvent, state: Familia) -> Familia:
    return state  # events of other aggregates leave the family as it is


@_evolve_familia.register
def _(e: FamiliaPreseleccionada, s: Familia) -> Familia:
    return Familia(
        familia_id=e.familia_id,
        estado=EstadoFamilia.PRESELECCIONADA,
        municipio=e.municipio,
        registros=frozenset({e.registro}),
        desplazada=e.desplazada,
        nivel_sisben=e.nivel_sisben,
        integrantes={i.integrante_id: _atributos(i) for i in e.integrantes},
    )


@_evolve_familia.register
def _(e: FamiliaMarcadaDesplazada, s: Familia) -> Familia:
    return replace(s, desplazada=True, registros=s.registros | {e.registro})


@_evolve_familia.register
def _(e: FamiliaVinculada, s: Familia) -> Familia:
    return replace(
        s,
        estado=EstadoFamilia.VINCULADA,
        fecha_vinculacion=e.fecha_vinculacion,
        acuerdo=(e.fecha_vinculacion, e.firmante_id, e.lugar_municipio),
    )


@_evolve_familia.register
def _(e: FamiliaNoVinculada, s: Familia) -> Familia:
    return replace(s, estado=EstadoFamilia.NO_VINCULADA)


@_evolve_familia.register
def _(e: IntegranteRegistrado, s: Familia) -> Familia:
    return replace(
        s, integrantes={**s.integrantes, e.integrante.integrante_id: _atributos(e.integrante)}
    )


@_evolve_familia.register
def _(e: IntegranteActualizado, s: Familia) -> Familia:
    return replace(
        s, integrantes={**s.integrantes, e.integrante.integrante_id: _atributos(e.integrante)}
    )


@_evolve_familia.register
def _(e: IntegranteRetirado, s: Familia) -> Familia:
    rest = {k: v for k, v in s.integrantes.items() if k != e.integrante_id}
    return replace(s, integrantes=rest, retirados=s.retirados | {e.integrante_id})


@_evolve_familia.register
def _(e: CogestorAsignado, s: Familia) -> Familia:
    return replace(s, cogestor_id=e.cogestor_id)


def _salida(s: Familia, estado: EstadoFamilia) -> Familia:
    return replace(s, estado=estado, estado_previo=s.estado, cogestor_id=None)


@_evolve_familia.register
def _(e: FamiliaRetirada, s: Familia) -> Familia:
    return _salida(s, EstadoFamilia.RETIRADA)


@_evolve_familia.register
def _(e: FamiliaPromovida, s: Familia) -> Familia:
    return _salida(s, EstadoFamilia.PROMOVIDA)


@_evolve_familia.register
def _(e: FamiliaEgresadaPorTiempo, s: Familia) -> Familia:
    return _salida(s, EstadoFamilia.EGRESADA_POR_TIEMPO)


@_evolve_familia.register
def _(e: FamiliaReabierta, s: Familia) -> Familia:
    return replace(s, estado=e.estado, estado_previo=None)


@_evolve_familia.register
def _(e: DatosPersonalesRegistrados, s: Familia) -> Familia:
    return replace(s, sellados={**s.sellados, **e.sellados})


@_evolve_familia.register
def _(e: DatosPersonalesEliminados, s: Familia) -> Familia:
    return replace(s, datos_eliminados=True)


def evolve(state: Familia, event: DomainEvent) -> Familia:
    return _evolve_familia(event, state)


def fold(events: Iterable[DomainEvent], state: Familia | None = None) -> Familia:
    return reduce(evolve, events, state or Familia())


def _atributos(integrante: Integrante) -> Atributos:
    return Atributos.model_validate(integrante.model_dump(exclude={"integrante_id"}))


# --- family commands --------------------------------------------------------------------------


@dataclass(frozen=True)
class Preseleccionar:
    familia_id: str
    municipio: str
    registro: Registro
    nivel_sisben: int | None
    integrantes: tuple[Integrante, ...]
    sellados: Mapping[str, str]


@dataclass(frozen=True)
class IncorporarRegistro:
    """The same household found again (re-import, or the other registry): add what is new."""

    registro: Registro
    nuevos: tuple[Integrante, ...]
    sellados: Mapping[str, str]


@dataclass(frozen=True)
class Vincular:
    fecha: date
    firmante_id: str
    lugar_municipio: str
    cogestor_id: str
    cogestor_municipio: str


@dataclass(frozen=True)
class NoVincular:
    fecha: date
    motivo: MotivoNoVinculacion
    cogestor_id: str
    cogestor_municipio: str


@dataclass(frozen=True)
class RegistrarIntegrante:
    integrante: Integrante
    motivo: MotivoIngresoIntegrante
    sellado: str


@dataclass(frozen=True)
class CorregirIntegrante:
    integrante: Integrante
    sellado: str | None


@dataclass(frozen=True)
class RetirarIntegrante:
    integrante_id: str
    motivo: MotivoRetiroIntegrante
    fecha: date


@dataclass(frozen=True)
class Retirar:
    motivo: MotivoRetiro
    fecha: date


@dataclass(frozen=True)
class Promover:
    fecha: date


@dataclass(frozen=True)
class EgresarPorTiempo:
    hoy: date


@dataclass(frozen=True)
class Reabrir:
    motivo: MotivoReapertura


@dataclass(frozen=True)
class EliminarDatosPersonales:
    fecha: date


ComandoFamilia = (
    Preseleccionar
    | IncorporarRegistro
    | Vincular
    | NoVincular
    | RegistrarIntegrante
    | CorregirIntegrante
    | RetirarIntegrante
    | Retirar
    | Promover
    | EgresarPorTiempo
    | Reabrir
    | EliminarDatosPersonales
)


def decide(state: Familia, command: ComandoFamilia) -> list[DomainEvent]:
    """The events `command` produces on a family in `state`, or ReglaIncumplida."""
    if isinstance(command, Preseleccionar):
        return _preseleccionar(state, command)
    if not state.existe:
        raise ReglaIncumplida("the family does not exist", status=404, codigo="not-found")
    if isinstance(command, EliminarDatosPersonales):
        if state.datos_eliminados:
            return []
        return [DatosPersonalesEliminados(familia_id=state.familia_id, fecha=command.fecha)]
    if isinstance(command, Reabrir):
        return _reabrir(state, command)
    if state.estado in SALIDAS:
        if isinstance(command, IncorporarRegistro | Promover | EgresarPorTiempo):
            return []  # late news about a family that already left changes nothing
        raise ReglaIncumplida(
            f"the family has exited ({state.estado}); only a national coordinator can reopen it",
            codigo="family-exited",
        )
    match command:
        case IncorporarRegistro():
            return _incorporar(state, command)
        case Vincular():
            return _vincular(state, command)
        case NoVincular():
            return _no_vincular(state, command)
        case RegistrarIntegrante():
            return _registrar_integrante(state, command)
        case CorregirIntegrante():
            return _corregir_integrante(state, command)
        case RetirarIntegrante():
            return _retirar_integrante(state, command)
        case Retirar():
            return [
                FamiliaRetirada(
                    familia_id=state.familia_id, motivo=command.motivo, fecha=command.fecha
                )
            ]
        case Promover():
            if state.estado is not EstadoFamilia.VINCULADA:
                raise ReglaIncumplida(
                    "only a vinculada family can graduate", codigo="not-vinculada"
                )
            return [FamiliaPromovida(familia_id=state.familia_id, fecha=command.fecha)]
        case EgresarPorTiempo():
            limite = state.fecha_limite
            if (
                state.estado is not EstadoFamilia.VINCULADA
                or limite is None
                or command.hoy < limite
            ):
                return []
            return [
                FamiliaEgresadaPorTiempo(
                    familia_id=state.familia_id,
                    fecha=limite,
                    fecha_vinculacion=state.fecha_vinculacion,
                )
            ]
    raise TypeError(f"unknown command {command!r}")  # pragma: no cover


def _sellados(state_or_id: str, sellados: Mapping[str, str]) -> list[DomainEvent]:
    if not sellados:
        return []
    return [DatosPersonalesRegistrados(familia_id=state_or_id, sellados=dict(sellados))]


def _preseleccionar(state: Familia, c: Preseleccionar) -> list[DomainEvent]:
    if state.existe:
        raise ReglaIncumplida("the family already exists", codigo="already-exists")
    jefes = [i for i in c.integrantes if i.parentesco == "JEFE"]
    if len(jefes) != 1:
        raise ReglaIncumplida(
            f"a household needs exactly one head (JEFE), this one has {len(jefes)}",
            status=422,
            codigo="household-head",
        )
    return [
        FamiliaPreseleccionada(
            familia_id=c.familia_id,
            municipio=c.municipio,
            registro=c.registro,
            desplazada=c.registro is Registro.RUPD,
            nivel_sisben=c.nivel_sisben,
            integrantes=c.integrantes,
        ),
        *_sellados(c.familia_id, c.sellados),
    ]


def _incorporar(state: Familia, c: IncorporarRegistro) -> list[DomainEvent]:
    out: list[DomainEvent] = []
    if c.registro is Registro.RUPD and not state.desplazada:
        out.append(FamiliaMarcadaDesplazada(familia_id=state.familia_id, registro=c.registro))
    for integrante in c.nuevos:
        if integrante.integrante_id in state.integrantes:
            continue
        out.append(
            IntegranteRegistrado(
                familia_id=state.familia_id,
                integrante=integrante,
                motivo=MotivoIngresoIntegrante.REGISTRO,
            )
        )
    sellados = {k: v for k, v in c.sellados.items() if k not in state.integrantes}
    return out + _sellados(state.familia_id, sellados)


def _vincular(state: Familia, c: Vincular) -> list[DomainEvent]:
    if state.estado is EstadoFamilia.VINCULADA:
        raise ReglaIncumplida("the family is already vinculada", codigo="already-vinculada")
    if c.cogestor_municipio != state.municipio:
        raise ReglaIncumplida(
            f"the family lives in municipality {state.municipio}, outside the cogestor's "
            f"{c.cogestor_municipio}",
            status=403,
            codigo="out-of-scope",
        )
    firmante = state.integrantes.get(c.firmante_id)
    if firmante is None:
        raise ReglaIncumplida(
            "the signer must be an active member of the family", status=422, codigo="signer"
        )
    if edad(firmante.fecha_nacimiento, c.fecha) < EDAD_MINIMA_FIRMANTE:
        raise ReglaIncumplida(
            f"the signer must be at least {EDAD_MINIMA_FIRMANTE} years old",
            status=422,
            codigo="signer",
        )
    return [
        FamiliaVinculada(
            familia_id=state.familia_id,
            municipio=state.municipio,
            fecha_vinculacion=c.fecha,
            fecha_limite=mas_anos(c.fecha, ANOS_DE_ACOMPANAMIENTO),
            firmante_id=c.firmante_id,
            lugar_municipio=c.lugar_municipio,
            cogestor_id=c.cogestor_id,
        )
    ]


def es_reenvio(state: Familia, c: Vincular) -> bool:
    """The acuerdo the family already signed, uploaded again (a device resending its batch)."""
    return state.estado is EstadoFamilia.VINCULADA and state.acuerdo == (
        c.fecha,
        c.firmante_id,
        c.lugar_municipio,
    )


def _no_vincular(state: Familia, c: NoVincular) -> list[DomainEvent]:
    if state.estado is not EstadoFamilia.PRESELECCIONADA:
        raise ReglaIncumplida(
            f"only a preselected family can decline, this one is {state.estado}",
            codigo="not-preselected",
        )
    if c.cogestor_municipio != state.municipio:
        raise ReglaIncumplida(
            f"the family lives in municipality {state.municipio}, outside the cogestor's "
            f"{c.cogestor_municipio}",
            status=403,
            codigo="out-of-scope",
        )
    return [
        FamiliaNoVinculada(
            familia_id=state.familia_id, fecha=c.fecha, motivo=c.motivo, cogestor_id=c.cogestor_id
        )
    ]


def _registrar_integrante(state: Familia, c: RegistrarIntegrante) -> list[DomainEvent]:
    nuevo = c.integrante
    if nuevo.integrante_id in state.integrantes or nuevo.integrante_id in state.retirados:
        raise ReglaIncumplida("the member is already registered", codigo="already-exists")
    if nuevo.parentesco == "JEFE":
        raise ReglaIncumplida(
            "the family already has a head; register the member with another relationship",
            status=422,
            codigo="household-head",
        )
    return [
        IntegranteRegistrado(familia_id=state.familia_id, integrante=nuevo, motivo=c.motivo),
        *_sellados(state.familia_id, {nuevo.integrante_id: c.sellado}),
    ]


def _corregir_integrante(state: Familia, c: CorregirIntegrante) -> list[DomainEvent]:
    iid = c.integrante.integrante_id
    actual = state.integrantes.get(iid)
    if actual is None:
        raise ReglaIncumplida("no active member with that id", status=404, codigo="not-found")
    if (c.integrante.parentesco == "JEFE") != (actual.parentesco == "JEFE"):
        raise ReglaIncumplida(
            "the head of the household cannot be changed by a correction",
            status=422,
            codigo="household-head",
        )
    out: list[DomainEvent] = []
    if _atributos(c.integrante) != actual:
        out.append(IntegranteActualizado(familia_id=state.familia_id, integrante=c.integrante))
    if c.sellado is not None:
        out += _sellados(state.familia_id, {iid: c.sellado})
    return out


def _retirar_integrante(state: Familia, c: RetirarIntegrante) -> list[DomainEvent]:
    if c.integrante_id not in state.integrantes:
        raise ReglaIncumplida("no active member with that id", status=404, codigo="not-found")
    retiro = IntegranteRetirado(
        familia_id=state.familia_id, integrante_id=c.integrante_id, motivo=c.motivo, fecha=c.fecha
    )
    if len(state.integrantes) > 1:
        return [retiro]
    if c.motivo is MotivoRetiroIntegrante.FALLECIMIENTO:
        return [
            retiro,
            FamiliaRetirada(
                familia_id=state.familia_id,
                motivo=MotivoRetiro.FALLECIMIENTO_DE_TODOS,
                fecha=c.fecha,
            ),
        ]
    raise ReglaIncumplida(
        "this is the family's last member: withdraw the family instead", codigo="last-member"
    )


def _reabrir(state: Familia, c: Reabrir) -> list[DomainEvent]:
    if state.estado not in SALIDAS:
        raise ReglaIncumplida(
            f"only an exited family can be reopened, this one is {state.estado}",
            codigo="not-exited",
        )
    estado = state.estado_previo or EstadoFamilia.PRESELECCIONADA
    return [FamiliaReabierta(familia_id=state.familia_id, motivo=c.motivo, estado=estado)]


# --- cogestor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cogestor:
    cogestor_id: str = ""
    operador: str = ""
    microrregion: str = ""
    municipios: frozenset[str] = frozenset()
    capacidad: int = 0
    familias: frozenset[str] = frozenset()

    @property
    def existe(self) -> bool:
        return bool(self.cogestor_id)

    @property
    def carga(self) -> int:
        return len(self.familias)


@singledispatch
def _evolve_cogestor(event: DomainEvent, state: Cogestor) -> Cogestor:
    return state


@_evolve_cogestor.register
def _(e: CogestorRegistrado, s: Cogestor) -> Cogestor:
    return replace(
        s,
        cogestor_id=e.cogestor_id,
        operador=e.operador,
        microrregion=e.microrregion,
        municipios=frozenset(e.municipios),
        capacidad=e.capacidad,
    )


@_evolve_cogestor.register
def _(e: FamiliaAsignadaACogestor, s: Cogestor) -> Cogestor:
    return replace(s, familias=s.familias | {e.familia_id})


@_evolve_cogestor.register
def _(e: FamiliaLiberadaDeCogestor, s: Cogestor) -> Cogestor:
    return replace(s, familias=s.familias - {e.familia_id})


def evolve_cogestor(state: Cogestor, event: DomainEvent) -> Cogestor:
    return _evolve_cogestor(event, state)


def fold_cogestor(events: Iterable[DomainEvent]) -> Cogestor:
    return reduce(evolve_cogestor, events, Cogestor())


def fold_cogestor_from(state: Cogestor, events: Iterable[DomainEvent]) -> Cogestor:
    return reduce(evolve_cogestor, events, state)


@dataclass(frozen=True)
class RegistrarCogestor:
    cogestor_id: str
    operador: str
    microrregion: str
    municipios: tuple[str, ...]
    capacidad: int


def decide_cogestor(state: Cogestor, c: RegistrarCogestor) -> list[DomainEvent]:
    """Registering again updates operator, microregion and capacity (same event, new values).

    Lowering the capacity below the current load keeps the families; it only stops new ones.
    """
    if state.existe and (
        state.operador,
        state.microrregion,
        state.municipios,
        state.capacidad,
    ) == (c.operador, c.microrregion, frozenset(c.municipios), c.capacidad):
        return []
    return [
        CogestorRegistrado(
            cogestor_id=c.cogestor_id,
            operador=c.operador,
            microrregion=c.microrregion,
            municipios=tuple(sorted(set(c.municipios))),
            capacidad=c.capacidad,
        )
    ]


@dataclass(frozen=True)
class Asignacion:
    """The events of an assignment: by family stream, and by cogestor id (new, previous)."""

    familias: dict[str, list[DomainEvent]]
    cogestores: dict[str, list[DomainEvent]]


def decide_asignacion(
    familia: Familia, nuevo: Cogestor, anteriores: Mapping[str, Cogestor]
) -> Asignacion:
    """Assign `familia` to `nuevo`, freeing it from its current cogestor (in `anteriores`, by
    id); refuse over capacity."""
    _asignable(familia)
    _registrado(nuevo)
    if familia.cogestor_id == nuevo.cogestor_id:
        return Asignacion({}, {})
    _en_microrregion(familia, nuevo)
    _con_lugar(nuevo, 1)
    return _asignar(nuevo, [familia], anteriores)


def decide_asignaciones(
    familias: Sequence[tuple[str, Familia]], nuevo: Cogestor, anteriores: Mapping[str, Cogestor]
) -> Asignacion:
    """Each family as `decide_asignacion`, all or nothing: one bad family refuses the list,
    naming every bad one by its index (a family twice is bad too); the capacity is checked once,
    for every family the list adds. `anteriores`: the families' current cogestores, by id."""
    _registrado(nuevo)
    nuevas: list[Familia] = []

    def revisar(i: int) -> None:
        familia = familias[i][1]
        _asignable(familia)
        if familia.cogestor_id != nuevo.cogestor_id:
            _en_microrregion(familia, nuevo)
            nuevas.append(familia)

    todos_o_ninguno(
        "familias",
        [familia_id for familia_id, _ in familias],
        revisar,
        mismo="family",
        que="families cannot be assigned",
        codigo="invalid-families",
    )
    _con_lugar(nuevo, len(nuevas))
    return _asignar(nuevo, nuevas, anteriores)


def _asignable(familia: Familia) -> None:
    if not familia.existe:
        raise ReglaIncumplida("the family does not exist", status=404, codigo="not-found")
    if familia.estado not in (EstadoFamilia.PRESELECCIONADA, EstadoFamilia.VINCULADA):
        raise ReglaIncumplida(
            f"a family that is {familia.estado} cannot be assigned a cogestor",
            codigo="family-exited" if familia.estado in SALIDAS else "not-assignable",
        )


def _registrado(nuevo: Cogestor) -> None:
    if not nuevo.existe:
        raise ReglaIncumplida("the cogestor is not registered", status=404, codigo="not-found")


def _en_microrregion(familia: Familia, nuevo: Cogestor) -> None:
    if familia.municipio not in nuevo.municipios:
        raise ReglaIncumplida(
            f"the cogestor's microregion does not include municipality {familia.municipio}",
            status=422,
            codigo="outside-microregion",
        )


def _con_lugar(nuevo: Cogestor, nuevas: int) -> None:
    if nuevas and nuevo.carga + nuevas > nuevo.capacidad:
        pedidas = "" if nuevas == 1 else f" and {nuevas} more were asked for"
        raise ReglaIncumplida(
            f"the cogestor already has {nuevo.carga} families{pedidas}, "
            f"the maximum is {nuevo.capacidad}",
            codigo="over-capacity",
        )


def _asignar(
    nuevo: Cogestor, familias: Sequence[Familia], anteriores: Mapping[str, Cogestor]
) -> Asignacion:
    """The events that move `familias` (checked) to `nuevo`, freeing their previous cogestor."""
    por_familia: dict[str, list[DomainEvent]] = {}
    por_cogestor: dict[str, list[DomainEvent]] = {nuevo.cogestor_id: []}
    for familia in familias:
        fid, cid = familia.familia_id, nuevo.cogestor_id
        por_familia[fid] = [
            CogestorAsignado(
                familia_id=fid,
                municipio=familia.municipio,
                cogestor_id=cid,
                anterior_id=familia.cogestor_id,
            )
        ]
        por_cogestor[cid].append(FamiliaAsignadaACogestor(cogestor_id=cid, familia_id=fid))
        anterior = anteriores.get(familia.cogestor_id or "")
        if anterior is not None and fid in anterior.familias:
            por_cogestor.setdefault(anterior.cogestor_id, []).append(
                FamiliaLiberadaDeCogestor(cogestor_id=anterior.cogestor_id, familia_id=fid)
            )
    return Asignacion(por_familia, por_cogestor)


def liberacion(familia_antes: Familia, familia_despues: Familia) -> str | None:
    """The cogestor a family's exit frees, if any (its load must drop)."""
    if familia_antes.cogestor_id and familia_despues.cogestor_id is None:
        return familia_antes.cogestor_id
    return None
