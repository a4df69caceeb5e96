"""Indicators over the live generation of the projections, "as of" a cut in event time.

Every query reads the rows valid at the cut (`valid_from < corte <= valid_to`) or the point facts
recorded before it (`t < corte`), so a report for a past date is computed from what the events
said then, not from today's state. Queries return counts keyed by territory (and LB, month,
cogestor); `api` fills the territories without data with zeros and pages them. No query
returns a family id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reporting import handlers
from reporting.domain import SALIDAS
from reporting.proyecciones import (
    FAMILIAS,
    LOGROS,
    Historia,
    grupos_de_pendientes,
    validar_esquema,
)

VIGENTE = "valid_from < :corte AND valid_to >= :corte"
MES = "to_char((({col}) AT TIME ZONE 'UTC') - interval '5 hours', 'YYYY-MM')"
"""The month of an event time, in Colombia (UTC-5, no daylight saving time)."""


class Nivel(StrEnum):
    NACION = "NACION"
    DEPARTAMENTO = "DEPARTAMENTO"
    MUNICIPIO = "MUNICIPIO"


ORDEN_NIVEL = {Nivel.NACION: 0, Nivel.DEPARTAMENTO: 1, Nivel.MUNICIPIO: 2}


@dataclass(frozen=True)
class Consulta:
    """Where and when: the cut, the grouping level, the territory filter, the page's territories."""

    corte: datetime
    nivel: Nivel
    departamento: str | None
    municipio: str | None
    territorios: Sequence[str]

    def territorio(self, alias: str = "") -> str:
        """The grouping expression: '' (the nation), the department or the municipality."""
        if self.nivel is Nivel.NACION:
            return "''"
        return f"{alias}{'departamento' if self.nivel is Nivel.DEPARTAMENTO else 'municipio'}"

    def donde(self, alias: str = "", municipio: str = "municipio") -> str:
        """Filter and page restriction of a table whose municipality column is `municipio`."""
        partes = []
        if self.municipio is not None:
            partes.append(f"AND {alias}{municipio} = :municipio")
        if self.departamento is not None:
            # a range of codes, not left(...): the municipality indexes serve it
            partes.append(
                f"AND {alias}{municipio} BETWEEN :departamento || '000' AND :departamento || '999'"
            )
        if self.nivel is not Nivel.NACION:
            partes.append(f"AND {self.territorio(alias)} = ANY(:territorios)")
        return " ".join(partes)

    @property
    def por_municipio(self) -> bool:
        """Whether the report groups or filters by municipality."""
        return self.nivel is Nivel.MUNICIPIO or self.municipio is not None

    def donde_por_departamento(self) -> str:
        """`donde` for a table keyed by department (a report that is not `por_municipio`)."""
        partes = []
        if self.departamento is not None:
            partes.append("AND departamento = :departamento")
        if self.nivel is Nivel.DEPARTAMENTO:
            partes.append("AND departamento = ANY(:territorios)")
        return " ".join(partes)

    def params(self, **mas: Any) -> dict[str, Any]:
        valores: dict[str, Any] = {"corte": self.corte, **mas}
        if self.municipio is not None:
            valores["municipio"] = self.municipio
        if self.departamento is not None:
            valores["departamento"] = self.departamento
        if self.nivel is not Nivel.NACION:
            valores["territorios"] = list(self.territorios)
        return valores


@asynccontextmanager
async def lectura(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, dict[str, str]]]:
    """A read-only transaction on the live generations (a swap waits until it ends)."""
    async with engine.connect() as conn, conn.begin():
        await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        esquemas = await handlers.esquemas_vivos(conn)
        yield conn, esquemas


async def _filas(conn: AsyncConnection, sql: str, params: dict[str, Any]) -> list[Any]:
    return list(await conn.execute(text(sql), params))


# --- current counts or histories ----------------------------------------------------------


