"""Reporting's territorial projection (CBT, action plans, social control): its generation 1.

Revision ID: reporting_0002
Revises: reporting_0001
Create Date: 2026-12-02
"""

from alembic import op
from reporting.proyecciones import PROYECCIONES, primera_generacion

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for sentencia in primera_generacion(PROYECCIONES["territorial"]):
        op.execute(sentencia)


def downgrade() -> None:
    op.execute(
        "DO $$ DECLARE s text; BEGIN FOR s IN SELECT esquema FROM reporting_generacion"
        " WHERE proyeccion = 'territorial' LOOP"
        " EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', s); END LOOP; END $$"
    )
    op.execute("DELETE FROM reporting_proyeccion WHERE proyeccion = 'territorial'")
    op.execute("DELETE FROM reporting_generacion WHERE proyeccion = 'territorial'")
