"""documents extras: reminder slots, meetings and replies, weekly work schedules

Revision ID: 0007
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reminder_slot_run",
        sa.Column("slot", sa.String(length=5), nullable=False),
        sa.Column("last_run_at", _TS, nullable=False),
        sa.Column("digests_sent", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_reminder_slot_run")),
    )

    op.create_table(
        "meeting",
        sa.Column("id", _PK, nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("organizer_address", sa.String(length=320), nullable=False),
        sa.Column("organizer_name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("number_symbol", sa.String(length=60), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
        sa.UniqueConstraint("uid", name=op.f("uq_meeting_uid")),
    )
    with op.batch_alter_table("meeting") as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_organizer_address"), ["organizer_address"])

    op.create_table(
        "meeting_attendee",
        sa.Column("id", _PK, nullable=False),
        sa.Column("meeting_id", _PK, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("partstat", sa.String(length=16), nullable=False),
        sa.Column("replied_at", _TS, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_attendee_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendee")),
        sa.UniqueConstraint(
            "meeting_id", "address", name=op.f("uq_meeting_attendee_meeting_id")
        ),
    )
    with op.batch_alter_table("meeting_attendee") as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_attendee_meeting_id"), ["meeting_id"])

    op.create_table(
        "work_schedule_entry",
        sa.Column("id", _PK, nullable=False),
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("uid", sa.String(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_work_schedule_entry_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_schedule_entry")),
        sa.UniqueConstraint("uid", name=op.f("uq_work_schedule_entry_uid")),
    )
    with op.batch_alter_table("work_schedule_entry") as batch_op:
        batch_op.create_index("ix_work_schedule_entry_agency_day", ["agency_id", "day"])


def downgrade() -> None:
    op.drop_table("work_schedule_entry")
    op.drop_table("meeting_attendee")
    op.drop_table("meeting")
    op.drop_table("reminder_slot_run")
