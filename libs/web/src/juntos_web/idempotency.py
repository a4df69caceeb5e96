"""`Idempotency-Key` on POST: a retried request gets the first answer, not a second effect.

Mobile apps and partner systems retry when a response is lost. The key is scoped to the caller
(`sub`); the request's method, path and body are fingerprinted so a key reused for a different
request is refused. Only successful answers are kept: a refused command (4xx) can be corrected
and retried with the same key. A request whose key is still running gets 409; one that crashed
frees its key after `STALE_AFTER`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response
from juntos_events.schema import idempotency_keys
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from juntos_web.auth import Principal
from juntos_web.problems import Problem

STALE_AFTER = timedelta(minutes=2)
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("etag", "location")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): a retry with the same key replays the answer",
    ),
]


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(await request.body())
    return digest.hexdigest()


async def idempotent(
    request: Request,
    principal: Principal,
    key: str | None,
    produce: Callable[[], Awaitable[Response]],
) -> Response:
    """Run `produce` once per (caller, key); replay its stored answer afterwards."""
    if key is None:
        return await produce()
    engine: AsyncEngine = request.app.state.engine
    fingerprint = await _fingerprint(request)
    where = (idempotency_keys.c.actor == principal.sub) & (idempotency_keys.c.key == key)
    async with engine.begin() as conn:
        claimed = await conn.execute(
            insert(idempotency_keys)
            .values(actor=principal.sub, key=key, fingerprint=fingerprint)
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        if claimed.first() is None:
            row = (
                await conn.execute(
                    select(
                        idempotency_keys,
                        (func.now() - idempotency_keys.c.created_at).label("age"),
                    ).where(where)
                )
            ).one()
            if row.fingerprint != fingerprint:
                raise Problem(
                    422,
                    "this Idempotency-Key was already used for a different request",
                    type="idempotency-key-reused",
                )
            if row.status is not None:
                headers = {**(row.headers or {}), REPLAYED: "true"}
                return JSONResponse(row.body, status_code=row.status, headers=headers)
            if row.age < STALE_AFTER:
                raise Problem(
                    409,
                    "a request with this Idempotency-Key is still running; retry later",
                    type="idempotency-in-progress",
                )
            await conn.execute(update(idempotency_keys).where(where).values(created_at=func.now()))
    try:
        response = await produce()
    except BaseException:
        async with engine.begin() as conn:
            await conn.execute(delete(idempotency_keys).where(where))
        raise
    async with engine.begin() as conn:
        await conn.execute(
            update(idempotency_keys)
            .where(where)
            .values(
                status=response.status_code,
                body=json.loads(bytes(response.body)) if response.body else None,
                headers={k: v for k, v in response.headers.items() if k in KEPT_HEADERS},
            )
        )
    return response