def _al_dia(esquema: str) -> str:
    """True when the cut is after the newest event the generation applied: then the rows valid
    at the cut are exactly the open ones, which the count tables count."""
    return f"(SELECT coalesce(max(t) < :corte, true) FROM {esquema}.aplicado)"


def vigentes(esquema: str, h: Historia, c: Consulta, filtro: str = "") -> str:
    """A FROM item `v(municipio, departamento, <h.conteo>..., n)`: the rows of `h` valid at the
    cut within `c`'s territory and `filtro` (on `h.conteo`'s columns), counted.

    From `h`'s current counts when the cut is after the newest event (by municipality for a
    municipal report or filter, else by department; `municipio` is null in the latter), else
    one row per history row (n = 1). One statement, so both read the same snapshot and only
    one side runs (the other is cut off by its one-time filter).
    """
    columnas = ", ".join(h.conteo)
    al_dia = _al_dia(esquema)
    return (
        f"({_de_conteos(esquema, h.tabla, c, columnas)} AND {al_dia} {filtro}"
        f" UNION ALL SELECT {h.municipio}, departamento, {columnas}, 1"
        f" FROM {esquema}.{h.tabla} WHERE {VIGENTE} AND NOT {al_dia} {filtro}"
        f" {c.donde(municipio=h.municipio)}) v"
    )


def anteriores(esquema: str, tabla: str, c: Consulta) -> str:
    """A FROM item `v(municipio, departamento, n)`: a point table's rows before the cut within
    `c`'s territory, from its counts when the cut is after the newest event (like `vigentes`)."""
    al_dia = _al_dia(esquema)
    return (
        f"({_de_conteos(esquema, tabla, c, '')} AND {al_dia}"
        f" UNION ALL SELECT municipio, departamento, 1 FROM {esquema}.{tabla}"
        f" WHERE t < :corte AND NOT {al_dia} {c.donde()}) v"
    )


def _de_conteos(esquema: str, tabla: str, c: Consulta, columnas: str) -> str:
    """The SELECT of the count table that serves `c`, up to its WHERE (open for more)."""
    resto = f"{columnas}, n" if columnas else "n"
    if c.por_municipio:
        return (
            f"SELECT municipio, departamento, {resto} FROM {esquema}.{tabla}_conteo"
            f" WHERE true {c.donde()}"
        )
    return (
        f"SELECT NULL::text, departamento, {resto} FROM {esquema}.{tabla}_conteo_dpto"
        f" WHERE true {c.donde_por_departamento()}"
    )


_BOARD = LOGROS.historia("familia_logro")
_PENDIENTES = LOGROS.historia("familia_pendientes")


# --- families -----------------------------------------------------------------------------

CONTEOS_FAMILIA = {
    "potencial": "true",
    "preseleccionadas": "estado = 'PRESELECCIONADA'",
    "vinculadas": "vinculada",
    "en_acompanamiento": "estado = 'VINCULADA'",
    "no_vinculadas": "estado = 'NO_VINCULADA'",
    "promovidas": "estado = 'PROMOVIDA'",
    "retiradas": "estado = 'RETIRADA'",
    "egresadas_por_tiempo": "estado = 'EGRESADA_POR_TIEMPO'",
    "potencial_desplazadas": "desplazada",
    "vinculadas_desplazadas": "vinculada AND desplazada",
    "en_acompanamiento_desplazadas": "estado = 'VINCULADA' AND desplazada",
}
"""Family counts as of the cut; the SISBEN counts are the totals minus the displaced ones
(a family in both registries counts as displaced, as in the program's own figures)."""


