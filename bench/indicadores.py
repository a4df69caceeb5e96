"""Indicator queries on big projections: the reporting API vs the same count in a bare route.

The projections of N families (`--events` is N here; about 12 events each, the rebuild bench's
families) are built untimed through the rebuild's own bulk path (`carga`: facts by COPY, each
history folded once) into the live generations of a fresh reporting database. Then, one request
at a time (latency, not throughput), each side answers the same mix of reports as of today:

- project: the real reporting app (auth, scope, OpenTelemetry, the live-generation lock, paging,
  zero-filling) under uvicorn: families at the nation, a department and a municipality; LB1
  statuses at the nation and in a municipality; families by pending LB in a department;
- baseline: a bare FastAPI route under uvicorn running, in raw asyncpg, the one aggregate each
  report's main query is (the same tables: the current counts, which a cut after the newest
  event reads), returning its rows.

It prints p50/p99 per side (`project_ms`, `baseline_ms`) and the ratio of the p99 rates.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI, Request
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade
from juntos_web import Principal, Role
from juntos_web.auth import mint_token
from juntos_web.settings import ServiceSettings

from bench.linea_base import cliente, percentil, servido
from bench.reconstruccion import sucesos
from bench.report import Phase, Result
from bench.servers import Servers
from bench.workload import progress

VUELTAS = 50  # rounds of the mix per side, after a tenth as many warm-up rounds
LOTE = 5000


async def poblar(url: str, familias: int) -> None:
    """The projections of `familias` families, built by the rebuild's bulk path (untimed)."""
    from reporting import carga, handlers

    engine = async_engine(url, pool_size=3)
    try:
        async with engine.begin() as conn:
            esquemas = await handlers.esquemas_vivos(conn)
        lote = carga.Lote(esquemas)
        with progress() as barra:
            tarea = barra.add_task("load projections (untimed)", total=familias * 12)
            for n, suceso in enumerate(sucesos(familias), 1):
                lote.agregar(suceso.sobre())
                if n % LOTE == 0:
                    async with engine.begin() as conn:
                        await carga.cargar(conn, lote)
                    lote = carga.Lote(esquemas)
                    barra.update(tarea, completed=n)
            async with engine.begin() as conn:
                await carga.cargar(conn, lote)
            tarea = barra.add_task("fold histories (untimed)", total=None)
            await carga.plegar(engine, esquemas, lambda n: barra.advance(tarea, n))
    finally:
        await engine.dispose()


def reportes(municipio: str) -> list[str]:
    """The URLs of the reports in the mix (the baseline's route takes the same ones)."""
    departamento = municipio[:2]
    return [
        "/v1/indicadores/familias?nivel=NACION",
        f"/v1/indicadores/familias?nivel=DEPARTAMENTO&departamento={departamento}",
        f"/v1/indicadores/familias?nivel=MUNICIPIO&municipio={municipio}",
        "/v1/indicadores/logros?nivel=NACION&logro=LB1",
        "/v1/indicadores/logros?nivel=NACION&limite=100",  # all 45 LB: a dashboard's default
        f"/v1/indicadores/logros?nivel=MUNICIPIO&municipio={municipio}&logro=LB1",
        f"/v1/indicadores/logros-pendientes?nivel=DEPARTAMENTO&departamento={departamento}",
    ]


CRUDAS = {
    "familias": (
        "SELECT {territorio} AS clave, sum(n) AS potencial,"
        " sum(n) FILTER (WHERE estado = 'VINCULADA') AS en_acompanamiento,"
        " sum(n) FILTER (WHERE desplazada) AS desplazadas"
        " FROM {familias}.familia_estado_{conteo} WHERE $1::timestamptz IS NOT NULL {donde}"
        " GROUP BY 1"
    ),
    "logros": (
        "SELECT {territorio} AS clave, logro, estado, sum(n) AS n"
        " FROM {logros}.familia_logro_{conteo} WHERE $1::timestamptz IS NOT NULL {logro} {donde}"
        " GROUP BY 1, 2, 3"
    ),
    "pend": (
        "SELECT {territorio} AS clave, pendientes, sum(n) AS n"
        " FROM {logros}.familia_pendientes_{conteo} WHERE $1::timestamptz IS NOT NULL"
        " AND grupo = '*' {donde} GROUP BY 1, 2"
    ),
}
"""Each report's main aggregate, as a raw query on the current counts the project reads for a
cut after the newest event: by municipality for a municipal report, else by department (the
project also checks that the cut is after the newest event, and zero-fills and pages)."""


