"""`python -m bench [--events N] [--only NAME]...`: NAME is a key of BENCHES below.

Runs the benchmarks; prints each one's throughput, the raw baseline's, their ratio and peak RSS
(see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from juntos_events.logs import setup_logging
from rich.console import Console
from rich.table import Table

from bench import (
    append,
    asignacion,
    consumer,
    cupos,
    demanda,
    importacion,
    indicadores,
    linea_base,
    reconstruccion,
    reglas,
    relay,
    relay_ocupado,
    report,
    seguimientos,
    territorial,
    vinculada,
    vivo,
)
from bench.report import RESULTS
from bench.servers import running

BENCHES = {
    "append": append.run,
    "relay": relay.run,
    "relay-ocupado": relay_ocupado.run,
    "consumer": consumer.run,
    "import": importacion.run,
    "asignacion": asignacion.run,
    "demanda": demanda.run,
    "territorial": territorial.run,
    "vinculada": vinculada.run,
    "reglas": reglas.run,
    "rebuild": reconstruccion.run,
    "indicadores": indicadores.run,
    "vivo": vivo.run,
    # last: its app sets up OpenTelemetry for the whole process (asyncpg instrumented, a tracer
    # provider the relay would then create spans for)
    "linea-base": linea_base.run,
    "cupos": cupos.run,  # also a served app with OpenTelemetry, like linea-base
    "seguimientos": seguimientos.run,  # a served app too
}
EVENTS = 200_000
DEFAULT_EVENTS = {  # N when --events is not given
    "reglas": 20_000,
    "linea-base": 10_000,
    "seguimientos": 2_000,
    "asignacion": asignacion.DEMANDA,
    "cupos": cupos.LINEAS,
    "demanda": demanda.EVENTOS,
    "territorial": territorial.EVENTOS,
    "vinculada": vinculada.FAMILIAS,
    "indicadores": 100_000,
    "vivo": 24_000,
    "relay-ocupado": relay_ocupado.EVENTOS,
}
WITHOUT_SERVERS = {"reglas"}  # pure CPU: no PostgreSQL, no Kafka


def summary(records: list[dict[str, Any]]) -> Table:
    table = Table(
        title="project vs raw baseline (events/s; import: people/s; reglas, linea-base: families/s)"
    )
    for column in ("bench", "N", "project", "baseline", "ratio", "target", "peak RSS MiB (p/b)"):
        table.add_column(column, justify="left" if column == "bench" else "right")
    for r in records:
        ratio = report.ratio_text(r["ratio"])
        if r["meets_target"] is False:
            ratio += " [red]BELOW[/]"
        table.add_row(
            r["bench"],
            f"{r['events']:,}",
            f"{r['project_eps']:,.0f}",
            f"{r['baseline_eps']:,.0f}",
            ratio,
            "—" if r["target"] is None else f"≥ {r['target']}",
            f"{r['project_peak_rss_mib']:.0f} / {r['baseline_peak_rss_mib']:.0f}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--events",
        type=int,
        help=f"events per benchmark (default {EVENTS:,}; import: people, about 4.5 per household;"
        " reglas and linea-base: families; asignacion: demand rows; demanda, territorial:"
        " boards; vinculada: families; defaults: "
        + ", ".join(f"{n:,} ({b})" for b, n in DEFAULT_EVENTS.items())
        + ")",
    )
    parser.add_argument("--only", choices=sorted(BENCHES), action="append", help="repeatable")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the timed phases under cProfile (slower: figures are then not comparable)",
    )
    args = parser.parse_args()
    report.PROFILING = args.profile
    setup_logging("bench", level="WARNING")
    # a new group's first FindCoordinator races the offsets topic's creation; aiokafka retries
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.CRITICAL)
    run_file = RESULTS / f"{datetime.now(UTC):%Y%m%dT%H%M%S}.jsonl"
    records = []
    selected = args.only or list(BENCHES)
    needs_servers = any(name not in WITHOUT_SERVERS for name in selected)
    with running() if needs_servers else contextlib.nullcontext() as servers:
        for name in selected:
            events = args.events or DEFAULT_EVENTS.get(name, EVENTS)
            result = asyncio.run(BENCHES[name](servers, events))
            records.append(result.show(run_file))
            if args.profile:
                report.dump_profiles(run_file.with_suffix(""))
    Console().print(summary(records))
    print(f"results appended to {run_file}")


if __name__ == "__main__":
    main()
