"""The bulk path of a rebuild: store every fact first, fold each entity's history once.

The live path (`handlers.aplicar_lote`) reads each entity's state and rows before writing, and
when a rebuild reads one topic after another most facts arrive *late* for their entity (a
family's enrollment events come before its accompaniment events, whatever their times), each
forcing a refold. A rebuild into an empty generation needs neither: it

1. `cargar`s each batch with a handful of statements: the batch's event ids into `aplicado`
   (one INSERT ... SELECT FROM unnest, whose RETURNING says which ids are new: a replayed
   dead letter is read twice), the new events' facts into `<history>_hecho` by COPY in arrival
   order, point rows with one statement per table;
2. `plegar`s every history once, when the first pass is done: the facts of each entity, read in
   (time, arrival) order, give its rows by `domain.tramos`, the same canonical history the
   incremental path keeps, written by COPY.

The catch-up rounds and the swap then go through the incremental path, on the folded state.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from juntos_events.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reporting import domain, handlers
from reporting.domain import Hecho, Punto
from reporting.proyecciones import PROYECCIONES, Historia

PLIEGUE = 20_000
"""Facts read per round trip (and rows written per COPY) while folding."""


@dataclass
class Lote:
    """One batch of decoded events, sorted by the projections they feed."""

    esquemas: Mapping[str, str]
    eventos: dict[str, list[tuple[str, datetime, list[Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def agregar(self, envelope: Envelope) -> None:
        """Raises handlers.EventoDesconocido / domain.EventoInvalido like `handlers.aplicar`."""
        try:
            por_proyeccion = domain.operaciones(
                envelope.service, envelope.event_type, envelope.data, envelope.time
            )
        except KeyError:
            raise handlers.EventoDesconocido(f"{envelope.service}.{envelope.event_type}") from None
        for nombre, operaciones in por_proyeccion.items():
            if nombre in self.esquemas:
                self.eventos[nombre].append((envelope.id, envelope.time, operaciones))


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under SQLAlchemy's, in the same transaction (for COPY)."""
    return (await conn.get_raw_connection()).driver_connection


async def cargar(conn: AsyncConnection, lote: Lote) -> int:
    """Store a batch's facts and points in the new generations; how many applications."""
    pg = await _driver(conn)
    aplicadas = 0
    for nombre, eventos in lote.eventos.items():
        esquema = lote.esquemas[nombre]
        ids = [e[0] for e in eventos]
        nuevos = {
            fila[0]
            for fila in await pg.fetch(
                handlers.sentencia_aplicado(esquema), ids, [e[1] for e in eventos]
            )
        }
        proyeccion = PROYECCIONES[nombre]
        hechos: dict[str, list[tuple[str, datetime, str]]] = defaultdict(list)
        puntos: dict[str, list[Punto]] = defaultdict(list)
        for event_id, t, operaciones in eventos:
            if event_id not in nuevos:
                continue
            nuevos.discard(event_id)  # a duplicate within the batch counts once
            aplicadas += 1
            for op in operaciones:
                if isinstance(op, Hecho):
                    hechos[op.entidad].append((op.clave, t, json.dumps(op.cambio)))
                else:
                    puntos[op.tabla].append(op)
        for tabla, filas in hechos.items():
            await pg.copy_records_to_table(
                f"{tabla}_hecho",
                schema_name=esquema,
                columns=("clave", "t", "cambio"),
                records=filas,
            )
        for tabla, ops in puntos.items():
            await pg.execute(
                handlers.sentencia_puntos(esquema, proyeccion, tabla),
                handlers.filas_de_puntos(proyeccion.puntos_de(tabla), ops),
            )
    return aplicadas


async def plegar(
    engine: AsyncEngine, esquemas: Mapping[str, str], avance: Callable[[int], None]
) -> int:
    """Fold every history of the new generations from its facts; how many facts were read."""
    leidos = 0
    for nombre, esquema in esquemas.items():
        for historia in PROYECCIONES[nombre].historias:
            leidos += await _plegar_historia(engine, esquema, historia, avance)
    return leidos