async def conteo_familias(
    conn: AsyncConnection, s: dict[str, str], c: Consulta
) -> dict[str, dict[str, int]]:
    """Counts of CONTEOS_FAMILIA plus families with a baseline and with a plan, by territory."""
    columnas = ", ".join(
        f"coalesce(sum(n) FILTER (WHERE {condicion}), 0)::bigint AS {nombre}"
        for nombre, condicion in CONTEOS_FAMILIA.items()
    )
    familias = vigentes(s["familias"], FAMILIAS.historia("familia_estado"), c)
    sql = f"SELECT {c.territorio()} AS clave, {columnas} FROM {familias}"
    resultado: dict[str, dict[str, int]] = {}
    for fila in await _filas(conn, sql + " GROUP BY 1", c.params()):
        resultado[fila.clave] = dict(fila._mapping)
    for tabla, nombre in (("linea_base", "con_linea_base"), ("plan", "con_plan")):
        sql = (
            f"SELECT {c.territorio()} AS clave, sum(n)::bigint AS n"
            f" FROM {anteriores(s['logros'], tabla, c)} GROUP BY 1"
        )
        for fila in await _filas(conn, sql, c.params()):
            resultado.setdefault(fila.clave, {})[nombre] = fila.n
    return resultado


async def salidas_por_mes(
    conn: AsyncConnection, s: dict[str, str], c: Consulta, desde: datetime
) -> dict[tuple[str, str], dict[str, int]]:
    """Families entering each exit state, by territory and month of the event."""
    sql = (
        f"SELECT clave, {MES.format(col='valid_from')} AS mes, estado, count(*) AS n FROM ("
        f" SELECT {c.territorio()} AS clave, estado, valid_from,"
        "  lag(estado) OVER (PARTITION BY familia_id ORDER BY valid_from) AS previo"
        f" FROM {s['familias']}.familia_estado WHERE valid_from < :corte {c.donde()}) x"
        " WHERE estado = ANY(:salidas) AND previo IS DISTINCT FROM estado"
        " AND valid_from >= :desde GROUP BY 1, 2, 3"
    )
    resultado: dict[tuple[str, str], dict[str, int]] = {}
    for fila in await _filas(conn, sql, c.params(desde=desde, salidas=list(SALIDAS))):
        resultado.setdefault((fila.clave, fila.mes), {})[fila.estado] = fila.n
    return resultado


# --- boards -------------------------------------------------------------------------------


async def logros_por_estado(
    conn: AsyncConnection, s: dict[str, str], c: Consulta, logros: Sequence[str]
) -> dict[tuple[str, str], dict[str, int]]:
    """Families with each LB in each status, by territory."""
    sql = (
        f"SELECT {c.territorio()} AS clave, logro, estado, sum(n)::bigint AS n"
        f" FROM {vigentes(s['logros'], _BOARD, c, 'AND logro = ANY(:logros)')} GROUP BY 1, 2, 3"
    )
    resultado: dict[tuple[str, str], dict[str, int]] = {}
    for fila in await _filas(conn, sql, c.params(logros=list(logros))):
        resultado.setdefault((fila.clave, fila.logro), {})[fila.estado] = fila.n
    return resultado


async def familias_por_pendientes(
    conn: AsyncConnection, s: dict[str, str], c: Consulta, logros: Sequence[str]
) -> dict[tuple[str, int], int]:
    """Families by how many of `logros` they have POR_ALCANZAR, by territory.

    `logros` is what a report can ask: every LB or a dimension's (read from the derived history
    `familia_pendientes`), or one LB (its POR_ALCANZAR count is the families with 1 pending).
    """
    grupo = grupos_de_pendientes().get(frozenset(logros))
    if grupo is not None:
        desde = vigentes(s["logros"], _PENDIENTES, c, "AND grupo = :grupo")
        sql = (
            f"SELECT {c.territorio()} AS clave, pendientes, sum(n)::bigint AS n FROM {desde}"
            " GROUP BY 1, 2"
        )
        params = c.params(grupo=grupo)
    elif len(logros) == 1:
        sql = (
            f"SELECT {c.territorio()} AS clave, (estado = 'POR_ALCANZAR')::int AS pendientes,"
            f" sum(n)::bigint AS n FROM {vigentes(s['logros'], _BOARD, c, 'AND logro = :logro')}"
            " GROUP BY 1, 2"
        )
        params = c.params(logro=logros[0])
    elif not logros:
        return {}
    else:
        raise ValueError(f"no pending-LB count for this set of LB: {sorted(logros)}")
    return {(fila.clave, fila.pendientes): fila.n for fila in await _filas(conn, sql, params)}


