"""Batch assignment (`offer.handlers.asignar_lote`) vs the same pick done in raw SQL + COPY.

N (`--events`, default 50,000) is the number of demand rows, all in one municipality, for one
program (LB8, one slot per child up to 5 years old) with N / 10 free slots. Families are seeded:
a head and one child whose age is 0-7 (so about a quarter are not eligible), pending since a
random day of 2025-2026, a third with a plan priority for LB8 (orden 1-3), 10 % displaced, 5 %
with a member with a disability. Each side has its own fresh, migrated offer database loaded
with the same rows (COPY, then ANALYZE), untimed.

- project: the whole batch as the API runs it: load the program and the slots' stream, read
  every family with demand (roster, demand, plan priorities), check eligibility and rank in
  Python, decide the assignments, append one CupoAsignado per slot with its outbox row in one
  transaction, project them (slots, assignments). A dry run (`simular=True`) warms it up.
- baseline: raw asyncpg, one SQL statement that ranks the same candidates by the same order and
  takes as many as there are slots, then one COPY of those rows into a plain table, in one
  transaction. One untimed warm-up, then RUNS timed runs (the table emptied between them,
  untimed); the mean is used (one run takes a few tenths of a second).

The picks must be identical (same families and members, same order) and the project must have
appended one CupoAsignado per pick: a difference fails the run. Throughput is assignments/s.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import asyncpg
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade
from offer import domain, handlers
from offer.enrollment import EnrollmentHttp
from offer.events import Elegibilidad
from offer.handlers import Servicios
from offer.settings import OfferSettings
from offer.vocabulario import Alcance, NivelGobierno

from bench.report import Phase, Result, release_memory
from bench.servers import Servers, free_port

MIGRATIONS = Path(str(files("offer") / "migrations" / "versions"))
DEMANDA = 50_000  # default N: demand rows
CUPOS_POR_DEMANDA = 10  # one free slot per ten demand rows (5,000 for 50,000)
RUNS = 3  # timed baseline runs
SEED = 20_261_125
FECHA = date(2026, 11, 25)
MUNICIPIO, PERIODO, LOGRO = "05001", "2026", "LB8"
RAW_TABLE = "base_asignaciones"
Pick = tuple[str, str]  # (familia_id, integrante_id)

RANKING = """
WITH cand AS (
  SELECT d.familia_id, i.integrante_id, d.desde, pr.orden,
         f.desplazada::int
         + (EXISTS (SELECT 1 FROM integrantes x
                    WHERE x.familia_id = d.familia_id AND x.discapacidad))::int
         + (EXISTS (SELECT 1 FROM integrantes x
                    WHERE x.familia_id = d.familia_id
                      AND x.fecha_nacimiento > $1::date - interval '5 years'))::int AS vul
  FROM demanda d
  JOIN familias f ON f.familia_id = d.familia_id AND f.activa
  JOIN integrantes i ON i.familia_id = d.familia_id AND i.integrante_id = ANY(d.integrantes)
  LEFT JOIN prioridades pr ON pr.familia_id = d.familia_id AND pr.logro = d.logro
  WHERE d.municipio = $2 AND d.logro = $3 AND i.fecha_nacimiento > $1::date - interval '6 years'
)
SELECT familia_id, integrante_id FROM cand
ORDER BY (orden IS NULL), orden, desde, vul DESC, familia_id, integrante_id
LIMIT $4
"""


def datos(n: int) -> dict[str, list[tuple]]:
    """The seeded roster, demand and plan priorities of `n` families (one demand row each)."""
    rnd = random.Random(SEED)
    familias, integrantes, demanda, prioridades = [], [], [], []
    for k in range(n):
        fid = f"fam-{k:07d}"
        desplazada = rnd.random() < 0.10
        jefe, nino = f"{fid}-j", f"{fid}-n"
        nacido = FECHA - timedelta(days=rnd.randrange(0, 8 * 365))
        familias.append((fid, MUNICIPIO, desplazada, True))
        integrantes.append((fid, jefe, date(1985, 1, 1), "M", rnd.random() < 0.05, False))
        integrantes.append((fid, nino, nacido, rnd.choice("HM"), False, False))
        desde = date(2025, 1, 1) + timedelta(days=rnd.randrange(0, 600))
        demanda.append((fid, LOGRO, MUNICIPIO, [nino], desde))
        if rnd.random() < 1 / 3:
            prioridades.append((fid, LOGRO, rnd.randint(1, 3)))
    return {
        "familias": familias,
        "integrantes": integrantes,
        "demanda": demanda,
        "prioridades": prioridades,
    }


async def fresh_database(
    servers: Servers, name: str, filas: dict[str, list[tuple]]
) -> tuple[str, str]:
    """A migrated offer database holding `filas` (COPY, then ANALYZE): (SQLAlchemy URL, URI)."""
    url, uri = servers.database(name)
    await upgrade(url, MIGRATIONS)
    conn = await asyncpg.connect(uri)
    try:
        for tabla, registros in filas.items():
            await conn.copy_records_to_table(tabla, records=registros)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return url, uri


def servicios(url: str) -> Servicios:
    """What offer.main builds from settings; enrollment is not called by a batch."""
    settings = OfferSettings(service_name="offer", database_url=url, run_backbone=False)
    return Servicios(
        engine=async_engine(url),
        enrollment=EnrollmentHttp(f"http://127.0.0.1:{free_port()}", None),
        settings=settings,
    )


async def project(servers: Servers, filas: dict[str, list[tuple]], cupos: int) -> tuple:
    """The timed batch: its phase, its picks, and the CupoAsignado events it appended."""
    url, _ = await fresh_database(servers, "bench_asignacion_project", filas)
    srv = servicios(url)
    pid = str(uuid.UUID(int=SEED))
    comando = domain.RegistrarPrograma(
        pid,
        domain.DatosPrograma(
            entidad="icbf",
            titulo="Atención integral a la primera infancia",
            nivel=NivelGobierno.NACIONAL,
            alcance=Alcance.INTEGRANTE,
            logros=(LOGRO,),
            elegibilidad=Elegibilidad(edad_maxima=5),
            municipios=(MUNICIPIO,),
        ),
    )
    try:
        await handlers.mandar_programa(srv, pid, comando, actor="bench")
        await handlers.habilitar_cupos(srv, pid, MUNICIPIO, PERIODO, cupos, actor="bench")
        await handlers.asignar_lote(
            srv, pid, MUNICIPIO, PERIODO, fecha=FECHA, actor="bench", simular=True
        )  # warm-up, untimed: the same reads and ranking, nothing written
        servers.checkpoint()
        release_memory()
        with Phase(profile_as="asignacion-project") as phase:
            lote = await handlers.asignar_lote(
                srv, pid, MUNICIPIO, PERIODO, fecha=FECHA, actor="bench"
            )
        async with srv.engine.connect() as conn:
            eventos = (
                await conn.exec_driver_sql(
                    "SELECT count(*) FROM events WHERE event_type = 'CupoAsignado'"
                )
            ).scalar_one()
    finally:
        await srv.engine.dispose()
    picks = [(c.familia_id, c.integrante_id or "") for c, _ in lote.elegidos]
    return phase, picks, eventos, lote.candidatos


async def _rank_and_copy(conn: asyncpg.Connection, cupos: int) -> list[Pick]:
    async with conn.transaction():
        elegidos = await conn.fetch(RANKING, FECHA, MUNICIPIO, LOGRO, cupos)
        await conn.copy_records_to_table(
            RAW_TABLE, records=[(str(uuid.uuid4()), r[0], r[1], FECHA) for r in elegidos]
        )
    return [(r[0], r[1]) for r in elegidos]


async def baseline(
    servers: Servers, filas: dict[str, list[tuple]], cupos: int
) -> tuple[Phase, list[Pick]]:
    _, uri = await fresh_database(servers, "bench_asignacion_raw", filas)
    conn = await asyncpg.connect(uri)
    runs, picks = [], []
    try:
        await conn.execute(
            f"CREATE TABLE {RAW_TABLE} (cupo_id text PRIMARY KEY, familia_id text,"
            " integrante_id text, fecha date)"
        )
        await _rank_and_copy(conn, cupos)  # warm-up, untimed
        for _ in range(RUNS):
            await conn.execute(f"TRUNCATE {RAW_TABLE}")
            servers.checkpoint()
            release_memory()
            with Phase(profile_as="asignacion-baseline") as phase:
                run_picks = await _rank_and_copy(conn, cupos)
            if picks and run_picks != picks:
                raise AssertionError("the raw ranking picked differently from one run to the next")
            runs.append(phase)
            picks = run_picks
    finally:
        await conn.close()
    return Phase.mean(runs), picks


async def run(servers: Servers, events: int) -> Result:
    cupos = max(1, events // CUPOS_POR_DEMANDA)
    filas = datos(events)
    release_memory()
    project_phase, picks, eventos, candidatos = await project(servers, filas, cupos)
    baseline_phase, raw_picks = await baseline(servers, filas, cupos)
    if picks != raw_picks or eventos != len(picks):
        pares = zip(picks, raw_picks, strict=False)
        first = next((i for i, (a, b) in enumerate(pares) if a != b), None)
        raise AssertionError(
            f"the project's picks differ from the raw ranking's ({len(picks):,} vs"
            f" {len(raw_picks):,} picks, {eventos:,} CupoAsignado events, first difference at"
            f" {first})"
        )
    project_phase.events = baseline_phase.events = len(picks)  # the rates are assignments/s
    return Result(
        bench="asignacion",
        events=events,
        unit="assignments",
        project=project_phase,
        baseline=baseline_phase,
        target=None,  # the issue sets none; see bench/README.md
        project_path=(
            "offer.handlers.asignar_lote: read roster, demand and plans; eligibility and ranking"
            " in Python; one CupoAsignado + outbox per slot in one transaction; projections"
        ),
        baseline_path="raw asyncpg: one ranking query + COPY of the picks, one transaction",
        extra={
            "demand_rows": events,
            "slots": cupos,
            "assigned": len(picks),
            "candidates": candidatos,
            "baseline_runs": RUNS,
            "picks_identical": True,
            "seed": SEED,
        },
    )
