"""Reactions to accompaniment's and offer's events: the demand and supply of the capacity map.

Contracts (tolerant readers: unknown fields are ignored, missing or malformed ones dead-letter):

- accompaniment `LogrosEvaluados` (`familia_id`, `municipio`, `fecha`, `desplazada`,
  `evaluaciones`: [{`logro`, `estado` ALCANZADO | POR_ALCANZAR | NO_APLICA, `integrantes`}]):
  the family's whole board; it replaces the family's previous one.
- accompaniment `CasoCerrado` (`familia_id`, `motivo`, `fecha`): the family left the program;
  its pending LB stop being demand (a board with nothing pending).
- offer `CuposHabilitados` (`programa_id`, `entidad`, `municipio`, `periodo`, `logros`,
  `cupos`): a program's slots in a municipality and period; the latest value per (program,
  municipality, period) replaces the previous one.

Each event runs in the consumer's transaction with its inbox row (a redelivery has no second
effect), and carries its time (the CloudEvent `time`): an event older than what is kept for the
family or the program changes nothing, so late or replayed events cannot undo newer ones. The
capacity map of every municipality whose inputs moved is recomputed in the same transaction.
Boards and closures, and slot lines, come in runs (`on_batch`): a run of any length costs the
same statements, with exactly the effect of its events applied one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from juntos_events.consumer import DeadLetter, Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from territorial import queries, territorio
from territorial.domain import capacidades
from territorial.domain.capacidades import LineaCupos, Tablero, TableroRecibido

log = get_logger(__name__)
subscriptions = Subscriptions()

Municipio = Annotated[str, AfterValidator(territorio.municipio_valido)]
Logro = Annotated[str, Field(pattern=r"^LB([1-9]|[1-3][0-9]|4[0-5])$")]
POR_ALCANZAR = "POR_ALCANZAR"


class _Recibido(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Evaluacion(_Recibido):
    logro: Logro
    estado: str


class LogrosEvaluados(_Recibido):
    familia_id: str = Field(min_length=1)
    municipio: Municipio
    evaluaciones: tuple[_Evaluacion, ...]


class CasoCerrado(_Recibido):
    familia_id: str = Field(min_length=1)


class CuposHabilitados(_Recibido):
    programa_id: str = Field(min_length=1)
    entidad: str = Field(min_length=1)
    municipio: Municipio
    periodo: str = Field(pattern=r"^\d{4}(-S[12])?$")
    logros: tuple[Logro, ...]
    cupos: int = Field(ge=0)


M = TypeVar("M", bound=_Recibido)


def _leer(modelo: type[M], envelope: Envelope) -> M:
    try:
        return modelo.model_validate(envelope.data)
    except ValidationError as exc:
        # never retried: the same bytes would fail again; the dead-letter topic shows why
        raise DeadLetter(f"{envelope.event_type} does not match the contract: {exc}") from None


def _recibido(envelope: Envelope) -> TableroRecibido:
    if envelope.event_type == "CasoCerrado":
        return TableroRecibido(_leer(CasoCerrado, envelope).familia_id, None, envelope.time)
    evento = _leer(LogrosEvaluados, envelope)
    pendientes = frozenset(e.logro for e in evento.evaluaciones if e.estado == POR_ALCANZAR)
    return TableroRecibido(evento.familia_id, Tablero(evento.municipio, pendientes), envelope.time)


@subscriptions.on_batch("accompaniment", "LogrosEvaluados", "CasoCerrado")
async def demanda_de_las_familias(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of boards and closures in a constant number of statements: every event is read
    first (one that breaks the contract fails the run, and the runner's one-by-one fallback
    dead-letters it alone), then the run's kept boards are read at once, applied in memory in
    order, written with unnest, and the map recomputed once for every municipality touched."""
    recibidos = [_recibido(e) for e in envelopes]
    guardados = await queries.tableros_guardados(conn, (r.familia_id for r in recibidos))
    cambios = capacidades.aplicar_tableros(guardados, recibidos)
    for familia_id in cambios.cierres_sin_tablero:
        log.info("closed case of a family with no board", familia_id=familia_id)
    await queries.guardar_demanda(conn, cambios)
    await queries.recalcular_mapa(conn, cambios.municipios)


@subscriptions.on_batch("offer", "CuposHabilitados")
async def oferta_de_los_programas(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
    """A run of slot lines in one statement, then the map of the municipalities whose slots
    changed, once (offer's bulk routes publish thousands of lines at a time)."""
    lineas = [_linea(e) for e in envelopes]
    municipios = await queries.habilitar_cupos(conn, capacidades.mas_recientes(lineas))
    if municipios:
        await queries.recalcular_mapa(conn, municipios)


def _linea(envelope: Envelope) -> LineaCupos:
    e = _leer(CuposHabilitados, envelope)
    return LineaCupos(
        e.programa_id, e.entidad, e.municipio, e.periodo, e.logros, e.cupos, envelope.time
    )
