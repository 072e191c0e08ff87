"""Meeting invitations (giấy mời họp) as iTIP e-mail (RFC 5545, 5546, 6047).

An invitation is an ordinary e-mail whose ``multipart/alternative`` ends with a
``text/calendar; method=REQUEST`` part (Thunderbird, Outlook, Apple Mail and the phones
show Accept / Decline buttons for it), plus the same calendar as an ``invite.ics``
attachment for clients that only offer attachments. The VEVENT has a UID, DTSTART/DTEND
with TZID and the matching VTIMEZONE, SUMMARY, LOCATION, DESCRIPTION, ORGANIZER, one
ATTENDEE per invitee (RSVP=TRUE, PARTSTAT=NEEDS-ACTION) and a SEQUENCE raised by every
change; a reschedule is a new REQUEST, a cancellation a ``method=CANCEL``.

Answers come back as ``method=REPLY`` messages to the organizer. ``MeetingReplies`` is an
after-delivery hook of the pipeline: it reads the REPLY, checks that it speaks for the
sender (the ATTENDEE is the From address, or names it in SENT-BY) and for an invitee of a
known meeting, that it is not older than the meeting's current SEQUENCE or than the
answer already counted, and records PARTSTAT (ACCEPTED, DECLINED, TENTATIVE…). The tally
is ``Meetings.tally``.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from govmail.delivery.envelope import Envelope
from govmail.i18n import t
from govmail.mail.headers import make_message_id
from govmail.mail.parsed import ParsedMessage, PartNotFound, decoded_part, parse_message, walk_parts
from govmail.mail.textfold import nfc
from govmail.store.db import Store
from govmail.store.models import utcnow
from govmail.store.models_documents_extra import Meeting, MeetingAttendee
from govmail.store.repos.documents_extra import DocumentsExtraRepo

log = logging.getLogger("govmail.documents.meetings")

Method = Literal["REQUEST", "CANCEL"]
Deliver = Callable[[Envelope, bytes], Awaitable[object]]
PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED")
MAX_CALENDAR_BYTES = 1024 * 1024
PRODID = "-//govmail//Giay moi hop//VI"


class MeetingError(Exception):
    """A meeting that cannot be created or changed; ``key`` names an i18n message."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        from govmail.i18n import both

        return both(self.key, **self.params)


class ItipError(ValueError):
    """A text/calendar body that is not a usable iCalendar object."""


@dataclass(frozen=True, slots=True)
class Invitee:
    address: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    """What an iTIP message says about a meeting (the stored row, detached)."""

    uid: str
    summary: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    organizer_address: str
    organizer_name: str = ""
    location: str = ""
    description: str = ""
    sequence: int = 0
    number_symbol: str | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, m: Meeting) -> MeetingInfo:
        return cls(
            uid=m.uid,
            summary=m.summary,
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            timezone=m.timezone,
            organizer_address=m.organizer_address,
            organizer_name=m.organizer_name,
            location=m.location,
            description=m.description,
            sequence=m.sequence,
            number_symbol=m.number_symbol,
            created_at=m.created_at,
        )


# -- building -----------------------------------------------------------------------------


def _mailto(address: str) -> str:
    return f"mailto:{address}"


