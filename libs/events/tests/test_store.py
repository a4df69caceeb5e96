"""Event store: append and read, optimistic concurrency, snapshots, upcasting, no personal data."""

from __future__ import annotations

import asyncio
import enum
import uuid
from datetime import UTC, date, datetime

import pytest
from juntos_events.events import DomainEvent, EventRegistry, PersonalDataInEvent
from juntos_events.schema import outbox
from juntos_events.store import ConcurrencyConflict, EventStore, Snapshot
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Demo


async def test_append_then_read_returns_events_in_order(engine: AsyncEngine, store: EventStore):
    async with engine.begin() as conn:
        version = await store.append(
            conn,
            "fam-1",
            "Familia",
            0,
            [Demo(familia="fam-1", n=1), Demo(familia="fam-1", n=2)],
            actor="cogestor-7",
        )
    async with engine.begin() as conn:
        version = await store.append(
            conn, "fam-1", "Familia", version, [Demo(familia="fam-1", n=3)], actor="cogestor-7"
        )
        recorded = await store.read(conn, "fam-1")
        backlog = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    assert version == 3
    assert [r.version for r in recorded] == [1, 2, 3]
    assert [r.event.n for r in recorded] == [1, 2, 3]  # type: ignore[attr-defined]
    assert recorded[0].metadata["actor"] == "cogestor-7"
    assert backlog == 3, "every appended event has its outbox row, in the same transaction"


async def test_stale_expected_version_is_a_conflict_and_writes_nothing(
    engine: AsyncEngine, store: EventStore
):
    async with engine.begin() as conn:
        await store.append(conn, "fam-2", "Familia", 0, [Demo(familia="fam-2", n=1)], actor="a")
    for stale in (0, 5):  # behind the stream, and ahead of it
        with pytest.raises(ConcurrencyConflict) as info:
            async with engine.begin() as conn:
                await store.append(
                    conn, "fam-2", "Familia", stale, [Demo(familia="fam-2", n=9)], actor="b"
                )
        assert info.value.actual == 1
    async with engine.begin() as conn:
        assert [r.event.n for r in await store.read(conn, "fam-2")] == [1]  # type: ignore[attr-defined]
        backlog = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    assert backlog == 1, "a refused append leaves no outbox row behind"


async def test_concurrent_appends_with_same_expected_version_exactly_one_wins(
    engine: AsyncEngine, store: EventStore
):
    async with engine.begin() as conn:
        await store.append(conn, "fam-3", "Familia", 0, [Demo(familia="fam-3", n=0)], actor="a")
    start = asyncio.Event()

    async def writer(n: int) -> str:
        async with engine.connect() as conn:
            await conn.begin()
            await start.wait()
            try:
                await store.append(
                    conn, "fam-3", "Familia", 1, [Demo(familia="fam-3", n=n)], actor=f"w{n}"
                )
                await conn.commit()
                return "won"
            except ConcurrencyConflict:
                await conn.rollback()
                return "conflict"

    tasks = [asyncio.create_task(writer(n)) for n in range(1, 9)]
    await asyncio.sleep(0.1)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == 7
    async with engine.begin() as conn:
        assert [r.version for r in await store.read(conn, "fam-3")] == [1, 2]


async def test_snapshot_then_load_reads_only_later_events(engine: AsyncEngine, store: EventStore):
    async with engine.begin() as conn:
        v = await store.append(
            conn, "fam-4", "Familia", 0, [Demo(familia="fam-4", n=i) for i in range(5)], actor="a"
        )
        await store.save_snapshot(conn, "fam-4", v, {"total": 10})
        await store.save_snapshot(conn, "fam-4", 2, {"total": 1})  # older: must not win
        await store.append(conn, "fam-4", "Familia", v, [Demo(familia="fam-4", n=5)], actor="a")
        stream = await store.load(conn, "fam-4")
    assert stream.snapshot is not None
    assert (stream.snapshot.version, stream.snapshot.state) == (5, {"total": 10})
    assert [r.version for r in stream.events] == [6]
    assert stream.version == 6


async def test_old_versions_are_upcast_when_read(engine: AsyncEngine):
    v1 = EventRegistry("upcast")

    @v1.register("Medida", version=1)
    class MedidaV1(DomainEvent):
        peso_gramos: int

    async with engine.begin() as conn:
        await EventStore(v1).append(
            conn, "m-1", "Medida", 0, [MedidaV1(peso_gramos=3500)], actor="a"
        )

    v2 = EventRegistry("upcast")
    v2.register("Medida", version=1)(MedidaV1)

    @v2.register("Medida", version=2)
    class MedidaV2(DomainEvent):
        peso_kg: float

    @v2.upcaster("Medida", from_version=1)
    def grams_to_kg(data: dict) -> dict:
        return {"peso_kg": data["peso_gramos"] / 1000}

    async with engine.begin() as conn:
        [recorded] = await EventStore(v2).read(conn, "m-1")
    assert recorded.event == MedidaV2(peso_kg=3.5)


