"""The pure parts of `simulate run`: percentiles, a stage's summary, the invariant checks."""

from __future__ import annotations

from collections import Counter

import pytest
from juntos_simulacion.invariantes import (
    conteos_fuente,
    estados_coinciden,
    graduadas,
    importaciones_esperadas,
    reporting_coincide,
    sin_cartas_muertas,
)
from juntos_simulacion.medidas import Medida, percentil
from juntos_simulacion.rezago import muestras


def test_percentiles_are_latencies_some_request_had() -> None:
    valores = [float(x) for x in range(1, 101)]
    assert percentil(valores, 50) == 50.0
    assert percentil(valores, 99) == 99.0
    assert percentil(valores, 100) == 100.0
    assert percentil([3.0, 1.0, 2.0], 50) == 2.0
    assert percentil([7.0], 99) == 7.0
    assert percentil([], 50) is None
    with pytest.raises(ValueError):
        percentil(valores, 101)


def test_a_stage_summary_counts_refusals_and_keeps_only_the_first_texts() -> None:
    m = Medida("plan", "accompaniment REST", items=4, segundos=2.0, eventos=10)
    for s, estado in ((0.1, 200), (0.3, 200), (0.2, 409)):
        m.anotar(s, estado)
    for i in range(25):
        m.error(f"409 number {i}")
    r = m.resumen()
    assert (r["items_por_segundo"], r["eventos_por_segundo"]) == (2.0, 5.0)
    assert (r["p50_ms"], r["p99_ms"]) == (200.0, 300.0)
    assert r["respuestas"] == {"200": 2, "409": 1, "error": 25}
    assert len(r["errores"]) == 20 and m.fallidas == 25


def test_statuses_must_match_the_case_each_implies() -> None:
    enrollment = {"a": "VINCULADA", "b": "PROMOVIDA", "c": "PRESELECCIONADA"}
    assert estados_coinciden(enrollment, {"a": "ABIERTO", "b": "CERRADO"}).ok
    mal = estados_coinciden(enrollment, {"a": "ABIERTO", "b": "ABIERTO", "c": "ABIERTO"})
    assert not mal.ok and "2 differ" in mal.cifras
    assert not estados_coinciden(enrollment, {"a": "ABIERTO", "b": "CERRADO", "z": "ABIERTO"}).ok


def test_reporting_counts_are_compared_per_municipality_and_column() -> None:
    fuente = conteos_fuente(
        [("05001", "VINCULADA"), ("05001", "PROMOVIDA"), ("05002", "PRESELECCIONADA")],
        {"a": ("05001", True, True), "b": ("05001", True, False)},
    )
    assert fuente["05001"] == Counter(
        potencial=2, vinculadas=2, en_acompanamiento=1, promovidas=1, con_linea_base=2, con_plan=1
    ) + Counter(preseleccionadas=0)
    igual = {m: dict(c) for m, c in fuente.items()} | {"05004": {"potencial": 0}}
    assert reporting_coincide(fuente, igual).ok
    distinto = {m: dict(c) for m, c in fuente.items()}
    distinto["05001"]["con_plan"] = 2
    falla = reporting_coincide(fuente, distinto)
    assert not falla.ok and "05001 con_plan: reporting 2 vs source 1" in falla.cifras


def test_imports_dead_letters_and_graduations() -> None:
    plantadas = {"sisben.csv": 3, "ruaf-0001.csv": 2}
    assert importaciones_esperadas(10, 10, plantadas, {"sisben.csv": 3, "ruaf-0001.csv": 2}).ok
    assert not importaciones_esperadas(10, 10, plantadas, {"sisben.csv": 2}).ok
    assert not importaciones_esperadas(10, 10, plantadas, {"rupd.csv": 1}).ok
    assert not importaciones_esperadas(10, 9, plantadas, {"sisben.csv": 3}).ok
    assert sin_cartas_muertas([]).ok and not sin_cartas_muertas(["t.dlq:0:1"]).ok
    assert graduadas({"a"}, {"a"}).ok and graduadas({"a"}, {"a", "b"}).ok
    assert not graduadas({"a", "b"}, {"a"}).ok and not graduadas(set(), set()).ok


def test_prometheus_samples_are_read_by_exact_name() -> None:
    texto = (
        "# HELP juntos_outbox_backlog rows\n"
        "juntos_outbox_backlog 3.0\n"
        "juntos_outbox_backlog_extra 9.0\n"
        'juntos_projection_lag_seconds{projection="familias"} 1.5\n'
    )
    assert muestras(texto, "juntos_outbox_backlog") == [("", 3.0)]
    assert muestras(texto, "juntos_projection_lag_seconds") == [('projection="familias"', 1.5)]


async def test_a_dropped_metrics_connection_is_retried_not_fatal() -> None:
    """Under load a service closed a kept-alive connection as it was reused; the lag reading
    is retried (a scraper's next round), and only a service that stays away fails the run."""
    import httpx
    import pytest
    from juntos_simulacion.rezago import metricas

    llamadas: list[str] = []

    def responder(request: httpx.Request) -> httpx.Response:
        llamadas.append(request.url.host)
        if request.url.host == "caido":
            raise httpx.ConnectError("refused", request=request)
        if len(llamadas) == 1:
            raise httpx.ReadError("closed by the server", request=request)
        return httpx.Response(200, text="juntos_events_appended_total 3\n")

    async with httpx.AsyncClient(transport=httpx.MockTransport(responder)) as cliente:
        textos = await metricas(cliente, {"offer": "http://offer"})
        assert textos == {"offer": "juntos_events_appended_total 3\n"}
        assert llamadas == ["offer", "offer"]
        with pytest.raises(httpx.ConnectError):
            await metricas(cliente, {"caido": "http://caido"})
