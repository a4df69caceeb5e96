"""Applying events to a generation of the projections: the SQL side of `domain`.

The live consumer (`aplicar_lote`, a partition batch's run at a time) and a rebuild's catch-up
(`aplicar`, the batch of one) go through the same code, each in its own transaction and on its
own generation schemas, so they write the same rows the same way. A batch costs a constant
number of set-based statements per projection and history (see `_historia`), not several per
event.

- Idempotence: an event is applied to a generation once, guarded by that generation's `aplicado`
  table alone (the live consumer writes no inbox rows): redelivery, DLQ replays (which reach a
  rebuild twice) and the live/rebuild overlap at the swap.
- Order: a fact not older than its entity's newest one extends the history in place
  (`domain.avanzar`, on the rows read into memory, in event order); an older one (a late event,
  e.g. a DLQ replay) is *inserted at its place*: the entity's history is refolded from all its
  facts (`domain.tramos`), so it reads exactly as if the events had come in order.
- Live generations: every reader and the live consumer hold a shared advisory lock for their
  transaction while they use the pointer; a rebuild's swap takes it exclusively, so nobody reads
  a schema that is being retired and no live batch straddles the swap.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from reporting import domain, proyecciones
from reporting.domain import Hecho, Operacion, Punto
from reporting.proyecciones import PROYECCIONES, Historia, Proyeccion, TablaPuntos, validar_esquema

log = get_logger(__name__)

CANDADO = 0x5245504F5254  # "REPORT"
"""Advisory lock of the live generations (readers and the live consumer share it; a swap takes it
exclusively)."""
CANDADO_RECONSTRUCCION = CANDADO + 1
"""Session advisory lock held by a running rebuild: one rebuild at a time."""


class EventoDesconocido(LookupError):
    """An event type reporting does not know: skipped with a log line."""


# --- the live generations -----------------------------------------------------------------


async def esquemas_vivos(conn: AsyncConnection) -> dict[str, str]:
    """The live schema of each projection, under the shared lock for the transaction.

    Call it inside a transaction, before any query on the schemas (READ COMMITTED: the pointer
    is read after the lock is held, so a swap that just committed is seen).
    """
    await conn.exec_driver_sql("SELECT pg_advisory_xact_lock_shared($1)", (CANDADO,))
    filas = await conn.exec_driver_sql("SELECT proyeccion, esquema FROM reporting_proyeccion")
    return {proyeccion: validar_esquema(esquema) for proyeccion, esquema in filas}


async def _esquemas_de_la_transaccion(conn: AsyncConnection) -> dict[str, str]:
    """`esquemas_vivos` once per transaction of the consumer's batch."""
    transaccion = conn.sync_connection.get_transaction() if conn.sync_connection else None
    guardado = conn.info.get("reporting.esquemas")
    if guardado is not None and guardado[0] is transaccion:
        esquemas: dict[str, str] = guardado[1]
        return esquemas
    esquemas = await esquemas_vivos(conn)
    conn.info["reporting.esquemas"] = (transaccion, esquemas)
    return esquemas


async def aplicar_en_vivo(
    conn: AsyncConnection,
    envelopes: Sequence[Envelope],
    desconocido: Callable[[Envelope], None],
) -> int:
    """The live consumer's handler: apply a run of events to the live generation of every
    projection (schemas read once per transaction, not at all for a run reporting does not use)."""
    leidos = leer(envelopes, desconocido)
    if not any(leido.operaciones for leido in leidos):
        return 0
    return await _escribir(conn, leidos, await _esquemas_de_la_transaccion(conn))


# --- applying events ----------------------------------------------------------------------


@dataclass(frozen=True)
class Leido:
    """An event and the facts it means, by projection ({} for a type reporting does not use)."""

    envelope: Envelope
    operaciones: Mapping[str, list[Operacion]]


