"""The municipal action plan: draft -> approved by the council, new versions, follow-up."""

from __future__ import annotations

from juntos_web import Role

from .conftest import como, encuesta, levantar, municipal

CALI = "76001"
PLAN = f"/v1/municipios/{CALI}/plan-accion"


def accion(cbt: str = "CBT8", **cambios) -> dict:
    return {
        "cbt": cbt,
        "descripcion": "Jornadas de afiliación al régimen subsidiado",
        "entidad_responsable_id": "secretaria-salud-76001",
        "presupuesto_cop": 120_000_000,
        "fecha_inicio": "2026-09-01",
        "fecha_fin": "2026-12-15",
        **cambios,
    }


async def _con_lbt(client, app) -> None:
    await levantar(
        client,
        app,
        CALI,
        fecha="2026-06-01",
        estados={"CBT8": "NO_CUMPLE", "CBT9": "CUMPLE_PARCIALMENTE"},
    )


async def test_plan_approval_workflow_and_no_edits_after_approval(client, app) -> None:
    await _con_lbt(client, app)
    yo = municipal(app, CALI)
    borrador = await client.post(f"{PLAN}/borrador", headers=yo)
    assert borrador.status_code == 201, borrador.text
    assert borrador.json()["borrador"]["version_plan"] == 1
    assert borrador.json()["vigente"] is None
    etag = borrador.headers["etag"]
    r = await client.put(
        f"{PLAN}/acciones/afiliacion", json=accion(), headers={"If-Match": etag, **yo}
    )
    assert r.status_code == 200, r.text
    r = await client.put(
        f"{PLAN}/acciones/plan-salud", json=accion("CBT9", presupuesto_cop=5_000_000), headers=yo
    )
    assert r.json()["borrador"]["presupuesto_cop"] == 125_000_000
    # a CBT the LBT rates CUMPLE needs no action
    fuerte = await client.put(f"{PLAN}/acciones/x", json=accion("CBT1"), headers=yo)
    assert fuerte.status_code == 422 and fuerte.json()["type"].endswith("cbt-not-weak")
    # dates reversed
    revés = await client.put(
        f"{PLAN}/acciones/x", json=accion(fecha_inicio="2027-01-01"), headers=yo
    )
    assert revés.status_code == 422

    aprobado = await client.post(
        f"{PLAN}/aprobacion",
        json={"fecha_sesion_consejo": "2026-07-15", "acta": "Acta 012 de 2026"},
        headers=yo,
    )
    assert aprobado.status_code == 200, aprobado.text
    plan = aprobado.json()
    assert plan["borrador"] is None and plan["aprobadas"] == [1]
    assert plan["vigente"]["estado"] == "APROBADO"
    assert plan["vigente"]["fecha_sesion_consejo"] == "2026-07-15"
    assert {a["accion_id"] for a in plan["vigente"]["acciones"]} == {"afiliacion", "plan-salud"}

    # approved: frozen
    for intento in (
        client.put(f"{PLAN}/acciones/afiliacion", json=accion(presupuesto_cop=1), headers=yo),
        client.delete(f"{PLAN}/acciones/afiliacion", headers=yo),
        client.post(f"{PLAN}/aprobacion", json={"fecha_sesion_consejo": "2026-07-16"}, headers=yo),
    ):
        r = await intento
        assert r.status_code == 409, r.text
    assert (
        (await client.put(f"{PLAN}/acciones/afiliacion", json=accion(), headers=yo))
        .json()["type"]
        .endswith("plan-approved")
    )

    # follow-up of the plan in force
    r = await client.post(
        f"{PLAN}/acciones/afiliacion/seguimiento",
        json={"estado": "EN_CURSO", "avance": 40, "fecha": "2026-09-20"},
        headers=yo,
    )
    assert r.status_code == 200, r.text

    # a new version starts as a copy of the approved one
    v2 = await client.post(f"{PLAN}/borrador", headers=yo)
    assert v2.status_code == 201
    assert v2.json()["borrador"]["version_plan"] == 2 and v2.json()["borrador"]["basado_en"] == 1
    assert len(v2.json()["borrador"]["acciones"]) == 2
    otra = await client.post(f"{PLAN}/borrador", headers=yo)
    assert otra.status_code == 409 and otra.json()["type"].endswith("draft-open")
    r = await client.delete(f"{PLAN}/acciones/plan-salud", headers=yo)
    assert r.status_code == 200
    r = await client.put(
        f"{PLAN}/acciones/afiliacion", json=accion(presupuesto_cop=150_000_000), headers=yo
    )
    assert r.status_code == 200
    # the plan in force is untouched by the draft, and keeps its follow-up
    vigente = r.json()["vigente"]
    assert vigente["version_plan"] == 1 and len(vigente["acciones"]) == 2
    r = await client.post(
        f"{PLAN}/acciones/afiliacion/seguimiento",
        json={"estado": "EN_CURSO", "avance": 70, "fecha": "2026-10-01"},
        headers=yo,
    )
    assert r.status_code == 200
    aprobado = await client.post(
        f"{PLAN}/aprobacion", json={"fecha_sesion_consejo": "2026-10-20"}, headers=yo
    )
    assert aprobado.status_code == 200, aprobado.text
    v = aprobado.json()["vigente"]
    assert v["version_plan"] == 2 and v["presupuesto_cop"] == 150_000_000
    (afiliacion,) = v["acciones"]
    assert (afiliacion["estado"], afiliacion["avance"]) == ("EN_CURSO", 70)

    lector = como(app, Role.NACIONAL)
    v1 = await client.get(f"{PLAN}/versiones/1", headers=lector)
    assert v1.status_code == 200 and len(v1.json()["acciones"]) == 2
    assert v1.json()["presupuesto_cop"] == 125_000_000
    assert (await client.get(f"{PLAN}/versiones/3", headers=lector)).status_code == 404


