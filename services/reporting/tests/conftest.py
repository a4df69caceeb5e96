"""Reporting tests: a migrated database per test; events applied directly or through Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path

import pytest
from juntos_events.migrate import upgrade
from reporting import handlers
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .relato import Suceso

MIGRATIONS = Path(str(files("reporting") / "migrations" / "versions"))


@pytest.fixture
async def db(database_url: str) -> str:
    await upgrade(database_url, MIGRATIONS)
    return database_url


@pytest.fixture
async def engine(db: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db)
    yield engine
    await engine.dispose()


async def aplicar(engine: AsyncEngine, *sucesos: Suceso) -> list[int]:
    """Apply each event in its own transaction to the live generations, as the consumer does."""
    aplicadas = []
    for suceso in sucesos:
        async with engine.begin() as conn:
            esquemas = await handlers.esquemas_vivos(conn)
            aplicadas.append(await handlers.aplicar(conn, suceso.sobre(), esquemas))
    return aplicadas


async def filas(engine: AsyncEngine, sql: str, **params) -> list[tuple]:
    """Rows of `sql`, where `{familias}`, `{logros}`... name the live schemas."""
    async with engine.begin() as conn:
        esquemas = await handlers.esquemas_vivos(conn)
        resultado = await conn.exec_driver_sql(sql.format(**esquemas), tuple(params.values()))
        return [tuple(r) for r in resultado]


async def plan_sin_seqscan(engine: AsyncEngine, sql: str, params: dict[str, object]) -> str:
    """The EXPLAIN of `sql` (`{familias}`... name the live schemas) with sequential scans
    discouraged: whether an index can serve it, whatever the (tiny) table sizes."""
    async with engine.begin() as conn:
        esquemas = await handlers.esquemas_vivos(conn)
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        filas = await conn.execute(text(f"EXPLAIN {sql.format(**esquemas)}"), params)
        return "\n".join(fila[0] for fila in filas)
