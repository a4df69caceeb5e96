"""Tabla 4 from data: concurrencia (possible duplication), suficiencia, oportunidad,
pertinencia, calidad; and offer gaps."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from juntos_web import Role

from .conftest import como, entidad, familia, habilitar, miembro, registrar, tablero


async def _nino(app: FastAPI, *logros: str):
    f = await familia(app, miembro("1985-01-01", parentesco="JEFE"), miembro("2024-02-02"))
    await tablero(app, f, "2026-03-01", {lb: [f.id_de(1)] for lb in logros})
    return f


async def _asignar(client, app, p: dict, f, fecha: str) -> None:
    r = await client.post(
        f"/v1/programas/{p['programa_id']}/cupos/05001/2026/asignaciones",
        json={"familia_id": f.familia_id, "integrante_id": f.id_de(1), "fecha": fecha},
        headers=como(app, Role.NACIONAL),
    )
    assert r.status_code == 201, r.text


async def test_concurrencia_and_tabla_4_from_data(client: httpx.AsyncClient, app: FastAPI) -> None:
    solo_05001 = {"municipios": ["05001"]}
    p1 = await registrar(client, app, "icbf", elegibilidad={"edad_maxima": 5}, **solo_05001)
    p2 = await registrar(client, app, elegibilidad={"edad_maxima": 6}, **solo_05001)
    p3 = await registrar(
        client, app, "sena", elegibilidad={"edad_minima": 10, "edad_maxima": 17}, **solo_05001
    )
    p4 = await registrar(client, app, "icbf", elegibilidad={"edad_maxima": 5}, **solo_05001)
    # LB2: men 18-50 against pregnant women: no shared population
    await registrar(client, app, "mindefensa", logros=["LB2"], elegibilidad={"sexo": "H"})
    await registrar(client, app, "minsalud", logros=["LB2"], elegibilidad={"solo_gestantes": True})
    for p, n in ((p1, 2), (p2, 3), (p3, 4)):
        await habilitar(client, app, p, n)
    f1, f2, _ = await _nino(app, "LB8"), await _nino(app, "LB8"), await _nino(app, "LB8", "LB9")
    await _asignar(client, app, p1, f1, "2026-03-11")  # 10 days
    await _asignar(client, app, p2, f1, "2026-03-21")  # 20 days
    await _asignar(client, app, p2, f2, "2026-04-10")  # 40 days
    for p, periodo, valor in ((p1, "2026", 80), (p2, "2025", 50), (p2, "2026-S1", 90)):
        r = await client.put(
            f"/v1/programas/{p['programa_id']}/calidad/{periodo}",
            json={"cumplimiento": valor},
            headers=entidad(app, p["entidad"]),
        )
        assert r.status_code == 200, r.text

    r = await client.get("/v1/municipios/05001/concurrencia", headers=como(app, Role.ENTIDAD, "x"))
    assert r.status_code == 200, r.text
    pares = {
        frozenset((c["programa_a"], c["programa_b"])): c["familias_en_ambos"] for c in r.json()
    }
    assert pares == {
        frozenset((p1["programa_id"], p2["programa_id"])): 1,
        frozenset((p2["programa_id"], p4["programa_id"])): 0,
    }
    assert {c["logro"] for c in r.json()} == {"LB8"}

    r = await client.get(
        "/v1/municipios/05001/caracteristicas?dimension=EDUCACION_Y_CAPACITACION",
        headers=como(app, Role.MUNICIPAL, "05001"),
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {
            "dimension": "EDUCACION_Y_CAPACITACION",
            "familias_con_demanda": 3,
            "cupos": 9,
            "suficiencia": 3.0,
            "oportunidad_dias": 20.0,
            "pertinencia": 0.5,  # LB8 has programs, LB9 none
            "calidad": 85.0,  # icbf's 80 and the latest of the other (90)
            "concurrencia": 2,
        }
    ]
    todas = await client.get(
        "/v1/municipios/05001/caracteristicas", headers=como(app, Role.NACIONAL)
    )
    identificacion = next(x for x in todas.json() if x["dimension"] == "IDENTIFICACION")
    assert identificacion["concurrencia"] == 0 and identificacion["suficiencia"] is None
    brechas = await client.get(
        "/v1/municipios/05001/brechas?solo_con_demanda=true", headers=como(app, Role.NACIONAL)
    )
    assert brechas.json() == [
        {"logro": "LB9", "dimension": "EDUCACION_Y_CAPACITACION", "familias": 1}
    ]
