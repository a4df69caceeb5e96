"""`juntos simulate run` against a fresh `juntos dev up`: every stage through the real services,
Kafka and PostgreSQL, then the invariants and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from juntos_testing.serving import dev_stack, juntos

pytestmark = pytest.mark.e2e

STAGES = {
    "importacion",
    "vinculacion",
    "cogestores",
    "linea_base",
    "plan",
    "oferta",
    "asignaciones",
    "entregas",
    "seguimientos",
    "graduaciones",
}


def test_a_small_population_goes_through_the_whole_pipeline(tmp_path: Path) -> None:
    destino = tmp_path / "sim"
    with dev_stack(tmp_path / "juntos-home", zipkin=False):
        r = juntos(
            "simulate",
            "run",
            *("--families", "30", "--seed", "5", "--dir", str(destino)),
            *("--graduate", "0.3", "--wait", "120"),
            timeout=600,
        )
        assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout and r.stdout.count("PASS") == 6
    informe = json.loads((destino / "informe-run.json").read_text())
    assert informe["ok"] and informe["familias"] == 30
    etapas = {e["etapa"]: e for e in informe["etapas"]}
    assert set(etapas) == STAGES
    for nombre, etapa in etapas.items():
        assert etapa["items"] > 0, nombre
        assert etapa["p99_ms"] is not None and etapa["errores"] == [], nombre
    assert etapas["linea_base"]["items"] == 30 and etapas["plan"]["items"] == 30
    assert etapas["graduaciones"]["eventos"] > 0
    # which consumer each stage waited for: every group's lag at the stage's end, and how long
    # until it was last seen behind (reporting reads every topic, so it had something to do)
    grupos = set(etapas["linea_base"]["rezago_por_grupo"])
    assert {"reporting", "offer", "territorial"} <= grupos
    for nombre, etapa in etapas.items():
        assert set(etapa["espera_por_grupo_s"]) == grupos, nombre
        assert max(etapa["espera_por_grupo_s"].values()) <= etapa["espera_consumidores_s"]
    assert set(informe["rss_pico_mib"]) >= {"enrollment", "reporting", "kafka", "postgres"}
    assert all(informe["disco_bases_bytes"][s] > 0 for s in ("enrollment", "reporting"))
    assert informe["disco_topicos_bytes"]["juntos.enrollment.events"] > 0
