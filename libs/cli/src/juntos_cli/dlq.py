"""`juntos dlq list|show|replay`: the events a consumer gave up on, and sending them back."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from aiokafka.errors import KafkaError
from juntos_events import dlq
from juntos_events.topics import PRODUCERS
from rich.table import Table

from juntos_cli.dev import _friendly_errors, _stack, out
from juntos_cli.infra.process import InfraError

T = TypeVar("T")

app = typer.Typer(
    help="Dead letters: list them, look at one, replay it after the fix.", no_args_is_help=True
)

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        envvar="KAFKA_BOOTSTRAP",
        help="Kafka bootstrap (default: the local stack's broker)",
    ),
]


def _bootstrap(given: str | None) -> str:
    return given or _stack()[0].kafka.bootstrap


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; a broker that does not answer is one red line, not a traceback."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the one-line error says it all
    try:
        return asyncio.run(asyncio.wait_for(work, 30))
    except (LookupError, ValueError) as exc:
        raise InfraError(str(exc)) from None
    except (TimeoutError, OSError, KafkaError) as exc:
        reason = type(exc).__name__
        raise InfraError(f"Kafka does not answer ({reason}); is the stack up?") from None


@app.command("list")
def list_(
    bootstrap: Bootstrap = None,
    service: Annotated[list[str] | None, typer.Option(help="producing service(s)")] = None,
) -> None:
    """Every dead letter of the producing services' topics, oldest first."""
    with _friendly_errors():
        letters = _run(dlq.list_dead_letters(_bootstrap(bootstrap), tuple(service or PRODUCERS)))
        table = Table(title=f"{len(letters)} dead letter(s)", title_justify="left")
        for col in ("address", "time", "event", "subject", "consumer", "error"):
            table.add_column(col, overflow="fold")
        for d in letters:
            table.add_row(
                d.address,
                f"{d.time:%Y-%m-%d %H:%M:%S}",
                d.event_type,
                d.subject,
                d.consumer,
                d.error.splitlines()[0][:120] if d.error else "",
            )
        out.print(table)


@app.command()
def show(address: str, bootstrap: Bootstrap = None) -> None:
    """One dead letter: its headers (with the error) and its event data."""
    with _friendly_errors():
        record = _run(dlq.fetch(_bootstrap(bootstrap), address))
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        try:
            body: object = json.loads(record.value or b"")
        except ValueError:
            body = (record.value or b"").decode(errors="replace")
        out.print_json(json.dumps({"address": address, "headers": headers, "data": body}))


@app.command()
def replay(addresses: list[str], bootstrap: Bootstrap = None) -> None:
    """Publish dead letters again to their original topic (consumers' inboxes drop duplicates)."""
    with _friendly_errors():
        target = _bootstrap(bootstrap)
        for address in addresses:
            letter = _run(dlq.replay(target, address))
            out.print(
                f"replayed {address} -> {letter.original_topic} ({letter.event_type} "
                f"{letter.event_id})"
            )
