"""Programs and their slots: state, commands, `decide` and `evolve`; pure, no I/O.

Two aggregates. `Programa` (stream `programa:<id>`): what an entity offers, to whom, where.
`Cupos` (stream `cupos:<programa>:<municipio>:<periodo>`): the capacity of one program in one
municipality and period and every slot assigned from it; its stream version is the guard that
keeps assignments within capacity (two writers of the last slot: one append wins).
Rule violations raise `ReglaIncumplida` with the status an API gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import reduce, singledispatch

from juntos_catalogo import catalogo
from juntos_events.events import DomainEvent
from juntos_events.rules import ReglaIncumplida, todos_o_ninguno

from offer.elegibilidad import Hogar, motivos_inelegibilidad, pendientes_para
from offer.events import (
    CalidadReportada,
    CupoAsignado,
    CupoLiberado,
    CupoRechazado,
    CuposHabilitados,
    Elegibilidad,
    ProgramaActualizado,
    ProgramaRegistrado,
)
from offer.vocabulario import Alcance, MotivoLiberacion, NivelGobierno


def dimensiones_de(logros: Iterable[str]) -> tuple[str, ...]:
    """The catalog dimensions of some LB, in the catalog's order."""
    cat = catalogo()
    usadas = {cat.logro(lb).dimension for lb in logros}
    return tuple(d.codigo for d in cat.dimensiones if d.codigo in usadas)


# --- program ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatosPrograma:
    entidad: str
    titulo: str
    nivel: NivelGobierno
    alcance: Alcance
    logros: tuple[str, ...]
    elegibilidad: Elegibilidad
    municipios: tuple[str, ...]

    def normalizado(self) -> DatosPrograma:
        """Sets as sorted tuples, so that the same program compares equal however it was sent."""
        return replace(
            self,
            logros=tuple(sorted(set(self.logros), key=lambda lb: int(lb[2:]))),
            municipios=tuple(sorted(set(self.municipios))),
        )


@dataclass(frozen=True)
class Programa:
    programa_id: str = ""
    datos: DatosPrograma | None = None
    calidad: Mapping[str, int] = field(default_factory=dict)
    """Reported compliance (percent) per period."""

    @property
    def existe(self) -> bool:
        return self.datos is not None

    @property
    def entidad(self) -> str:
        return self.datos.entidad if self.datos else ""

    def vigente(self) -> DatosPrograma:
        if self.datos is None:
            raise ReglaIncumplida("no program with that id", status=404, codigo="not-found")
        return self.datos


def _datos(e: ProgramaRegistrado | ProgramaActualizado) -> DatosPrograma:
    return DatosPrograma(
        entidad=e.entidad,
        titulo=e.titulo,
        nivel=e.nivel,
        alcance=e.alcance,
        logros=e.logros,
        elegibilidad=e.elegibilidad,
        municipios=e.municipios,
    )


@singledispatch
def _evolve_programa(event: DomainEvent, state: Programa) -> Programa:
    return state


@_evolve_programa.register(ProgramaRegistrado)
@_evolve_programa.register(ProgramaActualizado)
def _(e: ProgramaRegistrado | ProgramaActualizado, s: Programa) -> Programa:
    return replace(s, programa_id=e.programa_id, datos=_datos(e))


@_evolve_programa.register
def _(e: CalidadReportada, s: Programa) -> Programa:
    return replace(s, calidad={**s.calidad, e.periodo: e.cumplimiento})


def fold_programa(events: Iterable[DomainEvent], state: Programa | None = None) -> Programa:
    return reduce(lambda s, e: _evolve_programa(e, s), events, state or Programa())


@dataclass(frozen=True)
class RegistrarPrograma:
    programa_id: str
    datos: DatosPrograma


@dataclass(frozen=True)
class ActualizarPrograma:
    datos: DatosPrograma


@dataclass(frozen=True)
class ReportarCalidad:
    periodo: str
    cumplimiento: int


ComandoPrograma = RegistrarPrograma | ActualizarPrograma | ReportarCalidad


def programa_stream(programa_id: str) -> str:
    return f"programa:{programa_id}"


