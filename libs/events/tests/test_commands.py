"""The shared command loop on a real database: decide on fresh state, never on unseen data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

import pytest
from juntos_events.commands import (
    Aggregate,
    Applied,
    StaleVersion,
    Step,
    given,
    retrying,
    together_or_alone,
)
from juntos_events.events import DomainEvent
from juntos_events.store import ConcurrencyConflict, EventStore
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


async def test_apply_many_decides_every_stream_at_once_all_or_nothing(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    def add(amounts: dict[str, int]):
        def decide_all(states: Mapping[str, int]) -> dict[str, list[DomainEvent]]:
            return {s: decide(states[s], amounts[s]) for s in states}

        return decide_all

    seen: list[list[int]] = []

    async def after(conn: object, applied: Sequence[Applied[int]]) -> None:
        seen.append([a.version for a in applied])

    async with engine.begin() as conn:
        await counters.apply(conn, "m2", given(1), actor="t")
    async with engine.begin() as conn:
        applied = await counters.apply_many(
            conn, ["m1", "m2", "m3"], add({"m1": 2, "m2": 1, "m3": 0}), actor="t", after=after
        )
    assert [(a.before, a.after, a.version) for a in applied.values()] == [
        (0, 2, 1),
        (1, 2, 2),
        (0, 0, 0),
    ]
    assert seen == [[1, 2, 0]]
    with pytest.raises(ValueError):  # m2 would go over 3: m1 gets nothing either
        async with engine.begin() as conn:
            await counters.apply_many(conn, ["m1", "m2"], add({"m1": 1, "m2": 2}), actor="t")
    async with engine.connect() as conn:
        assert await counters.load_many(conn, ["m1", "m2", "m3"]) == {
            "m1": (2, 1),
            "m2": (2, 2),
            "m3": (0, 0),
        }


async def test_apply_steps_gives_what_the_steps_give_one_at_a_time(
    engine: AsyncEngine, counters: Aggregate[int, int], store: EventStore
) -> None:
    """Several steps on one stream see each other's events; a refused step adds nothing and
    leaves the others; each event keeps its step's cause; `after` sees each stream once."""
    refused: list[str] = []

    def step(stream_id: str, add: int, cause: str) -> Step[int]:
        def decide_one(total: int) -> list[DomainEvent]:
            try:
                return decide(total, add)
            except ValueError:
                refused.append(cause)
                return []

        return Step(stream_id, decide_one, cause)

    seen: list[list[tuple[int, int, int]]] = []

    async def after(conn: object, applied: Sequence[Applied[int]]) -> None:
        seen.append([(a.before, a.after, a.version) for a in applied])

    async with engine.begin() as conn:
        await counters.apply(conn, "s2", given(2), actor="t")
    steps = [
        step("s1", 1, "e1"),
        step("s2", 1, "e2"),
        step("s1", 2, "e3"),  # sees e1's event: 1 + 2 = 3, allowed
        step("s2", 1, "e4"),  # sees e2's: 3 + 1 over the limit, refused alone
        step("s3", 0, "e5"),  # nothing to do: no stream in the answer
    ]
    async with engine.begin() as conn:
        applied = await counters.apply_steps(conn, steps, actor="t", after=after)
    assert {k: (a.before, a.after, a.version) for k, a in applied.items()} == {
        "s1": (0, 3, 2),
        "s2": (2, 3, 2),
    }
    assert refused == ["e4"] and seen == [[(0, 3, 2), (2, 3, 2)]]
    async with engine.connect() as conn:
        assert await counters.load_many(conn, ["s1", "s2"]) == {"s1": (3, 2), "s2": (3, 2)}
        causes = [
            (r.stream_id, r.version, r.metadata.get("causation_id"))
            for sid in ("s1", "s2")
            for r in (await store.load(conn, sid)).events
        ]
    assert causes == [("s1", 1, "e1"), ("s1", 2, "e3"), ("s2", 1, None), ("s2", 2, "e2")]


async def test_apply_steps_reads_what_changes_with_the_streams_after_them(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    """`loaded` runs once, after the streams' read and before any step decides: a change that
    commits in between moves a stream, and the guarded append refuses the whole run."""
    order: list[str] = []

    async def loaded(conn: object, stream_ids: Sequence[str]) -> None:
        order.append(f"loaded {','.join(stream_ids)}")
        async with engine.begin() as other:  # a writer that wins meanwhile
            await counters.apply(other, "r2", given(1), actor="other")

    def step(stream_id: str) -> Step[int]:
        def decide_one(total: int) -> list[DomainEvent]:
            order.append(f"decide {stream_id}")
            return decide(total, 1)

        return Step(stream_id, decide_one)

    with pytest.raises(ConcurrencyConflict):
        async with engine.begin() as conn:
            await counters.apply_steps(
                conn, [step("r1"), step("r2"), step("r1")], actor="t", loaded=loaded
            )
    assert order == ["loaded r1,r2", "decide r1", "decide r2", "decide r1"]
    async with engine.connect() as conn:
        assert await counters.load_many(conn, ["r1", "r2"]) == {"r1": (0, 0), "r2": (1, 1)}


async def test_concurrent_apply_many_are_retried_on_fresh_state(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    """Four writers add 1 to the same ten counters (cap 3): three succeed on every counter."""

    def plus_one(states: Mapping[str, int]) -> dict[str, list[DomainEvent]]:
        return {s: decide(total, 1) for s, total in states.items()}

    streams = [f"c{i}" for i in range(10)]

    async def one() -> object:
        return await retrying(
            engine, lambda conn: counters.apply_many(conn, streams, plus_one, actor="t")
        )

    results = await asyncio.gather(*(one() for _ in range(4)), return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 1
    async with engine.connect() as conn:
        assert set((await counters.load_many(conn, streams)).values()) == {(3, 3)}


async def test_together_or_alone_batches_single_streams_and_falls_back_in_order(
    engine: AsyncEngine, counters: Aggregate[int, int]
) -> None:
    """Repeated streams and items left out go alone; a lost race voids the batch, all alone."""
    calls: list[object] = []

    async def together(conn, once: Mapping[str, int]) -> dict[int, str]:
        calls.append(dict(once))
        await counters.apply_many(
            conn, list(once), lambda states: {s: decide(states[s], 1) for s in states}, actor="t"
        )
        return {n: f"together {s}" for s, n in once.items() if s != "c"}  # c is left out

    async def alone(n: int) -> str:
        calls.append(n)
        return f"alone {n}"

    streams = ["a", "b", "a", "c"]
    results = await together_or_alone(engine, streams, together, alone)
    assert results == ["alone 0", "together b", "alone 2", "alone 3"]
    assert calls == [{"b": 1, "c": 3}, 0, 2, 3]
    async with engine.connect() as conn:
        assert await counters.load_many(conn, ["a", "b", "c"]) == {
            "a": (0, 0),
            "b": (1, 1),
            "c": (1, 1),
        }

    async def loses_a_race(conn, once: Mapping[str, int]) -> dict[int, str]:
        await together(conn, once)
        raise ConcurrencyConflict("b", 1, 2)

    calls.clear()
    results = await together_or_alone(engine, ["b", "d"], loses_a_race, alone)
    assert results == ["alone 0", "alone 1"]
    async with engine.connect() as conn:  # nothing of the lost transaction was written
        assert await counters.load_many(conn, ["b", "d"]) == {"b": (1, 1), "d": (0, 0)}