def test_event_with_personal_data_field_is_refused_at_registration():
    registry = EventRegistry("enrollment")
    with pytest.raises(PersonalDataInEvent, match="numero_documento"):

        @registry.register("IntegranteRegistrado")
        class Leaky(DomainEvent):
            integrante: str
            numero_documento: str


def test_events_reject_unknown_fields():
    with pytest.raises(ValidationError):
        Demo(familia="f", n=1, nombre="Ana")  # type: ignore[call-arg]


async def test_start_streams_creates_many_streams_at_once_or_none(
    engine: AsyncEngine, store: EventStore
) -> None:
    class Secreto(DomainEvent):
        familia: str

    store.registry.register("Secreto", private=True)(Secreto)
    streams = [
        (f"fam-{i}", [Demo(familia=f"fam-{i}", n=1), Secreto(familia=f"fam-{i}")]) for i in range(3)
    ]
    async with engine.begin() as conn:
        await store.start_streams(conn, "Familia", streams, actor="import")
    async with engine.connect() as conn:
        for i in range(3):
            read = await store.read(conn, f"fam-{i}")
            assert [(r.version, r.event.event_type) for r in read] == [(1, "Demo"), (2, "Secreto")]
        assert (await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 3
    again = [("fam-new", [Demo(familia="fam-new", n=1)]), ("fam-1", [Demo(familia="fam-1", n=2)])]
    with pytest.raises(ConcurrencyConflict):
        async with engine.begin() as conn:
            await store.start_streams(conn, "Familia", again, actor="import")
    async with engine.connect() as conn:
        assert await store.version(conn, "fam-new") == 0


async def test_append_many_writes_every_stream_at_its_version_or_none(
    engine: AsyncEngine, store: EventStore
) -> None:
    async with engine.begin() as conn:
        await store.append(conn, "lot-a", "Familia", 0, [Demo(familia="a", n=1)], actor="t")
    async with engine.begin() as conn:
        versions = await store.append_many(
            conn,
            "Familia",
            [
                ("lot-b", 0, [Demo(familia="b", n=1), Demo(familia="b", n=2)]),
                ("lot-a", 1, [Demo(familia="a", n=2)]),
                ("lot-c", 0, []),  # nothing to write: not a stream afterwards
            ],
            actor="t",
        )
    assert versions == {"lot-a": 2, "lot-b": 2}
    with pytest.raises(ConcurrencyConflict) as info:
        async with engine.begin() as conn:
            await store.append_many(
                conn,
                "Familia",
                [("lot-d", 0, [Demo(familia="d", n=1)]), ("lot-a", 1, [Demo(familia="a", n=9)])],
                actor="t",
            )
    assert (info.value.stream_id, info.value.expected, info.value.actual) == ("lot-a", 1, 2)
    async with engine.connect() as conn:
        streams = await store.load_many(conn, ["lot-a", "lot-b", "lot-c", "lot-d"])
        backlog = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    assert {s: [r.event.n for r in v.events] for s, v in streams.items()} == {  # type: ignore[attr-defined]
        "lot-a": [1, 2],
        "lot-b": [1, 2],
        "lot-c": [],
        "lot-d": [],
    }, "the stale stream voided the whole append, the new stream included"
    assert [streams[s].version for s in ("lot-a", "lot-b", "lot-c", "lot-d")] == [2, 2, 0, 0]
    assert backlog == 4


async def test_append_many_records_each_events_own_cause(
    engine: AsyncEngine, store: EventStore
) -> None:
    """A consumer's run appends what several events caused in one call: each keeps its cause."""
    async with engine.begin() as conn:
        await store.append_many(
            conn,
            "Familia",
            [
                ("cau-a", 0, [Demo(familia="a", n=1), Demo(familia="a", n=2)]),
                ("cau-b", 0, [Demo(familia="b", n=1)]),
            ],
            actor="sistema:enrollment",
            causation_id="todos",
            causation_ids={"cau-a": ["evento-1", "evento-2"]},
        )
        with pytest.raises(ValueError, match="1 causes for 2 events"):
            await store.append_many(
                conn,
                "Familia",
                [("cau-c", 0, [Demo(familia="c", n=1), Demo(familia="c", n=2)])],
                actor="t",
                causation_ids={"cau-c": ["solo-uno"]},
            )
    async with engine.connect() as conn:
        leidos = {s: await store.read(conn, s) for s in ("cau-a", "cau-b")}
    assert {s: [r.metadata.get("causation_id") for r in rs] for s, rs in leidos.items()} == {
        "cau-a": ["evento-1", "evento-2"],
        "cau-b": ["todos"],
    }
    assert {r.metadata["actor"] for rs in leidos.values() for r in rs} == {"sistema:enrollment"}


async def test_concurrent_append_many_over_the_same_streams_exactly_one_wins(
    engine: AsyncEngine, store: EventStore
) -> None:
    async def one(n: int) -> object:
        async with engine.begin() as conn:
            return await store.append_many(
                conn,
                "Familia",
                [(f"par-{i}", 0, [Demo(familia=f"par-{i}", n=n)]) for i in range(20)],
                actor="t",
            )

    results = await asyncio.gather(one(1), one(2), return_exceptions=True)
    assert sum(isinstance(r, ConcurrencyConflict) for r in results) == 1
    async with engine.connect() as conn:
        streams = await store.load_many(conn, [f"par-{i}" for i in range(20)])
    assert len({tuple(r.event.n for r in s.events) for s in streams.values()}) == 1  # type: ignore[attr-defined]
    assert all(s.version == 1 for s in streams.values())


async def test_load_many_starts_each_stream_after_its_snapshot(
    engine: AsyncEngine, store: EventStore
) -> None:
    async with engine.begin() as conn:
        await store.append_many(
            conn,
            "Familia",
            [(f"snap-{i}", 0, [Demo(familia="s", n=k) for k in range(1, 4)]) for i in (1, 2)],
            actor="t",
        )
        await store.save_snapshot(conn, "snap-1", 2, {"total": 3})
        await store.save_snapshot(conn, "snap-3", 7, {"total": 0})  # only a snapshot
    async with engine.connect() as conn:
        streams = await store.load_many(conn, ["snap-1", "snap-2", "snap-3"])
        assert await store.load(conn, "snap-1") == streams["snap-1"]
    assert [r.version for r in streams["snap-1"].events] == [3]
    assert streams["snap-1"].snapshot == Snapshot(2, {"total": 3})
    assert [r.version for r in streams["snap-2"].events] == [1, 2, 3]
    assert (streams["snap-3"].version, streams["snap-3"].events) == (7, [])


async def test_events_read_back_equal_to_what_was_appended(engine: AsyncEngine):
    """Stored data is parsed by the event's model from the text (`load_json`): every kind of
    field comes back as it was appended, integers beyond 64 bits included."""
    registry = EventRegistry("tipos")

    class Estado(enum.StrEnum):
        ABIERTO = "ABIERTO"

    class Parte(BaseModel):
        model_config = ConfigDict(frozen=True)
        cuando: datetime
        cuanto: float

    @registry.register("Rico")
    class Rico(DomainEvent):
        grande: int
        estado: Estado
        id: uuid.UUID
        partes: tuple[Parte, ...]
        dia: date
        nada: str | None = None
        mapa: dict[str, int]

    appended = Rico(
        grande=10**30,
        estado=Estado.ABIERTO,
        id=uuid.uuid4(),
        partes=(Parte(cuando=datetime(2026, 12, 4, 17, 0, tzinfo=UTC), cuanto=0.1),),
        dia=date(2026, 12, 4),
        mapa={"x": -(2**70)},
    )
    async with engine.begin() as conn:
        await EventStore(registry).append(conn, "r-1", "Rico", 0, [appended], actor="a")
        [read] = await EventStore(registry).read(conn, "r-1")
        [loaded] = (await EventStore(registry).load(conn, "r-1")).events
    assert read.event == appended
    assert loaded.event == appended
    assert read.metadata["actor"] == "a"


async def test_event_ids_are_time_ordered_so_their_indexes_grow_at_one_edge(
    engine: AsyncEngine, store: EventStore
):
    """UUIDv7: in the order events were stored, their ids (and their text, the CloudEvent id
    that inboxes and reporting's `aplicado` key on) only grow; a uuid4 would scatter them."""
    for i in range(30):
        async with engine.begin() as conn:
            events = [Demo(familia=f"fam-o{i}", n=n) for n in (1, 2, 3)]
            await store.append(conn, f"fam-o{i}", "Familia", 0, events, actor="a")
        await asyncio.sleep(0.002)  # over a millisecond apart: v7's timestamp moves
    async with engine.begin() as conn:
        rows = (
            await conn.exec_driver_sql(
                "SELECT event_id FROM events WHERE stream_id LIKE 'fam-o%' ORDER BY global_position"
            )
        ).all()
    ids = [r[0] for r in rows]
    assert len(ids) == 90 and all(i.version == 7 for i in ids)
    assert ids == sorted(ids) and [str(i) for i in ids] == sorted(str(i) for i in ids)
