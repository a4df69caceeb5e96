"""RUAF imports matched through a REAL enrollment (its own database, served by uvicorn)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.testing import TEST_ENTIDAD, closed_port, service_client
from offer import enrollment as adaptador
from offer import ruaf
from offer.main import create_app
from offer.ruaf import COLUMNAS

from .conftest import (
    MIGRATIONS,
    EnrollmentReal,
    buscar_en_enrollment,
    como,
    entidad,
    eventos,
    offer_settings,
    registrar,
)

DOCUMENTOS = ("1001001", "1001003", "4004001", "1001002", "3003001")


@pytest.fixture
async def offer(database_url: str, enrollment: EnrollmentReal) -> FastAPI:
    await upgrade(database_url, MIGRATIONS)
    return create_app(
        offer_settings(
            database_url, enrollment_url=enrollment.url, enrollment_token=enrollment.token()
        )
    )


@pytest.fixture
async def cliente(offer: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(offer) as c:
        yield c


async def _importar(c: httpx.AsyncClient, app: FastAPI, csv: str, quien: dict) -> httpx.Response:
    return await c.post(
        "/v1/entregas/ruaf", content=csv.encode(), headers={"content-type": "text/csv", **quien}
    )


@pytest.mark.parametrize("pagina", [1000, 2], ids=["one-request", "pages-of-2"])
async def test_ruaf_rows_are_matched_and_every_other_row_reported_by_line(
    cliente: httpx.AsyncClient,
    offer: FastAPI,
    enrollment: EnrollmentReal,
    monkeypatch: pytest.MonkeyPatch,
    pagina: int,
) -> None:
    """Documents go to enrollment's bulk search in pages (of 2 here too: several pages in flight,
    each row still matched to its own answer)."""
    monkeypatch.setattr(adaptador, "LOTE", pagina)
    monkeypatch.setattr(ruaf, "POR_SENTENCIA", pagina)  # the services appended in pages too
    p = (await registrar(cliente, offer, logros=["LB8", "LB21"]))["programa_id"]
    ajeno = (await registrar(cliente, offer, quien="sena"))["programa_id"]
    csv = (
        "tipo_documento,numero_documento,programa_id,fecha,valor\n"
        f"CC,1001001,{p},2026-05-01,150000\n"  # 2: Ana
        f"TI,1001003,{p},2026-05-02,80000\n"  # 3: Sofía (her RC, now a TI)
        f"CC,4004001,{p},2026-05-01,1000\n"  # 4: SISBEN level 3, never enrolled
        f"XX,1001001,{p},2026-05-01,1000\n"  # 5
        f"CC,1001001,{p},2026-13-01,1000\n"  # 6
        f"CC,1001002,{p},2026-05-01,-5\n"  # 7
        f"CC,1001002,{p}\n"  # 8
        f"CC,1001001,{ajeno},2026-05-01,1000\n"  # 9
        f"cc,1001001,{p},2026-05-01,150000\n"  # 10: line 2 again
        f"CC,3003001,{uuid.uuid4()},2026-05-01,1\n"  # 11
    )
    r = await _importar(cliente, offer, csv, entidad(offer))
    assert r.status_code == 200, r.text
    cuerpo = r.json()
    assert cuerpo["resumen"] == {
        "filas": 10,
        "registradas": 2,
        "ya_registradas": 0,
        "no_encontradas": 1,
        "rechazadas": 7,
    }
    motivos = {x["linea"]: x["motivo"] for x in cuerpo["rechazos"]}
    assert motivos == {
        4: "no JUNTOS member with that document (CC)",
        5: "tipo_documento: not a document type (CC, TI, RC, CE, PA, PEP, ...)",
        6: "fecha: not a date (YYYY-MM-DD)",
        7: "valor: whole Colombian pesos, 0 or more",
        8: "expected 5 columns",
        9: "programa_id: a program of another entity",
        10: "duplicate of line 2",
        11: "programa_id: no such program",
    }
    assert not [d for d in DOCUMENTOS for m in motivos.values() if d in m]
    ana = await buscar_en_enrollment(enrollment, "CC", "1001001")
    sofia = await buscar_en_enrollment(enrollment, "RC", "1001003")
    servicios = await eventos(offer, "ServicioPrestado")
    assert sorted((s["familia_id"], s["integrante_id"], s["valor"]) for s in servicios) == sorted(
        [
            (ana["familia_id"], ana["integrante_id"], 150000),
            (sofia["familia_id"], sofia["integrante_id"], 80000),
        ]
    )
    assert {(s["entidad"], s["municipio"], tuple(s["logros"])) for s in servicios} == {
        (TEST_ENTIDAD, "05001", ("LB8", "LB21"))
    }
    # the same file again records nothing new
    otra = (await _importar(cliente, offer, csv, entidad(offer))).json()
    assert (otra["resumen"]["registradas"], otra["resumen"]["ya_registradas"]) == (0, 2)
    assert len(await eventos(offer, "ServicioPrestado")) == 2
    # the import's report, only for whoever made it
    iid = cuerpo["importacion_id"]
    visto = await cliente.get(f"/v1/entregas/ruaf/{iid}", headers=entidad(offer))
    assert visto.status_code == 200 and visto.json()["resumen"] == cuerpo["resumen"]
    pagina = await cliente.get(
        f"/v1/entregas/ruaf/{iid}/rechazos?cursor=8&limite=2", headers=como(offer, Role.NACIONAL)
    )
    assert [x["linea"] for x in pagina.json()] == [9, 10]
    ajena = await cliente.get(f"/v1/entregas/ruaf/{iid}", headers=entidad(offer, "sena"))
    assert ajena.status_code == 404


async def test_a_file_that_cannot_be_read_imports_nothing(cliente, offer) -> None:
    for csv, esperado in (
        ("tipo,numero\nCC,1\n", "missing"),
        ("tipo_documento,numero_documento,programa_id,fecha,valor\n\x00\n", "NUL"),
    ):
        r = await _importar(cliente, offer, csv, entidad(offer))
        assert r.status_code == 422 and esperado in r.json()["detail"], r.text
    latin1 = await cliente.post(
        "/v1/entregas/ruaf",
        content="tipo_documento,numero_documento,programa_id,fecha,valor\nCC,ñ\n".encode("latin-1"),
        headers={"content-type": "text/csv", **entidad(offer)},
    )
    assert latin1.status_code == 422
    json = await cliente.post("/v1/entregas/ruaf", json={}, headers=entidad(offer))
    assert json.status_code == 415


async def test_enrollment_down_means_503_and_nothing_imported(database_url: str) -> None:
    await upgrade(database_url, MIGRATIONS)
    app = create_app(
        offer_settings(database_url, enrollment_url=f"http://127.0.0.1:{closed_port()}")
    )
    async with service_client(app) as c:
        p = (await registrar(c, app))["programa_id"]
        csv = f"{','.join(COLUMNAS)}\nCC,1001001,{p},2026-05-01,5\n"
        r = await _importar(c, app, csv, entidad(app))
        assert r.status_code == 503, r.text
        assert "1001001" not in r.text
        assert await eventos(app, "ServicioPrestado") == []
