"""Reactions to other services' events: demand from accompaniment, the roster and exits from
enrollment. Each runs in the consumer's transaction with its inbox row (a redelivered event has
no second effect); the contracts are in the README (Consumes).

- accompaniment `LogrosEvaluados`: the family's board replaces the previous one (an older board
  is ignored); its POR_ALCANZAR LB are demand in its municipality. `LogroAlcanzado` removes one
  (unless a newer board says otherwise), `LogroPerdido` adds it back, `PlanFamiliarConstruido`
  gives the priorities (an older plan version is ignored).
- enrollment: `FamiliaPreseleccionada`, `IntegranteRegistrado`/`Actualizado`/`Retirado`,
  `FamiliaMarcadaDesplazada` keep the pseudonymous roster eligibility is checked on;
  `FamiliaRetirada`/`Promovida`/`EgresadaPorTiempo` release the family's slots (CupoLiberado,
  FAMILIA_EGRESADA) and drop its demand; `FamiliaReabierta` makes it active again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import TypeVar

from juntos_events.consumer import DeadLetter, Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from offer import balance, handlers, proyecciones
from offer.demanda import Demanda, Tablero, con_alcanzado, con_perdido, con_tablero, deltas

log = get_logger(__name__)
subscriptions = Subscriptions()

ACOMPANAMIENTO = "sistema:accompaniment"
INSCRIPCION = "sistema:enrollment"


class _Leido(BaseModel):
    """What offer reads of a producer's event; unknown fields are the producer's business."""

    model_config = ConfigDict(extra="ignore")


class _Miembro(_Leido):
    integrante_id: str
    fecha_nacimiento: date
    sexo: str
    discapacidad: bool = False
    gestante: bool = False


class _Preseleccionada(_Leido):
    familia_id: str
    municipio: str = Field(pattern=r"^\d{5}$")
    desplazada: bool = False
    integrantes: list[_Miembro] = []


class _ConIntegrante(_Leido):
    familia_id: str
    integrante: _Miembro


class _IntegranteRetirado(_Leido):
    familia_id: str
    integrante_id: str


class _DeFamilia(_Leido):
    familia_id: str
    fecha: date | None = None


class _Evaluacion(_Leido):
    logro: str = Field(pattern=r"^LB\d{1,2}$")
    estado: str
    integrantes: list[str] = []


class _Evaluados(_Leido):
    familia_id: str
    municipio: str = Field(pattern=r"^\d{5}$")
    fecha: date
    evaluaciones: list[_Evaluacion]


class _Logro(_Leido):
    familia_id: str
    municipio: str = Field(pattern=r"^\d{5}$")
    logro: str = Field(pattern=r"^LB\d{1,2}$")
    fecha: date


class _Prioridad(_Leido):
    logro: str = Field(pattern=r"^LB\d{1,2}$")
    orden: int = Field(ge=1)


class _Plan(_Leido):
    familia_id: str
    version: int
    fecha: date
    prioridades: list[_Prioridad] = []


L = TypeVar("L", bound=_Leido)


def _leer(modelo: type[L], envelope: Envelope) -> L:
    try:
        return modelo.model_validate(envelope.data)
    except ValidationError as exc:
        raise DeadLetter(f"{envelope.event_type} does not match its contract: {exc}") from None


def _leer_demanda(envelope: Envelope) -> _Evaluados | _Logro:
    """A demand event read against its contract (DeadLetter if it does not match)."""
    return _leer(_Evaluados if envelope.event_type == "LogrosEvaluados" else _Logro, envelope)


def _con(d: Demanda, envelope: Envelope, ev: _Evaluados | _Logro) -> Demanda | None:
    """Fold one demand event into the family's demand (None: it changes nothing)."""
    if isinstance(ev, _Evaluados):
        # the validated payload itself (a model_dump of 45 evaluations costs more than the rest)
        tablero = Tablero.de_evaluaciones(
            ev.familia_id, ev.municipio, ev.fecha, envelope.data["evaluaciones"]
        )
        return con_tablero(d, tablero, envelope.time)
    if envelope.event_type == "LogroAlcanzado":
        return con_alcanzado(d, ev.logro, ev.fecha)
    return con_perdido(d, ev.logro, ev.municipio, ev.fecha)


async def _guardar(
    conn: AsyncConnection,
    antes: Mapping[str, Demanda],
    despues: Mapping[str, Demanda],
    causas: Mapping[tuple[str, str], str],
    actor: str,
) -> None:
    """The families' new demand and the balance adjusted by its sum, once for all of them."""
    await proyecciones.guardar_demandas(conn, antes, despues)
    cambio: Counter[tuple[str, str]] = Counter()
    for familia_id, d in despues.items():
        cambio.update(deltas(antes[familia_id].filas.values(), d.filas.values()))
    await balance.ajustar(conn, demanda=dict(cambio), actor=actor, causation_id=causas)


# --- accompaniment ------------------------------------------------------------------------------


DEMANDA = ("LogrosEvaluados", "LogroAlcanzado", "LogroPerdido")


