"""Reminders (R10): a digest e-mail, at fixed times of day, of what each person has to do.

At every configured slot (default 08:00 and 13:30, Asia/Ho_Chi_Minh) the service asks its
sources for digests — per recipient, lines of kind "unread" (official documents not yet
read), "deadline" (processing deadline due or just passed) and "unregistered" (arrivals the
clerk has not registered) — merges them per recipient, and sends each recipient one e-mail,
Vietnamese first and English second, through ``Pipeline.deliver`` with a null return path
and ``Auto-Submitted: auto-generated``. A recipient with nothing to say gets nothing.

A slot is claimed in the database (``reminder_slot_run``) before anything is sent, so it
is done once even across restarts or with several instances (at most once: a crash
between the claim and the sending skips that slot rather than sending it twice). A slot
missed while the server was down is still done if the server comes back within
``grace`` (3 hours by default); later it is skipped, since a morning reminder in the
evening helps nobody.

``MailboxEdxmlSource`` works on plain mail without the documents core: unread messages in
the INBOX of agency mailboxes a person handles that carry an edXML envelope (QCVN
102:2016 namespace), and the DueDate those envelopes declare.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any, Literal, Protocol
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from govmail.delivery.envelope import Envelope
from govmail.i18n import t
from govmail.mail.headers import make_message_id
from govmail.mail.parsed import ParsedMessage, PartNotFound, decoded_part
from govmail.services import cancel_and_wait
from govmail.store.db import Store
from govmail.store.models import utcnow
from govmail.store.repos.documents_extra import CandidateMessage, DocumentsExtraRepo

log = logging.getLogger("govmail.documents.reminders")

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
LineKind = Literal["unread", "deadline", "unregistered"]
KINDS: tuple[LineKind, ...] = ("unregistered", "unread", "deadline")
Deliver = Callable[[Envelope, bytes], Awaitable[object]]
Clock = Callable[[], datetime]
_SLOT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_WAIT = 300.0  # seconds between wake-ups at most (follows clock changes)


class ReminderConfigError(ValueError):
    """A reminder time or time zone that cannot be used."""


@dataclass(frozen=True, slots=True)
class DigestLine:
    kind: LineKind
    title: str  # trích yếu, or the subject
    number_symbol: str | None  # "22/BC-BTTTT"
    due: datetime | None  # deadline; a date-only deadline is local midnight of that day
    link: str | None  # where to open it (web URL), if known


@dataclass(slots=True)
class Digest:
    recipient_address: str
    lines: list[DigestLine] = field(default_factory=list)


class ReminderSource(Protocol):
    async def digests(self, now: datetime) -> list[Digest]: ...


# -- slots --------------------------------------------------------------------------------


def parse_slots(times: Sequence[str]) -> list[time]:
    out: set[time] = set()
    for text in times:
        m = _SLOT.match(text.strip())
        if not m:
            raise ReminderConfigError(f"reminder time {text!r} is not HH:MM")
        out.add(time(int(m.group(1)), int(m.group(2))))
    return sorted(out)


def slot_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` ``at`` (a time skipped by a DST jump moves on)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def latest_slots(now: datetime, slots: Sequence[time], tz: ZoneInfo) -> dict[str, datetime]:
    """For each slot ("HH:MM"), its last instant at or before ``now``."""
    today = now.astimezone(tz).date()
    out: dict[str, datetime] = {}
    for at in slots:
        instant = slot_instant(today, at, tz)
        if instant > now:
            instant = slot_instant(today - timedelta(days=1), at, tz)
        out[at.strftime("%H:%M")] = instant
    return out


def next_slot(now: datetime, slots: Sequence[time], tz: ZoneInfo) -> datetime:
    """The first slot instant strictly after ``now``."""
    today = now.astimezone(tz).date()
    candidates = [
        slot_instant(today + timedelta(days=d), at, tz) for d in (0, 1, 2) for at in slots
    ]
    return min(c for c in candidates if c > now)


# -- the digest e-mail --------------------------------------------------------------------


def _when(value: datetime, tz: ZoneInfo) -> str:
    local = value.astimezone(tz)
    if local.time() == time(0, 0):
        return local.strftime("%d/%m/%Y")
    return local.strftime("%H:%M %d/%m/%Y")


def _line_text(line: DigestLine, lang: str, tz: ZoneInfo, now: datetime) -> str:
    text = f"{line.number_symbol} — {line.title}" if line.number_symbol else line.title
    if line.due is not None:
        overdue = line.due.astimezone(tz).date() < now.astimezone(tz).date()
        key = "documents.reminder.overdue" if overdue else "documents.reminder.due"
        text += " (" + t(key, lang, date=_when(line.due, tz)) + ")"
    return text


def _sections(
    digest: Digest, lang: str, tz: ZoneInfo, now: datetime
) -> list[tuple[str, list[tuple[str, str | None]]]]:
    out = []
    for kind in KINDS:
        lines = [line for line in digest.lines if line.kind == kind]
        if lines:
            heading = t(f"documents.reminder.section_{kind}", lang, count=len(lines))
            out.append((heading, [(_line_text(x, lang, tz, now), x.link) for x in lines]))
    return out


def digest_text(digest: Digest, tz: ZoneInfo, now: datetime) -> tuple[str, str]:
    """(plain text, HTML) of the digest: the Vietnamese part, then the English part."""
    stamp = now.astimezone(tz).strftime("%H:%M %d/%m/%Y")
    plain: list[str] = []
    rich: list[str] = []
    for lang in ("vi", "en"):
        title = t("documents.reminder.title", lang, when=stamp)
        plain += [title, ""]
        rich.append(f'<section lang="{lang}"><h2>{html.escape(title)}</h2>')
        for heading, items in _sections(digest, lang, tz, now):
            plain.append(heading)
            rich.append(f"<h3>{html.escape(heading)}</h3><ul>")
            for text, link in items:
                plain.append(f"- {text}")
                if link:
                    plain.append(f"  {link}")
                    href = html.escape(link, quote=True)
                    rich.append(f'<li><a href="{href}">{html.escape(text)}</a></li>')
                else:
                    rich.append(f"<li>{html.escape(text)}</li>")
            plain.append("")
            rich.append("</ul>")
        footer = t("documents.reminder.footer", lang)
        plain += [footer, ""]
        rich.append(f"<p><small>{html.escape(footer)}</small></p></section>")
        if lang == "vi":
            plain += ["-" * 40, ""]
            rich.append("<hr>")
    body_html = (
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        + "".join(rich)
        + "</body></html>\n"
    )
    return "\n".join(plain).rstrip() + "\n", body_html


def build_digest_message(digest: Digest, tz: ZoneInfo, now: datetime) -> bytes:
    """The whole e-mail for one digest (multipart/alternative, UTF-8, CRLF)."""
    domain = digest.recipient_address.rsplit("@", 1)[-1]
    count = len(digest.lines)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{t('documents.reminder.sender', 'vi')} <no-reply@{domain}>"
    msg["To"] = digest.recipient_address
    msg["Subject"] = " / ".join(
        t("documents.reminder.subject", lang, count=count) for lang in ("vi", "en")
    )
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = make_message_id(domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"
    msg["X-Auto-Response-Suppress"] = "All"
    text, body_html = digest_text(digest, tz, now)
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(body_html, subtype="html", charset="utf-8")
    return msg.as_bytes()


def merge_digests(digests: Sequence[Digest]) -> list[Digest]:
    """One digest per recipient (addresses compared case-insensitively), duplicate lines
    (same kind, number and title) dropped, recipients with no line left out."""
    merged: dict[str, Digest] = {}
    seen: dict[str, set[tuple[str, str | None, str]]] = {}
    for d in digests:
        key = d.recipient_address.strip().lower()
        if "@" not in key:
            continue
        target = merged.setdefault(key, Digest(key))
        marks = seen.setdefault(key, set())
        for line in d.lines:
            mark = (line.kind, line.number_symbol, line.title)
            if mark not in marks:
                marks.add(mark)
                target.lines.append(line)
    return [d for d in merged.values() if d.lines]


# -- the service --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotRun:
    """What one call of ``run_due`` did."""

    slots: list[str]  # slots claimed by this call
    sent: list[str]  # recipients who got a digest
    failed: list[str]  # recipients whose digest the pipeline refused


class ReminderService:
    """Background service "reminders". ``deliver`` is ``Pipeline.deliver``; ``sources``
    are asked for digests at each slot and their answers merged per recipient. Slots fall
    on ``weekdays`` only (Monday to Friday by default; public holidays are not known)."""

    name = "reminders"

    def __init__(
        self,
        store: Store,
        deliver: Deliver,
        sources: Sequence[ReminderSource],
        *,
        times: Sequence[str] = ("08:00", "13:30"),
        timezone: str = "Asia/Ho_Chi_Minh",
        weekdays: Sequence[int] = (1, 2, 3, 4, 5),
        grace: timedelta = timedelta(hours=3),
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.deliver = deliver
        self.sources = list(sources)
        self.slots = parse_slots(times)
        if not set(weekdays) <= set(range(1, 8)):
            raise ReminderConfigError(f"weekdays must be ISO day numbers 1-7, not {weekdays!r}")
        self.weekdays = frozenset(weekdays)
        try:
            self.tz = ZoneInfo(timezone)
        except (KeyError, ValueError) as exc:
            raise ReminderConfigError(f"unknown time zone {timezone!r}") from exc
        self.grace = grace
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.sent = 0

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="reminders")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    def due_slots(self, now: datetime, done: dict[str, datetime]) -> dict[str, datetime]:
        """Slots whose latest instant is on a working day (``weekdays``, ISO numbers),
        within ``grace`` before ``now``, and not done yet."""
        return {
            slot: instant
            for slot, instant in latest_slots(now, self.slots, self.tz).items()
            if now - instant <= self.grace
            and instant.astimezone(self.tz).isoweekday() in self.weekdays
            and (slot not in done or done[slot] < instant)
        }

    async def run_due(self, now: datetime | None = None) -> SlotRun:
        """Claim every due slot and, if any was claimed, send the digests once."""
        now = now or self.clock()
        if not self.slots:
            return SlotRun([], [], [])
        async with self.store.read() as tx:
            done = await DocumentsExtraRepo(tx.session, self.store.dialect).slot_runs()
        due = self.due_slots(now, done)
        if not due:
            return SlotRun([], [], [])
        claimed: list[str] = []
        async with self.store.write() as tx:
            repo = DocumentsExtraRepo(tx.session, self.store.dialect)
            for slot, instant in sorted(due.items(), key=lambda kv: kv[1]):
                if await repo.claim_slot(slot, instant):
                    claimed.append(slot)
        if not claimed:
            return SlotRun([], [], [])
        self.runs += 1
        sent, failed = await self._send_all(now)
        async with self.store.write() as tx:
            repo = DocumentsExtraRepo(tx.session, self.store.dialect)
            for slot in claimed:
                await repo.record_slot_sent(slot, len(sent))
        log.info(
            "reminders sent",
            extra={"slots": ",".join(claimed), "sent": len(sent), "failed": len(failed)},
        )
        return SlotRun(claimed, sent, failed)

    async def _send_all(self, now: datetime) -> tuple[list[str], list[str]]:
        collected: list[Digest] = []
        for source in self.sources:
            try:
                collected.extend(await source.digests(now))
            except Exception:  # one broken source must not silence the others
                log.exception("reminder source failed", extra={"source": type(source).__name__})
        sent: list[str] = []
        failed: list[str] = []
        for digest in merge_digests(collected):
            raw = build_digest_message(digest, self.tz, now)
            try:
                await self.deliver(Envelope("", [digest.recipient_address], "system"), raw)
            except Exception:
                log.exception("reminder not delivered", extra={"to": digest.recipient_address})
                failed.append(digest.recipient_address)
                continue
            sent.append(digest.recipient_address)
            self.sent += 1
        return sent, failed

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reminder run failed")
            now = self.clock()
            wait = (next_slot(now, self.slots, self.tz) - now).total_seconds() if self.slots else 0
            await asyncio.sleep(min(max(wait, 1.0), MAX_WAIT))


# -- the plain-mail source ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EdxmlSummary:
    """What a reminder needs from an edXML envelope (QCVN 102:2016)."""

    subject: str | None
    number_symbol: str | None
    due: date | None


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _child_text(parent: Element, name: str) -> str | None:
    for child in parent:
        if _local(child.tag)[1] == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def parse_edxml_date(text: str | None) -> date | None:
    """``yyyy/MM/dd`` (also ``yyyy-MM-dd``, with an optional time after it)."""
    if not text:
        return None
    m = re.match(r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})", text)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def edxml_summary(data: bytes) -> EdxmlSummary | None:
    """Subject, number/notation and DueDate of an edXML document envelope; None when
    ``data`` is not XML, not in the QCVN 102:2016 namespace, or not a document (a status
    package). Entities and DTDs are refused (defusedxml)."""
    if EDXML_NS.encode() not in data:
        return None
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    header = None
    for el in root.iter():
        if _local(el.tag) == (EDXML_NS, "MessageHeader"):
            header = el
            break
    if header is None:
        return None
    number = notation = None
    for child in header:
        if _local(child.tag)[1] == "Code":
            number = _child_text(child, "CodeNumber")
            notation = _child_text(child, "CodeNotation")
    if number and notation:
        number_symbol: str | None = f"{number}/{notation}"
    else:
        number_symbol = number or notation
    return EdxmlSummary(
        subject=_child_text(header, "Subject"),
        number_symbol=number_symbol,
        due=parse_edxml_date(_child_text(header, "DueDate")),
    )


def _xml_like(att: dict[str, Any]) -> bool:
    ctype = str(att.get("content_type") or "").lower()
    name = str(att.get("filename") or "").lower()
    return ctype in ("application/xml", "text/xml") or name.endswith((".edxml", ".xml"))


@dataclass(frozen=True, slots=True)
class _Found:
    candidate: CandidateMessage
    summary: EdxmlSummary


_Pending = tuple[CandidateMessage, dict[str, Any], list[str]]


class MailboxEdxmlSource:
    """Reminders from plain mail: edXML envelopes in agency mailboxes' INBOX.

    - a handler of an agency mailbox gets "unread" lines for its unread edXML messages
      (a clerk gets them as "unregistered": without the documents core, an arrival the
      clerk has not opened has not been registered either);
    - every handler gets "deadline" lines for edXML messages (read or not) received in
      the last ``lookback`` whose DueDate is from ``overdue_days`` ago to tomorrow.
    ``web_url`` (e.g. "https://mail.mic.gov.vn") makes lines link to the webmail.
    """

    def __init__(
        self,
        store: Store,
        *,
        timezone: str = "Asia/Ho_Chi_Minh",
        web_url: str | None = None,
        lookback: timedelta = timedelta(days=30),
        overdue_days: int = 3,
        per_mailbox_limit: int = 500,
    ) -> None:
        self.store = store
        self.tz = ZoneInfo(timezone)
        self.web_url = web_url.rstrip("/") if web_url else None
        self.lookback = lookback
        self.overdue_days = overdue_days
        self.per_mailbox_limit = per_mailbox_limit

    async def digests(self, now: datetime) -> list[Digest]:
        async with self.store.read() as tx:
            repo = DocumentsExtraRepo(tx.session, self.store.dialect)
            handlers = await repo.agency_handlers()
            pending: dict[int, list[_Pending]] = {}
            for mailbox_id in sorted({h.agency_mailbox_id for h in handlers}):
                candidates = await repo.inbox_candidates(
                    [mailbox_id], now - self.lookback, self.per_mailbox_limit
                )
                pending[mailbox_id] = await self._xml_candidates(repo, candidates)
        # Blobs are read after the transaction: no read transaction held across file I/O.
        found = {mb: await self._edxml_messages(items) for mb, items in pending.items()}
        today = now.astimezone(self.tz).date()
        first_due, last_due = today - timedelta(days=self.overdue_days), today + timedelta(days=1)
        digests: dict[str, Digest] = {}
        for h in handlers:
            digest = digests.setdefault(h.person_address, Digest(h.person_address))
            for f in found.get(h.agency_mailbox_id, []):
                c, s = f.candidate, f.summary
                title = s.subject or c.subject or "(không tiêu đề)"
                link = f"{self.web_url}/mail/f/{c.folder_id}/m/{c.uid}" if self.web_url else None
                due = (
                    datetime.combine(s.due, time(0, 0), tzinfo=self.tz).astimezone(UTC)
                    if s.due
                    else None
                )
                if not c.seen:
                    kind: LineKind = "unregistered" if h.is_clerk else "unread"
                    digest.lines.append(DigestLine(kind, title, s.number_symbol, due, link))
                if s.due is not None and first_due <= s.due <= last_due:
                    digest.lines.append(DigestLine("deadline", title, s.number_symbol, due, link))
        return [d for d in digests.values() if d.lines]

    @staticmethod
    async def _xml_candidates(
        repo: DocumentsExtraRepo, candidates: Sequence[CandidateMessage]
    ) -> list[_Pending]:
        out: list[_Pending] = []
        for c in candidates:
            parts = [
                str(a.get("part", ""))
                for a in c.attachments
                if isinstance(a, dict) and _xml_like(a)
            ]
            if not parts:
                continue
            meta = await repo.message_meta(c.message_id)
            if isinstance(meta, dict):
                out.append((c, meta, parts))
        return out

    async def _edxml_messages(self, items: Sequence[_Pending]) -> list[_Found]:
        out: list[_Found] = []
        for c, meta, parts in items:
            try:
                parsed = ParsedMessage.from_dict(meta | {"text_for_search": ""})
                raw = await self.store.blobs.get(c.blob_sha256)
            except Exception:  # unreadable metadata or blob: nothing to remind about
                log.warning("reminder source skipped a message", extra={"id": c.message_id})
                continue
            for part in parts:
                try:
                    data = decoded_part(raw, parsed, part)
                except (PartNotFound, ValueError):
                    continue
                summary = edxml_summary(data)
                if summary is not None:
                    out.append(_Found(c, summary))
                    break
        return out
