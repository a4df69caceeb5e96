"""EventStore.append (concurrency check + outbox) vs raw asyncpg inserts of the same rows.

One command appends one event to a family stream that already has events (the common case: a
visit, an evaluation) in its own transaction; 8 writers at once, each owning its families, each
side on its own fresh database. The raw side builds the same column values by hand (no project
code: json.dumps of the same CloudEvents headers and payload) and inserts them with two plain
INSERTs in one transaction; after both ran, a sample of rows is compared column by column.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade
from juntos_events.store import EventStore, lane_of

from bench.report import Phase, Result
from bench.servers import Servers
from bench.workload import CONCURRENCY, LogroEvaluado, event, in_parallel, registry

FAMILIES = 2_000  # a multiple of CONCURRENCY: every family belongs to one writer, no conflicts
SERVICE = "bench"


def _warm_up(events: int) -> list[int]:
    """One untimed event per family first: timed commands append to existing streams."""
    return list(range(events, events + FAMILIES))


def _familia(i: int) -> str:
    return f"fam-{i % FAMILIES}"


class ProjectSide:
    """EventStore.append through a SQLAlchemy engine, as a service's command handler does."""

    label = "append (EventStore)"
    profile_as = "append-project"

    def __init__(self, url: str) -> None:
        self.url = url
        self.versions: dict[str, int] = {}
        self.store = EventStore(registry(SERVICE))

    async def open(self) -> None:
        await upgrade(self.url)
        self.engine = async_engine(self.url, pool_size=CONCURRENCY)

    async def command(self, i: int) -> None:
        familia = _familia(i)
        async with self.engine.begin() as conn:
            self.versions[familia] = await self.store.append(
                conn, familia, "Familia", self.versions.get(familia, 0), [event(i)], actor="bench"
            )

    async def close(self) -> None:
        if hasattr(self, "engine"):
            await self.engine.dispose()


# What the project stores for an event, written out by hand: the CloudEvents binary-mode headers.
_SOURCE = f"/juntos/{SERVICE}"
_CE_TYPE = f"co.gov.juntos.{SERVICE}.LogroEvaluado"
_DATASCHEMA = f"urn:juntos:schema:{SERVICE}:LogroEvaluado:v1"
_TOPIC = f"juntos.{SERVICE}.events"
_INSERT_EVENT = (
    "INSERT INTO events (stream_id, stream_type, version, event_id, event_type,"
    " schema_version, data, metadata, occurred_at)"
    " VALUES ($1, 'Familia', $2, $3, 'LogroEvaluado', 1, $4::jsonb, $5::jsonb, $6)"
)
_INSERT_OUTBOX = (
    "INSERT INTO outbox (lane, event_id, topic, key, headers, payload)"
    " VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
)
_METADATA = json.dumps({"actor": "bench"})


def raw_row(e: LogroEvaluado, familia: str) -> tuple[uuid.UUID, datetime, str, str]:
    """(event id, time, JSON payload, JSON headers) built without the project's code."""
    event_id, now = uuid.uuid4(), datetime.now(UTC)
    payload = json.dumps(e.model_dump(mode="json"))
    headers = json.dumps(
        {
            "ce_id": str(event_id),
            "ce_source": _SOURCE,
            "ce_type": _CE_TYPE,
            "ce_subject": familia,
            "ce_time": now.isoformat()[:-6] + "Z",
            "content-type": "application/json",
            "ce_dataschema": _DATASCHEMA,
            "ce_schemaversion": "1",
            "ce_partitionkey": familia,
            "ce_specversion": "1.0",
        }
    )
    return event_id, now, payload, headers


class RawSide:
    """Plain asyncpg: the same rows, two INSERTs in one transaction, no concurrency check."""

    label = "append (raw asyncpg)"
    profile_as = "append-baseline"

    def __init__(self, url: str, uri: str) -> None:
        self.url, self.uri = url, uri
        self.versions: dict[str, int] = {}

    async def open(self) -> None:
        await upgrade(self.url)  # same tables, indexes and trigger as the project
        self.pool = await asyncpg.create_pool(self.uri, min_size=CONCURRENCY, max_size=CONCURRENCY)

    async def command(self, i: int) -> None:
        familia = _familia(i)
        version = self.versions.get(familia, 0) + 1
        self.versions[familia] = version
        event_id, now, payload, headers = raw_row(event(i), familia)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_INSERT_EVENT, familia, version, event_id, payload, _METADATA, now)
            await conn.execute(
                _INSERT_OUTBOX,
                lane_of(familia),
                event_id,
                _TOPIC,
                familia,
                headers,
                payload.encode(),
            )

    async def close(self) -> None:
        if hasattr(self, "pool"):
            await self.pool.close()


Side = ProjectSide | RawSide


_SAMPLE = """
SELECT e.stream_id, e.version, e.stream_type, e.event_type, e.schema_version, e.data, e.metadata,
       o.lane, o.topic, o.key, o.headers - 'ce_id' - 'ce_time' AS headers, o.payload,
       o.traceparent, (o.headers->>'ce_id')::uuid = e.event_id AS same_id
FROM events e JOIN outbox o USING (event_id)
WHERE e.stream_id = ANY($1::text[]) ORDER BY e.stream_id, e.version
"""


async def same_rows(project_uri: str, raw_uri: str, events: int) -> None:
    """Both databases hold the same rows (ids and times aside); raises if they differ."""
    sample = [_familia(i) for i in range(0, FAMILIES, FAMILIES // 20)]
    found = []
    for uri in (project_uri, raw_uri):
        conn = await asyncpg.connect(uri)
        try:
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM outbox) AS o"
            )
            rows = [dict(r) for r in await conn.fetch(_SAMPLE, sample)]
        finally:
            await conn.close()
        if counts["e"] != events + FAMILIES or counts["o"] != events + FAMILIES:
            raise AssertionError(f"{uri}: {dict(counts)} rows, expected {events + FAMILIES}")
        found.append(rows)
    if found[0] != found[1] or not all(r["same_id"] for r in found[0]):
        raise AssertionError("the project and the raw side did not write the same rows")


async def run(servers: Servers, events: int) -> Result:
    project_url, project_uri = servers.database("bench_append_project")
    raw_url, raw_uri = servers.database("bench_append_raw")
    project, raw = ProjectSide(project_url), RawSide(raw_url, raw_uri)
    rounds: dict[Side, list[Phase]] = {project: [], raw: []}
    quarter = -(-events // 4)
    try:
        for side in (project, raw):
            await side.open()
            await in_parallel(f"warm-up {side.label}", _warm_up(events), side.command)
        servers.checkpoint()
        # A B B A: each side gets two early and two late quarters, so that drift (the tables'
        # growth, checkpoints of the shared WAL) falls on both alike.
        for n, side in enumerate((project, raw, raw, project, raw, project, project, raw)):
            chunk = list(range(n // 2 * quarter, min(events, (n // 2 + 1) * quarter)))
            with Phase(profile_as=side.profile_as) as phase:
                await in_parallel(f"{side.label} {n // 2 + 1}/4", chunk, side.command)
            rounds[side].append(phase)
    finally:
        await project.close()
        await raw.close()
    await same_rows(project_uri, raw_uri, events)
    return Result(
        bench="append",
        events=events,
        project=Phase.total(rounds[project]),
        baseline=Phase.total(rounds[raw]),
        target=0.6,
        project_path="EventStore.append, 1 event per command/transaction",
        baseline_path="raw asyncpg, 2 plain INSERTs per transaction",
        extra={"writers": CONCURRENCY, "families": FAMILIES, "rounds": "ABBA BAAB quarters"},
    )
