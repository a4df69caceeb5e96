"""Offer's own tables: programs and slots (read models), what it knows from others' events
(roster, boards, demand, plans), the demand-supply balance, deliveries and RUAF imports.

Revision ID: offer_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "offer_0001"
down_revision = None
branch_labels = ("offer",)
depends_on = "events_0001"

TS = sa.DateTime(timezone=True)
TEXTOS = ARRAY(sa.Text)


def upgrade() -> None:
    # --- read models of offer's own streams ---------------------------------------------------
    op.create_table(
        "programas",
        sa.Column("programa_id", sa.Text, primary_key=True),
        sa.Column("entidad", sa.Text, nullable=False),
        sa.Column("titulo", sa.Text, nullable=False),
        sa.Column("nivel", sa.Text, nullable=False),
        sa.Column("alcance", sa.Text, nullable=False),
        sa.Column("logros", TEXTOS, nullable=False),
        sa.Column("dimensiones", TEXTOS, nullable=False),
        sa.Column("elegibilidad", JSONB, nullable=False),
        sa.Column("municipios", TEXTOS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("programas_entidad", "programas", ["entidad", "programa_id"])
    op.create_index("programas_municipios", "programas", ["municipios"], postgresql_using="gin")
    op.create_table(
        "calidad",
        sa.Column("programa_id", sa.Text, primary_key=True),
        sa.Column("periodo", sa.Text, primary_key=True),
        sa.Column("cumplimiento", sa.Integer, nullable=False),
    )
    op.create_table(
        "cupos",
        sa.Column("programa_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("periodo", sa.Text, primary_key=True),
        sa.Column("entidad", sa.Text, nullable=False),
        sa.Column("capacidad", sa.Integer, nullable=False),
        sa.Column("asignados", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("cupos_municipio", "cupos", ["municipio", "programa_id"])
    op.create_table(
        "asignaciones",
        sa.Column("cupo_id", sa.Text, primary_key=True),
        sa.Column("programa_id", sa.Text, nullable=False),
        sa.Column("entidad", sa.Text, nullable=False),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("periodo", sa.Text, nullable=False),
        sa.Column("familia_id", sa.Text, nullable=False),
        sa.Column("integrante_id", sa.Text),
        sa.Column("logros", TEXTOS, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("pendiente_desde", sa.Date),
        sa.Column("estado", sa.Text, nullable=False),
        sa.Column("motivo", sa.Text),
        sa.Column("liberado", sa.Date),
    )
    op.create_index("asignaciones_familia", "asignaciones", ["familia_id", "estado"])
    op.create_index(
        "asignaciones_stream", "asignaciones", ["programa_id", "municipio", "periodo", "cupo_id"]
    )
    op.create_index("asignaciones_municipio", "asignaciones", ["municipio", "programa_id"])
    op.create_table(
        "servicios",
        sa.Column("servicio_id", sa.Text, primary_key=True),
        sa.Column("programa_id", sa.Text, nullable=False),
        sa.Column("entidad", sa.Text, nullable=False),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("familia_id", sa.Text, nullable=False),
        sa.Column("integrante_id", sa.Text),
        sa.Column("logros", TEXTOS, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("valor", sa.BigInteger, nullable=False),
    )
    op.create_index("servicios_municipio", "servicios", ["municipio", "programa_id"])
    # --- what offer knows from enrollment (pseudonymous roster) ---------------------------------
    op.create_table(
        "familias",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text),
        sa.Column("desplazada", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("activa", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "integrantes",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("integrante_id", sa.Text, primary_key=True),
        sa.Column("fecha_nacimiento", sa.Date, nullable=False),
        sa.Column("sexo", sa.Text, nullable=False),
        sa.Column("discapacidad", sa.Boolean, nullable=False),
        sa.Column("gestante", sa.Boolean, nullable=False),
    )
    # --- what offer knows from accompaniment ----------------------------------------------------
    op.create_table(
        "tableros",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("recibido", TS, nullable=False),
    )
    op.create_table(
        "demanda",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("logro", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("integrantes", TEXTOS, nullable=False),
        sa.Column("desde", sa.Date, nullable=False),
    )
    op.create_index("demanda_municipio", "demanda", ["municipio", "logro", "familia_id"])
    op.create_table(
        "alcanzados",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("logro", sa.Text, primary_key=True),
        sa.Column("fecha", sa.Date, nullable=False),
    )
    op.create_table(
        "planes",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
    )
    op.create_table(
        "prioridades",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("logro", sa.Text, primary_key=True),
        sa.Column("orden", sa.Integer, nullable=False),
    )
    # --- demand against supply, per municipality and LB ----------------------------------------
    op.create_table(
        "balance",
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("logro", sa.Text, primary_key=True),
        sa.Column("demanda", sa.Integer, nullable=False),
        sa.Column("cupos", sa.Integer, nullable=False),
        sa.Column("insatisfecha", sa.Boolean, nullable=False),
    )
    # --- RUAF imports: summaries and rejected lines (never a document number) ------------------
    op.create_table(
        "importaciones_ruaf",
        sa.Column("importacion_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("entidad", sa.Text),
        sa.Column("resumen", JSONB, nullable=False),
        sa.Column("creada", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "ruaf_rechazos",
        sa.Column("importacion_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("linea", sa.Integer, primary_key=True),
        sa.Column("motivo", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "ruaf_rechazos",
        "importaciones_ruaf",
        "balance",
        "prioridades",
        "planes",
        "alcanzados",
        "demanda",
        "tableros",
        "integrantes",
        "familias",
        "servicios",
        "asignaciones",
        "cupos",
        "calidad",
        "programas",
    ):
        op.drop_table(table)
