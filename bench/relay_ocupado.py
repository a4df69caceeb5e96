"""The outbox relay while the service's event loop is busy: on its own thread vs on that loop.

A service's requests can hold its event loop for seconds (accompaniment's rules over a sync
batch); the relay then shares the loop with them. Each side drains N outbox rows (filled
untimed through the store, one database each) while this process's loop runs "requests":
bursts of 50 ms of pure Python (holding the GIL as the rules engine does) with one `await` in
between, without end, as a stage of `juntos simulate run` keeps accompaniment busy.
- project: the relay as services run it now, `juntos_events.runtime.RelayThread` (its own
  thread, event loop, engine and producer);
- baseline ("before"): `OutboxRelay.run` as a task on the busy loop, as services ran it before.
Both are timed from start until their outbox is empty, polled on the busy loop. The printed
ratio is the speed-up (project / baseline). Also recorded: how many bursts each side's "requests"
got done per second (what the relay's thread takes from them), and the relay thread's rate with
the loop idle (its ceiling on this machine). Every row must be in the topic afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from juntos_events.engine import async_engine
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer
from juntos_events.runtime import RelayThread
from juntos_events.topics import ensure_topics, event_topic
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.relay import fill, messages_in
from bench.report import Phase, Result
from bench.servers import Servers
from bench.workload import progress

EVENTOS = 20_000
BURST_S = 0.05
THREAD, LOOP, IDLE = "benchrelayhilo", "benchrelaybucle", "benchrelayocioso"


def burst() -> None:
    """50 ms of pure Python: the shape of a request's CPU work (no I/O, no GIL release)."""
    until = time.perf_counter() + BURST_S
    while time.perf_counter() < until:
        sum(i * i for i in range(500))


async def outbox_left(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT count(*) FROM outbox")).scalar_one()


async def drained_under_load(
    url: str, events: int, label: str, start: Callable[[], Awaitable[Callable[[], Awaitable[None]]]]
) -> tuple[Phase, float]:
    """Start a relay, keep the loop busy until the outbox is empty; (phase, bursts per second)."""
    engine = async_engine(url, pool_size=1)
    bursts = 0
    stopping = asyncio.Event()

    async def requests() -> None:
        nonlocal bursts
        while not stopping.is_set():
            burst()
            bursts += 1
            await asyncio.sleep(0)

    try:
        with progress() as bar, Phase(f"relay-ocupado-{label}") as phase:
            task = bar.add_task(f"relay under load ({label})", total=events)
            stop = await start()
            load = asyncio.create_task(requests())
            while left := await outbox_left(engine):
                bar.update(task, completed=events - left)
                await asyncio.sleep(0.1)
            bar.update(task, completed=events)
        stopping.set()
        await load
        await stop()
    finally:
        await engine.dispose()
    return phase, bursts / phase.seconds


def in_thread(url: str, bootstrap: str) -> Callable[[], Awaitable[Callable[[], Awaitable[None]]]]:
    async def start() -> Callable[[], Awaitable[None]]:
        relay = RelayThread(url, bootstrap, RelaySettings())
        relay.start()

        async def stop() -> None:
            relay.stop()
            await relay.stopped()

        return stop

    return start


def on_loop(url: str, bootstrap: str) -> Callable[[], Awaitable[Callable[[], Awaitable[None]]]]:
    async def start() -> Callable[[], Awaitable[None]]:
        engine = async_engine(url)
        producer = idempotent_producer(bootstrap)
        await producer.start()
        relay = OutboxRelay(engine, producer, RelaySettings())
        task = asyncio.create_task(relay.run())

        async def stop() -> None:
            relay.stop()
            with contextlib.suppress(Exception):
                await task
            await producer.stop()
            await engine.dispose()

        return stop

    return start


async def idle(url: str, bootstrap: str, events: int) -> Phase:
    """The relay thread with nothing else running: its ceiling here."""
    engine = async_engine(url, pool_size=1)
    try:
        with Phase() as phase:
            stop = await in_thread(url, bootstrap)()
            while await outbox_left(engine):
                await asyncio.sleep(0.1)
        await stop()
    finally:
        await engine.dispose()
    return phase


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap, [THREAD, LOOP, IDLE])
    urls = {s: servers.database(f"bench_{s}")[0] for s in (THREAD, LOOP, IDLE)}
    for service, url in urls.items():
        await fill(url, service, events)
    servers.checkpoint()
    loop, loop_bursts = await drained_under_load(
        urls[LOOP], events, "on the loop", on_loop(urls[LOOP], bootstrap)
    )
    thread, thread_bursts = await drained_under_load(
        urls[THREAD], events, "own thread", in_thread(urls[THREAD], bootstrap)
    )
    ceiling = await idle(urls[IDLE], bootstrap, events)
    for service in (THREAD, LOOP, IDLE):
        if (published := await messages_in(bootstrap, event_topic(service))) != events:
            raise AssertionError(f"{service}: {published} messages published, expected {events}")
    return Result(
        bench="relay-ocupado",
        events=events,
        project=thread,
        baseline=loop,
        target=None,
        project_path="RelayThread (own thread, loop, engine, producer) while the loop is busy",
        baseline_path="OutboxRelay.run as a task on the busy loop (the code before)",
        extra={
            "burst_ms": BURST_S * 1000,
            "bursts_per_s": {"project": round(thread_bursts, 1), "baseline": round(loop_bursts, 1)},
            "idle_thread_eps": round(ceiling.eps(events), 1),
            "busy_vs_idle": round(ceiling.seconds / thread.seconds, 3),
        },
    )
