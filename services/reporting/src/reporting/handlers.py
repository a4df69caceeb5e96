"""Applying events to a generation of the projections: the SQL side of `domain`.

The live consumer and a rebuild both call `aplicar`, each in its own transaction and on its own
generation schemas, so they write the same rows the same way.

- Idempotence: an event is applied to a generation once, guarded by that generation's `aplicado`
  table (the consumer's inbox already absorbs plain redelivery; this also covers DLQ replays,
  which reach a rebuild twice, and the live/rebuild overlap at the swap).
- Order: a fact not older than its entity's newest one extends the history in place
  (`domain.avanzar`); an older one (a late event, e.g. a DLQ replay) is *inserted at its place*:
  the entity's history is refolded from all its facts (`domain.tramos`), so it reads exactly as
  if the events had come in order.
- Live generations: every reader and the live consumer hold a shared advisory lock for their
  transaction while they use the pointer; a rebuild's swap takes it exclusively, so nobody reads
  a schema that is being retired and no live batch straddles the swap.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from juntos_events.envelope import Envelope
from juntos_events.logs import get_logger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from reporting import domain, proyecciones
from reporting.domain import Hecho, Punto, Valores
from reporting.proyecciones import PROYECCIONES, Historia, Proyeccion, validar_esquema

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


async def aplicar_en_vivo(conn: AsyncConnection, envelope: Envelope) -> int:
    """The live consumer's handler: apply to the live generation of every projection."""
    if (envelope.service, envelope.event_type) in domain.CONOCIDOS_SIN_USO:
        return 0
    esquemas = await _esquemas_de_la_transaccion(conn)
    return await aplicar(conn, envelope, esquemas)


# --- applying one event -------------------------------------------------------------------


async def aplicar(
    conn: AsyncConnection,
    envelope: Envelope,
    esquemas: Mapping[str, str],
) -> int:
    """Apply `envelope` to the projections in `esquemas` (name -> schema); how many took it.

    Raises EventoDesconocido for a type reporting does not know and domain.EventoInvalido for
    a known type whose data lacks what reporting reads; writes nothing in both cases.
    """
    try:
        por_proyeccion = domain.operaciones(
            envelope.service, envelope.event_type, envelope.data, envelope.time
        )
    except KeyError:
        raise EventoDesconocido(f"{envelope.service}.{envelope.event_type}") from None
    aplicadas = 0
    for nombre, operaciones in por_proyeccion.items():
        esquema = esquemas.get(nombre)
        if esquema is None:
            continue
        if not await _marcar(conn, esquema, envelope.id, envelope.time):
            continue
        proyeccion = PROYECCIONES[nombre]
        for operacion in operaciones:
            if isinstance(operacion, Hecho):
                historia = proyeccion.historia(operacion.entidad)
                await _hecho(conn, esquema, historia, operacion, envelope.time)
            else:
                await _punto(conn, esquema, proyeccion, operacion)
        aplicadas += 1
    return aplicadas


async def _marcar(conn: AsyncConnection, esquema: str, event_id: str, t: datetime) -> bool:
    """Record the event in the generation; False if it had been applied already."""
    fila = await conn.exec_driver_sql(
        f"INSERT INTO {esquema}.aplicado (event_id, t) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (event_id, t),
    )
    return fila.first() is not None