@subscriptions.on_batch("accompaniment", *DEMANDA, "PlanFamiliarConstruido")
async def tableros_y_planes(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """Boards and plans in one run: they write disjoint tables, so the run's demand events and
    its plans are applied as two runs, each in its order. Two handlers cut a run at every change
    of type, and accompaniment sends a family's re-evaluated board and its plan one after the
    other: at the plan stage, runs of one or two events (11,678 runs for 30,000 events at
    10,000 families), each a dozen statements."""
    de_demanda = [e for e in envelopes if e.event_type in DEMANDA]
    de_plan = [e for e in envelopes if e.event_type == "PlanFamiliarConstruido"]
    if de_demanda:
        await demanda(de_demanda, conn)
    if de_plan:
        await planes(de_plan, conn)


async def demanda(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of boards, reaches and losses: the families' demand read once, folded in event
    order in memory, written once, and the balance adjusted once with the summed changes.
    A crossing (DemandaInsatisfecha) is judged on the run's net change and names as cause the
    first event of the run that moved that (municipio, LB)."""
    leidos = [_leer_demanda(e) for e in envelopes]  # all read before any I/O
    antes = await proyecciones.demandas(conn, (ev.familia_id for ev in leidos))
    despues = dict(antes)
    causas: dict[tuple[str, str], str] = {}
    for envelope, ev in zip(envelopes, leidos, strict=True):
        familia_id = ev.familia_id
        previa = despues[familia_id]
        nueva = _con(previa, envelope, ev)
        if nueva is None:
            log.info(
                "event older than the family's board, or family out of JUNTOS, ignored",
                familia_id=familia_id,
                event_id=envelope.id,
                event_type=envelope.event_type,
            )
            continue
        for clave in deltas(previa.filas.values(), nueva.filas.values()):
            causas.setdefault(clave, envelope.id)
        despues[familia_id] = nueva
    await _guardar(conn, antes, despues, causas, ACOMPANAMIENTO)


async def planes(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of plans: each family's newest version wins (an older one, stored or earlier in
    the run, is ignored), written once for the run."""
    leidos = [_leer(_Plan, e) for e in envelopes]
    vigentes: dict[str, int] = await proyecciones.versiones_de_plan(
        conn, (ev.familia_id for ev in leidos)
    )
    nuevos: dict[str, proyecciones.Plan] = {}
    for ev in leidos:
        vigente = vigentes.get(ev.familia_id)
        if vigente is not None and ev.version <= vigente:
            log.info("older plan ignored", familia_id=ev.familia_id, version=ev.version)
            continue
        prioridades: dict[str, int] = {}
        for p in ev.prioridades:
            prioridades[p.logro] = min(p.orden, prioridades.get(p.logro, p.orden))
        vigentes[ev.familia_id] = ev.version
        nuevos[ev.familia_id] = proyecciones.Plan(ev.version, ev.fecha, prioridades)
    await proyecciones.planes(conn, nuevos)


# --- enrollment ---------------------------------------------------------------------------------


@subscriptions.on_batch("enrollment", "FamiliaPreseleccionada")
async def preseleccionadas(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of new families (an import's): their rows and rosters in two round trips."""
    leidas = [_leer(_Preseleccionada, e) for e in envelopes]
    await proyecciones.familias(
        conn, [(ev.familia_id, ev.municipio, ev.desplazada, True) for ev in leidas]
    )
    await proyecciones.integrantes(
        conn, [(ev.familia_id, m.model_dump()) for ev in leidas for m in ev.integrantes]
    )


@subscriptions.on("enrollment", "IntegranteRegistrado")
@subscriptions.on("enrollment", "IntegranteActualizado")
async def integrante(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_ConIntegrante, envelope)
    await proyecciones.integrantes(conn, [(ev.familia_id, ev.integrante.model_dump())])


@subscriptions.on("enrollment", "IntegranteRetirado")
async def integrante_retirado(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_IntegranteRetirado, envelope)
    await proyecciones.retirar_integrante(conn, ev.familia_id, ev.integrante_id)


@subscriptions.on("enrollment", "FamiliaMarcadaDesplazada")
async def desplazada(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_DeFamilia, envelope)
    await proyecciones.familia(conn, ev.familia_id, desplazada=True)


@subscriptions.on_batch(
    "enrollment", "FamiliaRetirada", "FamiliaPromovida", "FamiliaEgresadaPorTiempo"
)
async def salidas(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of exits (a wave of graduations) in the round trips of one: the families made
    inactive, their demand dropped (a crossing names as cause the first exit that moved that
    (municipio, LB), as in `demanda`), then every slot they hold released."""
    leidos = [_leer(_DeFamilia, e) for e in envelopes]
    familias = list(dict.fromkeys(ev.familia_id for ev in leidos))
    await proyecciones.familias(conn, [(fid, None, None, False) for fid in familias])
    antes = await proyecciones.demandas(conn, familias)
    despues = {fid: replace(antes[fid], activa=False, filas={}) for fid in familias}
    causas: dict[tuple[str, str], str] = {}
    for envelope, ev in zip(envelopes, leidos, strict=True):
        for clave in deltas(antes[ev.familia_id].filas.values(), ()):
            causas.setdefault(clave, envelope.id)
    await _guardar(conn, antes, despues, causas, INSCRIPCION)
    liberados = await handlers.liberar_de_familias(
        conn,
        [
            (ev.familia_id, ev.fecha or envelope.time.date(), envelope.id)
            for envelope, ev in zip(envelopes, leidos, strict=True)
        ],
        actor=INSCRIPCION,
    )
    log.info("families left JUNTOS", families=len(familias), slots_released=liberados)


@subscriptions.on("enrollment", "FamiliaReabierta")
async def reabierta(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_DeFamilia, envelope)
    await proyecciones.familia(conn, ev.familia_id, activa=True)
