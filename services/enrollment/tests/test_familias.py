"""Family life cycle through the API: vinculación, members, cogestor load, exits, erasure."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import httpx
from enrollment import handlers
from fastapi import FastAPI
from juntos_web import Role
from juntos_web.testing import sample_callers
from sqlalchemy import text

from .conftest import como, importar_muestra

COGESTORA = "cgs-ana"


async def una_familia(client: httpx.AsyncClient, app: FastAPI, municipio: str = "05001") -> dict:
    await importar_muestra(client, app, "SISBEN")
    r = await client.get(f"/v1/familias?municipio={municipio}", headers=como(app, Role.NACIONAL))
    primera = r.json()["items"][0]
    detalle = await client.get(
        f"/v1/familias/{primera['familia_id']}", headers=como(app, Role.NACIONAL)
    )
    return detalle.json()


def jefe(familia: dict) -> str:
    return next(i["integrante_id"] for i in familia["integrantes"] if i["parentesco"] == "JEFE")


def nieto(**datos: str) -> dict:
    """A new member's body; `datos` replaces personal fields."""
    return {
        "fecha_nacimiento": "2025-06-01",
        "sexo": "H",
        "parentesco": "NIETO",
        "datos": {
            "tipo_documento": "CC",
            "numero_documento": "3003001",
            "primer_nombre": "Pedro",
            "primer_apellido": "Suárez",
        }
        | datos,
    }


async def vincular(client, app, familia: dict, *, sub: str = COGESTORA, mpio: str = "05001"):
    return await client.post(
        f"/v1/familias/{familia['familia_id']}/vinculacion",
        json={"fecha": "2026-01-15", "firmante_id": jefe(familia), "lugar_municipio": mpio},
        headers=como(app, Role.COGESTOR, mpio, sub=sub),
    )


async def test_vinculacion_starts_the_five_years_and_refuses_a_second_time(client, app) -> None:
    familia = await una_familia(client, app)
    r = await vincular(client, app, familia)
    assert r.status_code == 200, r.text
    assert r.json()["estado"] == "VINCULADA"
    assert r.json()["fecha_limite"] == "2031-01-15"
    again = await vincular(client, app, familia)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:juntos:problem:already-vinculada"


async def test_a_cogestor_of_another_municipality_cannot_vincular(client, app) -> None:
    familia = await una_familia(client, app)
    r = await vincular(client, app, familia, mpio="05002")
    assert r.status_code == 403
    assert (await vincular(client, app, familia)).status_code == 200


async def test_an_exited_family_accepts_nothing_until_a_national_reopening(client, app) -> None:
    familia = await una_familia(client, app)
    fid = familia["familia_id"]
    retiro = await client.post(
        f"/v1/familias/{fid}/retiro",
        json={"motivo": "VOLUNTARIO", "fecha": "2026-02-01"},
        headers=como(app, Role.MUNICIPAL, "05001"),
    )
    assert retiro.status_code == 200 and retiro.json()["estado"] == "RETIRADA"
    r = await vincular(client, app, familia)
    assert r.status_code == 409 and r.json()["type"].endswith("family-exited")
    reabrir = await client.post(
        f"/v1/familias/{fid}/reapertura",
        json={"motivo": "SALIDA_POR_ERROR", "justificacion": "retiro registrado por error"},
        headers=como(app, Role.NACIONAL),
    )
    assert reabrir.status_code == 200 and reabrir.json()["estado"] == "PRESELECCIONADA"
    assert (await vincular(client, app, familia)).status_code == 200


async def test_concurrent_edits_with_the_same_etag_give_exactly_one_412(client, app) -> None:
    familia = await una_familia(client, app)
    fid = familia["familia_id"]
    etag = f'"{familia["version"]}"'
    hijo = next(i for i in familia["integrantes"] if i["parentesco"] != "JEFE")

    async def corregir(etnia: str) -> httpx.Response:
        cuerpo = {k: hijo[k] for k in ("fecha_nacimiento", "sexo", "parentesco")}
        return await client.put(
            f"/v1/familias/{fid}/integrantes/{hijo['integrante_id']}",
            json={**cuerpo, "etnia": etnia},
            headers={"If-Match": etag, **como(app, Role.MUNICIPAL, "05001")},
        )

    a, b = await asyncio.gather(corregir("RAIZAL"), corregir("ROM"))  # in no sample row
    assert sorted([a.status_code, b.status_code]) == [200, 412]
    perdedor = a if a.status_code == 412 else b
    assert perdedor.json()["type"].endswith("stale-version")


