"""`juntos`: the operators' command line."""

from __future__ import annotations

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

if __name__ == "__main__":
    app()
