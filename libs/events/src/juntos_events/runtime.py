"""What a service runs beside its API: migrations, the outbox relay, and its consumers.

One place for the wiring so every service starts and stops its background work the same way;
a task that crashes is logged and restarted after a pause instead of dying silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
from juntos_events.engine import async_engine
from juntos_events.logs import get_logger
from juntos_events.migrate import upgrade
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer

log = get_logger(__name__)


@dataclass
class Backbone:
    """The event backbone of one service process."""

    service: str
    database_url: str
    bootstrap: str
    migrations: Path | None = None
    subscriptions: Subscriptions | None = None
    consumer_group: str | None = None
    """The consumer's Kafka group; the service's name if None."""
    relay: bool = True
    relay_settings: RelaySettings = field(default_factory=RelaySettings)
    consumer_settings: ConsumerSettings = field(default_factory=ConsumerSettings)
    stop_timeout_seconds: float = 10.0

    async def migrate(self) -> None:
        await upgrade(self.database_url, self.migrations)

    @contextlib.asynccontextmanager
    async def running(self, engine: AsyncEngine) -> AsyncIterator[None]:
        """Run relay and consumers for the lifetime of the block."""
        tasks: list[asyncio.Task[None]] = []
        stops: list[Callable[[], None]] = []
        if self.relay:
            relay = RelayThread(self.database_url, self.bootstrap, self.relay_settings)
            relay.start()
            stops.append(relay.stop)
            tasks.append(asyncio.create_task(relay.stopped()))
        # A consumer starts only with handlers: committing offsets of events nobody applied
        # would make a later projection skip them.
        topics = self.subscriptions.topics() if self.subscriptions else []
        if self.subscriptions is not None and topics:
            runner = ConsumerRunner(
                name=self.service,
                group=self.consumer_group,
                engine=engine,
                bootstrap=self.bootstrap,
                topics=topics,
                subscriptions=self.subscriptions,
                settings=self.consumer_settings,
            )
            stops.append(runner.stop)
            tasks.append(asyncio.create_task(_supervised("consumer", runner.run)))
        try:
            yield
        finally:
            # Ask first, so batches finish and connections go back to the pool; cancel stragglers.
            for stop in stops:
                stop()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=self.stop_timeout_seconds)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)


class RelayThread:
    """The outbox relay on a thread of its own, with its own event loop, engine and producer.

    A request may hold its service's event loop for seconds (accompaniment's rules over a sync
    batch of 200 families); a relay sharing that loop published nothing meanwhile, and every
    consumer downstream waited for it (bench/README.md, "National scale"). On its own thread it
    gets the interpreter at every switch interval and waits on the network without the GIL.
    """

    def __init__(self, database_url: str, bootstrap: str, settings: RelaySettings) -> None:
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._relay: OutboxRelay | None = None
        self._stop_requested = False
        self._done = asyncio.Event()

    def start(self) -> None:
        """Start the thread; call from the loop that will await `stopped()`."""
        caller = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._main, args=(caller,), name="outbox-relay", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Thread-safe: the relay finishes its batch and returns."""
        # Written before read here, and the other way round in _serve: one of them sees the other.
        self._stop_requested = True
        loop, relay = self._loop, self._relay
        if loop is not None and relay is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already closed
                loop.call_soon_threadsafe(relay.stop)

    async def stopped(self) -> None:
        """Wait for the thread without blocking the caller's loop or borrowing its executor."""
        await self._done.wait()

    def _main(self, caller: asyncio.AbstractEventLoop) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            with contextlib.suppress(RuntimeError):  # the caller's loop has already closed
                caller.call_soon_threadsafe(self._done.set)

    async def _serve(self) -> None:
        engine = async_engine(self.database_url, pool_size=2)
        producer = idempotent_producer(self.bootstrap)
        self._relay = OutboxRelay(engine, producer, self.settings)
        self._loop = asyncio.get_running_loop()
        if self._stop_requested:
            self._relay.stop()
        try:
            await _supervised(
                "relay", self._relay.run, producer.start, until=lambda: self._stop_requested
            )
        finally:
            with contextlib.suppress(Exception):
                await producer.stop()
            await engine.dispose()


async def _supervised(
    name: str,
    run: Callable[[], Awaitable[None]],
    prepare: Callable[[], Awaitable[None]] | None = None,
    pause: float = 2.0,
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Run until `run` returns or `until()` holds; a failure is logged and retried after `pause`."""
    prepared = False
    while not until():
        try:
            if prepare is not None and not prepared:
                await prepare()
                prepared = True
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task failed, restarting", task=name)
            await asyncio.sleep(pause)
