"""EventStore.append (concurrency check + outbox) vs raw asyncpg inserts of the same rows.

One command appends one event to a family stream that already has events (the common case: a
visit, an evaluation), in its own transaction; 8 writers at once, each owning its families.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
from juntos_events.envelope import encode
from juntos_events.migrate import upgrade
from juntos_events.store import EventStore, lane_of
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import Result, Stopwatch
from bench.servers import Servers
from bench.workload import CONCURRENCY, event, in_parallel, registry

FAMILIES = 2_000  # each family stream grows to events/FAMILIES versions


def _warm_up(events: int) -> list[int]:
    """One untimed event per family first: timed commands append to existing streams."""
    return list(range(events, events + FAMILIES))


async def project(url: str, events: int) -> float:
    await upgrade(url)
    engine = create_async_engine(url, pool_size=CONCURRENCY)
    store = EventStore(registry("bench"))
    versions: dict[str, int] = {}

    async def command(i: int) -> None:
        familia = f"fam-{i % FAMILIES}"
        async with engine.begin() as conn:
            versions[familia] = await store.append(
                conn, familia, "Familia", versions.get(familia, 0), [event(i)], actor="bench"
            )

    await in_parallel("warm-up (project)", _warm_up(events), command)
    with Stopwatch() as clock:
        await in_parallel("append (project)", list(range(events)), command)
    await engine.dispose()
    return clock.seconds


async def baseline(url: str, uri: str, events: int) -> float:
    await upgrade(url)  # same tables and indexes as the project
    pool = await asyncpg.create_pool(uri, min_size=CONCURRENCY, max_size=CONCURRENCY)
    events_reg = registry("bench")
    versions: dict[str, int] = {}

    async def command(i: int) -> None:
        familia = f"fam-{i % FAMILIES}"
        version = versions.get(familia, 0) + 1
        versions[familia] = version
        e, event_id, now = event(i), uuid.uuid4(), datetime.now(UTC)
        message = encode(events_reg, e, event_id=str(event_id), stream_id=familia, occurred_at=now)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO events (stream_id, stream_type, version, event_id, event_type,"
                " schema_version, data, metadata, occurred_at)"
                " VALUES ($1, 'Familia', $2, $3, 'LogroEvaluado', 1, $4::jsonb, $5::jsonb, $6)",
                familia,
                version,
                event_id,
                json.dumps(e.model_dump(mode="json")),
                json.dumps({"actor": "bench"}),
                now,
            )
            await conn.execute(
                "INSERT INTO outbox (lane, event_id, topic, key, headers, payload)"
                " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
                lane_of(familia),
                event_id,
                events_reg.topic,
                familia,
                json.dumps({k: v.decode() for k, v in message.headers.items()}),
                message.value,
            )

    await in_parallel("warm-up (raw)", _warm_up(events), command)
    with Stopwatch() as clock:
        await in_parallel("append (raw asyncpg)", list(range(events)), command)
    await pool.close()
    return clock.seconds


async def run(servers: Servers, events: int) -> Result:
    project_url, _ = servers.database("bench_append_project")
    baseline_url, baseline_uri = servers.database("bench_append_raw")
    return Result(
        bench="append",
        events=events,
        project_seconds=await project(project_url, events),
        baseline_seconds=await baseline(baseline_url, baseline_uri, events),
        target=0.6,
        baseline="raw asyncpg",
    )
