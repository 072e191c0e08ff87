"""operations: Bayes classifier, allow/block lists, attachment policies, backup runs,
archive journal and legal holds, IMAP migration progress

Revision ID: 0009
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bayes_token",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("spam", sa.Integer(), nullable=False),
        sa.Column("ham", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_bayes_token")),
    )
    op.create_table(
        "bayes_message",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("trained_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_bayes_message")),
    )
    with op.batch_alter_table("bayes_message") as b:
        b.create_index(b.f("ix_bayes_message_label"), ["label"])

    op.create_table(
        "spam_list",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("pattern", sa.String(length=320), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_spam_list_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spam_list")),
        sa.UniqueConstraint("agency_id", "kind", "pattern", name=op.f("uq_spam_list_agency_id")),
    )
    with op.batch_alter_table("spam_list") as b:
        b.create_index(b.f("ix_spam_list_agency_id"), ["agency_id"])

    op.create_table(
        "attachment_policy",
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("blocked_categories", sa.JSON(), nullable=False),
        sa.Column("blocked_extensions", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_attachment_policy_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_attachment_policy")),
    )

    op.create_table(
        "backup_run",
        sa.Column("id", _PK, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("snapshot", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("blobs_total", sa.BigInteger(), nullable=False),
        sa.Column("blobs_copied", sa.BigInteger(), nullable=False),
        sa.Column("bytes_copied", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_run")),
    )
    with op.batch_alter_table("backup_run") as b:
        b.create_index(b.f("ix_backup_run_status"), ["status"])
        b.create_index(b.f("ix_backup_run_started_at"), ["started_at"])

    op.create_table(
        "archive_entry",
        sa.Column("id", _PK, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("mailbox_address", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("purged_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_entry")),
        sa.UniqueConstraint("seq", name=op.f("uq_archive_entry_seq")),
    )
    op.create_index("ix_archive_entry_mailbox_at", "archive_entry", ["mailbox_address", "at"])

    op.create_table(
        "legal_hold",
        sa.Column("id", _PK, nullable=False),
        sa.Column("mailbox_address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
        sa.UniqueConstraint("mailbox_address", name=op.f("uq_legal_hold_mailbox_address")),
    )

    op.create_table(
        "ops_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ops_state")),
    )

    op.create_table(
        "migration_item",
        sa.Column("id", _PK, nullable=False),
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("source_folder", sa.String(length=1000), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("source_uid", sa.BigInteger(), nullable=False),
        sa.Column("folder_id", _PK, nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("copied_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["folder.id"], name=op.f("fk_migration_item_folder_id_folder"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_item")),
        sa.UniqueConstraint(
            "account", "source_folder", "uidvalidity", "source_uid",
            name=op.f("uq_migration_item_account"),
        ),
    )


def downgrade() -> None:
    for name in (
        "migration_item", "ops_state", "legal_hold", "archive_entry", "backup_run",
        "attachment_policy", "spam_list", "bayes_message", "bayes_token",
    ):
        op.drop_table(name)
