"""Slot lines through offer's API: one `PUT` per program (`/v1/programas/{id}/cupos`, every
line in one request) vs one `PUT .../cupos/{municipio}/{periodo}` per line, vs raw asyncpg.

N (`--events`, default 2,000) is the number of slot lines: PROGRAMAS programs, each in N /
PROGRAMAS municipalities (DIVIPOLA, the first ones by code), period 2026, a seeded capacity per
line; what `juntos simulate run`'s `oferta` stage sends (issue 8: 6,875 lines for 1,000
families). Every line is new, as in that stage: each path gets its own programs, registered
untimed through the same app.

- project (bulk): offer's real app (`offer.main.create_app`, auth, OpenTelemetry and Prometheus
  middleware as in production, run_backbone=False) under uvicorn on a fresh, migrated database,
  called over real HTTP (the linea-base bench's keep-alive client, 8 in flight): one request
  per program with all its lines: token, scope, the program and every line's stream read once,
  one CuposHabilitados per line appended with its outbox row in one statement, the slots read
  model and the demand-supply balance, one transaction.
- single PUT (recorded in `extra`, not the ratio): the same lines (same capacities) of other
  programs, one request each, the path `simulate run` used before the bulk endpoint.
- baseline: raw asyncpg (8 connections, not instrumented), one transaction per program inserting
  the same event rows (JSON encoded untimed) and their outbox rows into the same tables of
  another fresh offer database, one `INSERT ... SELECT FROM unnest` each: no read, no guard, no
  read model, no HTTP.

Warm-up: a program of each kind, untimed. After the runs, each timed program must have one
CuposHabilitados per line, and the single and bulk paths the same events (but the program id).
"""

from __future__ import annotations

import cProfile
import json
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg
from juntos_catalogo import divipola
from juntos_events.migrate import upgrade
from juntos_events.store import lane_of
from juntos_web import Role
from juntos_web.auth import Principal, mint_token
from offer.api_cupos import MAX_LINEAS
from offer.main import create_app
from offer.settings import OfferSettings

from bench import report
from bench.linea_base import (
    Lado,
    Peticion,
    Servidor,
    _http,
    asyncpg_sin_instrumentar,
    cliente,
    enviar,
    servido,
)
from bench.report import Phase, Result, release_memory
from bench.servers import Servers
from bench.workload import CONCURRENCY, in_parallel

MIGRATIONS = Path(str(files("offer") / "migrations" / "versions"))
LINEAS = 2_000
PROGRAMAS = 20
SEED = 20_261_203
PERIODO = "2026"
ENTIDAD = "bench-entidad"
LOGROS = ["LB8", "LB11"]
TOPIC = "juntos.offer.events"


@dataclass(frozen=True)
class Programa:
    programa_id: str
    lineas: tuple[tuple[str, int], ...]  # (municipio, cupos)


def programas(n: int, por_programa: int, rng: random.Random) -> list[Programa]:
    municipios = sorted(m.codigo for m in divipola().municipios)[:por_programa]
    return [
        Programa(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            tuple((m, rng.randint(1, 400)) for m in municipios),
        )
        for _ in range(n)
    ]


def _json(cuerpo: dict[str, Any]) -> bytes:
    return json.dumps(cuerpo, separators=(",", ":")).encode()


def registro(p: Programa, token: str) -> Peticion:
    cuerpo = {
        "programa_id": p.programa_id,
        "entidad": ENTIDAD,
        "titulo": "Programa de referencia",
        "nivel": "NACIONAL",
        "alcance": "FAMILIA",
        "logros": LOGROS,
        "elegibilidad": {},
        "municipios": [m for m, _ in p.lineas],
    }
    return Peticion("/v1/programas", _http("/v1/programas", token, _json(cuerpo)))


def por_linea(p: Programa, token: str) -> list[Peticion]:
    peticiones = []
    for m, n in p.lineas:
        url = f"/v1/programas/{p.programa_id}/cupos/{m}/{PERIODO}"
        peticiones.append(Peticion(url, _http(url, token, _json({"cupos": n}), "PUT")))
    return peticiones


def en_lote(p: Programa, token: str) -> Peticion:
    url = f"/v1/programas/{p.programa_id}/cupos"
    lineas = [{"municipio": m, "periodo": PERIODO, "cupos": n} for m, n in p.lineas]
    return Peticion(url, _http(url, token, _json({"lineas": lineas}), "PUT"))


