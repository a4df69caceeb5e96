"""A deliberately non-idempotent projection (it adds), so a second application would show."""

from __future__ import annotations

from juntos_events.consumer import DeadLetter, Subscriptions
from juntos_events.envelope import Envelope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

CREATE = (
    "CREATE TABLE IF NOT EXISTS demo_totals"
    " (familia text PRIMARY KEY, total bigint NOT NULL, events int NOT NULL)"
)


async def create_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(CREATE))


def subscriptions(service: str, poison_n: int | None = None) -> Subscriptions:
    subs = Subscriptions()

    @subs.on(service, "Demo")
    async def add(envelope: Envelope, conn: AsyncConnection) -> None:
        if envelope.data["n"] == poison_n:
            raise ValueError(f"cannot apply n={poison_n}")
        if envelope.data["n"] < 0:
            raise DeadLetter("negative counters are never valid")
        await conn.execute(
            text(
                "INSERT INTO demo_totals VALUES (:f, :n, 1) ON CONFLICT (familia) DO UPDATE"
                " SET total = demo_totals.total + :n, events = demo_totals.events + 1"
            ),
            {"f": envelope.data["familia"], "n": envelope.data["n"]},
        )

    return subs


async def totals(engine: AsyncEngine) -> dict[str, tuple[int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT familia, total, events FROM demo_totals"))
        return {r.familia: (r.total, r.events) for r in rows}
