"""`juntos offer import ruaf`: the operator's command against a real offer (and enrollment)."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from juntos_events.migrate import upgrade
from juntos_testing.serving import juntos, serve
from juntos_web import Role
from juntos_web.testing import closed_port
from offer.main import create_app
from offer.ruaf import COLUMNAS

from .conftest import MIGRATIONS, EnrollmentReal, como, offer_settings, programa_body


@pytest.fixture
async def offer(database_url: str, enrollment: EnrollmentReal) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(
        offer_settings(
            database_url, enrollment_url=enrollment.url, enrollment_token=enrollment.token()
        )
    )


@pytest.fixture
def servidor(offer: FastAPI) -> Iterator[str]:
    yield from serve(offer)


async def test_import_prints_a_summary_and_writes_every_rejected_row(
    offer: FastAPI, servidor: str, tmp_path: Path
) -> None:
    nacional = como(offer, Role.NACIONAL)
    async with httpx.AsyncClient(base_url=servidor) as c:
        r = await c.post("/v1/programas", json=programa_body(), headers=nacional)
        assert r.status_code == 201, r.text
        pid = r.json()["programa_id"]
    archivo = tmp_path / "ruaf.csv"
    archivo.write_text(
        ",".join(COLUMNAS)
        + f"\nCC,1001001,{pid},2026-05-01,150000\nCC,4004001,{pid},2026-05-01,9\nZZ,1,{pid},x,y\n"
    )
    destino = tmp_path / "rechazos.csv"
    token = nacional["Authorization"].removeprefix("Bearer ")
    r = await asyncio.to_thread(
        juntos,
        "offer",
        "import",
        "ruaf",
        str(archivo),
        "--url",
        servidor,
        "--token",
        token,
        "--rechazos",
        str(destino),
    )
    assert r.returncode == 0, r.stderr
    assert "registradas" in r.stdout and "line 3: no JUNTOS member" in r.stdout
    assert "4004001" not in r.stdout
    with destino.open() as f:
        assert [int(x["linea"]) for x in csv.DictReader(f)] == [3, 4]


async def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    archivo = tmp_path / "ruaf.csv"
    archivo.write_text(",".join(COLUMNAS) + "\n")
    otro = await asyncio.to_thread(juntos, "offer", "import", "censo", str(archivo), "--token", "x")
    caido = await asyncio.to_thread(
        juntos,
        "offer",
        "import",
        "ruaf",
        str(archivo),
        "--url",
        f"http://127.0.0.1:{closed_port()}",
        "--token",
        "x",
    )
    for r, texto in ((otro, "unknown import"), (caido, "cannot reach offer")):
        assert r.returncode == 1
        assert texto in r.stderr
        assert "Traceback" not in r.stderr + r.stdout
