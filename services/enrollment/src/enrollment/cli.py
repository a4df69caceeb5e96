"""`juntos enrollment ...`: operators' commands, through the service's public API.

The import streams the file to `POST /v1/importaciones/{registro}` with a progress bar over the
bytes sent (the service validates rows as they arrive) and a second one over the households
decided, polled from `GET /v1/importaciones/{id}`. Going through the API keeps one code path,
one audit trail and no database credentials on an operator's machine.
"""

from __future__ import annotations

import asyncio
import csv
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import httpx
import typer
from juntos_cli.dev import dev_token, friendly_errors
from juntos_cli.infra.process import InfraError
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from enrollment.vocabulario import Registro

app = typer.Typer(help="Enrollment: registry imports.", no_args_is_help=True)
out = Console(highlight=False)
CHUNK = 256 * 1024
MOSTRAR = 20

Url = Annotated[str, typer.Option(envvar="JUNTOS_ENROLLMENT_URL", help="Enrollment's base URL")]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="JUNTOS_TOKEN",
        help="Bearer token (default: a NACIONAL token minted with the local dev stack's secret)",
    ),
]


@app.command("import")
def importar(
    registro: Annotated[str, typer.Argument(help="sisben or rupd")],
    archivo: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    url: Url = "http://127.0.0.1:8001",
    token: Token = None,
    rechazos: Annotated[
        Path | None, typer.Option(help="Write every rejected row (line, household, reason) here")
    ] = None,
) -> None:
    """Import a SISBEN or RUPD file (CSV, or NDJSON if it ends in .ndjson)."""
    with friendly_errors():
        try:
            cual = Registro(registro.upper())
        except ValueError:
            raise InfraError(f"unknown registry {registro!r}: use sisben or rupd") from None
        bearer = token or dev_token("NACIONAL", None, sub="operador-cli")
        tipo = "application/x-ndjson" if archivo.suffix == ".ndjson" else "text/csv"
        with archivo.open("rb") as fichero:
            total = archivo.stat().st_size
            resultado = asyncio.run(_importar(url, bearer, cual, fichero, tipo, total, rechazos))
    _mostrar(resultado)


async def _importar(
    url: str,
    token: str,
    registro: Registro,
    fichero: BinaryIO,
    tipo: str,
    total: int,
    destino: Path | None,
) -> dict[str, Any]:
    iid = uuid.uuid4()
    headers = {"Authorization": f"Bearer {token}", "content-type": tipo}
    timeout = httpx.Timeout(30.0, read=None)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=False,
    ) as progress:
        leidos = progress.add_task("rows validated", total=total)
        hogares = progress.add_task("households decided", total=None)

        async def cuerpo() -> AsyncIterator[bytes]:
            while trozo := await asyncio.to_thread(fichero.read, CHUNK):
                progress.advance(leidos, len(trozo))
                yield trozo

        async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
            vigia = asyncio.create_task(_vigilar(client, headers, iid, progress, hogares))
            try:
                r = await client.post(
                    f"/v1/importaciones/{registro.value}",
                    params={"importacion_id": str(iid)},
                    content=cuerpo(),
                    headers=headers,
                )
            except httpx.TransportError as exc:
                raise InfraError(f"cannot reach enrollment at {url}: {exc}") from None
            finally:
                vigia.cancel()
            if r.status_code != 200:
                raise InfraError(_problema(r))
            resultado: dict[str, Any] = r.json()
            progress.update(
                hogares,
                total=resultado["resumen"]["hogares"] or 1,
                completed=resultado["resumen"]["hogares"] or 1,
            )
            if destino is not None:
                await _guardar_rechazos(client, headers, iid, destino)
    return resultado


async def _vigilar(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    iid: uuid.UUID,
    progress: Progress,
    tarea: TaskID,
) -> None:
    while True:
        await asyncio.sleep(0.5)
        r = await client.get(f"/v1/importaciones/{iid}", headers=headers)
        if r.status_code == 200:
            resumen = r.json()["resumen"]
            if resumen.get("hogares"):
                progress.update(
                    tarea, total=resumen["hogares"], completed=resumen["hogares_procesados"]
                )


async def _guardar_rechazos(
    client: httpx.AsyncClient, headers: dict[str, str], iid: uuid.UUID, destino: Path
) -> None:
    cursor = 0
    filas: list[list[Any]] = [["linea", "hogar", "motivo"]]
    while True:
        r = await client.get(
            f"/v1/importaciones/{iid}/rechazos",
            params={"cursor": cursor, "limite": 5000},
            headers=headers,
        )
        if r.status_code != 200:
            raise InfraError(_problema(r))
        pagina = r.json()
        if not pagina:
            break
        filas += ([x["linea"], x["hogar"] or "", x["motivo"]] for x in pagina)
        cursor = pagina[-1]["linea"]
    await asyncio.to_thread(_escribir_csv, destino, filas)


def _escribir_csv(destino: Path, filas: list[list[Any]]) -> None:
    with destino.open("w", newline="") as f:
        csv.writer(f).writerows(filas)


@app.command("rotate-keys")
def rotar(url: Url = "http://127.0.0.1:8001", token: Token = None) -> None:
    """Rewrap every family data key with the newest key in ENROLLMENT_KEKS (after adding it)."""
    with friendly_errors():
        bearer = token or dev_token("NACIONAL", None, sub="operador-cli")
        try:
            r = httpx.post(
                f"{url}/v1/mantenimiento/rotacion-de-llaves",
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=httpx.Timeout(30.0, read=None),
            )
        except httpx.TransportError as exc:
            raise InfraError(f"cannot reach enrollment at {url}: {exc}") from None
        if r.status_code != 200:
            raise InfraError(_problema(r))
    out.print(f"{r.json()['llaves_reenvueltas']:,} family keys rewrapped with the newest KEK")


def _problema(r: httpx.Response) -> str:
    try:
        body = r.json()
        return f"{r.status_code} {body.get('title', '')}: {body.get('detail', '')}".strip()
    except ValueError:
        return f"{r.status_code}: {r.text[:200]}"


def _mostrar(resultado: dict[str, Any]) -> None:
    resumen = resultado["resumen"]
    tabla = Table(
        title=f"import {resultado['importacion_id']} ({resultado['estado']})", title_justify="left"
    )
    tabla.add_column("what")
    tabla.add_column("count", justify="right")
    for clave, valor in resumen.items():
        tabla.add_row(clave.replace("_", " "), f"{valor:,}")
    out.print(tabla)
    primeros = resultado.get("rechazos", [])[:MOSTRAR]
    if primeros:
        out.print(f"[yellow]{resumen['filas_rechazadas']} rows rejected; the first ones:[/yellow]")
        for x in primeros:
            out.print(f"  line {x['linea']} (household {x['hogar'] or '?'}): {x['motivo']}")
