"""Preferential slots: capacity under concurrency, eligibility, the explained batch, exits."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from juntos_web import Role

from .conftest import (
    Familia,
    como,
    entidad,
    eventos,
    familia,
    habilitar,
    miembro,
    plan,
    publicar,
    registrar,
    tablero,
)


def _url(p: dict, m: str = "05001", periodo: str = "2026") -> str:
    return f"/v1/programas/{p['programa_id']}/cupos/{m}/{periodo}"


async def _con_nino(app: FastAPI, desde: str = "2026-03-01", **kw) -> Familia:
    f = await familia(app, miembro("1985-01-01", parentesco="JEFE"), miembro("2024-02-02"), **kw)
    await tablero(app, f, desde, {"LB8": [f.id_de(1)]})
    return f


async def _asignar(client, app, p: dict, f: Familia, i: int | None = 1, **kw) -> httpx.Response:
    cuerpo = {"familia_id": f.familia_id, "fecha": "2026-09-01", **kw}
    if i is not None:
        cuerpo["integrante_id"] = f.id_de(i)
    return await client.post(
        _url(p) + "/asignaciones", json=cuerpo, headers=como(app, Role.MUNICIPAL, "05001")
    )


async def test_the_last_slot_goes_to_exactly_one_of_concurrent_requests(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    p = await registrar(client, app)
    await habilitar(client, app, p, 1)
    a, b = await _con_nino(app), await _con_nino(app)
    ra, rb = await asyncio.gather(_asignar(client, app, p, a), _asignar(client, app, p, b))
    assert sorted([ra.status_code, rb.status_code]) == [201, 409], (ra.text, rb.text)
    perdedor = ra if ra.status_code == 409 else rb
    assert perdedor.json()["type"].endswith("no-capacity")
    assert len(await eventos(app, "CupoAsignado")) == 1
    # more callers than slots: never beyond capacity
    await habilitar(client, app, p, 3)
    otras = [await _con_nino(app) for _ in range(5)]
    respuestas = await asyncio.gather(*(_asignar(client, app, p, f) for f in otras))
    assert sorted(r.status_code for r in respuestas) == [201, 201, 409, 409, 409]
    cupos = (await client.get(_url(p), headers=entidad(app))).json()
    assert (cupos["capacidad"], cupos["asignados"], cupos["libres"]) == (3, 3, 0)
    assert len({e["cupo_id"] for e in await eventos(app, "CupoAsignado")}) == 3


async def test_an_ineligible_member_is_refused_with_the_reasons(client, app) -> None:
    p = await registrar(client, app)  # LB8, members up to 5 years old
    await habilitar(client, app, p, 10)
    f = await _con_nino(app)
    adulto = await _asignar(client, app, p, f, 0)
    assert adulto.status_code == 422
    assert adulto.json()["type"].endswith("ineligible")
    assert adulto.json()["motivos"] == ["age 41 is over the program's maximum of 5"]
    sin_miembro = await _asignar(client, app, p, f, None)
    assert sin_miembro.status_code == 422 and "integrante_id" in sin_miembro.text
    ajeno = await _asignar(client, app, p, f, None, integrante_id="no-es-de-aqui")
    assert ajeno.status_code == 422 and "not an active member" in ajeno.text
    solo = await registrar(
        client,
        app,
        alcance="FAMILIA",
        elegibilidad={"solo_desplazadas": True, "sexo": "H", "edad_minima": 18},
    )
    await habilitar(client, app, solo, 10)
    r = await _asignar(client, app, solo, f, None)
    assert r.status_code == 422
    assert r.json()["motivos"] == [
        "the program serves displaced families only",
        "no active member of the family meets the program's conditions",
    ]
    # eligible but without demand for the program's LB, and a second slot: refused
    sin_demanda = await familia(
        app, miembro("1985-01-01", parentesco="JEFE"), miembro("2025-01-01")
    )
    r = await _asignar(client, app, p, sin_demanda)
    assert r.status_code == 409 and r.json()["type"].endswith("no-demand")
    assert (await _asignar(client, app, p, f)).status_code == 201
    otra = await _asignar(client, app, p, f)
    assert otra.status_code == 409 and otra.json()["type"].endswith("already-has-slot")
    lejos = await _con_nino(app, municipio="05002")
    r = await _asignar(client, app, p, lejos)
    assert r.status_code == 422 and r.json()["type"].endswith("other-municipality")
    assert len(await eventos(app, "CupoAsignado")) == 1


async def test_batch_assignment_is_deterministic_and_explained(client, app) -> None:
    p = await registrar(client, app)
    await habilitar(client, app, p, 5)
    b = await _con_nino(app, "2026-05-01", familia_id="fam-b")
    a = await _con_nino(app, "2026-06-01", familia_id="fam-a")
    await plan(app, b, 1, ["LB8", "LB21"])
    await plan(app, a, 1, ["LB21", "LB8"])
    await _con_nino(app, "2026-01-01", familia_id="fam-c", desplazada=True)
    await _con_nino(app, "2026-01-01", familia_id="fam-h")
    await _con_nino(app, "2026-01-01", familia_id="fam-d")
    await _con_nino(app, "2026-08-01", familia_id="fam-i")
    # not candidates: over the age limit, another municipality, left JUNTOS
    mayor = await familia(app, miembro("1985-01-01", parentesco="JEFE"), miembro("2015-01-01"))
    await tablero(app, mayor, "2025-01-01", {"LB8": [mayor.id_de(1)]})
    await _con_nino(app, "2025-01-01", municipio="05002")
    ida = await _con_nino(app, "2025-01-01", familia_id="fam-0")
    await publicar(
        app, "enrollment", "FamiliaPromovida", {"familia_id": ida.familia_id, "fecha": "2026-07-01"}
    )

    url = _url(p) + "/asignacion-masiva"
    cuerpo = {"fecha": "2026-09-01", "simular": True}
    headers = como(app, Role.DEPARTAMENTAL, "05")
    uno = (await client.post(url, json=cuerpo, headers=headers)).json()
    dos = (await client.post(url, json=cuerpo, headers=headers)).json()
    assert uno == dos and uno["simulacion"] and uno["candidatos"] == 6 and uno["libres"] == 5
    assert await eventos(app, "CupoAsignado") == []

    r = await client.post(url, json={**cuerpo, "simular": False}, headers=headers)
    assert r.status_code == 200, r.text
    lote = r.json()
    elegidas = lote["asignaciones"]
    assert [x["familia_id"] for x in elegidas] == ["fam-b", "fam-a", "fam-c", "fam-d", "fam-h"]
    assert [x["familia_id"] for x in elegidas] == [x["familia_id"] for x in uno["asignaciones"]]
    assert elegidas[0]["explicacion"] == (
        "#1; plan familiar priority 1 (LB8); LB8 pending since 2026-05-01 (123 days);"
        " vulnerability: MENOR_DE_5"
    )
    assert elegidas[1]["prioridad_plan"] == 2
    assert elegidas[2]["vulnerabilidad"] == ["DESPLAZADA", "MENOR_DE_5"]
    assert elegidas[3]["dias_espera"] == elegidas[4]["dias_espera"] == 243
    assert lote["criterio"][0].startswith("1. plan-familiar priority")
    asignados = await eventos(app, "CupoAsignado")
    assert [e["familia_id"] for e in asignados] == ["fam-b", "fam-a", "fam-c", "fam-d", "fam-h"]
    assert {e["cupo_id"] for e in asignados} == {x["cupo_id"] for x in elegidas}
    # nothing left to assign: a second batch picks nobody
    otra = (await client.post(url, json={"fecha": "2026-09-01"}, headers=headers)).json()
    assert otra["asignaciones"] == [] and otra["libres"] == 0


async def test_a_family_exit_releases_its_slots(client, app) -> None:
    p = await registrar(client, app)
    await habilitar(client, app, p, 2)
    f = await _con_nino(app)
    asignado = await _asignar(client, app, p, f)
    assert asignado.status_code == 201
    cupo_id = asignado.json()["cupo_id"]
    await publicar(
        app,
        "enrollment",
        "FamiliaRetirada",
        {"familia_id": f.familia_id, "motivo": "VOLUNTARIO", "fecha": "2026-10-01"},
    )
    [liberado] = await eventos(app, "CupoLiberado")
    assert (liberado["cupo_id"], liberado["motivo"], liberado["fecha"]) == (
        cupo_id,
        "FAMILIA_EGRESADA",
        "2026-10-01",
    )
    cupos = (await client.get(_url(p), headers=entidad(app))).json()
    assert (cupos["asignados"], cupos["libres"]) == (0, 2)
    lista = await client.get(
        f"/v1/cupos?familia_id={f.familia_id}", headers=como(app, Role.MUNICIPAL, "05001")
    )
    [fila] = lista.json()["items"]
    assert (fila["estado"], fila["motivo"]) == ("LIBERADO", "FAMILIA_EGRESADA")
    again = await _asignar(client, app, p, f)
    assert again.status_code == 409 and again.json()["type"].endswith("family-exited")
    # a redelivered exit (or a second one) releases nothing more
    await publicar(
        app, "enrollment", "FamiliaPromovida", {"familia_id": f.familia_id, "fecha": "2026-10-02"}
    )
    assert len(await eventos(app, "CupoLiberado")) == 1


async def test_a_declined_slot_is_released_once_and_can_be_assigned_again(client, app) -> None:
    p = await registrar(client, app)
    await habilitar(client, app, p, 1)
    f, g = await _con_nino(app), await _con_nino(app)
    cupo_id = (await _asignar(client, app, p, f)).json()["cupo_id"]
    url = f"/v1/cupos/{cupo_id}/liberacion"
    cuerpo = {"motivo": "RECHAZADO", "fecha": "2026-09-05"}
    r = await client.post(url, json=cuerpo, headers=entidad(app))
    assert r.status_code == 200, r.text
    assert (r.json()["estado"], r.json()["motivo"]) == ("LIBERADO", "RECHAZADO")
    assert (await client.post(url, json=cuerpo, headers=entidad(app))).status_code == 200
    assert len(await eventos(app, "CupoRechazado")) == len(await eventos(app, "CupoLiberado")) == 1
    egreso = await client.post(url, json={"motivo": "FAMILIA_EGRESADA"}, headers=entidad(app))
    assert egreso.status_code == 422
    assert (await _asignar(client, app, p, g)).status_code == 201
