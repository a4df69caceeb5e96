"""`juntos events docs [--check]`: the services' public event contracts under docs/events/."""

from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer
from juntos_events.contracts import Contract, check, write
from juntos_events.topics import SERVICES

from juntos_cli.dev import _friendly_errors, out
from juntos_cli.infra.home import repo_root
from juntos_cli.infra.process import InfraError

app = typer.Typer(
    help="Event contracts for partners: AsyncAPI and JSON Schemas.", no_args_is_help=True
)

DOCS = Path("docs") / "events"


def service_contracts() -> list[Contract]:
    """Every service's contract, from the shared service shape (`events`, `consumers`)."""
    contracts = []
    for service in SERVICES:
        events = importlib.import_module(f"{service}.events").events
        subscriptions = importlib.import_module(f"{service}.consumers").subscriptions
        contracts.append(
            Contract(
                registry=events,
                title=f"JUNTOS {service}",
                version=metadata.version(f"juntos-{service}"),
                consumes=tuple(subscriptions.topics()),
            )
        )
    return contracts


@app.command()
def docs(
    out_dir: Annotated[Path | None, typer.Option("--out", help="<repo>/docs/events")] = None,
    check_only: Annotated[
        bool,
        typer.Option("--check", help="fail if released schemas would break or the files are stale"),
    ] = False,
) -> None:
    """Write (or, with --check, verify) every service's AsyncAPI document and event schemas."""
    with _friendly_errors():
        target = out_dir or repo_root() / DOCS
        contracts = service_contracts()
        problems = check(contracts, target)
        breaking = [p for p in problems if "out of date" not in p]
        if breaking or (check_only and problems):
            raise InfraError(f"{len(problems)} contract problem(s)\n" + "\n".join(problems))
        if check_only:
            out.print(f"[green]contracts in {target} are current and compatible[/green]")
            return
        written = write(contracts, target)
        out.print(f"wrote {len(written)} file(s) under {target}")
