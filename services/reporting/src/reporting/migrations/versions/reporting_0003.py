"""The histories' extra indexes (`Historia.indices`) on the generations created before them.

New generations get them from `proyecciones.ddl`; this adds them to every generation schema
that exists (live, retired or half-built), so no rebuild is needed for an index.

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-12-03
"""

from alembic import op
from reporting.proyecciones import PROYECCIONES, generaciones, indices_extra

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for proyeccion, esquema in generaciones(op.get_bind()):
        for h in PROYECCIONES[proyeccion].historias:
            for sentencia in indices_extra(h, esquema):
                op.execute(sentencia)


def downgrade() -> None:
    for proyeccion, esquema in generaciones(op.get_bind()):
        for h in PROYECCIONES[proyeccion].historias:
            for n in range(len(h.indices)):
                op.execute(f"DROP INDEX IF EXISTS {esquema}.{h.tabla}_x{n}")