async def logros_alcanzados_por_mes(
    conn: AsyncConnection,
    s: dict[str, str],
    c: Consulta,
    logros: Sequence[str],
    desde: datetime,
) -> dict[tuple[str, str], int]:
    """LB that went from POR_ALCANZAR to ALCANZADO (progress: an LB already met at the first
    evaluation is not counted; one reached again after a regression is), by month."""
    sql = (
        f"SELECT clave, {MES.format(col='valid_from')} AS mes, count(*) AS n FROM ("
        f" SELECT {c.territorio()} AS clave, estado, valid_from,"
        "  lag(estado) OVER (PARTITION BY familia_id, logro ORDER BY valid_from) AS previo"
        f" FROM {s['logros']}.familia_logro WHERE valid_from < :corte AND logro = ANY(:logros)"
        f" {c.donde()}) x"
        " WHERE estado = 'ALCANZADO' AND previo = 'POR_ALCANZAR'"
        " AND valid_from >= :desde GROUP BY 1, 2"
    )
    return {
        (fila.clave, fila.mes): fila.n
        for fila in await _filas(conn, sql, c.params(logros=list(logros), desde=desde))
    }


# --- field operation ----------------------------------------------------------------------


async def campo(
    conn: AsyncConnection, s: dict[str, str], c: Consulta, visita_desde: date, hoy: date
) -> dict[str, dict[str, int]]:
    """Families in accompaniment, and those without baseline, plan, or a recent visit;
    community sessions and their participants since `visita_desde`, by territory."""
    f, lg, op = s["familias"], s["logros"], s["operacion"]
    sql = (
        f"SELECT {c.territorio('e.')} AS clave, count(*) AS en_acompanamiento,"
        " count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM"
        f"  {lg}.linea_base b WHERE b.familia_id = e.familia_id AND b.t < :corte))"
        "  AS sin_linea_base,"
        " count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM"
        f"  {lg}.plan p WHERE p.familia_id = e.familia_id AND p.t < :corte)) AS sin_plan,"
        " count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM"
        f"  {op}.visita v WHERE v.familia_id = e.familia_id AND v.t < :corte"
        "  AND v.fecha > :desde AND v.fecha <= :hoy)) AS sin_visita_reciente"
        f" FROM {f}.familia_estado e WHERE e.valid_from < :corte AND e.valid_to >= :corte"
        f" AND e.estado = 'VINCULADA' {c.donde('e.')} GROUP BY 1"
    )
    resultado: dict[str, dict[str, int]] = {}
    params = c.params(desde=visita_desde, hoy=hoy)
    for fila in await _filas(conn, sql, params):
        resultado[fila.clave] = dict(fila._mapping)
    sql = (
        f"SELECT {c.territorio()} AS clave, count(*) AS sesiones_comunitarias,"
        f" coalesce(sum(familias), 0) AS participaciones FROM {op}.sesion"
        f" WHERE t < :corte AND fecha > :desde AND fecha <= :hoy {c.donde()} GROUP BY 1"
    )
    for fila in await _filas(conn, sql, params):
        resultado.setdefault(fila.clave, {}).update(
            sesiones_comunitarias=fila.sesiones_comunitarias,
            participaciones=int(fila.participaciones),
        )
    return resultado


