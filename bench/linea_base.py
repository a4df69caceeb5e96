"""Baseline ingestion through the API (POST /v1/casos/{id}/linea-base) vs a bare FastAPI route.

N is the number of families. The families and their baselines are drawn before timing
(bench/familias.py, seeded) and each request body is encoded once, untimed, as a cogestor's
device sends it: the visit (date, duration) and the whole questionnaire.

The project is the real accompaniment app (`accompaniment.main.create_app`: auth, OpenTelemetry
and Prometheus middleware as in production, no span exporter) on a fresh, migrated database,
with run_backbone=False (no relay, no consumers: the outbox keeps what the request wrote).
Before timing, each family's case is opened the way Kafka would deliver enrollment's facts:
FamiliaPreseleccionada (with the members), FamiliaVinculada and CogestorAsignado fed to the real
consumer handlers, 100 families per transaction. Then each family's baseline is POSTed, with
the token of the family's cogestor (one per municipality), and the app does what it does in
production: verify the token, validate the questionnaire, check the cogestor's scope, load the
case stream, read the roster, evaluate the 45 LB, append the visit, the answers, the baseline
and the board (events + outbox) and update the case summary, in one transaction.

The baseline is a bare FastAPI app with one POST route of the same path that takes the same
body parsed as a plain dict and INSERTs it as jsonb with one raw asyncpg statement (a pool of
8 connections, asyncpg not instrumented). Both apps are served by uvicorn (uvloop, httptools)
in a thread of this process on a local port and called over real HTTP by a minimal keep-alive
client on asyncio streams (requests encoded before timing), 8 requests in flight, after an
untimed warm-up of other families. Latencies are measured per request by the client. After the
project's run (untimed) the families with a baseline, the LogrosEvaluados events and the pending
LB of the case summaries are checked against the rules engine run locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import re
import secrets
import statistics
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from accompaniment.consumers import subscriptions
from accompaniment.main import create_app
from accompaniment.reglas import evaluar
from accompaniment.vocabulario import EstadoLogro
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from juntos_events.engine import async_engine
from juntos_events.envelope import Envelope
from juntos_events.logs import setup_logging
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.auth import Principal, mint_token
from juntos_web.settings import ServiceSettings
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

from bench import familias, report
from bench.familias import HOY, Familia
from bench.report import Phase, Result, release_memory
from bench.servers import Servers, free_port
from bench.workload import CONCURRENCY, in_parallel, progress

MIGRATIONS = Path(str(files("accompaniment") / "migrations" / "versions"))
SEED = 20_261_127
WARM_UP = 200  # families posted untimed first (at most a tenth of N)
LOTE_CASOS = 100  # families whose cases are opened in one transaction (untimed)
RAW_TABLE = "lineas_base"
RUTA = "/v1/casos/{familia_id}/linea-base"
_INSERT = f"INSERT INTO {RAW_TABLE} (familia_id, cuerpo) VALUES ($1, $2::jsonb) RETURNING id"


@dataclass(frozen=True)
class Peticion:
    url: str
    http: bytes  # the whole HTTP/1.1 request, head and body


def _http(url: str, token: str, cuerpo: bytes, metodo: str = "POST") -> bytes:
    head = (
        f"{metodo} {url} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(cuerpo)}\r\n\r\n"
    )
    return head.encode() + cuerpo


def cogestor_de(f: Familia) -> str:
    return f"cogestor-{f.municipio}"


def cuerpo(f: Familia) -> bytes:
    """What the cogestor's device sends: the visit and the whole questionnaire."""
    visita = {
        "fecha": HOY.isoformat(),
        "duracion_minutos": 90,
        "linea_base": f.linea_base.model_dump(mode="json"),
    }
    return json.dumps(visita, separators=(",", ":")).encode()


def peticiones(fams: Sequence[Familia], tokens: dict[str, str]) -> list[Peticion]:
    peticiones = []
    for f in fams:
        url = RUTA.format(familia_id=f.familia_id)
        peticiones.append(Peticion(url, _http(url, tokens[cogestor_de(f)], cuerpo(f))))
    return peticiones


# --- opening the cases (untimed) ----------------------------------------------------------------


def _sobre(event_type: str, data: dict[str, Any]) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        service="enrollment",
        event_type=event_type,
        schema_version=1,
        subject=data["familia_id"],
        time=datetime.now(UTC),
        data=data,
    )


