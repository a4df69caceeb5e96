"""The bulk board read (`POST /v1/casos/logros`): each family's board as the single read
answers it, the families without a baseline listed apart, in a number of statements that does
not grow with the list; all or nothing on scope."""

from __future__ import annotations

import httpx
from juntos_testing.db import statements
from juntos_web import Role

from .conftest import MUNICIPIO, cogestor, como
from .test_sync_lote import familias, familias_de_otro, linea_base, sync

DESCONOCIDA = "00000000-0000-4000-8000-000000000000"


async def tableros(
    client: httpx.AsyncClient, headers: dict[str, str], ids: list[str]
) -> httpx.Response:
    return await client.post("/v1/casos/logros", json={"familia_ids": ids}, headers=headers)


async def test_each_board_as_the_single_read_answers_it(client, app) -> None:
    (a, lb_a), (b, _), (c, lb_c) = await familias(app, 3)
    await sync(client, app, [linea_base(a, 1, lb_a), linea_base(c, 1, lb_c)])  # b: no baseline
    pedidas = [c, b, a]

    r = await tableros(client, cogestor(app), pedidas)
    assert r.status_code == 200, r.text
    solos = {
        fid: await client.get(f"/v1/casos/{fid}/logros", headers=cogestor(app)) for fid in pedidas
    }
    assert solos[b].status_code == 409  # the single read's answer before the baseline
    assert r.json() == {
        "tableros": [solos[c].json(), solos[a].json()],
        "sin_linea_base": [b],
    }
    assert any(x["estado"] == "POR_ALCANZAR" for x in r.json()["tableros"][0]["logros"])
    # a coordinator of the municipality reads the same boards
    municipal = await tableros(client, como(app, Role.MUNICIPAL, MUNICIPIO), pedidas)
    assert municipal.json() == r.json()


async def test_the_statements_do_not_grow_with_the_list(client, app) -> None:
    hechas = await familias(app, 10)
    await sync(client, app, [linea_base(fid, 1, lb) for fid, lb in hechas])
    ids = [fid for fid, _ in hechas]
    enviadas = statements(app.state.engine)
    assert (await tableros(client, cogestor(app), ids[:1])).status_code == 200
    una = len(enviadas)
    enviadas.clear()
    r = await tableros(client, cogestor(app), ids)
    assert r.status_code == 200 and len(r.json()["tableros"]) == 10
    assert len(enviadas) == una, enviadas


async def test_a_family_outside_the_scope_or_unknown_refuses_the_whole_list(client, app) -> None:
    ((propia, _),) = await familias(app, 1)
    ((ajena, _),) = await familias_de_otro(app)

    fuera = await tableros(client, cogestor(app), [propia, ajena, DESCONOCIDA])
    assert fuera.status_code == 403, fuera.text
    assert fuera.headers["content-type"].startswith("application/problem+json")
    assert fuera.json()["type"].endswith("out-of-scope")
    assert fuera.json()["motivos"] == [
        "familia_ids[1]: the family is outside your scope",
        "familia_ids[2]: accompaniment knows no family with that id",
    ]
    desconocida = await tableros(client, cogestor(app), [propia, DESCONOCIDA])
    assert desconocida.status_code == 404, desconocida.text
    assert desconocida.json()["motivos"] == [
        "familia_ids[1]: accompaniment knows no family with that id"
    ]
    otro_municipio = await tableros(client, como(app, Role.MUNICIPAL, "05002"), [propia])
    assert otro_municipio.status_code == 403
    vacia = await tableros(client, cogestor(app), [])
    assert vacia.status_code == 422