async def cogestores(
    conn: AsyncConnection,
    s: dict[str, str],
    c: Consulta,
    visita_desde: date,
    hoy: date,
    despues_de: str | None,
    limite: int | None,
) -> list[Any]:
    """Each cogestor serving or assigned to families in the territory: its capacity, the
    municipalities it serves there, the families assigned and in accompaniment, and its
    visits since `visita_desde`."""
    f, op = s["familias"], s["operacion"]
    donde = c.donde()
    cursor = "WHERE cogestor_id > :cursor" if despues_de is not None else ""
    pagina = "LIMIT :limite" if limite is not None else ""
    sql = (
        "WITH servidos AS ("
        " SELECT cogestor_id, count(*) AS municipios, max(capacidad) AS capacidad"
        f" FROM {op}.cogestor_municipio WHERE {VIGENTE} {donde} GROUP BY 1),"
        " carga AS ("
        " SELECT cogestor_id, count(*) AS familias_asignadas,"
        "  count(*) FILTER (WHERE estado = 'VINCULADA') AS en_acompanamiento"
        f" FROM {f}.familia_estado WHERE {VIGENTE} AND cogestor_id IS NOT NULL {donde}"
        " GROUP BY 1),"
        " visitas AS ("
        f" SELECT cogestor_id, count(*) AS visitas FROM {op}.visita WHERE t < :corte"
        f" AND fecha > :desde AND fecha <= :hoy {donde} GROUP BY 1)"
        " SELECT cogestor_id, coalesce(municipios, 0) AS municipios, capacidad,"
        " coalesce(familias_asignadas, 0) AS familias_asignadas,"
        " coalesce(en_acompanamiento, 0) AS en_acompanamiento,"
        " coalesce(visitas, 0) AS visitas"
        " FROM servidos FULL JOIN carga USING (cogestor_id) FULL JOIN visitas USING (cogestor_id)"
        f" {cursor} ORDER BY cogestor_id {pagina}"
    )
    params = c.params(desde=visita_desde, hoy=hoy)
    if despues_de is not None:
        params["cursor"] = despues_de
    if limite is not None:
        params["limite"] = limite
    return await _filas(conn, sql, params)


async def visitas_por_mes(
    conn: AsyncConnection,
    s: dict[str, str],
    c: Consulta,
    desde: date,
    hasta: date,
    despues_de: str | None,
    limite: int | None,
) -> list[Any]:
    """Visits (and families visited) per cogestor and month of the visit's date."""
    cursor = (
        "HAVING cogestor_id || '|' || to_char(fecha, 'YYYY-MM') > :cursor"
        if (despues_de is not None)
        else ""
    )
    pagina = "LIMIT :limite" if limite is not None else ""
    sql = (
        "SELECT cogestor_id, to_char(fecha, 'YYYY-MM') AS mes, count(*) AS visitas,"
        " count(DISTINCT familia_id) AS familias_visitadas"
        f" FROM {s['operacion']}.visita WHERE t < :corte AND fecha >= :desde AND fecha <= :hasta"
        f" {c.donde()} GROUP BY 1, 2 {cursor} ORDER BY 1, 2 {pagina}"
    )
    params = c.params(desde=desde, hasta=hasta)
    if despues_de is not None:
        params["cursor"] = despues_de
    if limite is not None:
        params["limite"] = limite
    return await _filas(conn, sql, params)


async def cogestores_por_departamento(
    conn: AsyncConnection, s: dict[str, str], c: Consulta
) -> dict[str, int]:
    """Tabla 3: distinct cogestores serving some municipality of each department."""
    sql = (
        "SELECT departamento AS clave, count(DISTINCT cogestor_id) AS n"
        f" FROM {s['operacion']}.cogestor_municipio WHERE {VIGENTE} {c.donde()} GROUP BY 1"
    )
    return {fila.clave: fila.n for fila in await _filas(conn, sql, c.params())}


# --- offer --------------------------------------------------------------------------------