def leer(
    envelopes: Sequence[Envelope], desconocido: Callable[[Envelope], None] | None = None
) -> list[Leido]:
    """What each event means, in order, before anything is written.

    Raises domain.EventoInvalido for a known type whose data lacks what reporting reads, and
    EventoDesconocido for a type reporting does not know unless `desconocido` takes it (it is
    then skipped; `desconocido` is called only once every event was read, so a run with an
    invalid event reports nothing twice when the consumer retries its events one by one).
    """
    leidos = []
    desconocidos = []
    for envelope in envelopes:
        try:
            operaciones = domain.operaciones(
                envelope.service, envelope.event_type, envelope.data, envelope.time
            )
        except KeyError:
            if desconocido is None:
                raise EventoDesconocido(f"{envelope.service}.{envelope.event_type}") from None
            desconocidos.append(envelope)
            continue
        except domain.EventoInvalido as exc:
            raise domain.EventoInvalido(f"{envelope.event_type} {envelope.id}: {exc}") from None
        leidos.append(Leido(envelope, operaciones))
    for envelope in desconocidos:
        assert desconocido is not None
        desconocido(envelope)
    return leidos


async def aplicar(conn: AsyncConnection, envelope: Envelope, esquemas: Mapping[str, str]) -> int:
    """Apply one event (the rebuild's catch-up and swap): `aplicar_lote` of one."""
    return await aplicar_lote(conn, [envelope], esquemas)


async def aplicar_lote(
    conn: AsyncConnection,
    envelopes: Sequence[Envelope],
    esquemas: Mapping[str, str],
    desconocido: Callable[[Envelope], None] | None = None,
) -> int:
    """Apply `envelopes`, in order, to the projections in `esquemas` (name -> schema); how many
    (event, projection) applications there were.

    The rows are exactly those of applying the events one at a time, and the statements are a
    constant number per projection and history, whatever the number of events (see
    `_historia`). Raises as `leer` does, having written nothing.
    """
    return await _escribir(conn, leer(envelopes, desconocido), esquemas)


async def _escribir(
    conn: AsyncConnection, leidos: Sequence[Leido], esquemas: Mapping[str, str]
) -> int:
    aplicadas = 0
    for nombre, esquema in esquemas.items():
        eventos = [(x.envelope, x.operaciones[nombre]) for x in leidos if nombre in x.operaciones]
        if not eventos:
            continue
        nuevos = await _marcar(conn, esquema, eventos)
        aplicadas += len(nuevos)
        proyeccion = PROYECCIONES[nombre]
        hechos: dict[str, list[tuple[datetime, Hecho]]] = defaultdict(list)
        puntos: dict[str, list[Punto]] = defaultdict(list)
        for t, operaciones in nuevos:
            for operacion in operaciones:
                if isinstance(operacion, Hecho):
                    hechos[operacion.entidad].append((t, operacion))
                else:
                    puntos[operacion.tabla].append(operacion)
        for tabla, suyos in hechos.items():
            await _historia(conn, esquema, proyeccion.historia(tabla), suyos)
        for tabla, suyos in puntos.items():
            await conn.exec_driver_sql(
                sentencia_puntos(esquema, proyeccion, tabla),
                (filas_de_puntos(proyeccion.puntos_de(tabla), suyos),),
            )
    return aplicadas


def sentencia_aplicado(esquema: str) -> str:
    """Record events ($1 ids, $2 times) in a generation; RETURNING the ids it did not have (a
    DLQ replay, or the same id twice in one statement, comes back once)."""
    return (
        f"INSERT INTO {esquema}.aplicado (event_id, t)"
        " SELECT * FROM unnest($1::text[], $2::timestamptz[])"
        " ON CONFLICT DO NOTHING RETURNING event_id"
    )


async def _marcar(
    conn: AsyncConnection, esquema: str, eventos: Sequence[tuple[Envelope, list[Operacion]]]
) -> list[tuple[datetime, list[Operacion]]]:
    """Record the events in the generation; the (time, facts) of those it had not applied, in
    order (an id seen twice counts the first time)."""
    ids = [envelope.id for envelope, _ in eventos]
    resultado = await conn.exec_driver_sql(
        sentencia_aplicado(esquema), (ids, [envelope.time for envelope, _ in eventos])
    )
    nuevos = {fila[0] for fila in resultado}
    aplicar = []
    for envelope, operaciones in eventos:
        if envelope.id in nuevos:
            nuevos.discard(envelope.id)
            aplicar.append((envelope.time, operaciones))
    return aplicar


