"""The shared command loop on a real database: decide on fresh state, never on unseen data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import pytest
from juntos_events.commands import Aggregate, StaleVersion, given, retrying
from juntos_events.events import DomainEvent
from juntos_events.store import EventStore
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo


def fold(events: Iterable[DomainEvent], state: int = 0) -> int:
    return state + sum(e.n for e in events if isinstance(e, Demo))


def decide(total: int, add: int) -> list[DomainEvent]:
    if total + add > 3:
        raise ValueError("over the limit of 3")
    return [Demo(familia="f1", n=add)] if add else []


@pytest.fixture
def counters(store: EventStore) -> Aggregate[int, int]:
    return Aggregate(
        store=store,
        stream_type="contador",
        fold=fold,
        decide=decide,
        evolve_from=lambda new, state: fold(new, state),
    )


async def test_a_stale_expected_version_is_refused_and_nothing_is_written(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    async with engine.begin() as conn:
        applied = await counters.apply(conn, "f1", given(1), actor="t")
    assert (applied.before, applied.after, applied.version) == (0, 1, 1)
    with pytest.raises(StaleVersion) as stale:
        async with engine.begin() as conn:
            await counters.apply(conn, "f1", given(1), actor="t", expected=0)
    assert stale.value.actual == 1
    async with engine.connect() as conn:
        assert await counters.load(conn, "f1") == (1, 1)


async def test_nothing_decided_appends_nothing_and_skips_the_after_hook(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    called: list[int] = []

    async def after(conn: object, applied: object) -> None:
        called.append(1)

    async with engine.begin() as conn:
        applied = await counters.apply(conn, "f1", given(0), actor="t", after=after)
    assert applied.events == [] and called == []


async def test_concurrent_writers_are_retried_on_fresh_state(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    """Five writers add 1 each to a counter capped at 3: exactly three succeed, none overwrites."""

    async def one() -> object:
        return await retrying(engine, lambda conn: counters.apply(conn, "f1", given(1), actor="t"))

    results: Sequence[object] = await asyncio.gather(
        *(one() for _ in range(5)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, ValueError)]
    assert len(refused) == 2
    async with engine.connect() as conn:
        assert await counters.load(conn, "f1") == (3, 3)


async def test_with_an_expected_version_a_lost_race_is_stale_not_retried(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    async def one() -> object:
        return await retrying(
            engine,
            lambda conn: counters.apply(conn, "f1", given(1), actor="t", expected=0),
            expected=0,
        )

    results = await asyncio.gather(one(), one(), return_exceptions=True)
    assert sum(isinstance(r, StaleVersion) for r in results) == 1
