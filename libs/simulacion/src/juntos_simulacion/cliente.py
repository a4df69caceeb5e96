"""The one HTTP client of `simulate run`: timed requests, bounded concurrency, narrow retries.

Retries only what the design calls transient: a connection that failed and 503 (a dependency
unreachable, e.g. offer's RUAF import without enrollment). A lost optimistic-concurrency race is
retried by the services themselves on fresh state (`juntos_events.commands.retrying`), so a 409
that reaches the client is a business refusal: it is counted as an error, never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx

from juntos_simulacion.medidas import Medida

T = TypeVar("T")
INTENTOS = 5
TRANSITORIOS = {503}


class Rechazo(Exception):
    """A response other than the expected ones (already counted in the stage's errors)."""

    def __init__(self, respuesta: httpx.Response) -> None:
        super().__init__(f"{respuesta.status_code} {respuesta.request.url.path}")
        self.respuesta = respuesta


KEEPALIVE_S = 1.0
"""Idle connections are dropped well before uvicorn closes them (after 5 s): reusing one that
the server is closing fails with "Server disconnected"."""


class Cliente:
    """One connection pool per run; every request is timed into the current stage."""

    def __init__(self, concurrencia: int) -> None:
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(120, connect=10),
            limits=httpx.Limits(
                max_connections=concurrencia * 2,
                max_keepalive_connections=concurrencia * 2,
                keepalive_expiry=KEEPALIVE_S,
            ),
        )
        self.medida: Medida | None = None

    async def cerrar(self) -> None:
        await self.http.aclose()

    async def pedir(
        self,
        metodo: str,
        url: str,
        token: str,
        *,
        esperado: Iterable[int] = (200, 201),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, timed; transient failures retried with backoff; Rechazo otherwise."""
        cabeceras = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        for intento in range(INTENTOS):
            inicio = time.perf_counter()
            try:
                r = await self.http.request(metodo, url, headers=cabeceras, **kwargs)
            except httpx.TransportError as exc:
                self._anotar(inicio, type(exc).__name__)
                if intento == INTENTOS - 1:
                    raise
            else:
                self._anotar(inicio, r.status_code)
                if r.status_code in esperado:
                    return r
                if r.status_code not in TRANSITORIOS or intento == INTENTOS - 1:
                    if self.medida is not None:
                        self.medida.error(
                            f"{metodo} {r.request.url.path}: {r.status_code} {r.text}"
                        )
                    raise Rechazo(r)
            await asyncio.sleep(0.2 * 2**intento)
        raise AssertionError("unreachable")  # pragma: no cover

    def _anotar(self, inicio: float, estado: int | str) -> None:
        if self.medida is not None:
            self.medida.anotar(time.perf_counter() - inicio, estado)


async def en_paralelo(
    items: Iterable[T] | AsyncIterator[T],
    trabajo: Callable[[T], Awaitable[None]],
    concurrencia: int,
) -> int:
    """Run `trabajo` over `items` with at most `concurrencia` at once; returns how many ran.

    A pool of workers pulling from one iterator (not a task per item), so memory does not grow
    with the population. A Rechazo is already recorded: the item is skipped, the others go on.
    """
    iterador = items.__aiter__() if hasattr(items, "__aiter__") else _asincrono(items)
    hechos = 0
    candado = asyncio.Lock()

    async def siguiente() -> tuple[bool, T | None]:
        async with candado:
            try:
                return True, await anext(iterador)
            except StopAsyncIteration:
                return False, None

    async def obrero() -> None:
        nonlocal hechos
        while True:
            hay, item = await siguiente()
            if not hay:
                return
            with contextlib.suppress(Rechazo):
                await trabajo(item)  # type: ignore[arg-type]
            hechos += 1

    await asyncio.gather(*(obrero() for _ in range(concurrencia)))
    return hechos


async def _asincrono(items: Iterable[T]) -> AsyncIterator[T]:
    for item in items:
        yield item