# --- histories ----------------------------------------------------------------------------


def _unnest(tipos: Sequence[str], desde: int = 1) -> str:
    """`unnest($1::t1[], ...) AS u(c1, ...)`: one array parameter per column."""
    arrays = ", ".join(f"${i}::{tipo}[]" for i, tipo in enumerate(tipos, start=desde))
    return f"unnest({arrays}) AS u({', '.join(f'c{i}' for i in range(1, len(tipos) + 1))})"


class FilasDesalineadas(Exception):
    """A history's open rows are not what its entities' states give (`domain.abiertas_del_estado`
    relies on it): something wrote them apart, or what the rows are read from changed without a
    new projection version. The batch is refused (and retried, then dead-lettered), so nothing is
    written on a wrong premise; a rebuild of the projection realigns them."""

    def __init__(self, tabla: str, esperadas: int, cerradas: int) -> None:
        super().__init__(
            f"{tabla}: {cerradas} open rows closed where the states give {esperadas};"
            " rebuild the projection (deploy/RUNBOOK.md)"
        )


@dataclass(frozen=True)
class _Sql:
    """The set-based statements of one history in one schema (built once per pair): every
    parameter is an array, one element per entity or row, so one statement serves a batch."""

    historia: Historia
    leer_actuales: str
    guardar_actuales: str
    guardar_hechos: str
    leer_hechos: str
    filas_abiertas: str
    borrar_filas: str
    terminar_filas: str
    cerrar_abiertas: str
    insertar_filas: str
    borrar_claves: str

    @staticmethod
    @functools.cache
    def de(esquema: str, h: Historia) -> _Sql:
        tabla = f"{esquema}.{h.tabla}"
        llave = [h.clave, *([h.sub] if h.sub else []), "valid_from"]
        tipos_llave = ["text", *(["text"] if h.sub else []), "timestamptz"]
        de_la_llave = [f"x.{c} = u.c{i}" for i, c in enumerate(llave, start=1)]
        es_fila = " AND ".join(de_la_llave)
        fin = f"u.c{len(llave) + 1}"
        valores = ", ".join(
            f"u.c{i}" for i in range(len(llave) + 2, len(llave) + 2 + len(h.nombres))
        )
        cols = ", ".join(f"x.{n}" for n in h.nombres)
        sub = f"x.{h.sub}" if h.sub else "''"
        sin_fin = "CASE WHEN x.valid_to = 'infinity' THEN NULL ELSE x.valid_to END"
        estado = _unnest(["text", "timestamptz", "text"])
        return _Sql(
            historia=h,
            leer_actuales=(
                f"SELECT clave, t, estado FROM {tabla}_actual WHERE clave = ANY($1::text[])"
            ),
            guardar_actuales=(
                f"INSERT INTO {tabla}_actual (clave, t, estado) SELECT u.c1, u.c2, u.c3::jsonb"
                f" FROM {estado} ON CONFLICT (clave)"
                " DO UPDATE SET t = EXCLUDED.t, estado = EXCLUDED.estado"
            ),
            # arrival order is the facts' `seq`: ordinality keeps the batch's order
            guardar_hechos=(
                f"INSERT INTO {tabla}_hecho (clave, t, cambio) SELECT u.c1, u.c2, u.c3::jsonb"
                f" FROM {estado[: estado.index(' AS ')]} WITH ORDINALITY AS u(c1, c2, c3, n)"
                " ORDER BY u.n"
            ),
            leer_hechos=(
                f"SELECT clave, t, cambio FROM {tabla}_hecho WHERE clave = ANY($1::text[])"
                " ORDER BY clave, t, seq"
            ),
            # per entity ($1) its open rows and those that ended at its newest fact's time ($2)
            filas_abiertas=(
                f"SELECT x.{h.clave}, {sub}, x.valid_from, {sin_fin},"
                f" {cols} FROM {tabla} x JOIN {_unnest(['text', 'timestamptz'])}"
                f" ON x.{h.clave} = u.c1 WHERE x.valid_to = 'infinity' OR x.valid_to = u.c2"
            ),
            borrar_filas=f"DELETE FROM {tabla} x USING {_unnest(tipos_llave)} WHERE {es_fila}",
            terminar_filas=(
                f"UPDATE {tabla} x SET valid_to = coalesce({fin}, 'infinity')"
                f" FROM {_unnest([*tipos_llave, 'timestamptz'])} WHERE {es_fila}"
            ),
            # open rows known from the entity's state only (domain.abiertas_del_estado)
            cerrar_abiertas=(
                f"UPDATE {tabla} x SET valid_to = u.c{len(llave)}"
                f" FROM {_unnest([*tipos_llave[:-1], 'timestamptz'])}"
                f" WHERE {' AND '.join(de_la_llave[:-1])} AND x.valid_to = 'infinity'"
            ),
            insertar_filas=(
                f"INSERT INTO {tabla} ({', '.join(llave)}, valid_to, {', '.join(h.nombres)})"
                f" SELECT {', '.join(f'u.c{i}' for i in range(1, len(llave) + 1))},"
                f" coalesce({fin}, 'infinity'), {valores}"
                f" FROM {_unnest([*tipos_llave, 'timestamptz', *(t for _, t in h.columnas)])}"
            ),
            borrar_claves=f"DELETE FROM {tabla} WHERE {h.clave} = ANY($1::text[])",
        )

    def columnas(self, filas: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
        """Rows (clave, sub, ...) as one array per column (no `sub` if the history has none)."""
        columnas = _por_columna(filas)
        return columnas if self.historia.sub else (columnas[0], *columnas[2:])


def _por_columna(filas: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Rows as one list per column: the array parameters of a set-based statement."""
    return tuple(list(columna) for columna in zip(*filas, strict=True))


async def _historia(
    conn: AsyncConnection, esquema: str, h: Historia, hechos: Sequence[tuple[datetime, Hecho]]
) -> None:
    """Apply a batch's facts of history `h` (and of those derived from it), in order.

    A constant number of statements, whatever the number of facts and entities: read the
    entities' states (`_actual`), store the facts (`_hecho`), take the rows they can touch (open,
    or ended at the entity's newest fact: read for the entities whose first fact is at that
    instant, from the state for the others), fold each entity's facts over them in memory in event
    order (`domain.seguir`: `avanzar` per fact, so the same-instant cases give what they give one
    by one), then write the difference (deletes, new ends, inserts) and the new states. An
    entity with a fact older than its newest one (a late event) is refolded from all its facts
    instead (`_replegar`), as it would be one by one.
    """
    sql = _Sql.de(esquema, h)
    por_clave: dict[str, list[tuple[datetime, Mapping[str, Any]]]] = defaultdict(list)
    for t, hecho in hechos:
        por_clave[hecho.clave].append((t, hecho.cambio))
    actuales = {
        clave: (t, json_de(estado))
        for clave, t, estado in await conn.exec_driver_sql(sql.leer_actuales, (list(por_clave),))
    }
    await conn.exec_driver_sql(
        sql.guardar_hechos, _por_columna([(x.clave, t, json.dumps(x.cambio)) for t, x in hechos])
    )
    tardias = {
        clave: None
        for clave, suyos in por_clave.items()
        if domain.tardio(actuales[clave][0] if clave in actuales else None, suyos)
    }
    en_orden = [clave for clave in por_clave if clave not in tardias]
    historias = h.con_derivadas()
    # An entity's rows are read only when its first fact here is at the instant of its newest
    # one (that fact may replace rows that started then, or reopen rows that ended then); for a
    # newer fact its open rows are its state's (domain.abiertas_del_estado).
    ultimos = {
        clave: actuales[clave][0]
        for clave in en_orden
        if clave in actuales and por_clave[clave][0][0] == actuales[clave][0]
    }
    leidas = [await _filas_abiertas(conn, _Sql.de(esquema, d), ultimos) for d in historias]
    for clave in en_orden:
        if clave in actuales and clave not in ultimos:
            for filas, d in zip(leidas, historias, strict=True):
                filas[clave] = domain.abiertas_del_estado(actuales[clave][1], d.filas)
    escrituras = [domain.Escritura() for _ in historias]
    estados = []
    for clave in en_orden:
        antes = [filas.get(clave, {}) for filas in leidas]
        despues = [dict(filas) for filas in antes]
        estado = domain.seguir(
            actuales[clave][1] if clave in actuales else {},
            por_clave[clave],
            [d.filas for d in historias],
            despues,
        )
        for escritura, a, b in zip(escrituras, antes, despues, strict=True):
            escritura.entidad(clave, a, b)
        estados.append((clave, por_clave[clave][-1][0], json.dumps(estado)))
    for d, escritura in zip(historias, escrituras, strict=True):
        await _escribir_filas(conn, _Sql.de(esquema, d), escritura)
    if estados:
        await conn.exec_driver_sql(sql.guardar_actuales, _por_columna(estados))
    if tardias:
        await _replegar(conn, esquema, h, list(tardias))
        log.info("late events placed in their histories", tabla=h.tabla, entidades=len(tardias))


async def _filas_abiertas(
    conn: AsyncConnection, sql: _Sql, ultimos: Mapping[str, datetime]
) -> dict[str, domain.FilasEnMemoria]:
    """Per entity, its open rows and those that ended at its newest fact (`ultimos`)."""
    filas: dict[str, domain.FilasEnMemoria] = defaultdict(dict)
    if ultimos:
        resultado = await conn.exec_driver_sql(
            sql.filas_abiertas, (list(ultimos), list(ultimos.values()))
        )
        for clave, sub, desde, hasta, *valores in resultado:
            filas[clave][(sub, desde)] = (hasta, tuple(valores))
    return filas


async def _escribir_filas(conn: AsyncConnection, sql: _Sql, escritura: domain.Escritura) -> None:
    """Deletes first: a row replaced at the same start is deleted, then inserted."""
    if escritura.borrar:
        await conn.exec_driver_sql(sql.borrar_filas, sql.columnas(escritura.borrar))
    terminar: list[tuple[str, str, datetime, datetime | None]] = []
    cerrar: list[tuple[str, str, datetime]] = []
    for clave, sub, desde, hasta in escritura.terminar:
        if desde != domain.DESDE_ANTES:
            terminar.append((clave, sub, desde, hasta))
        elif hasta is None:  # a fact newer than the state only closes (domain.abiertas_del_estado)
            raise AssertionError(f"{sql.historia.tabla}: an open row known from the state reopened")
        else:
            cerrar.append((clave, sub, hasta))
    if terminar:
        await conn.exec_driver_sql(sql.terminar_filas, sql.columnas(terminar))
    if cerrar:
        cerradas = await conn.exec_driver_sql(sql.cerrar_abiertas, sql.columnas(cerrar))
        if cerradas.rowcount != len(cerrar):
            raise FilasDesalineadas(sql.historia.tabla, len(cerrar), cerradas.rowcount)
    if escritura.insertar:
        filas = [(*fila[:4], *fila[4]) for fila in escritura.insertar]
        await conn.exec_driver_sql(sql.insertar_filas, sql.columnas(filas))


async def _replegar(conn: AsyncConnection, esquema: str, h: Historia, claves: list[str]) -> None:
    """Rewrite entities' histories from all their facts (a late fact was just stored)."""
    sql = _Sql.de(esquema, h)
    hechos: dict[str, list[tuple[datetime, Any]]] = defaultdict(list)
    for clave, t, cambio in await conn.exec_driver_sql(sql.leer_hechos, (claves,)):
        hechos[clave].append((t, json_de(cambio)))
    historias = h.con_derivadas()
    escrituras = [domain.Escritura() for _ in historias]
    estados = []
    for clave, suyos in hechos.items():
        tramos, estado = domain.tramos_de_varias(suyos, [d.filas for d in historias])
        for escritura, tramos_de_una in zip(escrituras, tramos, strict=True):
            escritura.insertar += [
                (clave, x.sub, x.desde, x.hasta, x.valores) for x in tramos_de_una
            ]
        estados.append((clave, suyos[-1][0], json.dumps(estado)))
    for d, escritura in zip(historias, escrituras, strict=True):
        sql_d = _Sql.de(esquema, d)
        await conn.exec_driver_sql(sql_d.borrar_claves, (claves,))
        await _escribir_filas(conn, sql_d, escritura)
    await conn.exec_driver_sql(sql.guardar_actuales, _por_columna(estados))


def json_de(valor: Any) -> Any:
    """jsonb comes back parsed through SQLAlchemy's asyncpg codec, text from plain asyncpg."""
    return json.loads(valor) if isinstance(valor, str | bytes) else valor


# --- point facts --------------------------------------------------------------------------


@functools.cache
def sentencia_puntos(esquema: str, p: Proyeccion, tabla_puntos: str) -> str:
    """The INSERT of a batch's rows of a point table, given as one JSON array ($1)."""
    definicion = p.puntos_de(tabla_puntos)
    nombres = ", ".join(n for n, _ in definicion.columnas)
    tipos = ", ".join(f"{n} {t}" for n, t in definicion.columnas)
    tabla = f"{esquema}.{definicion.tabla}"
    sentencia = (
        f"INSERT INTO {tabla} ({nombres}) SELECT {nombres}"
        f" FROM jsonb_to_recordset($1::jsonb) AS x({tipos})"
    )
    if definicion.primero:
        otros = ", ".join(
            f"{n} = EXCLUDED.{n}" for n, _ in definicion.columnas if n != definicion.llave
        )
        sentencia += (
            f" ON CONFLICT ({definicion.llave}) DO UPDATE SET {otros}"
            f" WHERE EXCLUDED.t < {definicion.tabla}.t"
        )
    else:
        sentencia += " ON CONFLICT DO NOTHING"
    return sentencia


def filas_de_puntos(definicion: TablaPuntos, puntos: Sequence[Punto]) -> str:
    """The rows of `sentencia_puntos`: one per key, the one applying them one by one keeps (the
    first; for a `primero` table the earliest in event time, the first of equals)."""
    elegidas: dict[Any, Mapping[str, Any]] = {}
    for punto in puntos:
        llave = punto.fila[definicion.llave]
        vieja = elegidas.get(llave)
        if vieja is None or (definicion.primero and punto.fila["t"] < vieja["t"]):
            elegidas[llave] = punto.fila
    return json.dumps(list(elegidas.values()), default=_iso)


def _iso(valor: Any) -> str:
    if isinstance(valor, date):  # datetime too
        return valor.isoformat()
    raise TypeError(f"not JSON: {type(valor).__name__}")


# --- generations --------------------------------------------------------------------------


async def nueva_generacion(conn: AsyncConnection, p: Proyeccion) -> tuple[int, str]:
    """Create the next (empty) generation schema of `p`, marked CONSTRUYENDO."""
    siguiente = await conn.scalar(
        text(
            "SELECT coalesce(max(generacion), 0) + 1 FROM reporting_generacion"
            " WHERE proyeccion = :p"
        ),
        {"p": p.nombre},
    )
    nombre = proyecciones.esquema(p.nombre, int(siguiente or 1))
    for sentencia in proyecciones.ddl(p, nombre):
        await conn.exec_driver_sql(sentencia)
    await conn.execute(
        text(
            "INSERT INTO reporting_generacion (proyeccion, generacion, esquema, version, estado)"
            " VALUES (:p, :g, :e, :v, 'CONSTRUYENDO')"
        ),
        {"p": p.nombre, "g": siguiente, "e": nombre, "v": p.version},
    )
    return int(siguiente or 1), nombre