async def oferta(
    conn: AsyncConnection,
    s: dict[str, str],
    c: Consulta,
    logros: Sequence[str],
    entidad: str | None,
    periodo: str | None,
) -> dict[tuple[str, str], dict[str, int]]:
    """Slots enabled and assigned, services delivered and demand, by territory and LB.

    Slots count for each program's latest period in each municipality (or `periodo`); demand
    is the families in accompaniment with the LB POR_ALCANZAR. `entidad` limits slots and
    services to one entity's programs (demand is everyone's).
    """
    of, lg, fa = s["oferta"], s["logros"], s["familias"]
    de_entidad = "AND entidad = :entidad" if entidad is not None else ""
    del_periodo = "AND periodo = :periodo" if periodo is not None else ""
    donde = c.donde()
    sql = (
        "WITH h AS ("
        f" SELECT * FROM {of}.cupos_habilitados WHERE {VIGENTE} AND logro = ANY(:logros)"
        f" {donde} {de_entidad} {del_periodo}),"
        " a AS ("
        f" SELECT * FROM {of}.cupo_logro WHERE {VIGENTE} AND estado = 'ASIGNADO'"
        f" AND logro = ANY(:logros) {donde} {de_entidad} {del_periodo}),"
        " ultimo AS (SELECT programa_id, municipio, max(periodo) AS periodo FROM ("
        "  SELECT programa_id, municipio, periodo FROM h UNION ALL"
        "  SELECT programa_id, municipio, periodo FROM a) x GROUP BY 1, 2)"
        f" SELECT 'h' AS que, {c.territorio('h.')} AS clave, h.logro, sum(h.cupos) AS n"
        " FROM h JOIN ultimo USING (programa_id, municipio, periodo) GROUP BY 2, 3"
        f" UNION ALL SELECT 'a', {c.territorio('a.')}, a.logro, count(*)"
        " FROM a JOIN ultimo USING (programa_id, municipio, periodo) GROUP BY 2, 3"
    )
    params = c.params(logros=list(logros))
    if entidad is not None:
        params["entidad"] = entidad
    if periodo is not None:
        params["periodo"] = periodo
    resultado: dict[tuple[str, str], dict[str, int]] = {}
    nombres = {"h": "cupos_habilitados", "a": "cupos_asignados"}
    for fila in await _filas(conn, sql, params):
        resultado.setdefault((fila.clave, fila.logro), {})[nombres[fila.que]] = int(fila.n)
    sql = (
        f"SELECT {c.territorio()} AS clave, logro, count(*) AS n FROM"
        f" (SELECT *, unnest(logros) AS logro FROM {of}.servicio WHERE t < :corte {donde}"
        f" {de_entidad}) x WHERE logro = ANY(:logros) GROUP BY 1, 2"
    )
    for fila in await _filas(conn, sql, params):
        resultado.setdefault((fila.clave, fila.logro), {})["servicios_prestados"] = fila.n
    sql = (
        f"SELECT {c.territorio('l.')} AS clave, l.logro, count(*) AS n"
        f" FROM {lg}.familia_logro l JOIN {fa}.familia_estado e ON e.familia_id = l.familia_id"
        " AND e.valid_from < :corte AND e.valid_to >= :corte AND e.estado = 'VINCULADA'"
        " WHERE l.valid_from < :corte AND l.valid_to >= :corte AND l.estado = 'POR_ALCANZAR'"
        f" AND l.logro = ANY(:logros) {c.donde('l.')} GROUP BY 1, 2"
    )
    for fila in await _filas(conn, sql, c.params(logros=list(logros))):
        resultado.setdefault((fila.clave, fila.logro), {})["demanda"] = fila.n
    return resultado


# --- territorial ------------------------------------------------------------------------


