"""Small questions tests ask a real database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


async def public_tables(database_url: str) -> set[str]:
    """The tables in the public schema (what migrations created)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return set((await conn.execute(query)).scalars().all())
    finally:
        await engine.dispose()


def statements(engine: AsyncEngine) -> list[str]:
    """Every statement `engine` sends from now on (an executemany counts once), for tests that
    check a batch costs the same round trips whatever its size: `clear()` the list between the
    phases compared. The listener lives as long as the engine (a test's own)."""
    sent: list[str] = []

    def record(*args: Any) -> None:  # conn, cursor, statement, parameters, context, many
        sent.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return sent
