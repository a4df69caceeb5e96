"""Accompaniment's acuerdos and members: runs applied together (`on_batch`) vs one event a call.

N (`--events`, default 5,000) is a number of families. Each is known to accompaniment before
the clock (its roster row, as `FamiliaPreseleccionada` leaves it, written untimed into both
databases: seeded, 100 DIVIPOLA municipalities, 10 % displaced) and then gets, on the real topic
`juntos.enrollment.events`, its `FamiliaVinculada` followed by one `IntegranteRegistrado` per
member (1-6, mean 3.5), encoded as enrollment's relay publishes them, key = family, family after
family (the shape the brief of issue 8 names: a case opened per acuerdo, members one event each).

- project: accompaniment's real consumer (`ConsumerRunner` with `accompaniment.consumers
  .subscriptions`, default settings): each run of acuerdos and members in one handler call
  (`vinculadas_e_integrantes`: the run's cases and roster read at once, every step decided in
  memory in order, one guarded append with each event's cause, the summaries once, then the
  roster writes: 8 statements a run); one transaction per partition batch with its inbox rows.
- baseline ("before"): the same runner and handler given one event per call, which issues
  about what the per-event handlers of `04655f4` issued (an acuerdo 7 statements, 6 before; a
  member 4, as before): same transactions, inbox and commits.

Both groups start at the topic's end (committed before producing) and are timed by the same
poller of their committed offsets from the warm-up share (min(2,000, events / 10)) to the last
event. Afterwards (untimed) both databases' case streams (types, data, causes), summaries and
rosters must be identical, with one CasoAbierto per family and every member in the roster;
any difference fails the run. The figure printed as the ratio is the speed-up.

The cases have no baseline yet (as in `juntos simulate run`'s `vinculacion` stage), so a
member's re-evaluation decides nothing: its cost is the reads and the roster write.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from accompaniment import queries
from accompaniment.consumers import subscriptions, vinculadas_e_integrantes
from enrollment import events as inscripcion
from juntos_events.topics import ensure_topics, event_topic
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import demanda
from bench.report import Result
from bench.servers import Servers
from bench.territorial import MUNICIPIOS

MIGRATIONS = Path(str(files("accompaniment") / "migrations" / "versions"))
TOPIC = event_topic("enrollment")
FAMILIAS = 5_000  # default N
WARM_UP = 2_000
BATCH_GROUP, SINGLE_GROUP = "accompaniment", "bench-vinculada-one-by-one"
SEED = 20_261_204
IDS, MIEMBROS = 0xA1, 0xA2
VINCULACION = date(2026, 3, 2)
TABLAS = (
    "SELECT stream_id, version, event_type, data, metadata->>'causation_id' FROM events"
    " ORDER BY 1, 2",
    "SELECT * FROM familias ORDER BY familia_id",
    "SELECT * FROM integrantes ORDER BY familia_id, integrante_id",
)

# the handler given one event per call: about the statements of the per-event handlers before
ONE_BY_ONE = demanda.one_by_one(
    "enrollment", vinculadas_e_integrantes, "FamiliaVinculada", "IntegranteRegistrado"
)


def familia(k: int) -> tuple[str, str, bool, list[dict[str, Any]]]:
    """Family k, seeded: (id, municipality, displaced, members as enrollment publishes them)."""
    rnd = random.Random(SEED * 10_000_019 + k)
    fid = str(uuid.UUID(int=IDS << 64 | k))
    miembros = [
        {
            "integrante_id": str(uuid.UUID(int=MIEMBROS << 64 | k << 3 | j)),
            "fecha_nacimiento": (VINCULACION - timedelta(days=rnd.randrange(1, 80 * 365))),
            "sexo": rnd.choice("HM"),
            "parentesco": "JEFE" if j == 0 else rnd.choice(["CONYUGE", "HIJO", "NIETO"]),
            "discapacidad": rnd.random() < 0.05,
            "gestante": False,
            "etnia": "NINGUNA",
        }
        for j in range(rnd.randint(1, 6))
    ]
    return fid, rnd.choice(MUNICIPIOS), rnd.random() < 0.1, miembros


def eventos(k: int) -> list[Any]:
    fid, municipio, _, miembros = familia(k)
    vinculada = inscripcion.FamiliaVinculada(
        familia_id=fid,
        municipio=municipio,
        fecha_vinculacion=VINCULACION,
        fecha_limite=VINCULACION.replace(year=VINCULACION.year + 5),
        firmante_id=miembros[0]["integrante_id"],
        lugar_municipio=municipio,
        cogestor_id=f"cg-{municipio}",
    )
    return [vinculada] + [
        inscripcion.IntegranteRegistrado(familia_id=fid, integrante=m, motivo="REGISTRO")
        for m in miembros
    ]


async def produce(bootstrap: str, families: int) -> int:
    """Every family's acuerdo and members, family after family; the number of events."""
    eventos_ = ((e.familia_id, e) for k in range(families) for e in eventos(k))
    label = "produce acuerdos and members (untimed)"
    return await demanda.publish(bootstrap, inscripcion.events, eventos_, label, families * 9 // 2)


def preparar(families: int) -> Callable[[AsyncEngine], Awaitable[None]]:
    """Accompaniment's roster rows of the families (what their preselection left), untimed."""

    async def llenar(engine: AsyncEngine) -> None:
        for desde in range(0, families, 5_000):
            filas = [familia(k) for k in range(desde, min(desde + 5_000, families))]
            async with engine.begin() as conn:
                await queries.registrar_familias(
                    conn, [(f, m, d, "PRESELECCIONADA") for f, m, d, _ in filas]
                )

    return llenar


def check(lote: list[list[tuple[Any, ...]]], uno: list[list[tuple[Any, ...]]], families: int):
    demanda.mismas_tablas(lote, uno, TABLAS)
    abiertos = [e for e in lote[0] if e[2] == "CasoAbierto"]
    miembros = sum(len(familia(k)[3]) for k in range(families))
    if len(abiertos) != families or len(lote[0]) != families or len(lote[2]) != miembros:
        raise AssertionError(
            f"{len(abiertos):,} cases opened and {len(lote[2]):,} members for {families:,}"
            f" families and {miembros:,} members"
        )
    desplazadas = {e[0]: json.loads(e[3])["desplazada"] for e in abiertos}
    for k in range(0, families, 97):
        fid, _, desplazada, _ = familia(k)
        if desplazadas[fid] != desplazada:
            raise AssertionError(f"family {k}'s case opened with desplazada={desplazadas[fid]}")


async def run(servers: Servers, families: int) -> Result:
    bootstrap = servers.kafka.bootstrap
    await ensure_topics(bootstrap)
    start = await demanda.start_all_at_end(
        bootstrap, [BATCH_GROUP, SINGLE_GROUP], subscriptions.topics(), TOPIC
    )
    total = await produce(bootstrap, families)
    warm_up = min(WARM_UP, total // 10)
    kw: dict[str, Any] = {
        "migrations": MIGRATIONS,
        "que": "acuerdos and members",
        "bench": "vinculada",
        "preparar": preparar(families),
    }
    lote, lote_uri = await demanda.grupo(
        servers, BATCH_GROUP, subscriptions, start, warm_up, total, label="runs", **kw
    )
    uno, uno_uri = await demanda.grupo(
        servers, SINGLE_GROUP, ONE_BY_ONE, start, warm_up, total, label="one by one", **kw
    )
    check(await demanda.tablas(lote_uri, TABLAS), await demanda.tablas(uno_uri, TABLAS), families)
    return Result(
        bench="vinculada",
        events=total,
        unit="ev",
        project=lote,
        baseline=uno,
        target=None,
        project_path=(
            "accompaniment's ConsumerRunner + consumers (on_batch): per run the cases and roster"
            " read at once, decided in memory in order, one append with each event's cause"
        ),
        baseline_path="the same runner and handler given one event per call (as before)",
        extra={
            "families": families,
            "members": total - families,
            "warm_up_events": warm_up,
            "timed_events": {"project": lote.events, "baseline": uno.events},
            "max_records": demanda.MAX_RECORDS,
            "seed": SEED,
        },
    )
