"""The Línea de Base Territorial through the API: surveys, changes, history, versions."""

from __future__ import annotations

from juntos_web import Role

from .conftest import CBTS, como, encuesta, levantar, municipal

MEDELLIN = "05001"


async def test_lbt_history_is_kept_by_version_and_by_date(client, app) -> None:
    primera = await levantar(
        client, app, MEDELLIN, fecha="2026-02-01", estados={"CBT8": "NO_CUMPLE"}
    )
    assert primera.headers["etag"] == '"1"'
    assert primera.json()["levantamiento"] == 1
    cambio = await client.put(
        f"/v1/municipios/{MEDELLIN}/lbt/condiciones/CBT8",
        json={
            "estado": "CUMPLE_PARCIALMENTE",
            "evidencia": "https://x.gov.co/a",
            "fecha": "2026-04-10",
        },
        headers={"If-Match": '"1"', **municipal(app, MEDELLIN)},
    )
    assert cambio.status_code == 200, cambio.text
    assert cambio.headers["etag"] == '"2"'
    segunda = await levantar(client, app, MEDELLIN, fecha="2026-08-01", defecto="NO_CUMPLE")
    assert segunda.json()["levantamiento"] == 2 and segunda.json()["version"] == 3

    lectora = como(app, Role.DEPARTAMENTAL, "05")
    base = f"/v1/municipios/{MEDELLIN}/lbt"

    def cbt8(r) -> str:
        return next(c for c in r.json()["condiciones"] if c["cbt"] == "CBT8")["estado"]

    assert cbt8(await client.get(base, headers=lectora)) == "NO_CUMPLE"
    assert cbt8(await client.get(f"{base}?version=1", headers=lectora)) == "NO_CUMPLE"
    assert cbt8(await client.get(f"{base}?version=2", headers=lectora)) == "CUMPLE_PARCIALMENTE"
    assert (
        cbt8(await client.get(f"{base}?fecha=2026-05-01", headers=lectora)) == "CUMPLE_PARCIALMENTE"
    )
    assert cbt8(await client.get(f"{base}?fecha=2026-02-01", headers=lectora)) == "NO_CUMPLE"
    antes = await client.get(f"{base}?fecha=2026-01-31", headers=lectora)
    assert antes.status_code == 404
    assert (await client.get(f"{base}?version=4", headers=lectora)).status_code == 404

    historial = (await client.get(f"{base}/historial", headers=lectora)).json()
    assert [(h["version"], h["tipo"], h["cbt"]) for h in historial] == [
        (1, "LEVANTAMIENTO", None),
        (2, "ACTUALIZACION", "CBT8"),
        (3, "LEVANTAMIENTO", None),
    ]
    assert historial[1]["anterior"] == "NO_CUMPLE"
    assert {h["registrado_por"] for h in historial} == {f"coord-{MEDELLIN}"}
    ahora = (await client.get(base, headers=lectora)).json()
    assert {c["registrado_por"] for c in ahora["condiciones"]} == {f"coord-{MEDELLIN}"}
    assert [c["cbt"] for c in ahora["condiciones"]] == CBTS


async def test_stale_if_match_is_412_and_changes_nothing(client, app) -> None:
    await levantar(client, app, MEDELLIN)
    await levantar(client, app, MEDELLIN, fecha="2026-03-02")
    r = await client.put(
        f"/v1/municipios/{MEDELLIN}/lbt/condiciones/CBT1",
        json={"estado": "NO_CUMPLE", "evidencia": "acta", "fecha": "2026-03-05"},
        headers={"If-Match": '"1"', **municipal(app, MEDELLIN)},
    )
    assert r.status_code == 412 and r.headers["etag"] == '"2"'
    r = await client.post(
        f"/v1/municipios/{MEDELLIN}/lbt",
        json=encuesta(fecha="2026-03-05"),
        headers={"If-Match": '"1"', **municipal(app, MEDELLIN)},
    )
    assert r.status_code == 412
    historial = await client.get(
        f"/v1/municipios/{MEDELLIN}/lbt/historial", headers=municipal(app, MEDELLIN)
    )
    assert len(historial.json()) == 2


async def test_a_survey_rates_each_of_the_22_cbt_and_dates_go_forward(client, app) -> None:
    url = f"/v1/municipios/{MEDELLIN}/lbt"
    cuerpo = encuesta()
    del cuerpo["condiciones"]["CBT2"]
    cuerpo["condiciones"]["CBT23"] = cuerpo["condiciones"]["CBT1"]
    r = await client.post(url, json=cuerpo, headers=municipal(app, MEDELLIN))
    assert r.status_code == 422
    campos = {e["field"] for e in r.json()["errors"]}
    assert campos == {"body.condiciones.CBT2", "body.condiciones.CBT23"}
    futura = await client.post(
        url, json=encuesta(fecha="2099-01-01"), headers=municipal(app, MEDELLIN)
    )
    assert futura.status_code == 422 and futura.json()["type"].endswith("future-date")
    sin_lbt = await client.put(
        f"{url}/condiciones/CBT3",
        json={"estado": "NO_CUMPLE", "evidencia": "acta", "fecha": "2026-03-05"},
        headers=municipal(app, MEDELLIN),
    )
    assert sin_lbt.status_code == 409 and sin_lbt.json()["type"].endswith("no-baseline")
    await levantar(client, app, MEDELLIN, fecha="2026-03-01")
    atras = await client.put(
        f"{url}/condiciones/CBT3",
        json={"estado": "NO_CUMPLE", "evidencia": "acta", "fecha": "2026-02-01"},
        headers=municipal(app, MEDELLIN),
    )
    assert atras.status_code == 422 and atras.json()["type"].endswith("date-before-history")


async def test_idempotency_key_replays_the_survey(client, app) -> None:
    headers = {"Idempotency-Key": "lbt-1", **municipal(app, MEDELLIN)}
    url = f"/v1/municipios/{MEDELLIN}/lbt"
    a = await client.post(url, json=encuesta(), headers=headers)
    b = await client.post(url, json=encuesta(), headers=headers)
    assert a.status_code == b.status_code == 201
    assert b.headers["idempotent-replayed"] == "true" and b.json() == a.json()
    historial = await client.get(f"{url}/historial", headers=municipal(app, MEDELLIN))
    assert len(historial.json()) == 1
