"""Follow-up visits through the offline sync (POST /v1/sync, batches of 200) vs a bare route.

N is the number of families, each with one follow-up; what `juntos simulate run`'s
`seguimientos` stage sends (issue 8: 196.6 s for 7,954 families at 10,000, ~27 s a batch). The
families are drawn (bench/familias.py, seeded) and brought, untimed, to where that stage finds
them: cases opened from enrollment's events fed to the real consumer handlers, one cogestor per
LOTE families; the baseline and the plan (the first five pending LB) uploaded through the same
app's `POST /v1/sync`; and for a share P_ENTREGA of them an entity's delivery (offer's
ServicioPrestado fed to the real handler), so their case moved on after the version the device
saw and the follow-up must be checked against the changes made since (merged: a delivery
changes no answer).

Timed: one request per cogestor with its families' follow-ups (`tipo: SEGUIMIENTO`, every
household question met: pending household LB are reached), `version_vista` the version after
the plan, 8 requests in flight, on the real accompaniment app (auth, OpenTelemetry and
Prometheus middleware as in production, run_backbone=False) under uvicorn, with the linea-base
bench's keep-alive client. The baseline is a bare FastAPI route of the same path that takes the
same body as a plain dict and INSERTs its items as jsonb rows with one raw asyncpg statement,
answering one APLICADO per item. After the project's run every item must be APLICADO and every
family must have its RespuestasActualizadas.
"""

from __future__ import annotations

import cProfile
import json
import random
import secrets
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
from accompaniment.consumers import subscriptions
from accompaniment.ejemplos import hogar_completo
from accompaniment.main import create_app
from accompaniment.reglas import evaluar
from accompaniment.vocabulario import EstadoLogro
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from juntos_events.engine import async_engine
from juntos_events.logs import setup_logging
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.auth import Principal, mint_token
from juntos_web.settings import ServiceSettings

from bench import familias, report
from bench.cupos import _ms
from bench.familias import HOY, Familia
from bench.linea_base import (
    MIGRATIONS,
    Conexion,
    Lado,
    Peticion,
    _http,
    _sobre,
    abrir_casos,
    app_con_pool,
    asyncpg_sin_instrumentar,
    cliente,
    servido,
    tabla_cruda,
)
from bench.report import Phase, Result, release_memory
from bench.servers import Servers
from bench.workload import CONCURRENCY, in_parallel

SEED = 20_261_204
LOTE = 200  # a cogestor's families, one sync batch (the API's maximum)
P_ENTREGA = 0.28  # families with a delivery after their plan (simulate run at 10,000: ~28 %)
WARM_UP = 2 * LOTE  # families synced untimed first
RUTA = "/v1/sync"
RAW_TABLE = "visitas_sync"
_INSERT = (
    f"INSERT INTO {RAW_TABLE} (familia_id, item)"
    " SELECT f, i::jsonb FROM unnest($1::uuid[], $2::text[]) AS x(f, i)"
)
FECHA_SEGUIMIENTO = HOY + timedelta(days=60)


def cogestores(fams: Sequence[Familia]) -> dict[str, str]:
    """Family id -> its cogestor: LOTE families each, in order."""
    return {f.familia_id: f"cogestor-{n // LOTE:04d}" for n, f in enumerate(fams)}


def _item(f: Familia, etapa: str, version: int, **contenido: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-seguimientos:{etapa}:{f.familia_id}")),
        "familia_id": f.familia_id,
        "version_vista": version,
        "duracion_minutos": 45,
        **contenido,
    }


def linea_base(f: Familia, version: int) -> dict[str, Any]:
    return _item(
        f,
        "linea-base",
        version,
        tipo="LINEA_BASE",
        fecha=HOY.isoformat(),
        linea_base=f.linea_base.model_dump(mode="json"),
    )


def pendientes(f: Familia) -> list[str]:
    tablero = evaluar(f.linea_base, f.miembros, hoy=HOY, desplazada=f.desplazada)
    return [c for c, r in tablero.items() if r.estado is EstadoLogro.POR_ALCANZAR]


def plan(f: Familia, version: int) -> dict[str, Any] | None:
    meta = (HOY + timedelta(days=365)).isoformat()
    prioridades = [
        {"logro": lb, "fecha_meta": meta, "acciones": ["acompanamiento del cogestor"]}
        for lb in pendientes(f)[:5]
    ]
    if not prioridades:
        return None
    return _item(
        f, "plan", version, tipo="PLAN_FAMILIAR", fecha=HOY.isoformat(), prioridades=prioridades
    )


HOGAR = hogar_completo().model_dump(mode="json")


def seguimiento(f: Familia, version: int) -> dict[str, Any]:
    return _item(
        f,
        "seguimiento",
        version,
        tipo="SEGUIMIENTO",
        fecha=FECHA_SEGUIMIENTO.isoformat(),
        cambios={"hogar": HOGAR},
    )