def sobres(f: Familia, cogestor: str | None = None) -> list[Envelope]:
    """Enrollment's facts about a family, as the consumer would receive them (assigned to
    `cogestor`, by default the one of its municipality)."""
    fid, cogestor = f.familia_id, cogestor or cogestor_de(f)
    integrantes = [
        {
            "integrante_id": m.integrante_id,
            "fecha_nacimiento": m.fecha_nacimiento.isoformat(),
            "sexo": m.sexo,
            "parentesco": m.parentesco,
            "discapacidad": m.discapacidad,
            "gestante": m.gestante,
            "etnia": "NINGUNA",
        }
        for m in f.miembros
    ]
    vinculacion = HOY - timedelta(days=30)
    return [
        _sobre(
            "FamiliaPreseleccionada",
            {
                "familia_id": fid,
                "municipio": f.municipio,
                "registro": "RUPD" if f.desplazada else "SISBEN",
                "desplazada": f.desplazada,
                "integrantes": integrantes,
            },
        ),
        _sobre(
            "FamiliaVinculada",
            {
                "familia_id": fid,
                "municipio": f.municipio,
                "fecha_vinculacion": vinculacion.isoformat(),
                "fecha_limite": vinculacion.replace(year=vinculacion.year + 5).isoformat(),
                "firmante_id": f.miembros[0].integrante_id,
                "lugar_municipio": f.municipio,
                "cogestor_id": cogestor,
            },
        ),
        _sobre(
            "CogestorAsignado",
            {"familia_id": fid, "municipio": f.municipio, "cogestor_id": cogestor},
        ),
    ]


async def abrir_casos(
    url: str, fams: Sequence[Familia], cogestores: Mapping[str, str] | None = None
) -> float:
    """Feed each family's envelopes to the real handlers, LOTE_CASOS families per transaction;
    `cogestores` (family id -> cogestor) overrides the one of the municipality."""
    engine = async_engine(url)
    started = time.perf_counter()
    try:
        with progress() as bar:
            task = bar.add_task("open cases (enrollment's events -> handlers)", total=len(fams))
            for inicio in range(0, len(fams), LOTE_CASOS):
                lote = fams[inicio : inicio + LOTE_CASOS]
                async with engine.begin() as conn:
                    for f in lote:
                        for sobre in sobres(f, (cogestores or {}).get(f.familia_id)):
                            await subscriptions.apply_one(sobre, conn)
                bar.advance(task, len(lote))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


# --- serving and calling ------------------------------------------------------------------------


@dataclass
class Servidor:
    """uvicorn serving an app from a thread of this process, on its own event loop."""

    port: int
    loop: asyncio.AbstractEventLoop

    def perfilar(self, perfil: cProfile.Profile, activo: bool) -> None:
        """Turn `perfil` on or off in the server's thread (cProfile sees one thread)."""
        self.loop.call_soon_threadsafe(perfil.enable if activo else perfil.disable)


@contextlib.asynccontextmanager
async def servido(app: FastAPI) -> AsyncIterator[Servidor]:
    """`app` served by uvicorn (uvloop, httptools) in a thread of this process."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        log_config=None,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    loops: list[asyncio.AbstractEventLoop] = []

    def correr() -> None:  # what Server.run does, keeping the loop
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            loops.append(runner.get_loop())
            runner.run(server.serve())

    thread = threading.Thread(target=correr, daemon=True, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.05)
    try:
        yield Servidor(config.port, loops[0])
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)


class Conexion:
    """A minimal HTTP/1.1 keep-alive client: writes prepared requests, reads each response
    (status line, headers, Content-Length body). httpx cost about 1.5 ms of CPU per request in
    this process, more than a bare route itself: with both ends sharing one interpreter, it
    would have capped the baseline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def enviar(self, http: bytes) -> tuple[int, bytes]:
        self.writer.write(http)
        head = await self.reader.readuntil(b"\r\n\r\n")
        largo = _CONTENT_LENGTH.search(head)
        if largo is None:
            raise RuntimeError(f"a response without Content-Length: {head[:200]!r}")
        return int(head[9:12]), await self.reader.readexactly(int(largo.group(1)))


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


@contextlib.asynccontextmanager
async def cliente(port: int) -> AsyncIterator[asyncio.Queue[Conexion]]:
    """CONCURRENCY open connections to the server, to take and give back."""
    conexiones: asyncio.Queue[Conexion] = asyncio.Queue()
    abiertas = []
    try:
        for _ in range(CONCURRENCY):
            abiertas.append(Conexion(*await asyncio.open_connection("127.0.0.1", port)))
            conexiones.put_nowait(abiertas[-1])
        yield conexiones
    finally:
        for c in abiertas:
            c.writer.close()


