"""documents: the outgoing register records documents sent on paper

Revision ID: 0010
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_document") as batch:
        batch.add_column(
            sa.Column("paper", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_document") as batch:
        batch.drop_column("paper")
