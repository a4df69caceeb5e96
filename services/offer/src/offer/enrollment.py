"""The adapter to enrollment: find the JUNTOS member a document belongs to, without keeping it.

Offer never stores a document number. A RUAF row's document goes to enrollment's
`POST /v1/familias/busqueda` (POST keeps it out of URLs and logs) and only the pseudonymous
answer comes back. `Enrollment` is the port; `EnrollmentHttp` the httpx adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx


@dataclass(frozen=True)
class Miembro:
    familia_id: str
    integrante_id: str
    estado: str
    municipio: str
    desplazada: bool


class EnrollmentNoDisponible(Exception):
    """Enrollment could not answer (down, refused our token, or an unexpected reply)."""


class Enrollment(Protocol):
    async def buscar(self, tipo_documento: str, numero_documento: str) -> Miembro | None: ...


class EnrollmentHttp:
    """httpx client of enrollment's API; one per app, closed with it."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    async def buscar(self, tipo_documento: str, numero_documento: str) -> Miembro | None:
        try:
            r = await self._client.post(
                "/v1/familias/busqueda",
                json={"tipo_documento": tipo_documento, "numero_documento": numero_documento},
            )
        except httpx.HTTPError as exc:
            raise EnrollmentNoDisponible(f"cannot reach enrollment: {type(exc).__name__}") from None
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            # never echo the body: it could repeat the document we sent
            raise EnrollmentNoDisponible(f"enrollment answered {r.status_code}")
        body = r.json()
        return Miembro(
            familia_id=str(body["familia_id"]),
            integrante_id=str(body["integrante_id"]),
            estado=str(body["estado"]),
            municipio=str(body["municipio"]),
            desplazada=bool(body["desplazada"]),
        )

    async def cerrar(self) -> None:
        await self._client.aclose()
