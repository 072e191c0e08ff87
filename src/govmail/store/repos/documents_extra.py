"""Queries of the document-layer extras: reminder slots and the plain-mail reminder
source, meetings and their replies, weekly work schedules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from govmail.store.models import Blob, Folder, Mailbox, MailboxHandler, Message, utcnow
from govmail.store.models_documents_extra import (
    Meeting,
    MeetingAttendee,
    ReminderSlotRun,
    ScheduleEntry,
)


@dataclass(frozen=True, slots=True)
class HandlerRow:
    """A person who handles an agency mailbox."""

    person_id: int
    person_address: str
    agency_mailbox_id: int
    agency_mailbox_address: str
    is_clerk: bool


@dataclass(frozen=True, slots=True)
class CandidateMessage:
    """A message with attachments in an agency mailbox's INBOX (reminder source)."""

    message_id: int
    mailbox_id: int
    folder_id: int
    uid: int
    seen: bool
    subject: str
    internal_date: datetime
    blob_sha256: str
    attachments: list[dict[str, Any]]


class DocumentsExtraRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    async def add(self, obj: Any) -> Any:
        self.s.add(obj)
        await self.s.flush()
        return obj

    async def remove(self, obj: Any) -> None:
        await self.s.delete(obj)
        await self.s.flush()

    # -- reminder slots ------------------------------------------------------------------
    async def slot_runs(self) -> dict[str, datetime]:
        rows = await self.s.execute(select(ReminderSlotRun.slot, ReminderSlotRun.last_run_at))
        return {slot: at for slot, at in rows.all()}

    async def claim_slot(self, slot: str, instant: datetime) -> bool:
        """Mark ``slot`` done at ``instant`` unless it already is (at or after it); True
        when this caller claimed it. Atomic: of concurrent claimers exactly one wins."""
        res = await self.s.execute(
            update(ReminderSlotRun)
            .where(ReminderSlotRun.slot == slot, ReminderSlotRun.last_run_at < instant)
            .values(last_run_at=instant, digests_sent=0, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if (res.rowcount or 0) > 0:  # type: ignore[attr-defined]
            return True
        insert = pg_insert if self.dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(ReminderSlotRun)
            .values(slot=slot, last_run_at=instant, digests_sent=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["slot"])
            .returning(ReminderSlotRun.slot)
        )
        return (await self.s.execute(stmt)).first() is not None

    async def record_slot_sent(self, slot: str, count: int) -> None:
        await self.s.execute(
            update(ReminderSlotRun)
            .where(ReminderSlotRun.slot == slot)
            .values(digests_sent=count, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    # -- the plain-mail reminder source ----------------------------------------------------
    async def agency_handlers(self) -> list[HandlerRow]:
        """Every active person handling an active agency mailbox."""
        person, agency = aliased(Mailbox), aliased(Mailbox)
        rows = await self.s.execute(
            select(
                person.id,
                person.address,
                agency.id,
                agency.address,
                MailboxHandler.is_clerk,
            )
            .join(person, person.id == MailboxHandler.person_mailbox_id)
            .join(agency, agency.id == MailboxHandler.agency_mailbox_id)
            .where(person.status == "active", agency.status == "active")
            .order_by(person.address, agency.address)
        )
        return [HandlerRow(*row) for row in rows.all()]

    async def inbox_candidates(
        self, mailbox_ids: Sequence[int], since: datetime, limit: int
    ) -> list[CandidateMessage]:
        """Messages with attachments in the INBOX of these mailboxes that are unread, or
        arrived after ``since``; newest first, at most ``limit`` per call."""
        if not mailbox_ids:
            return []
        rows = await self.s.execute(
            select(
                Message.id,
                Folder.mailbox_id,
                Message.folder_id,
                Message.uid,
                Message.seen,
                Message.subject,
                Message.internal_date,
                Blob.sha256,
                Message.meta["attachments"],
            )
            .join(Folder, Folder.id == Message.folder_id)
            .join(Blob, Blob.id == Message.blob_id)
            .where(
                Folder.mailbox_id.in_(list(mailbox_ids)),
                Folder.name == "INBOX",
                Message.has_attachments.is_(True),
                Message.deleted.is_(False),
                (Message.seen.is_(False)) | (Message.internal_date >= since),
            )
            .order_by(Message.internal_date.desc(), Message.id.desc())
            .limit(limit)
        )
        return [
            CandidateMessage(
                message_id=r[0],
                mailbox_id=r[1],
                folder_id=r[2],
                uid=r[3],
                seen=bool(r[4]),
                subject=r[5] or "",
                internal_date=r[6],
                blob_sha256=r[7],
                attachments=list(r[8] or []),
            )
            for r in rows.all()
        ]

    async def message_meta(self, message_id: int) -> dict[str, Any] | None:
        meta: dict[str, Any] | None = await self.s.scalar(
            select(Message.meta).where(Message.id == message_id)
        )
        return meta

    # -- meetings ------------------------------------------------------------------------
    async def meeting_by_uid(self, uid: str) -> Meeting | None:
        meeting: Meeting | None = await self.s.scalar(select(Meeting).where(Meeting.uid == uid))
        return meeting

    async def meeting_by_id(self, meeting_id: int) -> Meeting | None:
        return await self.s.get(Meeting, meeting_id)

    async def meetings_of(self, organizer_address: str, limit: int = 100) -> Sequence[Meeting]:
        return (
            await self.s.scalars(
                select(Meeting)
                .where(Meeting.organizer_address == organizer_address.lower())
                .order_by(Meeting.starts_at.desc())
                .limit(limit)
            )
        ).all()

    async def attendees(self, meeting_id: int) -> Sequence[MeetingAttendee]:
        return (
            await self.s.scalars(
                select(MeetingAttendee)
                .where(MeetingAttendee.meeting_id == meeting_id)
                .order_by(MeetingAttendee.id)
            )
        ).all()

    async def attendee(self, meeting_id: int, address: str) -> MeetingAttendee | None:
        row: MeetingAttendee | None = await self.s.scalar(
            select(MeetingAttendee).where(
                MeetingAttendee.meeting_id == meeting_id,
                MeetingAttendee.address == address.lower(),
            )
        )
        return row

    async def partstat_counts(self, meeting_id: int) -> dict[str, int]:
        rows = await self.s.execute(
            select(MeetingAttendee.partstat, func.count())
            .where(MeetingAttendee.meeting_id == meeting_id)
            .group_by(MeetingAttendee.partstat)
        )
        return {p: int(n) for p, n in rows.all()}

    # -- weekly work schedules -------------------------------------------------------------
    async def schedule_entries(
        self, agency_id: int, first: date, last: date, limit: int = 2000
    ) -> Sequence[ScheduleEntry]:
        """Entries of one agency from ``first`` to ``last`` (inclusive), in order."""
        return (
            await self.s.scalars(
                select(ScheduleEntry)
                .where(
                    ScheduleEntry.agency_id == agency_id,
                    ScheduleEntry.day >= first,
                    ScheduleEntry.day <= last,
                )
                .order_by(
                    ScheduleEntry.day,
                    func.coalesce(ScheduleEntry.start_time, ""),
                    ScheduleEntry.id,
                )
                .limit(limit)
            )
        ).all()

    async def schedule_entry(self, entry_id: int) -> ScheduleEntry | None:
        return await self.s.get(ScheduleEntry, entry_id)

    async def clerk_agency_ids(self, person_mailbox_id: int) -> set[int]:
        """Agencies whose agency mailbox this person handles as clerk (văn thư)."""
        rows = await self.s.scalars(
            select(Mailbox.agency_id)
            .join(MailboxHandler, MailboxHandler.agency_mailbox_id == Mailbox.id)
            .where(
                MailboxHandler.person_mailbox_id == person_mailbox_id,
                MailboxHandler.is_clerk.is_(True),
                Mailbox.agency_id.is_not(None),
            )
        )
        return {int(a) for a in rows.all() if a is not None}
