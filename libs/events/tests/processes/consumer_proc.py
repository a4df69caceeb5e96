"""A consumer process for the crash tests: python consumer_proc.py DB_URL BOOTSTRAP SERVICE."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))
from juntos_events.consumer import ConsumerRunner, ConsumerSettings
from juntos_events.topics import event_topic
from projection import create_table, subscriptions


async def main(database_url: str, bootstrap: str, service: str) -> None:
    engine = create_async_engine(database_url)
    await create_table(engine)
    runner = ConsumerRunner(
        name="crash-test",
        engine=engine,
        bootstrap=bootstrap,
        topics=[event_topic(service)],
        subscriptions=subscriptions(service),
        settings=ConsumerSettings(max_records=200),
    )
    await runner.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
