"""The one way a service opens its database: an async engine whose jsonb decoding is orjson's.

Reading event streams decodes every stored event; the stdlib's `json.loads` was 6 % of
accompaniment's CPU at 100,000 families (bench/README.md). orjson turns integers beyond 64 bits
into floats silently, so text holding a run of 19 or more digits (which only such integers, or
digits inside a string, produce) goes to the stdlib instead, as does anything orjson refuses.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_LONG_DIGITS = re.compile(r"\d{19}")


def json_loads(text: str | bytes) -> Any:
    """`json.loads`, the same values, at orjson's speed where that gives the same values."""
    if _LONG_DIGITS.search(text if isinstance(text, str) else text.decode()) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def async_engine(url: str, **options: Any) -> AsyncEngine:
    """`create_async_engine` with jsonb decoded by `json_loads`."""
    return create_async_engine(url, json_deserializer=json_loads, **options)