async def condiciones(
    conn: AsyncConnection, s: dict[str, str], c: Consulta, cbts: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Municipalities with a territorial baseline and their CBT by status, by territory."""
    sql = (
        f"SELECT {c.territorio()} AS clave, count(DISTINCT municipio) AS municipios_con_linea_base,"
        " count(*) FILTER (WHERE estado = 'CUMPLE') AS cumple,"
        " count(*) FILTER (WHERE estado = 'CUMPLE_PARCIALMENTE') AS cumple_parcialmente,"
        " count(*) FILTER (WHERE estado = 'NO_CUMPLE') AS no_cumple"
        f" FROM {s['territorial']}.municipio_cbt WHERE {VIGENTE} AND cbt = ANY(:cbts)"
        f" {c.donde()} GROUP BY 1"
    )
    return {
        fila.clave: dict(fila._mapping)
        for fila in await _filas(conn, sql, c.params(cbts=list(cbts)))
    }


async def planes(
    conn: AsyncConnection, s: dict[str, str], c: Consulta
) -> dict[str, dict[str, Any]]:
    """Approved municipal action plans in force and their actions by status, by territory."""
    sql = (
        f"SELECT {c.territorio()} AS clave, count(DISTINCT municipio) AS municipios_con_plan,"
        " count(*) AS acciones,"
        " count(*) FILTER (WHERE estado = 'PENDIENTE') AS pendientes,"
        " count(*) FILTER (WHERE estado = 'EN_CURSO') AS en_curso,"
        " count(*) FILTER (WHERE estado = 'CUMPLIDA') AS cumplidas,"
        " count(*) FILTER (WHERE estado = 'CANCELADA') AS canceladas,"
        " round(avg(avance), 1) AS avance_promedio"
        f" FROM {s['territorial']}.accion_plan WHERE {VIGENTE} {c.donde()} GROUP BY 1"
    )
    return {fila.clave: dict(fila._mapping) for fila in await _filas(conn, sql, c.params())}


async def participacion(
    conn: AsyncConnection, s: dict[str, str], c: Consulta, desde: date, hoy: date
) -> dict[str, dict[str, int]]:
    """Accountability sessions and participation spaces since `desde`; veedurías open and
    resolved as of the cut; by territory."""
    t = s["territorial"]
    params = c.params(desde=desde, hoy=hoy)
    resultado: dict[str, dict[str, int]] = {}
    consultas = (
        f"SELECT {c.territorio()} AS clave, count(*) AS rendiciones_de_cuentas,"
        " coalesce(sum(asistentes), 0) AS asistentes, coalesce(sum(compromisos), 0) AS compromisos"
        f" FROM {t}.rendicion WHERE t < :corte AND fecha > :desde AND fecha <= :hoy {c.donde()}"
        " GROUP BY 1",
        f"SELECT {c.territorio()} AS clave, count(*) AS espacios_de_participacion,"
        " coalesce(sum(participantes), 0) AS participantes"
        f" FROM {t}.espacio WHERE t < :corte AND fecha > :desde AND fecha <= :hoy {c.donde()}"
        " GROUP BY 1",
        f"SELECT {c.territorio()} AS clave,"
        " count(*) FILTER (WHERE estado <> 'RESUELTA') AS veedurias_abiertas,"
        " count(*) FILTER (WHERE estado = 'RESUELTA') AS veedurias_resueltas"
        f" FROM {t}.veeduria WHERE {VIGENTE} {c.donde()} GROUP BY 1",
    )
    for sql in consultas:
        for fila in await _filas(conn, sql, params):
            valores = {k: int(v) for k, v in fila._mapping.items() if k != "clave"}
            resultado.setdefault(fila.clave, {}).update(valores)
    return resultado


# --- the projections themselves -----------------------------------------------------------


async def estado_proyecciones(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Each projection's live generation and the event time of the newest event it applied."""
    filas = await conn.execute(
        text(
            "SELECT p.proyeccion, p.generacion, p.esquema, p.activada, g.version"
            " FROM reporting_proyeccion p JOIN reporting_generacion g"
            " USING (proyeccion, generacion) ORDER BY 1"
        )
    )
    resultado = []
    for fila in list(filas):
        ultimo = await conn.scalar(
            text(f"SELECT max(t) FROM {validar_esquema(fila.esquema)}.aplicado")
        )
        resultado.append({**fila._mapping, "ultimo_evento": ultimo})
    return resultado
