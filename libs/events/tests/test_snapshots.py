"""Snapshots on a real database: a long stream loads from its last snapshot plus the events after
it; a snapshot of another shape, or of an aggregate without snapshots, is never trusted."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from juntos_events.commands import Aggregate, Snapshots, Step, given
from juntos_events.events import DomainEvent
from juntos_events.store import EventStore
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo


def fold(events: Iterable[DomainEvent], state: int = 0) -> int:
    return state + sum(e.n for e in events if isinstance(e, Demo))


def contador(store: EventStore, schema: str | None = "total/1", every: int = 2) -> Aggregate:
    return Aggregate(
        store=store,
        stream_type="contador",
        fold=fold,
        decide=lambda total, add: [Demo(familia="f", n=add)] if add else [],
        evolve_from=lambda new, state: fold(new, state),
        snapshots=None
        if schema is None
        else Snapshots(schema, lambda s: {"total": s}, lambda d: d["total"], every),
    )


async def tomadas(engine: AsyncEngine) -> dict[str, tuple[int, dict]]:
    async with engine.connect() as conn:
        filas = await conn.execute(text("SELECT stream_id, version, state FROM snapshots"))
        return {f.stream_id: (f.version, f.state) for f in filas}


async def falsear(engine: AsyncEngine, stream_id: str, total: int) -> None:
    """Change a snapshot's state behind the store's back: what loads it shows it was read."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE snapshots SET state = jsonb_set(state, '{state,total}',"
                " to_jsonb(CAST(:t AS int))) WHERE stream_id = :s"
            ),
            {"t": total, "s": stream_id},
        )


async def test_a_snapshot_is_taken_every_n_events_and_loading_starts_from_it(
    engine: AsyncEngine, store: EventStore
) -> None:
    agregado = contador(store, every=2)
    for n in (1, 2, 3):
        async with engine.begin() as conn:
            await agregado.apply(conn, "c1", given(n), actor="t")
    # versions 1, 2, 3: a snapshot at 2 (2 events past none), not yet at 3 (1 past it)
    assert await tomadas(engine) == {"c1": (2, {"schema": "total/1", "state": {"total": 3}})}
    async with engine.connect() as conn:
        assert await agregado.load(conn, "c1") == (6, 3)
    await falsear(engine, "c1", 100)
    async with engine.connect() as conn:
        assert await agregado.load(conn, "c1") == (103, 3)  # the snapshot, then event 3
        ((_, leido),) = (await agregado.load_streams(conn, ["c1"])).values()
    assert [r.version for r in leido.events] == [3] and leido.snapshot is not None


@pytest.mark.parametrize("schema", ["total/2", None])
async def test_a_snapshot_of_another_shape_or_without_a_policy_is_ignored(
    engine: AsyncEngine, store: EventStore, schema: str | None
) -> None:
    async with engine.begin() as conn:
        await contador(store, every=1).apply(conn, "c2", given(5), actor="t")
    await falsear(engine, "c2", 100)
    otro = contador(store, schema=schema, every=1)
    async with engine.connect() as conn:
        assert await otro.load(conn, "c2") == (5, 1)  # every event read again
    async with engine.begin() as conn:
        await otro.apply(conn, "c2", given(1), actor="t")
    esperado = {} if schema is None else {"c2": (2, {"schema": "total/2", "state": {"total": 6}})}
    assert {k: v for k, v in (await tomadas(engine)).items() if v[1]["schema"] != "total/1"} == (
        esperado
    )


async def test_bulk_commands_snapshot_the_streams_that_grew_enough(
    engine: AsyncEngine, store: EventStore
) -> None:
    agregado = contador(store, every=3)
    pasos = [Step(s, lambda total: [Demo(familia="f", n=1)]) for s in ["a", "b", "a", "a", "b"]]
    async with engine.begin() as conn:
        aplicados = await agregado.apply_steps(conn, pasos, actor="t")
    assert {k: a.version for k, a in aplicados.items()} == {"a": 3, "b": 2}
    assert await tomadas(engine) == {"a": (3, {"schema": "total/1", "state": {"total": 3}})}
    async with engine.begin() as conn:
        await agregado.apply_many(
            conn,
            ["a", "b"],
            lambda estados: {s: [Demo(familia="f", n=1)] for s in estados},
            actor="t",
        )
    assert await tomadas(engine) == {
        "a": (3, {"schema": "total/1", "state": {"total": 3}}),  # one past its snapshot
        "b": (3, {"schema": "total/1", "state": {"total": 3}}),
    }
    async with engine.connect() as conn:
        assert await agregado.load_many(conn, ["a", "b"]) == {"a": (4, 4), "b": (3, 3)}
