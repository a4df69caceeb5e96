"""Partner systems' OAuth2 clients: who they are and the Argon2id hash of their secret.

The hash lives only here (never in an event), written in the transaction of the client's
ClienteRegistrado; ClienteRevocado sets `revocado`.

Revision ID: offer_0002
Revises: offer_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "offer_0002"
down_revision = "offer_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clientes_api",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("entidad", sa.Text, nullable=False),
        sa.Column("descripcion", sa.Text, nullable=False),
        sa.Column("secreto_hash", sa.Text, nullable=False),
        sa.Column("revocado", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("clientes_api_entidad", "clientes_api", ["entidad", "client_id"])


def downgrade() -> None:
    op.drop_table("clientes_api")
