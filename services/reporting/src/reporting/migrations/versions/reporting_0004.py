"""Current counts (`<table>_conteo` and their triggers) and the derived history
`familia_pendientes`, on the generations created before them.

New generations get them from `proyecciones.ddl`. Here, for every generation schema that exists
(live, retired or half-built) and lacks them: the count tables are created and filled from the
rows already there, and `familia_pendientes` is folded from the boards' stored facts (its count
table fills itself through its triggers as the rows go in). So no rebuild is needed.

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op
from reporting import domain
from reporting.handlers import json_de
from reporting.proyecciones import (
    PROYECCIONES,
    Historia,
    conteo_de_historia,
    conteo_de_puntos,
    generaciones,
    llenar_conteo_de_historia,
    llenar_conteo_de_puntos,
    tabla_de_historia,
    tablas_de_conteo,
)
from sqlalchemy import Connection, text

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None

ENTIDADES = 2_000
"""Entities folded per round trip."""


def _existe(conn: Connection, esquema: str, tabla: str) -> bool:
    return conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{esquema}.{tabla}"})


def _plegar(conn: Connection, esquema: str, h: Historia, d: Historia) -> None:
    """Fold derived history `d` of every entity of `h` from the stored facts."""
    sub = [d.sub] if d.sub else []
    columnas = [d.clave, *sub, "valid_from", "valid_to", *d.nombres]
    valores = [
        f"coalesce(CAST(:c{i} AS timestamptz), 'infinity')" if c == "valid_to" else f":c{i}"
        for i, c in enumerate(columnas)
    ]
    insertar = text(
        f"INSERT INTO {esquema}.{d.tabla} ({', '.join(columnas)}) VALUES ({', '.join(valores)})"
    )
    ultima = ""
    while True:
        claves: Sequence[str] = conn.scalars(
            text(
                f"SELECT clave FROM {esquema}.{h.tabla}_actual WHERE clave > :c"
                " ORDER BY clave LIMIT :n"
            ),
            {"c": ultima, "n": ENTIDADES},
        ).all()
        if not claves:
            return
        hechos: dict[str, list] = {}
        for clave, t, cambio in conn.execute(
            text(
                f"SELECT clave, t, cambio FROM {esquema}.{h.tabla}_hecho"
                " WHERE clave = ANY(:claves) ORDER BY clave, t, seq"
            ),
            {"claves": list(claves)},
        ):
            hechos.setdefault(clave, []).append((t, json_de(cambio)))
        filas = []
        for clave, suyos in hechos.items():
            for tramo in domain.tramos(suyos, d.filas):
                fila = [clave, *([tramo.sub] if d.sub else []), tramo.desde]
                fila += [tramo.hasta, *tramo.valores]  # None: still valid
                filas.append({f"c{i}": v for i, v in enumerate(fila)})
        if filas:
            conn.execute(insertar, filas)
        ultima = claves[-1]


def upgrade() -> None:
    conn = op.get_bind()
    for proyeccion, esquema in generaciones(conn):
        p = PROYECCIONES[proyeccion]
        for h in p.historias:
            for d in h.derivadas:
                if not _existe(conn, esquema, d.tabla):
                    for sentencia in tabla_de_historia(d, esquema):
                        op.execute(sentencia)
                    _plegar(conn, esquema, h, d)
        for h in p.todas_las_historias():
            if h.conteo and not _existe(conn, esquema, f"{h.tabla}_conteo"):
                for sentencia in conteo_de_historia(h, esquema):
                    op.execute(sentencia)
                for sentencia in llenar_conteo_de_historia(h, esquema):
                    op.execute(sentencia)
        for pt in p.puntos:
            if pt.conteo and not _existe(conn, esquema, f"{pt.tabla}_conteo"):
                for sentencia in conteo_de_puntos(pt, esquema):
                    op.execute(sentencia)
                for sentencia in llenar_conteo_de_puntos(pt, esquema):
                    op.execute(sentencia)


def downgrade() -> None:
    conn = op.get_bind()
    for proyeccion, esquema in generaciones(conn):
        p = PROYECCIONES[proyeccion]
        for tabla in [
            *(h.tabla for h in p.todas_las_historias() if h.conteo),
            *(pt.tabla for pt in p.puntos if pt.conteo),
        ]:
            for conteo in tablas_de_conteo(tabla):
                op.execute(f"DROP TABLE IF EXISTS {esquema}.{conteo}")
            op.execute(f"DROP FUNCTION IF EXISTS {esquema}.{tabla}_contar() CASCADE")
        for h in p.historias:
            for d in h.derivadas:
                op.execute(f"DROP TABLE IF EXISTS {esquema}.{d.tabla}")
