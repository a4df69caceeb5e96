"""Offer commands: load the stream, decide, append with the outbox, update the read models.

Everything a command changes (events, outbox rows, read models, the demand-supply balance)
commits in one transaction. A writer that lost a race is retried on fresh state (the rules are
checked again: the loser of the last slot gets "no capacity", never a second slot), unless the
caller named the version it saw (If-Match): then it gets StaleVersion.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from juntos_events.commands import Aggregate, Applied, StaleVersion, Step, given, retrying
from juntos_events.events import DomainEvent
from juntos_events.store import ConcurrencyConflict
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from offer import balance, domain, proyecciones, queries
from offer.domain import (
    AsignarCupo,
    AsignarLote,
    ComandoCupos,
    ComandoPrograma,
    Cupos,
    HabilitarCupos,
    LiberarCupo,
    LineaCupos,
    Programa,
    RegistrarPrograma,
    ReglaIncumplida,
    cupos_stream,
    programa_stream,
)
from offer.elegibilidad import Candidato, Hogar, candidatos, pendientes_para, seleccionar
from offer.events import CuposHabilitados, store
from offer.vocabulario import MotivoLiberacion

if TYPE_CHECKING:
    from offer.enrollment import Enrollment
    from offer.settings import OfferSettings

R = TypeVar("R")
COLOMBIA = ZoneInfo("America/Bogota")
INTENTOS = 5

VersionDesactualizada = StaleVersion


def hoy_en_colombia() -> date:
    return datetime.now(COLOMBIA).date()


@dataclass
class Servicios:
    """The adapters every handler needs; built once per app (or test)."""

    engine: AsyncEngine
    enrollment: Enrollment
    settings: OfferSettings
    hoy: Callable[[], date] = hoy_en_colombia


TRANSITORIOS = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


async def ejecutar(
    engine: AsyncEngine,
    run: Callable[[AsyncConnection], Awaitable[R]],
    *,
    expected: int | None = None,
) -> R:
    """`retrying` (lost races), and again when PostgreSQL broke a deadlock against us.

    Slot and program changes lock demand-supply rows in (municipio, logro) order, but a
    consumer's batch of several boards may hold some of them already; PostgreSQL then aborts one
    side, and a fresh attempt simply waits for the other.
    """
    for intento in range(INTENTOS):
        try:
            return await retrying(engine, run, expected=expected, attempts=INTENTOS)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in TRANSITORIOS or intento == INTENTOS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


programas: Aggregate[Programa, ComandoPrograma] = Aggregate(
    store=store,
    stream_type="programa",
    fold=domain.fold_programa,
    decide=domain.decide_programa,
    evolve_from=lambda nuevos, p: domain.fold_programa(nuevos, p),
)
cupos: Aggregate[Cupos, ComandoCupos] = Aggregate(
    store=store,
    stream_type="cupos",
    fold=domain.fold_cupos,
    decide=domain.decide_cupos,
    evolve_from=lambda nuevos, c: domain.fold_cupos(nuevos, c),
)


async def cargar_programa(conn: AsyncConnection, programa_id: str) -> tuple[Programa, int]:
    return await programas.load(conn, programa_stream(programa_id))


# --- programs ---------------------------------------------------------------------------------


async def mandar_programa(
    srv: Servicios,
    programa_id: str,
    comando: ComandoPrograma,
    *,
    actor: str,
    if_match: int | None = None,
) -> Applied[Programa]:
    """Register, update or report quality; a change of LB or municipalities moves the supply."""

    async def despues(conn: AsyncConnection, hecho: Applied[Programa]) -> None:
        await proyecciones.programa(conn, hecho.after, hecho.version)
        antes, ahora = hecho.before.datos, hecho.after.vigente()
        if antes is not None and (antes.logros, antes.municipios) == (
            ahora.logros,
            ahora.municipios,
        ):
            return
        # the program's slots follow it: new LB, or 0 where it no longer runs (one command)
        lineas = [
            LineaCupos(
                f.municipio, f.periodo, f.capacidad if f.municipio in ahora.municipios else 0
            )
            for f in await queries.cupos_de_programa(conn, programa_id)
        ]
        await cupos.apply_many(
            conn,
            [cupos_stream(programa_id, x.municipio, x.periodo) for x in lineas],
            lambda estados: domain.habilitar_lineas(hecho.after, lineas, estados),
            actor=actor,
            after=lambda conn, hechos: _reflejar(conn, hechos, actor, {}),
        )
        municipios = await queries.municipios_con_cupos(conn, programa_id)
        logros = set(ahora.logros) | set(antes.logros if antes else ())
        await balance.ajustar(
            conn, suministro={(m, lb) for m in municipios for lb in logros}, actor=actor
        )

    return await ejecutar(
        srv.engine,
        lambda conn: programas.apply(
            conn,
            programa_stream(programa_id),
            given(comando),
            actor=actor,
            expected=if_match,
            after=despues,
        ),
        expected=if_match,
    )


async def registrar_oferta(
    srv: Servicios,
    registros: Sequence[RegistrarPrograma],
    lineas: Sequence[tuple[str, LineaCupos]],
    *,
    actor: str,
) -> tuple[list[Applied[Programa]], list[Applied[Cupos]]]:
    """Programs (each as `mandar_programa` registers it) and slot lines of these or of existing
    programs (each as `habilitar_cupos`), in one transaction, all or nothing.

    A registration changes no slots, so its only read model is the program's; the lines then
    move the supply once (`_reflejar`). Answers each registration's and each line's Applied,
    in the request's order.
    """
    pstreams = [programa_stream(r.programa_id) for r in registros]
    cstreams = [cupos_stream(pid, x.municipio, x.periodo) for pid, x in lineas]

    async def run(conn: AsyncConnection) -> tuple[list[Applied[Programa]], list[Applied[Cupos]]]:
        registrados = await programas.apply_many(
            conn,
            pstreams,
            lambda estados: domain.registrar_programas(registros, estados),
            actor=actor,
            after=lambda conn, hechos: proyecciones.programas(
                conn, [(h.after, h.version) for h in hechos if h.events]
            ),
        )
        vigentes = {h.after.programa_id: h.after for h in registrados.values()}
        otros = sorted({pid for pid, _ in lineas} - set(vigentes))
        cargados = await programas.load_many(conn, [programa_stream(pid) for pid in otros])
        vigentes |= {pid: cargados[programa_stream(pid)][0] for pid in otros}
        habilitados = await cupos.apply_many(
            conn,
            cstreams,
            lambda estados: domain.habilitar_oferta(vigentes, lineas, estados),
            actor=actor,
            after=lambda conn, hechos: _reflejar(conn, hechos, actor, {}),
        )
        return [registrados[s] for s in pstreams], [habilitados[s] for s in cstreams]

    return await ejecutar(srv.engine, run)


# --- slots ------------------------------------------------------------------------------------


def _despues_cupos(actor: str, desde: dict[str, date]):
    async def despues(conn: AsyncConnection, hecho: Applied[Cupos]) -> None:
        await _reflejar(conn, [hecho], actor, desde)

    return despues


async def _reflejar(
    conn: AsyncConnection,
    hechos: Sequence[Applied[Cupos]],
    actor: str,
    desde: dict[str, date],
) -> None:
    """Read models and the demand-supply balance after slot streams changed."""
    cambiados = [h for h in hechos if h.events]
    nuevos = [e for h in cambiados for e in h.events]
    await proyecciones.cupos(
        conn,
        [(h.after, h.version, str(getattr(h.events[0], "entidad", ""))) for h in cambiados],
        nuevos,
        desde,
    )
    habilitados = [e for e in nuevos if isinstance(e, CuposHabilitados)]
    if habilitados:
        await balance.ajustar(
            conn,
            suministro={(e.municipio, lb) for e in habilitados for lb in e.logros},
            actor=actor,
        )


async def habilitar_cupos(
    srv: Servicios, programa_id: str, municipio: str, periodo: str, n: int, *, actor: str
) -> Applied[Cupos]:
    async def construir(conn: AsyncConnection, estado: Cupos) -> ComandoCupos:
        programa, _ = await cargar_programa(conn, programa_id)
        return HabilitarCupos(programa, municipio, periodo, n)

    return await ejecutar(
        srv.engine,
        lambda conn: cupos.apply(
            conn,
            cupos_stream(programa_id, municipio, periodo),
            construir,
            actor=actor,
            after=_despues_cupos(actor, {}),
        ),
    )


async def habilitar_lineas(
    srv: Servicios, programa_id: str, lineas: Sequence[LineaCupos], *, actor: str
) -> list[Applied[Cupos]]:
    """Many lines of one program in one transaction: each as `habilitar_cupos`, all or nothing.

    One read of the program and of every line's stream, one append of all the events, one
    balance adjustment (`registrar_oferta` without programs); answers an Applied per line, in
    the lines' order.
    """
    _, hechos = await registrar_oferta(srv, [], [(programa_id, x) for x in lineas], actor=actor)
    return hechos


async def asignar_cupo(
    srv: Servicios,
    programa_id: str,
    municipio: str,
    periodo: str,
    *,
    familia_id: str,
    integrante_id: str | None,
    fecha: date,
    actor: str,
) -> Applied[Cupos]:
    """One slot for a family or member; the stream's version makes the last slot go once."""
    desde: dict[str, date] = {}

    async def construir(conn: AsyncConnection, estado: Cupos) -> ComandoCupos:
        programa, _ = await cargar_programa(conn, programa_id)
        datos = programa.vigente()
        hogar = await queries.hogar(conn, familia_id, datos.logros)
        cupo_id = str(uuid.uuid4())
        pendientes = pendientes_para(datos, hogar, integrante_id) if hogar else []
        if pendientes:
            desde[cupo_id] = min(p.desde for p in pendientes)
        return AsignarCupo(cupo_id, programa, hogar, integrante_id, fecha)

    return await ejecutar(
        srv.engine,
        lambda conn: cupos.apply(
            conn,
            cupos_stream(programa_id, municipio, periodo),
            construir,
            actor=actor,
            after=_despues_cupos(actor, desde),
        ),
    )


