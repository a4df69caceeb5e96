"""Offline sync: a cogestor's device uploads visits captured days ago, in one batch.

Each item carries a client-generated id (it becomes the visit id, so a re-sent batch has no
second effect) and the case version the device last saw, and each gets its own result. A
follow-up based on an older version is merged when the questions it changes were not changed
since; if they were, it is a conflict, reported with the device's value and the current one,
and nothing is written: never last-write-wins.

A batch is applied in one transaction when it can be (`aplicar_lote`): a field day's visits of
different families are independent, and one transaction for them all costs a few round trips
instead of a dozen per item. A follow-up against an older version is compared there too: the
case knows which questions changed at which version (`Caso.cambiadas_desde`), so no event is
read for it, and a case loaded from its snapshot compares the same (a delivery between the
plan and the follow-up made it a quarter of a `simulate run`'s follow-ups, each of them a
dozen sequential round trips alone). Items that need more than their case (a second item of
the same family) and every item of a batch that lost a race are applied one by one afterwards,
each in its own transaction, exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from juntos_events.commands import StaleVersion, together_or_alone
from juntos_events.store import ConcurrencyConflict
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from accompaniment import domain, handlers
from accompaniment.domain import ReglaIncumplida
from accompaniment.linea_base import aplicar_cambios


@dataclass(frozen=True)
class Conflicto:
    pregunta: str
    valor_dispositivo: Any
    valor_actual: Any


@dataclass
class ResultadoItem:
    id: str
    estado: str  # APLICADO, DUPLICADO, CONFLICTO, RECHAZADO
    version: int | None = None
    detalle: str | None = None
    conflictos: list[Conflicto] = field(default_factory=list)


def valor_en(datos: Mapping[str, Any], ruta: str) -> Any:
    actual: Any = datos
    for parte in ruta.split("."):
        if not isinstance(actual, Mapping) or parte not in actual:
            return None
        actual = actual[parte]
    return actual


def conflictos(caso: domain.Caso, cambios: dict[str, Any], vista: int) -> list[Conflicto]:
    """The item's changes that collide with the changes made to the case since the version the
    device saw (`vista`); none when it saw the current one."""
    if caso.linea_base is None or vista >= caso.version:
        return []
    otras = caso.cambiadas_desde(vista)
    _, propias = aplicar_cambios(caso.linea_base.modelo, cambios)
    choques = set(propias) if otras is None else set(propias) & otras
    actual = caso.linea_base.datos
    return [
        Conflicto(pregunta, valor_en(cambios, pregunta), valor_en(actual, pregunta))
        for pregunta in sorted(choques)
    ]


def _conflicto(item_id: str, version: int, choques: list[Conflicto]) -> ResultadoItem:
    detalle = "answers changed since the version this device saw"
    return ResultadoItem(item_id, "CONFLICTO", version, detalle, choques)


@dataclass(frozen=True)
class Pedido:
    """One item to apply: `comando(miembros)` builds the case command."""

    item_id: str
    familia_id: str
    vista: int
    comando: Any
    cambios: dict[str, Any] | None


async def aplicar_lote(
    srv: handlers.Servicios, pedidos: Sequence[Pedido], *, actor: str
) -> list[ResultadoItem]:
    """Every item's result, in order: most in one transaction, the rest one by one."""

    async def solo(n: int) -> ResultadoItem:
        p = pedidos[n]
        return await aplicar_item(
            srv,
            item_id=p.item_id,
            familia_id=p.familia_id,
            vista=p.vista,
            comando=p.comando,
            cambios=p.cambios,
            actor=actor,
        )

    return await together_or_alone(
        srv.engine,
        [p.familia_id for p in pedidos],
        lambda conn, solos: _en_una_transaccion(conn, pedidos, solos, actor),
        solo,
    )


async def _en_una_transaccion(
    conn: AsyncConnection, pedidos: Sequence[Pedido], solos: Mapping[str, int], actor: str
) -> dict[int, ResultadoItem]:
    """Results by position of the items that need only their case (`solos`: family → position),
    a conflict with the changes since the device's version included."""
    hechos: dict[int, ResultadoItem] = {}

    def decidir(fid: str, caso: domain.Caso, miembros: Sequence[Any]) -> list[Any]:
        n = solos[fid]
        p = pedidos[n]
        version = caso.version
        if p.item_id in caso.visitas:
            hechos[n] = ResultadoItem(p.item_id, "DUPLICADO", version)
            return []
        if p.cambios is not None and (choques := conflictos(caso, p.cambios, p.vista)):
            hechos[n] = _conflicto(p.item_id, version, choques)
            return []
        try:
            comando = p.comando(list(miembros)) if callable(p.comando) else p.comando
            nuevos = domain.decide(caso, comando)
        except ReglaIncumplida as regla:
            hechos[n] = ResultadoItem(p.item_id, "RECHAZADO", None, str(regla))
            return []
        except ValidationError as error:
            hechos[n] = ResultadoItem(p.item_id, "RECHAZADO", None, _motivo(error))
            return []
        hechos[n] = ResultadoItem(p.item_id, "APLICADO", version)
        return nuevos

    aplicados = await handlers.aplicar_lote(
        conn, [handlers.Paso(fid, decidir) for fid in solos], actor=actor
    )
    for fid, aplicado in aplicados.items():
        hechos[solos[fid]].version = aplicado.version
    return hechos


async def aplicar_item(
    srv: handlers.Servicios,
    *,
    item_id: str,
    familia_id: str,
    vista: int,
    comando: Any,
    cambios: dict[str, Any] | None,
    actor: str,
) -> ResultadoItem:
    """One item in its own transaction; `comando(miembros)` builds the case command."""
    try:
        async with srv.engine.begin() as conn:
            caso, version = await handlers.caso(conn, familia_id)
            if item_id in caso.visitas:
                return ResultadoItem(item_id, "DUPLICADO", version)
            if cambios is not None and (choques := conflictos(caso, cambios, vista)):
                return _conflicto(item_id, version, choques)
            aplicado = await handlers.aplicar(
                conn, familia_id, comando, actor=actor, expected=version
            )
            return ResultadoItem(item_id, "APLICADO", aplicado.version)
    except ReglaIncumplida as regla:
        return ResultadoItem(item_id, "RECHAZADO", None, str(regla))
    except ValidationError as error:
        return ResultadoItem(item_id, "RECHAZADO", None, _motivo(error))
    except (StaleVersion, ConcurrencyConflict) as carrera:  # another writer won meanwhile
        return ResultadoItem(item_id, "CONFLICTO", None, f"{carrera}; send the item again")


def _motivo(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
        for e in error.errors(include_input=False, include_url=False)
    )


def resumen(resultados: Sequence[ResultadoItem]) -> dict[str, int]:
    cuenta: dict[str, int] = {}
    for r in resultados:
        cuenta[r.estado] = cuenta.get(r.estado, 0) + 1
    return cuenta
