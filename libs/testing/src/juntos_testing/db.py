"""Small questions tests ask a real database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def public_tables(database_url: str) -> set[str]:
    """The tables in the public schema (what migrations created)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return set((await conn.execute(query)).scalars().all())
    finally:
        await engine.dispose()
