"""Every report over the scripted story (events applied as the consumer does): the expected
numbers, as of several dates, as JSON pages and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from juntos_web import Role
from juntos_web.testing import bearer, service_client, settings_for_tests
from reporting.main import create_app
from sqlalchemy.ext.asyncio import AsyncEngine

from . import relato as r
from .conftest import aplicar
from .relato import D1, D2, D3, D4, A, B, C

N = Role.NACIONAL


@pytest.fixture
async def app(db: str, engine: AsyncEngine) -> FastAPI:
    await aplicar(engine, *r.historia())
    return create_app(settings_for_tests("reporting", database_url=db))


@pytest.fixture
async def cliente(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(app) as client:
        client.headers.update(bearer(app, N))
        yield client


async def _items(cliente: httpx.AsyncClient, url: str, **params) -> list[dict]:
    respuesta = await cliente.get(url, params=params)
    assert respuesta.status_code == 200, respuesta.text
    return respuesta.json()["items"]


async def _una(cliente: httpx.AsyncClient, url: str, **params) -> dict:
    items = await _items(cliente, url, **params)
    assert len(items) == 1, items
    return items[0]


def _sin_territorio(fila: dict) -> dict:
    return {k: v for k, v in fila.items() if k not in ("territorio", "nombre")}


async def test_family_indicators_as_of_each_date(cliente: httpx.AsyncClient) -> None:
    url = "/v1/indicadores/familias"
    mitu = await _una(cliente, url, municipio=A, fecha=D4.isoformat())
    assert mitu["territorio"] == A and mitu["nombre"] == "MITÚ"
    assert _sin_territorio(mitu) == {
        "potencial": 3,
        "preseleccionadas": 0,
        "vinculadas": 2,
        "en_acompanamiento": 1,
        "no_vinculadas": 1,
        "promovidas": 1,
        "retiradas": 0,
        "egresadas_por_tiempo": 0,
        "con_linea_base": 2,
        "con_plan": 1,
    }
    vaupes = await _una(cliente, url, departamento="97", fecha=D4.isoformat())
    assert (vaupes["potencial"], vaupes["vinculadas"], vaupes["retiradas"]) == (4, 3, 1)
    # time travel: before the graduation and the withdrawal, before the vinculación, before all
    antes = await _una(cliente, url, municipio=A, fecha=D3.isoformat())
    assert (antes["en_acompanamiento"], antes["promovidas"], antes["con_linea_base"]) == (2, 0, 2)
    en_d2 = await _una(cliente, url, municipio=A, fecha=D2.isoformat())
    assert (en_d2["vinculadas"], en_d2["con_linea_base"], en_d2["con_plan"]) == (2, 1, 1)
    en_d1 = await _una(cliente, url, municipio=A, fecha=D1.isoformat())
    assert (en_d1["potencial"], en_d1["preseleccionadas"], en_d1["vinculadas"]) == (3, 3, 0)
    nada = await _una(cliente, url, municipio=A, fecha="2025-12-31")
    assert nada["potencial"] == 0
    nacion = await _una(cliente, url, fecha=D4.isoformat())
    assert nacion["territorio"] is None and nacion["nombre"] == "COLOMBIA"
    assert nacion["potencial"] == 5


async def test_levels_and_pages(cliente: httpx.AsyncClient) -> None:
    url = "/v1/indicadores/familias"
    por_municipio = await _items(
        cliente, url, departamento="97", nivel="MUNICIPIO", fecha=D4.isoformat()
    )
    assert [f["territorio"] for f in por_municipio][:2] == [A, B]
    assert len(por_municipio) == 6  # every municipality of Vaupés, with zeros
    primera = (await cliente.get(url, params={"nivel": "DEPARTAMENTO", "limite": 20})).json()
    assert (
        len(primera["items"]) == 20 and primera["siguiente"] == primera["items"][-1]["territorio"]
    )
    segunda = (
        await cliente.get(
            url, params={"nivel": "DEPARTAMENTO", "limite": 20, "cursor": primera["siguiente"]}
        )
    ).json()
    assert len(segunda["items"]) == 13 and segunda["siguiente"] is None
    todos = primera["items"] + segunda["items"]
    assert sum(f["potencial"] for f in todos) == 5
    # a level coarser than the filter gives the filter's territory
    assert (await _una(cliente, url, municipio=A, nivel="NACION"))["territorio"] == A


async def test_displaced_and_started_accompaniment(cliente: httpx.AsyncClient) -> None:
    fila = await _una(
        cliente, "/v1/indicadores/desplazadas", departamento="97", fecha=D4.isoformat()
    )
    assert _sin_territorio(fila) == {
        "potencial_desplazadas": 2,
        "potencial_sisben": 2,
        "vinculadas_desplazadas": 2,
        "vinculadas_sisben": 1,
        "en_acompanamiento_desplazadas": 1,
        "en_acompanamiento_sisben": 0,
    }
    respuesta = await cliente.get(
        "/v1/semilla/acompanamiento-iniciado",
        params={"departamento": "97", "fecha": D4.isoformat()},
    )
    cuerpo = respuesta.json()
    assert _sin_territorio(cuerpo["items"][0]) == {"total": 3, "sisben_1": 1, "desplazadas": 2}
    assert cuerpo["cifras_semilla"] == {"total": 1039381, "sisben_1": 855497, "desplazadas": 183884}


async def test_exits_over_time(cliente: httpx.AsyncClient) -> None:
    filas = await _items(
        cliente,
        "/v1/indicadores/salidas",
        departamento="97",
        desde="2026-01-01",
        fecha=D4.isoformat(),
    )
    por_mes = {
        f["mes"]: (f["promovidas"], f["retiradas"], f["egresadas_por_tiempo"]) for f in filas
    }
    assert por_mes == {
        "2026-01": (0, 0, 0),
        "2026-02": (0, 0, 0),
        "2026-03": (0, 1, 0),
        "2026-04": (1, 0, 0),
    }


async def test_lb_indicators(cliente: httpx.AsyncClient) -> None:
    url = "/v1/indicadores/logros"
    lb1 = await _una(cliente, url, municipio=A, logro="LB1", fecha=D4.isoformat())
    assert (lb1["familias"], lb1["alcanzado"], lb1["por_alcanzar"], lb1["pct_alcanzado"]) == (
        2,
        1,
        1,
        50.0,
    )
    assert lb1["dimension"] == "IDENTIFICACION"
    antes = await _una(cliente, url, municipio=A, logro="LB1", fecha=D2.isoformat())
    assert (antes["familias"], antes["por_alcanzar"], antes["pct_por_alcanzar"]) == (1, 1, 100.0)
    lb45 = await _una(cliente, url, municipio=A, logro="LB45", fecha=D4.isoformat())
    assert (lb45["no_aplica"], lb45["alcanzado"]) == (1, 1)
    salud = await _items(cliente, url, municipio=A, dimension="SALUD")
    assert salud and {f["dimension"] for f in salud} == {"SALUD"}
    todos = await _items(cliente, url, municipio=A, limite=1000)
    assert [f["logro"] for f in todos[:3]] == ["LB1", "LB2", "LB3"] and len(todos) == 45

    pendientes = await _items(
        cliente, "/v1/indicadores/logros-pendientes", municipio=A, fecha=D4.isoformat()
    )
    assert {f["pendientes"]: f["familias"] for f in pendientes if f["familias"]} == {0: 1, 3: 1}
    assert len(pendientes) == 46
    solo_lb1 = await _items(
        cliente, "/v1/indicadores/logros-pendientes", municipio=A, logro="LB1", fecha=D3.isoformat()
    )
    assert {f["pendientes"]: f["familias"] for f in solo_lb1} == {0: 1, 1: 1}

    alcanzados = await _items(
        cliente,
        "/v1/indicadores/logros-alcanzados",
        municipio=A,
        desde="2026-02-01",
        fecha=D4.isoformat(),
    )
    assert {f["mes"]: f["logros_alcanzados"] for f in alcanzados} == {
        "2026-02": 0,
        "2026-03": 1,
        "2026-04": 1,
    }


async def test_field_operation(cliente: httpx.AsyncClient) -> None:
    campo = await _una(cliente, "/v1/operacion/campo", municipio=A, fecha=D4.isoformat())
    assert _sin_territorio(campo) == {
        "en_acompanamiento": 1,
        "sin_linea_base": 0,
        "sin_plan": 1,
        "sin_visita_reciente": 1,
        "sesiones_comunitarias": 0,
        "participaciones": 0,
    }
    campo = await _una(cliente, "/v1/operacion/campo", municipio=A, fecha=D4.isoformat(), dias=40)
    assert (campo["sin_visita_reciente"], campo["sesiones_comunitarias"]) == (0, 1)
    assert campo["participaciones"] == 2

    cogestores = await _items(
        cliente, "/v1/operacion/cogestores", municipio=A, fecha=D4.isoformat(), dias=60
    )
    assert cogestores == [
        {
            "cogestor_id": "cg-a",
            "municipios": 1,
            "capacidad": 2,
            "familias_asignadas": 1,
            "en_acompanamiento": 1,
            "ocupacion_pct": 50.0,
            "visitas": 3,
        }
    ]
    en_d2 = await _items(cliente, "/v1/operacion/cogestores", municipio=A, fecha=D2.isoformat())
    assert (en_d2[0]["familias_asignadas"], en_d2[0]["en_acompanamiento"]) == (2, 2)

    visitas = await _items(
        cliente, "/v1/operacion/visitas", municipio=A, desde="2026-01-01", fecha=D4.isoformat()
    )
    assert visitas == [
        {"cogestor_id": "cg-a", "mes": "2026-02", "visitas": 1, "familias_visitadas": 1},
        {"cogestor_id": "cg-a", "mes": "2026-03", "visitas": 2, "familias_visitadas": 2},
    ]
    pagina = (
        await cliente.get(
            "/v1/operacion/visitas", params={"municipio": A, "desde": "2026-01-01", "limite": 1}
        )
    ).json()
    assert pagina["siguiente"] == "cg-a|2026-02"
    resto = await _items(
        cliente,
        "/v1/operacion/visitas",
        municipio=A,
        desde="2026-01-01",
        cursor=pagina["siguiente"],
    )
    assert [f["mes"] for f in resto] == ["2026-03"]


async def test_offer(cliente: httpx.AsyncClient, app: FastAPI) -> None:
    url = "/v1/oferta/cupos"
    lb1 = await _una(cliente, url, municipio=A, logro="LB1", fecha=D4.isoformat())
    assert _sin_territorio(lb1) == {
        "logro": "LB1",
        "dimension": "IDENTIFICACION",
        "cupos_habilitados": 10,
        "cupos_asignados": 1,
        "cupos_libres": 9,
        "demanda": 1,
        "demanda_sin_cupo": 0,
        "servicios_prestados": 1,
    }
    lb3 = await _una(cliente, url, municipio=A, logro="LB3", fecha=D4.isoformat())
    assert (lb3["cupos_habilitados"], lb3["cupos_asignados"], lb3["demanda"]) == (10, 0, 1)
    assert lb3["demanda_sin_cupo"] == 1
    antes = await _una(cliente, url, municipio=A, logro="LB1", fecha=D2.isoformat())
    assert (antes["cupos_asignados"], antes["demanda"], antes["servicios_prestados"]) == (0, 1, 0)
    # an entity sees its own programs' slots; another entity none, and the same demand
    otra = await cliente.get(
        url,
        params={"municipio": A, "logro": "LB1", "fecha": D4.isoformat()},
        headers=bearer(app, Role.ENTIDAD, "ENT2"),
    )
    fila = otra.json()["items"][0]
    assert (fila["cupos_habilitados"], fila["cupos_asignados"], fila["demanda"]) == (0, 0, 1)
    propia = await cliente.get(
        url,
        params={"municipio": A, "logro": "LB1", "fecha": D4.isoformat()},
        headers=bearer(app, Role.ENTIDAD, "ENT1"),
    )
    assert propia.json()["items"][0]["cupos_asignados"] == 1


async def test_tabla_3(cliente: httpx.AsyncClient) -> None:
    filas = await _items(cliente, "/v1/semilla/cogestores-por-departamento", fecha=D4.isoformat())
    assert len(filas) == 33
    por_codigo = {f["departamento"]: f for f in filas}
    assert por_codigo["97"] == {
        "departamento": "97",
        "nombre": "VAUPÉS",
        "cogestores": 2,
        "cifra_semilla": 2,
    }
    assert (por_codigo["99"]["cogestores"], por_codigo["99"]["cifra_semilla"]) == (1, 13)
    assert por_codigo["05"]["cifra_semilla"] == 849 and por_codigo["05"]["cogestores"] == 0
    antes = await _items(cliente, "/v1/semilla/cogestores-por-departamento", fecha="2025-01-01")
    assert sum(f["cogestores"] for f in antes) == 0


async def test_every_table_exports_csv(cliente: httpx.AsyncClient) -> None:
    respuesta = await cliente.get(
        "/v1/indicadores/familias",
        params={"departamento": "97", "nivel": "MUNICIPIO", "fecha": D4.isoformat(), "limite": 2},
        headers={"Accept": "text/csv"},
    )
    assert respuesta.status_code == 200
    assert respuesta.headers["content-type"].startswith("text/csv")
    assert "attachment" in respuesta.headers["content-disposition"]
    filas = list(csv.DictReader(io.StringIO(respuesta.text)))
    assert len(filas) == 6  # the whole table, not a page
    assert filas[0]["territorio"] == A and filas[0]["potencial"] == "3"
    rutas = [
        "/v1/indicadores/familias",
        "/v1/indicadores/desplazadas",
        "/v1/indicadores/salidas",
        "/v1/indicadores/logros",
        "/v1/indicadores/logros-pendientes",
        "/v1/indicadores/logros-alcanzados",
        "/v1/operacion/campo",
        "/v1/operacion/cogestores",
        "/v1/operacion/visitas",
        "/v1/oferta/cupos",
        "/v1/semilla/cogestores-por-departamento",
        "/v1/semilla/acompanamiento-iniciado",
        "/v1/territorial/condiciones",
        "/v1/territorial/planes",
        "/v1/territorial/participacion",
        "/v1/proyecciones",
    ]
    for ruta in rutas:
        respuesta = await cliente.get(ruta, params={"formato": "csv"})
        assert respuesta.status_code == 200, (ruta, respuesta.text)
        assert respuesta.headers["content-type"].startswith("text/csv"), ruta
        cabecera = respuesta.text.splitlines()[0]
        assert "familia_id" not in cabecera, ruta
    json_pedido = await cliente.get("/v1/oferta/cupos", params={"formato": "json", "municipio": C})
    assert json_pedido.headers["content-type"] == "application/json"


async def test_territorial(cliente: httpx.AsyncClient) -> None:
    url = "/v1/territorial/condiciones"
    fila = await _una(cliente, url, municipio=A, fecha=D4.isoformat())
    assert _sin_territorio(fila) == {
        "municipios_con_linea_base": 1,
        "cumple": 19,
        "cumple_parcialmente": 1,
        "no_cumple": 2,
        "pct_cumple": 86.4,
    }
    antes = await _una(cliente, url, municipio=A, fecha=D2.isoformat())
    assert (antes["cumple"], antes["no_cumple"]) == (19, 3)
    cbt1 = await _una(cliente, url, departamento="97", cbt="CBT1", fecha=D4.isoformat())
    assert (cbt1["cumple_parcialmente"], cbt1["municipios_con_linea_base"]) == (1, 1)
    assert (await _una(cliente, url, municipio=B))["municipios_con_linea_base"] == 0

    planes = await _una(cliente, "/v1/territorial/planes", municipio=A, fecha=D4.isoformat())
    assert _sin_territorio(planes) == {
        "municipios_con_plan": 1,
        "acciones": 3,
        "pendientes": 1,
        "en_curso": 1,
        "cumplidas": 1,
        "canceladas": 0,
        "avance_promedio": 46.7,
    }
    en_d3 = await _una(cliente, "/v1/territorial/planes", municipio=A, fecha=D3.isoformat())
    assert (en_d3["cumplidas"], en_d3["en_curso"], en_d3["avance_promedio"]) == (1, 0, 33.3)

    participacion = await _una(
        cliente, "/v1/territorial/participacion", municipio=A, fecha=D4.isoformat()
    )
    assert _sin_territorio(participacion) == {
        "rendiciones_de_cuentas": 1,
        "asistentes": 120,
        "compromisos": 1,
        "espacios_de_participacion": 1,
        "participantes": 35,
        "veedurias_abiertas": 1,
        "veedurias_resueltas": 1,
    }
    en_d2 = await _una(cliente, "/v1/territorial/participacion", municipio=A, fecha=D2.isoformat())
    assert (en_d2["veedurias_abiertas"], en_d2["rendiciones_de_cuentas"]) == (1, 0)


async def test_projections_status(cliente: httpx.AsyncClient) -> None:
    estado = (await cliente.get("/v1/proyecciones")).json()
    assert [e["proyeccion"] for e in estado] == [
        "familias",
        "logros",
        "oferta",
        "operacion",
        "territorial",
    ]
    assert all(e["generacion"] == 1 and e["ultimo_evento"] for e in estado)
    assert B  # Carurú's family was withdrawn (see the exits test)
