"""Delivery status notifications (RFC 3464): the bounce and the delay notice.

A DSN is a multipart/report (RFC 6522) with three parts: a text for people (Vietnamese,
then English; UTF-8, quoted-printable), the machine-readable message/delivery-status,
and the original message's header as text/rfc822-headers. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import email.quoprimime
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import Literal
from zoneinfo import ZoneInfo

from govmail.i18n import catalogue, t

Kind = Literal["failed", "delayed"]
CRLF = "\r\n"
_SEPARATOR = "-" * 60


@dataclass(frozen=True, slots=True)
class DsnRecipient:
    address: str
    status: str  # enhanced status code, e.g. "5.1.1"
    remote_mta: str | None = None  # host name of the server that replied
    reply: str | None = None  # its reply, one line: "550 5.1.1 no such user"
    problem: str | None = None  # a "dsn.reason.*" key suffix when we diagnosed it ourselves
    detail: str = ""
    last_attempt: datetime | None = None
    expired: bool = False  # given up because the retry period ran out


@dataclass(frozen=True, slots=True)
class DsnReport:
    kind: Kind
    reporting_mta: str  # our host name
    original_sender: str  # who gets the notice
    arrival: datetime  # when we accepted the original message
    recipients: Sequence[DsnRecipient]
    original: bytes = b""  # the original message (only its header is used)
    will_retry_until: datetime | None = None  # for "delayed"
    lifetime_hours: int = 0  # how long we retry, for the "expired" reason
    timezone: str = "Asia/Ho_Chi_Minh"  # for the times shown to people
    extra: dict[str, str] = field(default_factory=dict)  # more per-message fields


def header_block(raw: bytes) -> bytes:
    """The header section of a message, CRLF line endings, without the blank line."""
    m = re.search(rb"\r?\n\r?\n", raw)
    head = raw[: m.start()] if m else raw
    lines = re.split(rb"\r?\n", head)
    return b"\r\n".join(lines) + b"\r\n" if head else b""


def _original_fields(headers: bytes) -> tuple[str, str | None]:
    """(subject, message-id) of the original, decoded; tolerant of broken headers."""
    try:
        msg = BytesHeaderParser(policy=default_policy).parsebytes(headers + b"\r\n")
        subject = str(msg.get("Subject", "") or "")
        mid = str(msg.get("Message-ID", "") or "").strip() or None
    except Exception:
        return "", None
    subject = " ".join(subject.split())
    if mid and not re.fullmatch(r"<[^<>\s]+>", mid):
        mid = None
    return subject, mid


def _ascii(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def _fold(name: str, value: str, width: int = 78) -> str:
    """A header field, folded at spaces (RFC 5322 §2.2.3) so lines stay short."""
    words = value.split(" ")
    lines: list[str] = []
    line = f"{name}:"
    for w in words:
        if len(line) + 1 + len(w) > width and line.strip() and not line.endswith(":"):
            lines.append(line)
            line = " " + w
        else:
            line = f"{line} {w}"
    lines.append(line)
    return CRLF.join(lines)


def _xtext_addr(address: str) -> tuple[str, str]:
    """(address type, address) for Final-Recipient; non-ASCII per RFC 6533 xtext."""
    if address.isascii():
        return "rfc822", address
    out = "".join(c if c.isascii() and c not in "\\+=" and ord(c) > 32 else f"\\x{{{ord(c):X}}}"
                  for c in address)
    return "utf-8", out


def _human_time(dt: datetime, tz: str) -> str:
    local = dt.astimezone(ZoneInfo(tz))
    off = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M} (UTC{off[:3]}:{off[3:]})"


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1] if "@" in address else address


def _human_text(report: DsnReport, subject: str, lang: str) -> str:
    tz = report.timezone
    arrival = _human_time(report.arrival, tz)
    out = [t("dsn.heading", lang, hostname=report.reporting_mta), ""]
    out.append(t(f"dsn.{report.kind}.intro", lang, arrival=arrival, subject=subject))
    out.append("")
    for r in report.recipients:
        out.append("  " + t("dsn.recipient", lang, address=r.address))
        if r.reply:
            out.append(
                "    " + t("dsn.remote_reply", lang, remote=r.remote_mta or "?", reply=r.reply)
            )
        keys = [r.problem] if r.problem else []
        if r.expired:
            keys.append("expired")
        if not keys and not r.reply:
            keys.append("unknown")
        for key in keys:
            if f"dsn.reason.{key}" not in catalogue("en"):
                key = "unknown"
            reason = t(
                f"dsn.reason.{key}",
                lang,
                domain=_domain_of(r.address),
                detail=r.detail,
                hours=report.lifetime_hours,
            )
            out.append("    " + t("dsn.reason", lang, reason=reason))
    out.append("")
    until = _human_time(report.will_retry_until, tz) if report.will_retry_until else ""
    out.append(t(f"dsn.{report.kind}.next", lang, until=until))
    if report.original:
        out += ["", t("dsn.attached", lang)]
    return "\n".join(out)


def _delivery_status(report: DsnReport) -> str:
    msg_fields = [
        f"Reporting-MTA: dns; {report.reporting_mta}",
        f"Arrival-Date: {format_datetime(report.arrival.astimezone(UTC))}",
        *(f"{k}: {_ascii(v)}" for k, v in report.extra.items()),
    ]
    blocks = [CRLF.join(msg_fields)]
    action = "failed" if report.kind == "failed" else "delayed"
    for r in report.recipients:
        addr_type, addr = _xtext_addr(r.address)
        f = [f"Final-Recipient: {addr_type}; {addr}", f"Action: {action}", f"Status: {r.status}"]
        if r.remote_mta:
            f.append(f"Remote-MTA: dns; {_ascii(r.remote_mta)}")
        if r.reply:
            f.append(_fold("Diagnostic-Code", f"smtp; {_ascii(r.reply)}"))
        elif r.detail:
            f.append(_fold("Diagnostic-Code", f"X-govmail; {_ascii(r.detail)}"))
        if r.last_attempt:
            f.append(f"Last-Attempt-Date: {format_datetime(r.last_attempt.astimezone(UTC))}")
        if report.kind == "delayed" and report.will_retry_until:
            until = format_datetime(report.will_retry_until.astimezone(UTC))
            f.append(f"Will-Retry-Until: {until}")
        blocks.append(CRLF.join(f))
    return (CRLF + CRLF).join(blocks) + CRLF


def _encoded_header(name: str, value: str) -> str:
    if value.isascii():
        return _fold(name, value)
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def build_dsn(
    report: DsnReport, *, now: datetime | None = None, message_id: str | None = None
) -> bytes:
    """The complete notice, ready to be handed to the pipeline (CRLF line endings)."""
    if not report.recipients:
        raise ValueError("a delivery status notification needs at least one recipient")
    now = now or datetime.now(UTC)
    headers = header_block(report.original) if report.original else b""
    orig_subject, orig_mid = _original_fields(headers)
    shown_subject = orig_subject[:150] or None

    key = f"dsn.subject.{report.kind}"
    subject = f"{t(key, 'vi')} / {t(key, 'en')}"
    if shown_subject:
        subject += f": {shown_subject}"
    text = (
        _human_text(report, shown_subject or t("dsn.no_subject", "vi"), "vi")
        + f"\n\n{_SEPARATOR}\n\n"
        + _human_text(report, shown_subject or t("dsn.no_subject", "en"), "en")
    )
    qp = email.quoprimime.body_encode(
        text.encode("utf-8").decode("latin-1"), maxlinelen=76, eol=CRLF
    )

    boundary = f"=_govmail-dsn-{secrets.token_hex(12)}"
    mid = message_id or f"<dsn.{secrets.token_hex(12)}@{report.reporting_mta}>"
    lines = [
        f"From: Mail Delivery System <MAILER-DAEMON@{report.reporting_mta}>",
        f"To: {report.original_sender}",
        _encoded_header("Subject", subject),
        f"Date: {format_datetime(now.astimezone(UTC))}",
        f"Message-ID: {mid}",
    ]
    if orig_mid:
        lines += [f"In-Reply-To: {orig_mid}", f"References: {orig_mid}"]
    lines += [
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;" + CRLF
        + f' boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated delivery status notification (RFC 3464).",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        qp,
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        _delivery_status(report),
        f"--{boundary}",
    ]
    out = CRLF.join(lines).encode("utf-8")
    if headers:
        part = [
            "Content-Description: Undelivered message header"
            if report.kind == "failed"
            else "Content-Description: Delayed message header",
            "Content-Type: text/rfc822-headers",
        ]
        if not headers.isascii():
            part.append("Content-Transfer-Encoding: 8bit")
        out += (CRLF + CRLF.join(part) + CRLF + CRLF).encode() + headers
        out += f"{CRLF}--{boundary}--{CRLF}".encode()
    else:
        out = out[: -len(f"--{boundary}")] + f"--{boundary}--{CRLF}".encode()
    return out
