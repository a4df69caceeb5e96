"""Batch assignment (`offer.handlers.asignar_lote`) vs the same pick done in raw SQL.

`uv run python services/offer/bench/asignacion.py [--demanda 50000] [--cupos 5000]`

One municipality, one program (LB8, one slot per child up to 5 years old), N families with
LB8 pending (the demand rows), C free slots. Families are seeded: a head and one child whose age
is 0-7 (so about a quarter are not eligible), pending since a random day of 2025-2026, a third
with a plan priority for LB8 (orden 1-3), 10% displaced, 5% with a member with a disability.

- project: the whole batch as the API runs it: load the program and the slots' stream, read
  every family with demand (roster, demand, plan priorities), check eligibility and rank in
  Python, decide C assignments, append C CupoAsignado events with their outbox rows in one
  transaction, project them (slots, assignments).
- baseline: raw asyncpg, one SQL statement that ranks the same candidates by the same order and
  takes C, then one COPY of C rows into a plain table, in one transaction.

Both run on the same fresh, durable PostgreSQL (fsync on) and the same data, the baseline
first. The picks must be identical (same families, same order): a difference fails the run.
Prints both throughputs (assignments/s), the ratio, and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

import asyncpg
from juntos_cli.infra.postgres import LocalPostgres
from juntos_cli.infra.process import free_port
from juntos_events.migrate import upgrade
from offer import domain, handlers
from offer.enrollment import EnrollmentHttp
from offer.events import Elegibilidad
from offer.handlers import Servicios
from offer.settings import OfferSettings
from offer.vocabulario import Alcance, NivelGobierno
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(str(files("offer") / "migrations" / "versions"))
SEED = 20_261_125
FECHA = date(2026, 11, 25)
MUNICIPIO, PERIODO, LOGRO = "05001", "2026", "LB8"

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


async def cargar(uri: str, filas: dict[str, list[tuple]]) -> None:
    conn = await asyncpg.connect(uri)
    try:
        for tabla, registros in filas.items():
            await conn.copy_records_to_table(tabla, records=registros)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def base(uri: str, cupos: int) -> tuple[float, list[tuple[str, str]]]:
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(
            "CREATE TABLE base_asignaciones (cupo_id text PRIMARY KEY, familia_id text,"
            " integrante_id text, fecha date)"
        )
        await conn.fetch(RANKING, FECHA, MUNICIPIO, LOGRO, cupos)  # warm-up, untimed
        inicio = time.perf_counter()
        async with conn.transaction():
            elegidos = await conn.fetch(RANKING, FECHA, MUNICIPIO, LOGRO, cupos)
            await conn.copy_records_to_table(
                "base_asignaciones",
                records=[(str(uuid.uuid4()), r[0], r[1], FECHA) for r in elegidos],
            )
        return time.perf_counter() - inicio, [(r[0], r[1]) for r in elegidos]
    finally:
        await conn.close()


async def proyecto(url: str, cupos: int) -> tuple[float, list[tuple[str, str]], int]:
    settings = OfferSettings(service_name="offer", database_url=url, run_backbone=False)
    engine = create_async_engine(url)
    srv = Servicios(
        engine=engine,
        enrollment=EnrollmentHttp(f"http://127.0.0.1:{free_port()}", None),
        settings=settings,
    )
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
    await handlers.mandar_programa(srv, pid, comando, actor="bench")
    await handlers.habilitar_cupos(srv, pid, MUNICIPIO, PERIODO, cupos, actor="bench")
    lote = await handlers.asignar_lote(
        srv, pid, MUNICIPIO, PERIODO, fecha=FECHA, actor="bench", simular=True
    )  # warm-up, untimed
    inicio = time.perf_counter()
    lote = await handlers.asignar_lote(srv, pid, MUNICIPIO, PERIODO, fecha=FECHA, actor="bench")
    segundos = time.perf_counter() - inicio
    async with engine.connect() as conn:
        eventos = (
            await conn.exec_driver_sql(
                "SELECT count(*) FROM events WHERE event_type = 'CupoAsignado'"
            )
        ).scalar_one()
    await engine.dispose()
    return segundos, [(c.familia_id, c.integrante_id or "") for c, _ in lote.elegidos], eventos


async def medir(n: int, cupos: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="juntos-bench-offer-") as tmp:
        pg = LocalPostgres(Path(tmp) / "postgres", free_port(), fast=False)
        pg.start()
        try:
            pg.create_database("offer_bench")
            url, uri = pg.async_url("offer_bench"), pg.uri("offer_bench")
            await upgrade(url, MIGRATIONS)
            await cargar(uri, datos(n))
            t_base, picks_base = await base(uri, cupos)
            t_proy, picks_proy, eventos = await proyecto(url, cupos)
        finally:
            pg.stop()
    if picks_proy != picks_base or eventos != len(picks_proy):
        raise SystemExit(
            f"the project's picks differ from the baseline's ({len(picks_proy)} vs "
            f"{len(picks_base)}, {eventos} events)"
        )
    asignados = len(picks_proy)
    return {
        "bench": "offer_batch_assignment",
        "demand_rows": n,
        "slots": cupos,
        "assigned": asignados,
        "project_seconds": round(t_proy, 3),
        "baseline_seconds": round(t_base, 3),
        "project_per_s": round(asignados / t_proy, 1),
        "baseline_per_s": round(asignados / t_base, 1),
        "ratio": round(t_base / t_proy, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demanda", type=int, default=50_000)
    parser.add_argument("--cupos", type=int, default=5_000)
    args = parser.parse_args()
    r = asyncio.run(medir(args.demanda, args.cupos))
    print(
        f"batch assignment, {r['demand_rows']:,} demand rows, {r['slots']:,} slots:"
        f" project {r['project_seconds']} s ({r['project_per_s']:,.0f}/s),"
        f" baseline {r['baseline_seconds']} s ({r['baseline_per_s']:,.0f}/s),"
        f" ratio {r['ratio']}"
    )
    print(json.dumps(r))


if __name__ == "__main__":
    main()
