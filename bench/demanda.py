"""Offer's demand recomputation from accompaniment's boards vs raw consume + one upsert per board.

N (`--events`, default 1,000,000) `LogrosEvaluados` events are produced untimed to the real
topic `juntos.accompaniment.events`, encoded as accompaniment's relay would
(`juntos_events.envelope.encode` with accompaniment's registry and model, key = family): seeded
families in 100 municipalities, 1-6 members, 2-6 boards each (mean 4) a few months apart, every
board the whole 45 LB with 10-20 POR_ALCANZAR (about 70 % of a board's pending LB stay pending
in the next one, so rows are replaced, kept and dropped), each pending LB concerning 0-2
members. Boards are produced in windows of WINDOW families, round by round (every family's first
board, then every second one...), so a family's boards land in different poll batches.

- project: offer's real consumer (`ConsumerRunner` with `offer.consumers.subscriptions`, group
  `offer`, default settings: polls of 500, one transaction per partition batch with its inbox
  rows, offset commit after it) on a fresh migrated offer database. Per board the handler checks
  the family is active, locks the stored board, reads the family's demand and reaches, replaces
  its demand rows, stores the board and adjusts the demand-supply balance (which appends a
  DemandaInsatisfecha the first time a municipality's LB has more demand than slots).
- baseline: raw aiokafka (`getmany`, 500 records) + `json.loads` of each body, one raw asyncpg
  statement per board (a data-modifying CTE that deletes the family's rows for LB no longer
  pending and upserts the pending ones, keeping the date an LB became pending), one transaction
  per partition batch, offset commit after it; no inbox, no older-board check, no balance: the
  minimum that keeps the table right. (Keeping only a family's last board of a batch would be
  wrong: an LB dropped by an earlier board and pending again must restart its waiting time.)

Both groups start at the topic's end offsets as they were before producing (committed upfront),
so only these N events are read. The same poller (every 50 ms) sums each group's committed
offsets: the clock runs from the poll that sees the warm-up share (min(10,000, N/10) events)
committed to the one that sees all N, so the group join and first fetches are excluded alike.
After each run (untimed) the side's demand table is compared row by row with the last board of
every family (LB, municipality, members, pending since), and the project's tables and balance
with the boards: any difference fails the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg
from accompaniment import events as acompanamiento
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from juntos_events.consumer import BatchHandler, ConsumerSettings, Subscriptions
from juntos_events.engine import async_engine
from juntos_events.envelope import Envelope, encode
from juntos_events.events import DomainEvent, EventRegistry
from juntos_events.migrate import upgrade
from juntos_events.relay import idempotent_producer
from juntos_events.topics import ensure_topics, event_topic
from juntos_testing.publishing import start_at_end
from offer.consumers import subscriptions
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.consumer import consuming
from bench.report import Phase, Result, release_memory
from bench.servers import Servers
from bench.workload import progress

MIGRATIONS = Path(str(files("offer") / "migrations" / "versions"))
TOPIC = event_topic("accompaniment")
EVENTOS = 1_000_000  # default N: boards
WARM_UP = 10_000  # events each side applies untimed first (at most a tenth of N)
WINDOW = 5_000  # families generated and produced together, round by round
SEND_CHUNK = 5_000  # sends in flight before awaiting their acks
MAX_RECORDS = ConsumerSettings().max_records
PROJECT_GROUP, RAW_GROUP = "offer", "bench-demanda-raw"
SEED = 20_261_125
FAMILIAS = 0xD3  # family ids: UUID(int = FAMILIAS << 64 | k), so they sort as k does
MIEMBROS = 0xD4
MUNICIPIOS = tuple(f"{5001 + 37 * i:05d}" for i in range(100))
LBS = tuple(f"LB{n}" for n in range(1, 46))
SIGUE = 0.7  # chance that a pending LB is still pending on the family's next board
INICIO = date(2025, 1, 1)

Fila = tuple[str, str, tuple[str, ...], date]  # logro, municipio, integrantes, desde

# the raw side's one statement per family board: drop LB no longer pending, upsert the others
REEMPLAZAR = """
WITH borradas AS (
  DELETE FROM demanda WHERE familia_id = $1 AND NOT (logro = ANY($2::text[]))
)
INSERT INTO demanda (familia_id, logro, municipio, integrantes, desde)
SELECT $1, n.logro, $3, string_to_array(n.integrantes, ' '), $5::date
FROM unnest($2::text[], $4::text[]) AS n(logro, integrantes)
ON CONFLICT (familia_id, logro) DO UPDATE SET
  municipio = excluded.municipio, integrantes = excluded.integrantes,
  desde = least(demanda.desde, excluded.desde)
