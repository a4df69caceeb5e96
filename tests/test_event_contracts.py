"""The committed docs/events are the released contracts: current, and never broken by the code."""

from __future__ import annotations

from pathlib import Path

from juntos_cli.events_cmd import service_contracts
from juntos_events.contracts import check

DOCS = Path(__file__).resolve().parents[1] / "docs" / "events"


def test_committed_contracts_are_current_and_compatible():
    problems = check(service_contracts(), DOCS)
    assert problems == [], "\n".join(problems)


def test_cli_writes_then_checks(tmp_path: Path):
    from juntos_cli.main import app
    from typer.testing import CliRunner

    runner = CliRunner()
    stale = runner.invoke(app, ["events", "docs", "--check", "--out", str(tmp_path)])
    assert stale.exit_code == 1 and "out of date" in stale.output
    assert "Traceback" not in stale.output
    written = runner.invoke(app, ["events", "docs", "--out", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "enrollment" / "asyncapi.json").is_file()
    current = runner.invoke(app, ["events", "docs", "--check", "--out", str(tmp_path)])
    assert current.exit_code == 0 and "current and compatible" in current.output
