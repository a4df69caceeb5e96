"""The consumer loop: validate each record, hand valid events over, set invalid ones aside.

Offsets are committed only after a record was handled (or set aside, or skipped as a type we do
not follow), so a crash or a failing handler means redelivery, never a lost event: the handler
must be idempotent, and `Event.id` is the key to deduplicate on. A record that breaks the
contract does not stop the consumer: it goes to `set_aside` with the reason, and the consumer
moves on (fix the contracts or ask JUNTOS, then replay it from the set-aside file).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from partner_consumer.contracts import Contracts
from partner_consumer.validation import Event, Rejected, Validator

log = logging.getLogger("partner_consumer")

FOLLOWED = ("CupoAsignado", "LogroAlcanzado")


@dataclass(frozen=True)
class SetAside:
    """A record that broke the contract, with everything needed to look at it or replay it."""

    topic: str
    partition: int
    offset: int
    key: str | None
    reason: str
    headers: dict[str, str]
    value_base64: str


Handler = Callable[[Event], Awaitable[None]]
SetAsideHandler = Callable[[SetAside], Awaitable[None]]


def set_aside_to_file(path: Path) -> SetAsideHandler:
    """Append each rejected record to a JSON-lines file (the default quarantine)."""

    async def write(record: SetAside) -> None:
        line = json.dumps(asdict(record), ensure_ascii=False) + "\n"
        await asyncio.to_thread(_append, path, line)

    return write


def _append(path: Path, line: str) -> None:
    with path.open("a") as f:
        f.write(line)


class PartnerConsumer:
    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        contracts: Contracts,
        handle: Handler,
        set_aside: SetAsideHandler,
        follow: Iterable[str] = FOLLOWED,
    ) -> None:
        ce_types = contracts.ce_types(follow)
        self.topics = sorted({contracts.topics[t] for t in ce_types})
        self.validator = Validator(contracts, ce_types)
        self.handle = handle
        self.set_aside = set_aside
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,  # we commit after handling
            auto_offset_reset="earliest",  # topics keep everything: a new partner gets history
        )
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Consume until `stop()`; a failing handler stops it, after committing what was done."""
        await self._consumer.start()
        try:
            while not self._stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
                for tp, records in batches.items():
                    await self._process(tp, records)
        finally:
            await self._consumer.stop()

    async def _process(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        done: int | None = None
        try:
            for record in records:
                await self._one(record)
                done = record.offset + 1
        finally:
            if done is not None:
                await self._consumer.commit({tp: done})

    async def _one(self, record: ConsumerRecord) -> None:
        headers = list(record.headers or ())
        try:
            event = self.validator.check(headers, record.key, record.value or b"")
        except Rejected as why:
            log.warning(
                "set aside topic=%s partition=%d offset=%d reason=%s",
                record.topic,
                record.partition,
                record.offset,
                why,
            )
            await self.set_aside(_set_aside(record, headers, str(why)))
            return
        if event is not None:
            await self.handle(event)


def _set_aside(record: ConsumerRecord, headers: list[tuple[str, bytes]], reason: str) -> SetAside:
    return SetAside(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode(errors="replace") if record.key else None,
        reason=reason,
        headers={name: value.decode(errors="replace") for name, value in headers},
        value_base64=base64.b64encode(record.value or b"").decode(),
    )
