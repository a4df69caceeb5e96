"""Races: the loser of a race never overwrites the winner, and the capacity map never misses
an input committed by a concurrent transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from juntos_web import Role
from sqlalchemy.ext.asyncio import create_async_engine
from territorial import queries
from territorial.domain import capacidades
from territorial.domain.capacidades import Tablero, TableroRecibido

from .conftest import como, levantar, municipal


async def test_concurrent_changes_with_the_same_etag_give_exactly_one_412(client, app) -> None:
    etag = (await levantar(client, app, "05001")).headers["etag"]

    async def cambiar(cbt: str) -> httpx.Response:
        return await client.put(
            f"/v1/municipios/05001/lbt/condiciones/{cbt}",
            json={"estado": "NO_CUMPLE", "evidencia": "acta", "fecha": "2026-04-01"},
            headers={"If-Match": etag, **municipal(app, "05001")},
        )

    a, b = await asyncio.gather(cambiar("CBT1"), cambiar("CBT2"))
    assert sorted([a.status_code, b.status_code]) == [200, 412]


async def test_two_microregions_racing_for_a_municipality_one_wins(client, app) -> None:
    nacional = como(app, Role.NACIONAL)

    async def definir(ident: str) -> httpx.Response:
        cuerpo = {"denominacion": ident, "operador_id": f"op-{ident}", "municipios": ["05001"]}
        return await client.put(f"/v1/microrregiones/{ident}", json=cuerpo, headers=nacional)

    respuestas = await asyncio.gather(*(definir(f"mr-{i}") for i in range(4)))
    assert sorted(r.status_code for r in respuestas) == [200, 409, 409, 409]
    ganadora = next(r for r in respuestas if r.status_code == 200).json()["microrregion_id"]
    medellin = (await client.get("/v1/municipios/05001", headers=nacional)).json()
    assert medellin["microrregion_id"] == ganadora


async def test_concurrent_demand_of_one_municipality_is_all_in_the_map(app, database_url) -> None:
    """Consumers of several partitions (replicas) recompute the same municipality at once."""
    engine = create_async_engine(database_url, pool_size=10)
    cuando = datetime.now(UTC)

    async def familia(i: int) -> None:
        async with engine.begin() as conn:
            recibido = TableroRecibido(f"fam-{i}", Tablero("05001", frozenset({"LB13"})), cuando)
            guardados = await queries.tableros_guardados(conn, [recibido.familia_id])
            cambios = capacidades.aplicar_tableros(guardados, [recibido])
            await queries.guardar_demanda(conn, cambios)
            await asyncio.sleep(0.05)  # both transactions are open at the same time
            await queries.recalcular_mapa(conn, cambios.municipios)

    try:
        await asyncio.gather(*(familia(i) for i in range(8)))
        async with engine.connect() as conn:
            salud = next(f for f in await queries.mapa(conn, "05001") if f.dimension == "SALUD")
    finally:
        await engine.dispose()
    assert salud.demanda == 8
