"""Runs of acuerdos, members and delivered services give what their events give one at a time
(streams, events with their causes, case summaries, roster), in a number of statements that
does not grow with the run."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

import pytest
from accompaniment import consumers, domain, handlers
from accompaniment.ejemplos import familia_ejemplo
from accompaniment.reglas import Miembro
from accompaniment.vocabulario import TipoVisita
from fastapi import FastAPI
from juntos_events.envelope import Envelope
from juntos_testing.db import statements
from sqlalchemy import text

from .conftest import MUNICIPIO, integrante

HOY = date(2026, 3, 2)
LINEA_BASE, MIEMBROS, _ = familia_ejemplo(HOY)
SIN_BEBE = [m for m in MIEMBROS if m.integrante_id != "bebe"]
CON_LINEA_BASE = [f"{k:08d}-0000-4000-8000-000000000000" for k in range(4)]
SIN_VINCULAR = [f"{k:08d}-0000-4000-8000-000000000000" for k in range(4, 6)]
SIN_LINEA_BASE, CERRADA = (
    "00000006-0000-4000-8000-000000000000",
    "00000007-0000-4000-8000-000000000000",
)
DESCONOCIDA = "00000009-0000-4000-8000-000000000000"  # never preselected
CONOCIDAS = [*CON_LINEA_BASE, *SIN_VINCULAR, SIN_LINEA_BASE, CERRADA]
TODAS = [*CONOCIDAS, DESCONOCIDA]


def sobre(tipo: str, datos: dict[str, Any], *, cuando: datetime, id: str, service: str) -> Envelope:
    return Envelope(
        id=id,
        service=service,
        event_type=tipo,
        schema_version=1,
        subject=datos["familia_id"],
        time=cuando,
        data=datos,
    )


def vinculada(fid: str, dia: date) -> tuple[str, dict[str, Any]]:
    return "FamiliaVinculada", {
        "familia_id": fid,
        "municipio": MUNICIPIO,
        "fecha_vinculacion": dia.isoformat(),
        "fecha_limite": dia.replace(year=dia.year + 5).isoformat(),
        "firmante_id": "jefe",
        "lugar_municipio": MUNICIPIO,
        "cogestor_id": "cg-1",
    }


async def preparar(app: FastAPI) -> None:
    """The same starting point for every way of applying the stream: four cases with their
    baseline (the baby not registered yet), two families preselected only, one case without a
    baseline and one closed."""
    async with app.state.engine.begin() as conn:
        await conn.execute(text("TRUNCATE events, outbox, inbox, snapshots, familias, integrantes"))
    inicio = datetime(2026, 3, 1, 15, tzinfo=UTC)
    for n, fid in enumerate(CONOCIDAS):
        datos = {
            "familia_id": fid,
            "municipio": MUNICIPIO,
            "registro": "RUPD" if n % 2 else "SISBEN",
            "desplazada": bool(n % 2),
            "integrantes": [integrante(m) for m in SIN_BEBE],
        }
        await entregar(app, [sobre_de("FamiliaPreseleccionada", datos, inicio)])
        if fid in SIN_VINCULAR:
            continue
        await entregar(app, [sobre_de(*vinculada(fid, inicio.date()), inicio)])
        if fid == SIN_LINEA_BASE:
            continue
        visita = domain.Visita(f"lb-{fid}", "cg-1", inicio.date(), TipoVisita.LINEA_BASE, 60)
        lb = LINEA_BASE.model_copy(
            update={"integrantes": {k: v for k, v in LINEA_BASE.integrantes.items() if k != "bebe"}}
        )
        async with app.state.engine.begin() as conn:
            await handlers.aplicar(
                conn,
                fid,
                lambda m, v=visita, lb=lb: domain.LevantarLineaBase(
                    visita=v, linea_base=lb, miembros=m
                ),
                actor="cg-1",
            )
    salida = {"familia_id": CERRADA, "motivo": "VOLUNTARIO", "fecha": inicio.date().isoformat()}
    await entregar(app, [sobre_de("FamiliaRetirada", salida, inicio)])


def sobre_de(tipo: str, datos: dict[str, Any], cuando: datetime) -> Envelope:
    """Enrollment's event of this type about this family (the same id every time: causes)."""
    id = uuid.uuid5(uuid.NAMESPACE_OID, f"{tipo}:{datos['familia_id']}")
    return sobre(tipo, datos, cuando=cuando, id=str(id), service="enrollment")


async def entregar(app: FastAPI, sobres: list[Envelope]) -> None:
    async with app.state.engine.begin() as conn:
        for s in sobres:
            await consumers.subscriptions.apply_one(s, conn)


