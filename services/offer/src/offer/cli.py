"""`juntos offer ...`: operators' commands, through the service's public API.

`juntos offer import ruaf FILE` sends a RUAF-style CSV to `POST /v1/entregas/ruaf`, prints the
summary and the first rejected rows, and can write every rejected row to a CSV. Going through
the API keeps one code path, one authorisation and no database credentials on a laptop.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from juntos_cli.dev import dev_token, friendly_errors
from juntos_cli.infra.process import InfraError
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Offer: delivered-services imports.", no_args_is_help=True)
out = Console(highlight=False)
MOSTRAR = 20
TIPOS = ("ruaf",)

Url = Annotated[str, typer.Option(envvar="JUNTOS_OFFER_URL", help="Offer's base URL")]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="JUNTOS_TOKEN",
        help="Bearer token (default: a NACIONAL token minted with the local dev stack's secret)",
    ),
]


@app.command("import")
def importar(
    tipo: Annotated[str, typer.Argument(help="ruaf")],
    archivo: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    url: Url = "http://127.0.0.1:8003",
    token: Token = None,
    rechazos: Annotated[
        Path | None, typer.Option(help="Write every rejected row (line, reason) here")
    ] = None,
) -> None:
    """Import a RUAF-style CSV of delivered benefits (matched to JUNTOS members by enrollment)."""
    with friendly_errors():
        if tipo.lower() not in TIPOS:
            raise InfraError(f"unknown import {tipo!r}: use ruaf")
        bearer = token or dev_token("NACIONAL", None, sub="operador-cli")
        resultado = asyncio.run(_importar(url, bearer, archivo.read_bytes(), rechazos))
    _mostrar(resultado)


async def _importar(url: str, token: str, cuerpo: bytes, destino: Path | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0, read=None)) as client:
        try:
            r = await client.post(
                "/v1/entregas/ruaf", content=cuerpo, headers={**headers, "content-type": "text/csv"}
            )
        except httpx.TransportError as exc:
            raise InfraError(f"cannot reach offer at {url}: {exc}") from None
        if r.status_code != 200:
            raise InfraError(_problema(r))
        resultado: dict[str, Any] = r.json()
        if destino is not None:
            await _guardar_rechazos(client, headers, resultado["importacion_id"], destino)
    return resultado


async def _guardar_rechazos(
    client: httpx.AsyncClient, headers: dict[str, str], iid: str, destino: Path
) -> None:
    cursor, filas = 0, [["linea", "motivo"]]
    while True:
        r = await client.get(
            f"/v1/entregas/ruaf/{iid}/rechazos",
            params={"cursor": cursor, "limite": 5000},
            headers=headers,
        )
        if r.status_code != 200:
            raise InfraError(_problema(r))
        pagina = r.json()
        if not pagina:
            break
        filas += ([x["linea"], x["motivo"]] for x in pagina)
        cursor = pagina[-1]["linea"]
    await asyncio.to_thread(_escribir_csv, destino, filas)


def _escribir_csv(destino: Path, filas: list[list[Any]]) -> None:
    with destino.open("w", newline="") as f:
        csv.writer(f).writerows(filas)


def _problema(r: httpx.Response) -> str:
    try:
        body = r.json()
        return f"{r.status_code} {body.get('title', '')}: {body.get('detail', '')}".strip()
    except ValueError:
        return f"{r.status_code}: {r.text[:200]}"


def _mostrar(resultado: dict[str, Any]) -> None:
    tabla = Table(title=f"RUAF import {resultado['importacion_id']}", title_justify="left")
    tabla.add_column("what")
    tabla.add_column("count", justify="right")
    for clave, valor in resultado["resumen"].items():
        tabla.add_row(clave.replace("_", " "), f"{valor:,}")
    out.print(tabla)
    primeros = resultado.get("rechazos", [])[:MOSTRAR]
    if primeros:
        out.print("[yellow]rows not recorded; the first ones:[/yellow]")
        for x in primeros:
            out.print(f"  line {x['linea']}: {x['motivo']}")
