"""Automatic "I am away" replies, run by the pipeline after a delivery is durable
(``Pipeline.after_delivery``), following RFC 3834 and the Sieve vacation rules (RFC 5230):

- no reply to the null sender, to mail marked ``Auto-Submitted`` (other than ``no``),
  to bulk, list or junk mail (``Precedence``, ``List-*``, ``X-Auto-Response-Suppress``),
  to system senders (MAILER-DAEMON, postmaster, ``owner-*``, ``*-request``, no-reply);
- no reply unless the mailbox's own address (or one of its aliases) is among the
  message's To/Cc or the envelope recipients: mail that arrived through a group or a
  blind copy to a list is not answered;
- at most one reply per sender per ``interval_days``;
- the reply is marked ``Auto-Submitted: auto-replied``, sent with a null return path
  and ``In-Reply-To``/``References``, and goes through ``Pipeline.deliver`` like any mail.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.utils import format_datetime

from govmail.delivery.envelope import Envelope
from govmail.mail.headers import (
    encode_header_value,
    format_address_header,
    make_message_id,
)
from govmail.mail.mimeparts import field_value, scan_header
from govmail.mail.parsed import ParsedMessage
from govmail.store.db import Store
from govmail.store.models import Mailbox, Vacation, utcnow
from govmail.store.repos.webmail import WebRepo

CACHE_SECONDS = 30.0
log = logging.getLogger("govmail.delivery.vacation")

# Folders whose copies are never answered: the sender's own Sent copy, junk, trash.
_SKIP_FOLDERS = {"\\Sent", "\\Junk", "\\Trash", "\\Drafts"}
_SYSTEM_LOCAL = re.compile(
    r"^(mailer-daemon|postmaster|listserv|majordomo|noreply|no-reply|do-not-reply|"
    r"donotreply|bounce[s]?|owner-.*|.*-request|.*-owner|.*-bounces?)$",
    re.I,
)

Deliver = Callable[[Envelope, bytes], Awaitable[object]]


def header_values(raw: bytes) -> dict[str, list[str]]:
    """Lower-cased field name -> decoded values of the top-level header of ``raw``."""
    scan = scan_header(raw, 0, len(raw))
    out: dict[str, list[str]] = {}
    for f in scan.fields:
        out.setdefault(f.name, []).append(field_value(raw, f).decode("utf-8", "replace"))
    return out


def refusal_reason(sender: str, headers: dict[str, list[str]]) -> str | None:
    """Why this message must not be answered automatically, or None when it may be."""
    if not sender or "@" not in sender:
        return "null sender"
    if _SYSTEM_LOCAL.match(sender.rsplit("@", 1)[0]):
        return "system sender"
    for value in headers.get("auto-submitted", ()):
        if value.split(";", 1)[0].strip().lower() != "no":
            return "auto-submitted"
    for value in headers.get("precedence", ()):
        if value.strip().lower() in ("bulk", "list", "junk"):
            return "precedence"
    if any(h in headers for h in ("list-id", "list-unsubscribe", "list-post", "list-help")):
        return "mailing list"
    for value in headers.get("x-auto-response-suppress", ()):
        if {"all", "oof", "autoreply"} & {v.strip().lower() for v in value.split(",")}:
            return "suppressed"
    return None


def reply_subject(vacation: Vacation, original: str) -> str:
    if vacation.subject.strip():
        return vacation.subject.strip()
    return f"Auto: {original}".strip() if original else "Auto"


def build_reply(
    mailbox: Mailbox, vacation: Vacation, to: str, parsed: ParsedMessage, hostname: str
) -> bytes:
    domain = mailbox.address.rsplit("@", 1)[1]
    refs = [*parsed.references[-10:], *([parsed.message_id] if parsed.message_id else [])]
    lines = [
        "From: "
        + format_address_header([(mailbox.full_name, mailbox.address)], header_name="From"),
        "To: " + format_address_header([(None, to)]),
        "Subject: " + encode_header_value(reply_subject(vacation, parsed.subject)),
        "Date: " + format_datetime(utcnow()),
        "Message-ID: " + make_message_id(domain),
    ]
    if parsed.message_id:
        lines.append("In-Reply-To: " + parsed.message_id)
    if refs:
        lines.append("References: " + " ".join(refs))
    lines += [
        "Auto-Submitted: auto-replied (vacation)",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    body = vacation.body.replace("\r\n", "\n").replace("\n", "\r\n")
    if not body.endswith("\r\n"):
        body += "\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


class VacationResponder:
    """The after-delivery hook. ``deliver`` is ``Pipeline.deliver`` (given late, since the
    pipeline is built with this hook in it)."""

    def __init__(self, store: Store, hostname: str, deliver: Deliver) -> None:
        self.store = store
        self.hostname = hostname
        self.deliver = deliver
        self.sent = 0
        self._known: tuple[float, set[int]] | None = None

    def invalidate(self, mailbox_id: int | None = None) -> None:
        """Forget which mailboxes have an auto-reply (the settings page changed one)."""
        self._known = None

    async def _any_vacation(self, mailbox_ids: set[int], now: datetime) -> bool:
        """Whether any of these mailboxes has an enabled auto-reply, from a set of the
        mailboxes with one, re-read every CACHE_SECONDS: most deliveries stop here."""
        mono = time.monotonic()
        if self._known is None or self._known[0] <= mono:
            async with self.store.read() as tx:
                ids = await WebRepo(tx.session, self.store.dialect).vacation_mailboxes(now)
            self._known = (mono + CACHE_SECONDS, ids)
        return bool(self._known[1] & mailbox_ids)

    async def __call__(self, env: Envelope, parsed: ParsedMessage, result: object) -> None:
        stored = getattr(result, "stored", None)
        if stored is None or getattr(result, "junk", False) or not stored.copies:
            return
        if env.source == "system" or not env.mail_from:
            return
        now = utcnow()
        if not await self._any_vacation({c.mailbox_id for c in stored.copies}, now):
            return
        async with self.store.read() as tx:
            repo = WebRepo(tx.session, self.store.dialect)
            folders = await repo.folders_by_ids([c.folder_id for c in stored.copies])
            ids = sorted(
                {
                    c.mailbox_id
                    for c in stored.copies
                    if c.folder_id in folders
                    and folders[c.folder_id].special_use not in _SKIP_FOLDERS
                }
            )
            vacations = await repo.active_vacations(ids, now)
            if not vacations:
                return
            mailboxes = {
                v.mailbox_id: await tx.directory.mailbox_by_id(v.mailbox_id) for v in vacations
            }
            aliases = {
                v.mailbox_id: {a.address for a in await tx.directory.aliases_of(v.mailbox_id)}
                for v in vacations
            }
        raw = await self.store.blobs.get(stored.blob_sha256)
        reason = refusal_reason(env.mail_from, header_values(raw))
        if reason is not None:
            log.debug("no vacation reply", extra={"reason": reason})
            return
        sender = env.mail_from.lower()
        addressed = {a.lower() for a in (*parsed.to_addrs, *parsed.cc_addrs, *env.rcpt_to)}
        for vacation in vacations:
            mailbox = mailboxes.get(vacation.mailbox_id)
            if mailbox is None or mailbox.status != "active" or sender == mailbox.address:
                continue
            if not ({mailbox.address} | aliases[vacation.mailbox_id]) & addressed:
                continue
            not_since = now - timedelta(days=max(1, vacation.interval_days))
            async with self.store.write() as tx:
                repo = WebRepo(tx.session, self.store.dialect)
                claimed = await repo.claim_vacation_reply(mailbox.id, sender, now, not_since)
            if not claimed:
                continue
            reply = build_reply(mailbox, vacation, env.mail_from, parsed, self.hostname)
            try:
                await self.deliver(Envelope("", [env.mail_from], "system"), reply)
                self.sent += 1
            except Exception:
                log.exception("vacation reply failed", extra={"mailbox": mailbox.address})