def lotes(
    fams: Sequence[Familia],
    asignados: dict[str, str],
    tokens: dict[str, str],
    versiones: dict[str, int],
    item: Any,
) -> list[Peticion]:
    """One request per cogestor with `item(f, version)` of each of its families (None: none)."""
    por_cogestor: dict[str, list[dict[str, Any]]] = {}
    for f in fams:
        if (cuerpo := item(f, versiones.get(f.familia_id, 0))) is not None:
            por_cogestor.setdefault(asignados[f.familia_id], []).append(cuerpo)
    return [
        Peticion(RUTA, _http(RUTA, tokens[c], json.dumps({"items": items}).encode()))
        for c, items in por_cogestor.items()
    ]


async def subir(
    puerto: int, label: str, peticiones: Sequence[Peticion]
) -> tuple[list[float], list[dict[str, Any]]]:
    """Each batch, CONCURRENCY in flight on fresh connections (uvicorn closes idle ones after
    5 s): the latencies (s) and every item's result (parsed after the last answer)."""
    latencias: list[float] = []
    cuerpos: list[bytes] = []

    async def una(p: Peticion) -> None:
        conexion: Conexion = await conexiones.get()
        started = time.perf_counter()
        status, respuesta = await conexion.enviar(p.http)
        latencias.append(time.perf_counter() - started)
        conexiones.put_nowait(conexion)
        if status != 200:
            raise AssertionError(f"{label}: {status} {respuesta[:300]!r}")
        cuerpos.append(respuesta)

    async with cliente(puerto) as conexiones:
        await in_parallel(label, peticiones, una)
    return latencias, [r for c in cuerpos for r in json.loads(c)["resultados"]]


def versiones_de(resultados: Sequence[dict[str, Any]], por_id: dict[str, str]) -> dict[str, int]:
    malos = [r for r in resultados if r["estado"] != "APLICADO"]
    if malos:
        raise AssertionError(f"{len(malos)} items not applied, first: {malos[0]}")
    return {por_id[r["id"]]: r["version"] for r in resultados}


async def entregas(url: str, fams: Sequence[Familia], rng: random.Random) -> int:
    """Offer's ServicioPrestado for a share of the families, fed to the real handler."""
    elegidas = [f for f in fams if rng.random() < P_ENTREGA]
    engine = async_engine(url)
    try:
        for inicio in range(0, len(elegidas), 100):
            async with engine.begin() as conn:
                for f in elegidas[inicio : inicio + 100]:
                    datos = {
                        "familia_id": f.familia_id,
                        "integrante_id": f.miembros[0].integrante_id,
                        "logros": [rng.choice(["LB1", "LB2", "LB10"])],
                        "fecha": (HOY + timedelta(days=20)).isoformat(),
                    }
                    sobre = replace(_sobre("ServicioPrestado", datos), service="offer")
                    await subscriptions.apply_one(sobre, conn)
    finally:
        await engine.dispose()
    return len(elegidas)


def tokens(secret: str, asignados: dict[str, str]) -> dict[str, str]:
    settings = ServiceSettings(service_name="accompaniment", jwt_secret=secret)
    return {
        c: mint_token(
            settings, Principal.scoped(Role.COGESTOR, "05001", sub=c), expires_in=timedelta(hours=6)
        )
        for c in set(asignados.values())
    }


async def project(
    servers: Servers, secret: str, calentamiento: list[Familia], fams: list[Familia]
) -> tuple[Lado, dict[str, Any]]:
    todas = calentamiento + fams
    asignados = cogestores(todas)
    fichas = tokens(secret, asignados)
    url, uri = servers.database("bench_seguimientos_project")
    await upgrade(url, MIGRATIONS)
    settings = ServiceSettings(
        service_name="accompaniment", database_url=url, jwt_secret=secret, run_backbone=False
    )
    app = create_app(settings)
    setup_logging("bench", level="WARNING")
    await abrir_casos(url, todas, asignados)
    por_id: dict[str, str] = {}
    for f in todas:
        for etapa in ("linea-base", "plan", "seguimiento"):
            clave = f"bench-seguimientos:{etapa}:{f.familia_id}"
            por_id[str(uuid.uuid5(uuid.NAMESPACE_URL, clave))] = f.familia_id
    async with servido(app) as servidor:
        _, r = await subir(
            servidor.port, "baselines (untimed)", lotes(todas, asignados, fichas, {}, linea_base)
        )
        versiones = versiones_de(r, por_id)
        _, r = await subir(
            servidor.port, "plans (untimed)", lotes(todas, asignados, fichas, versiones, plan)
        )
        versiones |= versiones_de(r, por_id)
        entregadas = await entregas(url, todas, random.Random(SEED))
        calentar = lotes(calentamiento, asignados, fichas, versiones, seguimiento)
        versiones_de((await subir(servidor.port, "warm-up follow-ups", calentar))[1], por_id)
        medidos = lotes(fams, asignados, fichas, versiones, seguimiento)
        servers.checkpoint()
        release_memory()
        perfil = None
        if report.PROFILING:
            perfil = report.PROFILES.setdefault("seguimientos-project-server", cProfile.Profile())
            servidor.perfilar(perfil, True)
        print(f"timed: {len(medidos)} batches of follow-ups", flush=True)  # for py-spy --pid
        with Phase(profile_as="seguimientos-project-client") as phase:
            latencias, resultados = await subir(servidor.port, "POST /v1/sync follow-ups", medidos)
        if perfil:
            servidor.perfilar(perfil, False)
    versiones_de(resultados, por_id)
    await comprobar(uri, len(todas))
    return Lado(phase, latencias, 0.0), {"deliveries": entregadas, "batches": len(medidos)}