def flujo(semilla: int, largo: int) -> list[Envelope]:
    """A stream over every kind of family: acuerdos (new, again, unknown family), births,
    corrections and delivered services (for a member or the household), hours or days apart.
    It starts with a run of each handler that holds several causes on one case (planted), then
    goes on at random in bursts of one kind over a few families."""
    rnd = random.Random(semilla)
    nacidos: Counter[str] = Counter()
    miembro = {m.integrante_id: m for m in SIN_BEBE}

    def nacimiento(fid: str) -> tuple[str, dict[str, Any]]:
        nacidos[fid] += 1
        sexo = "MH"[nacidos[fid] % 2]
        bebe = Miembro(f"bebe-{nacidos[fid]}", cuando.date() - timedelta(days=20), sexo, "HIJO")
        datos = {"familia_id": fid, "integrante": integrante(bebe), "motivo": "NACIMIENTO"}
        return "IntegranteRegistrado", datos

    def correccion(fid: str, quien: str, **cambio: bool) -> tuple[str, dict[str, Any]]:
        datos = {"familia_id": fid, "integrante": {**integrante(miembro[quien]), **cambio}}
        return "IntegranteActualizado", datos

    def servicio(fid: str, quien: str | None, *logros: str) -> tuple[str, dict[str, Any]]:
        return "ServicioPrestado", {
            "servicio_id": str(uuid.UUID(int=rnd.getrandbits(128))),
            "familia_id": fid,
            "integrante_id": quien,
            "logros": list(logros),
            "fecha": cuando.date().isoformat(),
            "programa_id": "p1",
            "entidad": "sena",
            "valor": 0,
        }

    def salida(fid: str, tipo: str) -> tuple[str, dict[str, Any]]:
        datos = {"familia_id": fid, "fecha": cuando.date().isoformat()}
        if tipo == "FamiliaRetirada":
            datos["motivo"] = "VOLUNTARIO"
        if tipo == "FamiliaEgresadaPorTiempo":
            datos["fecha_vinculacion"] = "2021-03-01"
        return tipo, datos

    al_azar: list[Callable[[str], tuple[str, dict[str, Any]]]] = [
        lambda f: vinculada(f, cuando.date()),
        nacimiento,
        lambda f: correccion(f, rnd.choice(["hermana", "abuela", "jefe"])),
        lambda f: correccion(f, "hermana", gestante=False),
        lambda f: correccion(f, "abuela", discapacidad=False),
        lambda f: servicio(f, "jefe", "LB2"),
        lambda f: servicio(f, None, "LB24", "LB25"),
        lambda f: servicio(f, "hermana", "LB17"),
        lambda f: servicio(f, None, "LB40"),
        lambda f: salida(f, rnd.choice(["FamiliaRetirada", "FamiliaEgresadaPorTiempo"])),
    ]

    cuando = datetime(2026, 3, 2, 15, tzinfo=UTC)
    sobres: list[Envelope] = []

    def agregar(tipo: str, datos: dict[str, Any]) -> None:
        nonlocal cuando
        servicio_de = "offer" if tipo == "ServicioPrestado" else "enrollment"
        id = str(uuid.UUID(int=rnd.getrandbits(128)))
        sobres.append(sobre(tipo, datos, cuando=cuando, id=id, service=servicio_de))
        cuando += timedelta(hours=rnd.choice([0, 1, 30]))

    a, b = CON_LINEA_BASE[:2]
    for planted in (
        vinculada(SIN_VINCULAR[0], cuando.date()),
        nacimiento(SIN_VINCULAR[0]),  # roster only: no baseline to evaluate yet
        vinculada(DESCONOCIDA, cuando.date()),
        nacimiento(DESCONOCIDA),
        nacimiento(a),  # the baby LB become pending...
        correccion(a, "hermana", gestante=False),  # ...and prenatal care stops applying
        vinculada(b, cuando.date()),  # already open: nothing
        vinculada(SIN_VINCULAR[1], cuando.date()),
        nacimiento(b),
        nacimiento(b),  # twins: the second sees the first
        servicio(a, "jefe", "LB2"),
        servicio(CERRADA, "jefe", "LB2"),  # closed: nothing
        servicio(a, None, "LB24", "LB25"),
        servicio(DESCONOCIDA, None, "LB24"),
        salida(CON_LINEA_BASE[3], "FamiliaPromovida"),
        salida(CON_LINEA_BASE[3], "FamiliaRetirada"),  # already closed: nothing
        salida(DESCONOCIDA, "FamiliaPromovida"),
        servicio(CON_LINEA_BASE[3], "jefe", "LB2"),  # after its exit: nothing
    ):
        agregar(*planted)
    while len(sobres) < largo:  # bursts of one kind (a file, a batch) over a few families
        hacer, familias = rnd.choice(al_azar), rnd.sample(TODAS, rnd.randint(1, 3))
        for _ in range(rnd.randint(1, 5)):
            agregar(*hacer(rnd.choice(familias)))
    return sobres


def tramos(sobres: list[Envelope], largo: int | None) -> list[list[Envelope]]:
    """Consecutive events of one handler, cut every `largo` (None: as long as they go)."""
    cortes = []
    for _, seguidos in groupby(sobres, consumers.subscriptions.batch_handler_for):
        tramo = list(seguidos)
        paso = largo or len(tramo)
        cortes += [tramo[i : i + paso] for i in range(0, len(tramo), paso)]
    return cortes


