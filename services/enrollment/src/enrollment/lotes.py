"""The acuerdos a cogestor signed in the field, uploaded in one batch (`POST /v1/vinculaciones`).

Each item gets the result the single vinculación would give it: APLICADO (with the family's new
version), DUPLICADO when the family already signed that very acuerdo (a device resending its
batch: nothing is written), or RECHAZADO with the refusal the single route answers (its status,
type and message: unknown family, outside the cogestor's scope, any rule of `domain.Vincular`).

Families of one batch are independent, so the batch is applied in one transaction when it can
be: one read of every family's row and stream, one guarded append, one projection, whatever the
batch's size. A family that appears twice in the batch, and every item of a batch that lost a
race to another writer, are applied one by one afterwards, in order (a batch of one in its own
transaction, retried on fresh state): nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from juntos_events.commands import retrying, together_or_alone
from sqlalchemy.ext.asyncio import AsyncConnection

from enrollment import domain, handlers, queries
from enrollment.domain import Familia, ReglaIncumplida, Vincular
from enrollment.handlers import Alcance


class EstadoItem(StrEnum):
    APLICADO = "APLICADO"
    DUPLICADO = "DUPLICADO"
    RECHAZADO = "RECHAZADO"


@dataclass(frozen=True)
class ResultadoItem:
    familia_id: str
    estado: EstadoItem
    version: int | None = None
    rechazo: ReglaIncumplida | None = None


async def vincular(
    srv: handlers.Servicios,
    pedidos: Sequence[tuple[str, Vincular]],
    *,
    alcance: Alcance,
    actor: str,
) -> list[ResultadoItem]:
    """Every item's result, in order: most in one transaction, the rest one by one."""
    return await together_or_alone(
        srv.engine,
        [fid for fid, _ in pedidos],
        lambda conn, solos: _juntos(conn, pedidos, solos, alcance, actor),
        lambda n: _solo(srv, pedidos, n, alcance, actor),
    )


async def _solo(
    srv: handlers.Servicios,
    pedidos: Sequence[tuple[str, Vincular]],
    n: int,
    alcance: Alcance,
    actor: str,
) -> ResultadoItem:
    """Item `n` alone, in its own transaction, again on fresh state if it loses a race."""
    fid = pedidos[n][0]
    hechos = await retrying(
        srv.engine,
        lambda conn: _juntos(conn, pedidos, {fid: n}, alcance, actor),
        attempts=handlers.INTENTOS,
    )
    return hechos[n]


async def _juntos(
    conn: AsyncConnection,
    pedidos: Sequence[tuple[str, Vincular]],
    solos: Mapping[str, int],
    alcance: Alcance,
    actor: str,
) -> dict[int, ResultadoItem]:
    """The results, by position, of the items in `solos` (family → position; each family once),
    in the caller's transaction. A lost race is a ConcurrencyConflict for them all."""
    hechos: dict[int, ResultadoItem] = {}
    filas = await queries.familias(conn, list(solos))
    admitidas = []
    for fid, n in solos.items():
        rechazo = alcance(filas.get(fid))
        if rechazo is None:
            admitidas.append(fid)
        else:
            hechos[n] = ResultadoItem(fid, EstadoItem.RECHAZADO, rechazo=rechazo)

    def decidir(estados: Mapping[str, Familia]) -> dict[str, list[Any]]:
        nuevos = {}
        for fid, familia in estados.items():
            n = solos[fid]
            comando = pedidos[n][1]
            if domain.es_reenvio(familia, comando):
                hechos[n] = ResultadoItem(fid, EstadoItem.DUPLICADO)
                continue
            try:
                nuevos[fid] = domain.decide(familia, comando)
            except ReglaIncumplida as regla:
                hechos[n] = ResultadoItem(fid, EstadoItem.RECHAZADO, rechazo=regla)
        return nuevos

    async def proyectar(conn: AsyncConnection, aplicados: Sequence[handlers.Resultado]) -> None:
        await queries.proyectar_familias(
            conn, [queries.fila_familia(a.after, a.version) for a in aplicados if a.events]
        )

    aplicados = await handlers.familias.apply_many(
        conn, admitidas, decidir, actor=actor, after=proyectar
    )
    for fid, aplicado in aplicados.items():
        n = solos[fid]
        estado = hechos[n].estado if n in hechos else EstadoItem.APLICADO
        if estado is not EstadoItem.RECHAZADO:
            hechos[n] = ResultadoItem(fid, estado, aplicado.version)
    return hechos
