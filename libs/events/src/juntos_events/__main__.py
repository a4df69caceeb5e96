"""`python -m juntos_events relay|topics`: a standalone relay, and topic creation.

The relay runs apart from the API when operators want it so, and in the crash tests (SIGKILL);
`topics` is the init step of docker compose.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from juntos_events.engine import async_engine
from juntos_events.logs import setup_logging
from juntos_events.relay import OutboxRelay, RelaySettings, idempotent_producer
from juntos_events.topics import DEFAULT_PARTITIONS, ensure_topics


async def _relay(database_url: str, bootstrap: str, batch_size: int) -> None:
    engine = async_engine(database_url)
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
    topics = sub.add_parser("topics", help="create the event and dead-letter topics if missing")
    topics.add_argument("--bootstrap", required=True)
    topics.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    args = parser.parse_args()
    setup_logging(args.command)
    if args.command == "relay":
        asyncio.run(_relay(args.database_url, args.bootstrap, args.batch_size))
    else:
        created = asyncio.run(ensure_topics(args.bootstrap, partitions=args.partitions))
        print("created: " + (", ".join(created) or "none (all present)"))


if __name__ == "__main__":
    main()
