"""Rebuild projections from offset 0 of every topic, blue/green, while the live ones answer.

1. A new generation schema of each projection is created (`CONSTRUYENDO`), empty.
2. Every partition of the topics that feed them is read from its beginning with a group-less
   consumer (the live consumer group's offsets are not touched), up to the end it had when the
   rebuild started, one transaction per partition batch with the partition's next offset in the
   schema's `checkpoint` table. This first pass takes the bulk path (`carga`): facts stored by
   COPY, then every entity's history folded once.
3. It catches up with the end of the topics, again and again while many events keep arriving,
   applying them by the same code as the live consumer (`handlers.aplicar`).
4. The swap: one transaction takes the live generations' advisory lock exclusively (it waits for
   the live consumer's batch and the readers in flight, and holds new ones back), reads the
   events published meanwhile up to the end measured *under* the lock, applies them, points
   `reporting_proyeccion` at the new schemas and drops the old ones (or keeps them, retired).
   Events the live consumer applies after the swap and the rebuild had already applied are
   skipped by the new generation's `aplicado` table. Readers never see an empty report: before
   the commit they read the old generation, after it the new one.

A failed rebuild drops its schemas and leaves the live generations as they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from juntos_events.envelope import MalformedEnvelope, decode
from juntos_events.logs import get_logger
from juntos_events.topics import event_topic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reporting import carga, domain, handlers
from reporting.consumers import saltar_desconocido
from reporting.proyecciones import PROYECCIONES, validar_esquema

log = get_logger(__name__)

Avance = Callable[[str, int, int], None]
"""Called after every batch with (phase, done, to do so far): phase `LEYENDO` counts events read,
`PLEGANDO` the facts folded into histories."""

LEYENDO, PLEGANDO = "reading events", "folding histories"


class ReconstruccionEnCurso(RuntimeError):
    """Another rebuild holds the lock."""


@dataclass
class Resultado:
    esquemas: dict[str, str]  # projection -> its new live schema
    anteriores: dict[str, str]  # projection -> the schema it replaced
    leidos: int = 0
    aplicados: int = 0
    saltados: dict[str, int] = field(default_factory=dict)


def topicos_de(nombres: Iterable[str]) -> list[str]:
    """The topics of the services whose events feed these projections."""
    quieren = set(nombres)
    servicios = {s for (s, _), lectura in domain.LECTURAS.items() if lectura.proyeccion in quieren}
    return sorted(event_topic(s) for s in servicios)


async def particiones(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of `topics` that exists (a topic nobody created has no events)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        descritos = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(d["topic"], p["partition"])
        for d in descritos
        if d["error_code"] == 0
        for p in d["partitions"]
    )


@contextlib.asynccontextmanager
async def _candado_de_reconstruccion(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.connect() as conn:
        tomado = await conn.scalar(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": handlers.CANDADO_RECONSTRUCCION}
        )
        await conn.commit()
        if not tomado:
            raise ReconstruccionEnCurso("another rebuild is running; try again when it ends")
        try:
            yield
        finally:
            await conn.execute(
                text("SELECT pg_advisory_unlock(:k)"), {"k": handlers.CANDADO_RECONSTRUCCION}
            )
            await conn.commit()


class _Lector:
    """Reads partitions from their beginning and applies their events to the new schemas."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        tps: list[TopicPartition],
        esquemas: dict[str, str],
        resultado: Resultado,
        avance: Avance,
        lote: int,
    ) -> None:
        self.consumer = consumer
        self.tps = tps
        self.esquemas = esquemas
        self.resultado = resultado
        self.avance = avance
        self.lote = lote
        self.inicio: dict[TopicPartition, int] = {}
        self.total = 0
        self.a_granel = True  # the first pass, into empty generations: the bulk path

    async def preparar(self) -> None:
        self.consumer.assign(self.tps)
        if self.tps:
            self.inicio = await self.consumer.beginning_offsets(self.tps)
            await self.consumer.seek_to_beginning(*self.tps)

    async def finales(self) -> dict[TopicPartition, int]:
        if not self.tps:
            return {}
        finales: dict[TopicPartition, int] = await self.consumer.end_offsets(self.tps)
        self.total = sum(finales[tp] - self.inicio.get(tp, 0) for tp in self.tps)
        return finales

    async def leer_hasta(
        self,
        finales: dict[TopicPartition, int],
        aplicar_en: Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]],
    ) -> int:
        """Read every partition up to `finales`; each batch in a transaction from `aplicar_en`."""
        leidos = 0
        while True:
            pendientes = [tp for tp in self.tps if await self.consumer.position(tp) < finales[tp]]
            if not pendientes:
                return leidos
            lotes = await self.consumer.getmany(*pendientes, timeout_ms=1000, max_records=self.lote)
            hasta_el_final = {
                tp: antes
                for tp, registros in lotes.items()
                if (antes := [r for r in registros if r.offset < finales[tp]])
            }
            if hasta_el_final:
                async with aplicar_en() as conn:  # one transaction per poll, all its partitions
                    await self._aplicar(conn, hasta_el_final)
                n = sum(len(registros) for registros in hasta_el_final.values())
                leidos += n
                self.resultado.leidos += n
                self.avance(LEYENDO, self.resultado.leidos, self.total)
            # records beyond the end wait for the next round (the swap reads them)
            for tp in pendientes:
                if tp in lotes and lotes[tp] and lotes[tp][-1].offset >= finales[tp]:
                    siguiente = next(r.offset for r in lotes[tp] if r.offset >= finales[tp])
                    self.consumer.seek(tp, siguiente)

    async def _aplicar(
        self, conn: AsyncConnection, lotes: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        lote = carga.Lote(self.esquemas)
        for registro in (r for registros in lotes.values() for r in registros):
            try:
                envelope = decode(registro.headers, registro.key, registro.value or b"")
            except MalformedEnvelope:
                self._saltar("malformed")
                continue
            lectura = domain.LECTURAS.get((envelope.service, envelope.event_type))
            if lectura is not None and lectura.proyeccion not in self.esquemas:
                continue
            try:
                if self.a_granel:
                    lote.agregar(envelope)
                elif await handlers.aplicar(conn, envelope, self.esquemas):
                    self.resultado.aplicados += 1
            except handlers.EventoDesconocido:
                saltar_desconocido(envelope, "rebuild")
                self._saltar("unknown type")
            except domain.EventoInvalido as exc:
                log.warning(
                    "invalid event skipped by the rebuild",
                    event_id=envelope.id,
                    event_type=envelope.event_type,
                    error=str(exc),
                )
                self._saltar("invalid")
        if self.a_granel:
            self.resultado.aplicados += await carga.cargar(conn, lote)
        siguientes = [(tp.topic, tp.partition, rs[-1].offset + 1) for tp, rs in lotes.items()]
        for esquema in self.esquemas.values():
            await conn.exec_driver_sql(
                f"INSERT INTO {esquema}.checkpoint (topic, particion, siguiente)"
                " VALUES ($1, $2, $3) ON CONFLICT (topic, particion)"
                " DO UPDATE SET siguiente = EXCLUDED.siguiente",
                siguientes,
            )

    def _saltar(self, motivo: str) -> None:
        self.resultado.saltados[motivo] = self.resultado.saltados.get(motivo, 0) + 1


async def reconstruir(
    engine: AsyncEngine,
    bootstrap: str,
    nombres: Sequence[str] | None = None,
    *,
    avance: Avance = lambda fase, hechos, total: None,
    conservar_anteriores: bool = False,
    lote: int = 5000,
    umbral: int = 1000,
) -> Resultado:
    """Rebuild `nombres` (default all projections) from offset 0 and swap them in atomically.

    `umbral`: catch up with the end of the topics until a round reads fewer events than this,
    then swap (the swap reads the rest while it holds the lock).
    """
    elegidas = list(nombres) if nombres else sorted(PROYECCIONES)
    desconocidas = [n for n in elegidas if n not in PROYECCIONES]
    if desconocidas:
        raise ValueError(
            f"unknown projection(s) {desconocidas}: choose from {sorted(PROYECCIONES)}"
        )
    async with _candado_de_reconstruccion(engine):
        await _abandonar_restos(engine, elegidas)
        esquemas: dict[str, str] = {}
        try:
            async with engine.begin() as conn:
                for nombre in elegidas:
                    _, esquemas[nombre] = await handlers.nueva_generacion(
                        conn, PROYECCIONES[nombre]
                    )
            resultado = Resultado(esquemas=esquemas, anteriores={})
            await _leer_y_cambiar(
                engine, bootstrap, resultado, avance, conservar_anteriores, lote, umbral
            )
        except BaseException:
            await _abandonar(engine, esquemas.values())
            raise
    log.info(
        "projections rebuilt",
        projections=elegidas,
        read=resultado.leidos,
        applied=resultado.aplicados,
        skipped=resultado.saltados,
    )
    return resultado


async def _leer_y_cambiar(
    engine: AsyncEngine,
    bootstrap: str,
    resultado: Resultado,
    avance: Avance,
    conservar: bool,
    lote: int,
    umbral: int,
) -> None:
    tps = await particiones(bootstrap, topicos_de(resultado.esquemas))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=lote,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        lector = _Lector(consumer, tps, resultado.esquemas, resultado, avance, lote)
        await lector.preparar()
        await lector.leer_hasta(await lector.finales(), engine.begin)
        await _plegar(engine, resultado.esquemas, avance)
        lector.a_granel = False
        while True:
            leidos = await lector.leer_hasta(await lector.finales(), engine.begin)
            if leidos < umbral:
                break
        async with engine.begin() as conn:
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock($1)", (handlers.CANDADO,))

            @contextlib.asynccontextmanager
            async def la_misma() -> AsyncIterator[AsyncConnection]:
                yield conn

            await lector.leer_hasta(await lector.finales(), la_misma)
            resultado.anteriores = await _cambiar(conn, resultado.esquemas, conservar)
        avance(LEYENDO, resultado.leidos, max(lector.total, resultado.leidos))
    finally:
        await consumer.stop()


async def _plegar(engine: AsyncEngine, esquemas: dict[str, str], avance: Avance) -> None:
    """Fold the histories of the first pass (progress in facts, of all the facts stored)."""
    total = 0
    async with engine.connect() as conn:
        for nombre, esquema in esquemas.items():
            for h in PROYECCIONES[nombre].historias:
                total += await conn.scalar(text(f"SELECT count(*) FROM {esquema}.{h.tabla}_hecho"))
    hechos = 0

    def otros(n: int) -> None:
        nonlocal hechos
        hechos += n
        avance(PLEGANDO, hechos, total)

    avance(PLEGANDO, 0, total)
    await carga.plegar(engine, esquemas, otros)


async def _cambiar(
    conn: AsyncConnection, esquemas: dict[str, str], conservar: bool
) -> dict[str, str]:
    """Point each projection at its new schema; retire (and drop) the old one. Under the lock."""
    anteriores = {}
    for nombre, nuevo in esquemas.items():
        fila = (
            await conn.execute(
                text("SELECT esquema FROM reporting_proyeccion WHERE proyeccion = :p"),
                {"p": nombre},
            )
        ).first()
        generacion = int(nuevo.rsplit("_", 1)[1])
        await conn.execute(
            text(
                "INSERT INTO reporting_proyeccion (proyeccion, generacion, esquema, activada)"
                " VALUES (:p, :g, :e, now()) ON CONFLICT (proyeccion) DO UPDATE"
                " SET generacion = :g, esquema = :e, activada = now()"
            ),
            {"p": nombre, "g": generacion, "e": nuevo},
        )
        await conn.execute(
            text(
                "UPDATE reporting_generacion SET estado = 'ACTIVA', activada = now()"
                " WHERE esquema = :e"
            ),
            {"e": nuevo},
        )
        if fila is None:
            continue
        anterior = validar_esquema(fila.esquema)
        anteriores[nombre] = anterior
        await conn.execute(
            text(
                "UPDATE reporting_generacion SET estado = 'RETIRADA', retirada = now()"
                " WHERE esquema = :e"
            ),
            {"e": anterior},
        )
        if not conservar:
            await conn.exec_driver_sql(f"DROP SCHEMA {anterior} CASCADE")
    return anteriores


async def _abandonar(engine: AsyncEngine, esquemas: Iterable[str]) -> None:
    with contextlib.suppress(Exception):
        async with engine.begin() as conn:
            for esquema in esquemas:
                await conn.exec_driver_sql(
                    f"DROP SCHEMA IF EXISTS {validar_esquema(esquema)} CASCADE"
                )
                await conn.execute(
                    text(
                        "UPDATE reporting_generacion SET estado = 'ABANDONADA'"
                        " WHERE esquema = :e AND estado = 'CONSTRUYENDO'"
                    ),
                    {"e": esquema},
                )


async def _abandonar_restos(engine: AsyncEngine, nombres: Sequence[str]) -> None:
    """Generations a killed rebuild left half-built."""
    async with engine.connect() as conn:
        restos = [
            fila.esquema
            for fila in await conn.execute(
                text(
                    "SELECT esquema FROM reporting_generacion"
                    " WHERE estado = 'CONSTRUYENDO' AND proyeccion = ANY(:p)"
                ),
                {"p": list(nombres)},
            )
        ]
    if restos:
        log.warning("dropping generations a previous rebuild left unfinished", schemas=restos)
        await _abandonar(engine, restos)


async def comparar(
    conn: AsyncConnection, proyeccion: str, a: str, b: str
) -> dict[str, tuple[int, int]]:
    """Tables of two generations of a projection that differ: {table: (rows in a, rows in b)}.

    Facts are compared without their arrival number (`seq`), rebuild checkpoints not at all.
    """
    diferentes = {}
    for tabla in PROYECCIONES[proyeccion].tablas():
        filas = []
        for esquema in (validar_esquema(a), validar_esquema(b)):
            columnas = [
                c
                for (c,) in await conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
                    ),
                    {"s": esquema, "t": tabla},
                )
                if c != "seq"
            ]
            lista = ", ".join(columnas)
            resultado = await conn.exec_driver_sql(
                f"SELECT {lista} FROM {esquema}.{tabla} ORDER BY {lista}"
            )
            filas.append([tuple(_comparable(v) for v in fila) for fila in resultado])
        if filas[0] != filas[1]:
            diferentes[tabla] = (len(filas[0]), len(filas[1]))
    return diferentes


def _comparable(valor: Any) -> Any:
    return repr(valor) if isinstance(valor, dict | list) else valor
