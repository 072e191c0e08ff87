"""Build the RFC 5322 / MIME message a web user composes: UTF-8 text, attachments with
Vietnamese file names (RFC 2231), Vietnamese subjects and names (RFC 2047)."""

from __future__ import annotations

import base64
import quopri
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from govmail.mail.headers import (
    encode_header_value,
    format_address_header,
    format_param,
    make_message_id,
)
from govmail.mail.textfold import nfc


@dataclass(slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Draft:
    """What the compose form holds."""

    from_name: str
    from_addr: str
    to: list[tuple[str | None, str]] = field(default_factory=list)
    cc: list[tuple[str | None, str]] = field(default_factory=list)
    bcc: list[tuple[str | None, str]] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _b64_lines(data: bytes) -> bytes:
    enc = base64.b64encode(data)
    return b"\r\n".join(enc[i : i + 76] for i in range(0, len(enc), 76)) + b"\r\n"


def _text_part(body: str) -> tuple[list[str], bytes]:
    text = nfc(body).replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    data = text.replace("\n", "\r\n").encode("utf-8")
    if data.isascii() and all(len(line) <= 998 for line in data.split(b"\r\n")):
        return ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 7bit"], data
    qp = quopri.encodestring(data.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    return [
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
    ], qp


def _safe_type(content_type: str) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = ctype.partition("/")
    ok = main and sub and all(c.isalnum() or c in "-+.!#$&^_" for c in main + sub)
    return ctype if ok else "application/octet-stream"


def build_message(
    draft: Draft, *, date: datetime, message_id: str | None = None, keep_bcc: bool = False
) -> bytes:
    """The raw message, CRLF line ends. ``keep_bcc`` writes Bcc (drafts only, never sent)."""
    domain = draft.from_addr.rsplit("@", 1)[-1]
    headers = [
        "From: " + format_address_header([(draft.from_name, draft.from_addr)], header_name="From")
    ]
    if draft.to:
        headers.append("To: " + format_address_header(draft.to, header_name="To"))
    if draft.cc:
        headers.append("Cc: " + format_address_header(draft.cc, header_name="Cc"))
    if keep_bcc and draft.bcc:
        headers.append("Bcc: " + format_address_header(draft.bcc, header_name="Bcc"))
    if draft.subject.strip():
        headers.append("Subject: " + encode_header_value(nfc(draft.subject)))
    headers.append("Date: " + format_datetime(date))
    headers.append("Message-ID: " + (message_id or make_message_id(domain)))
    if draft.in_reply_to:
        headers.append("In-Reply-To: " + draft.in_reply_to)
    if draft.references:
        headers.append("References: " + " ".join(draft.references[-20:]))
    headers.append("MIME-Version: 1.0")
    text_headers, text_body = _text_part(draft.body)
    if not draft.attachments:
        return ("\r\n".join(headers + text_headers) + "\r\n\r\n").encode() + text_body

    boundary = "=_govmail_" + secrets.token_hex(12)
    headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    out = [("\r\n".join(headers) + "\r\n\r\n").encode()]
    out.append(b"This is a multi-part message in MIME format.\r\n")
    out.append(f"--{boundary}\r\n".encode() + ("\r\n".join(text_headers) + "\r\n\r\n").encode())
    out.append(text_body)
    for att in draft.attachments:
        name = nfc(att.filename).replace("\r", " ").replace("\n", " ") or "file"
        part_headers = [
            f"Content-Type: {_safe_type(att.content_type)}; {format_param('name', name)}",
            f"Content-Disposition: attachment; {format_param('filename', name)}",
            "Content-Transfer-Encoding: base64",
        ]
        out.append(f"--{boundary}\r\n".encode() + ("\r\n".join(part_headers) + "\r\n\r\n").encode())
        out.append(_b64_lines(att.data))
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def reply_subject(subject: str, prefix: str = "Re:") -> str:
    s = subject.strip()
    lowered = s.lower()
    if lowered.startswith(("re:", "tl:", "trả lời:")) and prefix == "Re:":
        return s
    if lowered.startswith(("fwd:", "fw:", "chuyển tiếp:")) and prefix == "Fwd:":
        return s
    return f"{prefix} {s}".strip()


def quote_text(text: str) -> str:
    return "\n".join(
        ("> " + line) if line and not line.startswith(">") else (">" + line)
        for line in text.replace("\r\n", "\n").split("\n")
    )


def addresses_of(pairs: Sequence[tuple[str | None, str]]) -> list[str]:
    return [a for _, a in pairs]
