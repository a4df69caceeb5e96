"""Enrollment commands: load the stream, decide, append with the outbox, update the read models.

Everything a command changes (events, outbox rows, the family's data key, the document index,
the local read models) commits in one transaction. A writer that lost a race is retried on
fresh state, unless the caller named the version it saw (If-Match): then it gets a conflict,
never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from juntos_events.commands import Aggregate, Applied, StaleVersion, Step, retrying
from juntos_events.events import DomainEvent
from juntos_events.rules import todos_en_alcance
from juntos_events.store import ConcurrencyConflict, EventStore
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from enrollment import domain, queries
from enrollment.boveda import Boveda, ClaveNoDisponible, DatosPersonales, Huellas
from enrollment.domain import Cogestor, ComandoFamilia, Familia, ReglaIncumplida
from enrollment.events import events
from enrollment.settings import EnrollmentSettings

COLOMBIA = ZoneInfo("America/Bogota")
FAMILIA = "familia"
COGESTOR = "cogestor"
INTENTOS = 5

store = EventStore(events)


def hoy_en_colombia() -> date:
    """Program dates (vinculación, 5-year limit) are Colombian calendar days."""
    return datetime.now(COLOMBIA).date()


VersionDesactualizada = StaleVersion
"""The caller's If-Match names a version the family has moved past."""


@dataclass
class Servicios:
    """The adapters every handler needs; built once per app (or test)."""

    engine: AsyncEngine
    boveda: Boveda
    huellas: Huellas
    settings: EnrollmentSettings
    hoy: Callable[[], date] = hoy_en_colombia


Resultado = Applied[Familia]


def cogestor_stream(cogestor_id: str) -> str:
    return f"cogestor:{cogestor_id}"


familias: Aggregate[Familia, ComandoFamilia] = Aggregate(
    store=store,
    stream_type=FAMILIA,
    fold=domain.fold,
    decide=domain.decide,
    evolve_from=lambda nuevos, familia: domain.fold(nuevos, familia),
)


cogestores: Aggregate[Cogestor, domain.RegistrarCogestor] = Aggregate(
    store=store,
    stream_type=COGESTOR,
    fold=domain.fold_cogestor,
    decide=domain.decide_cogestor,
    evolve_from=lambda nuevos, cogestor: domain.fold_cogestor_from(cogestor, nuevos),
)

Alcance = Callable[[Row[Any] | None], ReglaIncumplida | None]
"""The caller's scope over a family's read-model row (None: no such family): the refusal, or
None when the caller may act on it. Built by the API from the token."""


async def cargar_familia(conn: AsyncConnection, familia_id: str) -> tuple[Familia, int]:
    return await familias.load(conn, familia_id)


async def cargar_cogestor(conn: AsyncConnection, cogestor_id: str) -> tuple[Cogestor, int]:
    return await cogestores.load(conn, cogestor_stream(cogestor_id))


# --- family data keys ---------------------------------------------------------------------


async def crear_llave(conn: AsyncConnection, boveda: Boveda, familia_id: str) -> Fernet:
    llave, envuelta = boveda.nueva_llave()
    await conn.execute(
        text("INSERT INTO llaves_familia (familia_id, llave) VALUES (:f, :k)"),
        {"f": familia_id, "k": envuelta},
    )
    return llave


async def llave_de(conn: AsyncConnection, boveda: Boveda, familia_id: str) -> Fernet:
    return boveda.abrir_llave((await queries.llaves(conn, [familia_id])).get(familia_id))


# --- audited reads ------------------------------------------------------------------------


@dataclass(frozen=True)
class Leida:
    """A family as an audited read answers it: its state, version and members' personal data
    (by integrante_id; empty once erased or when no configured key opens its data key)."""

    familia: Familia
    version: int
    datos: dict[str, DatosPersonales]


async def leer_familias(
    conn: AsyncConnection, boveda: Boveda, familia_ids: Sequence[str], *, actor: str, rol: str
) -> dict[str, Leida]:
    """Families with their members' personal data opened, each read audited as the single read
    (one LEER_FAMILIA row per family), in the caller's transaction and in a constant number of
    statements: the streams (two), the data keys, the audit rows. Scope is checked before."""
    cargadas = await familias.load_many(conn, familia_ids)
    envueltas = await queries.llaves(
        conn, [fid for fid, (f, _) in cargadas.items() if not f.datos_eliminados]
    )
    await queries.auditar_familias(
        conn, actor=actor, rol=rol, accion="LEER_FAMILIA", familia_ids=list(cargadas)
    )
    return {
        fid: Leida(f, version, _abrir(boveda, f, envueltas.get(fid)))
        for fid, (f, version) in cargadas.items()
    }


