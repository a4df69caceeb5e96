"""The projections: their tables (DDL per generation schema) and how an entity's state gives rows.

A projection lives in its own PostgreSQL schema per *generation* (`rp_<name>_<n>`); the table
`reporting_proyeccion` points at the live one. Rebuilding builds generation n+1 beside the live
one and swaps the pointer (see `reconstruccion`). Every generation schema has:

- `aplicado(event_id, t)`: the events it applied (idempotence across redelivery, DLQ replays and
  the live/rebuild overlap at the swap) and their event time (the projection's lag);
- `checkpoint(topic, particion, siguiente)`: where a rebuild is in each partition;
- per history `h`: `h` (rows with `valid_from`/`valid_to` in event time), `h_hecho` (the facts,
  to refold an entity when a late event arrives) and `h_actual` (the entity's folded state);
- point tables (a visit, a delivered service), one row per fact id;
- *current counts* (`h_conteo`, `h_conteo_dpto`...): the open rows of a history (or the rows of
  a point table) counted by municipality (and by department) and a few columns, kept by
  statement-level triggers (so the incremental path, refolds, COPY and deletes all keep them
  right). A report whose cut is after the projection's newest event reads them instead of
  scanning the history: that is what keeps national indicators fast with 1.5 million families;
- *derived histories* (`Historia.derivadas`): rows read from another history's entity state
  (a board's pending LB per dimension), folded with it from its facts, with no facts of their own.

Changing a table's shape means a new `version` here and a rebuild of that projection, or a
migration that brings every existing generation to the new shape (reporting_0004).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from juntos_catalogo import catalogo
from sqlalchemy import Connection, text

from reporting.domain import Filas, Valores


@dataclass(frozen=True)
class Historia:
    """A history of rows per entity, each valid from one event time to another."""

    tabla: str
    clave: str  # the entity's id column (familia_id, cogestor_id, cupo_id...)
    sub: str | None  # the row's sub-key column within the entity (logro...), or one row
    columnas: tuple[tuple[str, str], ...]  # value columns (name, SQL type), in `filas` order
    filas: Filas
    municipio: str = "municipio"  # the column the generated `departamento` comes from
    indices: tuple[str, ...] = ()
    """More indexes (`(columns) [INCLUDE (...)]`), named `<tabla>_x<n>` in the order given."""
    conteo: tuple[str, ...] = ()
    """Columns (besides the municipality) by which the open rows are counted in `<tabla>_conteo`;
    empty: no count table."""
    derivadas: tuple[Historia, ...] = ()
    """Histories of the same entity whose rows come from this one's state (same facts, same
    folds; they have no `_hecho` nor `_actual` tables of their own)."""

    @property
    def nombres(self) -> tuple[str, ...]:
        return tuple(nombre for nombre, _ in self.columnas)

    def con_derivadas(self) -> tuple[Historia, ...]:
        return (self, *self.derivadas)

    def tipo(self, columna: str) -> str:
        return dict(self.columnas).get(columna, "text")


@dataclass(frozen=True)
class TablaPuntos:
    """Dated facts with their own id; `primero` keeps the earliest per key."""

    tabla: str
    llave: str
    columnas: tuple[tuple[str, str], ...]
    primero: bool = False
    indices: tuple[str, ...] = ()
    conteo: bool = False
    """Count the rows by municipality in `<tabla>_conteo`."""


@dataclass(frozen=True)
class Proyeccion:
    nombre: str
    version: int
    descripcion: str
    historias: tuple[Historia, ...] = ()
    puntos: tuple[TablaPuntos, ...] = ()

    def historia(self, tabla: str) -> Historia:
        return next(h for h in self.todas_las_historias() if h.tabla == tabla)

    def todas_las_historias(self) -> tuple[Historia, ...]:
        """The histories with facts and those derived from them."""
        return tuple(d for h in self.historias for d in h.con_derivadas())

    def puntos_de(self, tabla: str) -> TablaPuntos:
        return next(p for p in self.puntos if p.tabla == tabla)

    def tablas(self) -> list[str]:
        """Every table of a generation, for comparisons and documentation."""
        nombres = ["aplicado"]
        for h in self.historias:
            nombres += [h.tabla, f"{h.tabla}_hecho", f"{h.tabla}_actual"]
            nombres += [d.tabla for d in h.derivadas]
        for h in self.todas_las_historias():
            nombres += tablas_de_conteo(h.tabla) if h.conteo else []
        for p in self.puntos:
            nombres += [p.tabla, *(tablas_de_conteo(p.tabla) if p.conteo else [])]
        return nombres


# --- rows of each history ------------------------------------------------------------------


def _familia(e: Mapping[str, Any]) -> dict[str, Valores]:
    if "estado" not in e or "municipio" not in e:
        return {}  # a late fact arrived before the family's preselection: no row yet
    return {
        "": (
            e["estado"],
            e["municipio"],
            bool(e.get("desplazada")),
            e.get("registro"),
            e.get("nivel_sisben"),
            bool(e.get("vinculada")),
            e.get("cogestor_id"),
        )
    }


def _tablero(e: Mapping[str, Any]) -> dict[str, Valores]:
    municipio = e.get("municipio")
    if municipio is None:
        return {}
    return {logro: (estado, municipio) for logro, estado in e.get("logros", {}).items()}


TODOS = "*"
"""The group of every LB, in `familia_pendientes` (the others are the dimensions' codes)."""


@functools.cache
def _dimension_de() -> dict[str, str]:
    return {lb.codigo: lb.dimension for lb in catalogo().logros_basicos}


@functools.cache
def grupos_de_pendientes() -> dict[frozenset[str], str]:
    """Each group of `familia_pendientes` by the LB it covers: every LB, or a dimension's."""
    por_grupo: dict[str, set[str]] = {TODOS: set(_dimension_de())}
    for logro, dimension in _dimension_de().items():
        por_grupo.setdefault(dimension, set()).add(logro)
    return {frozenset(logros): grupo for grupo, logros in por_grupo.items()}


def _pendientes(e: Mapping[str, Any]) -> dict[str, Valores]:
    """The board's LB POR_ALCANZAR, over every LB and per dimension (of the LB on the board)."""
    municipio = e.get("municipio")
    if municipio is None:
        return {}
    dimension_de = _dimension_de()
    pendientes: dict[str, int] = {}
    for logro, estado in e.get("logros", {}).items():
        uno = int(estado == "POR_ALCANZAR")
        for grupo in (TODOS, dimension_de.get(logro)):
            if grupo is not None:
                pendientes[grupo] = pendientes.get(grupo, 0) + uno
    return {grupo: (n, municipio) for grupo, n in pendientes.items()}


def _cogestor(e: Mapping[str, Any]) -> dict[str, Valores]:
    if "operador" not in e:
        return {}
    valores = (e["operador"], e["microrregion"], e["capacidad"])
    return dict.fromkeys(e.get("municipios", ()), valores)


def _cupo(e: Mapping[str, Any]) -> dict[str, Valores]:
    if "estado" not in e:
        return {}
    valores = (e["estado"], e["programa_id"], e["entidad"], e["municipio"], e["periodo"])
    return dict.fromkeys(e.get("logros", ()), valores)


def _habilitados(e: Mapping[str, Any]) -> dict[str, Valores]:
    if "cupos" not in e:
        return {}
    valores = (e["programa_id"], e["entidad"], e["municipio"], e["periodo"], e["cupos"])
    return dict.fromkeys(e.get("logros", ()), valores)


TEXTO, ENTERO, LOGICO, MOMENTO, FECHA = "text", "integer", "boolean", "timestamptz", "date"

FAMILIAS = Proyeccion(
    "familias",
    1,
    "Each family's status in time (enrollment): preselected, vinculada, exits, displaced or "
    "SISBEN, cogestor",
    historias=(
        Historia(
            "familia_estado",
            "familia_id",
            None,
            (
                ("estado", TEXTO),
                ("municipio", TEXTO),
                ("desplazada", LOGICO),
                ("registro", TEXTO),
                ("nivel_sisben", ENTERO),
                ("vinculada", LOGICO),
                ("cogestor_id", TEXTO),
            ),
            _familia,
            conteo=("estado", "desplazada", "vinculada"),
        ),
    ),
)

LOGROS = Proyeccion(
    "logros",
    1,
    "Each family's board of 45 LB in time, its first baseline and first plan (accompaniment)",
    historias=(
        Historia(
            "familia_logro",
            "familia_id",
            "logro",
            (("estado", TEXTO), ("municipio", TEXTO)),
            _tablero,
            # one LB's statuses as of a cut, from the index alone: the per-LB indicators
            indices=("(logro, valid_to, valid_from) INCLUDE (estado, municipio, departamento)",),
            conteo=("logro", "estado"),
            derivadas=(
                Historia(
                    "familia_pendientes",
                    "familia_id",
                    "grupo",
                    (("pendientes", ENTERO), ("municipio", TEXTO)),
                    _pendientes,
                    conteo=("grupo", "pendientes"),
                ),
            ),
        ),
    ),
    puntos=(
        TablaPuntos(
            "linea_base",
            "familia_id",
            (("familia_id", TEXTO), ("municipio", TEXTO), ("t", MOMENTO)),
            primero=True,
            conteo=True,
        ),
        TablaPuntos(
            "plan",
            "familia_id",
            (("familia_id", TEXTO), ("municipio", TEXTO), ("t", MOMENTO)),
            primero=True,
            conteo=True,
        ),
    ),
)

OPERACION = Proyeccion(
    "operacion",
    1,
    "Field operation: cogestores and the municipalities they serve (enrollment), visits and "
    "community sessions (accompaniment)",
    historias=(
        Historia(
            "cogestor_municipio",
            "cogestor_id",
            "municipio",
            (("operador", TEXTO), ("microrregion", TEXTO), ("capacidad", ENTERO)),
            _cogestor,
        ),
    ),
    puntos=(
        TablaPuntos(
            "visita",
            "visita_id",
            (
                ("visita_id", TEXTO),
                ("familia_id", TEXTO),
                ("cogestor_id", TEXTO),
                ("municipio", TEXTO),
                ("fecha", FECHA),
                ("tipo", TEXTO),
                ("t", MOMENTO),
            ),
            indices=("familia_id, fecha", "cogestor_id, fecha"),
        ),
        TablaPuntos(
            "sesion",
            "sesion_id",
            (
                ("sesion_id", TEXTO),
                ("municipio", TEXTO),
                ("fecha", FECHA),
                ("tema_logro", TEXTO),
                ("familias", ENTERO),
                ("para_desplazados", LOGICO),
                ("t", MOMENTO),
            ),
        ),
    ),
)

OFERTA = Proyeccion(
    "oferta",
    1,
    "Offer: slots enabled per program, municipality, period and LB; slots assigned; services "
    "delivered",
    historias=(
        Historia(
            "cupos_habilitados",
            "clave",
            "logro",
            (
                ("programa_id", TEXTO),
                ("entidad", TEXTO),
                ("municipio", TEXTO),
                ("periodo", TEXTO),
                ("cupos", ENTERO),
            ),
            _habilitados,
        ),
        Historia(
            "cupo_logro",
            "cupo_id",
            "logro",
            (
                ("estado", TEXTO),
                ("programa_id", TEXTO),
                ("entidad", TEXTO),
                ("municipio", TEXTO),
                ("periodo", TEXTO),
            ),
            _cupo,
        ),
    ),
    puntos=(
        TablaPuntos(
            "servicio",
            "servicio_id",
            (
                ("servicio_id", TEXTO),
                ("programa_id", TEXTO),
                ("entidad", TEXTO),
                ("municipio", TEXTO),
                ("logros", "text[]"),
                ("fecha", FECHA),
                ("valor", "bigint"),
                ("t", MOMENTO),
            ),
        ),
    ),
)


def _condiciones(e: Mapping[str, Any]) -> dict[str, Valores]:
    return {cbt: tuple(v) for cbt, v in e.get("condiciones", {}).items()}


def _acciones(e: Mapping[str, Any]) -> dict[str, Valores]:
    version = e.get("version_plan")
    if version is None:
        return {}  # a follow-up arrived before its plan
    return {accion: (version, *v) for accion, v in e.get("acciones", {}).items()}


def _veeduria(e: Mapping[str, Any]) -> dict[str, Valores]:
    return {"": (e["estado"], e["categoria"], e["municipio"])} if "estado" in e else {}


TERRITORIAL = Proyeccion(
    "territorial",
    1,
    "Municipalities' territorial baseline (22 CBT), action plans and their follow-up, "
    "accountability sessions, participation spaces and veedurías (territorial)",
    historias=(
        Historia(
            "municipio_cbt",
            "municipio",
            "cbt",
            (("estado", TEXTO), ("dimension", TEXTO)),
            _condiciones,
        ),
        Historia(
            "accion_plan",
            "municipio",
            "accion_id",
            (("version_plan", ENTERO), ("cbt", TEXTO), ("estado", TEXTO), ("avance", ENTERO)),
            _acciones,
        ),
        Historia(
            "veeduria",
            "veeduria_id",
            None,
            (("estado", TEXTO), ("categoria", TEXTO), ("municipio", TEXTO)),
            _veeduria,
        ),
    ),
    puntos=(
        TablaPuntos(
            "rendicion",
            "rendicion_id",
            (
                ("rendicion_id", TEXTO),
                ("municipio", TEXTO),
                ("fecha", FECHA),
                ("nivel", TEXTO),
                ("asistentes", ENTERO),
                ("compromisos", ENTERO),
                ("t", MOMENTO),
            ),
        ),
        TablaPuntos(
            "espacio",
            "espacio_id",
            (
                ("espacio_id", TEXTO),
                ("municipio", TEXTO),
                ("fecha", FECHA),
                ("tipo", TEXTO),
                ("participantes", ENTERO),
                ("t", MOMENTO),
            ),
        ),
    ),
)

PROYECCIONES: dict[str, Proyeccion] = {
    p.nombre: p for p in (FAMILIAS, LOGROS, OPERACION, OFERTA, TERRITORIAL)
}

_ESQUEMA = re.compile(r"^rp_[a-z]+_\d+$")


def esquema(proyeccion: str, generacion: int) -> str:
    nombre = f"rp_{proyeccion}_{generacion}"
    assert _ESQUEMA.fullmatch(nombre), nombre
    return nombre


def generaciones(conn: Connection) -> list[tuple[str, str]]:
    """(projection, schema) of every generation schema that exists (for migrations)."""
    filas = conn.execute(
        text(
            "SELECT g.proyeccion, g.esquema FROM reporting_generacion g"
            " JOIN information_schema.schemata s ON s.schema_name = g.esquema"
        )
    )
    return [(p, validar_esquema(e)) for p, e in filas if p in PROYECCIONES]


def validar_esquema(nombre: str) -> str:
    """Schema names go into SQL text: only the ones this module makes are accepted."""
    if not _ESQUEMA.fullmatch(nombre):
        raise ValueError(f"not a projection schema: {nombre!r}")
    return nombre


def ddl(p: Proyeccion, s: str) -> list[str]:
    """The statements that create generation schema `s` of projection `p`, empty."""
    validar_esquema(s)
    sentencias = [
        f"CREATE SCHEMA {s}",
        f"CREATE TABLE {s}.aplicado (event_id text PRIMARY KEY, t timestamptz NOT NULL)",
        f"CREATE INDEX ON {s}.aplicado (t)",
        f"CREATE TABLE {s}.checkpoint (topic text, particion integer, siguiente bigint NOT NULL,"
        " PRIMARY KEY (topic, particion))",
    ]
    for h in p.todas_las_historias():
        sentencias += tabla_de_historia(h, s)
    for h in p.historias:
        sentencias += [
            f"CREATE TABLE {s}.{h.tabla}_hecho (clave text NOT NULL, t timestamptz NOT NULL,"
            " seq bigint GENERATED ALWAYS AS IDENTITY, cambio jsonb NOT NULL,"
            " PRIMARY KEY (clave, t, seq))",
            f"CREATE TABLE {s}.{h.tabla}_actual (clave text PRIMARY KEY, t timestamptz NOT NULL,"
            " estado jsonb NOT NULL)",
        ]
    for pt in p.puntos:
        columnas = ", ".join(
            f"{n} {t}" + (" PRIMARY KEY" if n == pt.llave else "") for n, t in pt.columnas
        )
        sentencias += [
            f"CREATE TABLE {s}.{pt.tabla} ({columnas},"
            " departamento text GENERATED ALWAYS AS (left(municipio, 2)) STORED)",
            f"CREATE INDEX ON {s}.{pt.tabla} (municipio, t)",
            *(f"CREATE INDEX ON {s}.{pt.tabla} ({i})" for i in pt.indices),
            *conteo_de_puntos(pt, s),
        ]
    return sentencias


def tabla_de_historia(h: Historia, s: str) -> list[str]:
    """The history's table, its indexes and its count table."""
    sub = [f"{h.sub} text NOT NULL"] if h.sub else []
    llave = ", ".join([h.clave, *([h.sub] if h.sub else []), "valid_from"])
    columnas = ", ".join(f"{n} {t}" for n, t in h.columnas)
    return [
        f"CREATE TABLE {s}.{h.tabla} ({h.clave} text NOT NULL, {', '.join([*sub, ''])}"
        f"valid_from timestamptz NOT NULL, valid_to timestamptz NOT NULL DEFAULT 'infinity',"
        f" {columnas}, departamento text GENERATED ALWAYS AS (left({h.municipio}, 2)) STORED,"
        f" PRIMARY KEY ({llave}), CHECK (valid_from < valid_to))",
        f"CREATE INDEX ON {s}.{h.tabla} ({h.municipio}, valid_from)",
        f"CREATE INDEX ON {s}.{h.tabla} (valid_to, valid_from)",
        *indices_extra(h, s),
        *conteo_de_historia(h, s),
    ]


FILLFACTOR_CONTEO = 50
"""Count tables are small and every statement updates many of their rows: half of each page is
left free for the new versions, so the updates stay on their page (HOT)."""

NIVELES_CONTEO = (("conteo", "municipio"), ("conteo_dpto", "departamento"))
"""The two count tables of a history or point table (suffix, territory column): by
municipality, for municipal reports; by department, for the nation's and departments' (a
national report of 45 LB sums 33 x 45 x 3 rows instead of 1,100 x 45 x 3)."""


def tablas_de_conteo(tabla: str) -> list[str]:
    return [f"{tabla}_{sufijo}" for sufijo, _ in NIVELES_CONTEO]


def conteo_de_historia(h: Historia, s: str) -> list[str]:
    """The count tables of `h`'s open rows and the triggers that keep them (idempotent)."""
    if not h.conteo:
        return []
    columnas = [(c, h.tipo(c)) for c in h.conteo]
    return _conteo(s, h.tabla, h.municipio, columnas, "valid_to = 'infinity'")


def conteo_de_puntos(pt: TablaPuntos, s: str) -> list[str]:
    """The count tables of a point table's rows and the triggers that keep them (idempotent)."""
    return _conteo(s, pt.tabla, "municipio", [], "true") if pt.conteo else []


def _por_nivel(municipio: str, columnas: Sequence[str]) -> list[tuple[str, str, str]]:
    """Per count table: its name suffix, its key columns, and the same read from the rows."""
    return [
        (
            sufijo,
            ", ".join([territorio, *columnas]),
            ", ".join(
                [
                    f"{municipio} AS municipio" if territorio == "municipio" else territorio,
                    *columnas,
                ]
            ),
        )
        for sufijo, territorio in NIVELES_CONTEO
    ]


def _conteo(
    s: str, tabla: str, municipio: str, columnas: list[tuple[str, str]], cuenta: str
) -> list[str]:
    """The count tables of the rows of `tabla` where `cuenta` holds, by municipality (and by
    department) and `columnas`, kept by one statement-level trigger per operation.

    The triggers see every row a statement changed at once (transition tables), so a COPY of
    20,000 rows costs one grouped upsert per table, not 20,000; keys are upserted in order, so
    concurrent writers lock them in the same order; keys that fall to zero are deleted, found by
    the upsert's own RETURNING (their row's ctid), so no index reads `n` and its updates are HOT
    (heap-only: no new index entry; `fillfactor` leaves them room on the page).
    """
    definicion = "".join(f"{c} {t}, " for c, t in columnas)
    niveles = _por_nivel(municipio, [c for c, _ in columnas])

    def delta(*fuentes: tuple[str, int]) -> str:
        sentencias = []
        for sufijo, nombres, origen in niveles:
            partes = " UNION ALL ".join(
                f"SELECT {origen}, {signo} AS d FROM {fuente} WHERE {cuenta}"
                for fuente, signo in fuentes
            )
            upsert = (
                f"INSERT INTO {s}.{tabla}_{sufijo} AS c ({nombres}, n)"
                f" SELECT {nombres}, sum(d) FROM ({partes}) x"
                f" GROUP BY {nombres} HAVING sum(d) <> 0 ORDER BY {nombres}"
                f" ON CONFLICT ON CONSTRAINT {tabla}_{sufijo}_clave"
                " DO UPDATE SET n = c.n + EXCLUDED.n"
            )
            if all(signo > 0 for _, signo in fuentes):  # counts only grow: no zero to delete
                sentencias.append(f"{upsert};")
                continue
            sentencias.append(
                f"WITH cambiadas AS ({upsert} RETURNING c.ctid AS fila, c.n)"
                " SELECT array_agg(fila) INTO ceros FROM cambiadas WHERE n = 0;"
                f" DELETE FROM {s}.{tabla}_{sufijo} WHERE ctid = ANY(ceros);"
            )
        return " ".join(sentencias)

    funcion = f"{s}.{tabla}_contar"
    disparadores = (
        ("ins", "INSERT", "NEW TABLE AS nuevas"),
        ("upd", "UPDATE", "OLD TABLE AS viejas NEW TABLE AS nuevas"),
        ("del", "DELETE", "OLD TABLE AS viejas"),
    )
    tablas = [
        f"CREATE TABLE IF NOT EXISTS {s}.{tabla}_conteo (municipio text, {definicion}"
        "n bigint NOT NULL, departamento text GENERATED ALWAYS AS (left(municipio, 2)) STORED,"
        f" CONSTRAINT {tabla}_conteo_clave UNIQUE NULLS NOT DISTINCT ({niveles[0][1]}))"
        f" WITH (fillfactor = {FILLFACTOR_CONTEO})",
        f"CREATE TABLE IF NOT EXISTS {s}.{tabla}_conteo_dpto (departamento text, {definicion}"
        f"n bigint NOT NULL, CONSTRAINT {tabla}_conteo_dpto_clave"
        f" UNIQUE NULLS NOT DISTINCT ({niveles[1][1]})) WITH (fillfactor = {FILLFACTOR_CONTEO})",
    ]
    return [
        *tablas,
        # a table holds exactly the counts of the rows there are (what a rebuild would give):
        # the keys whose count fell to zero are deleted by the statement that zeroed them
        f"CREATE OR REPLACE FUNCTION {funcion}() RETURNS trigger LANGUAGE plpgsql AS $f$"
        f" DECLARE ceros tid[]; BEGIN"
        f" IF TG_OP = 'INSERT' THEN {delta(('nuevas', 1))}"
        f" ELSIF TG_OP = 'UPDATE' THEN {delta(('nuevas', 1), ('viejas', -1))}"
        f" ELSE {delta(('viejas', -1))} END IF; RETURN NULL; END $f$",
        *(
            f"CREATE OR REPLACE TRIGGER {tabla}_contar_{sufijo} AFTER {operacion} ON {s}.{tabla}"
            f" REFERENCING {transicion} FOR EACH STATEMENT EXECUTE FUNCTION {funcion}()"
            for sufijo, operacion, transicion in disparadores
        ),
    ]


def llenar_conteo_de_historia(h: Historia, s: str) -> list[str]:
    """Count the open rows already there (a migration adding the count tables)."""
    return _llenar(s, h.tabla, h.municipio, h.conteo, "valid_to = 'infinity'")


def llenar_conteo_de_puntos(pt: TablaPuntos, s: str) -> list[str]:
    return _llenar(s, pt.tabla, "municipio", (), "true")


def _llenar(s: str, tabla: str, municipio: str, columnas: Sequence[str], cuenta: str) -> list[str]:
    return [
        f"INSERT INTO {s}.{tabla}_{sufijo} ({nombres}, n) SELECT {nombres}, count(*) FROM"
        f" (SELECT {origen} FROM {s}.{tabla} WHERE {cuenta}) x GROUP BY {nombres}"
        for sufijo, nombres, origen in _por_nivel(municipio, columnas)
    ]


def indices_extra(h: Historia, s: str) -> list[str]:
    """The history's extra indexes in schema `s` (idempotent: a migration adds them to the
    generations that existed before them)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {h.tabla}_x{n} ON {s}.{h.tabla} {definicion}"
        for n, definicion in enumerate(h.indices)
    ]


PUNTERO_DDL = [
    "CREATE TABLE reporting_generacion (proyeccion text NOT NULL, generacion integer NOT NULL,"
    " esquema text NOT NULL UNIQUE, version integer NOT NULL, estado text NOT NULL"
    " CHECK (estado IN ('CONSTRUYENDO', 'ACTIVA', 'RETIRADA', 'ABANDONADA')),"
    " creada timestamptz NOT NULL DEFAULT now(), activada timestamptz, retirada timestamptz,"
    " PRIMARY KEY (proyeccion, generacion))",
    "CREATE TABLE reporting_proyeccion (proyeccion text PRIMARY KEY, generacion integer NOT NULL,"
    " esquema text NOT NULL, activada timestamptz NOT NULL DEFAULT now())",
]
"""The pointer to each projection's live generation, and the log of generations."""


def primera_generacion(p: Proyeccion) -> list[str]:
    """Generation 1, live from the start (used by the migrations)."""
    s = esquema(p.nombre, 1)
    return [
        *ddl(p, s),
        "INSERT INTO reporting_generacion (proyeccion, generacion, esquema, version, estado,"
        f" activada) VALUES ('{p.nombre}', 1, '{s}', {p.version}, 'ACTIVA', now())",
        "INSERT INTO reporting_proyeccion (proyeccion, generacion, esquema)"
        f" VALUES ('{p.nombre}', 1, '{s}')",
    ]