def build_calendar(
    meeting: MeetingInfo,
    attendees: Sequence[Invitee],
    method: Method,
    *,
    now: datetime,
) -> bytes:
    """The VCALENDAR (METHOD:REQUEST or CANCEL) for ``meeting``, CRLF lines, UTF-8."""
    tz = ZoneInfo(meeting.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    ev = Event()
    ev.add("uid", meeting.uid)
    ev.add("dtstamp", now.astimezone(UTC))
    ev.add("dtstart", meeting.starts_at.astimezone(tz))
    ev.add("dtend", meeting.ends_at.astimezone(tz))
    ev.add("summary", meeting.summary)
    if meeting.location:
        ev.add("location", meeting.location)
    if meeting.description:
        ev.add("description", meeting.description)
    organizer = vCalAddress(_mailto(meeting.organizer_address))
    if meeting.organizer_name:
        organizer.params["CN"] = vText(meeting.organizer_name)
    ev.add("organizer", organizer)
    for person in attendees:
        att = vCalAddress(_mailto(person.address))
        if person.name:
            att.params["CN"] = vText(person.name)
        att.params["CUTYPE"] = "INDIVIDUAL"
        att.params["ROLE"] = "REQ-PARTICIPANT"
        att.params["PARTSTAT"] = "NEEDS-ACTION"
        att.params["RSVP"] = "TRUE"
        ev.add("attendee", att, encode=False)
    ev.add("sequence", meeting.sequence)
    ev.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    if meeting.created_at is not None:
        ev.add("created", meeting.created_at.astimezone(UTC))
    ev.add("last-modified", now.astimezone(UTC))
    cal.add_component(ev)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _weekday(value: datetime, lang: str) -> str:
    return t(f"documents.weekday.{value.isoweekday()}", lang)


def when_text(meeting: MeetingInfo, lang: str) -> str:
    """ "08:00–10:00, Thứ Tư 05/03/2025" in the meeting's time zone."""
    tz = ZoneInfo(meeting.timezone)
    start, end = meeting.starts_at.astimezone(tz), meeting.ends_at.astimezone(tz)
    day = f"{_weekday(start, lang)} {start:%d/%m/%Y}"
    if start.date() == end.date():
        return f"{start:%H:%M}–{end:%H:%M}, {day}"
    return f"{start:%H:%M}, {day} – {end:%H:%M}, {_weekday(end, lang)} {end:%d/%m/%Y}"


def _body(meeting: MeetingInfo, method: Method, rescheduled: bool) -> tuple[str, str]:
    plain: list[str] = []
    rich: list[str] = []
    for lang in ("vi", "en"):
        if method == "CANCEL":
            heading = t("documents.meeting.heading_cancel", lang)
        elif rescheduled:
            heading = t("documents.meeting.heading_update", lang)
        else:
            heading = t("documents.meeting.heading_request", lang)
        rows = [
            (t("documents.meeting.field_summary", lang), meeting.summary),
            (t("documents.meeting.field_when", lang), when_text(meeting, lang)),
        ]
        if meeting.location:
            rows.append((t("documents.meeting.field_location", lang), meeting.location))
        if meeting.number_symbol:
            rows.append((t("documents.meeting.field_number", lang), meeting.number_symbol))
        organizer = meeting.organizer_name or meeting.organizer_address
        rows.append((t("documents.meeting.field_organizer", lang), organizer))
        plain += [heading, ""] + [f"{k}: {v}" for k, v in rows]
        rich.append(f'<section lang="{lang}"><h2>{html.escape(heading)}</h2><table>')
        rich += [f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows]
        rich.append("</table>")
        if meeting.description:
            plain += ["", meeting.description]
            rich.append(f"<p>{html.escape(meeting.description)}</p>".replace("\n", "<br>"))
        if method == "REQUEST":
            hint = t("documents.meeting.answer_hint", lang)
            plain += ["", hint]
            rich.append(f"<p><small>{html.escape(hint)}</small></p>")
        rich.append("</section>")
        if lang == "vi":
            plain += ["", "-" * 40, ""]
            rich.append("<hr>")
    body_html = (
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        + "".join(rich)
        + "</body></html>\n"
    )
    return "\n".join(plain).rstrip() + "\n", body_html


def build_invitation_message(
    meeting: MeetingInfo,
    attendees: Sequence[Invitee],
    method: Method,
    *,
    now: datetime,
    rescheduled: bool = False,
) -> bytes:
    """The whole e-mail: text, HTML and text/calendar alternatives, plus invite.ics."""
    ics = build_calendar(meeting, attendees, method, now=now)
    domain = meeting.organizer_address.rsplit("@", 1)[-1]
    if method == "CANCEL":
        label = "subject_cancel"
    elif rescheduled:
        label = "subject_update"
    else:
        label = "subject_request"
    prefix = " / ".join(t(f"documents.meeting.{label}", lang) for lang in ("vi", "en"))
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(meeting.organizer_name, addr_spec=meeting.organizer_address)
    msg["To"] = [Address(p.name, addr_spec=p.address) for p in attendees]
    msg["Subject"] = f"{prefix}: {meeting.summary}"
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = make_message_id(domain)
    text, body_html = _body(meeting, method, rescheduled)
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(body_html, subtype="html", charset="utf-8")
    msg.add_alternative(
        ics,
        maintype="text",
        subtype="calendar",
        params={"method": method, "charset": "utf-8"},
        cte="base64",
    )
    msg.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return msg.as_bytes()


# -- parsing replies ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItipAnswer:
    address: str  # lower-cased
    partstat: str
    name: str
    sent_by: str | None  # lower-cased SENT-BY address, if any
    comment: str | None


@dataclass(frozen=True, slots=True)
class ItipEvent:
    uid: str
    sequence: int
    dtstamp: datetime | None
    answers: list[ItipAnswer]


@dataclass(frozen=True, slots=True)
class ItipMessage:
    method: str  # upper-case: REPLY, REQUEST, CANCEL, ...
    events: list[ItipEvent]


def _address(value: object) -> str:
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return nfc(text).strip().lower()


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def parse_itip(data: bytes) -> ItipMessage:
    """The method and, per VEVENT, the UID, SEQUENCE, DTSTAMP and attendees' answers.
    Raises ``ItipError`` for bytes that are not an iCalendar object."""
    if len(data) > MAX_CALENDAR_BYTES:
        raise ItipError("calendar too large")
    try:
        cal = Calendar.from_ical(data.decode("utf-8", "replace"))
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        raise ItipError(f"not an iCalendar object: {exc}") from exc
    if not isinstance(cal, Calendar):
        raise ItipError("not a VCALENDAR")
    method = str(cal.get("method") or "").strip().upper()
    events: list[ItipEvent] = []
    for ev in cal.walk("VEVENT"):
        uid = str(ev.get("uid") or "").strip()
        if not uid:
            continue
        try:
            sequence = int(ev.get("sequence") or 0)
        except (TypeError, ValueError):
            sequence = 0
        try:
            stamp = ev.decoded("dtstamp") if "dtstamp" in ev else None
        except Exception:
            stamp = None
        if isinstance(stamp, datetime):
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        else:
            stamp = None
        comment = str(ev.get("comment")) if ev.get("comment") else None
        answers = []
        for att in _as_list(ev.get("attendee")):
            params = getattr(att, "params", {})
            sent_by = params.get("SENT-BY")
            answers.append(
                ItipAnswer(
                    address=_address(att),
                    partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                    name=nfc(str(params.get("CN", ""))),
                    sent_by=_address(sent_by) if sent_by else None,
                    comment=comment,
                )
            )
        events.append(ItipEvent(uid, sequence, stamp, answers))
    return ItipMessage(method, events)


def calendar_parts(parsed: ParsedMessage) -> list[str]:
    """IMAP part numbers of the text/calendar (or application/ics) parts of a message."""
    return [
        num
        for num, part in walk_parts(parsed)
        if not part.parts and part.media_type in ("text/calendar", "application/ics")
    ]


# -- the service --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttendeeState:
    address: str
    name: str
    partstat: str
    replied_at: datetime | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class MeetingTally:
    meeting_id: int
    uid: str
    summary: str
    status: str
    sequence: int
    counts: dict[str, int]  # PARTSTAT -> attendees
    attendees: list[AttendeeState]


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    uid: str
    address: str
    partstat: str
    applied: bool
    reason: str  # "recorded", or why the answer was not counted


def _clean_invitees(attendees: Sequence[Invitee], organizer: str) -> list[Invitee]:
    seen: set[str] = set()
    out: list[Invitee] = []
    for p in attendees:
        address = nfc(p.address).strip().lower()
        local, _, domain = address.partition("@")
        if not local or not domain or any(c in address for c in ' <>,;:"\r\n'):
            raise MeetingError("documents.meeting.bad_address", address=p.address)
        if address in seen or address == organizer:
            continue
        seen.add(address)
        out.append(Invitee(address, nfc(p.name).strip()))
    if not out:
        raise MeetingError("documents.meeting.no_attendees")
    return out


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise MeetingError("documents.meeting.naive_time")
    if ends_at <= starts_at:
        raise MeetingError("documents.meeting.bad_times")


class Meetings:
    """Creates, reschedules and cancels meetings, and reports the answers.

    ``deliver`` is ``Pipeline.deliver``; invitations go out as ``source="documents"`` from
    the organizer's address on behalf of ``sender`` (the logged-in user), so the pipeline's
    sender-identity check applies: a person may invite as themself or as an agency mailbox
    they handle.
    """

    def __init__(
        self,
        store: Store,
        deliver: Deliver,
        *,
        timezone: str = "Asia/Ho_Chi_Minh",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.deliver = deliver
        self.timezone = timezone
        ZoneInfo(timezone)
        self.clock = clock

    def _repo(self, tx: object) -> DocumentsExtraRepo:
        return DocumentsExtraRepo(tx.session, self.store.dialect)  # type: ignore[attr-defined]

    async def _send(
        self,
        info: MeetingInfo,
        attendees: Sequence[Invitee],
        method: Method,
        sender: str,
        *,
        rescheduled: bool = False,
    ) -> None:
        raw = build_invitation_message(
            info, attendees, method, now=self.clock(), rescheduled=rescheduled
        )
        env = Envelope(
            info.organizer_address,
            [a.address for a in attendees],
            "documents",
            auth_user=sender,
        )
        try:
            await self.deliver(env, raw)
        except Exception as exc:
            raise MeetingError("documents.meeting.not_sent", reason=str(exc)) from exc

    async def invite(
        self,
        *,
        sender: str,
        organizer_address: str,
        summary: str,
        starts_at: datetime,
        ends_at: datetime,
        attendees: Sequence[Invitee],
        organizer_name: str = "",
        location: str = "",
        description: str = "",
        number_symbol: str | None = None,
    ) -> MeetingInfo:
        """Store a meeting and send the REQUEST to every attendee. Raises MeetingError
        (nothing stored) when the input is invalid or the pipeline refuses the message."""
        organizer = organizer_address.strip().lower()
        summary = nfc(summary).strip()
        if not summary or len(summary) > 500:
            raise MeetingError("documents.meeting.bad_summary")
        _check_times(starts_at, ends_at)
        people = _clean_invitees(attendees, organizer)
        now = self.clock()
        row = Meeting(
            uid=f"{uuid.uuid4()}@{organizer.rsplit('@', 1)[-1]}",
            organizer_address=organizer,
            organizer_name=nfc(organizer_name).strip(),
            summary=summary,
            location=nfc(location).strip()[:500],
            description=nfc(description).strip(),
            starts_at=starts_at.astimezone(UTC),
            ends_at=ends_at.astimezone(UTC),
            timezone=self.timezone,
            sequence=0,
            status="confirmed",
            number_symbol=number_symbol,
            created_by=sender.lower(),
            created_at=now,
            updated_at=now,
        )
        async with self.store.write() as tx:
            repo = self._repo(tx)
            await repo.add(row)
            for p in people:
                await repo.add(MeetingAttendee(meeting_id=row.id, address=p.address, name=p.name))
            meeting_id = row.id
        info = MeetingInfo.of(row)
        try:
            await self._send(info, people, "REQUEST", sender)
        except MeetingError:
            async with self.store.write() as tx:
                repo = self._repo(tx)
                stored = await repo.meeting_by_id(meeting_id)
                if stored is not None:
                    await repo.remove(stored)
            raise
        return info

    async def _load(self, uid: str) -> tuple[Meeting, list[Invitee]]:
        async with self.store.read() as tx:
            repo = self._repo(tx)
            row = await repo.meeting_by_uid(uid)
            if row is None:
                raise MeetingError("documents.meeting.not_found", uid=uid)
            people = [Invitee(a.address, a.name) for a in await repo.attendees(row.id)]
        return row, people

    async def reschedule(
        self,
        uid: str,
        *,
        sender: str,
        starts_at: datetime,
        ends_at: datetime,
        location: str | None = None,
    ) -> MeetingInfo:
        """Move a meeting: SEQUENCE + 1, every answer back to NEEDS-ACTION, a new REQUEST."""
        _check_times(starts_at, ends_at)
        row, people = await self._load(uid)
        if row.status == "cancelled":
            raise MeetingError("documents.meeting.cancelled", uid=uid)
        info = MeetingInfo.of(row)
        changed = replace(
            info,
            starts_at=starts_at.astimezone(UTC),
            ends_at=ends_at.astimezone(UTC),
            location=nfc(location).strip()[:500] if location is not None else info.location,
            sequence=info.sequence + 1,
        )
        await self._send(changed, people, "REQUEST", sender, rescheduled=True)
        async with self.store.write() as tx:
            repo = self._repo(tx)
            stored = await repo.meeting_by_uid(uid)
            if stored is not None:
                stored.starts_at, stored.ends_at = changed.starts_at, changed.ends_at
                stored.location = changed.location
                stored.sequence = changed.sequence
                for a in await repo.attendees(stored.id):
                    a.partstat, a.replied_at, a.comment = "NEEDS-ACTION", None, None
        return changed

    async def cancel(self, uid: str, *, sender: str) -> MeetingInfo:
        """Send the CANCEL (SEQUENCE + 1) and mark the meeting cancelled."""
        row, people = await self._load(uid)
        if row.status == "cancelled":
            raise MeetingError("documents.meeting.cancelled", uid=uid)
        info = MeetingInfo.of(row)
        cancelled = replace(info, sequence=info.sequence + 1)
        await self._send(cancelled, people, "CANCEL", sender)
        async with self.store.write() as tx:
            stored = await self._repo(tx).meeting_by_uid(uid)
            if stored is not None:
                stored.status = "cancelled"
                stored.sequence = cancelled.sequence
        return cancelled

    async def tally(self, uid: str) -> MeetingTally:
        async with self.store.read() as tx:
            repo = self._repo(tx)
            row = await repo.meeting_by_uid(uid)
            if row is None:
                raise MeetingError("documents.meeting.not_found", uid=uid)
            attendees = await repo.attendees(row.id)
            counts = {p: 0 for p in PARTSTATS}
            counts.update(await repo.partstat_counts(row.id))
            return MeetingTally(
                meeting_id=row.id,
                uid=row.uid,
                summary=row.summary,
                status=row.status,
                sequence=row.sequence,
                counts=counts,
                attendees=[
                    AttendeeState(a.address, a.name, a.partstat, a.replied_at, a.comment)
                    for a in attendees
                ],
            )

    async def apply_reply(
        self, itip: ItipMessage, *, from_address: str, recipients: Sequence[str]
    ) -> list[ReplyOutcome]:
        """Record the answers of a REPLY sent by ``from_address`` to ``recipients``."""
        if itip.method != "REPLY":
            return []
        sender = from_address.strip().lower()
        rcpts = {r.strip().lower() for r in recipients}
        outcomes: list[ReplyOutcome] = []
        async with self.store.write() as tx:
            repo = self._repo(tx)
            for ev in itip.events:
                meeting = await repo.meeting_by_uid(ev.uid)
                for ans in ev.answers:
                    applied, reason = await self._record(repo, meeting, ev, ans, sender, rcpts)
                    outcomes.append(
                        ReplyOutcome(ev.uid, ans.address, ans.partstat, applied, reason)
                    )
        return outcomes

    async def _record(
        self,
        repo: DocumentsExtraRepo,
        meeting: Meeting | None,
        ev: ItipEvent,
        ans: ItipAnswer,
        sender: str,
        recipients: set[str],
    ) -> tuple[bool, str]:
        if meeting is None:
            return False, "unknown meeting"
        if meeting.status == "cancelled":
            return False, "meeting cancelled"
        if meeting.organizer_address not in recipients:
            return False, "not addressed to the organizer"
        if sender not in (ans.address, ans.sent_by):
            return False, "attendee is not the sender"
        if ans.partstat not in PARTSTATS:
            return False, "unknown PARTSTAT"
        if ev.sequence < meeting.sequence:
            return False, "answer to an older version"
        row = await repo.attendee(meeting.id, ans.address)
        if row is None:
            return False, "not invited"
        if row.replied_at is not None and ev.dtstamp is not None and ev.dtstamp < row.replied_at:
            return False, "older than the answer counted"
        row.partstat = ans.partstat
        row.replied_at = ev.dtstamp or self.clock()
        row.comment = ans.comment
        if ans.name and not row.name:
            row.name = ans.name
        return True, "recorded"


class MeetingReplies:
    """After-delivery hook of the pipeline: counts iTIP REPLYs to stored meetings."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.meetings = Meetings(store, _no_delivery, clock=clock)
        self.recorded = 0

    async def __call__(self, env: Envelope, parsed: ParsedMessage, result: object) -> None:
        stored = getattr(result, "stored", None)
        if stored is None or not calendar_parts(parsed):
            return
        # The stored blob has the pipeline's trace fields in front: parse what is stored.
        raw = await self.store.blobs.get(stored.blob_sha256)
        message = parse_message(raw)
        from_address = message.from_addr or env.mail_from
        if not from_address:
            return
        for num in calendar_parts(message):
            try:
                itip = parse_itip(decoded_part(raw, message, num))
            except (ItipError, PartNotFound, ValueError) as exc:
                log.info("unreadable calendar part", extra={"reason": str(exc)})
                continue
            if itip.method != "REPLY":
                continue
            outcomes = await self.meetings.apply_reply(
                itip, from_address=from_address, recipients=env.rcpt_to
            )
            for o in outcomes:
                if o.applied:
                    self.recorded += 1
                else:
                    log.info(
                        "meeting reply not counted",
                        extra={"uid": o.uid, "attendee": o.address, "reason": o.reason},
                    )
            return


async def _no_delivery(env: Envelope, raw: bytes) -> object:
    raise RuntimeError("the reply hook sends nothing")