@dataclass
class Lote:
    """A batch's outcome: who got a slot, in order, and why."""

    candidatos: int = 0
    libres: int = 0
    elegidos: list[tuple[Candidato, str]] = field(default_factory=list)
    version: int = 0


async def _planear_lote(
    conn: AsyncConnection,
    programa_id: str,
    estado: Cupos,
    fecha: date,
    lote: Lote,
) -> AsignarLote:
    programa, _ = await cargar_programa(conn, programa_id)
    datos = programa.vigente()
    if not estado.habilitados:
        raise ReglaIncumplida(
            "the program has no slots enabled in this municipality and period", codigo="no-slots"
        )
    hogares = await queries.hogares_con_demanda(conn, estado.municipio, datos.logros)
    return _plan(programa, estado, hogares, fecha, lote)


def _plan(
    programa: Programa, estado: Cupos, hogares: Sequence[Hogar], fecha: date, lote: Lote
) -> AsignarLote:
    """The line's picks (`elegibilidad`): the same for one line or for a program's batch."""
    datos = programa.vigente()
    por_familia = {h.familia_id: h for h in hogares}
    orden = candidatos(datos, estado, por_familia.values(), fecha)
    elegidos = [(c, str(uuid.uuid4())) for c in seleccionar(orden, estado.libres)]
    lote.candidatos, lote.libres, lote.elegidos = len(orden), estado.libres, elegidos
    return AsignarLote(
        programa,
        tuple(
            AsignarCupo(cid, programa, por_familia[c.familia_id], c.integrante_id, fecha)
            for c, cid in elegidos
        ),
    )


