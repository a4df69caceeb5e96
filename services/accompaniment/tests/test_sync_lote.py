"""Offline batches applied together: the same per-item results as one by one, in a number of
statements that does not grow with the batch, and one by one again when a race is lost."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from typing import Any

import pytest
from accompaniment import domain, handlers, queries, snapshots
from accompaniment.ejemplos import familia_ejemplo
from accompaniment.vocabulario import TipoVisita
from juntos_testing.db import statements

from .conftest import cogestor, familia_vinculada

HOY = date.today()


def item(fid: str, vista: int, **campos: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "familia_id": fid,
        "version_vista": vista,
        "fecha": HOY.isoformat(),
        "duracion_minutos": 45,
        **campos,
    }


def linea_base(fid: str, vista: int, lb: Any) -> dict[str, Any]:
    return item(fid, vista, tipo="LINEA_BASE", linea_base=lb.model_dump(mode="json"))


def seguimiento(fid: str, vista: int, cambios: dict[str, Any]) -> dict[str, Any]:
    return item(fid, vista, tipo="SEGUIMIENTO", cambios=cambios)


async def familias(app, n: int) -> list[tuple[str, Any]]:
    hechas = []
    for _ in range(n):
        lb, miembros, _ = familia_ejemplo(HOY)
        hechas.append((await familia_vinculada(app, miembros), lb))
    return hechas


async def version(client, app, fid: str) -> int:
    return (await client.get(f"/v1/casos/{fid}", headers=cogestor(app))).json()["version"]


async def sync(client, app, items: list[dict[str, Any]]) -> dict[str, Any]:
    r = await client.post("/v1/sync", json={"items": items}, headers=cogestor(app))
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_kind_of_item_gets_the_result_it_gets_alone(client, app) -> None:
    (a, lb_a), (b, lb_b), (c, lb_c), (d, lb_d), (e, lb_e) = await familias(app, 5)
    ajena, _ = (await familias_de_otro(app))[0]
    # b already has its baseline (a resend is a duplicate); e has one and a follow-up since
    previa = linea_base(b, 1, lb_b)
    await sync(client, app, [previa, linea_base(e, 1, lb_e)])
    vista_e = await version(client, app, e)
    await sync(client, app, [seguimiento(e, vista_e, {"hogar": {"credito_usura": True}})])
    items = [
        linea_base(a, 1, lb_a),  # new: applied
        previa,  # resent: duplicate
        seguimiento(c, 1, {"hogar": {"credito_usura": True}}),  # no baseline yet: refused
        # two items of one family, in order: the follow-up sees the baseline, which came after
        # the version its device saw, so (as one by one) it conflicts instead of being refused
        linea_base(d, 1, lb_d),
        seguimiento(d, 1, {"integrantes": {"jefe": {"libreta_militar": True}}}),
        seguimiento(e, vista_e, {"integrantes": {"jefe": {"libreta_militar": True}}}),  # merged
        linea_base(ajena, 1, lb_c),  # another cogestor's family
    ]
    respuesta = await sync(client, app, items)
    estados = [r["estado"] for r in respuesta["resultados"]]
    assert estados == [
        "APLICADO",
        "DUPLICADO",
        "RECHAZADO",
        "APLICADO",
        "CONFLICTO",
        "APLICADO",
        "RECHAZADO",
    ], respuesta
    assert [r["id"] for r in respuesta["resultados"]] == [i["id"] for i in items]
    assert respuesta["resumen"] == {"APLICADO": 3, "CONFLICTO": 1, "DUPLICADO": 1, "RECHAZADO": 2}
    for r, fid in zip(respuesta["resultados"], [a, b, None, d, d, e], strict=False):
        if fid is not None:
            assert r["version"] == await version(client, app, fid)
    # the case summaries were projected for the families applied together
    async with app.state.engine.connect() as conn:
        filas = await queries.familias(conn, [a, d])
    assert filas[a].caso_version == await version(client, app, a)
    assert filas[a].linea_base == HOY and filas[a].pendientes is not None
    assert filas[d].caso_version == await version(client, app, d)


def sin_snapshots(enviados: list[str]) -> list[str]:
    return [s for s in enviados if not s.startswith("INSERT INTO snapshots")]


async def familias_de_otro(app) -> list[tuple[str, Any]]:
    lb, miembros, _ = familia_ejemplo(HOY)
    return [(await familia_vinculada(app, miembros, cogestor_id="otro-cogestor"), lb)]


async def test_a_batch_costs_the_same_statements_for_one_family_or_twenty(client, app) -> None:
    una = await familias(app, 1)
    veinte = await familias(app, 20)
    enviados = statements(app.state.engine)
    await sync(client, app, [linea_base(fid, 1, lb) for fid, lb in una])
    por_una = len(enviados)
    enviados.clear()
    respuesta = await sync(client, app, [linea_base(fid, 1, lb) for fid, lb in veinte])
    assert respuesta["resumen"] == {"APLICADO": 20}
    assert len(enviados) == por_una, enviados


async def test_a_lost_race_sends_the_batch_one_by_one(client, app, monkeypatch) -> None:
    (a, lb_a), (b, lb_b) = await familias(app, 2)
    leer = queries.miembros_de
    carreras = []

    async def con_carrera(conn, familia_ids):
        # between the batch's read of the cases and its append, another writer visits a
        if not carreras:
            visita = domain.Visita(
                visita_id=str(uuid.uuid4()),
                cogestor_id="otro",
                fecha=HOY,
                tipo=TipoVisita.VINCULACION,
                duracion_minutos=10,
            )
            carreras.append(
                await handlers.ejecutar(
                    handlers.Servicios(app.state.engine),
                    a,
                    domain.RegistrarVisita(visita),
                    actor="otro",
                )
            )
        return await leer(conn, familia_ids)

    monkeypatch.setattr(queries, "miembros_de", con_carrera)
    respuesta = await sync(client, app, [linea_base(a, 1, lb_a), linea_base(b, 1, lb_b)])
    assert carreras and carreras[0].version == 2
    assert [r["estado"] for r in respuesta["resultados"]] == ["APLICADO", "APLICADO"], respuesta
    assert respuesta["resultados"][0]["version"] == await version(client, app, a)
    async with app.state.engine.connect() as conn:
        tipos = [r.event.event_type for r in await handlers.store.read(conn, a)]
    assert tipos.count("VisitaRegistrada") == 2 and tipos.count("LineaBaseLevantada") == 1


async def test_a_plan_built_at_a_visit_is_the_plan_of_the_put_and_resends_are_safe(
    client, app
) -> None:
    (a, lb_a), (b, lb_b) = await familias(app, 2)
    await sync(client, app, [linea_base(a, 1, lb_a), linea_base(b, 1, lb_b)])
    tableros = {
        fid: (await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app))).json()["logros"]
        for fid in (a, b)
    }

    def prioridad(fid: str, estado: str) -> dict[str, Any]:
        logro = next(x["logro"] for x in tableros[fid] if x["estado"] == estado)
        return {"logro": logro, "fecha_meta": "2027-06-30", "acciones": ["ir a la registraduría"]}

    plan_a = item(a, 1, tipo="PLAN_FAMILIAR", prioridades=[prioridad(a, "POR_ALCANZAR")])
    plan_b = item(b, 1, tipo="PLAN_FAMILIAR", prioridades=[prioridad(b, "ALCANZADO")])
    respuesta = await sync(client, app, [plan_a, plan_b])
    assert [r["estado"] for r in respuesta["resultados"]] == ["APLICADO", "RECHAZADO"]
    assert "POR_ALCANZAR" in respuesta["resultados"][1]["detalle"]
    plan = (await client.get(f"/v1/casos/{a}/plan", headers=cogestor(app))).json()
    assert (
        plan["version"] == 1
        and plan["prioridades"][0]["logro"] == plan_a["prioridades"][0]["logro"]
    )
    tablero = (await client.get(f"/v1/casos/{a}/logros", headers=cogestor(app))).json()["logros"]
    assert next(x for x in tablero if x["logro"] == "LB34")["estado"] == "ALCANZADO"
    # the visit is recorded with its type, and a resend builds no second plan version
    assert (await sync(client, app, [plan_a]))["resultados"][0]["estado"] == "DUPLICADO"
    async with app.state.engine.connect() as conn:
        eventos = [r.event for r in await handlers.store.read(conn, a)]
    assert [e.tipo for e in eventos if e.event_type == "VisitaRegistrada"] == [
        TipoVisita.LINEA_BASE,
        TipoVisita.PLAN_FAMILIAR,
    ]
    assert sum(e.event_type == "PlanFamiliarConstruido" for e in eventos) == 1
    assert (await client.get(f"/v1/casos/{a}/plan", headers=cogestor(app))).json()["version"] == 1


async def test_an_item_with_two_contents_is_refused_whole(client, app) -> None:
    ((a, lb_a),) = await familias(app, 1)
    doble = {**linea_base(a, 1, lb_a), "cambios": {"hogar": {"credito_usura": True}}}
    r = await client.post("/v1/sync", json={"items": [doble]}, headers=cogestor(app))
    assert r.status_code == 422 and "at most one" in r.text
    assert await version(client, app, a) == 1


@pytest.mark.parametrize("cada", [None, 1], ids=["snapshots-as-configured", "snapshot-every-event"])
async def test_follow_ups_against_an_older_version_are_compared_in_the_batch(
    client, app, monkeypatch, cada
) -> None:
    """Cases changed after the version the devices saw: their follow-ups are merged, or
    refused as conflicts with both values, in the batch's one transaction, not one by one;
    the same when the case loads from a snapshot taken after the device's version."""
    if cada is not None:
        politica = dataclasses.replace(snapshots.casos, every=cada)
        monkeypatch.setattr(
            handlers, "casos", dataclasses.replace(handlers.casos, snapshots=politica)
        )
    hechas = await familias(app, 6)
    await sync(client, app, [linea_base(fid, 1, lb) for fid, lb in hechas])
    vistas = {fid: await version(client, app, fid) for fid, _ in hechas}
    usura = {"hogar": {"credito_usura": True}}
    await sync(client, app, [seguimiento(fid, vistas[fid], usura) for fid, _ in hechas])
    despues = {fid: await version(client, app, fid) for fid, _ in hechas}
    fresco = await familias(app, 1)
    await sync(client, app, [linea_base(fid, 1, lb) for fid, lb in fresco])
    vista_fresca = await version(client, app, fresco[0][0])
    enviados = statements(app.state.engine)
    libreta = {"integrantes": {"jefe": {"libreta_militar": True}}}
    await sync(client, app, [seguimiento(fresco[0][0], vista_fresca, libreta)])
    por_uno = len(sin_snapshots(enviados))
    enviados.clear()
    sin_usura = {"hogar": {"credito_usura": False}}
    items = [
        seguimiento(fid, vistas[fid], sin_usura if n % 2 else libreta)
        for n, (fid, _) in enumerate(hechas)
    ]
    respuesta = await sync(client, app, items)
    # (one more statement if some case of the batch was due a snapshot, whatever their number)
    assert len(sin_snapshots(enviados)) == por_uno, enviados
    assert respuesta["resumen"] == {"APLICADO": 3, "CONFLICTO": 3}, respuesta
    for n, ((fid, _), r) in enumerate(zip(hechas, respuesta["resultados"], strict=True)):
        if n % 2:  # the same question changed since: nothing written
            assert r["estado"] == "CONFLICTO"
            assert r["conflictos"] == [
                {
                    "pregunta": "hogar.credito_usura",
                    "valor_dispositivo": False,
                    "valor_actual": True,
                }
            ]
            assert r["version"] == despues[fid] == await version(client, app, fid)
        else:  # another question: merged
            assert r["estado"] == "APLICADO"
            assert r["version"] == await version(client, app, fid) > despues[fid]
    async with app.state.engine.connect() as conn:
        for fid, _ in hechas:  # the case as loaded (from a snapshot or not) = all its events
            caso, v = await handlers.caso(conn, fid)
            eventos = [r.event for r in await handlers.store.read(conn, fid)]
            assert (caso, v) == (domain.fold(eventos), len(eventos))
            if cada == 1:
                tomada = (await handlers.store.load(conn, fid)).snapshot
                assert tomada is not None and tomada.version == v