async def test_follow_up_moves_forward_only(client, app) -> None:
    await _con_lbt(client, app)
    yo = municipal(app, CALI)
    await client.post(f"{PLAN}/borrador", headers=yo)
    await client.put(f"{PLAN}/acciones/a1", json=accion(), headers=yo)
    sin_aprobar = await client.post(
        f"{PLAN}/acciones/a1/seguimiento",
        json={"estado": "EN_CURSO", "fecha": "2026-09-01"},
        headers=yo,
    )
    assert sin_aprobar.status_code == 409
    await client.post(f"{PLAN}/aprobacion", json={"fecha_sesion_consejo": "2026-07-01"}, headers=yo)
    url = f"{PLAN}/acciones/a1/seguimiento"
    antes = await client.post(url, json={"estado": "EN_CURSO", "fecha": "2026-06-01"}, headers=yo)
    assert antes.status_code == 422
    hecha = await client.post(url, json={"estado": "CUMPLIDA", "fecha": "2026-11-01"}, headers=yo)
    assert hecha.status_code == 200
    assert hecha.json()["vigente"]["acciones"][0]["avance"] == 100
    otra = await client.post(url, json={"estado": "CANCELADA", "fecha": "2026-11-02"}, headers=yo)
    assert otra.status_code == 409 and otra.json()["type"].endswith("closed")
    nada = await client.post(
        f"{PLAN}/acciones/nada/seguimiento",
        json={"estado": "EN_CURSO", "fecha": "2026-11-01"},
        headers=yo,
    )
    assert nada.status_code == 404


async def test_a_plan_needs_the_lbt_and_an_action(client, app) -> None:
    yo = municipal(app, CALI)
    sin_borrador = await client.put(f"{PLAN}/acciones/a1", json=accion(), headers=yo)
    assert sin_borrador.status_code == 409 and sin_borrador.json()["type"].endswith("no-draft")
    await client.post(f"{PLAN}/borrador", headers=yo)
    sin_lbt = await client.put(f"{PLAN}/acciones/a1", json=accion(), headers=yo)
    assert sin_lbt.status_code == 409 and sin_lbt.json()["type"].endswith("no-baseline")
    vacio = await client.post(
        f"{PLAN}/aprobacion", json={"fecha_sesion_consejo": "2026-07-01"}, headers=yo
    )
    assert vacio.status_code == 409 and vacio.json()["type"].endswith("empty-plan")


async def test_cross_municipality_edits_are_refused(client, app) -> None:
    await _con_lbt(client, app)
    await client.post(f"{PLAN}/borrador", headers=municipal(app, CALI))
    vecino = municipal(app, "76002")  # not Cali
    for r in (
        await client.post(f"{PLAN}/borrador", headers=vecino),
        await client.put(f"{PLAN}/acciones/a1", json=accion(), headers=vecino),
        await client.post(
            f"{PLAN}/aprobacion", json={"fecha_sesion_consejo": "2026-07-01"}, headers=vecino
        ),
        await client.post(f"/v1/municipios/{CALI}/lbt", json=encuesta(), headers=vecino),
        await client.put(
            f"/v1/municipios/{CALI}/lbt/condiciones/CBT1",
            json={"estado": "NO_CUMPLE", "evidencia": "x", "fecha": "2026-07-01"},
            headers=vecino,
        ),
        await client.put(f"/v1/municipios/{CALI}/red-local", json={}, headers=vecino),
    ):
        assert r.status_code == 403, r.text
        assert r.json()["type"].endswith("out-of-scope")
    plan = (await client.get(PLAN, headers=municipal(app, CALI))).json()
    assert plan["borrador"]["acciones"] == []
