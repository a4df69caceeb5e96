"""`python -m partner_consumer`: print every valid CupoAsignado and LogroAlcanzado as a JSON line.

Replace `print_event` with what your entity does with them (and make it idempotent on `id`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from dataclasses import asdict
from pathlib import Path

from partner_consumer.consumer import FOLLOWED, PartnerConsumer, set_aside_to_file
from partner_consumer.contracts import Contracts
from partner_consumer.validation import Event


async def print_event(event: Event) -> None:
    print(json.dumps(asdict(event), default=str, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="partner-consumer", description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:59092", help="Kafka bootstrap servers")
    parser.add_argument("--group", required=True, help="your consumer group, e.g. your entity id")
    parser.add_argument(
        "--contracts", type=Path, default=Path("docs/events"), help="copy of JUNTOS docs/events"
    )
    parser.add_argument(
        "--set-aside", type=Path, default=Path("set-aside.jsonl"), help="where rejects go"
    )
    parser.add_argument("--follow", nargs="+", default=list(FOLLOWED), help="event types")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> None:
    consumer = PartnerConsumer(
        bootstrap=args.bootstrap,
        group_id=args.group,
        contracts=Contracts.load(args.contracts),
        handle=print_event,
        set_aside=set_aside_to_file(args.set_aside),
        follow=args.follow,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, consumer.stop)
    logging.info("following %s on %s", ", ".join(args.follow), ", ".join(consumer.topics))
    await consumer.run()


if __name__ == "__main__":
    main()
