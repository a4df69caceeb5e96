"""Territory and network: the DIVIPOLA catalogue, microregions, Red Local, councils, and an
unknown municipality code refused with a 422 on every route that takes one."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, iter_route_contexts
from juntos_catalogo import divipola
from juntos_web import Role
from juntos_web.auth import declared_roles

from .conftest import como, encuesta, municipal

DESCONOCIDO = "05003"  # well-formed, not a DIVIPOLA code (Antioquia has 05001, 05002, 05004)


async def test_the_catalogue_has_every_department_and_municipality(client, app) -> None:
    assert not divipola().es_municipio(DESCONOCIDO)
    yo = como(app, Role.COGESTOR, "05001")
    dptos = (await client.get("/v1/departamentos?limite=100", headers=yo)).json()
    assert len(dptos["items"]) == 33 and dptos["siguiente"] is None
    assert dptos["items"][0] == {"codigo": "05", "denominacion": "ANTIOQUIA", "municipios": 125}
    codigos, cursor = [], None
    while True:
        params = {"limite": 500, **({"cursor": cursor} if cursor else {})}
        pagina = (await client.get("/v1/municipios", params=params, headers=yo)).json()
        codigos += [m["codigo"] for m in pagina["items"]]
        cursor = pagina["siguiente"]
        if cursor is None:
            break
    assert len(codigos) == 1122 and codigos == sorted(codigos)
    amazonas = await client.get(
        "/v1/municipios?departamento=91&tipo=Área no municipalizada", headers=yo
    )
    assert {m["departamento"] for m in amazonas.json()["items"]} == {"91"}
    assert len(amazonas.json()["items"]) == 9
    medellin = (await client.get("/v1/municipios/05001", headers=yo)).json()
    assert medellin["denominacion"] == "MEDELLÍN" and medellin["microrregion_id"] is None


async def test_an_unknown_municipality_is_refused_everywhere(client, app) -> None:
    """Every route with a municipality in its path, called by a role it admits, in scope."""
    rutas = [
        r
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute) and "{municipio}" in r.path
    ]
    assert len(rutas) >= 20
    for ruta in rutas:
        roles = next(
            declared_roles(d.call) for d in ruta.dependant.dependencies if declared_roles(d.call)
        )
        rol = Role.MUNICIPAL if Role.MUNICIPAL in roles else sorted(roles)[0]
        scope = DESCONOCIDO if rol in (Role.MUNICIPAL, Role.COGESTOR) else None
        scope = "05" if rol is Role.DEPARTAMENTAL else scope
        scope = "entidad-prueba" if rol is Role.ENTIDAD else scope
        url = re.sub(
            r"\{[a-z_]+\}", lambda m: {"{municipio}": DESCONOCIDO}.get(m[0], "x1"), ruta.path
        )
        url = url.replace("{cbt}", "CBT1")
        for method in ruta.methods:
            r = await client.request(method, url, json={}, headers=como(app, rol, scope))
            assert r.status_code == 422, f"{method} {url}: {r.status_code} {r.text}"
            campos = [e["field"] for e in r.json()["errors"]]
            assert "path.municipio" in campos, f"{method} {url}: {campos}"
            assert "not a DIVIPOLA municipality code" in r.json()["detail"]
    # in bodies and filters too
    nacional = como(app, Role.NACIONAL)
    r = await client.put(
        "/v1/microrregiones/mr-1",
        json={"denominacion": "Norte", "operador_id": "op-1", "municipios": ["05001", DESCONOCIDO]},
        headers=nacional,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.municipios.1"
    for url in (
        f"/v1/microrregiones?municipio={DESCONOCIDO}",
        "/v1/municipios?departamento=04",
        "/v1/departamentos/04",
        "/v1/mapa-capacidades?departamento=04",
    ):
        assert (await client.get(url, headers=nacional)).status_code == 422, url


async def test_a_municipality_belongs_to_one_microregion(client, app) -> None:
    nacional = como(app, Role.NACIONAL)
    norte = {"denominacion": "Norte", "operador_id": "op-norte", "municipios": ["05001", "05002"]}
    r = await client.put("/v1/microrregiones/mr-norte", json=norte, headers=nacional)
    assert r.status_code == 200, r.text
    otra = {"denominacion": "Sur", "operador_id": "op-sur", "municipios": ["05002", "05004"]}
    r = await client.put("/v1/microrregiones/mr-sur", json=otra, headers=nacional)
    assert r.status_code == 409 and "05002 (mr-norte)" in r.json()["detail"]
    # the north gives 05002 up: now the south may take it
    norte["municipios"] = ["05001"]
    assert (
        await client.put("/v1/microrregiones/mr-norte", json=norte, headers=nacional)
    ).status_code == 200
    r = await client.put("/v1/microrregiones/mr-sur", json=otra, headers=nacional)
    assert r.status_code == 200, r.text
    medellin = (await client.get("/v1/municipios/05002", headers=nacional)).json()
    assert medellin["microrregion_id"] == "mr-sur"

    # each caller sees the microregions of its territory, an operator its own
    def ids(r) -> list[str]:
        return [m["microrregion_id"] for m in r.json()["items"]]

    assert ids(await client.get("/v1/microrregiones", headers=nacional)) == ["mr-norte", "mr-sur"]
    assert ids(await client.get("/v1/microrregiones", headers=municipal(app, "05004"))) == [
        "mr-sur"
    ]
    assert (
        ids(await client.get("/v1/microrregiones", headers=como(app, Role.DEPARTAMENTAL, "76")))
        == []
    )
    assert ids(
        await client.get("/v1/microrregiones", headers=como(app, Role.ENTIDAD, "op-norte"))
    ) == ["mr-norte"]


async def test_red_local_and_councils(client, app) -> None:
    yo = municipal(app, "05001")
    url = "/v1/municipios/05001/red-local"
    r = await client.put(
        url,
        json={
            "convenio_fecha": "2026-02-10",
            "delegado_municipal_id": "usr-4821",
            "coordinador_local_id": "usr-9930",
        },
        headers=yo,
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'  # the agreement and the designation
    medio = await client.put(url, json={"delegado_municipal_id": "usr-1"}, headers=yo)
    assert medio.status_code == 422
    correo = await client.put(
        url,
        json={"delegado_municipal_id": "ana@alcaldia.gov.co", "coordinador_local_id": "u2"},
        headers=yo,
    )
    assert correo.status_code == 422  # an e-mail is not a pseudonymous id
    r = await client.post(
        "/v1/municipios/05001/consejo-politica-social/sesiones",
        json={"fecha": "2026-03-01", "asistentes": 14},
        headers={"Idempotency-Key": "s1", **yo},
    )
    assert r.status_code == 201, r.text
    red = (await client.get(url, headers=como(app, Role.COGESTOR, "05001"))).json()
    assert red["convenio_fecha"] == "2026-02-10" and red["delegado_municipal_id"] == "usr-4821"
    assert [s["asistentes"] for s in red["sesiones_consejo"]] == [14]

    dpto = como(app, Role.DEPARTAMENTAL, "05")
    r = await client.post(
        "/v1/departamentos/05/consejo-politica-social/sesiones",
        json={"fecha": "2026-03-05", "tipo": "EXTRAORDINARIA", "asistentes": 30},
        headers=dpto,
    )
    assert r.status_code == 201, r.text
    otro = await client.post(
        "/v1/departamentos/76/consejo-politica-social/sesiones",
        json={"fecha": "2026-03-05", "asistentes": 30},
        headers=dpto,
    )
    assert otro.status_code == 403
    consejo = (
        await client.get("/v1/departamentos/05/consejo-politica-social", headers=dpto)
    ).json()
    assert [s["tipo"] for s in consejo["sesiones"]] == ["EXTRAORDINARIA"]


async def test_survey_feeds_the_capacity_map(client, app) -> None:
    await client.post(
        "/v1/municipios/05001/lbt",
        json=encuesta(
            estados={"CBT8": "NO_CUMPLE", "CBT9": "CUMPLE_PARCIALMENTE", "CBT10": "NO_CUMPLE"}
        ),
        headers=municipal(app, "05001"),
    )
    mapa = (
        await client.get(
            "/v1/municipios/05001/mapa-capacidades", headers=como(app, Role.ENTIDAD, "icbf")
        )
    ).json()
    salud = next(d for d in mapa["dimensiones"] if d["dimension"] == "SALUD")
    assert salud["capacidad"] == 0.375 and salud["clasificacion"] == "DEBILIDAD"
    assert mapa["debilidades"] == ["SALUD"]
    assert "IDENTIFICACION" in mapa["fortalezas"]
    assert [lb["logro"] for lb in salud["logros"]][:2] == ["LB13", "LB14"]
    vacio = (
        await client.get("/v1/municipios/05002/mapa-capacidades", headers=como(app, Role.NACIONAL))
    ).json()
    assert {d["clasificacion"] for d in vacio["dimensiones"]} == {"SIN_LINEA_BASE"}
    debiles = await client.get(
        "/v1/mapa-capacidades?dimension=SALUD&clasificacion=DEBILIDAD",
        headers=como(app, Role.DEPARTAMENTAL, "05"),
    )
    assert [f["municipio"] for f in debiles.json()["items"]] == ["05001"]
