"""`juntos simulate generate` as an operator runs it: a progress bar, a summary, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from juntos_testing.serving import juntos


def test_generate_writes_the_population_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    destino = tmp_path / "poblacion"
    r = juntos("simulate", "generate", "--families", "60", "--seed", "3", "--out", str(destino))
    assert r.returncode == 0, r.stderr
    assert "families" in r.stdout and "60/60" in r.stdout  # the progress bar, finished
    assert "sisben.csv" in r.stdout and "ruaf-0001.csv" in r.stdout
    manifiesto = json.loads((destino / "manifest.json").read_text())
    assert manifiesto["semilla"] == 3 and manifiesto["familias_pedidas"] == 60
    otra = juntos("simulate", "generate", "--families", "60", "--out", str(destino))
    futura = juntos(
        "simulate", "generate", "-n", "5", "--out", str(tmp_path / "x"), "--cut-date", "2999-01-01"
    )
    for fallo, texto in ((otra, "already holds a population"), (futura, "in the future")):
        assert fallo.returncode == 1
        assert texto in fallo.stderr
        assert "Traceback" not in fallo.stderr + fallo.stdout
    sobrescrita = juntos(
        "simulate", "generate", "-n", "60", "--seed", "3", "--out", str(destino), "--overwrite"
    )
    assert sobrescrita.returncode == 0, sobrescrita.stderr
