"""jsonb decoded by orjson where that gives what the stdlib gives, by the stdlib elsewhere."""

from __future__ import annotations

import json

import pytest
from juntos_events.jsonio import json_loads
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

AWKWARD = [
    '{"a": 1, "b": [1.5, -0.0, 1e-7, 12345678901234567], "c": {"d": null, "e": true}}',
    '{"grande": 123456789012345678901234567890}',  # orjson alone gives a float
    '{"negativo": -9223372036854775809}',  # just below int64: orjson alone gives a float
    '{"limite": 18446744073709551615}',
    '{"digitos_en_texto": "0000000000000000000000"}',
    '{"enorme": 1e400}',  # orjson refuses it; the stdlib gives inf
    '{"texto": "ñandú \\u00e9 \\ud83d\\ude00"}',
    "[]",
]


@pytest.mark.parametrize("document", AWKWARD)
def test_json_loads_gives_what_the_stdlib_gives(document: str):
    assert json_loads(document) == json.loads(document)
    assert json_loads(document.encode()) == json.loads(document)


async def test_the_engine_decodes_jsonb_exactly(engine: AsyncEngine):
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    'SELECT \'{"n": 123456789012345678901234567890, "x": 0.1}\'::jsonb AS v, '
                    "'[1, 2]'::json AS w"
                )
            )
        ).one()
    assert row.v == {"n": 123456789012345678901234567890, "x": 0.1}
    assert type(row.v["n"]) is int
    assert row.w == [1, 2]
