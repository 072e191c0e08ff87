"""The e-mail form of official documents and status messages: a human-readable body in
Vietnamese (readable by any mail client), the files as attachments (each with a
Content-ID the edXML manifest refers to as ``cid:``), and the edXML package as an
``application/xml`` attachment. Pure: no I/O.
"""

from __future__ import annotations

import base64
import quopri
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from govmail.mail.headers import (
    encode_header_value,
    format_address_header,
    format_param,
    make_message_id,
)
from govmail.mail.textfold import nfc

__all__ = ["MailFile", "build_mail", "new_content_id"]


@dataclass(slots=True)
class MailFile:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""  # without "<>" or "cid:"


def new_content_id(domain: str) -> str:
    return f"{secrets.token_hex(12)}@{domain}"


def _b64(data: bytes) -> bytes:
    enc = base64.b64encode(data)
    return b"\r\n".join(enc[i : i + 76] for i in range(0, len(enc), 76)) + b"\r\n"


def _text_part(body: str) -> tuple[list[str], bytes]:
    text = nfc(body).replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    qp = quopri.encodestring(text.encode("utf-8")).replace(b"\n", b"\r\n")
    return [
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
    ], qp


def _safe_type(content_type: str) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = ctype.partition("/")
    ok = main and sub and all(c.isalnum() or c in "-+.!#$&^_" for c in main + sub)
    return ctype if ok else "application/octet-stream"


def _name(filename: str) -> str:
    return nfc(filename).replace("\r", " ").replace("\n", " ").strip() or "tep-dinh-kem"


def build_mail(
    *,
    from_name: str,
    from_addr: str,
    to: Sequence[tuple[str | None, str]],
    subject: str,
    body: str,
    files: Sequence[MailFile],
    package: bytes | None,
    package_name: str,
    date: datetime,
    headers: Sequence[tuple[str, str]] = (),
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> bytes:
    """A multipart/mixed message: text, files, then the edXML package (when there is one).
    CRLF line ends."""
    domain = from_addr.rsplit("@", 1)[-1]
    head = ["From: " + format_address_header([(from_name, from_addr)], header_name="From")]
    head.append("To: " + format_address_header(list(to), header_name="To"))
    head.append("Subject: " + encode_header_value(nfc(subject)))
    head.append("Date: " + format_datetime(date))
    head.append("Message-ID: " + (message_id or make_message_id(domain)))
    if in_reply_to:
        head.append("In-Reply-To: " + in_reply_to)
    if references:
        head.append("References: " + " ".join(list(references)[-20:]))
    for name, value in headers:
        head.append(f"{name}: {encode_header_value(value, header_name=name)}")
    head.append("MIME-Version: 1.0")
    boundary = "=_govmail_doc_" + secrets.token_hex(12)
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    out = [("\r\n".join(head) + "\r\n\r\n").encode()]
    out.append(b"This is a multi-part message in MIME format.\r\n")
    text_headers, text_body = _text_part(body)
    out.append(f"--{boundary}\r\n".encode() + ("\r\n".join(text_headers) + "\r\n\r\n").encode())
    out.append(text_body)
    for f in files:
        name = _name(f.filename)
        part = [
            f"Content-Type: {_safe_type(f.content_type)}; {format_param('name', name)}",
            f"Content-Disposition: attachment; {format_param('filename', name)}",
            "Content-Transfer-Encoding: base64",
        ]
        if f.content_id:
            part.append(f"Content-ID: <{f.content_id}>")
        out.append(f"--{boundary}\r\n".encode() + ("\r\n".join(part) + "\r\n\r\n").encode())
        out.append(_b64(f.data))
    if package is not None:
        pname = _name(package_name)
        part = [
            f"Content-Type: application/xml; charset=utf-8; {format_param('name', pname)}",
            f"Content-Disposition: attachment; {format_param('filename', pname)}",
            "Content-Transfer-Encoding: base64",
        ]
        out.append(f"--{boundary}\r\n".encode() + ("\r\n".join(part) + "\r\n\r\n").encode())
        out.append(_b64(package))
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)
