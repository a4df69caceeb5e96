"""`juntos dev up|down|status`: the whole stack on this machine with real servers, no Docker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from juntos_cli.infra.home import JuntosHome, repo_root
from juntos_cli.infra.process import InfraError
from juntos_cli.stack import SERVICES, Ports, Stack, stop_test_servers

app = typer.Typer(
    help="Run the local stack: PostgreSQL, Kafka, Zipkin, the five services and, "
    "with --with-metrics, Prometheus.",
    no_args_is_help=True,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

PgPort = Annotated[
    int | None,
    typer.Option("--pg-port", envvar="JUNTOS_PG_PORT", help="PostgreSQL port (default 55432)"),
]
KafkaPort = Annotated[
    int | None,
    typer.Option(
        "--kafka-port", envvar="JUNTOS_KAFKA_PORT", help="Kafka broker port (default 59092)"
    ),
]
ControllerPort = Annotated[
    int | None,
    typer.Option(
        "--kafka-controller-port",
        envvar="JUNTOS_KAFKA_CONTROLLER_PORT",
        help="Kafka KRaft controller port (default 59093)",
    ),
]
ZipkinPort = Annotated[
    int | None,
    typer.Option("--zipkin-port", envvar="JUNTOS_ZIPKIN_PORT", help="Zipkin port (default 9411)"),
]
PrometheusPort = Annotated[
    int | None,
    typer.Option(
        "--prometheus-port",
        envvar="JUNTOS_PROMETHEUS_PORT",
        help="Prometheus port with --with-metrics (default 9090)",
    ),
]
ServicePort = Annotated[
    int | None,
    typer.Option(
        "--service-port",
        envvar="JUNTOS_SERVICE_PORT",
        help="port of the first service; the five take consecutive ports (default 8001)",
    ),
]


@contextmanager
def _friendly_errors() -> Iterator[None]:
    """Known problems end as one red line (plus a log tail when a server died), exit code 1."""
    try:
        yield
    except (InfraError, FileNotFoundError) as exc:
        first, _, rest = str(exc).partition("\n")
        err.print(Text("error: ", style="bold red") + Text(first, style="red"), soft_wrap=True)
        if rest:
            err.print(Text(rest, style="dim"), soft_wrap=True)
        raise typer.Exit(1) from None


friendly_errors = _friendly_errors
"""For other commands (service plugins): known problems end as one red line, exit code 1."""


def dev_token(role: str, scope: str | None, *, sub: str | None = None, hours: float = 8.0) -> str:
    """A bearer token the local stack accepts, signed with its dev secret (InfraError if none)."""
    from datetime import timedelta

    from juntos_web import Principal, Role, ServiceSettings, mint_token

    stack, _ = _stack()
    secret_file = stack.home.jwt_secret_file
    if not secret_file.is_file():
        raise InfraError(f"no dev secret yet ({secret_file}): run `juntos dev up` first")
    try:
        principal = Principal.scoped(Role(role.upper()), scope, sub=sub)
    except ValueError as exc:
        raise InfraError(f"cannot mint a token: {exc}") from None
    settings = ServiceSettings(service_name="cli", jwt_secret=secret_file.read_text().strip())
    return mint_token(settings, principal, expires_in=timedelta(hours=hours))


def _say(message: str) -> None:
    out.print(message, soft_wrap=True)


def current_stack() -> Stack:
    """The stack of this home (`$JUNTOS_HOME` or `<repo>/.juntos`) on the ports of its last `up`."""
    return _stack()[0]


def _stack(ports: Callable[[Ports], Ports] = lambda p: p) -> tuple[Stack, Ports | None]:
    repo = repo_root()
    home = JuntosHome.default(repo)
    saved = Ports.load(home.state_file)
    return Stack(home, repo, ports(saved or Ports())), saved


@app.command()
def up(
    pg_port: PgPort = None,
    kafka_port: KafkaPort = None,
    kafka_controller_port: ControllerPort = None,
    zipkin_port: ZipkinPort = None,
    prometheus_port: PrometheusPort = None,
    service_port: ServicePort = None,
    no_services: Annotated[bool, typer.Option("--no-services", help="infrastructure only")] = False,
    no_zipkin: Annotated[bool, typer.Option("--no-zipkin", help="no trace viewer")] = False,
    with_metrics: Annotated[
        bool,
        typer.Option(
            "--with-metrics", help="also a local Prometheus scraping the services (apt package)"
        ),
    ] = False,
    partitions: Annotated[int | None, typer.Option(help="partitions per new topic")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each component")] = 120.0,
) -> None:
    """Start everything that is not running yet and wait until it is ready."""
    with _friendly_errors():
        stack, saved = _stack(
            lambda p: p.merged(
                postgres=pg_port,
                kafka=kafka_port,
                kafka_controller=kafka_controller_port,
                zipkin=zipkin_port,
                prometheus=prometheus_port,
                services=service_port,
            )
        )
        stack.preflight(
            with_zipkin=not no_zipkin,
            with_services=not no_services,
            saved=saved,
            with_metrics=with_metrics,
        )
        stack.up(
            with_zipkin=not no_zipkin,
            with_services=not no_services,
            partitions=partitions,
            timeout=timeout,
            say=_say,
            with_metrics=with_metrics,
        )
        out.print(_where_table(stack))


@app.command()
def down(
    purge: Annotated[bool, typer.Option("--purge", help="also delete the data folder")] = False,
    test_servers: Annotated[
        bool,
        typer.Option(
            "--test-servers", help="also stop the servers pytest keeps (JUNTOS_TEST_REUSE=1)"
        ),
    ] = False,
) -> None:
    """Stop services, then Prometheus, Zipkin, Kafka and PostgreSQL; data stays unless --purge."""
    with _friendly_errors():
        stack, _ = _stack()
        stack.down(say=_say)
        if test_servers:
            for what in stop_test_servers(stack.repo):
                _say(f"stopped test {what}")
        if purge:
            stack.purge()
            _say(f"deleted {stack.home.root}")
        _say("[green]stack is down[/green]")


@app.command()
def status() -> None:
    """Show each component: running or stopped, pid, address."""
    with _friendly_errors():
        stack, _ = _stack()
        table = Table(title=f"juntos dev — {stack.home.root}", title_justify="left")
        for col in ("component", "state", "pid", "address"):
            table.add_column(col)
        for row in stack.status():
            state = Text("running", "green") if row.running else Text("stopped", "dim")
            table.add_row(row.component, state, str(row.pid or "-"), row.address)
        out.print(table)


@app.command()
def statements(
    top: Annotated[int, typer.Option(min=1, max=1000, help="how many statements")] = 20,
    reset: Annotated[
        bool, typer.Option("--reset", help="forget the statistics instead (before a run)")
    ] = False,
) -> None:
    """Where the stack's PostgreSQL time goes: its statements by total time, all databases."""
    with _friendly_errors():
        stack, _ = _stack()
        if not stack.postgres.is_running():
            raise InfraError("postgres is not running: start the stack with `juntos dev up`")
        if reset:
            stack.postgres.reset_statements()
            _say("statement statistics reset")
            return
        table = Table(title="statements by total execution time", title_justify="left")
        for col, justify in _STATEMENT_COLUMNS:
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for s in stack.postgres.top_statements(top):
            table.add_row(
                s["database"],
                f"{s['calls']:,}",
                f"{s['rows']:,}",
                f"{s['total_ms'] / 1000:,.1f}",
                f"{s['mean_ms']:,.2f}",
                s["query"][:160],
            )
        out.print(table)