async def aplicar(app: FastAPI, cortes: list[list[Envelope]]) -> None:
    for tramo in cortes:
        handler = consumers.subscriptions.batch_handler_for(tramo[0])
        assert handler is not None
        async with app.state.engine.begin() as conn:
            await handler(tramo, conn)


async def estado(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    consultas = {
        "eventos": "SELECT stream_id, version, event_type, data, metadata->>'causation_id',"
        " metadata->>'actor' FROM events ORDER BY stream_id, version",
        "outbox": "SELECT key, headers->>'ce_type', count(*) FROM outbox"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        "familias": "SELECT * FROM familias ORDER BY familia_id",
        "integrantes": "SELECT * FROM integrantes ORDER BY familia_id, integrante_id",
    }
    async with app.state.engine.connect() as conn:
        return {k: [tuple(r) for r in await conn.execute(text(q))] for k, q in consultas.items()}


@pytest.mark.parametrize("semilla", [1, 2, 3])
async def test_runs_give_what_their_events_give_one_at_a_time(client, app, semilla) -> None:
    sobres = flujo(semilla, largo=100)
    resultados = {}
    for largo in (1, 3, None):
        await preparar(app)
        await aplicar(app, tramos(sobres, largo))
        resultados[largo] = await estado(app)
    uno_a_uno = resultados[1]
    assert resultados[3] == uno_a_uno
    assert resultados[None] == uno_a_uno

    # the stream exercised what a run must keep apart: several causes on one case in one run
    causas: dict[str, set[str]] = {}
    for fid, _, _, _, causa, _ in uno_a_uno["eventos"]:
        causas.setdefault(fid, set()).add(causa)
    for servicio in ("enrollment", "offer"):
        assert any(
            len(causas.get(fid, set()) & {s.id for s in tramo}) >= 2
            for tramo in tramos(sobres, None)
            if tramo[0].service == servicio
            for fid in TODAS
        ), servicio
    tipos = Counter((e[0], e[2]) for e in uno_a_uno["eventos"])
    # (a random exit may close a case, and a later acuerdo open it again)
    assert all(tipos[(fid, "CasoAbierto")] >= 1 for fid in [*SIN_VINCULAR, DESCONOCIDA])
    assert tipos[(CON_LINEA_BASE[3], "CasoCerrado")] >= 1
    abiertos = {e[0]: e[3]["desplazada"] for e in uno_a_uno["eventos"] if e[2] == "CasoAbierto"}
    assert [abiertos[f] for f in [*SIN_VINCULAR, DESCONOCIDA]] == [False, True, False]  # RUPD
    assert sum(n for (_, t), n in tipos.items() if t == "ServicioRegistrado") > 0
    assert sum(n for (_, t), n in tipos.items() if t == "LogrosEvaluados") > 5  # 5 baselines
    assert {e[5] for e in uno_a_uno["eventos"] if e[4]} == {"sistema:enrollment", "sistema:offer"}
    bebes = {(i[0], i[1]) for i in uno_a_uno["integrantes"] if i[1].startswith("bebe")}
    assert DESCONOCIDA in {f for f, _ in bebes} and len(bebes) > 3


async def sentencias(app: FastAPI, cortes: list[list[Envelope]]) -> int:
    """The statements that applying these runs takes (an executemany counts once)."""
    enviadas = statements(app.state.engine)
    await aplicar(app, cortes)
    return len([s for s in enviadas if not s.startswith(("BEGIN", "COMMIT"))])


async def test_a_run_takes_the_same_statements_for_few_or_many_families(client, app) -> None:
    await preparar(app)
    cuantas = []
    for n in (2, 30):
        fids = [str(uuid.uuid4()) for _ in range(n)]
        await entregar(
            app,
            [
                sobre_de(
                    "FamiliaPreseleccionada",
                    {
                        "familia_id": f,
                        "municipio": MUNICIPIO,
                        "desplazada": False,
                        "integrantes": [],
                    },
                    datetime.now(UTC),
                )
                for f in fids
            ],
        )
        hoy = datetime.now(UTC)
        nacimientos = [
            sobre_de(
                "IntegranteRegistrado",
                {"familia_id": f, "integrante": integrante(m), "motivo": "REGISTRO"},
                hoy,
            )
            for f in fids
            for m in SIN_BEBE
        ]
        servicios = [
            sobre(
                "ServicioPrestado",
                {"familia_id": f, "integrante_id": None, "logros": ["LB24"], "fecha": "2026-03-02"},
                cuando=hoy,
                id=str(uuid.uuid4()),
                service="offer",
            )
            for f in [*fids, *CON_LINEA_BASE]
        ]
        corrida = [sobre_de(*vinculada(f, hoy.date()), hoy) for f in fids] + nacimientos
        cuantas.append(await sentencias(app, [corrida, servicios]))
    assert cuantas[0] == cuantas[1] == 8 + 5
