"""Demand from accompaniment's boards, against supply; the unmet-demand crossing; gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from juntos_web import Role

from .conftest import como, eventos, familia, habilitar, miembro, plan, publicar, registrar, tablero


async def _demanda(client: httpx.AsyncClient, app: FastAPI, logro: str, m: str = "05001") -> dict:
    r = await client.get(
        f"/v1/municipios/{m}/demanda?logro={logro}", headers=como(app, Role.MUNICIPAL, m)
    )
    assert r.status_code == 200, r.text
    [fila] = r.json()
    return fila


async def _familias(client: httpx.AsyncClient, app: FastAPI, **query: str) -> list[dict]:
    r = await client.get(
        "/v1/municipios/05001/demanda/familias",
        params=query,
        headers=como(app, Role.DEPARTAMENTAL, "05"),
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_the_latest_board_replaces_the_previous_one_and_reaches_remove_demand(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    f = await familia(app, miembro("1985-01-01", parentesco="JEFE"), miembro("2023-05-05"))
    nino = f.id_de(1)
    await tablero(app, f, "2026-02-01", {"LB8": [nino], "LB21": [], "LB1": []})
    assert (await _demanda(client, app, "LB8"))["familias"] == 1
    filas = await _familias(client, app)
    assert [(x["logro"], x["integrantes"], x["pendiente_desde"]) for x in filas] == [
        ("LB1", [], "2026-02-01"),
        ("LB21", [], "2026-02-01"),
        ("LB8", [nino], "2026-02-01"),
    ]
    # a newer board: LB1 reached, LB8 still pending (keeps its date), LB30 new
    await tablero(app, f, "2026-05-01", {"LB8": [nino], "LB30": []}, alcanzados=("LB1",))
    filas = {x["logro"]: x["pendiente_desde"] for x in await _familias(client, app)}
    assert filas == {"LB8": "2026-02-01", "LB30": "2026-05-01"}
    # an older board arriving late changes nothing
    await tablero(app, f, "2026-01-15", {"LB1": [], "LB2": []})
    assert set(x["logro"] for x in await _familias(client, app)) == {"LB8", "LB30"}
    # LogroAlcanzado removes one LB; a board taken before the reach cannot bring it back
    await publicar(
        app,
        "accompaniment",
        "LogroAlcanzado",
        {
            "familia_id": f.familia_id,
            "municipio": "05001",
            "logro": "LB8",
            "fecha": "2026-06-01",
            "evidencia": {"tipo": "VISITA", "referencia": "v-1"},
        },
    )
    assert (await _demanda(client, app, "LB8"))["familias"] == 0
    assert [x["logro"] for x in await _familias(client, app)] == ["LB30"]
    # LogroPerdido: pending again, from that date
    await publicar(
        app,
        "accompaniment",
        "LogroPerdido",
        {"familia_id": f.familia_id, "municipio": "05001", "logro": "LB8", "fecha": "2026-07-01"},
    )
    filas = {x["logro"]: x["pendiente_desde"] for x in await _familias(client, app, logro="LB8")}
    assert filas == {"LB8": "2026-07-01"}


async def test_same_date_boards_are_ordered_by_event_time(client, app) -> None:
    f = await familia(app)
    antes = datetime(2026, 3, 1, 10, tzinfo=UTC)
    await tablero(app, f, "2026-03-01", {"LB5": []}, cuando=antes + timedelta(hours=1))
    await tablero(app, f, "2026-03-01", {"LB6": []}, cuando=antes)  # older, delivered late
    assert [x["logro"] for x in await _familias(client, app)] == ["LB5"]


async def test_plan_priorities_rank_and_an_older_plan_is_ignored(client, app) -> None:
    f = await familia(app)
    await tablero(app, f, "2026-03-01", {"LB5": [], "LB6": []})
    await plan(app, f, 2, ["LB6", "LB5"])
    await plan(app, f, 1, ["LB5"])  # an older version, delivered late
    filas = {x["logro"]: x["prioridad_plan"] for x in await _familias(client, app)}
    assert filas == {"LB6": 1, "LB5": 2}


async def test_unmet_demand_is_published_once_per_crossing(client, app) -> None:
    p = await registrar(client, app, logros=["LB8"], municipios=["05001"])
    await habilitar(client, app, p, 1)
    familias = [await familia(app) for _ in range(6)]
    for f in familias[:3]:
        await tablero(app, f, "2026-03-01", {"LB8": []})
    # 1 family: supply covers it; 2 and 3: above supply, but published once
    cruces = await eventos(app, "DemandaInsatisfecha")
    assert cruces == [{"municipio": "05001", "logro": "LB8", "demanda": 2, "cupos": 1}]
    lb8 = await _demanda(client, app, "LB8")
    assert (lb8["familias"], lb8["cupos"], lb8["insatisfecha"], lb8["cobertura"]) == (
        3,
        1,
        True,
        0.3333,
    )
    await habilitar(client, app, p, 5)  # supply catches up: no event
    assert not (await _demanda(client, app, "LB8"))["insatisfecha"]
    for f in familias[3:]:
        await tablero(app, f, "2026-03-01", {"LB8": []})
    cruces = await eventos(app, "DemandaInsatisfecha")
    assert [c["demanda"] for c in cruces] == [2, 6]
    # an exit lowers demand; a new period replaces the old one's slots in the supply
    await publicar(
        app,
        "enrollment",
        "FamiliaRetirada",
        {"familia_id": familias[0].familia_id, "motivo": "VOLUNTARIO", "fecha": "2026-08-01"},
    )
    await habilitar(client, app, p, 10, periodo="2027")
    lb8 = await _demanda(client, app, "LB8")
    assert (lb8["familias"], lb8["cupos"], lb8["insatisfecha"]) == (5, 10, False)


async def test_gaps_list_lb_without_program_and_families_without_slot(client, app) -> None:
    await registrar(client, app, logros=["LB8"], municipios=["05001"])
    f = await familia(app)
    await tablero(app, f, "2026-03-01", {"LB8": [], "LB30": []})
    r = await client.get(
        "/v1/municipios/05001/brechas?solo_con_demanda=true", headers=como(app, Role.ENTIDAD, "x")
    )
    assert r.status_code == 200, r.text
    assert r.json() == [{"logro": "LB30", "dimension": "HABITABILIDAD", "familias": 1}]
    todas = await client.get("/v1/municipios/05001/brechas", headers=como(app, Role.NACIONAL))
    assert len(todas.json()) == 44  # every LB but LB8
    lb30 = await _demanda(client, app, "LB30")
    assert lb30["sin_programa"] and lb30["familias_sin_cupo"] == 1
    sin_cupo = await _familias(client, app, sin_cupo="true")
    assert {x["logro"] for x in sin_cupo} == {"LB8", "LB30"}