def _evento_programa(
    tipo: type[ProgramaRegistrado] | type[ProgramaActualizado], pid: str, d: DatosPrograma
) -> DomainEvent:
    return tipo(
        programa_id=pid,
        entidad=d.entidad,
        titulo=d.titulo,
        nivel=d.nivel,
        alcance=d.alcance,
        logros=d.logros,
        dimensiones=dimensiones_de(d.logros),
        elegibilidad=d.elegibilidad,
        municipios=d.municipios,
    )


def decide_programa(state: Programa, c: ComandoPrograma) -> list[DomainEvent]:
    match c:
        case RegistrarPrograma():
            datos = c.datos.normalizado()
            if state.existe:
                if state.datos == datos:
                    return []  # the same registration again
                raise ReglaIncumplida("the program already exists", codigo="already-exists")
            return [_evento_programa(ProgramaRegistrado, c.programa_id, datos)]
        case ActualizarPrograma():
            actual = state.vigente()
            datos = c.datos.normalizado()
            if datos.entidad != actual.entidad:
                raise ReglaIncumplida(
                    "a program cannot move to another entity", status=422, codigo="entity-change"
                )
            if datos == actual:
                return []
            return [_evento_programa(ProgramaActualizado, state.programa_id, datos)]
        case ReportarCalidad():
            actual = state.vigente()
            if state.calidad.get(c.periodo) == c.cumplimiento:
                return []
            return [
                CalidadReportada(
                    programa_id=state.programa_id,
                    entidad=actual.entidad,
                    periodo=c.periodo,
                    cumplimiento=c.cumplimiento,
                )
            ]
    raise TypeError(f"unknown command {c!r}")  # pragma: no cover


def registrar_programas(
    registros: Sequence[RegistrarPrograma], estados: Mapping[str, Programa]
) -> dict[str, list[DomainEvent]]:
    """Each registration as `decide_programa` on its stream's state (`estados`, by stream id);
    one bad registration refuses them all, naming each by its index (an id twice is bad too)."""
    streams = [programa_stream(r.programa_id) for r in registros]
    nuevos: dict[str, list[DomainEvent]] = {}

    def revisar(i: int) -> None:
        nuevos[streams[i]] = decide_programa(estados[streams[i]], registros[i])

    todos_o_ninguno(
        "programas",
        streams,
        revisar,
        mismo="programa_id",
        que="programs cannot be registered",
        codigo="invalid-programs",
    )
    return nuevos


# --- slots of a program in a municipality and period --------------------------------------------


@dataclass(frozen=True)
class Asignado:
    familia_id: str
    integrante_id: str | None
    logros: tuple[str, ...]
    fecha: date


@dataclass(frozen=True)
class Cupos:
    programa_id: str = ""
    municipio: str = ""
    periodo: str = ""
    capacidad: int = 0
    logros: tuple[str, ...] = ()
    habilitados: bool = False
    asignados: Mapping[str, Asignado] = field(default_factory=dict)
    liberados: frozenset[str] = frozenset()
    """Released slot ids: an id is never used twice."""

    @property
    def libres(self) -> int:
        return max(0, self.capacidad - len(self.asignados))

    def ocupacion(self) -> Ocupacion:
        o = Ocupacion()
        for cupo_id, a in self.asignados.items():
            o.tomar(cupo_id, a.familia_id, a.integrante_id)
        return o


@dataclass
class Ocupacion:
    """Who holds a slot of the stream: built once per decision, so a batch stays linear."""

    familias: dict[str, str] = field(default_factory=dict)
    personas: dict[tuple[str, str | None], str] = field(default_factory=dict)
    cupos: set[str] = field(default_factory=set)

    def de(self, familia_id: str, integrante_id: str | None) -> str | None:
        """The slot the family (or, for a member, that member) already holds here."""
        if integrante_id is None:
            return self.familias.get(familia_id)
        return self.personas.get((familia_id, integrante_id))

    def tomar(self, cupo_id: str, familia_id: str, integrante_id: str | None) -> None:
        self.cupos.add(cupo_id)
        self.familias.setdefault(familia_id, cupo_id)
        self.personas.setdefault((familia_id, integrante_id), cupo_id)


def cupos_stream(programa_id: str, municipio: str, periodo: str) -> str:
    return f"cupos:{programa_id}:{municipio}:{periodo}"


