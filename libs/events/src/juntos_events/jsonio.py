"""JSON decoding at orjson's speed with the stdlib's values.

orjson turns integers beyond 64 bits into floats silently, so text holding a run of 19 or more
digits (which only such integers, or digits inside a string, produce) goes to the stdlib
instead, as does anything orjson refuses. A module of its own so that the event types
(`juntos_events.events`) need not import the database engine to use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def json_loads(text: str | bytes) -> Any:
    """`json.loads`, the same values, at orjson's speed where that gives the same values."""
    long_digits = _LONG_DIGITS if isinstance(text, str) else _LONG_DIGITS_BYTES
    if long_digits.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