async def enviar(
    conexiones: asyncio.Queue[Conexion],
    label: str,
    lote: Sequence[Peticion],
    esperado: int = 201,
) -> list[float]:
    """Send each request, CONCURRENCY in flight; each one's latency (s). Raises on another
    status than `esperado`."""
    latencias: list[float] = []
    errores: list[str] = []

    async def una(p: Peticion) -> None:
        conexion = await conexiones.get()
        started = time.perf_counter()
        status, respuesta = await conexion.enviar(p.http)
        latencias.append(time.perf_counter() - started)
        conexiones.put_nowait(conexion)
        if status != esperado:
            errores.append(f"{p.url}: {status} {respuesta[:300]!r}")

    await in_parallel(label, lote, una)
    if errores:
        raise AssertionError(f"{len(errores)} requests failed, first: {errores[0]}")
    return latencias


@dataclass
class Lado:
    phase: Phase
    latencias: list[float]
    cpu_seconds: float

    def ms(self, q: float) -> float:
        return percentil(self.latencias, q) * 1000


def percentil(valores: Sequence[float], q: float) -> float:
    return statistics.quantiles(valores, n=1000, method="inclusive")[round(q * 1000) - 1]


async def medir(
    app: FastAPI, servers: Servers, calentamiento: list[Peticion], lote: list[Peticion], lado: str
) -> Lado:
    """Warm-up, then the timed POSTs; with --profile, the server's thread has its own profile
    (`linea-base-<side>-server`), the phase's is the client's."""
    perfil = None
    if report.PROFILING:
        perfil = report.PROFILES.setdefault(f"linea-base-{lado}-server", cProfile.Profile())
    async with servido(app) as servidor, cliente(servidor.port) as client:
        await enviar(client, f"warm-up POST linea-base ({lado})", calentamiento)
        servers.checkpoint()
        release_memory()
        if perfil:
            servidor.perfilar(perfil, True)
        cpu = time.process_time()
        with Phase(profile_as=f"linea-base-{lado}-client") as phase:
            latencias = await enviar(client, f"POST linea-base ({lado})", lote)
        cpu = time.process_time() - cpu
        if perfil:
            servidor.perfilar(perfil, False)
    return Lado(phase, latencias, cpu)


# --- the two sides ------------------------------------------------------------------------------


def tokens(secret: str, fams: Sequence[Familia]) -> dict[str, str]:
    """The bearer token of each family's cogestor (one per municipality)."""
    settings = ServiceSettings(service_name="accompaniment", jwt_secret=secret)
    return {
        cogestor_de(f): mint_token(
            settings,
            Principal.scoped(Role.COGESTOR, f.municipio, sub=cogestor_de(f)),
            expires_in=timedelta(hours=6),
        )
        for f in fams
    }


async def project(
    servers: Servers,
    secret: str,
    tokens: dict[str, str],
    calentamiento: list[Familia],
    fams: list[Familia],
) -> tuple[Lado, float]:
    """The timed POSTs and the (untimed) seconds it took to open the cases."""
    url, uri = servers.database("bench_linea_base_project")
    await upgrade(url, MIGRATIONS)
    settings = ServiceSettings(
        service_name="accompaniment", database_url=url, jwt_secret=secret, run_backbone=False
    )
    app = create_app(settings)
    setup_logging("bench", level="WARNING")  # create_app set up the service's (INFO)
    abrir = await abrir_casos(url, calentamiento + fams)
    lado = await medir(
        app, servers, peticiones(calentamiento, tokens), peticiones(fams, tokens), "project"
    )
    await evaluated_all(uri, calentamiento + fams)
    return lado, abrir


async def evaluated_all(uri: str, fams: Sequence[Familia]) -> None:
    """Every family has its baseline and its board, with the pending LB the rules give."""
    pendientes = 0
    for f in fams:
        tablero = evaluar(f.linea_base, f.miembros, hoy=HOY, desplazada=f.desplazada)
        pendientes += sum(r.estado is EstadoLogro.POR_ALCANZAR for r in tablero.values())
    conn = await asyncpg.connect(uri)
    try:
        fila = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE linea_base IS NOT NULL) AS con_linea_base,"
            " coalesce(sum(pendientes), 0) AS pendientes FROM familias"
        )
        tableros = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'LogrosEvaluados'"
        )
    finally:
        await conn.close()
    if (fila["con_linea_base"], tableros, fila["pendientes"]) != (len(fams), len(fams), pendientes):
        raise AssertionError(
            f"{fila['con_linea_base']:,} baselines, {tableros:,} boards and"
            f" {fila['pendientes']:,} pending LB for {len(fams):,} families"
            f" ({pendientes:,} pending LB expected)"
        )