# --- histories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sql:
    """The statements of one history in one schema (built once per pair)."""

    historia: Historia
    tabla: str
    hechos: str
    actual: str
    leer_actual: str
    guardar_hecho: str
    guardar_actual: str
    filas_en: str
    borrar: str
    cerrar: str
    reabrir: str
    insertar: str
    leer_hechos: str
    borrar_todo: str
    por_subs: dict[str, str]
    """A history with sub-keys changes many rows of an entity at once (a board's 45 LB): the
    set-based forms of borrar, cerrar, reabrir and insertar, one statement each (one round
    trip, and one firing of the count triggers instead of one per row)."""

    @staticmethod
    @functools.cache
    def de(esquema: str, h: Historia) -> _Sql:
        tabla = f"{esquema}.{h.tabla}"
        cols = ", ".join(h.nombres)
        sub_col = h.sub or "''"
        con_sub = f" AND {h.sub} = $2" if h.sub else ""
        # parameter numbers: $1 entity, $2 sub (if any), then the time / values
        n = 3 if h.sub else 2
        valores = ", ".join(f"${i}" for i in range(n + 1, n + 1 + len(h.nombres)))
        claves = ", ".join([h.clave, *([h.sub] if h.sub else [])])
        return _Sql(
            historia=h,
            tabla=tabla,
            hechos=f"{tabla}_hecho",
            actual=f"{tabla}_actual",
            leer_actual=f"SELECT t, estado FROM {tabla}_actual WHERE clave = $1",
            guardar_hecho=f"INSERT INTO {tabla}_hecho (clave, t, cambio) VALUES ($1, $2, $3)",
            guardar_actual=(
                f"INSERT INTO {tabla}_actual (clave, t, estado) VALUES ($1, $2, $3)"
                " ON CONFLICT (clave) DO UPDATE SET t = EXCLUDED.t, estado = EXCLUDED.estado"
            ),
            filas_en=(
                f"SELECT {sub_col}, valid_from, valid_to = 'infinity', {cols} FROM {tabla}"
                f" WHERE {h.clave} = $1 AND (valid_to = 'infinity' OR valid_to = $2)"
            ),
            borrar=f"DELETE FROM {tabla} WHERE {h.clave} = $1{con_sub} AND valid_from = ${n}",
            cerrar=(
                f"UPDATE {tabla} SET valid_to = ${n} WHERE {h.clave} = $1{con_sub}"
                " AND valid_to = 'infinity'"
            ),
            reabrir=(
                f"UPDATE {tabla} SET valid_to = 'infinity' WHERE {h.clave} = $1{con_sub}"
                f" AND valid_to = ${n}"
            ),
            insertar=(
                f"INSERT INTO {tabla} ({claves}, valid_from, valid_to, {cols})"
                f" VALUES ($1, {'$2, ' if h.sub else ''}${n}, 'infinity', {valores})"
            ),
            leer_hechos=f"SELECT t, cambio FROM {tabla}_hecho WHERE clave = $1 ORDER BY t, seq",
            borrar_todo=f"DELETE FROM {tabla} WHERE {h.clave} = $1",
            por_subs=_por_subs(tabla, h) if h.sub else {},
        )

    def params(self, clave: str, sub: str, *resto: Any) -> tuple[Any, ...]:
        return (clave, sub, *resto) if self.historia.sub else (clave, *resto)


def _por_subs(tabla: str, h: Historia) -> dict[str, str]:
    """Statements on rows of entity $1 whose sub-key is in $2 (an array), at time $3."""
    en = f"{h.clave} = $1 AND {h.sub} = ANY($2::text[])"
    columnas = ", ".join(h.nombres)
    arrays = ", ".join(f"${i}::{tipo}[]" for i, (_, tipo) in enumerate(h.columnas, start=4))
    return {
        "borrar": f"DELETE FROM {tabla} WHERE {en} AND valid_from = $3",
        "cerrar": f"UPDATE {tabla} SET valid_to = $3 WHERE {en} AND valid_to = 'infinity'",
        "reabrir": f"UPDATE {tabla} SET valid_to = 'infinity' WHERE {en} AND valid_to = $3",
        "insertar": (
            f"INSERT INTO {tabla} ({h.clave}, {h.sub}, valid_from, valid_to, {columnas})"
            f" SELECT $1, u.sub, $3, 'infinity', {', '.join(f'u.{c}' for c in h.nombres)}"
            f" FROM unnest($2::text[], {arrays}) AS u(sub, {columnas})"
        ),
    }


async def _hecho(
    conn: AsyncConnection, esquema: str, h: Historia, hecho: Hecho, t: datetime
) -> None:
    sql = _Sql.de(esquema, h)
    actual = (await conn.exec_driver_sql(sql.leer_actual, (hecho.clave,))).first()
    await conn.exec_driver_sql(sql.guardar_hecho, (hecho.clave, t, json.dumps(hecho.cambio)))
    if actual is not None and t < actual[0]:
        await _replegar(conn, esquema, h, hecho.clave)
        log.info(
            "late event placed in its history", tabla=h.tabla, clave=hecho.clave, t=t.isoformat()
        )
        return
    antes = json_de(actual[1]) if actual is not None else {}
    despues = domain.evolucionar(antes, hecho.cambio)
    for historia in h.con_derivadas():
        nuevas = historia.filas(despues)
        if nuevas != historia.filas(antes):
            sql_h = _Sql.de(esquema, historia)
            vigentes, terminan = await _filas_en(conn, sql_h, hecho.clave, t)
            avance = domain.avanzar(vigentes, terminan, nuevas, t)
            await _avanzar(conn, sql_h, hecho.clave, t, avance)
    await conn.exec_driver_sql(sql.guardar_actual, (hecho.clave, t, json.dumps(despues)))


async def _filas_en(
    conn: AsyncConnection, sql: _Sql, clave: str, t: datetime
) -> tuple[dict[str, tuple[datetime, Valores]], dict[str, Valores]]:
    vigentes: dict[str, tuple[datetime, Valores]] = {}
    terminan: dict[str, Valores] = {}
    for sub, desde, abierta, *valores in await conn.exec_driver_sql(sql.filas_en, (clave, t)):
        if abierta:
            vigentes[sub] = (desde, tuple(valores))
        else:
            terminan[sub] = tuple(valores)
    return vigentes, terminan


