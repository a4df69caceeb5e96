"""Territorial's demand from boards: runs applied together (`on_batch`) vs one board at a time.

N (`--events`, default 20,000) `LogrosEvaluados` are produced untimed to the real topic
`juntos.accompaniment.events` with `bench.demanda`'s generator (seeded families, 2-6 boards each,
produced round by round in windows of 5,000 families, so a family's boards fall in different
poll batches), living in 100 DIVIPOLA municipalities (territorial dead-letters any other code).

- project: territorial's real consumer (`ConsumerRunner` with `territorial.consumers
  .subscriptions`, default settings): each run of boards in one call: the run's kept boards read
  at once (locked), applied in memory in order, written with unnest, the map recomputed once for
  the union of touched municipalities; one transaction per partition batch with its inbox rows.
- baseline ("before"): the same runner and handler given one board per call, which issues what
  territorial's per-event handler issued before the batch handler (cdfc04b): per board the kept
  board (locked), its upsert, the two counters, then the map of its municipality (lock, three
  reads, the write): 9 statements a board; same transactions, inbox and commits.

Both groups start at the topic's end offsets committed before producing, and are timed by the
same poller of their committed offsets from the warm-up share (min(2,000, N / 10)) to N (see
`bench.demanda.timed_until_committed`). Afterwards (untimed) both databases' demand tables and
maps must be identical, hold one board per family, and a sample of families must hold their
last board's pending LB; any difference fails the run. The figure printed as the ratio is the
speed-up: project / baseline.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from juntos_events.topics import ensure_topics
from territorial import territorio
from territorial.consumers import demanda_de_las_familias, subscriptions

from bench import demanda
from bench.report import Result
from bench.servers import Servers

MIGRATIONS = Path(str(files("territorial") / "migrations" / "versions"))
EVENTOS = 20_000
WARM_UP = 2_000
BATCH_GROUP, SINGLE_GROUP = "territorial", "bench-territorial-one-by-one"
MUNICIPIOS = territorio.codigos_municipio()[::11][: len(demanda.MUNICIPIOS)]
TABLAS = (
    "SELECT familia_id, municipio, pendientes, evento_en FROM demanda_familias ORDER BY 1",
    "SELECT municipio, logro, familias FROM demanda_logros ORDER BY 1, 2",
    "SELECT municipio, dimension, familias FROM demanda_dimensiones ORDER BY 1, 2",
    "SELECT municipio, dimension, capacidad, condiciones, demanda, oferta, cobertura, brecha,"
    " clasificacion FROM mapa_capacidades ORDER BY 1, 2",
)
# the handler given one board per call: the 9 statements a board of the per-event code before
ONE_BY_ONE = demanda.one_by_one(
    "accompaniment", demanda_de_las_familias, "LogrosEvaluados", "CasoCerrado"
)


def check(lote: list[list[tuple[Any, ...]]], uno: list[list[tuple[Any, ...]]], cuantos: list[int]):
    demanda.mismas_tablas(lote, uno, TABLAS)
    familias = {r[0]: (r[1], r[2]) for r in lote[0]}
    if len(familias) != len(cuantos):
        raise AssertionError(f"{len(familias):,} boards kept for {len(cuantos):,} families")
    for k in range(0, len(cuantos), 97):
        f = demanda.familia(k, cuantos[k], MUNICIPIOS)
        _, ultimo = f.tableros[-1]
        if familias[f.familia_id] != (f.municipio, sorted(ultimo)):
            raise AssertionError(f"family {k} keeps {familias[f.familia_id]}")


async def run(servers: Servers, events: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap)
    cuantos = demanda.plan(events)
    start = await demanda.start_all_at_end(
        bootstrap, [BATCH_GROUP, SINGLE_GROUP], subscriptions.topics()
    )
    await demanda.produce(bootstrap, cuantos, events, MUNICIPIOS)
    warm_up = min(WARM_UP, events // 10)

    kw = {"migrations": MIGRATIONS, "que": "boards", "bench": "territorial"}
    lote, lote_uri = await demanda.grupo(
        servers, BATCH_GROUP, subscriptions, start, warm_up, events, label="runs", **kw
    )
    uno, uno_uri = await demanda.grupo(
        servers, SINGLE_GROUP, ONE_BY_ONE, start, warm_up, events, label="one by one", **kw
    )
    tablas_lote = await demanda.tablas(lote_uri, TABLAS)
    check(tablas_lote, await demanda.tablas(uno_uri, TABLAS), cuantos)
    return Result(
        bench="territorial",
        events=events,
        unit="boards",
        project=lote,
        baseline=uno,
        target=None,
        project_path=(
            "territorial's ConsumerRunner + consumers (on_batch): per run the kept boards read at"
            " once, applied in memory, written with unnest, the map once for the run"
        ),
        baseline_path=(
            "the same runner and handler given one board per call: 9 statements a board, as the"
            " per-event handler before"
        ),
        extra={
            "families": len(cuantos),
            "municipalities": len(MUNICIPIOS),
            "lb_counter_rows": len(tablas_lote[1]),
            "warm_up_events": warm_up,
            "timed_events": {"project": lote.events, "baseline": uno.events},
            "max_records": demanda.MAX_RECORDS,
            "seed": demanda.SEED,
        },
    )