def _abrir(boveda: Boveda, familia: Familia, envuelta: bytes | None) -> dict[str, DatosPersonales]:
    if familia.datos_eliminados:
        return {}
    try:
        llave = boveda.abrir_llave(envuelta)
    except ClaveNoDisponible:
        return {}
    return {k: boveda.abrir(llave, v) for k, v in familia.sellados.items()}


async def consultar_familias(
    srv: Servicios, familia_ids: Sequence[str], *, alcance: Alcance, actor: str, rol: str
) -> list[Leida]:
    """The bulk detail read, all or nothing: every family known and in the caller's scope, or a
    refusal naming each that is not (and nothing read, nothing audited); in the list's order."""
    async with srv.engine.begin() as conn:
        filas = await queries.familias(conn, familia_ids)
        _en_alcance(familia_ids, filas, alcance, campo="familia_ids", efecto="nothing was read")
        leidas = await leer_familias(conn, srv.boveda, familia_ids, actor=actor, rol=rol)
    return [leidas[fid] for fid in familia_ids]


# --- the command loop ---------------------------------------------------------------------

Construir = Callable[[AsyncConnection, Familia], Awaitable[ComandoFamilia]]


async def _despues(conn: AsyncConnection, aplicado: Resultado, actor: str) -> None:
    await despues_de_familias(conn, [aplicado], actor)


async def despues_de_familias(
    conn: AsyncConnection, aplicados: Sequence[Resultado], actor: str
) -> None:
    """What families' changes drag along: their cogestors' load on exit (each cogestor once,
    whatever how many of its families left), the read model (one statement)."""
    liberaciones = [
        Step(cogestor_stream(cid), _liberacion(cid, a.after.familia_id))
        for a in aplicados
        if (cid := domain.liberacion(a.before, a.after)) is not None
    ]
    if liberaciones:
        await cogestores.apply_steps(
            conn,
            liberaciones,
            actor=actor,
            after=lambda conn, hechos: queries.proyectar_cogestores(
                conn, [(h.after, h.version) for h in hechos]
            ),
        )
    await queries.proyectar_familias(
        conn, [queries.fila_familia(a.after, a.version) for a in aplicados]
    )


def _liberacion(cogestor_id: str, familia_id: str) -> Callable[[Cogestor], list[DomainEvent]]:
    def decidir(cogestor: Cogestor) -> list[DomainEvent]:
        if familia_id not in cogestor.familias:
            return []
        return [domain.FamiliaLiberadaDeCogestor(cogestor_id=cogestor_id, familia_id=familia_id)]

    return decidir


async def aplicar(
    conn: AsyncConnection,
    familia_id: str,
    construir: Construir,
    *,
    actor: str,
    if_match: int | None = None,
    causation_id: str | None = None,
) -> Resultado:
    """One command on one family inside the caller's transaction."""
    return await familias.apply(
        conn,
        familia_id,
        construir,
        actor=actor,
        expected=if_match,
        causation_id=causation_id,
        after=lambda c, aplicado: _despues(c, aplicado, actor),
    )


async def ejecutar(
    srv: Servicios,
    familia_id: str,
    construir: Construir,
    *,
    actor: str,
    if_match: int | None = None,
) -> Resultado:
    """`aplicar` in its own transaction, retried on a lost race when no If-Match was given."""
    return await retrying(
        srv.engine,
        lambda conn: aplicar(conn, familia_id, construir, actor=actor, if_match=if_match),
        expected=if_match,
        attempts=INTENTOS,
    )


def comando(c: ComandoFamilia) -> Construir:
    """A `Construir` for commands that need nothing from the database."""

    async def construir(conn: AsyncConnection, familia: Familia) -> ComandoFamilia:
        return c

    return construir


# --- cogestores ---------------------------------------------------------------------------