_STATEMENT_COLUMNS = (
    ("database", "left"),
    ("calls", "right"),
    ("rows", "right"),
    ("total s", "right"),
    ("mean ms", "right"),
    ("statement", "left"),
)


def _where_table(stack: Stack) -> Table:
    table = Table(title="juntos dev is up", title_justify="left")
    table.add_column("what")
    table.add_column("where", overflow="fold")
    for name in SERVICES:
        service = stack.services[name]
        if service.is_running():
            table.add_row(f"{name} API docs", service.docs_url)
    table.add_row("Kafka bootstrap", stack.kafka.bootstrap)
    for name in SERVICES:
        table.add_row(f"Postgres {name}", stack.postgres.uri(name))
    if stack.zipkin.is_running():
        table.add_row("Traces (Zipkin)", stack.zipkin.url)
    if stack.prometheus.is_running():
        table.add_row("Metrics (Prometheus)", stack.prometheus.url)
    if stack.home.jwt_secret_file.is_file():
        table.add_row("JWT secret (HS256, dev)", str(stack.home.jwt_secret_file))
    table.add_row("Data and logs", str(stack.home.root))
    return table


@app.command()
def token(
    role: Annotated[str, typer.Option(help="NACIONAL DEPARTAMENTAL MUNICIPAL COGESTOR ENTIDAD")],
    scope: Annotated[
        str | None,
        typer.Option(
            help="DIVIPOLA department (DEPARTAMENTAL), municipality (MUNICIPAL, COGESTOR) or entity"
        ),
    ] = None,
    sub: Annotated[str | None, typer.Option(help="pseudonymous actor id")] = None,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 7)] = 8.0,
) -> None:
    """Print a dev bearer token the local services accept (signed with the stack's dev secret)."""

    with _friendly_errors():
        minted = dev_token(role, scope, sub=sub, hours=hours)
        out.print(minted, soft_wrap=True)
