"""Reporting's projections: the generation pointer and generation 1 of each projection.

Revision ID: reporting_0001
Revises:
Create Date: 2026-12-01
"""

from alembic import op
from reporting.proyecciones import PROYECCIONES, PUNTERO_DDL, primera_generacion

revision = "reporting_0001"
down_revision = None
branch_labels = ("reporting",)
depends_on = "events_0001"

INICIALES = ("familias", "logros", "operacion", "oferta")
"""The projections of this revision (a later projection gets its generation 1 in its own)."""


def upgrade() -> None:
    for sentencia in PUNTERO_DDL:
        op.execute(sentencia)
    for nombre in INICIALES:
        for sentencia in primera_generacion(PROYECCIONES[nombre]):
            op.execute(sentencia)


def downgrade() -> None:
    op.execute(
        "DO $$ DECLARE s text; BEGIN FOR s IN SELECT esquema FROM reporting_generacion LOOP"
        " EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', s); END LOOP; END $$"
    )
    op.drop_table("reporting_proyeccion")
    op.drop_table("reporting_generacion")
