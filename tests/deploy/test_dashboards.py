"""Grafana dashboards query only metrics the services really expose.

A dashboard that names a metric nobody exports shows "No data" forever and looks like a quiet
system, so every metric in every PromQL expression is checked against what the five apps
answer on GET /metrics. The expressions are also parsed by promtool where it is installed.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from juntos_events.topics import SERVICES
from juntos_web.testing import service_client, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy/grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

SYNTHETIC = {"up"}
"""Series Prometheus adds itself for every target (no service exposes them)."""

PENDING: dict[str, str] = {}
"""Metrics a panel already shows but whose code is not written yet; see README (operators)."""

GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)  # Grafana variables
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # label matchers, ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = re.findall(r"(?<![\w:.])([A-Za-z_:][\w:]*)\b(?!\s*\()", expr)
    return {name for name in names if name.lower() not in _KEYWORDS}


def test_metric_names_reads_only_metrics() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{job=~"$service", x="b c"}'
        "[$__rate_interval]))) / on (job) group_left max without (p) (b_total offset 5m) > 1e3"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}


def _walk_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _walk_panels(panel.get("panels", []))  # collapsed rows nest their panels


def _expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    """Every PromQL expression: panel targets and the metric of `label_values(...)` variables."""
    for panel in _walk_panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        match = re.fullmatch(r"\s*label_values\((.+),\s*\w+\s*\)\s*", query)
        if match:
            yield match.group(1)


def _datasource_uids(dashboard: dict[str, Any]) -> Iterator[str]:
    items: list[dict[str, Any]] = list(_walk_panels(dashboard.get("panels", [])))
    items += [t for p in list(items) for t in p.get("targets", [])]
    items += dashboard.get("templating", {}).get("list", [])
    for item in items:
        source = item.get("datasource")
        if isinstance(source, dict):
            yield source["uid"]


def _load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


@pytest.fixture(scope="module")
async def exposed() -> AsyncIterator[set[str]]:
    """Series names the five apps expose on /metrics (histograms with their _bucket/_sum/_count).

    The text format's `# TYPE` lines list every registered metric, also those with no sample yet
    (a consumer lag before any consumer ran), so a quiet app still answers for all of them.
    """
    names: set[str] = set()
    for service in SERVICES:
        create_app = importlib.import_module(f"{service}.main").create_app
        async with service_client(create_app(settings_for_tests(service))) as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", response.text, re.MULTILINE):
            names |= {name + suffix for suffix in _SUFFIXES.get(kind, ("",))}
    yield names


def test_there_is_an_overview_dashboard() -> None:
    titles = {_load(path)["title"] for path in DASHBOARDS}
    assert "JUNTOS overview" in titles
    uids = [_load(path)["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids)), "dashboard uids must be unique"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
async def test_dashboards_query_only_metrics_the_services_expose(
    path: Path, exposed: set[str]
) -> None:
    used = {name for expr in _expressions(_load(path)) for name in metric_names(expr)}
    assert used, f"{path.name} queries nothing"
    unknown = used - exposed - SYNTHETIC - PENDING.keys()
    assert not unknown, f"{path.name} queries metrics no service exposes: {sorted(unknown)}"


async def test_pending_metrics_are_still_pending(exposed: set[str]) -> None:
    """Once a pending metric is exposed it must leave PENDING (and the README's note)."""
    arrived = PENDING.keys() & exposed
    assert not arrived, f"now exposed, remove from PENDING and the README: {sorted(arrived)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboards_use_the_provisioned_data_source(path: Path) -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"]}
    assert set(_datasource_uids(_load(path))) <= uids


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_expressions_parse_as_promql(path: Path, tmp_path: Path) -> None:
    """promtool parses every expression (as recording rules), Grafana variables filled in."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    rules = []
    for i, expr in enumerate(_expressions(_load(path))):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"juntos:check:{i}", "expr": re.sub(r"\$\w+", ".*", expr)})
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": path.stem, "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
