"""Accompaniment's own tables: the roster learnt from enrollment, case summaries, sessions.

Revision ID: accompaniment_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "accompaniment_0001"
down_revision = None
branch_labels = ("accompaniment",)
depends_on = "events_0001"


def upgrade() -> None:
    op.create_table(
        "familias",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("desplazada", sa.Boolean, nullable=False),
        sa.Column("estado_inscripcion", sa.Text, nullable=False),
        sa.Column("cogestor_id", sa.Text),
        sa.Column("fecha_vinculacion", sa.Date),
        sa.Column("caso_abierto", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("caso_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("linea_base", sa.Date),
        sa.Column("plan_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pendientes", sa.Integer),
        sa.Column("ultima_visita", sa.Date),
    )
    op.create_index("familias_municipio", "familias", ["municipio", "familia_id"])
    op.create_index("familias_cogestor", "familias", ["cogestor_id", "familia_id"])
    op.create_table(
        "integrantes",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("integrante_id", sa.Text, primary_key=True),
        sa.Column("fecha_nacimiento", sa.Date, nullable=False),
        sa.Column("sexo", sa.Text, nullable=False),
        sa.Column("parentesco", sa.Text, nullable=False),
        sa.Column("discapacidad", sa.Boolean, nullable=False),
        sa.Column("gestante", sa.Boolean, nullable=False),
        sa.Column("activo", sa.Boolean, nullable=False),
    )
    op.create_table(
        "sesiones",
        sa.Column("sesion_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("tema_logro", sa.Text),
        sa.Column("tema_dimension", sa.Text),
        sa.Column("familias", sa.Integer, nullable=False),
        sa.Column("para_desplazados", sa.Boolean, nullable=False),
        sa.Column("cogestor_id", sa.Text, nullable=False),
    )
    op.create_index("sesiones_municipio", "sesiones", ["municipio", "fecha"])


def downgrade() -> None:
    for table in ("sesiones", "integrantes", "familias"):
        op.drop_table(table)