async def _avanzar(
    conn: AsyncConnection, sql: _Sql, clave: str, t: datetime, avance: domain.Avance
) -> None:
    cambios = {"borrar": avance.borrar, "cerrar": avance.cerrar, "reabrir": avance.reabrir}
    if sql.por_subs:
        for que, subs in cambios.items():
            if subs:
                await conn.exec_driver_sql(sql.por_subs[que], (clave, list(subs), t))
        if avance.insertar:
            subs = [sub for sub, _ in avance.insertar]
            columnas = [list(c) for c in zip(*(v for _, v in avance.insertar), strict=True)]
            await conn.exec_driver_sql(sql.por_subs["insertar"], (clave, subs, t, *columnas))
        return
    for sentencia, subs in (
        (sql.borrar, avance.borrar),
        (sql.cerrar, avance.cerrar),
        (sql.reabrir, avance.reabrir),
    ):
        if subs:
            await conn.exec_driver_sql(sentencia, [sql.params(clave, s, t) for s in subs])
    if avance.insertar:
        await conn.exec_driver_sql(
            sql.insertar, [sql.params(clave, s, t, *v) for s, v in avance.insertar]
        )


async def _replegar(conn: AsyncConnection, esquema: str, h: Historia, clave: str) -> None:
    """Rewrite an entity's histories from all its facts (a late fact was just stored)."""
    sql = _Sql.de(esquema, h)
    hechos = [
        (t, json_de(cambio)) for t, cambio in await conn.exec_driver_sql(sql.leer_hechos, (clave,))
    ]
    historias, estado = domain.tramos_de_varias(hechos, [d.filas for d in h.con_derivadas()])
    for derivada, historia in zip(h.con_derivadas(), historias, strict=True):
        await _reescribir(conn, _Sql.de(esquema, derivada), clave, historia)
    ultimo = hechos[-1][0]
    await conn.exec_driver_sql(sql.guardar_actual, (clave, ultimo, json.dumps(estado)))


async def _reescribir(
    conn: AsyncConnection, sql: _Sql, clave: str, historia: list[domain.Tramo]
) -> None:
    h = sql.historia
    await conn.exec_driver_sql(sql.borrar_todo, (clave,))
    abiertas = []
    cerradas = []
    for tramo in historia:
        if tramo.hasta is None:
            abiertas.append(sql.params(clave, tramo.sub, tramo.desde, *tramo.valores))
        else:
            cerradas.append(sql.params(clave, tramo.sub, tramo.desde, *tramo.valores))
            cerradas[-1] = (*cerradas[-1], tramo.hasta)
    if abiertas:
        await conn.exec_driver_sql(sql.insertar, abiertas)
    if cerradas:
        # insert as open, then close at the stored end (the last parameter)
        n = 3 if h.sub else 2
        fin = n + len(h.nombres) + 1
        insertar_cerrada = sql.insertar.replace("'infinity'", f"${fin}", 1)
        await conn.exec_driver_sql(insertar_cerrada, cerradas)


def json_de(valor: Any) -> Any:
    """jsonb comes back parsed through SQLAlchemy's asyncpg codec, text from plain asyncpg."""
    return json.loads(valor) if isinstance(valor, str | bytes) else valor


# --- point facts --------------------------------------------------------------------------


async def _punto(conn: AsyncConnection, esquema: str, p: Proyeccion, punto: Punto) -> None:
    nombres = [n for n, _ in p.puntos_de(punto.tabla).columnas]
    await conn.exec_driver_sql(
        sentencia_punto(esquema, p, punto.tabla), tuple(punto.fila[n] for n in nombres)
    )


@functools.cache
def sentencia_punto(esquema: str, p: Proyeccion, tabla_puntos: str) -> str:
    """The INSERT of one point row (parameters in the table's column order)."""
    definicion = p.puntos_de(tabla_puntos)
    nombres = [n for n, _ in definicion.columnas]
    valores = ", ".join(f"${i}" for i in range(1, len(nombres) + 1))
    tabla = f"{esquema}.{definicion.tabla}"
    sentencia = f"INSERT INTO {tabla} ({', '.join(nombres)}) VALUES ({valores})"
    if definicion.primero:
        otros = ", ".join(f"{n} = EXCLUDED.{n}" for n in nombres if n != definicion.llave)
        sentencia += (
            f" ON CONFLICT ({definicion.llave}) DO UPDATE SET {otros}"
            f" WHERE EXCLUDED.t < {definicion.tabla}.t"
        )
    else:
        sentencia += " ON CONFLICT DO NOTHING"
    return sentencia


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