async def test_assignment_over_capacity_is_refused(client, app) -> None:
    await importar_muestra(client, app, "SISBEN")
    r = await client.put(
        f"/v1/cogestores/{COGESTORA}",
        json={
            "operador": "op-1",
            "microrregion": "valle-aburra",
            "municipios": ["05001"],
            "capacidad": 2,
        },
        headers=como(app, Role.DEPARTAMENTAL, "05"),
    )
    assert r.status_code == 200, r.text
    ids = [
        f["familia_id"]
        for f in (
            await client.get("/v1/familias?municipio=05001", headers=como(app, Role.NACIONAL))
        ).json()["items"]
    ]
    assert len(ids) == 3

    async def asignar(fid: str) -> httpx.Response:
        return await client.put(
            f"/v1/familias/{fid}/cogestor",
            json={"cogestor_id": COGESTORA},
            headers=como(app, Role.MUNICIPAL, "05001"),
        )

    estados = [r.status_code for r in await asyncio.gather(*(asignar(f) for f in ids))]
    assert sorted(estados) == [200, 200, 409]
    cogestor = await client.get(f"/v1/cogestores/{COGESTORA}", headers=como(app, Role.NACIONAL))
    assert cogestor.json()["carga"] == 2
    # the cogestor now sees its two families, and only those
    suyas = await client.get(
        "/v1/familias", headers=como(app, Role.COGESTOR, "05001", sub=COGESTORA)
    )
    assert len(suyas.json()["items"]) == 2
    # a withdrawal frees a slot
    asignada = suyas.json()["items"][0]["familia_id"]
    await client.post(
        f"/v1/familias/{asignada}/retiro",
        json={"motivo": "TRASLADO_AL_EXTERIOR", "fecha": "2026-03-01"},
        headers=como(app, Role.NACIONAL),
    )
    cogestor = await client.get(f"/v1/cogestores/{COGESTORA}", headers=como(app, Role.NACIONAL))
    assert cogestor.json()["carga"] == 1


async def test_a_new_member_with_an_enrolled_document_is_refused_unless_overridden(
    client, app
) -> None:
    familia = await una_familia(client, app)
    fid = familia["familia_id"]
    nuevo = nieto(numero_documento="3003001")
    headers = como(app, Role.MUNICIPAL, "05001")
    r = await client.post(f"/v1/familias/{fid}/integrantes", json=nuevo, headers=headers)
    assert r.status_code == 409 and r.json()["type"].endswith("duplicate-person")
    forzado = {**nuevo, "forzar_duplicado": {"justificacion": "persona distinta, mismo número"}}
    r = await client.post(f"/v1/familias/{fid}/integrantes", json=forzado, headers=headers)
    assert r.status_code == 201, r.text
    auditoria = await client.get(f"/v1/familias/{fid}/auditoria", headers=como(app, Role.NACIONAL))
    assert "FORZAR_DUPLICADO" in [a["accion"] for a in auditoria.json()]


