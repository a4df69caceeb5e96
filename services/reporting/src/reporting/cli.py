"""`juntos reporting ...`: rebuild projections from offset 0, and see how they are doing.

Decision: the rebuild runs *in this process*, against the reporting database (`DATABASE_URL`)
and Kafka (`KAFKA_BOOTSTRAP`), not through the service's API. A rebuild of the national history
reads 10^8 events for hours: an HTTP request is the wrong vehicle, and the progress bar belongs
to the operator's terminal. The running service needs no coordination beyond the database: the
rebuild writes a new generation beside the live one and swaps the pointer under the advisory
lock the service's readers and consumer share (see `reconstruccion`). Migrations are applied
first, so it also works on a database the service has not started on yet.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from juntos_cli.dev import friendly_errors
from juntos_cli.infra.process import InfraError
from juntos_events.engine import async_engine
from juntos_events.migrate import upgrade
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from reporting import queries
from reporting.proyecciones import PROYECCIONES
from reporting.reconstruccion import ReconstruccionEnCurso, Resultado, reconstruir

app = typer.Typer(help="Reporting: rebuild projections, see their lag.", no_args_is_help=True)
out = Console(highlight=False)
MIGRATIONS = Path(str(files("reporting") / "migrations" / "versions"))

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        help="Reporting's database (default: the local stack's)",
    ),
]
Bootstrap = Annotated[
    str,
    typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP", help="Kafka bootstrap servers"),
]
DEV_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:55432/reporting"
DEV_KAFKA = "127.0.0.1:59092"


def _url(url: str) -> str:
    for esquema in ("postgresql://", "postgres://"):
        if url.startswith(esquema):
            return "postgresql+asyncpg://" + url.removeprefix(esquema)
    return url


@app.command("rebuild")
def rebuild(
    proyeccion: Annotated[
        str | None,
        typer.Argument(help=f"One of {', '.join(sorted(PROYECCIONES))} (default: all)"),
    ] = None,
    database_url: DatabaseUrl = DEV_DATABASE,
    bootstrap: Bootstrap = DEV_KAFKA,
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the replaced generation (retired) to compare")
    ] = False,
) -> None:
    """Rebuild from offset 0 of every topic into a new generation, then swap it in atomically.

    The live projections keep answering until the new ones have caught up.
    """
    with friendly_errors():
        if proyeccion is not None and proyeccion not in PROYECCIONES:
            raise InfraError(
                f"unknown projection {proyeccion!r}: choose from {', '.join(sorted(PROYECCIONES))}"
            )
        nombres = [proyeccion] if proyeccion else sorted(PROYECCIONES)
        try:
            resultado = asyncio.run(_rebuild(_url(database_url), bootstrap, nombres, keep_old))
        except ReconstruccionEnCurso as exc:
            raise InfraError(str(exc)) from None
        except OSError as exc:
            raise InfraError(f"cannot reach the database or Kafka: {exc}") from None
    tabla = Table("projection", "new generation", "replaced")
    for nombre, esquema in sorted(resultado.esquemas.items()):
        tabla.add_row(nombre, esquema, resultado.anteriores.get(nombre, "-"))
    out.print(tabla)
    saltados = ", ".join(f"{n} {m}" for m, n in sorted(resultado.saltados.items()))
    out.print(
        f"{resultado.leidos} events read, {resultado.aplicados} applied"
        + (f", skipped: {saltados}" if saltados else "")
    )


async def _rebuild(url: str, bootstrap: str, nombres: list[str], conservar: bool) -> Resultado:
    await upgrade(url, MIGRATIONS)
    engine = async_engine(url)
    try:
        with Progress(
            TextColumn("[bold]rebuild[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=out,
        ) as progreso:
            tarea = progreso.add_task(", ".join(nombres), total=None)

            def avance(fase: str, hechos: int, total: int) -> None:
                progreso.update(
                    tarea,
                    description=f"{', '.join(nombres)}: {fase}",
                    completed=hechos,
                    total=max(total, hechos),
                )

            return await reconstruir(
                engine, bootstrap, nombres, avance=avance, conservar_anteriores=conservar
            )
    finally:
        await engine.dispose()


@app.command("status")
def status(database_url: DatabaseUrl = DEV_DATABASE) -> None:
    """Each projection's live generation, the newest event it applied, and its lag."""
    with friendly_errors():
        try:
            filas = asyncio.run(_estado(_url(database_url)))
        except OSError as exc:
            raise InfraError(f"cannot reach the database: {exc}") from None
    tabla = Table("projection", "generation", "schema", "newest event", "lag (s)")
    ahora = datetime.now(UTC)
    for fila in filas:
        ultimo = fila["ultimo_evento"]
        tabla.add_row(
            fila["proyeccion"],
            str(fila["generacion"]),
            fila["esquema"],
            ultimo.isoformat() if ultimo else "-",
            f"{(ahora - ultimo).total_seconds():.0f}" if ultimo else "-",
        )
    out.print(tabla)


async def _estado(url: str) -> list[dict]:
    engine = async_engine(url)
    try:
        async with queries.lectura(engine) as (conn, _):
            return await queries.estado_proyecciones(conn)
    finally:
        await engine.dispose()
