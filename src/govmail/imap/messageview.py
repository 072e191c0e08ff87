"""A stored message as IMAP shows it: flags, ENVELOPE, BODY/BODYSTRUCTURE, header sections.

Everything here works from what delivery stored (the ``meta`` JSON of
``mail.parsed.ParsedMessage`` and the flag columns) or from the message's header block,
never from a re-parse of the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from govmail.imap.protocol.structure import (
    Address,
    BodyPart,
    BodyStructure,
    Disposition,
    Envelope,
    Multipart,
    encode_body_structure,
    encode_envelope,
)
from govmail.imap.protocol.values import MAX_QUOTED, NIL, literal
from govmail.mail.mimeparts import scan_header

_NEEDS_LITERAL = re.compile(rb"[\x00\r\n]")

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
COMMON_KEYWORDS = ("$Forwarded", "$MDNSent", "$Junk", "$NotJunk", "$Phishing", "$Important")


def flag_names(
    seen: bool,
    answered: bool,
    flagged: bool,
    deleted: bool,
    draft: bool,
    keywords: str,
    recent: bool = False,
) -> list[str]:
    out: list[str] = []
    if seen:
        out.append("\\Seen")
    if answered:
        out.append("\\Answered")
    if flagged:
        out.append("\\Flagged")
    if deleted:
        out.append("\\Deleted")
    if draft:
        out.append("\\Draft")
    if recent:
        out.append("\\Recent")
    if keywords:
        out.extend(keywords.split())
    return out


# --------------------------------------------------------------------------- ENVELOPE


def _addresses(data: Any) -> tuple[Address, ...]:
    if not data:
        return ()
    return tuple(Address(*a) for a in data)


def envelope_of(env: Sequence[Any]) -> Envelope:
    """``meta["envelope"]`` (the stored list) as a protocol Envelope."""
    return Envelope(
        date=env[0],
        subject=env[1],
        from_=_addresses(env[2]),
        sender=_addresses(env[3]),
        reply_to=_addresses(env[4]),
        to=_addresses(env[5]),
        cc=_addresses(env[6]),
        bcc=_addresses(env[7]),
        in_reply_to=env[8],
        message_id=env[9],
    )


def envelope_bytes(meta: dict[str, Any], utf8: bool = False) -> bytes:
    if utf8:
        return encode_envelope(envelope_of(meta["envelope"]), utf8=True)
    return fast_envelope(meta["envelope"])


def _nstring(value: str | None) -> bytes:
    """``values.nstring`` (without UTF8=ACCEPT) for the stored strings, faster."""
    if value is None:
        return NIL
    if value.isascii() and value.isprintable() and len(value) <= MAX_QUOTED:
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return b'"' + value.encode("ascii") + b'"'
    data = value.encode("utf-8")
    if len(data) > MAX_QUOTED or not data.isascii() or _NEEDS_LITERAL.search(data):
        return literal(data)
    if b"\\" in data or b'"' in data:
        data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + data + b'"'


_ADDRESS_CACHE: dict[tuple[str | None, ...], bytes] = {}


def _address(a: Sequence[str | None]) -> bytes:
    key = tuple(a)
    out = _ADDRESS_CACHE.get(key)
    if out is None:
        if len(_ADDRESS_CACHE) > 50_000:
            _ADDRESS_CACHE.clear()
        out = b"(%s %s %s %s)" % (_nstring(a[0]), _nstring(a[1]), _nstring(a[2]), _nstring(a[3]))
        _ADDRESS_CACHE[key] = out
    return out


def _address_list(data: Any) -> bytes:
    if not data:
        return NIL
    return b"(" + b"".join([_address(a) for a in data]) + b")"


def fast_envelope(env: Sequence[Any]) -> bytes:
    """The ENVELOPE of a stored envelope list; the same bytes as
    ``structure.encode_envelope(envelope_of(env))``, in a fraction of the time (a first
    FETCH ENVELOPE of a large mailbox builds thousands)."""
    from_ = _address_list(env[2])
    return b" ".join(
        [
            b"(" + _nstring(env[0]),
            _nstring(env[1]),
            from_,
            _address_list(env[3]) if env[3] else from_,
            _address_list(env[4]) if env[4] else from_,
            _address_list(env[5]),
            _address_list(env[6]),
            _address_list(env[7]),
            _nstring(env[8]),
            _nstring(env[9]) + b")",
        ]
    )


# --------------------------------------------------------------------------- BODYSTRUCTURE


def _params(params: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    return [(a.upper(), v) for a, v in params]


def structure_of(part: dict[str, Any]) -> BodyStructure:
    """A stored PART (see ``mail.parsed``) as a protocol body structure."""
    disp = part.get("disposition")
    disposition = None if disp is None else Disposition(disp[0].upper(), _params(disp[1]))
    language = part.get("language")
    if part.get("parts"):
        return Multipart(
            subtype=part["subtype"].upper(),
            parts=[structure_of(p) for p in part["parts"]],
            params=_params(part["params"]),
            disposition=disposition,
            language=language,
            location=part.get("location"),
        )
    params = _params(part["params"])
    if part["type"] == "text" and not any(a == "CHARSET" for a, _ in params):
        params.append(("CHARSET", "US-ASCII"))
    message = part.get("message")
    return BodyPart(
        type=part["type"].upper(),
        subtype=part["subtype"].upper(),
        params=params,
        id=part.get("id"),
        description=part.get("description"),
        encoding=part["encoding"].upper(),
        size=part["size"],
        lines=part.get("lines"),
        envelope=None if message is None else envelope_of(message["envelope"]),
        body=None if message is None else structure_of(message["body"]),
        md5=part.get("md5"),
        disposition=disposition,
        language=language,
        location=part.get("location"),
    )


def body_bytes(meta: dict[str, Any], *, extended: bool, utf8: bool = False) -> bytes:
    """BODY (``extended=False``) or BODYSTRUCTURE of a message."""
    return encode_body_structure(structure_of(meta["body"]), extended=extended, utf8=utf8)


# --------------------------------------------------------------------------- header sections


def header_block_end(meta: dict[str, Any]) -> int:
    """Length of the top-level header block (fields and the blank line after them)."""
    return int(meta["body"]["body_start"])


def header_section(header: bytes, text: str, fields: Sequence[str] = ()) -> bytes:
    """``HEADER``, ``HEADER.FIELDS (...)`` or ``HEADER.FIELDS.NOT (...)`` of a header block
    (the message's bytes up to its body), as ``mail.parsed.section_bytes`` would give it."""
    if text == "HEADER":
        return header
    scan = scan_header(header, 0, len(header))
    wanted = {f.lower() for f in fields}
    keep = text == "HEADER.FIELDS"
    chunks = [
        header[f.offset : f.offset + f.length] for f in scan.fields if (f.name in wanted) == keep
    ]
    chunks.append(header[scan.header_end : scan.body_start])
    return b"".join(chunks)
