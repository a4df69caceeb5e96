"""Exits from enrollment applied in runs (`on_batch`: a wave of graduations): the families'
demand dropped and every slot they hold released, as one event at a time would, in a number of
statements that does not grow with the run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from juntos_events.envelope import Envelope
from juntos_testing.db import statements
from juntos_web import Role
from offer.consumers import salidas
from sqlalchemy import text

from .conftest import Familia, como, familia, habilitar, miembro, programa_body, tablero

MPIO = "05001"
CUANDO = datetime(2026, 9, 15, 12, tzinfo=UTC)


def salida(tipo: str, familia_id: str, fecha: str = "2026-09-15") -> Envelope:
    datos: dict[str, Any] = {"familia_id": familia_id, "fecha": fecha}
    if tipo == "FamiliaRetirada":
        datos["motivo"] = "VOLUNTARIO"
    return Envelope(
        id=str(uuid.uuid4()),
        service="enrollment",
        event_type=tipo,
        schema_version=1,
        subject=familia_id,
        time=CUANDO,
        data=datos,
    )


async def _programa(client: httpx.AsyncClient, app: FastAPI, **cambios: Any) -> dict:
    r = await client.post(
        "/v1/programas",
        json=programa_body(municipios=[MPIO], **cambios),
        headers=como(app, Role.NACIONAL),
    )
    assert r.status_code == 201, r.text
    await habilitar(client, app, r.json(), 10)
    return r.json()


async def _asignar(client, app, p: dict, f: Familia, integrante: str | None) -> None:
    r = await client.post(
        f"/v1/programas/{p['programa_id']}/cupos/{MPIO}/2026/asignaciones",
        json={"familia_id": f.familia_id, "integrante_id": integrante, "fecha": "2026-09-01"},
        headers=como(app, Role.NACIONAL),
    )
    assert r.status_code == 201, r.text


async def mundo(client: httpx.AsyncClient, app: FastAPI) -> list[Familia]:
    """Five families of 05001 with a child and demand for LB8 (a member's) and LB9 (the
    household's); the first three hold a slot of each program, the fourth one slot."""
    primera_infancia = await _programa(client, app)
    huertas = await _programa(
        client, app, alcance="FAMILIA", logros=["LB9"], elegibilidad={}, titulo="Huertas"
    )
    familias = []
    for i in range(5):
        f = await familia(app, miembro("1985-01-01", parentesco="JEFE"), miembro("2024-02-02"))
        await tablero(app, f, "2026-08-01", {"LB8": [f.id_de(1)], "LB9": []})
        if i < 4:
            await _asignar(client, app, primera_infancia, f, f.id_de(1))
        if i < 3:
            await _asignar(client, app, huertas, f, None)
        familias.append(f)
    return familias


CONSULTAS = {
    "familias": "SELECT familia_id, activa FROM familias",
    "demanda": "SELECT familia_id, logro FROM demanda",
    "balance": "SELECT municipio, logro, demanda, cupos, insatisfecha FROM balance",
    "asignaciones": "SELECT cupo_id, familia_id, estado, motivo FROM asignaciones",
    "cupos": "SELECT programa_id, municipio, periodo, asignados, version FROM cupos",
    "eventos": "SELECT stream_id, version, event_type, data - 'cupo_id',"
    " metadata->>'causation_id' FROM events WHERE event_type = 'CupoLiberado'",
}


async def fotografia(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        nombre: sorted((tuple(f) for f in await conn.execute(text(sql))), key=repr)
        for nombre, sql in CONSULTAS.items()
    }


async def test_runs_give_what_one_at_a_time_gives(client, app: FastAPI) -> None:
    a, b, c, d, e = await mundo(client, app)
    run = [
        salida("FamiliaPromovida", a.familia_id),
        salida("FamiliaRetirada", b.familia_id),
        salida("FamiliaRetirada", a.familia_id),  # already out: nothing more
        salida("FamiliaEgresadaPorTiempo", d.familia_id),
        salida("FamiliaPromovida", str(uuid.uuid4())),  # unknown to offer
        salida("FamiliaPromovida", e.familia_id),  # no slot: only its demand
    ]
    resultados = {}
    async with app.state.offer.engine.connect() as conn:
        for largo in (1, 2, 4, len(run)):
            async with conn.begin() as tx:  # each from the same committed state
                for i in range(0, len(run), largo):
                    await salidas(run[i : i + largo], conn)
                resultados[largo] = await fotografia(conn)
                await tx.rollback()
    uno_a_uno = resultados.pop(1)
    for largo, en_lote in resultados.items():
        assert en_lote == uno_a_uno, f"runs of {largo}"
    activas = dict(uno_a_uno["familias"])
    assert [activas[f.familia_id] for f in (a, b, c, d, e)] == [False, False, True, False, False]
    assert {f for f, _ in uno_a_uno["demanda"]} == {c.familia_id}
    liberadas = [x for x in uno_a_uno["asignaciones"] if x[2] == "LIBERADO"]
    assert sorted(x[1] for x in liberadas) == sorted(
        [a.familia_id] * 2 + [b.familia_id] * 2 + [d.familia_id]
    )
    assert {x[3] for x in liberadas} == {"FAMILIA_EGRESADA"}
    causas = {ev[3]["familia_id"]: ev[4] for ev in uno_a_uno["eventos"]}
    assert causas == {a.familia_id: run[0].id, b.familia_id: run[1].id, d.familia_id: run[3].id}


async def test_a_run_costs_the_same_statements_for_one_exit_or_four(client, app: FastAPI) -> None:
    a, b, c, d, _ = await mundo(client, app)
    enviadas = statements(app.state.offer.engine)
    contadas = []
    for corrida in (
        [salida("FamiliaPromovida", a.familia_id)],
        [salida("FamiliaPromovida", f.familia_id) for f in (b, c, d)],
    ):
        antes = len(enviadas)
        async with app.state.offer.engine.begin() as conn:
            await salidas(corrida, conn)
        contadas.append(len(enviadas) - antes)
    assert contadas[0] == contadas[1], contadas
