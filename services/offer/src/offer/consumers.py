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

from datetime import date
from typing import TypeVar

from juntos_events.consumer import DeadLetter, Subscriptions
from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from offer import balance, handlers, proyecciones
from offer.demanda import FilaDemanda, Tablero, deltas, es_mas_antiguo, reemplazar

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


async def _activa(conn: AsyncConnection, familia_id: str) -> bool:
    fila = (
        await conn.execute(
            text("SELECT activa FROM familias WHERE familia_id = :f"), {"f": familia_id}
        )
    ).first()
    return fila is None or bool(fila.activa)


async def _nueva_demanda(
    conn: AsyncConnection,
    familia_id: str,
    anteriores: dict[str, FilaDemanda],
    nuevas: dict[str, FilaDemanda],
    envelope: Envelope,
) -> None:
    await proyecciones.reemplazar_demanda(conn, familia_id, nuevas)
    await balance.ajustar(
        conn,
        demanda=deltas(anteriores.values(), nuevas.values()),
        actor=ACOMPANAMIENTO if envelope.service == "accompaniment" else INSCRIPCION,
        causation_id=envelope.id,
    )


# --- accompaniment ------------------------------------------------------------------------------


@subscriptions.on("accompaniment", "LogrosEvaluados")
async def tablero(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_Evaluados, envelope)
    if not await _activa(conn, ev.familia_id):
        log.info("board of a family that left JUNTOS ignored", familia_id=ev.familia_id)
        return
    guardado = await proyecciones.tablero(conn, ev.familia_id)
    if es_mas_antiguo(
        (ev.fecha, envelope.time), (guardado.fecha, guardado.recibido) if guardado else None
    ):
        log.info("older board ignored", familia_id=ev.familia_id, event_id=envelope.id)
        return
    anteriores = await proyecciones.demanda_de(conn, ev.familia_id)
    nuevas = reemplazar(
        anteriores,
        Tablero.de_evaluaciones(
            ev.familia_id, ev.municipio, ev.fecha, [e.model_dump() for e in ev.evaluaciones]
        ),
        await proyecciones.alcanzados_de(conn, ev.familia_id),
    )
    await proyecciones.guardar_tablero(conn, ev.familia_id, ev.municipio, ev.fecha, envelope.time)
    await _nueva_demanda(conn, ev.familia_id, anteriores, nuevas, envelope)


@subscriptions.on("accompaniment", "LogroAlcanzado")
async def alcanzado(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_Logro, envelope)
    guardado = await proyecciones.tablero(conn, ev.familia_id)
    if guardado is not None and guardado.fecha > ev.fecha:
        return  # a newer board already says where this LB stands
    await proyecciones.marcar_alcanzado(conn, ev.familia_id, ev.logro, ev.fecha)
    anteriores = await proyecciones.demanda_de(conn, ev.familia_id)
    if ev.logro in anteriores:
        nuevas = {k: v for k, v in anteriores.items() if k != ev.logro}
        await _nueva_demanda(conn, ev.familia_id, anteriores, nuevas, envelope)


@subscriptions.on("accompaniment", "LogroPerdido")
async def perdido(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_Logro, envelope)
    guardado = await proyecciones.tablero(conn, ev.familia_id)
    alcanzado_en = (await proyecciones.alcanzados_de(conn, ev.familia_id)).get(ev.logro)
    if (
        not await _activa(conn, ev.familia_id)
        or (guardado is not None and guardado.fecha > ev.fecha)
        or (alcanzado_en is not None and alcanzado_en > ev.fecha)
    ):
        return
    await proyecciones.desmarcar_alcanzado(conn, ev.familia_id, ev.logro, ev.fecha)
    anteriores = await proyecciones.demanda_de(conn, ev.familia_id)
    if ev.logro not in anteriores:
        fila = FilaDemanda(ev.logro, ev.municipio, (), ev.fecha)
        await _nueva_demanda(
            conn, ev.familia_id, anteriores, {**anteriores, ev.logro: fila}, envelope
        )


@subscriptions.on("accompaniment", "PlanFamiliarConstruido")
async def plan(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_Plan, envelope)
    prioridades: dict[str, int] = {}
    for p in ev.prioridades:
        prioridades[p.logro] = min(p.orden, prioridades.get(p.logro, p.orden))
    if not await proyecciones.plan(conn, ev.familia_id, ev.version, ev.fecha, prioridades):
        log.info("older plan ignored", familia_id=ev.familia_id, version=ev.version)


# --- enrollment ---------------------------------------------------------------------------------


@subscriptions.on("enrollment", "FamiliaPreseleccionada")
async def preseleccionada(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_Preseleccionada, envelope)
    await proyecciones.familia(
        conn, ev.familia_id, municipio=ev.municipio, desplazada=ev.desplazada, activa=True
    )
    await proyecciones.integrantes(conn, ev.familia_id, [m.model_dump() for m in ev.integrantes])


@subscriptions.on("enrollment", "IntegranteRegistrado")
@subscriptions.on("enrollment", "IntegranteActualizado")
async def integrante(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_ConIntegrante, envelope)
    await proyecciones.integrantes(conn, ev.familia_id, [ev.integrante.model_dump()])


@subscriptions.on("enrollment", "IntegranteRetirado")
async def integrante_retirado(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_IntegranteRetirado, envelope)
    await proyecciones.retirar_integrante(conn, ev.familia_id, ev.integrante_id)


@subscriptions.on("enrollment", "FamiliaMarcadaDesplazada")
async def desplazada(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_DeFamilia, envelope)
    await proyecciones.familia(conn, ev.familia_id, desplazada=True)


@subscriptions.on("enrollment", "FamiliaRetirada")
@subscriptions.on("enrollment", "FamiliaPromovida")
@subscriptions.on("enrollment", "FamiliaEgresadaPorTiempo")
async def salida(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_DeFamilia, envelope)
    fecha = ev.fecha or envelope.time.date()
    await proyecciones.familia(conn, ev.familia_id, activa=False)
    anteriores = await proyecciones.demanda_de(conn, ev.familia_id)
    if anteriores:
        await _nueva_demanda(conn, ev.familia_id, anteriores, {}, envelope)
    liberados = await handlers.liberar_de_familia(
        conn, ev.familia_id, fecha, actor=INSCRIPCION, causation_id=envelope.id
    )
    log.info("family left JUNTOS", familia_id=ev.familia_id, slots_released=liberados)


@subscriptions.on("enrollment", "FamiliaReabierta")
async def reabierta(envelope: Envelope, conn: AsyncConnection) -> None:
    ev = _leer(_DeFamilia, envelope)
    await proyecciones.familia(conn, ev.familia_id, activa=True)
