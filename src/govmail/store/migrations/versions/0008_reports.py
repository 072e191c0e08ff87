"""reports: daily usage counters, agency filtering facts, self-reported figures,
working-day calendar corrections, report settings

Revision ID: 0008
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

_MAILBOX_COUNTERS = (
    "logins_imap",
    "logins_pop3",
    "logins_web",
    "logins_smtp",
    "logins_api",
    "failed_logins",
    "sent",
    "received",
)
_AGENCY_COUNTERS = (
    *_MAILBOX_COUNTERS,
    "active_mailboxes",
    "docs_electronic",
    "docs_paper",
    "docs_both",
    "arrivals",
    "arrivals_registered",
    "arrivals_on_time",
    "spam",
    "virus",
    "refused",
)


def _counters(names: Sequence[str]) -> list[sa.Column]:
    return [sa.Column(n, sa.Integer(), server_default="0", nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        "usage_mailbox_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("mailbox_id", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        *_counters(_MAILBOX_COUNTERS),
        sa.PrimaryKeyConstraint("day", "mailbox_id", name=op.f("pk_usage_mailbox_day")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_agency_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=False),
        *_counters(_AGENCY_COUNTERS),
        sa.PrimaryKeyConstraint("day", "agency_id", name=op.f("pk_usage_agency_day")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_detail_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "agency_id", "metric", "detail", name=op.f("pk_usage_detail_day")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "report_agency_fact",
        sa.Column("agency_id", _PK, nullable=False),
        sa.Column("spam_filter", sa.Boolean(), nullable=True),
        sa.Column("virus_filter", sa.Boolean(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_report_agency_fact_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_report_agency_fact")),
    )
    op.create_table(
        "report_self_figure",
        sa.Column("id", _PK, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("indicator", sa.String(length=40), nullable=False),
        sa.Column("agency_key", sa.String(length=400), nullable=False),
        sa.Column("agency_id", _PK, nullable=True),
        sa.Column("agency_name", sa.String(length=300), nullable=False),
        sa.Column("agency_class", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text", sa.String(length=300), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("imported_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_report_self_figure_agency_id_agency"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_self_figure")),
        sa.UniqueConstraint(
            "period_start",
            "period_end",
            "indicator",
            "agency_key",
            name=op.f("uq_report_self_figure_period_start"),
        ),
    )
    with op.batch_alter_table("report_self_figure") as batch_op:
        batch_op.create_index(batch_op.f("ix_report_self_figure_agency_id"), ["agency_id"])
        batch_op.create_index("ix_report_self_figure_period", ["period_end", "indicator"])
    op.create_table(
        "report_calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_report_calendar_day")),
    )
    op.create_table(
        "report_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_setting")),
    )


def downgrade() -> None:
    op.drop_table("report_setting")
    op.drop_table("report_calendar_day")
    op.drop_table("report_self_figure")
    op.drop_table("report_agency_fact")
    op.drop_table("usage_detail_day")
    op.drop_table("usage_agency_day")
    op.drop_table("usage_mailbox_day")