async def asignar_lote(
    srv: Servicios,
    programa_id: str,
    municipio: str,
    periodo: str,
    *,
    fecha: date,
    actor: str,
    simular: bool = False,
) -> Lote:
    """Fill the free slots with the highest-priority eligible candidates (see `elegibilidad`)."""
    stream = cupos_stream(programa_id, municipio, periodo)
    lote = Lote()
    if simular:
        async with srv.engine.connect() as conn:
            estado, lote.version = await cupos.load(conn, stream)
            await _planear_lote(conn, programa_id, estado, fecha, lote)
        return lote
    desde: dict[str, date] = {}

    async def construir(conn: AsyncConnection, estado: Cupos) -> ComandoCupos:
        comando = await _planear_lote(conn, programa_id, estado, fecha, lote)
        desde.update({cid: c.pendiente_desde for c, cid in lote.elegidos})
        return comando

    hecho = await ejecutar(
        srv.engine,
        lambda conn: cupos.apply(
            conn, stream, construir, actor=actor, after=_despues_cupos(actor, desde)
        ),
    )
    lote.version = hecho.version
    return lote


async def asignar_lotes(
    srv: Servicios,
    programa_id: str,
    periodo: str,
    municipios: Sequence[str],
    *,
    fecha: date,
    actor: str,
    simular: bool = False,
) -> list[Lote]:
    """`asignar_lote` on every listed line of one program and period, in one transaction.

    One read of the program and of every line's stream, one set-based read of the families
    with demand in all the municipalities, one append (each stream's version guards it: a lost
    race retries the whole batch), one read-model and balance update. A line without slots
    refuses the batch. Answers a Lote per line, in the municipalities' order.
    """
    lineas = {cupos_stream(programa_id, m, periodo): m for m in municipios}
    streams = list(lineas)

    async def run(conn: AsyncConnection) -> list[Lote]:
        programa, _ = await cargar_programa(conn, programa_id)
        datos = programa.vigente()
        hogares: dict[str, list[Hogar]] = defaultdict(list)
        for h in await queries.hogares_con_demanda_en(conn, sorted(set(municipios)), datos.logros):
            hogares[h.municipio].append(h)
        lotes = {s: Lote() for s in streams}
        desde: dict[str, date] = {}

        def decidir(estados: Mapping[str, Cupos]) -> dict[str, list[DomainEvent]]:
            sin_cupos = [m for s, m in lineas.items() if not estados[s].habilitados]
            if sin_cupos:
                raise ReglaIncumplida(
                    f"the program has no slots enabled in {len(sin_cupos)} of the"
                    f" {len(municipios)} municipalities in period {periodo}; nothing was assigned",
                    codigo="no-slots",
                    motivos=[f"{m}: no slots enabled" for m in sin_cupos],
                )
            nuevos = {}
            for s, m in lineas.items():
                comando = _plan(programa, estados[s], hogares[m], fecha, lotes[s])
                desde.update({cid: c.pendiente_desde for c, cid in lotes[s].elegidos})
                nuevos[s] = domain.decide_cupos(estados[s], comando)
            return nuevos

        if simular:
            cargados = await cupos.load_many(conn, streams)
            decidir({s: estado for s, (estado, _) in cargados.items()})
            versiones = {s: v for s, (_, v) in cargados.items()}
        else:
            hechos = await cupos.apply_many(
                conn,
                streams,
                decidir,
                actor=actor,
                after=lambda conn, hechos: _reflejar(conn, hechos, actor, desde),
            )
            versiones = {s: h.version for s, h in hechos.items()}
        for s in streams:
            lotes[s].version = versiones[s]
        return [lotes[s] for s in streams]

    if simular:
        async with srv.engine.connect() as conn:
            return await run(conn)
    return await ejecutar(srv.engine, run)


