"""The one way a service opens its database: an async engine whose jsonb decoding is orjson's.

Reading event streams decodes every stored event; the stdlib's `json.loads` was 6 % of
accompaniment's CPU at 100,000 families (bench/README.md). `json_loads` gives the stdlib's
values wherever orjson would not (integers beyond 64 bits, anything orjson refuses).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from juntos_events.jsonio import json_loads


def async_engine(url: str, **options: Any) -> AsyncEngine:
    """`create_async_engine` with jsonb decoded by `json_loads`."""
    return create_async_engine(url, json_deserializer=json_loads, **options)
