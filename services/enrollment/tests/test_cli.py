"""`juntos enrollment import`: the operator's command against a real enrollment server."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from juntos_testing.serving import juntos, serve
from juntos_web import Role
from juntos_web.testing import closed_port

from .conftest import SAMPLES, como


@pytest.fixture
def servidor(app: FastAPI) -> Iterator[str]:
    yield from serve(app)


async def test_import_prints_a_summary_and_writes_every_rejected_row(
    app: FastAPI, servidor: str, tmp_path: Path
) -> None:
    token = como(app, Role.NACIONAL)["Authorization"].removeprefix("Bearer ")
    destino = tmp_path / "rechazos.csv"
    r = await asyncio.to_thread(
        juntos,
        "enrollment",
        "import",
        "sisben",
        str(SAMPLES / "sisben-muestra.csv"),
        "--url",
        servidor,
        "--token",
        token,
        "--rechazos",
        str(destino),
    )
    assert r.returncode == 0, r.stderr
    assert "hogares nuevos" in r.stdout and "TERMINADA" in r.stdout
    assert "rows validated" in r.stdout
    with destino.open() as f:
        filas = list(csv.DictReader(f))
    assert [int(x["linea"]) for x in filas] == [9, 10, 11, 13]


async def test_errors_are_one_line_without_traceback(app: FastAPI, tmp_path: Path) -> None:
    archivo = SAMPLES / "rupd-muestra.csv"
    desconocido = await asyncio.to_thread(
        juntos, "enrollment", "import", "censo", str(archivo), "--token", "x"
    )
    caido = await asyncio.to_thread(
        juntos,
        "enrollment",
        "import",
        "rupd",
        str(archivo),
        "--url",
        f"http://127.0.0.1:{closed_port()}",
        "--token",
        "x",
    )
    for r, texto in ((desconocido, "unknown registry"), (caido, "cannot reach enrollment")):
        assert r.returncode == 1
        assert texto in r.stderr
        assert "Traceback" not in r.stderr + r.stdout