async def registrar_cogestor(
    srv: Servicios, c: domain.RegistrarCogestor, *, actor: str
) -> tuple[Cogestor, int]:
    for _ in range(INTENTOS):
        try:
            async with srv.engine.begin() as conn:
                cogestor, version = await cargar_cogestor(conn, c.cogestor_id)
                nuevos = domain.decide_cogestor(cogestor, c)
                if not nuevos:
                    return cogestor, version
                cogestor = domain.fold_cogestor_from(cogestor, nuevos)
                version = await store.append(
                    conn, cogestor_stream(c.cogestor_id), COGESTOR, version, nuevos, actor=actor
                )
                await queries.proyectar_cogestor(conn, cogestor, version)
                return cogestor, version
        except ConcurrencyConflict:
            continue
    raise ReglaIncumplida("the cogestor is being changed by others; retry", codigo="busy")


DecidirAsignacion = Callable[
    [Sequence[tuple[str, Familia]], Cogestor, Mapping[str, Cogestor]], domain.Asignacion
]


async def _asignar(
    conn: AsyncConnection,
    cogestor_id: str,
    familia_ids: Sequence[str],
    decidir: DecidirAsignacion,
    *,
    actor: str,
    if_match: int | None = None,
) -> tuple[dict[str, Resultado], Cogestor, int]:
    """Move families to a cogestor in the caller's transaction, in a constant number of round
    trips: one read of the families, one of every cogestor involved (the new one and the ones
    they leave), one guarded append per kind of stream, one projection each. The cogestors'
    stream versions guard their capacity. Answers each family's Resultado and the cogestor."""
    cargadas = await familias.load_many(conn, familia_ids)
    if if_match is not None and if_match != (version := cargadas[familia_ids[0]][1]):
        raise VersionDesactualizada(if_match, version)
    dejados = {f.cogestor_id for f, _ in cargadas.values() if f.cogestor_id} - {cogestor_id}
    streams = [cogestor_stream(c) for c in (cogestor_id, *sorted(dejados))]
    cargados = await cogestores.load_many(conn, streams)
    nuevo = cargados[streams[0]][0]
    asignacion = decidir(
        [(fid, cargadas[fid][0]) for fid in familia_ids],
        nuevo,
        {c.cogestor_id: c for c, _ in cargados.values() if c.existe},
    )
    v_familias = await store.append_many(
        conn,
        FAMILIA,
        [(fid, cargadas[fid][1], nuevos) for fid, nuevos in asignacion.familias.items()],
        actor=actor,
    )
    por_stream = {cogestor_stream(c): nuevos for c, nuevos in asignacion.cogestores.items()}
    v_cogestores = await store.append_many(
        conn,
        COGESTOR,
        [(s, cargados[s][1], nuevos) for s, nuevos in por_stream.items()],
        actor=actor,
    )
    hechos = {}
    for fid, (antes, version) in cargadas.items():
        nuevos = asignacion.familias.get(fid, [])
        hechos[fid] = Resultado(
            antes, domain.fold(nuevos, antes), v_familias.get(fid, version), nuevos
        )
    await queries.proyectar_familias(
        conn, [queries.fila_familia(h.after, h.version) for h in hechos.values() if h.events]
    )
    despues = {
        s: (domain.fold_cogestor_from(cargados[s][0], por_stream[s]), v)
        for s, v in v_cogestores.items()
    }
    await queries.proyectar_cogestores(conn, list(despues.values()))
    nuevo, version = despues.get(streams[0], cargados[streams[0]])
    return hechos, nuevo, version


