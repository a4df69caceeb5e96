"""The family case through the API, against a real PostgreSQL: baseline, board, reaches,
births, plans, offline sync, and who may do what."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from accompaniment import handlers
from accompaniment.ejemplos import familia_ejemplo, hogar_completo, integrante_completo
from accompaniment.reglas import Miembro
from accompaniment.vocabulario import EstadoLogro
from juntos_web import Role

from .conftest import COGESTOR, MUNICIPIO, cogestor, como, entregar, familia_vinculada, integrante

HOY = date.today()


def cuerpo_linea_base(linea_base, **extra) -> dict:
    return {
        "fecha": HOY.isoformat(),
        "duracion_minutos": 90,
        "linea_base": linea_base.model_dump(mode="json"),
        **extra,
    }


async def eventos(app, fid: str) -> list[str]:
    async with app.state.engine.connect() as conn:
        return [r.event.event_type for r in await handlers.store.read(conn, fid)]


async def con_linea_base(client, app) -> tuple[str, dict]:
    linea_base, miembros, esperado = familia_ejemplo(HOY)
    fid = await familia_vinculada(app, miembros)
    r = await client.post(
        f"/v1/casos/{fid}/linea-base", json=cuerpo_linea_base(linea_base), headers=cogestor(app)
    )
    assert r.status_code == 201, r.text
    return fid, esperado


async def test_the_baseline_evaluates_the_45_lb_with_explanations(client, app) -> None:
    fid, esperado = await con_linea_base(client, app)
    tablero = (await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app))).json()
    assert len(tablero["logros"]) == 45
    assert {f["logro"]: f["estado"] for f in tablero["logros"]} == {
        k: v.value for k, v in esperado.items()
    }
    lb2 = next(f for f in tablero["logros"] if f["logro"] == "LB2")
    assert lb2["estado"] == "POR_ALCANZAR" and lb2["integrantes"] == ["jefe"]
    assert "jefe" in lb2["explicacion"] and lb2["desde"] == HOY.isoformat()
    tipos = await eventos(app, fid)
    assert tipos[:2] == ["CasoAbierto", "VisitaRegistrada"]
    assert {"LineaBaseLevantada", "LogrosEvaluados", "RespuestasRegistradas"} <= set(tipos)
    assert "LogroAlcanzado" not in tipos  # what was already met at the baseline is not a reach


async def test_a_follow_up_reaches_an_lb_once_and_a_resend_changes_nothing(client, app) -> None:
    fid, _ = await con_linea_base(client, app)
    visita = str(uuid.uuid4())
    seguimiento = {
        "visita_id": visita,
        "fecha": HOY.isoformat(),
        "duracion_minutos": 30,
        "cambios": {"integrantes": {"jefe": {"libreta_militar": True}}},
    }
    for _ in range(2):
        r = await client.post(
            f"/v1/casos/{fid}/seguimientos", json=seguimiento, headers=cogestor(app)
        )
        assert r.status_code == 201, r.text
    tipos = await eventos(app, fid)
    assert tipos.count("LogroAlcanzado") == 1
    assert tipos.count("VisitaRegistrada") == 2  # the baseline's and this one, not three
    # a new visit that changes nothing re-evaluates to the same board: no second reach
    otra = {**seguimiento, "visita_id": str(uuid.uuid4())}
    await client.post(f"/v1/casos/{fid}/seguimientos", json=otra, headers=cogestor(app))
    assert (await eventos(app, fid)).count("LogroAlcanzado") == 1
    # and a regression is published as LogroPerdido
    perdida = {
        **otra,
        "visita_id": str(uuid.uuid4()),
        "cambios": {"integrantes": {"jefe": {"libreta_militar": False}}},
    }
    await client.post(f"/v1/casos/{fid}/seguimientos", json=perdida, headers=cogestor(app))
    assert (await eventos(app, fid)).count("LogroPerdido") == 1


async def test_a_birth_makes_the_baby_lb_pending(client, app) -> None:
    linea_base, miembros, _ = familia_ejemplo(HOY)
    sin_bebe = [m for m in miembros if m.integrante_id != "bebe"]
    integrantes = {k: v for k, v in linea_base.integrantes.items() if k != "bebe"}
    fid = await familia_vinculada(app, sin_bebe)
    lb = linea_base.model_copy(update={"integrantes": integrantes})
    r = await client.post(
        f"/v1/casos/{fid}/linea-base", json=cuerpo_linea_base(lb), headers=cogestor(app)
    )
    assert r.status_code == 201, r.text
    antes = {
        f["logro"]: f["estado"]
        for f in (await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app))).json()[
            "logros"
        ]
    }
    assert antes["LB23"] == "NO_APLICA"
    recien = Miembro("recien", HOY - timedelta(days=10), "M", "HIJO")
    await entregar(
        app,
        "IntegranteRegistrado",
        {"familia_id": fid, "integrante": integrante(recien), "motivo": "NACIMIENTO"},
    )
    despues = (await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app))).json()["logros"]
    lb23 = next(f for f in despues if f["logro"] == "LB23")
    assert lb23["estado"] == "POR_ALCANZAR" and lb23["integrantes"] == ["recien"]
    assert (await eventos(app, fid)).count("LogrosEvaluados") == 2


async def test_the_plan_takes_only_pending_lb(client, app) -> None:
    fid, esperado = await con_linea_base(client, app)
    pendiente = next(k for k, v in esperado.items() if v is EstadoLogro.POR_ALCANZAR)
    alcanzado = next(k for k, v in esperado.items() if v is EstadoLogro.ALCANZADO)

    def plan(logro: str) -> dict:
        return {
            "fecha": HOY.isoformat(),
            "prioridades": [
                {
                    "logro": logro,
                    "responsable_id": "jefe",
                    "fecha_meta": "2027-06-30",
                    "acciones": ["ir a la registraduría"],
                    "recursos": ["tiempo los sábados"],
                }
            ],
        }

    mal = await client.put(f"/v1/casos/{fid}/plan", json=plan(alcanzado), headers=cogestor(app))
    assert mal.status_code == 422 and "POR_ALCANZAR" in mal.json()["detail"]
    bien = await client.put(f"/v1/casos/{fid}/plan", json=plan(pendiente), headers=cogestor(app))
    assert bien.status_code == 200, bien.text
    vista = (await client.get(f"/v1/casos/{fid}/plan", headers=cogestor(app))).json()
    assert vista["version"] == 1 and vista["prioridades"][0]["logro"] == pendiente
    # having a plan meets the LB about the Plan Familiar (LB34)
    tablero = (await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app))).json()
    assert next(f for f in tablero["logros"] if f["logro"] == "LB34")["estado"] == "ALCANZADO"


async def test_when_every_applicable_lb_is_reached_it_is_announced_once(client, app) -> None:
    linea_base, miembros, _ = familia_ejemplo(HOY)
    fid = await familia_vinculada(app, miembros, desplazada=False)
    casi = linea_base.model_copy(
        update={
            "hogar": hogar_completo(),
            "integrantes": {m.integrante_id: integrante_completo() for m in miembros},
        }
    )
    r = await client.post(
        f"/v1/casos/{fid}/linea-base", json=cuerpo_linea_base(casi), headers=cogestor(app)
    )
    assert r.status_code == 201, r.text
    tablero = (await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app))).json()["logros"]
    pendientes = [f["logro"] for f in tablero if f["estado"] == "POR_ALCANZAR"]
    assert pendientes == ["LB34"]  # only the plan is missing
    plan = {
        "fecha": HOY.isoformat(),
        "prioridades": [
            {"logro": "LB34", "fecha_meta": "2027-01-01", "acciones": ["construir el plan"]}
        ],
    }
    assert (
        await client.put(f"/v1/casos/{fid}/plan", json=plan, headers=cogestor(app))
    ).status_code == 200
    tipos = await eventos(app, fid)
    assert tipos.count("TodosLosLogrosAlcanzados") == 1
    assert tipos.count("LogroAlcanzado") == 1


async def test_offline_batch_resent_conflicts_shown_others_merged(client, app) -> None:
    fid, _ = await con_linea_base(client, app)
    version = (await client.get(f"/v1/casos/{fid}", headers=cogestor(app))).json()["version"]

    def item(cambios: dict, vista: int) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "familia_id": fid,
            "version_vista": vista,
            "tipo": "SEGUIMIENTO",
            "fecha": HOY.isoformat(),
            "duracion_minutos": 20,
            "cambios": cambios,
        }

    primero = item({"integrantes": {"jefe": {"libreta_militar": True}}}, version)
    lote = {"items": [primero]}
    r1 = await client.post("/v1/sync", json=lote, headers=cogestor(app))
    r2 = await client.post("/v1/sync", json=lote, headers=cogestor(app))
    assert r1.json()["resultados"][0]["estado"] == "APLICADO"
    assert r2.json()["resultados"][0]["estado"] == "DUPLICADO"
    # a second device, still at the old version, changed the same answer: a conflict, both values
    choque = item({"integrantes": {"jefe": {"libreta_militar": False}}}, version)
    # and another answer nobody touched since: merged
    aparte = item({"hogar": {"credito_usura": True}}, version)
    r3 = (
        await client.post("/v1/sync", json={"items": [choque, aparte]}, headers=cogestor(app))
    ).json()
    estados = [x["estado"] for x in r3["resultados"]]
    assert estados == ["CONFLICTO", "APLICADO"], r3
    conflicto = r3["resultados"][0]["conflictos"][0]
    assert conflicto == {
        "pregunta": "integrantes.jefe.libreta_militar",
        "valor_dispositivo": False,
        "valor_actual": True,
    }
    assert r3["resumen"] == {"CONFLICTO": 1, "APLICADO": 1}


async def test_another_cogestors_family_is_refused(client, app) -> None:
    linea_base, miembros, _ = familia_ejemplo(HOY)
    fid = await familia_vinculada(app, miembros, cogestor_id="otro-cogestor")
    r = await client.post(
        f"/v1/casos/{fid}/linea-base", json=cuerpo_linea_base(linea_base), headers=cogestor(app)
    )
    assert r.status_code == 403
    lote = {
        "items": [
            {
                "id": str(uuid.uuid4()),
                "familia_id": fid,
                "version_vista": 1,
                "tipo": "SEGUIMIENTO",
                "fecha": HOY.isoformat(),
                "duracion_minutos": 20,
                "cambios": {},
            }
        ]
    }
    r = await client.post("/v1/sync", json=lote, headers=cogestor(app))
    assert r.json()["resultados"][0]["estado"] == "RECHAZADO"


async def test_exit_closes_the_case_and_a_delivered_service_counts_as_evidence(client, app) -> None:
    fid, _ = await con_linea_base(client, app)
    await entregar(
        app,
        "ServicioPrestado",
        {
            "servicio_id": "s1",
            "familia_id": fid,
            "integrante_id": "jefe",
            "logros": ["LB2"],
            "fecha": HOY.isoformat(),
            "programa_id": "p1",
            "entidad": "mindefensa",
            "valor": 0,
        },
        service="offer",
    )
    async with app.state.engine.connect() as conn:
        registrados = await handlers.store.read(conn, fid)
    alcanzados = [r.event for r in registrados if r.event.event_type == "LogroAlcanzado"]
    assert [(e.logro, e.evidencia.tipo) for e in alcanzados] == [("LB2", "SERVICIO")]
    await entregar(
        app,
        "FamiliaRetirada",
        {"familia_id": fid, "motivo": "VOLUNTARIO", "fecha": HOY.isoformat()},
    )
    caso = (await client.get(f"/v1/casos/{fid}", headers=como(app, Role.NACIONAL))).json()
    assert caso["estado"] == "CERRADO"
    r = await client.post(
        f"/v1/casos/{fid}/visitas",
        json={"fecha": HOY.isoformat(), "duracion_minutos": 10, "tipo": "SEGUIMIENTO"},
        headers=como(app, Role.COGESTOR, MUNICIPIO, sub=COGESTOR),
    )
    assert r.status_code in (403, 409)  # unassigned on exit, and the case is closed