def app_con_pool(uri: str) -> FastAPI:
    """A bare FastAPI app whose `state.pool` is a raw asyncpg pool of CONCURRENCY connections."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(uri, min_size=CONCURRENCY, max_size=CONCURRENCY)
        try:
            yield
        finally:
            await app.state.pool.close()

    return FastAPI(lifespan=lifespan)


def app_cruda(uri: str) -> FastAPI:
    """One POST route: the body as a plain dict, one raw asyncpg INSERT of it as jsonb."""
    app = app_con_pool(uri)

    @app.post(RUTA, status_code=201)
    async def recibir(familia_id: uuid.UUID, body: dict[str, Any], request: Request) -> Response:
        fila = await request.app.state.pool.fetchval(_INSERT, familia_id, json.dumps(body))
        return JSONResponse({"familia_id": str(familia_id), "id": fila}, status_code=201)

    return app


@contextlib.contextmanager
def asyncpg_sin_instrumentar() -> Iterator[None]:
    """The project's app instruments asyncpg for the whole process; the raw side is raw."""
    instrumentor = AsyncPGInstrumentor()
    instrumentado = instrumentor.is_instrumented_by_opentelemetry
    if instrumentado:
        instrumentor.uninstrument()
    try:
        yield
    finally:
        if instrumentado:
            instrumentor.instrument()


async def tabla_cruda(uri: str, tabla: str, columna: str) -> None:
    """The raw side's one table: an id, the family and a jsonb column."""
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(
            f"CREATE TABLE {tabla} (id bigserial PRIMARY KEY, familia_id uuid NOT NULL,"
            f" {columna} jsonb NOT NULL)"
        )
    finally:
        await conn.close()


async def baseline(
    servers: Servers, tokens: dict[str, str], calentamiento: list[Familia], fams: list[Familia]
) -> Lado:
    _, uri = servers.database("bench_linea_base_raw")
    await tabla_cruda(uri, RAW_TABLE, "cuerpo")
    with asyncpg_sin_instrumentar():
        lado = await medir(
            app_cruda(uri),
            servers,
            peticiones(calentamiento, tokens),
            peticiones(fams, tokens),
            "raw",
        )
    conn = await asyncpg.connect(uri)
    try:
        guardadas = await conn.fetchval(f"SELECT count(*) FROM {RAW_TABLE}")
    finally:
        await conn.close()
    if guardadas != len(calentamiento) + len(fams):
        raise AssertionError(f"the raw side stored {guardadas:,} bodies, expected {len(fams):,}+")
    return lado


async def run(servers: Servers, events: int) -> Result:
    todas = familias.generar(min(WARM_UP, max(1, events // 10)) + events, seed=SEED)
    calentamiento, fams = todas[: len(todas) - events], todas[len(todas) - events :]
    miembros = sum(len(f.miembros) for f in fams)
    cuerpo_kib = statistics.fmean(len(cuerpo(f)) for f in fams) / 1024
    secret = secrets.token_urlsafe(32)
    cogestores = tokens(secret, todas)  # the raw side gets the same headers, and ignores them
    release_memory()
    p, abrir = await project(servers, secret, cogestores, calentamiento, fams)
    b = await baseline(servers, cogestores, calentamiento, fams)
    print(
        f"linea-base latency ms: project p50 {p.ms(0.5):.1f} p99 {p.ms(0.99):.1f} | baseline"
        f" p50 {b.ms(0.5):.1f} p99 {b.ms(0.99):.1f} ({CONCURRENCY} in flight)",
        flush=True,
    )
    return Result(
        bench="linea-base",
        events=len(fams),
        unit="families",
        project=p.phase,
        baseline=b.phase,
        target=None,
        project_path=(
            "POST /v1/casos/{id}/linea-base on accompaniment's app (uvicorn, real HTTP): token,"
            " questionnaire, scope, case stream, roster, 45 LB, events + outbox, summary"
        ),
        baseline_path=(
            "bare FastAPI route on uvicorn: body as a dict, one raw asyncpg INSERT as jsonb"
        ),
        extra={
            "families": len(fams),
            "members": miembros,
            "body_kib_mean": round(cuerpo_kib, 2),
            "concurrency": CONCURRENCY,
            "project_p50_ms": round(p.ms(0.5), 2),
            "project_p99_ms": round(p.ms(0.99), 2),
            "baseline_p50_ms": round(b.ms(0.5), 2),
            "baseline_p99_ms": round(b.ms(0.99), 2),
            "project_process_cpu_seconds": round(p.cpu_seconds, 3),
            "baseline_process_cpu_seconds": round(b.cpu_seconds, 3),
            "open_cases_seconds": round(abrir, 1),
            "warm_up_families": len(calentamiento),
            "server": "uvicorn in a thread of this process, raw HTTP/1.1 client, 8 connections",
            "seed": SEED,
            "hoy": HOY.isoformat(),
        },
    )