async def liberar_cupo(
    srv: Servicios,
    programa_id: str,
    municipio: str,
    periodo: str,
    cupo_id: str,
    motivo: MotivoLiberacion,
    fecha: date,
    *,
    actor: str,
) -> Applied[Cupos]:
    async def construir(conn: AsyncConnection, estado: Cupos) -> ComandoCupos:
        programa, _ = await cargar_programa(conn, programa_id)
        return LiberarCupo(cupo_id, programa, motivo, fecha)

    return await ejecutar(
        srv.engine,
        lambda conn: cupos.apply(
            conn,
            cupos_stream(programa_id, municipio, periodo),
            construir,
            actor=actor,
            after=_despues_cupos(actor, {}),
        ),
    )


async def liberar_de_familias(
    conn: AsyncConnection, salidas: Sequence[tuple[str, date, str]], *, actor: str
) -> int:
    """Free every slot of families that left JUNTOS ((familia_id, fecha, causa), in event
    order), inside the consumer's transaction, in the round trips of one: the slots and their
    programs read once, every release appended at once (each caused by its family's exit), the
    read models once. A lost race with an assignment is retried on fresh state (a savepoint).
    Answers how many slots were freed."""
    for intento in range(INTENTOS):
        try:
            async with conn.begin_nested():
                return await _liberar_de_familias(conn, salidas, actor=actor)
        except ConcurrencyConflict:
            if intento == INTENTOS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _liberar_de_familias(
    conn: AsyncConnection, salidas: Sequence[tuple[str, date, str]], *, actor: str
) -> int:
    primeras: dict[str, tuple[date, str]] = {}
    for familia_id, fecha, causa in salidas:
        primeras.setdefault(familia_id, (fecha, causa))  # a second exit finds nothing to free
    orden = {familia_id: i for i, familia_id in enumerate(primeras)}
    # in exit order, as one at a time (a stream's versions follow it), then stream order
    filas = sorted(
        await queries.asignados_de_familias(conn, list(primeras)),
        key=lambda f: orden[f.familia_id],
    )
    if not filas:
        return 0
    pids = sorted({f.programa_id for f in filas})
    cargados = await programas.load_many(conn, [programa_stream(p) for p in pids])

    def paso(fila: Any) -> Step[Cupos]:
        fecha, causa = primeras[fila.familia_id]
        programa = cargados[programa_stream(fila.programa_id)][0]
        comando = LiberarCupo(fila.cupo_id, programa, MotivoLiberacion.FAMILIA_EGRESADA, fecha)
        return Step(
            cupos_stream(fila.programa_id, fila.municipio, fila.periodo),
            lambda estado: domain.decide_cupos(estado, comando),
            causa,
        )

    hechos = await cupos.apply_steps(
        conn,
        [paso(f) for f in filas],
        actor=actor,
        after=lambda conn, hechos: _reflejar(conn, hechos, actor, {}),
    )
    return sum(len(h.events) for h in hechos.values())