async def comprobar(uri: str, n: int) -> None:
    """Every family has its follow-up: one RespuestasActualizadas each."""
    conn = await asyncpg.connect(uri)
    try:
        hechas = await conn.fetchval(
            "SELECT count(DISTINCT stream_id) FROM events"
            " WHERE event_type = 'RespuestasActualizadas'"
        )
    finally:
        await conn.close()
    if hechas != n:
        raise AssertionError(f"{hechas:,} families with a follow-up, expected {n:,}")


def app_cruda(uri: str) -> FastAPI:
    """One POST route: the batch as a plain dict, its items INSERTed with one statement."""
    app = app_con_pool(uri)

    @app.post(RUTA)
    async def recibir(body: dict[str, Any], request: Request) -> Response:
        items = body["items"]
        await request.app.state.pool.execute(
            _INSERT, [uuid.UUID(i["familia_id"]) for i in items], [json.dumps(i) for i in items]
        )
        resultados = [{"id": i["id"], "estado": "APLICADO", "version": 1} for i in items]
        return JSONResponse({"resultados": resultados})

    return app


async def baseline(
    servers: Servers, secret: str, calentamiento: list[Familia], fams: list[Familia]
) -> Lado:
    todas = calentamiento + fams
    asignados = cogestores(todas)
    fichas = tokens(secret, asignados)
    _, uri = servers.database("bench_seguimientos_raw")
    await tabla_cruda(uri, RAW_TABLE, "item")
    with asyncpg_sin_instrumentar():
        async with servido(app_cruda(uri)) as servidor:
            calentar = lotes(calentamiento, asignados, fichas, {}, seguimiento)
            await subir(servidor.port, "warm-up (raw)", calentar)
            medidos = lotes(fams, asignados, fichas, {}, seguimiento)
            servers.checkpoint()
            release_memory()
            with Phase(profile_as="seguimientos-raw") as phase:
                latencias, _ = await subir(servidor.port, "POST /v1/sync (raw)", medidos)
    return Lado(phase, latencias, 0.0)


async def run(servers: Servers, events: int) -> Result:
    todas = familias.generar(WARM_UP + events, seed=SEED)
    calentamiento, fams = todas[:WARM_UP], todas[WARM_UP:]
    secret = secrets.token_urlsafe(32)
    release_memory()
    p, extra = await project(servers, secret, calentamiento, fams)
    b = await baseline(servers, secret, calentamiento, fams)
    print(
        f"seguimientos: project {events / p.phase.seconds:,.0f} families/s, batch p50"
        f" {_ms(p.latencias, 0.5):,.0f} ms p99 {_ms(p.latencias, 0.99):,.0f} ms | raw"
        f" {events / b.phase.seconds:,.0f} families/s, p50 {_ms(b.latencias, 0.5):,.0f} ms",
        flush=True,
    )
    return Result(
        bench="seguimientos",
        events=events,
        unit="families",
        project=p.phase,
        baseline=b.phase,
        target=None,
        project_path=(
            "POST /v1/sync on accompaniment's app (uvicorn, real HTTP), a cogestor's 200"
            " follow-ups a request: scope, cases, conflicts since the version seen, 45 LB,"
            " events + outbox, summaries"
        ),
        baseline_path="bare FastAPI route on uvicorn: the batch as a dict, one INSERT of its items",
        extra={
            **extra,
            "families": events,
            "concurrency": CONCURRENCY,
            "project_batch_p50_ms": round(_ms(p.latencias, 0.5), 1),
            "project_batch_p99_ms": round(_ms(p.latencias, 0.99), 1),
            "baseline_batch_p50_ms": round(_ms(b.latencias, 0.5), 1),
            "baseline_batch_p99_ms": round(_ms(b.latencias, 0.99), 1),
            "seed": SEED,
            "mean_members": round(statistics.fmean(len(f.miembros) for f in fams), 2),
        },
    )
