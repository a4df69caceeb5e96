"""`juntos offer ...` and `juntos partners ...`: operators' commands, through offer's public API.

`juntos offer import ruaf FILE` sends a RUAF-style CSV to `POST /v1/entregas/ruaf`, prints the
summary and the first rejected rows, and can write every rejected row to a CSV.
`juntos partners create-client | list-clients | show-client | revoke-client` manage partner
systems' OAuth2 clients (`/v1/clientes`). Going through the API keeps one code path, one
authorisation and no database credentials on a laptop.
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
partners = typer.Typer(
    help="Partner systems' OAuth2 clients (client credentials for offer's token endpoint).",
    no_args_is_help=True,
)
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


# --- partners' clients -------------------------------------------------------------------------


def _api(url: str, token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """One call to offer as a national operator; its problem as a one-line error."""
    bearer = token or dev_token("NACIONAL", None, sub="operador-cli")
    try:
        r = httpx.request(
            method, url + path, headers={"Authorization": f"Bearer {bearer}"}, timeout=30, **kwargs
        )
    except httpx.TransportError as exc:
        raise InfraError(f"cannot reach offer at {url}: {exc}") from None
    if r.status_code >= 300:
        raise InfraError(_problema(r))
    return r.json()


@partners.command("create-client")
def create_client(
    entidad: Annotated[str, typer.Option(help="The entity whose programs its tokens reach")],
    descripcion: Annotated[str, typer.Option(help="Which system, who runs it")],
    url: Url = "http://127.0.0.1:8003",
    token: Token = None,
) -> None:
    """Register a client for ENTIDAD's system; prints its id and its secret, shown only now."""
    with friendly_errors():
        c = _api(
            url,
            token,
            "POST",
            "/v1/clientes",
            json={"entidad": entidad, "descripcion": descripcion},
        )
    out.print(f"client_id:     {c['client_id']}")
    out.print(f"client_secret: {c['client_secret']}")
    out.print(f"token URL:     {url}{c['token_url']}  (grant_type=client_credentials)")
    out.print(
        "[yellow]The secret is shown only now: hand it over securely. JUNTOS keeps a hash.[/]"
    )


@partners.command("list-clients")
def list_clients(
    entidad: Annotated[str | None, typer.Option(help="Only this entity's")] = None,
    url: Url = "http://127.0.0.1:8003",
    token: Token = None,
) -> None:
    """The registered clients (never their secrets)."""
    with friendly_errors():
        filas = _api(
            url, token, "GET", "/v1/clientes", params={"entidad": entidad} if entidad else {}
        )
    tabla = Table()
    tabla.add_column("client_id", no_wrap=True)  # to copy and paste whole
    for columna in ("entidad", "descripcion", "state"):
        tabla.add_column(columna)
    for c in filas:
        tabla.add_row(c["client_id"], c["entidad"], c["descripcion"], _estado(c))
    out.print(tabla)


@partners.command("show-client")
def show_client(client_id: str, url: Url = "http://127.0.0.1:8003", token: Token = None) -> None:
    """A client and its audit trail (who registered and revoked it, when)."""
    with friendly_errors():
        c = _api(url, token, "GET", f"/v1/clientes/{client_id}")
    out.print(f"{c['client_id']}  {c['entidad']}  {c['descripcion']}  [{_estado(c)}]")
    for cambio in c["historial"]:
        out.print(f"  {cambio['cuando']}  {cambio['evento']}  by {cambio['actor']}")


@partners.command("revoke-client")
def revoke_client(
    client_id: str,
    motivo: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
    url: Url = "http://127.0.0.1:8003",
    token: Token = None,
) -> None:
    """Revoke a client: no new tokens; its last token expires within minutes."""
    with friendly_errors():
        c = _api(
            url, token, "POST", f"/v1/clientes/{client_id}/revocacion", json={"motivo": motivo}
        )
    out.print(f"{c['client_id']} ({c['entidad']}): {_estado(c)}")


def _estado(c: dict[str, Any]) -> str:
    return "revoked" if c["revocado"] else "active"


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
