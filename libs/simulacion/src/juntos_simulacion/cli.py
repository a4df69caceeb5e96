"""`juntos simulate generate`: a synthetic population on disk, with a progress bar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from juntos_cli.dev import friendly_errors
from juntos_cli.infra.process import InfraError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from juntos_simulacion.generador import CORTE, Parametros, generar

app = typer.Typer(help="Synthetic population for scale runs.", no_args_is_help=True)
out = Console(highlight=False)

Share = Annotated[float, typer.Option(min=0.0, max=1.0)]


@app.command("generate")
def generate(
    families: Annotated[int, typer.Option("--families", "-n", min=1, help="families to draw")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the files")],
    seed: Annotated[int, typer.Option(help="same seed, same bytes")] = 1,
    cut_date: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help=f"registries' cut date (ages) [default: {CORTE}]"),
    ] = None,
    bad_rows: Share = 0.005,
    duplicates: Share = 0.005,
    both_registries: Share = 0.2,
    deliveries: Share = 0.08,
    ruaf_rows_per_file: Annotated[int, typer.Option(min=1)] = 100_000,
    overwrite: Annotated[bool, typer.Option(help="replace a population already in --out")] = False,
) -> None:
    """Write sisben.csv, rupd.csv, linea_base.ndjson, programas.ndjson, cupos.ndjson,
    ruaf-NNNN.csv, plantados.ndjson and manifest.json into --out (see the package README)."""
    with friendly_errors():
        if (out_dir / "manifest.json").exists() and not overwrite:
            raise InfraError(
                f"{out_dir} already holds a population; pass --overwrite to replace it"
            )
        if out_dir.exists() and not out_dir.is_dir():
            raise InfraError(f"{out_dir} is not a directory")
        corte = cut_date.date() if cut_date else CORTE
        if corte > date.today():
            raise InfraError("--cut-date is in the future: the importers refuse future dates")
        try:
            p = Parametros(
                familias=families,
                semilla=seed,
                corte=corte,
                p_ambos_registros=both_registries,
                p_malas=bad_rows,
                p_duplicados=duplicates,
                p_entrega=deliveries,
                filas_por_ruaf=ruaf_rows_per_file,
            )
        except ValueError as exc:
            raise InfraError(str(exc)) from None
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
        ) as progress:
            tarea = progress.add_task("families", total=families)
            manifiesto = generar(p, out_dir, lambda n: progress.update(tarea, completed=n))
    tabla = Table(title=f"population in {out_dir} (seed {seed})", title_justify="left")
    tabla.add_column("file")
    tabla.add_column("rows / items", justify="right")
    for nombre, datos in manifiesto["archivos"].items():
        filas = datos.get("filas", datos.get("esperado", {}).get("filas"))
        cuantos = filas if filas is not None else datos.get("familias", datos.get("programas"))
        tabla.add_row(nombre, f"{cuantos:,}")
    out.print(tabla)
    pob = manifiesto["poblacion"]
    out.print(
        f"{pob['familias']:,} families to enroll, {pob['personas']:,} people,"
        f" {pob['desplazadas']:,} displaced; planted: {manifiesto['plantados']}"
    )


@app.command("run")
def run(
    families: Annotated[
        int | None, typer.Option("--families", "-n", min=1, help="families (if --dir is new)")
    ] = None,
    seed: Annotated[int, typer.Option(help="population's seed (if generated)")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="requests at once")] = 8,
    run_dir: Annotated[
        Path | None,
        typer.Option("--dir", help="a generated population; generated here if it has none"),
    ] = None,
    graduate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of families that reach every LB")
    ] = 0.2,
    wait: Annotated[
        float, typer.Option(min=1.0, help="seconds to wait for the consumers after each stage")
    ] = 600.0,
) -> None:
    """Drive the running stack (`juntos dev up`, same JUNTOS_HOME) through every stage, wait for
    the consumers, check the invariants; exit code 1 if one fails. Report: <dir>/informe-run.json.
    """
    import asyncio

    from juntos_simulacion.ejecucion import INFORME, Opciones, ejecutar
    from juntos_simulacion.pila import Pila

    with friendly_errors():
        destino = run_dir or Path(".juntos") / f"sim-{families}-{seed}"
        if not (destino / "manifest.json").exists():
            if families is None:
                raise InfraError(f"{destino} holds no population: pass --families to generate one")
            generate(families=families, out_dir=destino, seed=seed)
        pila = Pila.actual()
        tabla = _tabla_etapas()
        out.print(f"driving the stack in {pila.stack.home.root} with the population in {destino}")
        try:
            informe = asyncio.run(
                ejecutar(
                    destino,
                    pila,
                    Opciones(concurrency, seed, graduate, wait),
                    lambda m: _fila(tabla, m.resumen()),
                )
            )
        except httpx.TransportError as exc:
            raise InfraError(
                f"lost the connection to {exc.request.url} ({type(exc).__name__}):"
                " is the stack still up? `juntos dev status` says"
            ) from None
    Console(highlight=False, width=max(out.width, 150)).print(tabla)
    for inv in informe["invariantes"]:
        marca = "[green]PASS[/green]" if inv["ok"] else "[red]FAIL[/red]"
        out.print(f"{marca} {inv['invariante']}: {inv['cifras']}", soft_wrap=True)
    out.print(
        f"{informe['familias']:,} families in {informe['segundos_total']:.1f} s;"
        f" report {destino / INFORME}"
    )
    if not informe["ok"]:
        raise typer.Exit(1)


def _tabla_etapas() -> Table:
    tabla = Table(title="simulate run", title_justify="left")
    for col in ("stage", "interface", "items", "s", "items/s", "events/s", "p50 ms", "p99 ms"):
        tabla.add_column(col, justify="left" if col in ("stage", "interface") else "right")
    tabla.add_column("lag at end", justify="right")
    tabla.add_column("refused", justify="right")
    return tabla


def _fila(tabla: Table, r: dict) -> None:
    def n(x: float | None) -> str:
        return "-" if x is None else f"{x:,.1f}"

    tabla.add_row(
        r["etapa"],
        r["interfaz"],
        f"{r['items']:,}",
        f"{r['segundos']:.1f}",
        n(r["items_por_segundo"]),
        n(r["eventos_por_segundo"]),
        n(r["p50_ms"]),
        n(r["p99_ms"]),
        f"{r['rezago_consumidores']} + {r['outbox_pendiente']} outbox",
        str(r["respuestas"].get("error", 0)),
    )
    out.print(
        f"{r['etapa']}: {r['items']:,} items in {r['segundos']:.1f} s,"
        f" p99 {n(r['p99_ms'])} ms, lag {r['rezago_consumidores']}"
    )
