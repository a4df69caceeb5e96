"""Participation and social control: accountability and its commitments, participation spaces,
citizens' complaints (whose text only the municipality and national staff read)."""

from __future__ import annotations

from juntos_web import Role
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from .conftest import como, municipal

PASTO = "52001"


async def test_accountability_with_commitments_followed_up(client, app) -> None:
    yo = municipal(app, PASTO)
    r = await client.post(
        f"/v1/municipios/{PASTO}/rendiciones-cuentas",
        json={
            "fecha": "2026-05-20",
            "nivel": "DEPARTAMENTAL",
            "asistentes": 85,
            "compromisos": [
                {
                    "descripcion": "Ampliar cupos de primera infancia",
                    "responsable_id": "icbf",
                    "fecha_limite": "2026-12-31",
                },
                {
                    "descripcion": "Brigada de documentación",
                    "responsable_id": "registraduria",
                    "fecha_limite": "2026-08-31",
                },
            ],
        },
        headers={"Idempotency-Key": "rc-1", **yo},
    )
    assert r.status_code == 201, r.text
    rendicion = r.json()
    rid = rendicion["rendicion_id"]
    primero, segundo = (c["compromiso_id"] for c in rendicion["compromisos"])
    url = f"/v1/rendiciones-cuentas/{rid}/compromisos"
    r = await client.post(
        f"{url}/{primero}/seguimiento",
        json={"estado": "CUMPLIDO", "fecha": "2026-09-01"},
        headers=yo,
    )
    assert r.status_code == 200, r.text
    cerrado = await client.post(
        f"{url}/{primero}/seguimiento",
        json={"estado": "EN_CURSO", "fecha": "2026-09-02"},
        headers=yo,
    )
    assert cerrado.status_code == 409
    antes = await client.post(
        f"{url}/{segundo}/seguimiento",
        json={"estado": "EN_CURSO", "fecha": "2026-05-01"},
        headers=yo,
    )
    assert antes.status_code == 422
    lista = await client.get(
        f"/v1/municipios/{PASTO}/rendiciones-cuentas", headers=como(app, Role.DEPARTAMENTAL, "52")
    )
    (fila,) = lista.json()["items"]
    assert (fila["compromisos"], fila["cerrados"], fila["nivel"]) == (2, 1, "DEPARTAMENTAL")
    detalle = await client.get(
        f"/v1/rendiciones-cuentas/{rid}", headers=como(app, Role.COGESTOR, PASTO)
    )
    estados = {c["compromiso_id"]: c["estado"] for c in detalle.json()["compromisos"]}
    assert estados == {primero: "CUMPLIDO", segundo: "PENDIENTE"}
    vecino = await client.get(f"/v1/rendiciones-cuentas/{rid}", headers=municipal(app, "52019"))
    assert vecino.status_code == 403


async def test_participation_spaces_are_listed_newest_first_with_a_cursor(client, app) -> None:
    yo = municipal(app, PASTO)
    for dia in ("01", "02", "03"):
        r = await client.post(
            f"/v1/municipios/{PASTO}/espacios-participacion",
            json={"tipo": "ASAMBLEA_COMUNITARIA", "fecha": f"2026-04-{dia}", "participantes": 40},
            headers=yo,
        )
        assert r.status_code == 201, r.text
    url = f"/v1/municipios/{PASTO}/espacios-participacion?limite=2"
    primera = (await client.get(url, headers=yo)).json()
    assert [e["fecha"] for e in primera["items"]] == ["2026-04-03", "2026-04-02"]
    segunda = (await client.get(f"{url}&cursor={primera['siguiente']}", headers=yo)).json()
    assert [e["fecha"] for e in segunda["items"]] == ["2026-04-01"] and segunda["siguiente"] is None


async def test_a_complaint_keeps_its_text_private(client, app, database_url) -> None:
    texto = "El cogestor Pedro Pérez (CC 1098765432) no volvió a visitar a la familia"
    r = await client.post(
        f"/v1/municipios/{PASTO}/veedurias",
        json={"categoria": "ATENCION_DEL_COGESTOR", "texto": texto, "fecha": "2026-06-01"},
        headers=como(app, Role.COGESTOR, PASTO, sub="cgs-7"),
    )
    assert r.status_code == 201, r.text
    assert "texto" not in r.json()
    vid = r.json()["veeduria_id"]
    yo = municipal(app, PASTO)
    r = await client.post(
        f"/v1/veedurias/{vid}/estado",
        json={
            "estado": "EN_TRAMITE",
            "fecha": "2026-06-02",
            "respuesta": "Se contactó a Pedro Pérez",
        },
        headers=yo,
    )
    assert r.status_code == 200 and r.json()["estado"] == "EN_TRAMITE"
    resuelta = await client.post(
        f"/v1/veedurias/{vid}/estado",
        json={"estado": "RESUELTA", "fecha": "2026-06-10"},
        headers=yo,
    )
    assert resuelta.status_code == 200
    otra = await client.post(
        f"/v1/veedurias/{vid}/estado",
        json={"estado": "EN_TRAMITE", "fecha": "2026-06-11"},
        headers=yo,
    )
    assert otra.status_code == 409

    detalle = await client.get(f"/v1/veedurias/{vid}", headers=yo)
    assert detalle.json()["texto"] == texto and detalle.json()["respuesta"].startswith(
        "Se contactó"
    )
    for quien in (como(app, Role.DEPARTAMENTAL, "52"), como(app, Role.COGESTOR, PASTO)):
        assert (await client.get(f"/v1/veedurias/{vid}", headers=quien)).status_code == 403
    lista = await client.get(
        f"/v1/municipios/{PASTO}/veedurias", headers=como(app, Role.DEPARTAMENTAL, "52")
    )
    (fila,) = lista.json()["items"]
    assert fila["estado"] == "RESUELTA" and "texto" not in fila

    # the text lives only in private events: no outbox row carries it
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            salida = (await conn.execute(text("SELECT payload, headers::text FROM outbox"))).all()
            privados = (
                (
                    await conn.execute(
                        text("SELECT event_type FROM events WHERE stream_id = :s ORDER BY version"),
                        {"s": f"veeduria:{vid}"},
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert privados == [
        "VeeduriaRecibida",
        "TextoVeeduriaRegistrado",
        "VeeduriaActualizada",
        "RespuestaVeeduriaRegistrada",
        "VeeduriaActualizada",
    ]
    assert len(salida) == 3
    for payload, cabeceras in salida:
        crudo = bytes(payload).decode() + cabeceras
        assert "Pérez" not in crudo and "1098765432" not in crudo and "Texto" not in crudo


async def test_a_complaint_with_an_unpaired_surrogate_is_refused_and_nothing_stored(
    client, app, database_url
) -> None:
    """The guard runs in every service's app, before validation: one answer (400, this type)
    whatever field the escape is in, including free `Any` values bound for JSONB, which
    PostgreSQL refuses (pydantic alone rejects it only in `str` fields, with a 422)."""
    yo = municipal(app, PASTO)
    r = await client.post(
        f"/v1/municipios/{PASTO}/veedurias",
        content=rb'{"categoria": "ATENCION_DEL_COGESTOR", "texto": "sin respuesta \ud800",'
        rb' "fecha": "2026-06-01"}',
        headers={**yo, "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "urn:juntos:problem:unpaired-surrogate"
    listado = await client.get(f"/v1/municipios/{PASTO}/veedurias", headers=yo)
    assert listado.status_code == 200 and listado.json()["items"] == []
