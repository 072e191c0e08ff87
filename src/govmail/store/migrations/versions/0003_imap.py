"""imap: cached wire forms of messages, the \\Recent marker, shared-folder unsubscriptions

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A listing FETCH reads this index alone, not the wide message rows.
    op.create_index(
        "ix_message_imap_listing",
        "message",
        [
            "folder_id",
            "uid",
            "modseq",
            "seen",
            "answered",
            "flagged",
            "deleted",
            "draft",
            "keywords",
            "internal_date",
            "size",
            "blob_id",
        ],
    )
    op.create_table(
        "imap_message_cache",
        sa.Column("message_id", _PK, nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("bodystructure", sa.LargeBinary(), nullable=True),
        sa.Column("header", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_imap_message_cache_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_imap_message_cache")),
    )
    with op.batch_alter_table("folder") as batch:
        batch.add_column(
            sa.Column("imap_recent_uid", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "imap_shared_unsubscription",
        sa.Column("id", _PK, nullable=False),
        sa.Column("person_mailbox_id", _PK, nullable=False),
        sa.Column("folder_id", _PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_mailbox_id"],
            ["mailbox.id"],
            name=op.f("fk_imap_shared_unsubscription_person_mailbox_id_mailbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folder.id"],
            name=op.f("fk_imap_shared_unsubscription_folder_id_folder"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_shared_unsubscription")),
        sa.UniqueConstraint(
            "person_mailbox_id",
            "folder_id",
            name=op.f("uq_imap_shared_unsubscription_person_mailbox_id"),
        ),
    )
    op.create_index(
        op.f("ix_imap_shared_unsubscription_person_mailbox_id"),
        "imap_shared_unsubscription",
        ["person_mailbox_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_imap_shared_unsubscription_person_mailbox_id"),
        table_name="imap_shared_unsubscription",
    )
    op.drop_table("imap_shared_unsubscription")
    with op.batch_alter_table("folder") as batch:
        batch.drop_column("imap_recent_uid")
    op.drop_table("imap_message_cache")
    op.drop_index("ix_message_imap_listing", table_name="message")
