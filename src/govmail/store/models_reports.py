"""Tables of the usage reports (migration 0008).

Daily counters (``usage_*``) are written by the usage recorder, in batches, with upserts
that add to the day's row; they hold counts only, never message content or addresses.
They carry no foreign keys: they are statistics that outlive the mailboxes and agencies
they count, and the reports join them to the directory as it is.

The ``report_*`` tables hold what the reports need besides counters: facts an agency
declares (its filtering), figures self-reported by agencies that are
not on govmail, the working-day calendar corrections and the report settings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from govmail.store.models import PK, Base, utcnow

# Counters of one mailbox (or one agency) on one day, in the order the recorder fills them.
LOGIN_COLUMNS = ("logins_imap", "logins_pop3", "logins_web", "logins_smtp", "logins_api")
MAILBOX_COUNTERS = (*LOGIN_COLUMNS, "failed_logins", "sent", "received")
AGENCY_ONLY_COUNTERS = (
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
AGENCY_COUNTERS = (*MAILBOX_COUNTERS, "active_mailboxes", *AGENCY_ONLY_COUNTERS)


def _counter() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class UsageMailboxDay(Base):
    """What one mailbox did on one local day: logins by protocol, messages sent and
    received. ``agency_id`` is the mailbox's agency on that day."""

    __tablename__ = "usage_mailbox_day"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(BigInteger)
    logins_imap: Mapped[int] = _counter()
    logins_pop3: Mapped[int] = _counter()
    logins_web: Mapped[int] = _counter()
    logins_smtp: Mapped[int] = _counter()
    logins_api: Mapped[int] = _counter()
    failed_logins: Mapped[int] = _counter()
    sent: Mapped[int] = _counter()
    received: Mapped[int] = _counter()


class UsageAgencyDay(Base):
    """One agency's day (the agency itself, not its subunits): the mailbox counters summed,
    how many of its mailboxes were active, and the agency-level events (documents issued
    by channel, arrivals and their registration, spam, viruses, policy refusals)."""

    __tablename__ = "usage_agency_day"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    logins_imap: Mapped[int] = _counter()
    logins_pop3: Mapped[int] = _counter()
    logins_web: Mapped[int] = _counter()
    logins_smtp: Mapped[int] = _counter()
    logins_api: Mapped[int] = _counter()
    failed_logins: Mapped[int] = _counter()
    sent: Mapped[int] = _counter()
    received: Mapped[int] = _counter()
    active_mailboxes: Mapped[int] = _counter()
    docs_electronic: Mapped[int] = _counter()
    docs_paper: Mapped[int] = _counter()
    docs_both: Mapped[int] = _counter()
    arrivals: Mapped[int] = _counter()
    arrivals_registered: Mapped[int] = _counter()
    arrivals_on_time: Mapped[int] = _counter()
    spam: Mapped[int] = _counter()
    virus: Mapped[int] = _counter()
    refused: Mapped[int] = _counter()


class UsageDetailDay(Base):
    """Breakdowns of agency counters: documents by type and channel
    (``metric='doc'``, ``detail='<type>:<channel>'``), refusals by policy check
    (``metric='refused'``, ``detail=<check>``)."""

    __tablename__ = "usage_detail_day"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    detail: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = _counter()


class ReportAgencyFact(Base):
    """What an agency declares about its own mail system when this installation does not
    filter its mail: whether spam and virus filtering is on. None means "not declared".
    (The mail regulation, quy chế, lives in ``agency_profile`` of the admin console.)"""

    __tablename__ = "report_agency_fact"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    spam_filter: Mapped[bool | None] = mapped_column(Boolean)
    virus_filter: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))


class ReportSelfFigure(Base):
    """A figure an agency reported itself (an imported table row), for one indicator and
    period. ``agency_id`` is set when the row names an agency of the directory; otherwise
    the agency is known by its written name only (``agency_key`` = ``n:<folded name>``)."""

    __tablename__ = "report_self_figure"
    __table_args__ = (
        UniqueConstraint("period_start", "period_end", "indicator", "agency_key"),
        Index("ix_report_self_figure_period", "period_end", "indicator"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    indicator: Mapped[str] = mapped_column(String(40))
    agency_key: Mapped[str] = mapped_column(String(400))
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="SET NULL"), index=True
    )
    agency_name: Mapped[str] = mapped_column(String(300))
    agency_class: Mapped[str] = mapped_column(String(20))
    # 'value' (a number in ``value``), 'qualitative' (a recognised phrase in ``text``,
    # e.g. "Chưa có hệ thống thư điện tử"), 'not_reported'.
    status: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(300))
    source_row: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportCalendarDay(Base):
    """A correction to the default working-day calendar: a day off (Tết bridge days) or a
    working day (a Saturday worked in exchange)."""

    __tablename__ = "report_calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")


class ReportSetting(Base):
    """Report settings kept in the database so that the server and the CLI agree
    (the regular-use rule, the installation's filtering state)."""

    __tablename__ = "report_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