def app_cruda(uri: str, esquemas: dict[str, str]) -> FastAPI:
    """One GET route per report kind: its raw aggregate in asyncpg, the rows as JSON."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(uri, min_size=1, max_size=2)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/v1/indicadores/{reporte}")
    async def reporte(
        reporte: str,
        request: Request,
        nivel: str,
        departamento: str | None = None,
        municipio: str | None = None,
        logro: str | None = None,
    ) -> list[dict]:
        clave = {"familias": "familias", "logros": "logros", "logros-pendientes": "pend"}[reporte]
        territorio = {"NACION": "''", "DEPARTAMENTO": "departamento"}.get(nivel, "municipio")
        donde, params = "", [datetime.now(UTC)]
        if departamento:
            donde, params = "AND departamento = $2", [*params, departamento]
        if municipio:
            donde, params = "AND municipio = $2", [*params, municipio]
        conteo = "conteo" if municipio or nivel == "MUNICIPIO" else "conteo_dpto"
        filtro = "AND logro = 'LB1'" if logro == "LB1" else ""
        sql = CRUDAS[clave].format(
            territorio=territorio, donde=donde, logro=filtro, conteo=conteo, **esquemas
        )
        filas = await request.app.state.pool.fetch(sql, *params)
        return [dict(f) for f in filas]

    return app


def _get(url: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {url} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


async def medir(
    app: FastAPI, urls: Sequence[str], token: str | None, lado: str
) -> tuple[Phase, dict[str, list[float]]]:
    """Warm-up, then VUELTAS rounds of the mix, one request at a time: the phase, and each
    report's latencies (s)."""
    por_reporte: dict[str, list[float]] = {url: [] for url in urls}
    async with servido(app) as servidor, cliente(servidor.port) as conexiones:
        conexion = await conexiones.get()

        async def vuelta(medida: bool) -> None:
            for url in urls:
                inicio = time.perf_counter()
                status, cuerpo = await conexion.enviar(_get(url, token))
                if medida:
                    por_reporte[url].append(time.perf_counter() - inicio)
                if status != 200:
                    raise AssertionError(f"{lado} {url}: {status} {cuerpo[:300]!r}")

        for _ in range(VUELTAS // 10):
            await vuelta(medida=False)
        with progress() as barra, Phase(f"indicadores-{lado}") as fase:
            tarea = barra.add_task(f"reports ({lado})", total=VUELTAS)
            for _ in range(VUELTAS):
                await vuelta(medida=True)
                barra.advance(tarea)
        conexiones.put_nowait(conexion)
    return fase, por_reporte


def _ms(latencias: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentil(latencias, 0.5) * 1000, 2),
        "p99": round(percentil(latencias, 0.99) * 1000, 2),
    }


async def run(servers: Servers, events: int) -> Result:
    from reporting.cli import MIGRATIONS
    from reporting.main import create_app

    familias = events
    url, uri = servers.database("bench_indicadores")
    await upgrade(url, MIGRATIONS)
    await poblar(url, familias)
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute("VACUUM ANALYZE")
        esquemas = {
            p: e
            for p, e in await conn.fetch("SELECT proyeccion, esquema FROM reporting_proyeccion")
        }
        filas_de_conteo = {
            tabla: await conn.fetchval(f"SELECT count(*) FROM {esquemas[p]}.{tabla}")
            for p, tabla in (
                ("familias", "familia_estado_conteo"),
                ("logros", "familia_logro"),
                ("logros", "familia_logro_conteo"),
                ("logros", "familia_logro_conteo_dpto"),
                ("logros", "familia_pendientes_conteo"),
            )
        }
        municipio = await conn.fetchval(
            f"SELECT municipio FROM {esquemas['familias']}.familia_estado"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
    finally:
        await conn.close()
    mezcla = reportes(municipio)
    secret = secrets.token_urlsafe(32)
    settings = ServiceSettings(
        service_name="reporting", database_url=url, jwt_secret=secret, run_backbone=False
    )
    token = mint_token(settings, Principal.scoped(Role.NACIONAL, None, sub="bench"))
    servers.checkpoint()
    proyecto, del_proyecto = await medir(create_app(settings), mezcla, token, "project")
    servers.checkpoint()
    crudo, del_crudo = await medir(app_cruda(uri, esquemas), mezcla, None, "baseline")
    ms = {
        lado: _ms([t for tiempos in medidas.values() for t in tiempos])
        for lado, medidas in (("project", del_proyecto), ("baseline", del_crudo))
    }
    por_reporte = {
        lado: {url.removeprefix("/v1/indicadores/"): _ms(t) for url, t in medidas.items()}
        for lado, medidas in (("project", del_proyecto), ("baseline", del_crudo))
    }
    # the rate of the p99: one request per p99 latency
    proyecto.seconds, crudo.seconds = ms["project"]["p99"] / 1000, ms["baseline"]["p99"] / 1000
    proyecto.events = crudo.events = 1
    return Result(
        bench="indicadores",
        events=familias,
        project=proyecto,
        baseline=crudo,
        target=None,
        project_path="reporting app: 7 indicator reports, one request at a time (p99 rate)",
        baseline_path="bare FastAPI + raw asyncpg: each report's main aggregate (p99 rate)",
        unit="req",  # 1 / p99 latency
        extra={
            "project_ms": ms["project"],
            "baseline_ms": ms["baseline"],
            "project_ms_by_report": por_reporte["project"],
            "baseline_ms_by_report": por_reporte["baseline"],
            "families": familias,
            "rows": filas_de_conteo,  # what the reports read does not grow with families
        },
    )
