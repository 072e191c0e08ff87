"""documents: outgoing and incoming registers, recipients and their statuses, number
counters, problems reported to clerks, document files, events, per-agency policy

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "document_counter",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("register", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_document_counter_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_counter")),
        sa.UniqueConstraint(
            "agency_id", "register", "year", name=op.f("uq_document_counter_agency_id")
        ),
    )
    op.create_table(
        "document_policy",
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("free_mail", sa.String(length=8), nullable=False),
        sa.Column("legacy_text", sa.String(length=8), nullable=False),
        sa.Column("legacy_scope", sa.String(length=12), nullable=False),
        sa.Column("extra_free_domains", sa.JSON(), nullable=False),
        sa.Column("allowed_domains", sa.JSON(), nullable=False),
        sa.Column("mandatory_types", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_document_policy_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_document_policy")),
    )
    op.create_table(
        "outgoing_document",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("mailbox_id", _PK, nullable=True),
        sa.Column("register", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("number_text", sa.String(length=11), nullable=False),
        sa.Column("notation", sa.String(length=30), nullable=False),
        sa.Column("doc_uid", sa.String(length=200), nullable=False),
        sa.Column("type_no", sa.Integer(), nullable=False),
        sa.Column("type_name", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("signer_name", sa.String(length=100), nullable=False),
        sa.Column("signer_position", sa.String(length=200), nullable=False),
        sa.Column("signer_competence", sa.String(length=100), nullable=False),
        sa.Column("confidentiality", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("steering_type", sa.Integer(), nullable=False),
        sa.Column("reply_to", sa.JSON(), nullable=True),
        sa.Column("addressees_text", sa.Text(), nullable=False),
        sa.Column("recipients_text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_outgoing_document_agency_id_agency"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
            name=op.f("fk_outgoing_document_mailbox_id_mailbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_document")),
        sa.UniqueConstraint(
            "agency_id", "register", "year", "number", name="uq_outgoing_document_number"
        ),
        sa.UniqueConstraint("register", "doc_uid", name="uq_outgoing_document_doc_uid"),
    )
    op.create_index(
        "ix_outgoing_document_agency_issued",
        "outgoing_document",
        ["agency_id", "issued_on"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outgoing_document_doc_uid"), "outgoing_document", ["doc_uid"], unique=False
    )
    op.create_index(
        op.f("ix_outgoing_document_mailbox_id"), "outgoing_document", ["mailbox_id"], unique=False
    )
    op.create_index(
        op.f("ix_outgoing_document_status"), "outgoing_document", ["status"], unique=False
    )
    op.create_table(
        "document_file",
        sa.Column("id", _PK, nullable=False),
        sa.Column("document_id", _PK, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_id", _PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["blob.id"],
            name=op.f("fk_document_file_blob_id_blob"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["outgoing_document.id"],
            name=op.f("fk_document_file_document_id_outgoing_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_file")),
    )
    op.create_index(op.f("ix_document_file_blob_id"), "document_file", ["blob_id"], unique=False)
    op.create_index(
        op.f("ix_document_file_document_id"), "document_file", ["document_id"], unique=False
    )
    op.create_table(
        "incoming_document",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("mailbox_id", _PK, nullable=True),
        sa.Column("register", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("arrival_number", sa.Integer(), nullable=False),
        sa.Column("arrived_at", _TS, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("doc_uid", sa.String(length=200), nullable=True),
        sa.Column("number_text", sa.String(length=11), nullable=False),
        sa.Column("notation", sa.String(length=60), nullable=False),
        sa.Column("type_no", sa.Integer(), nullable=False),
        sa.Column("type_name", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issuer_code", sa.String(length=35), nullable=False),
        sa.Column("issuer_name", sa.String(length=300), nullable=False),
        sa.Column("sender_address", sa.String(length=320), nullable=False),
        sa.Column("signer_name", sa.String(length=100), nullable=False),
        sa.Column("signer_position", sa.String(length=200), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("to_places", sa.JSON(), nullable=False),
        sa.Column("reply_to_uid", sa.String(length=200), nullable=True),
        sa.Column("folder_id", _PK, nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("blob_id", _PK, nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("signatures", sa.JSON(), nullable=False),
        sa.Column("authentication", sa.String(length=16), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("assignee_id", _PK, nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("progress_note", sa.Text(), nullable=True),
        sa.Column("registered_by", sa.String(length=320), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("completed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_incoming_document_agency_id_agency"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["mailbox.id"],
            name=op.f("fk_incoming_document_assignee_id_mailbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["blob.id"],
            name=op.f("fk_incoming_document_blob_id_blob"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folder.id"],
            name=op.f("fk_incoming_document_folder_id_folder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
            name=op.f("fk_incoming_document_mailbox_id_mailbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_document")),
        sa.UniqueConstraint("agency_id", "doc_uid", name="uq_incoming_document_doc_uid"),
        sa.UniqueConstraint(
            "agency_id", "register", "year", "arrival_number", name="uq_incoming_document_number"
        ),
    )
    op.create_index(
        op.f("ix_incoming_document_assignee_id"), "incoming_document", ["assignee_id"], unique=False
    )
    op.create_index(
        op.f("ix_incoming_document_mailbox_id"), "incoming_document", ["mailbox_id"], unique=False
    )
    op.create_index(
        op.f("ix_incoming_document_status"), "incoming_document", ["status"], unique=False
    )
    op.create_table(
        "outgoing_recipient",
        sa.Column("id", _PK, nullable=False),
        sa.Column("document_id", _PK, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("organ_id", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("via_group", sa.String(length=320), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("outbound_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("delivered_at", _TS, nullable=True),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("status_text", sa.Text(), nullable=True),
        sa.Column("status_at", _TS, nullable=True),
        sa.Column("received_at", _TS, nullable=True),
        sa.Column("accepted_at", _TS, nullable=True),
        sa.Column("refused_at", _TS, nullable=True),
        sa.Column("assigned_at", _TS, nullable=True),
        sa.Column("in_progress_at", _TS, nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["outgoing_document.id"],
            name=op.f("fk_outgoing_recipient_document_id_outgoing_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_recipient")),
        sa.UniqueConstraint(
            "document_id", "address", name=op.f("uq_outgoing_recipient_document_id")
        ),
    )
    op.create_index(
        op.f("ix_outgoing_recipient_address"), "outgoing_recipient", ["address"], unique=False
    )
    op.create_index(
        op.f("ix_outgoing_recipient_document_id"),
        "outgoing_recipient",
        ["document_id"],
        unique=False,
    )
    op.create_table(
        "document_event",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("outgoing_id", _PK, nullable=True),
        sa.Column("incoming_id", _PK, nullable=True),
        sa.Column("recipient_id", _PK, nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_document_event_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incoming_id"],
            ["incoming_document.id"],
            name=op.f("fk_document_event_incoming_id_incoming_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outgoing_id"],
            ["outgoing_document.id"],
            name=op.f("fk_document_event_outgoing_id_outgoing_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["outgoing_recipient.id"],
            name=op.f("fk_document_event_recipient_id_outgoing_recipient"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_event")),
    )
    op.create_index(
        op.f("ix_document_event_agency_id"), "document_event", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_document_event_incoming_id"), "document_event", ["incoming_id"], unique=False
    )
    op.create_index(
        op.f("ix_document_event_outgoing_id"), "document_event", ["outgoing_id"], unique=False
    )
    op.create_table(
        "document_problem",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("mailbox_id", _PK, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("doc_uid", sa.String(length=200), nullable=True),
        sa.Column("sender_address", sa.String(length=320), nullable=False),
        sa.Column("folder_id", _PK, nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("incoming_id", _PK, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_document_problem_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folder.id"],
            name=op.f("fk_document_problem_folder_id_folder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incoming_id"],
            ["incoming_document.id"],
            name=op.f("fk_document_problem_incoming_id_incoming_document"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
            name=op.f("fk_document_problem_mailbox_id_mailbox"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_problem")),
    )
    op.create_index(
        "ix_document_problem_open", "document_problem", ["agency_id", "resolved_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("document_problem")
    op.drop_table("document_event")
    op.drop_table("outgoing_recipient")
    op.drop_table("incoming_document")
    op.drop_table("document_file")
    op.drop_table("outgoing_document")
    op.drop_table("document_policy")
    op.drop_table("document_counter")
