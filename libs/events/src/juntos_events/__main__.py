"""`python -m juntos_events relay --database-url URL --bootstrap HOST:PORT`: a standalone relay.

Used by operators who run the relay apart from the API, and by the crash tests (SIGKILL).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from sqlalchemy.ext.asyncio import create_async_engine

from juntos_events.logs import setup_logging
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer


async def _relay(database_url: str, bootstrap: str, batch_size: int) -> None:
    engine = create_async_engine(database_url)
    producer = idempotent_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(engine, producer, RelaySettings(batch_size=batch_size))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.stop)
    try:
        await relay.run()
    finally:
        await producer.stop()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m juntos_events")
    sub = parser.add_subparsers(dest="command", required=True)
    relay = sub.add_parser("relay", help="publish the outbox of one service database to Kafka")
    relay.add_argument("--database-url", required=True)
    relay.add_argument("--bootstrap", required=True)
    relay.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    setup_logging("relay")
    asyncio.run(_relay(args.database_url, args.bootstrap, args.batch_size))


if __name__ == "__main__":
    main()