async def asignar_cogestor(
    srv: Servicios,
    familia_id: str,
    cogestor_id: str,
    *,
    actor: str,
    if_match: int | None = None,
) -> Resultado:
    """Assign (or reassign) a family; the cogestor's stream version guards its capacity."""

    def decidir(
        cargadas: Sequence[tuple[str, Familia]], nuevo: Cogestor, anteriores: Mapping[str, Cogestor]
    ) -> domain.Asignacion:
        return domain.decide_asignacion(cargadas[0][1], nuevo, anteriores)

    for intento in range(INTENTOS):
        try:
            async with srv.engine.begin() as conn:
                hechos, _, _ = await _asignar(
                    conn, cogestor_id, [familia_id], decidir, actor=actor, if_match=if_match
                )
                return hechos[familia_id]
        except ConcurrencyConflict as conflict:
            if if_match is not None and conflict.stream_id == familia_id:
                raise VersionDesactualizada(if_match, conflict.actual or if_match + 1) from None
            if intento == INTENTOS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def asignar_familias(
    srv: Servicios,
    cogestor_id: str,
    familia_ids: Sequence[str],
    *,
    alcance: Alcance,
    actor: str,
) -> tuple[list[Resultado], Cogestor, int]:
    """A list of families for one cogestor, all or nothing, in one transaction (retried on a
    lost race): every family in the caller's scope, each assignable as by `asignar_cogestor`,
    the capacity checked once for the families the list adds. Answers a Resultado per family,
    in the list's order, and the cogestor after it."""

    async def run(conn: AsyncConnection) -> tuple[list[Resultado], Cogestor, int]:
        filas = await queries.familias(conn, familia_ids)
        _en_alcance(familia_ids, filas, alcance)
        hechos, cogestor, version = await _asignar(
            conn, cogestor_id, familia_ids, domain.decide_asignaciones, actor=actor
        )
        return [hechos[fid] for fid in familia_ids], cogestor, version

    return await retrying(srv.engine, run, attempts=INTENTOS)


def _en_alcance(
    familia_ids: Sequence[str],
    filas: Mapping[str, Row[Any]],
    alcance: Alcance,
    *,
    campo: str = "familias",
    efecto: str = "nothing was changed",
) -> None:
    """Refuse the whole list if any family is unknown or outside the caller's scope."""
    todos_en_alcance(
        campo, len(familia_ids), lambda i: alcance(filas.get(familia_ids[i])), efecto=efecto
    )


# --- exits --------------------------------------------------------------------------------


async def egresar_por_tiempo(srv: Servicios, hoy: date | None = None) -> int:
    """Close every vinculada family whose 5 years are over; returns how many left."""
    hoy = hoy or srv.hoy()
    salidas = 0
    async with srv.engine.connect() as conn:
        vencidas = await queries.familias_vencidas(conn, hoy)
    for familia_id in vencidas:
        resultado = await ejecutar(
            srv, familia_id, comando(domain.EgresarPorTiempo(hoy)), actor="sistema:egresos"
        )
        salidas += bool(resultado.events)
    return salidas


async def eliminar_datos_personales(srv: Servicios, familia_id: str, *, actor: str) -> Resultado:
    """Crypto-shredding: destroy the data key and the document index in the same transaction."""
    async with srv.engine.begin() as conn:
        resultado = await aplicar(
            conn, familia_id, comando(domain.EliminarDatosPersonales(srv.hoy())), actor=actor
        )
        await conn.execute(
            text(
                "UPDATE llaves_familia SET llave = NULL, eliminada_en = now()"
                " WHERE familia_id = :f AND llave IS NOT NULL"
            ),
            {"f": familia_id},
        )
        for tabla in ("documentos", "hogares_registro"):
            await conn.execute(
                text(f"DELETE FROM {tabla} WHERE familia_id = :f"),
                {"f": familia_id},
            )
        return resultado


async def reenvolver_llaves(srv: Servicios, *, lote: int = 1000) -> int:
    """Rewrap every family data key with the newest key-encryption key (key rotation).

    Runs in batches (one transaction each), so it can be stopped and run again; afterwards the
    old KEK can be dropped from ENROLLMENT_KEKS. Erased families have no key and are skipped.
    """
    hechas, cursor = 0, ""
    while True:
        async with srv.engine.begin() as conn:
            filas = list(
                await conn.execute(
                    text(
                        "SELECT familia_id, llave FROM llaves_familia"
                        " WHERE llave IS NOT NULL AND familia_id > :c"
                        " ORDER BY familia_id LIMIT :n FOR UPDATE"
                    ),
                    {"c": cursor, "n": lote},
                )
            )
            if not filas:
                return hechas
            await conn.execute(
                text("UPDATE llaves_familia SET llave = :k WHERE familia_id = :f"),
                [{"f": f.familia_id, "k": srv.boveda.reenvolver(bytes(f.llave))} for f in filas],
            )
        hechas += len(filas)
        cursor = filas[-1].familia_id
