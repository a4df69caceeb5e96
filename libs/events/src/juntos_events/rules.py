"""The one refusal every service's pure domain raises: a command its rules do not allow.

It carries what an API needs to answer it (the HTTP status: 409 for the state, 422 for the
input, 404 for what does not exist; a problem type) and, for a bulk command refused as a
whole, the reason of each bad item (`motivos`), so a domain never imports the web layer.
"""

from __future__ import annotations

from collections.abc import Sequence


class ReglaIncumplida(Exception):
    def __init__(
        self,
        mensaje: str,
        *,
        status: int = 409,
        codigo: str = "rule-violated",
        motivos: Sequence[str] = (),
    ) -> None:
        super().__init__(mensaje)
        self.status, self.codigo, self.motivos = status, codigo, tuple(motivos)
