"""Programs in the Mapa de Oferta Local: registration, validation, entity scope, slots."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from juntos_web import Role
from juntos_web.testing import TEST_ENTIDAD

from .conftest import como, entidad, eventos, habilitar, programa_body, registrar


async def test_an_entity_registers_its_program_and_it_appears_on_the_map(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    p = await registrar(client, app, logros=["LB8", "LB21"])
    assert p["entidad"] == TEST_ENTIDAD
    assert p["dimensiones"] == ["EDUCACION_Y_CAPACITACION", "NUTRICION"]
    assert p["version"] == 1
    [registrado] = await eventos(app, "ProgramaRegistrado")
    assert registrado["programa_id"] == p["programa_id"]
    await habilitar(client, app, p, 30)
    mapa = await client.get(
        "/v1/municipios/05001/oferta?dimension=EDUCACION_Y_CAPACITACION",
        headers=como(app, Role.COGESTOR, "05001"),
    )
    assert mapa.status_code == 200, mapa.text
    [educacion] = mapa.json()["dimensiones"]
    lb8 = next(lb for lb in educacion["logros"] if lb["logro"] == "LB8")
    assert [(x["programa_id"], x["cupos"], x["periodo"]) for x in lb8["programas"]] == [
        (p["programa_id"], 30, "2026")
    ]
    [cupos] = await eventos(app, "CuposHabilitados")
    assert cupos == {
        "programa_id": p["programa_id"],
        "entidad": TEST_ENTIDAD,
        "municipio": "05001",
        "periodo": "2026",
        "logros": ["LB8", "LB21"],
        "cupos": 30,
    }


async def test_unknown_lb_or_municipality_is_a_clear_422(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    for cambio, esperado in (
        ({"logros": ["LB8", "LB46"]}, "LB46 is not one of the 45 Logros Básicos"),
        ({"municipios": ["05001", "99999"]}, "99999 is not a DIVIPOLA municipality code"),
        ({"municipios": ["27086"]}, "27086 is not a DIVIPOLA municipality code"),
        ({"elegibilidad": {"edad_minima": 18, "edad_maxima": 5}}, "edad_minima is greater"),
        ({"titulo": "x\x00y"}, "body.titulo"),
        # JSON types only: pydantic's lax mode would have stored `false` as age 0
        ({"elegibilidad": {"edad_maxima": False}}, "body.elegibilidad.edad_maxima"),
        ({"elegibilidad": {"solo_gestantes": "yes"}}, "body.elegibilidad.solo_gestantes"),
    ):
        r = await client.post("/v1/programas", json=programa_body(**cambio), headers=entidad(app))
        assert r.status_code == 422, r.text
        assert esperado in r.json()["detail"], r.json()
    assert await eventos(app, "ProgramaRegistrado") == []
    # 5.0 is an integer to JSON Schema, so to partners' generated clients
    entero = programa_body(elegibilidad={"edad_minima": 5.0, "solo_gestantes": True})
    r = await client.post("/v1/programas", json=entero, headers=entidad(app))
    assert r.status_code == 201, r.text
    assert r.json()["elegibilidad"]["edad_minima"] == 5
    sin_entidad = {k: v for k, v in programa_body().items() if k != "entidad"}
    r = await client.post("/v1/programas", json=sin_entidad, headers=como(app, Role.NACIONAL))
    assert r.status_code == 422 and "body.entidad" in r.json()["detail"]


async def test_an_entity_cannot_touch_another_entitys_program(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    ajeno = await registrar(client, app, quien="sena")
    pid = ajeno["programa_id"]
    mio = entidad(app)
    for method, url, body in (
        ("GET", f"/v1/programas/{pid}", None),
        ("PUT", f"/v1/programas/{pid}", programa_body(entidad="sena")),
        ("PUT", f"/v1/programas/{pid}/cupos/05001/2026", {"cupos": 5}),
        ("GET", f"/v1/programas/{pid}/cupos/05001/2026", None),
        ("PUT", f"/v1/programas/{pid}/calidad/2026", {"cumplimiento": 90}),
        ("POST", f"/v1/programas/{pid}/cupos/05001/2026/asignacion-masiva", {"simular": True}),
    ):
        r = await client.request(method, url, json=body, headers=mio)
        assert r.status_code == 403, (method, url, r.text)
    sobre = await client.post("/v1/programas", json=programa_body(entidad="sena"), headers=mio)
    assert sobre.status_code == 403
    lista = await client.get("/v1/programas", headers=mio)
    assert lista.json()["items"] == []
    otra = await client.get("/v1/programas?entidad=sena", headers=mio)
    assert otra.status_code == 403
    assert len(await eventos(app, "ProgramaRegistrado")) == 1
    assert await eventos(app, "ProgramaActualizado") == []


async def test_update_with_if_match_and_slots_only_where_it_runs(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    p = await registrar(client, app)
    url = f"/v1/programas/{p['programa_id']}"
    nuevo = programa_body(municipios=["05001", "05002", "05004"])
    ok = await client.put(url, json=nuevo, headers={"If-Match": '"1"', **entidad(app)})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"' and ok.json()["municipios"] == ["05001", "05002", "05004"]
    viejo = await client.put(
        url, json=programa_body(titulo="Otro título"), headers={"If-Match": '"1"', **entidad(app)}
    )
    assert viejo.status_code == 412
    igual = await client.put(url, json=nuevo, headers=entidad(app))
    assert igual.status_code == 200 and igual.json()["version"] == 2  # nothing changed
    fuera = await client.put(f"{url}/cupos/76001/2026", json={"cupos": 3}, headers=entidad(app))
    assert fuera.status_code == 422 and "does not run in municipality 76001" in fuera.text
    calidad = await client.put(
        f"{url}/calidad/2026-S1", json={"cumplimiento": 87}, headers=entidad(app)
    )
    assert calidad.status_code == 200 and calidad.json()["calidad"] == {"2026-S1": 87}
    # the list filters by municipality, dimension, LB and entity, with a cursor
    await registrar(client, app, logros=["LB21"], municipios=["05001"])
    nacional = como(app, Role.NACIONAL)
    pagina = await client.get("/v1/programas?municipio=05001&limite=1", headers=nacional)
    segunda = await client.get(
        f"/v1/programas?municipio=05001&limite=1&cursor={pagina.json()['siguiente']}",
        headers=nacional,
    )
    assert len(pagina.json()["items"]) == len(segunda.json()["items"]) == 1
    assert segunda.json()["siguiente"] is None
    por_lb = await client.get("/v1/programas?logro=LB21&dimension=NUTRICION", headers=nacional)
    assert [x["logros"] for x in por_lb.json()["items"]] == [["LB21"]]
    municipal = await client.get("/v1/programas", headers=como(app, Role.MUNICIPAL, "05004"))
    assert [x["programa_id"] for x in municipal.json()["items"]] == [p["programa_id"]]


async def test_slots_follow_the_programs_lb_and_municipalities(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    p = await registrar(client, app)
    await habilitar(client, app, p, 7)
    await habilitar(client, app, p, 3, municipio="05002")
    url = f"/v1/programas/{p['programa_id']}"
    r = await client.put(
        url, json=programa_body(logros=["LB8", "LB12"], municipios=["05001"]), headers=entidad(app)
    )
    assert r.status_code == 200, r.text
    ultimos = {(e["municipio"], e["periodo"]): e for e in await eventos(app, "CuposHabilitados")}
    assert (ultimos["05001", "2026"]["cupos"], ultimos["05001", "2026"]["logros"]) == (
        7,
        ["LB8", "LB12"],
    )
    assert ultimos["05002", "2026"]["cupos"] == 0  # it no longer runs there
    assert len(await eventos(app, "CuposHabilitados")) == 4
    lb12 = await client.get(
        "/v1/municipios/05001/demanda?logro=LB12", headers=como(app, Role.NACIONAL)
    )
    assert lb12.json()[0]["cupos"] == 7