"""


@dataclass
class Familia:
    familia_id: str
    municipio: str
    desplazada: bool
    tableros: list[tuple[date, dict[str, tuple[str, ...]]]]
    """(fecha, POR_ALCANZAR LB -> members), oldest first."""

    def demanda(self) -> dict[str, Fila]:
        """What offer must hold after the last board: its pending LB, pending since when."""
        desde: dict[str, date] = {}
        for fecha, pendientes in self.tableros:
            desde = {lb: desde.get(lb, fecha) for lb in pendientes}
        _, ultimo = self.tableros[-1]
        return {lb: (lb, self.municipio, ultimo[lb], desde[lb]) for lb in sorted(ultimo)}


def _rnd(k: int) -> random.Random:
    return random.Random(SEED * 10_000_019 + k)


def tableros_de(k: int) -> int:
    """How many boards family k has (the first draw of its generator)."""
    return _rnd(k).randint(2, 6)


def familia(k: int, tableros: int, municipios: Sequence[str] = MUNICIPIOS) -> Familia:
    """Family k, seeded: the same every time, with its first `tableros` boards (living in one of
    100 `municipios`: territorial's bench passes DIVIPOLA codes)."""
    rnd = _rnd(k)
    total = rnd.randint(2, 6)
    municipio = municipios[rnd.randrange(len(MUNICIPIOS))]
    desplazada = rnd.random() < 0.1
    miembros = [str(uuid.UUID(int=MIEMBROS << 64 | k << 3 | j)) for j in range(rnd.randint(1, 6))]
    fecha = INICIO + timedelta(days=rnd.randrange(180))
    lista: list[tuple[date, dict[str, tuple[str, ...]]]] = []
    pendientes: list[str] = []
    for _ in range(total):
        meta = rnd.randint(10, 20)
        siguen = [lb for lb in pendientes if rnd.random() < SIGUE][:meta]
        otros = [lb for lb in LBS if lb not in siguen]
        pendientes = siguen + rnd.sample(otros, meta - len(siguen))
        lista.append(
            (
                fecha,
                {
                    lb: tuple(sorted(rnd.sample(miembros, rnd.randint(0, min(2, len(miembros))))))
                    for lb in pendientes
                },
            )
        )
        fecha += timedelta(days=rnd.randint(30, 120))
    return Familia(str(uuid.UUID(int=FAMILIAS << 64 | k)), municipio, desplazada, lista[:tableros])


def plan(events: int) -> list[int]:
    """Boards per family until there are `events` boards (the last family may have fewer)."""
    cuantos: list[int] = []
    total = 0
    while total < events:
        n = min(tableros_de(len(cuantos)), events - total)
        cuantos.append(n)
        total += n
    return cuantos


def familias(
    cuantos: list[int],
    desde: int = 0,
    hasta: int | None = None,
    municipios: Sequence[str] = MUNICIPIOS,
) -> Iterator[Familia]:
    for k in range(desde, len(cuantos) if hasta is None else hasta):
        yield familia(k, cuantos[k], municipios)


_ALCANZADO = {
    lb: acompanamiento.Evaluacion(logro=lb, estado="ALCANZADO", integrantes=()) for lb in LBS
}


def evento(f: Familia, i: int) -> acompanamiento.LogrosEvaluados:
    fecha, pendientes = f.tableros[i]
    return acompanamiento.LogrosEvaluados(
        familia_id=f.familia_id,
        municipio=f.municipio,
        fecha=fecha,
        desplazada=f.desplazada,
        evaluaciones=tuple(
            acompanamiento.Evaluacion(logro=lb, estado="POR_ALCANZAR", integrantes=pendientes[lb])
            if lb in pendientes
            else _ALCANZADO[lb]
            for lb in LBS
        ),
    )


# --- untimed set-up -----------------------------------------------------------------------------


async def produce(
    bootstrap: str, cuantos: list[int], events: int, municipios: Sequence[str] = MUNICIPIOS
) -> None:
    """Every board, encoded as accompaniment's relay publishes it, on the real topic."""

    def tableros() -> Iterator[tuple[str, DomainEvent]]:
        for start in range(0, len(cuantos), WINDOW):
            hasta = min(start + WINDOW, len(cuantos))
            ventana = list(familias(cuantos, start, hasta, municipios))
            for ronda in range(max(len(f.tableros) for f in ventana)):
                for f in ventana:
                    if ronda < len(f.tableros):
                        yield f.familia_id, evento(f, ronda)

    label = "produce LogrosEvaluados (untimed)"
    sent = await publish(bootstrap, acompanamiento.events, tableros(), label, events)
    if sent != events:
        raise AssertionError(f"{sent:,} boards produced, expected {events:,}")


async def publish(
    bootstrap: str,
    registry: EventRegistry,
    eventos: Iterable[tuple[str, DomainEvent]],
    label: str,
    total: int,
) -> int:
    """(stream id, event)s encoded as the service's relay publishes them (key = stream id), on
    its topic, untimed, SEND_CHUNK in flight; how many were sent."""
    producer = idempotent_producer(bootstrap)
    await producer.start()
    sent = 0
    try:
        with progress() as bar:
            task = bar.add_task(label, total=total)
            pending = []
            for stream_id, event in eventos:
                m = encode(
                    registry,
                    event,
                    event_id=str(uuid.uuid4()),
                    stream_id=stream_id,
                    occurred_at=datetime.now(UTC),
                )
                pending.append(
                    await producer.send(
                        registry.topic,
                        m.value,
                        key=stream_id.encode(),
                        headers=list(m.headers.items()),
                    )
                )
                if len(pending) >= SEND_CHUNK:
                    await asyncio.gather(*pending)
                    sent += len(pending)
                    bar.advance(task, len(pending))
                    pending = []
            await asyncio.gather(*pending)
            sent += len(pending)
    finally:
        await producer.stop()
    return sent


def one_by_one(service: str, handler: BatchHandler, *event_types: str) -> Subscriptions:
    """A service's batch handler given one event per call: the "before" of a batch handler."""
    subs = Subscriptions()

    @subs.on_batch(service, *event_types)
    async def uno_a_uno(envelopes: Sequence[Envelope], conn: AsyncConnection) -> None:
        for envelope in envelopes:
            await handler([envelope], conn)

    return subs


async def tablas(uri: str, consultas: Sequence[str]) -> list[list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(uri)
    try:
        return [[tuple(r) for r in await conn.fetch(sql)] for sql in consultas]
    finally:
        await conn.close()


def mismas_tablas(
    lote: list[list[tuple[Any, ...]]], uno: list[list[tuple[Any, ...]]], consultas: Sequence[str]
) -> None:
    """Fails naming the tables where runs and one by one differ."""
    if lote != uno:
        nombres = [sql.split(" FROM ")[1].split()[0] for sql in consultas]
        distintas = [n for n, a, b in zip(nombres, lote, uno, strict=True) if a != b]
        raise AssertionError(f"runs and one by one differ in {distintas}")


async def start_all_at_end(
    bootstrap: str, groups: Sequence[str], topics: list[str], topic: str = TOPIC
) -> dict[TopicPartition, int]:
    """Start every group at the end of `topics`: `topic`'s offsets they read from (the boards'
    by default)."""
    for group in groups:
        tps = await start_at_end(bootstrap, group, topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(groups[0], partitions=tps)
    finally:
        await admin.close()
    return {tp: offsets[tp].offset for tp in tps if tp.topic == topic}


async def committed(
    admin: AIOKafkaAdminClient, group: str, start: dict[TopicPartition, int]
) -> int:
    offsets = await admin.list_consumer_group_offsets(group, partitions=list(start))
    return sum(max(0, offsets[tp].offset - s) for tp, s in start.items() if tp in offsets)


# --- timing -------------------------------------------------------------------------------------


async def timed_until_committed(
    bootstrap: str,
    group: str,
    start: dict[TopicPartition, int],
    warm_up: int,
    total: int,
    label: str,
    task: asyncio.Task[None],
    profile_as: str,
) -> Phase:
    """Time the consumer `task` from `warm_up` committed events until `total` are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    phase = Phase(profile_as)
    started_at: int | None = None
    try:
        with progress() as bar:
            bar_task = bar.add_task(label, total=total)
            while True:
                done = await committed(admin, group, start)
                if started_at is None and done >= warm_up:
                    phase.start()
                    started_at = done
                bar.update(bar_task, completed=done)
                if done >= total:
                    break
                if task.done():
                    task.result()  # raises the consumer's error
                    raise AssertionError(f"the consumer stopped after {done} events")
                await asyncio.sleep(0.05)
        phase.stop()
    finally:
        await admin.close()
    if done != total or started_at is None or started_at >= total:
        raise AssertionError(f"{done} events committed, expected {total} (clock from {started_at})")
    phase.events = total - started_at
    return phase


async def project(
    servers: Servers, bootstrap: str, start: dict[TopicPartition, int], warm_up: int, total: int
) -> tuple[Phase, str]:
    return await timed_runner(
        servers,
        "bench_demanda_project",
        MIGRATIONS,
        PROJECT_GROUP,
        subscriptions,
        start,
        warm_up,
        total,
        "consume boards (offer's ConsumerRunner)",
        "demanda-project",
    )


async def timed_runner(
    servers: Servers,
    database: str,
    migrations: Path,
    group: str,
    subs: Subscriptions,
    start: dict[TopicPartition, int],
    warm_up: int,
    total: int,
    label: str,
    profile_as: str,
    preparar: Callable[[AsyncEngine], Awaitable[None]] | None = None,
) -> tuple[Phase, str]:
    """A service's real `ConsumerRunner` (default settings) on a fresh migrated database
    (`preparar` fills it first, untimed), timed by its committed offsets; the phase and the
    database's URI."""
    url, uri = servers.database(database)
    await upgrade(url, migrations)
    engine = async_engine(url, pool_pre_ping=True)  # as the app's engine
    if preparar is not None:
        await preparar(engine)
    bootstrap = servers.kafka.bootstrap
    servers.checkpoint()
    release_memory()
    try:
        async with consuming(group, engine, bootstrap, subs) as task:
            phase = await timed_until_committed(
                bootstrap, group, start, warm_up, total, label, task, profile_as
            )
    finally:
        await engine.dispose()
    return phase, uri


async def grupo(
    servers: Servers,
    group: str,
    subs: Subscriptions,
    start: dict[TopicPartition, int],
    warm_up: int,
    total: int,
    *,
    migrations: Path,
    que: str,
    bench: str,
    label: str,
    preparar: Callable[[AsyncEngine], Awaitable[None]] | None = None,
) -> tuple[Phase, str]:
    """`timed_runner` of one side of a bench (`label`), in a database named after its group."""
    return await timed_runner(
        servers,
        f"bench_{group.replace('-', '_')}",
        migrations,
        group,
        subs,
        start,
        warm_up,
        total,
        f"consume {que} ({bench}, {label})",
        f"{bench}-{label.replace(' ', '-')}",
        preparar,
    )


async def baseline(
    servers: Servers, bootstrap: str, start: dict[TopicPartition, int], warm_up: int, total: int
) -> tuple[Phase, str]:
    url, uri = servers.database("bench_demanda_raw")
    await upgrade(url, MIGRATIONS)  # the same tables as the project, only `demanda` is used
    pool = await asyncpg.create_pool(uri, min_size=1, max_size=2)
    stopping = asyncio.Event()

    async def consume() -> None:
        consumer = AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=bootstrap,
            group_id=RAW_GROUP,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=MAX_RECORDS,
        )
        await consumer.start()
        try:
            while not stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    async with pool.acquire() as conn, conn.transaction():
                        for record in records:
                            d = json.loads(record.value)
                            pendientes = [
                                e for e in d["evaluaciones"] if e["estado"] == "POR_ALCANZAR"
                            ]
                            await conn.execute(
                                REEMPLAZAR,
                                d["familia_id"],
                                [e["logro"] for e in pendientes],
                                d["municipio"],
                                [" ".join(sorted(e["integrantes"])) for e in pendientes],
                                date.fromisoformat(d["fecha"]),
                            )
                    await consumer.commit({tp: records[-1].offset + 1})
        finally:
            await consumer.stop()

    servers.checkpoint()
    release_memory()
    task = asyncio.create_task(consume())
    try:
        phase = await timed_until_committed(
            bootstrap,
            RAW_GROUP,
            start,
            warm_up,
            total,
            "consume boards (raw aiokafka + asyncpg)",
            task,
            "demanda-baseline",
        )
    finally:
        stopping.set()
        await task
        await pool.close()
    return phase, uri


# --- checks -------------------------------------------------------------------------------------


async def demanda_igual(uri: str, cuantos: list[int], label: str) -> int:
    """Compare the demand table with every family's last board, row by row; the rows compared."""
    conn = await asyncpg.connect(uri)
    rows = 0
    try:
        async with conn.transaction():
            cursor = conn.cursor(
                "SELECT familia_id, logro, municipio, integrantes, desde FROM demanda"
                ' ORDER BY familia_id COLLATE "C", logro COLLATE "C"',
                prefetch=10_000,
            )
            esperadas = (
                (f.familia_id, *fila) for f in familias(cuantos) for fila in f.demanda().values()
            )
            with progress() as bar:
                task = bar.add_task(f"check demand ({label}, untimed)", total=len(cuantos))
                async for r in cursor:
                    got = (r[0], r[1], r[2], tuple(r[3]), r[4])
                    want = next(esperadas, None)
                    if got != want:
                        raise AssertionError(f"{label}: demand row {rows:,} is {got}, want {want}")
                    rows += 1
                    if rows % 10_000 == 0:
                        bar.update(task, completed=int(r[0][-12:], 16))
        if (missing := next(esperadas, None)) is not None:
            raise AssertionError(f"{label}: demand row {rows:,} missing: {missing}")
    finally:
        await conn.close()
    return rows


async def project_consistent(uri: str, cuantos: list[int], rows: int, events: int) -> dict:
    """Boards stored, inbox, balance and dead letters agree with what was produced."""
    conn = await asyncpg.connect(uri)
    try:
        tableros = await conn.fetchval("SELECT count(*) FROM tableros")
        inbox = await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", PROJECT_GROUP)
        balance = await conn.fetchval("SELECT coalesce(sum(demanda), 0) FROM balance")
        descuadre = await conn.fetchval(
            "SELECT count(*) FROM balance b FULL JOIN (SELECT municipio, logro, count(*) AS n"
            " FROM demanda GROUP BY 1, 2) d USING (municipio, logro)"
            " WHERE coalesce(b.demanda, 0) <> coalesce(d.n, 0)"
        )
        insatisfecha = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'DemandaInsatisfecha'"
        )
        ultimas = {
            r[0]: r[1]
            for r in await conn.fetch(
                "SELECT familia_id, fecha FROM tableros WHERE familia_id = ANY($1::text[])",
                [familia(k, cuantos[k]).familia_id for k in range(0, len(cuantos), 97)],
            )
        }
    finally:
        await conn.close()
    problems = []
    if tableros != len(cuantos):
        problems.append(f"{tableros:,} boards stored for {len(cuantos):,} families")
    if inbox != events:
        problems.append(f"{inbox:,} inbox rows for {events:,} events")
    if balance != rows or descuadre:
        problems.append(f"balance sums {balance:,} for {rows:,} rows, {descuadre} pairs off")
    for k in range(0, len(cuantos), 97):  # a sample of the stored boards' dates
        f = familia(k, cuantos[k])
        if ultimas.get(f.familia_id) != f.tableros[-1][0]:
            problems.append(f"family {k}: board of {ultimas.get(f.familia_id)} stored")
            break
    if problems:
        raise AssertionError("offer's projections disagree with the boards: " + "; ".join(problems))
    return {"boards_stored": tableros, "demanda_insatisfecha_events": insatisfecha}


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap)
    cuantos = plan(events)
    start = await start_all_at_end(bootstrap, [PROJECT_GROUP, RAW_GROUP], subscriptions.topics())
    await produce(bootstrap, cuantos, events)
    warm_up = min(WARM_UP, events // 10)

    project_phase, project_uri = await project(servers, bootstrap, start, warm_up, events)
    rows = await demanda_igual(project_uri, cuantos, "project")
    checks = await project_consistent(project_uri, cuantos, rows, events)
    baseline_phase, raw_uri = await baseline(servers, bootstrap, start, warm_up, events)
    raw_rows = await demanda_igual(raw_uri, cuantos, "baseline")
    if raw_rows != rows:
        raise AssertionError(f"baseline holds {raw_rows:,} demand rows, project {rows:,}")
    return Result(
        bench="demanda",
        events=events,
        unit="boards",
        project=project_phase,
        baseline=baseline_phase,
        target=None,  # the issue sets none; see bench/README.md
        project_path=(
            "offer's ConsumerRunner + offer.consumers (LogrosEvaluados): inbox, board check,"
            " demand replaced, board stored, balance adjusted; 1 transaction per batch"
        ),
        baseline_path=(
            "raw aiokafka + json.loads, 1 asyncpg delete+upsert statement per board,"
            " 1 transaction per batch"
        ),
        extra={
            "families": len(cuantos),
            "municipalities": len(MUNICIPIOS),
            "demand_rows": rows,
            "warm_up_events": warm_up,
            "timed_events": {"project": project_phase.events, "baseline": baseline_phase.events},
            "max_records": MAX_RECORDS,
            **checks,
            "seed": SEED,
        },
    )
