"""An agency's weekly work schedule (lịch công tác tuần).

Entries (day, start and end time, content, participants, location, host) are written by
the agency's clerk (văn thư: a clerk handler of the agency's mailbox) or an administrator
of the agency (agency_admin of it or of a parent, or installation_admin). They are
public: a web page per agency and ISO week, and an iCalendar feed (METHOD:PUBLISH) that
calendar clients subscribe to. Times are the agency's wall-clock times in
``general.timezone``; an entry without a start time lasts the whole day.
Every change is written to the audit log.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from govmail.directory.base import Actor
from govmail.mail.textfold import nfc
from govmail.store.db import Store
from govmail.store.models import AdminRole, Agency, Mailbox, utcnow
from govmail.store.models_documents_extra import ScheduleEntry
from govmail.store.repos.documents_extra import DocumentsExtraRepo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_CONTENT = 4000
MAX_FIELD = 2000
FEED_PAST = timedelta(weeks=8)
FEED_FUTURE = timedelta(weeks=53)
PRODID = "-//govmail//Lich cong tac//VI"


class ScheduleError(Exception):
    """Input the schedule cannot take; ``key`` names an i18n message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """ "2025-W10" (ISO 8601 week)."""
        m = _WEEK.match(text.strip())
        if not m:
            raise ScheduleError("documents.schedule.bad_week", week=text)
        year, number = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ScheduleError("documents.schedule.bad_week", week=text) from None
        return cls(year, number)

    @classmethod
    def of(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def days(self) -> list[date]:
        return [date.fromisocalendar(self.year, self.number, d) for d in range(1, 8)]

    @property
    def first(self) -> date:
        return self.days[0]

    @property
    def last(self) -> date:
        return self.days[-1]

    def shift(self, weeks: int) -> Week:
        return Week.of(self.first + timedelta(weeks=weeks))


@dataclass(frozen=True, slots=True)
class EntryInput:
    day: date
    start_time: str | None
    end_time: str | None
    content: str
    participants: str = ""
    location: str = ""
    host: str = ""


def _text(value: str, limit: int) -> str:
    clean = nfc(value).replace("\r\n", "\n").strip()
    if len(clean) > limit:
        raise ScheduleError("documents.schedule.too_long", limit=limit)
    return clean


def _time(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) == 8 and value.endswith(":00"):  # some browsers send seconds
        value = value[:5]
    if not _TIME.match(value):
        raise ScheduleError("documents.schedule.bad_time", value=value)
    return value


def entry_input(
    *,
    day: str,
    start: str = "",
    end: str = "",
    content: str,
    participants: str = "",
    location: str = "",
    host: str = "",
) -> EntryInput:
    """Validate a form's strings ("2025-03-05", "08:00"...)."""
    try:
        parsed_day = date.fromisoformat(day.strip())
    except ValueError:
        raise ScheduleError("documents.schedule.bad_day", value=day) from None
    start_time = _time(start)
    end_time = _time(end)
    if end_time and not start_time:
        raise ScheduleError("documents.schedule.end_without_start")
    if start_time and end_time and end_time <= start_time:
        raise ScheduleError("documents.schedule.end_before_start")
    text = _text(content, MAX_CONTENT)
    if not text:
        raise ScheduleError("documents.schedule.no_content")
    return EntryInput(
        day=parsed_day,
        start_time=start_time,
        end_time=end_time,
        content=text,
        participants=_text(participants, MAX_FIELD),
        location=_text(location, 300),
        host=_text(host, 200),
    )


def may_edit(agency: Agency, roles: Sequence[AdminRole], clerk_of: set[int]) -> bool:
    """The agency's clerk, an agency_admin of it or of a parent, an installation_admin."""
    if agency.id in clerk_of:
        return True
    for r in roles:
        if r.role == "installation_admin":
            return True
        if (
            r.role == "agency_admin"
            and r.agency_id is not None
            and (f"/{r.agency_id}/" in agency.path)
        ):
            return True
    return False


def _snapshot(e: ScheduleEntry) -> dict[str, Any]:
    return {
        "agency_id": e.agency_id,
        "day": e.day.isoformat(),
        "start_time": e.start_time,
        "end_time": e.end_time,
        "content": e.content,
        "participants": e.participants,
        "location": e.location,
        "host": e.host,
    }


# -- iCalendar feed -----------------------------------------------------------------------


def _summary(content: str) -> str:
    first = content.split("\n", 1)[0].strip()
    return first if len(first) <= 200 else first[:199] + "…"


def build_feed(
    agency_name: str,
    entries: Sequence[ScheduleEntry],
    *,
    timezone: str,
    calendar_name: str,
    labels: dict[str, str],
) -> bytes:
    """An iCalendar (METHOD:PUBLISH) of the entries. ``labels`` gives the translated
    words put in descriptions: "participants", "host"."""
    tz = ZoneInfo(timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name)
    cal.add("x-wr-caldesc", agency_name)
    cal.add("x-wr-timezone", timezone)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for e in entries:
        ev = Event()
        ev.add("uid", e.uid)
        ev.add("dtstamp", e.updated_at.astimezone(UTC))
        ev.add("sequence", e.sequence)
        if e.start_time:
            h, m = (int(x) for x in e.start_time.split(":"))
            ev.add("dtstart", datetime.combine(e.day, time(h, m), tzinfo=tz))
            if e.end_time:
                h, m = (int(x) for x in e.end_time.split(":"))
                ev.add("dtend", datetime.combine(e.day, time(h, m), tzinfo=tz))
        else:
            ev.add("dtstart", e.day)
            ev.add("dtend", e.day + timedelta(days=1))
        ev.add("summary", _summary(e.content))
        details = [e.content]
        if e.participants:
            details.append(f"{labels['participants']}: {e.participants}")
        if e.host:
            details.append(f"{labels['host']}: {e.host}")
        ev.add("description", "\n".join(details))
        if e.location:
            ev.add("location", e.location)
        ev.add("created", e.created_at.astimezone(UTC))
        ev.add("last-modified", e.updated_at.astimezone(UTC))
        ev.add("transp", "OPAQUE")
        cal.add_component(ev)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


# -- the service --------------------------------------------------------------------------


class WorkSchedules:
    """Reads and edits agencies' weekly schedules (the web door calls this)."""

    def __init__(self, store: Store, timezone: str = "Asia/Ho_Chi_Minh") -> None:
        self.store = store
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)

    def today(self, now: datetime | None = None) -> date:
        return (now or utcnow()).astimezone(self.tz).date()

    def _repo(self, tx: Any) -> DocumentsExtraRepo:
        return DocumentsExtraRepo(tx.session, self.store.dialect)

    async def agency(self, code: str) -> Agency | None:
        async with self.store.read() as tx:
            agency = await tx.directory.agency_by_code(code.strip())
        return agency if agency is not None and agency.active else None

    async def week(self, agency: Agency, week: Week) -> list[ScheduleEntry]:
        async with self.store.read() as tx:
            return list(await self._repo(tx).schedule_entries(agency.id, week.first, week.last))

    async def entry(self, agency: Agency, entry_id: int) -> ScheduleEntry:
        async with self.store.read() as tx:
            row = await self._repo(tx).schedule_entry(entry_id)
        if row is None or row.agency_id != agency.id:
            raise ScheduleError("documents.schedule.not_found", id=entry_id)
        return row

    async def can_edit(self, mailbox: Mailbox | None, agency: Agency) -> bool:
        if mailbox is None or mailbox.status != "active":
            return False
        async with self.store.read() as tx:
            roles = await tx.directory.roles_of(mailbox.id)
            clerk_of = await self._repo(tx).clerk_agency_ids(mailbox.id)
        return may_edit(agency, roles, clerk_of)

    async def _check(self, mailbox: Mailbox | None, agency: Agency) -> None:
        if not await self.can_edit(mailbox, agency):
            raise ScheduleError("documents.schedule.forbidden")

    async def add(
        self, agency: Agency, data: EntryInput, *, editor: Mailbox, actor: Actor
    ) -> ScheduleEntry:
        await self._check(editor, agency)
        now = utcnow()
        row = ScheduleEntry(
            agency_id=agency.id,
            uid=f"{uuid.uuid4()}@lich-cong-tac",
            sequence=0,
            created_by=editor.address,
            created_at=now,
            updated_at=now,
            **asdict(data),
        )
        async with self.store.write() as tx:
            await self._repo(tx).add(row)
            await tx.audit.record(
                actor=actor.name,
                action="schedule.add",
                object_type="schedule_entry",
                object_id=str(row.id),
                after=_snapshot(row),
                source=actor.source,
                remote_addr=actor.remote_addr,
            )
        return row

    async def update(
        self, agency: Agency, entry_id: int, data: EntryInput, *, editor: Mailbox, actor: Actor
    ) -> ScheduleEntry:
        await self._check(editor, agency)
        async with self.store.write() as tx:
            repo = self._repo(tx)
            row = await repo.schedule_entry(entry_id)
            if row is None or row.agency_id != agency.id:
                raise ScheduleError("documents.schedule.not_found", id=entry_id)
            before = _snapshot(row)
            for key, value in asdict(data).items():
                setattr(row, key, value)
            row.sequence += 1
            row.updated_at = utcnow()
            await tx.flush()
            await tx.audit.record(
                actor=actor.name,
                action="schedule.update",
                object_type="schedule_entry",
                object_id=str(row.id),
                before=before,
                after=_snapshot(row),
                source=actor.source,
                remote_addr=actor.remote_addr,
            )
        return row

    async def delete(
        self, agency: Agency, entry_id: int, *, editor: Mailbox, actor: Actor
    ) -> ScheduleEntry:
        await self._check(editor, agency)
        async with self.store.write() as tx:
            repo = self._repo(tx)
            row = await repo.schedule_entry(entry_id)
            if row is None or row.agency_id != agency.id:
                raise ScheduleError("documents.schedule.not_found", id=entry_id)
            before = _snapshot(row)
            await repo.remove(row)
            await tx.audit.record(
                actor=actor.name,
                action="schedule.delete",
                object_type="schedule_entry",
                object_id=str(entry_id),
                before=before,
                source=actor.source,
                remote_addr=actor.remote_addr,
            )
        return row

    async def feed(
        self,
        agency: Agency,
        *,
        calendar_name: str,
        labels: dict[str, str],
        now: datetime | None = None,
    ) -> bytes:
        today = self.today(now)
        async with self.store.read() as tx:
            entries = await self._repo(tx).schedule_entries(
                agency.id, today - FEED_PAST, today + FEED_FUTURE, limit=5000
            )
        return build_feed(
            agency.name,
            entries,
            timezone=self.timezone,
            calendar_name=calendar_name,
            labels=labels,
        )
