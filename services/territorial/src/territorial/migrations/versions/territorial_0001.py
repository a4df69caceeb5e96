"""Territorial's own tables: read models of the LBT, the capacity map and its inputs, listings.

Revision ID: territorial_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "territorial_0001"
down_revision = None
branch_labels = ("territorial",)
depends_on = "events_0001"

TS = sa.DateTime(timezone=True)


def _orden() -> sa.Column:
    """Insertion order, the keyset of listings (newest first)."""
    return sa.Column("orden", sa.BigInteger, sa.Identity(always=False), nullable=False, unique=True)


def upgrade() -> None:
    # The current rating of each CBT (the capacity map reads it); history stays in the stream.
    op.create_table(
        "lbt_condiciones",
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("cbt", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, nullable=False),
        sa.Column("estado", sa.Text, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    # Demand: each family's latest board (pending LB), and counters per LB and per dimension.
    op.create_table(
        "demanda_familias",
        sa.Column("familia_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("pendientes", ARRAY(sa.Text), nullable=False),
        sa.Column("evento_en", TS, nullable=False),
    )
    op.create_table(
        "demanda_logros",
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("logro", sa.Text, primary_key=True),
        sa.Column("familias", sa.Integer, nullable=False),
    )
    op.create_table(
        "demanda_dimensiones",
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("familias", sa.Integer, nullable=False),
    )
    # Supply: the latest slots of each program per municipality and period.
    op.create_table(
        "oferta_cupos",
        sa.Column("programa_id", sa.Text, primary_key=True),
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("periodo", sa.Text, primary_key=True),
        sa.Column("entidad", sa.Text, nullable=False),
        sa.Column("logros", ARRAY(sa.Text), nullable=False),
        sa.Column("cupos", sa.Integer, nullable=False),
        sa.Column("evento_en", TS, nullable=False),
    )
    op.create_index("oferta_cupos_municipio", "oferta_cupos", ["municipio", "programa_id"])
    op.create_table(
        "mapa_capacidades",
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("dimension", sa.Text, primary_key=True),
        sa.Column("capacidad", sa.Float),
        sa.Column("condiciones", sa.Integer, nullable=False),
        sa.Column("demanda", sa.Integer, nullable=False),
        sa.Column("oferta", sa.Integer, nullable=False),
        sa.Column("cobertura", sa.Float),
        sa.Column("brecha", sa.Integer, nullable=False),
        sa.Column("clasificacion", sa.Text, nullable=False),
        sa.Column("recalculado", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index(
        "mapa_capacidades_dimension", "mapa_capacidades", ["dimension", "clasificacion"]
    )
    op.create_table(
        "microrregiones",
        sa.Column("microrregion_id", sa.Text, primary_key=True),
        sa.Column("denominacion", sa.Text, nullable=False),
        sa.Column("operador_id", sa.Text, nullable=False),
        sa.Column("municipios", ARRAY(sa.Text), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    # One operator per municipality: the primary key refuses a second microregion.
    op.create_table(
        "microrregion_municipios",
        sa.Column("municipio", sa.Text, primary_key=True),
        sa.Column("microrregion_id", sa.Text, nullable=False, index=True),
    )
    op.create_table(
        "rendiciones",
        sa.Column("rendicion_id", sa.Text, primary_key=True),
        _orden(),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("nivel", sa.Text, nullable=False),
        sa.Column("asistentes", sa.Integer, nullable=False),
        sa.Column("compromisos", sa.Integer, nullable=False),
        sa.Column("cerrados", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("rendiciones_municipio", "rendiciones", ["municipio", "orden"])
    op.create_table(
        "espacios_participacion",
        sa.Column("espacio_id", sa.Text, primary_key=True),
        _orden(),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("tipo", sa.Text, nullable=False),
        sa.Column("fecha", sa.Date, nullable=False),
        sa.Column("participantes", sa.Integer, nullable=False),
    )
    op.create_index("espacios_municipio", "espacios_participacion", ["municipio", "orden"])
    op.create_table(
        "veedurias",
        sa.Column("veeduria_id", sa.Text, primary_key=True),
        _orden(),
        sa.Column("municipio", sa.Text, nullable=False),
        sa.Column("categoria", sa.Text, nullable=False),
        sa.Column("estado", sa.Text, nullable=False),
        sa.Column("recibida", sa.Date, nullable=False),
        sa.Column("actualizada", sa.Date, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("veedurias_municipio", "veedurias", ["municipio", "orden"])


def downgrade() -> None:
    for table in (
        "veedurias",
        "espacios_participacion",
        "rendiciones",
        "microrregion_municipios",
        "microrregiones",
        "mapa_capacidades",
        "oferta_cupos",
        "demanda_dimensiones",
        "demanda_logros",
        "demanda_familias",
        "lbt_condiciones",
    ):
        op.drop_table(table)
