"""What a service runs beside its API: migrations, the outbox relay, and its consumers.

One place for the wiring so every service starts and stops its background work the same way;
a task that crashes is logged and restarted after a pause instead of dying silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from juntos_events.consumer import ConsumerRunner, ConsumerSettings, Subscriptions
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
        producer = idempotent_producer(self.bootstrap)
        if self.relay:
            relay = OutboxRelay(engine, producer, self.relay_settings)
            stops.append(relay.stop)
            tasks.append(asyncio.create_task(_supervised("relay", relay.run, producer.start)))
        # A consumer starts only with handlers: committing offsets of events nobody applied
        # would make a later projection skip them.
        topics = self.subscriptions.topics() if self.subscriptions else []
        if self.subscriptions is not None and topics:
            runner = ConsumerRunner(
                name=self.service,
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
            with contextlib.suppress(Exception):
                await producer.stop()


async def _supervised(
    name: str,
    run: Callable[[], Awaitable[None]],
    prepare: Callable[[], Awaitable[None]] | None = None,
    pause: float = 2.0,
) -> None:
    prepared = False
    while True:
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
