"""Tables of the document-layer extras (migration 0007): reminder slots, meeting
invitations with their replies, and agencies' weekly work schedules."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from govmail.store.models import PK, Base, utcnow


class ReminderSlotRun(Base):
    """The last reminder slot done, per configured time of day ("08:00"): a slot is sent
    once, even when the server restarts during it or several instances run."""

    __tablename__ = "reminder_slot_run"

    slot: Mapped[str] = mapped_column(String(5), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column()  # the slot's instant (UTC)
    digests_sent: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Meeting(Base):
    """A meeting invitation (giấy mời họp) sent as an iTIP REQUEST."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    organizer_address: Mapped[str] = mapped_column(String(320), index=True)
    organizer_name: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(String(500))
    location: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")  # | cancelled
    number_symbol: Mapped[str | None] = mapped_column(String(60))  # of the giấy mời, if any
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MeetingAttendee(Base):
    """An invited attendee and their latest answer (iTIP REPLY)."""

    __tablename__ = "meeting_attendee"
    __table_args__ = (UniqueConstraint("meeting_id", "address"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320))  # lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")
    # NEEDS-ACTION | ACCEPTED | DECLINED | TENTATIVE | DELEGATED
    partstat: Mapped[str] = mapped_column(String(16), default="NEEDS-ACTION")
    replied_at: Mapped[datetime | None] = mapped_column()  # DTSTAMP of the answer counted
    comment: Mapped[str | None] = mapped_column(Text)


class ScheduleEntry(Base):
    """One line of an agency's weekly work schedule (lịch công tác tuần). Times are the
    agency's local wall-clock times (general.timezone), as the schedule is written."""

    __tablename__ = "work_schedule_entry"
    __table_args__ = (Index("ix_work_schedule_entry_agency_day", "agency_id", "day"),)

    id: Mapped[int] = mapped_column(PK, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM"; None: whole day
    end_time: Mapped[str | None] = mapped_column(String(5))
    content: Mapped[str] = mapped_column(Text)
    participants: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(300), default="")
    host: Mapped[str] = mapped_column(String(200), default="")
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