async def _plegar_historia(
    engine: AsyncEngine, esquema: str, h: Historia, avance: Callable[[int], None]
) -> int:
    tabla = f"{esquema}.{h.tabla}"
    leidos = 0
    async with engine.connect() as lector, engine.begin() as escritor:
        lee, escribe = await _driver(lector), await _driver(escritor)
        escritura = _Escritura(escribe, esquema, h)
        async with lee.transaction():
            cursor = lee.cursor(
                f"SELECT clave, t, cambio FROM {tabla}_hecho ORDER BY clave, t, seq"
            )
            clave: str | None = None
            hechos: list[tuple[datetime, Any]] = []
            async for fila in _tandas(cursor):
                if fila[0] != clave:
                    if clave is not None:
                        escritura.entidad(clave, hechos)
                        await escritura.vaciar_si_lleno()
                    clave, hechos = fila[0], []
                hechos.append((fila[1], handlers.json_de(fila[2])))
                leidos += 1
                if leidos % PLIEGUE == 0:
                    avance(PLIEGUE)
            if clave is not None:
                escritura.entidad(clave, hechos)
        await escritura.vaciar()
    avance(leidos % PLIEGUE)
    return leidos


async def _tandas(cursor: Any) -> AsyncIterator[Any]:
    """An asyncpg cursor read in big batches: far fewer round trips than its row prefetch."""
    c = await cursor
    while filas := await c.fetch(PLIEGUE):
        for fila in filas:
            yield fila


class _Escritura:
    """Buffered rows of one history (and those derived from it), written by COPY."""

    def __init__(self, pg: Any, esquema: str, h: Historia) -> None:
        self.pg, self.esquema, self.h = pg, esquema, h
        self.historias = h.con_derivadas()
        self.filas: dict[tuple[str, str], list[tuple[Any, ...]]] = {
            (d.tabla, tipo): [] for d in self.historias for tipo in ("abiertas", "cerradas")
        }
        self.filas[(f"{h.tabla}_actual", "actual")] = []

    @staticmethod
    def columnas(h: Historia, tipo: str) -> tuple[str, ...]:
        if tipo == "actual":
            return ("clave", "t", "estado")
        claves = (h.clave, *([h.sub] if h.sub else []), "valid_from")
        return (*claves, *(("valid_to",) if tipo == "cerradas" else ()), *h.nombres)

    def entidad(self, clave: str, hechos: Sequence[tuple[datetime, Any]]) -> None:
        historias, estado = domain.tramos_de_varias(hechos, [d.filas for d in self.historias])
        for d, historia in zip(self.historias, historias, strict=True):
            abiertas, cerradas = (
                self.filas[(d.tabla, "abiertas")],
                self.filas[(d.tabla, "cerradas")],
            )
            for tramo in historia:
                sub = (tramo.sub,) if d.sub else ()
                if tramo.hasta is None:
                    abiertas.append((clave, *sub, tramo.desde, *tramo.valores))
                else:
                    cerradas.append((clave, *sub, tramo.desde, tramo.hasta, *tramo.valores))
        self.filas[(f"{self.h.tabla}_actual", "actual")].append(
            (clave, hechos[-1][0], json.dumps(estado))
        )

    async def vaciar_si_lleno(self) -> None:
        if sum(len(f) for f in self.filas.values()) >= PLIEGUE:
            await self.vaciar()

    async def vaciar(self) -> None:
        por_tabla = {d.tabla: d for d in self.historias}
        for (tabla, tipo), filas in self.filas.items():
            if filas:
                await self.pg.copy_records_to_table(
                    tabla,
                    schema_name=self.esquema,
                    columns=self.columnas(por_tabla.get(tabla, self.h), tipo),
                    records=filas,
                )
                filas.clear()