async def _medir(
    servidor: Servidor, conexiones: Any, servers: Servers, lado: str, lote: list[Peticion]
) -> Lado:
    """The timed PUTs; with --profile, the server's thread has its own profile."""
    perfil = None
    if report.PROFILING:
        perfil = report.PROFILES.setdefault(f"cupos-{lado}-server", cProfile.Profile())
    servers.checkpoint()
    release_memory()
    if perfil:
        servidor.perfilar(perfil, True)
    with Phase(profile_as=f"cupos-{lado}-client") as phase:
        latencias = await enviar(conexiones, f"PUT ({lado})", lote, esperado=200)
    if perfil:
        servidor.perfilar(perfil, False)
    return Lado(phase, latencias, 0.0)


async def project(
    servers: Servers, secret: str, uno: list[Programa], lote: list[Programa], warm: list[Programa]
) -> tuple[Lado, Lado, str]:
    token = mint_token(
        OfferSettings(service_name="offer", jwt_secret=secret),
        Principal.scoped(Role.NACIONAL, sub="bench-nacional"),
        expires_in=timedelta(hours=6),
    )
    url, uri = servers.database("bench_cupos_project")
    await upgrade(url, MIGRATIONS)
    settings = OfferSettings(
        service_name="offer", database_url=url, jwt_secret=secret, run_backbone=False
    )
    app = create_app(settings)
    async with servido(app) as servidor, cliente(servidor.port) as conexiones:
        todos = [registro(p, token) for p in warm + uno + lote]
        await enviar(conexiones, "POST /v1/programas (untimed)", todos)
        calentar = por_linea(warm[0], token)
        await enviar(conexiones, "warm-up PUT (untimed)", calentar, esperado=200)
        calentar = [en_lote(warm[1], token)]
        await enviar(conexiones, "warm-up PUT lines (untimed)", calentar, esperado=200)
        una_por_linea = [q for p in uno for q in por_linea(p, token)]
        individual = await _medir(servidor, conexiones, servers, "single", una_por_linea)
        por_programa = [en_lote(p, token) for p in lote]
        masivo = await _medir(servidor, conexiones, servers, "bulk", por_programa)
    return individual, masivo, uri


async def comprobar(uri: str, uno: list[Programa], lote: list[Programa]) -> None:
    """One CuposHabilitados per line of every timed program; both paths the same events."""
    conn = await asyncpg.connect(uri)
    try:
        filas = await conn.fetch(
            "SELECT data->>'programa_id' AS p, data->>'municipio' AS m, (data->>'cupos')::int AS n,"
            " data->'logros' AS l FROM events WHERE event_type = 'CuposHabilitados'"
        )
    finally:
        await conn.close()
    por_programa: dict[str, set[tuple[str, int, str]]] = {}
    for f in filas:
        por_programa.setdefault(f["p"], set()).add((f["m"], f["n"], f["l"]))
    for a, b in zip(uno, lote, strict=True):
        if len(filas_de := por_programa.get(b.programa_id, set())) != len(b.lineas):
            raise AssertionError(f"program {b.programa_id}: {len(filas_de)} events for its lines")
        if {(m, n) for m, n, _ in filas_de} != set(b.lineas):
            raise AssertionError(f"program {b.programa_id}: its events are not its lines")
        if por_programa.get(a.programa_id) != filas_de:
            raise AssertionError("the bulk path's events differ from the single PUTs'")


_RAW = """
WITH e AS (
    INSERT INTO events (stream_id, stream_type, version, event_id, event_type, schema_version,
                        data, metadata, occurred_at)
    SELECT s, 'cupos', 1, i, 'CuposHabilitados', 1, d::jsonb, $4::jsonb, now()
    FROM unnest($1::text[], $2::uuid[], $3::text[]) AS x(s, i, d)
)
INSERT INTO outbox (lane, event_id, topic, key, headers, payload)
SELECT l, i, $5, s, '{}'::jsonb, convert_to(d, 'UTF8')
FROM unnest($6::smallint[], $1::text[], $2::uuid[], $3::text[]) AS x(l, s, i, d)
"""