async def test_idempotency_key_replays_the_first_answer(client, app) -> None:
    familia = await una_familia(client, app)
    fid = familia["familia_id"]
    cuerpo = {
        "fecha_nacimiento": "2026-06-01",
        "sexo": "M",
        "parentesco": "NIETO",
        "datos": {
            "tipo_documento": "RC",
            "numero_documento": "1122334455",
            "primer_nombre": "Luna",
            "primer_apellido": "Pérez",
        },
    }
    headers = {"Idempotency-Key": "abc-123", **como(app, Role.MUNICIPAL, "05001")}
    first = await client.post(f"/v1/familias/{fid}/integrantes", json=cuerpo, headers=headers)
    second = await client.post(f"/v1/familias/{fid}/integrantes", json=cuerpo, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    otro = await client.post(
        f"/v1/familias/{fid}/integrantes", json={**cuerpo, "sexo": "H"}, headers=headers
    )
    assert otro.status_code == 422


async def test_personal_reads_are_audited_and_erasure_shreds_them(client, app) -> None:
    familia = await una_familia(client, app)
    fid = familia["familia_id"]
    assert all(i["datos"]["primer_nombre"] for i in familia["integrantes"])
    borrado = await client.delete(
        f"/v1/familias/{fid}/datos-personales", headers=como(app, Role.NACIONAL)
    )
    assert borrado.status_code == 200, borrado.text
    despues = (await client.get(f"/v1/familias/{fid}", headers=como(app, Role.NACIONAL))).json()
    assert despues["datos_eliminados"] is True
    assert all(i["datos"] is None for i in despues["integrantes"])
    assert len(despues["integrantes"]) == len(familia["integrantes"])  # history stays
    lecturas = await client.get(f"/v1/familias/{fid}/auditoria", headers=como(app, Role.NACIONAL))
    assert [a["accion"] for a in lecturas.json()].count("LEER_FAMILIA") >= 2
    # the key is gone: the sealed fields cannot be opened even with direct database access
    srv = app.state.enrollment
    async with srv.engine.connect() as conn:
        llave = (
            await conn.execute(
                text("SELECT llave FROM llaves_familia WHERE familia_id = :f"), {"f": fid}
            )
        ).scalar_one()
        docs = (
            await conn.execute(
                text("SELECT count(*) FROM documentos WHERE familia_id = :f"), {"f": fid}
            )
        ).scalar_one()
    assert llave is None and docs == 0
    # a search by the erased person's document finds nothing
    r = await client.post(
        "/v1/familias/busqueda",
        json={"tipo_documento": "CC", "numero_documento": "1001001"},
        headers=como(app, Role.NACIONAL),
    )
    assert r.status_code == 404 or r.json()["familia_id"] != fid


async def test_five_years_after_vinculacion_the_job_exits_the_family(client, app) -> None:
    familia = await una_familia(client, app)
    assert (await vincular(client, app, familia)).status_code == 200
    srv = app.state.enrollment
    assert await handlers.egresar_por_tiempo(srv, date(2031, 1, 14)) == 0
    assert await handlers.egresar_por_tiempo(srv, date(2031, 1, 15)) == 1
    detalle = await client.get(
        f"/v1/familias/{familia['familia_id']}", headers=como(app, Role.NACIONAL)
    )
    assert detalle.json()["estado"] == "EGRESADA_POR_TIEMPO"
    assert await handlers.egresar_por_tiempo(srv, date(2032, 1, 1)) == 0


async def test_search_by_document_for_an_entity(client, app) -> None:
    await importar_muestra(client, app, "SISBEN")
    r = await client.post(
        "/v1/familias/busqueda",
        json={"tipo_documento": "TI", "numero_documento": "1001003"},  # the RC of line 4
        headers=como(app, Role.ENTIDAD, "icbf"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["estado"] == "PRESELECCIONADA"
    otro = await client.post(
        "/v1/familias/busqueda",
        json={"tipo_documento": "CC", "numero_documento": "1001001"},
        headers=como(app, Role.MUNICIPAL, "05002"),
    )
    assert otro.status_code == 404


async def _busquedas(app: FastAPI) -> int:
    async with app.state.enrollment.engine.connect() as conn:
        n = await conn.execute(
            text("SELECT count(*) FROM auditoria WHERE accion = 'BUSCAR_DOCUMENTO'")
        )
        return int(n.scalar_one())


async def _ultimas_busquedas(app: FastAPI, n: int) -> list[tuple[str | None, bool]]:
    """The last `n` search audit rows, oldest first: (family, found)."""
    async with app.state.enrollment.engine.connect() as conn:
        filas = await conn.execute(
            text(
                "SELECT familia_id, (detalle->>'encontrada')::boolean FROM auditoria"
                " WHERE accion = 'BUSCAR_DOCUMENTO' ORDER BY id DESC LIMIT :n"
            ),
            {"n": n},
        )
        return [(f, e) for f, e in reversed(filas.all())]


async def test_bulk_search_answers_each_document_as_the_single_search(client, app) -> None:
    """For the roles that may search in bulk (national, an entity) it answers each document as
    the single search does, in order (its body, or null where it answers 404), and audits each
    document as one search; every other sample caller (each role inside and outside 05001) is
    refused and nothing is audited."""
    await importar_muestra(client, app, "SISBEN")
    documentos = [
        {"tipo_documento": "CC", "numero_documento": "1001001"},
        {"tipo_documento": "CC", "numero_documento": "999999999"},  # nobody
        {"tipo_documento": "RC", "numero_documento": "1001003"},
        {"tipo_documento": "CC", "numero_documento": "2002001"},
        {"tipo_documento": "CC", "numero_documento": "1001001"},  # asked twice: answered twice
    ]
    vistos = set()
    for role, scope in sample_callers("05001"):
        h = como(app, role, scope)
        if role not in (Role.NACIONAL, Role.ENTIDAD):
            antes = await _busquedas(app)
            lote = await client.post(
                "/v1/familias/busqueda/lote", json={"documentos": documentos}, headers=h
            )
            assert lote.status_code == 403, (role, scope, lote.text)
            assert await _busquedas(app) == antes
            continue
        solos = []
        for d in documentos:
            r = await client.post("/v1/familias/busqueda", json=d, headers=h)
            assert r.status_code in (200, 404), r.text
            solos.append(r.json() if r.status_code == 200 else None)
        antes = await _busquedas(app)
        lote = await client.post(
            "/v1/familias/busqueda/lote", json={"documentos": documentos}, headers=h
        )
        assert lote.status_code == 200, lote.text
        assert lote.json()["resultados"] == solos, (role, scope)
        assert await _busquedas(app) == antes + len(documentos)
        assert await _ultimas_busquedas(app, len(documentos)) == [  # in the order asked
            (x["familia_id"] if x else None, x is not None) for x in solos
        ]
        vistos.add(tuple(x is not None for x in solos))
    assert vistos == {(True, False, True, True, True)}  # national and entity see every family
    anonimo = await client.post("/v1/familias/busqueda/lote", json={"documentos": documentos})
    assert anonimo.status_code == 401
    demasiados = await client.post(
        "/v1/familias/busqueda/lote",
        json={"documentos": documentos * 201},
        headers=como(app, Role.NACIONAL),
    )
    assert demasiados.status_code == 422
    assert "1000" in demasiados.text


async def test_key_rotation_rewraps_every_family_key_with_the_new_kek(client, app) -> None:
    from cryptography.fernet import Fernet
    from enrollment.boveda import Boveda, ClaveNoDisponible

    await importar_muestra(client, app, "SISBEN")
    srv = app.state.enrollment
    vieja = srv.settings.keks.get_secret_value()
    nueva = Fernet.generate_key().decode()
    rotado = handlers.Servicios(
        engine=srv.engine,
        boveda=Boveda(f"{nueva},{vieja}"),
        huellas=srv.huellas,
        settings=srv.settings,
    )
    assert await handlers.reenvolver_llaves(rotado, lote=3) == 4  # two batches
    solo_nueva = Boveda(nueva)
    async with srv.engine.connect() as conn:
        llaves = [
            bytes(r.llave) for r in await conn.execute(text("SELECT llave FROM llaves_familia"))
        ]
    assert len(llaves) == 4
    for llave in llaves:
        solo_nueva.abrir_llave(llave)  # opens without the old KEK
        try:
            Boveda(vieja).abrir_llave(llave)
        except ClaveNoDisponible:
            continue
        raise AssertionError("the old KEK still opens a rotated key")


async def test_a_blank_name_is_refused_by_the_schema_not_after_stripping(client, app) -> None:
    """The schema and the server agree: "\r" is printable but blank, and stripped it is empty."""
    familia = await una_familia(client, app)
    esquema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    patron = esquema["DatosPersonales"]["properties"]["primer_apellido"]["pattern"]
    nuevo = nieto(numero_documento="9009001", primer_apellido="\r")
    r = await client.post(
        f"/v1/familias/{familia['familia_id']}/integrantes",
        json=nuevo,
        headers=como(app, Role.MUNICIPAL, "05001"),
    )
    assert r.status_code == 422 and "primer_apellido" in r.json()["detail"]
    assert re.fullmatch(patron, "\r") is None and re.fullmatch(patron, " Suárez ")
