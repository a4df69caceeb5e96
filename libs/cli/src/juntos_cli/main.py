"""`juntos`: the operators' command line."""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from juntos_cli import dev, dlq, events_cmd

app = typer.Typer(
    name="juntos",
    help="Red JUNTOS backend: operators' command line.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(dev.app, name="dev")
app.add_typer(dlq.app, name="dlq")
app.add_typer(events_cmd.app, name="events")

# Services add their own commands (`juntos enrollment import ...`) through this entry point group,
# so the operators' CLI stays one program without depending on the services.
for _entry in entry_points(group="juntos.cli"):
    app.add_typer(_entry.load(), name=_entry.name)

if __name__ == "__main__":
    app()
