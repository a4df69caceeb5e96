"""The events every benchmark uses: small, pseudonymous, like the program's real events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from juntos_events.events import DomainEvent, EventRegistry
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

CONCURRENCY = 8
T = TypeVar("T")


class LogroEvaluado(DomainEvent):
    familia: str
    logro: str
    estado: str
    municipio: str
    n: int


def registry(service: str) -> EventRegistry:
    events = EventRegistry(service)
    events.register("LogroEvaluado")(LogroEvaluado)
    return events


def event(i: int) -> LogroEvaluado:
    return LogroEvaluado(
        familia=f"fam-{i % 50_000}",
        logro=f"LB{i % 45 + 1}",
        estado="POR_ALCANZAR" if i % 3 else "ALCANZADO",
        municipio=f"{5001 + i % 1100:05d}",
        n=i,
    )


def progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


async def in_parallel(
    label: str, items: Sequence[T], work: Callable[[T], Awaitable[Any]], workers: int = CONCURRENCY
) -> None:
    """Run `work` over `items` with `workers` concurrent tasks, each taking every n-th item."""
    with progress() as bar:
        task = bar.add_task(label, total=len(items))

        async def worker(k: int) -> None:
            for item in items[k::workers]:
                await work(item)
                bar.advance(task)

        await asyncio.gather(*(worker(k) for k in range(workers)))