def fold_cupos(events: Iterable[DomainEvent], state: Cupos | None = None) -> Cupos:
    """The slots after `events`; one pass with local copies (a stream holds thousands)."""
    s = state or Cupos()
    asignados, liberados = dict(s.asignados), set(s.liberados)
    for e in events:
        match e:
            case CuposHabilitados():
                s = replace(
                    s,
                    programa_id=e.programa_id,
                    municipio=e.municipio,
                    periodo=e.periodo,
                    capacidad=e.cupos,
                    logros=e.logros,
                    habilitados=True,
                )
            case CupoAsignado():
                asignados[e.cupo_id] = Asignado(e.familia_id, e.integrante_id, e.logros, e.fecha)
            case CupoLiberado():
                asignados.pop(e.cupo_id, None)
                liberados.add(e.cupo_id)
    return replace(s, asignados=asignados, liberados=frozenset(liberados))


@dataclass(frozen=True)
class HabilitarCupos:
    """Set the capacity; also re-published when the program's LB change (same capacity) or it
    leaves the municipality (0), so that consumers keeping the latest value stay right."""

    programa: Programa
    municipio: str
    periodo: str
    cupos: int


@dataclass(frozen=True)
class AsignarCupo:
    cupo_id: str
    programa: Programa
    hogar: Hogar | None
    integrante_id: str | None
    fecha: date


@dataclass(frozen=True)
class AsignarLote:
    """The batch: slots already chosen by `elegibilidad.seleccionar`, checked again here."""

    programa: Programa
    elegidos: tuple[AsignarCupo, ...]


@dataclass(frozen=True)
class LiberarCupo:
    cupo_id: str
    programa: Programa
    motivo: MotivoLiberacion
    fecha: date


ComandoCupos = HabilitarCupos | AsignarCupo | AsignarLote | LiberarCupo


def decide_cupos(state: Cupos, c: ComandoCupos) -> list[DomainEvent]:
    match c:
        case HabilitarCupos():
            return _habilitar(state, c)
        case AsignarCupo():
            return [_asignar(state, c, state.ocupacion(), 0)]
        case AsignarLote():
            ocupacion, nuevos = state.ocupacion(), []
            for uno in c.elegidos:
                evento = _asignar(state, uno, ocupacion, len(nuevos))
                ocupacion.tomar(evento.cupo_id, evento.familia_id, evento.integrante_id)
                nuevos.append(evento)
            return list(nuevos)
        case LiberarCupo():
            return _liberar(state, c)
    raise TypeError(f"unknown command {c!r}")  # pragma: no cover


def _habilitar(state: Cupos, c: HabilitarCupos) -> list[DomainEvent]:
    datos = c.programa.vigente()
    if c.municipio not in datos.municipios and c.cupos > 0:
        raise ReglaIncumplida(
            f"the program does not run in municipality {c.municipio}; add it to the program first",
            status=422,
            codigo="municipality-not-in-program",
        )
    if state.habilitados and (state.capacidad, state.logros) == (c.cupos, datos.logros):
        return []
    return [
        CuposHabilitados(
            programa_id=c.programa.programa_id,
            entidad=datos.entidad,
            municipio=c.municipio,
            periodo=c.periodo,
            logros=datos.logros,
            cupos=c.cupos,
        )
    ]


@dataclass(frozen=True)
class LineaCupos:
    """One line of a bulk slots command: the capacity of a municipality and period."""

    municipio: str
    periodo: str
    cupos: int


def habilitar_lineas(
    programa: Programa, lineas: Sequence[LineaCupos], estados: Mapping[str, Cupos]
) -> dict[str, list[DomainEvent]]:
    """Each line as `HabilitarCupos` on its stream's state (`estados`, by stream id); one bad
    line refuses them all, naming every bad line by its index (a line twice is bad too)."""
    programa.vigente()
    pid = programa.programa_id
    return habilitar_oferta({pid: programa}, [(pid, x) for x in lineas], estados)


