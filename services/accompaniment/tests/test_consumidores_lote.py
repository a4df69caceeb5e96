"""Enrollment's runs of new families and of cogestor assignments: a run gives what its events
give one at a time, in a number of round trips that does not grow with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from accompaniment import consumers
from fastapi import FastAPI
from juntos_events.envelope import Envelope
from juntos_testing.db import statements
from sqlalchemy import text


def _sobre(tipo: str, datos: dict[str, Any]) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        service="enrollment",
        event_type=tipo,
        schema_version=1,
        subject=datos["familia_id"],
        time=datetime.now(UTC),
        data=datos,
    )


def _preseleccionada(n_integrantes: int) -> Envelope:
    fid = str(uuid.uuid4())
    integrantes = [
        {
            "integrante_id": str(uuid.uuid4()),
            "fecha_nacimiento": f"19{80 + i}-01-0{1 + i % 9}",
            "sexo": "MF"[i % 2],
            "parentesco": "JEFE" if i == 0 else "HIJO",
            "discapacidad": i == 2,
            "gestante": False,
        }
        for i in range(n_integrantes)
    ]
    datos = {"familia_id": fid, "municipio": "05001", "desplazada": n_integrantes == 3}
    return _sobre("FamiliaPreseleccionada", {**datos, "integrantes": integrantes})


async def _tablas(app: FastAPI) -> tuple[list, list]:
    async with app.state.engine.begin() as conn:
        familias = [
            tuple(r)
            for r in await conn.execute(
                text(
                    "SELECT familia_id, municipio, desplazada, estado_inscripcion, cogestor_id"
                    " FROM familias ORDER BY 1"
                )
            )
        ]
        integrantes = [
            tuple(r) for r in await conn.execute(text("SELECT * FROM integrantes ORDER BY 1, 2"))
        ]
        await conn.execute(text("TRUNCATE familias, integrantes"))
    return familias, integrantes


async def _aplicar(app: FastAPI, sobres: list[Envelope], por_tramos: bool) -> int:
    """Apply as the runner does (one run, or runs of one); the statements it took."""
    enviadas = statements(app.state.engine)
    for tramo in [[s] for s in sobres] if por_tramos else [sobres]:
        async with app.state.engine.begin() as conn:
            handler = consumers.subscriptions.batch_handler_for(tramo[0])
            assert handler is not None
            await handler(tramo, conn)
    return len([s for s in enviadas if not s.startswith(("BEGIN", "COMMIT"))])


async def test_runs_of_new_families_and_assignments_equal_one_at_a_time(client, app) -> None:
    familias = [_preseleccionada(n) for n in (1, 3, 5, 2, 4)]
    # a family enrolled twice (a replay of its import): the first one stays
    familias.append(_sobre("FamiliaPreseleccionada", {**familias[0].data, "desplazada": True}))
    ids = [f.data["familia_id"] for f in familias[:5]]
    asignaciones = [
        _sobre("CogestorAsignado", {"familia_id": fid, "cogestor_id": f"cg-{i % 2}"})
        for i, fid in enumerate(ids)
    ] + [_sobre("CogestorAsignado", {"familia_id": ids[0], "cogestor_id": "cg-9"})]

    resultados = []
    for por_tramos in (True, False):
        await _aplicar(app, familias, por_tramos)
        await _aplicar(app, asignaciones, por_tramos)
        resultados.append(await _tablas(app))
    uno_a_uno, en_un_tramo = resultados
    assert en_un_tramo == uno_a_uno
    familias_, integrantes = uno_a_uno
    assert len(familias_) == 5 and len(integrantes) == 15
    cogestor_de = {f[0]: f[4] for f in familias_}
    assert cogestor_de[ids[0]] == "cg-9" and cogestor_de[ids[1]] == "cg-1"
    assert {f[0]: f[2] for f in familias_}[ids[0]] is False  # the replay did not change it


async def test_a_run_takes_the_same_round_trips_for_few_or_many_families(client, app) -> None:
    pocas = [_preseleccionada(4) for _ in range(2)]
    muchas = [_preseleccionada(4) for _ in range(40)]
    assert await _aplicar(app, pocas, False) == await _aplicar(app, muchas, False) == 2

    def asignar(fs: list[Envelope]) -> list[Envelope]:
        datos = [{"familia_id": f.data["familia_id"], "cogestor_id": "cg-1"} for f in fs]
        return [_sobre("CogestorAsignado", d) for d in datos]

    assert await _aplicar(app, asignar(pocas), False) == 1
    assert await _aplicar(app, asignar(muchas), False) == 1
