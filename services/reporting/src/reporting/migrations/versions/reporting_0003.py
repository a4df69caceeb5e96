"""The histories' extra indexes (`Historia.indices`) on the generations created before them.

New generations get them from `proyecciones.ddl`; this adds them to every generation schema
that exists (live, retired or half-built), so no rebuild is needed for an index.

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-12-03
"""

from alembic import op
from reporting.proyecciones import PROYECCIONES, indices_extra, validar_esquema
from sqlalchemy import text

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None


def _generaciones() -> list[tuple[str, str]]:
    filas = op.get_bind().execute(
        text(
            "SELECT g.proyeccion, g.esquema FROM reporting_generacion g"
            " JOIN information_schema.schemata s ON s.schema_name = g.esquema"
        )
    )
    return [(p, validar_esquema(e)) for p, e in filas if p in PROYECCIONES]


def upgrade() -> None:
    for proyeccion, esquema in _generaciones():
        for h in PROYECCIONES[proyeccion].historias:
            for sentencia in indices_extra(h, esquema):
                op.execute(sentencia)


def downgrade() -> None:
    for proyeccion, esquema in _generaciones():
        for h in PROYECCIONES[proyeccion].historias:
            for n in range(len(h.indices)):
                op.execute(f"DROP INDEX IF EXISTS {esquema}.{h.tabla}_x{n}")