def habilitar_oferta(
    programas: Mapping[str, Programa],
    lineas: Sequence[tuple[str, LineaCupos]],
    estados: Mapping[str, Cupos],
) -> dict[str, list[DomainEvent]]:
    """`habilitar_lineas` for lines of many programs (each line: its program's id and the
    line); a line of a program not in `programas` is refused as one that does not exist."""
    streams = [cupos_stream(pid, x.municipio, x.periodo) for pid, x in lineas]
    nuevos: dict[str, list[DomainEvent]] = {}

    def revisar(i: int) -> None:
        pid, x = lineas[i]
        comando = HabilitarCupos(programas.get(pid, Programa(pid)), x.municipio, x.periodo, x.cupos)
        nuevos[streams[i]] = _habilitar(estados[streams[i]], comando)

    todos_o_ninguno(
        "lineas",
        streams,
        revisar,
        mismo="program, municipality and period",
        que="lines cannot be applied",
        codigo="invalid-lines",
    )
    return nuevos


def _asignar(state: Cupos, c: AsignarCupo, ocupacion: Ocupacion, nuevos: int) -> CupoAsignado:
    """One slot; `ocupacion` and `nuevos` count the slots a batch has already taken."""
    datos = c.programa.vigente()
    if not state.habilitados or state.municipio not in datos.municipios:
        raise ReglaIncumplida(
            "the program has no slots enabled in this municipality and period",
            codigo="no-slots",
        )
    if c.cupo_id in ocupacion.cupos or c.cupo_id in state.liberados:
        raise ReglaIncumplida("that slot was already assigned", codigo="already-assigned")
    hogar = c.hogar
    if hogar is None:
        raise ReglaIncumplida(
            "offer has not heard of that family from enrollment", status=404, codigo="not-found"
        )
    if not hogar.activa:
        raise ReglaIncumplida("the family has left JUNTOS", codigo="family-exited")
    if hogar.municipio != state.municipio:
        raise ReglaIncumplida(
            f"the family lives in municipality {hogar.municipio}, not {state.municipio}",
            status=422,
            codigo="other-municipality",
        )
    motivos = motivos_inelegibilidad(datos, hogar, c.integrante_id, c.fecha)
    if motivos:
        raise ReglaIncumplida(
            "not eligible for this program: " + "; ".join(motivos),
            status=422,
            codigo="ineligible",
            motivos=motivos,
        )
    if not pendientes_para(datos, hogar, c.integrante_id):
        raise ReglaIncumplida(
            "none of the program's LB is pending for the family"
            + (" and that member" if c.integrante_id else ""),
            codigo="no-demand",
        )
    clave = c.integrante_id if datos.alcance is Alcance.INTEGRANTE else None
    ya = ocupacion.de(hogar.familia_id, clave)
    if ya is not None:
        raise ReglaIncumplida(
            f"{'the member' if clave else 'the family'} already holds slot {ya} here",
            codigo="already-has-slot",
        )
    if state.libres - nuevos <= 0:
        raise ReglaIncumplida(f"all {state.capacidad} slots are assigned", codigo="no-capacity")
    return CupoAsignado(
        cupo_id=c.cupo_id,
        programa_id=c.programa.programa_id,
        entidad=datos.entidad,
        municipio=state.municipio,
        periodo=state.periodo,
        familia_id=hogar.familia_id,
        integrante_id=c.integrante_id,
        logros=datos.logros,
        fecha=c.fecha,
    )


def _liberar(state: Cupos, c: LiberarCupo) -> list[DomainEvent]:
    if c.cupo_id in state.liberados:
        return []  # already free: a second release changes nothing
    asignado = state.asignados.get(c.cupo_id)
    if asignado is None:
        raise ReglaIncumplida("no such slot here", status=404, codigo="not-found")
    comun = {
        "cupo_id": c.cupo_id,
        "programa_id": state.programa_id,
        "entidad": c.programa.entidad,
        "municipio": state.municipio,
        "periodo": state.periodo,
        "familia_id": asignado.familia_id,
        "integrante_id": asignado.integrante_id,
        "logros": asignado.logros,
        "fecha": c.fecha,
    }
    liberado = CupoLiberado(**comun, motivo=c.motivo)
    if c.motivo is MotivoLiberacion.RECHAZADO:
        return [CupoRechazado(**comun), liberado]
    return [liberado]