async def baseline(servers: Servers, lote: list[Programa]) -> Lado:
    url, uri = servers.database("bench_cupos_raw")
    await upgrade(url, MIGRATIONS)
    filas = []
    for p in lote:  # encoded untimed
        streams = [f"cupos:{p.programa_id}:{m}:{PERIODO}" for m, _ in p.lineas]
        datos = [
            json.dumps(
                {
                    "programa_id": p.programa_id,
                    "entidad": ENTIDAD,
                    "municipio": m,
                    "periodo": PERIODO,
                    "logros": LOGROS,
                    "cupos": n,
                }
            )
            for m, n in p.lineas
        ]
        filas.append(
            (streams, [uuid.uuid4() for _ in streams], datos, [lane_of(s) for s in streams])
        )
    with asyncpg_sin_instrumentar():
        pool = await asyncpg.create_pool(uri, min_size=CONCURRENCY, max_size=CONCURRENCY)
        try:
            servers.checkpoint()
            release_memory()

            async def uno(f: tuple[list[str], list[uuid.UUID], list[str], list[int]]) -> None:
                streams, ids, datos, lanes = f
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(
                        _RAW, streams, ids, datos, '{"actor": "bench"}', TOPIC, lanes
                    )

            with Phase(profile_as="cupos-raw") as phase:
                await in_parallel("raw INSERT events + outbox", filas, uno)
            guardados = await pool.fetchval("SELECT count(*) FROM events")
        finally:
            await pool.close()
    if guardados != sum(len(p.lineas) for p in lote):
        raise AssertionError(f"the raw side stored {guardados:,} events")
    return Lado(phase, [], 0.0)


def _ms(latencias: Sequence[float], q: float) -> float:
    ordenadas = sorted(latencias)
    return ordenadas[min(len(ordenadas) - 1, round(q * (len(ordenadas) - 1)))] * 1000


async def run(servers: Servers, events: int) -> Result:
    n_programas = max(1, min(PROGRAMAS, events))
    por_programa = min(MAX_LINEAS, max(1, events // n_programas))
    rng = random.Random(SEED)
    uno = programas(n_programas, por_programa, rng)
    lote = [
        replace(p, programa_id=str(uuid.UUID(int=rng.getrandbits(128), version=4))) for p in uno
    ]
    warm = programas(2, min(50, por_programa), rng)
    lineas = n_programas * por_programa
    secret = secrets.token_urlsafe(32)
    individual, masivo, uri = await project(servers, secret, uno, lote, warm)
    await comprobar(uri, uno, lote)
    crudo = await baseline(servers, lote)
    s_uno, s_lote = individual.phase.seconds, masivo.phase.seconds
    print(
        f"cupos: one line a request {lineas / s_uno:,.0f} lines/s ({lineas / s_uno:,.1f} req/s,"
        f" p50 {_ms(individual.latencias, 0.5):.0f} ms) | a program a request"
        f" {lineas / s_lote:,.0f} lines/s ({n_programas / s_lote:,.2f} req/s of {por_programa}"
        f" lines, p50 {_ms(masivo.latencias, 0.5):.0f} ms) | x{s_uno / s_lote:.1f}",
        flush=True,
    )
    return Result(
        bench="cupos",
        events=lineas,
        unit="lines",
        project=masivo.phase,
        baseline=crudo.phase,
        target=None,
        project_path=(
            "PUT /v1/programas/{id}/cupos on offer's app (uvicorn, real HTTP), a program's lines"
            " a request: token, scope, streams read once, events + outbox, read model, balance"
        ),
        baseline_path="raw asyncpg: the same events + outbox rows, one INSERT per program",
        extra={
            "programs": n_programas,
            "lines_per_program": por_programa,
            "concurrency": CONCURRENCY,
            "single_put_lines_per_s": round(lineas / s_uno, 1),
            "single_put_seconds": round(s_uno, 3),
            "single_put_p50_ms": round(_ms(individual.latencias, 0.5), 2),
            "single_put_p99_ms": round(_ms(individual.latencias, 0.99), 2),
            "bulk_requests_per_s": round(n_programas / s_lote, 3),
            "bulk_p50_ms": round(_ms(masivo.latencias, 0.5), 2),
            "bulk_p99_ms": round(_ms(masivo.latencias, 0.99), 2),
            "bulk_over_single": round(s_uno / s_lote, 2),
            "seed": SEED,
        },
    )
