"""The generated registries go through the real importer (`juntos enrollment import`, real
PostgreSQL) with exactly the planted rows rejected and the planted duplicates recognised."""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from enrollment.main import create_app
from fastapi import FastAPI
from juntos_events.migrate import upgrade
from juntos_simulacion.generador import Parametros, generar, leer_ndjson
from juntos_testing.serving import juntos, serve
from juntos_web import Role
from juntos_web.testing import bearer, settings_for_tests

MIGRATIONS = Path(str(files("enrollment") / "migrations" / "versions"))
PLANTADOS = {"fila_invalida", "fila_malformada", "persona_repetida", "persona_en_dos_hogares"}


@pytest.fixture
async def app(database_url: str) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(settings_for_tests("enrollment", database_url=database_url))


@pytest.fixture
def servidor(app: FastAPI) -> Iterator[str]:
    yield from serve(app)


def _resumen(salida: str) -> dict[str, int]:
    """The summary table `juntos enrollment import` prints."""
    filas = re.findall(r"│ ([a-z ]+?) +│ +([\d,]+) │", salida)
    return {k.replace(" ", "_"): int(v.replace(",", "")) for k, v in filas}


async def _familias(url: str, token: str) -> list[dict[str, Any]]:
    todas: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, headers=token_header(token)) as client:
        cursor = None
        while True:
            params = {"limite": 500, **({"cursor": cursor} if cursor else {})}
            pagina = (await client.get("/v1/familias", params=params)).json()
            todas += pagina["items"]
            if not pagina.get("siguiente"):
                return todas
            cursor = pagina["siguiente"]


def token_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_registries_import_with_exactly_the_planted_rows_rejected(
    app: FastAPI, servidor: str, tmp_path: Path
) -> None:
    p = Parametros(familias=300, semilla=4, p_malas=0.1, p_duplicados=0.1, p_ambos_registros=0.4)
    manifiesto = generar(p, tmp_path / "poblacion")
    assert set(manifiesto["plantados"]) == PLANTADOS
    plantados: dict[str, dict[int, dict[str, Any]]] = {"sisben.csv": {}, "rupd.csv": {}}
    for x in leer_ndjson(tmp_path / "poblacion" / "plantados.ndjson"):
        plantados.get(x["archivo"], {})[x["linea"]] = x
    token = bearer(app, Role.NACIONAL)["Authorization"].removeprefix("Bearer ")
    for archivo in manifiesto["importar_en_orden"]:
        rechazos = tmp_path / f"rechazos-{archivo}"
        r = await asyncio.to_thread(
            juntos,
            "enrollment",
            "import",
            manifiesto["archivos"][archivo]["registro"].lower(),
            str(tmp_path / "poblacion" / archivo),
            "--url",
            servidor,
            "--token",
            token,
            "--rechazos",
            str(rechazos),
        )
        assert r.returncode == 0, r.stderr
        assert _resumen(r.stdout) == manifiesto["archivos"][archivo]["esperado"], archivo
        with rechazos.open() as f:
            rechazadas = {int(x["linea"]): x["motivo"] for x in csv.DictReader(f)}
        assert set(rechazadas) == set(plantados[archivo]), archivo
        for linea, motivo in rechazadas.items():
            assert plantados[archivo][linea]["motivo"] in motivo, (archivo, linea, motivo)
    familias = await _familias(servidor, token)
    pob = manifiesto["poblacion"]
    assert len(familias) == pob["familias"]
    assert sum(f["desplazada"] for f in familias) == pob["desplazadas"]
    # a family in both registries is one family, with both registries
    assert sum(f["registros"] == ["RUPD", "SISBEN"] for f in familias) == pob["en_ambos_registros"]
    assert sum(f["integrantes"] for f in familias) == pob["personas"]
