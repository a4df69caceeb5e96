"""The one refusal every service's pure domain raises: a command its rules do not allow.

It carries what an API needs to answer it (the HTTP status: 409 for the state, 422 for the
input, 404 for what does not exist; a problem type) and, for a bulk command refused as a
whole, the reason of each bad item (`motivos`), so a domain never imports the web layer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence


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


def todos_o_ninguno(
    campo: str,
    claves: Sequence[Hashable],
    revisar: Callable[[int], None],
    *,
    mismo: str,
    que: str,
    codigo: str,
) -> None:
    """A bulk command's items checked all or nothing: `revisar(i)` each item (it raises
    ReglaIncumplida for a bad one) and refuse the whole list with a 422 naming every bad item by
    its index in `campo`; an item whose key (`claves[i]`) came before is bad too."""
    motivos: list[str] = []
    primera: dict[Hashable, int] = {}
    for i, clave in enumerate(claves):
        if clave in primera:
            motivos.append(f"{campo}[{i}]: the same {mismo} as {campo}[{primera[clave]}]")
            continue
        primera[clave] = i
        try:
            revisar(i)
        except ReglaIncumplida as regla:
            motivos.append(f"{campo}[{i}]: {regla}")
    if motivos:
        raise ReglaIncumplida(
            f"{len(motivos)} of {len(claves)} {que}; nothing was changed",
            status=422,
            codigo=codigo,
            motivos=motivos,
        )


def todos_en_alcance(
    campo: str,
    cuantos: int,
    negar: Callable[[int], ReglaIncumplida | None],
    *,
    efecto: str,
) -> None:
    """A bulk request's families all within the caller's reach, or one refusal naming each
    refused one by its index in `campo`: 403 if any is outside the caller's scope, else 404
    (what the single routes answer for them). `negar(i)` is item i's refusal, or None."""
    negadas = [(i, regla) for i in range(cuantos) if (regla := negar(i)) is not None]
    if not negadas:
        return
    fuera = any(regla.status == 403 for _, regla in negadas)
    raise ReglaIncumplida(
        f"{len(negadas)} of {cuantos} families are "
        + ("outside your scope or unknown" if fuera else "unknown")
        + f"; {efecto}",
        status=403 if fuera else 404,
        codigo="out-of-scope" if fuera else "not-found",
        motivos=[f"{campo}[{i}]: {regla}" for i, regla in negadas],
    )
