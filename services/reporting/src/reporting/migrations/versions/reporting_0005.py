"""HOT updates of the count tables, on the generations created before them.

Their zero keys were found through a partial index on `n`, so no update of a count could stay
on its page (an indexed column changed); the trigger now deletes them by the ctid its upsert
returns. Here, for every generation schema that exists: the partial index goes, the count tables
leave half of each new page free, and the trigger function is replaced (the same statements a
new generation runs, all idempotent). Nothing is rebuilt; the counts do not change.

Revision ID: reporting_0005
Revises: reporting_0004
Create Date: 2026-12-05
"""

from collections.abc import Iterator

from alembic import op
from reporting.proyecciones import (
    FILLFACTOR_CONTEO,
    PROYECCIONES,
    conteo_de_historia,
    conteo_de_puntos,
    generaciones,
    tablas_de_conteo,
)

revision = "reporting_0005"
down_revision = "reporting_0004"
branch_labels = None
depends_on = None


def _conteos() -> Iterator[tuple[str, list[str], list[str]]]:
    """(schema, its count tables, the statements that make them and their trigger) of every
    counted table of every generation."""
    for proyeccion, esquema in generaciones(op.get_bind()):
        p = PROYECCIONES[proyeccion]
        for h in p.todas_las_historias():
            if h.conteo:
                yield esquema, tablas_de_conteo(h.tabla), conteo_de_historia(h, esquema)
        for pt in p.puntos:
            if pt.conteo:
                yield esquema, tablas_de_conteo(pt.tabla), conteo_de_puntos(pt, esquema)


def upgrade() -> None:
    for esquema, conteos, sentencias in _conteos():
        for conteo in conteos:
            op.execute(f"DROP INDEX IF EXISTS {esquema}.{conteo}_cero")
            op.execute(
                f"ALTER TABLE IF EXISTS {esquema}.{conteo} SET (fillfactor = {FILLFACTOR_CONTEO})"
            )
        for sentencia in sentencias:
            op.execute(sentencia)


def downgrade() -> None:
    """The index back (the new trigger works with it too, only without HOT updates)."""
    for esquema, conteos, _ in _conteos():
        for conteo in conteos:
            op.execute(f"ALTER TABLE IF EXISTS {esquema}.{conteo} RESET (fillfactor)")
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {conteo}_cero ON {esquema}.{conteo} (n) WHERE n = 0"
            )
