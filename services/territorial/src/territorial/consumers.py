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
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from juntos_events.consumer import DeadLetter, Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from territorial import queries, territorio
from territorial.domain.capacidades import Tablero

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


@subscriptions.on("accompaniment", "LogrosEvaluados")
async def demanda_de_la_familia(envelope: Envelope, conn: AsyncConnection) -> None:
    evento = _leer(LogrosEvaluados, envelope)
    pendientes = frozenset(e.logro for e in evento.evaluaciones if e.estado == POR_ALCANZAR)
    tocados = await queries.reemplazar_tablero(
        conn, evento.familia_id, Tablero(evento.municipio, pendientes), envelope.time
    )
    await queries.recalcular_mapa(conn, tocados)


@subscriptions.on("accompaniment", "CasoCerrado")
async def familia_sale(envelope: Envelope, conn: AsyncConnection) -> None:
    evento = _leer(CasoCerrado, envelope)
    municipio = await queries.municipio_de_familia(conn, evento.familia_id)
    if municipio is None:
        log.info("closed case of a family with no board", familia_id=evento.familia_id)
        return
    tocados = await queries.reemplazar_tablero(
        conn, evento.familia_id, Tablero(municipio, frozenset()), envelope.time
    )
    await queries.recalcular_mapa(conn, tocados)


@subscriptions.on("offer", "CuposHabilitados")
async def oferta_del_programa(envelope: Envelope, conn: AsyncConnection) -> None:
    evento = _leer(CuposHabilitados, envelope)
    aplicado = await queries.habilitar_cupos(
        conn,
        programa_id=evento.programa_id,
        entidad=evento.entidad,
        municipio=evento.municipio,
        periodo=evento.periodo,
        logros=evento.logros,
        cupos=evento.cupos,
        cuando=envelope.time,
    )
    if aplicado:
        await queries.recalcular_mapa(conn, [evento.municipio])
