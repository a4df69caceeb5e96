"""Enrollment's own tables: keys, document index, read models, audit log, imports.

Revision ID: enrollment_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "enrollment_0001"
down_revision = None
branch_labels = ("enrollment",)
depends_on = "events_0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "llaves_familia",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("llave", sa.LargeBinary),  # NULL once erased (crypto-shredding)
        sa.Column("eliminada_en", TS),
    )
    op.create_table(
        "documentos",
        sa.Column("huella", sa.LargeBinary, primary_key=True),
        sa.Column("familia_id", sa.Text, nullable=False, index=True),
        sa.Column("integrante_id", sa.Text, nullable=False),
    )
    op.create_table(
        "hogares_registro",
        sa.Column("registro", sa.Text, primary_key=True),
        sa.Column("hogar", sa.Text, primary_key=True),
        sa.Column("familia_id", sa.Text, nullable=False, index=True),
    )
    op.create_table(
        "familias",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("estado", sa.Text, nullable=False),
        sa.Column("desplazada", sa.Boolean, nullable=False),
        sa.Column("registros", ARRAY(sa.Text), nullable=False),
        sa.Column("integrantes", sa.Integer, nullable=False),
        sa.Column("cogestor_id", sa.Text),
        sa.Column("fecha_vinculacion", sa.Date),
        sa.Column("fecha_limite", sa.Date),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("actualizada", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("familias_municipio", "familias", ["municipio", "familia_id"])
    op.create_index("familias_cogestor", "familias", ["cogestor_id", "familia_id"])
    op.create_index(
        "familias_limite",
        "familias",
        ["fecha_limite"],
        postgresql_where=sa.text("estado = 'VINCULADA'"),
    )
    op.create_table(
        "cogestores",
        sa.Column("cogestor_id", sa.Text, primary_key=True),
        sa.Column("operador", sa.Text, nullable=False),
        sa.Column("microrregion", sa.Text, nullable=False),
        sa.Column("municipios", ARRAY(sa.Text), nullable=False),
        sa.Column("capacidad", sa.Integer, nullable=False),
        sa.Column("carga", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "auditoria",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        sa.Column("en", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("rol", sa.Text, nullable=False),
        sa.Column("accion", sa.Text, nullable=False),
        sa.Column("familia_id", sa.Text),
        sa.Column("detalle", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("auditoria_familia", "auditoria", ["familia_id", "id"])
    op.create_table(
        "importaciones",
        sa.Column("importacion_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("registro", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("estado", sa.Text, nullable=False),
        sa.Column("huella_archivo", sa.Text),
        sa.Column("resumen", JSONB, nullable=False, server_default="{}"),
        sa.Column("iniciada", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("terminada", TS),
    )
    op.create_table(
        "importacion_rechazos",
        sa.Column("importacion_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("linea", sa.Integer, primary_key=True),
        sa.Column("hogar", sa.Text),
        sa.Column("motivo", sa.Text, nullable=False),
    )
    # Staging of the rows of an import in progress; emptied when the import ends.
    op.execute(
        "CREATE UNLOGGED TABLE importacion_filas ("
        " importacion_id uuid NOT NULL, linea integer NOT NULL, hogar text NOT NULL,"
        " huella bytea NOT NULL, fila jsonb NOT NULL, PRIMARY KEY (importacion_id, linea))"
    )
    op.create_index("importacion_filas_hogar", "importacion_filas", ["importacion_id", "hogar"])


def downgrade() -> None:
    for table in (
        "importacion_filas",
        "importacion_rechazos",
        "importaciones",
        "auditoria",
        "cogestores",
        "familias",
        "hogares_registro",
        "documentos",
        "llaves_familia",
    ):
        op.drop_table(table)
