"""Real PostgreSQL and Kafka for a benchmark run, on free ports in a temporary folder."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from juntos_cli.infra.home import kafka_libs_dir, repo_root
from juntos_cli.infra.kafka import LocalKafka
from juntos_cli.infra.postgres import LocalPostgres


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Servers:
    postgres: LocalPostgres
    kafka: LocalKafka

    def database(self, name: str) -> tuple[str, str]:
        """A fresh database: (SQLAlchemy asyncpg URL, libpq URI for raw asyncpg)."""
        self.postgres.drop_database(name)
        self.postgres.create_database(name)
        return self.postgres.async_url(name), self.postgres.uri(name)

    def checkpoint(self) -> None:
        """Flush dirty pages before a timed phase, so that no side inherits the other's debt."""
        self.postgres.psql("CHECKPOINT")


@contextlib.contextmanager
def running() -> Iterator[Servers]:
    """Durable PostgreSQL settings (fsync on): the figures are what production would see."""
    with tempfile.TemporaryDirectory(prefix="juntos-bench-") as tmp:
        root = Path(tmp)
        postgres = LocalPostgres(root / "postgres", free_port(), fast=False)
        kafka = LocalKafka(root / "kafka", free_port(), free_port(), kafka_libs_dir(), repo_root())
        kafka.ensure_jars()
        postgres.start()
        try:
            kafka.start()
            try:
                yield Servers(postgres, kafka)
            finally:
                kafka.stop()
        finally:
            postgres.stop()


async def empty_topics(bootstrap: str) -> None:
    """Delete every JUNTOS topic and create them again, empty: a bench that reads its topics from
    offset 0 (a rebuild, reporting's live consumer) must not find the events of the benches that
    ran before it in the same process."""
    from aiokafka.admin import AIOKafkaAdminClient
    from juntos_events.topics import PRODUCERS, ensure_topics, topics_for

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics()) & set(topics_for(PRODUCERS))
        if existing:
            await admin.delete_topics(sorted(existing))
        async with asyncio.timeout(60):  # deletion completes in the background
            while set(await admin.list_topics()) & existing:
                await asyncio.sleep(0.2)
    finally:
        await admin.close()
    async with asyncio.timeout(60):
        while True:  # the controller may still refuse the names for a moment
            try:
                await ensure_topics(bootstrap)
                return
            except Exception:  # retried until the timeout says otherwise
                await asyncio.sleep(0.5)
