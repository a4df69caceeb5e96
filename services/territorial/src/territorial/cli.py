"""`juntos territorial ...`: operators' commands, through the service's public API.

`publish-catalogue` asks territorial to publish the DIVIPOLA entries its event store lacks (the
service also does it at start-up): after a DIVIPOLA refresh, or to check that nothing is missing.
It goes through the API like every operator command: one code path, no database credentials on
an operator's machine.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer
from juntos_cli.dev import dev_token, friendly_errors
from juntos_cli.infra.process import InfraError
from rich.console import Console

app = typer.Typer(help="Territorial: the DIVIPOLA catalogue.", no_args_is_help=True)
out = Console(highlight=False)

Url = Annotated[str, typer.Option(envvar="JUNTOS_TERRITORIAL_URL", help="Territorial's base URL")]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="JUNTOS_TOKEN",
        help="Bearer token (default: a NACIONAL token minted with the local dev stack's secret)",
    ),
]


@app.command("publish-catalogue")
def publicar_catalogo(url: Url = "http://127.0.0.1:8004", token: Token = None) -> None:
    """Publish the departments and municipalities the event store lacks (idempotent)."""
    with friendly_errors():
        bearer = token or dev_token("NACIONAL", None, sub="operador-cli")
        try:
            r = httpx.post(
                f"{url}/v1/catalogo/publicacion",
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=httpx.Timeout(30.0, read=300.0),
            )
        except httpx.TransportError as exc:
            raise InfraError(f"cannot reach territorial at {url}: {exc}") from None
        if r.status_code != 200:
            raise InfraError(_problema(r))
        hecho = r.json()
    if hecho["departamentos"] or hecho["municipios"]:
        out.print(
            f"published {hecho['departamentos']} department(s) and"
            f" {hecho['municipios']} municipality(ies)"
        )
    else:
        out.print("[green]the catalogue was already published: nothing to do[/green]")


def _problema(r: httpx.Response) -> str:
    try:
        body = r.json()
        return f"{r.status_code} {body.get('title', '')}: {body.get('detail', '')}".strip()
    except ValueError:
        return f"{r.status_code}: {r.text[:200]}"
