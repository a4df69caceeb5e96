"""The adapter to enrollment: find the JUNTOS member a document belongs to, without keeping it.

Offer never stores a document number. A RUAF row's document goes to enrollment's
`POST /v1/familias/busqueda/lote` (POST keeps them out of URLs and logs) and only the pseudonymous
answer comes back. `Enrollment` is the port; `EnrollmentHttp` the httpx adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    async def buscar(self, documentos: Sequence[tuple[str, str]]) -> list[Miembro | None]:
        """The member with each (tipo, numero), in order; None where nobody is enrolled."""
        ...


LOTE = 1000
"""Documents per request: enrollment's `POST /v1/familias/busqueda/lote` takes up to 1,000."""


class EnrollmentHttp:
    """httpx client of enrollment's API; one per app, closed with it."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    async def buscar(self, documentos: Sequence[tuple[str, str]]) -> list[Miembro | None]:
        """One request for up to `LOTE` documents (the caller splits a file in pages)."""
        cuerpo = {
            "documentos": [{"tipo_documento": t, "numero_documento": n} for t, n in documentos]
        }
        try:
            r = await self._client.post("/v1/familias/busqueda/lote", json=cuerpo)
        except httpx.HTTPError as exc:
            raise EnrollmentNoDisponible(f"cannot reach enrollment: {type(exc).__name__}") from None
        if r.status_code != 200:
            # never echo the body: it could repeat a document we sent
            raise EnrollmentNoDisponible(f"enrollment answered {r.status_code}")
        resultados = r.json()["resultados"]
        if len(resultados) != len(documentos):
            raise EnrollmentNoDisponible("enrollment answered another number of documents")
        return [None if x is None else _miembro(x) for x in resultados]

    async def cerrar(self) -> None:
        await self._client.aclose()


def _miembro(x: dict[str, object]) -> Miembro:
    return Miembro(
        familia_id=str(x["familia_id"]),
        integrante_id=str(x["integrante_id"]),
        estado=str(x["estado"]),
        municipio=str(x["municipio"]),
        desplazada=bool(x["desplazada"]),
    )
