"""`python -m bench [--events N] [--only append|relay|consumer]`: run and print the benchmarks."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from juntos_events.logs import setup_logging

from bench import append, consumer, relay
from bench.report import RESULTS
from bench.servers import running

BENCHES = {"append": append.run, "relay": relay.run, "consumer": consumer.run}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    args = parser.parse_args()
    setup_logging("bench", level="WARNING")
    run_file = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.jsonl"
    with running() as servers:
        for name in args.only or list(BENCHES):
            result = asyncio.run(BENCHES[name](servers, args.events))
            result.show(run_file)


if __name__ == "__main__":
    main()
