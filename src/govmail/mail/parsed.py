"""The parsed view of a message: computed once at delivery, stored as JSON, served later.

``parse_message(raw)`` reads a raw RFC 5322 message (bytes exactly as stored) and returns a
``ParsedMessage`` holding what IMAP (ENVELOPE, BODYSTRUCTURE, BODY[section]), the webmail
and search need, so that none of them parses the message again.  Every part records byte
offsets into the raw message, so ``section_bytes`` serves any RFC 3501 section by slicing.

Broken input never raises: missing or wrong boundaries, unterminated multiparts, bad
base64, bare LF line endings, 8-bit headers, absurd nesting (deeper than ``MAX_DEPTH`` is
kept opaque) and absurd part counts (parts after the ``MAX_PARTS``-th are not split out).

Stored JSON (``ParsedMessage.to_dict()``; schema version 1)
-----------------------------------------------------------
Keys marked ``?`` are left out when null/empty; ``from_dict`` restores them.

``message``::

    {
      "v": 1,                          # schema version; from_dict refuses others
      "size": int,                     # octets of the raw message
      "lines": int,                    # LF count of the raw message
      "envelope": ENVELOPE,
      "headers": [[name, offset, length], ...],   # HEADER_INDEX of the top-level header
      "body": PART,                    # the top-level entity; its header is the message header
      "subject": str,                  # decoded (RFC 2047, 8-bit), NFC; "" when absent
      "from_display": str | null,      # decoded display name of the first From, else address
      "from_addr": str | null,         # "local@domain" (domain lower-cased) of the first From
      "to_addrs": [str, ...], "cc_addrs": [str, ...],
      "date": str | null,              # ISO 8601 UTC ("2024-05-06T03:00:00+00:00")
      "message_id": str | null,        # "<id@host>"
      "in_reply_to": str | null,       # first "<id>" of In-Reply-To
      "references": [str, ...],        # "<id>"s of References, in order
      "has_attachments": bool,
      "attachments": [{"part": "2", "filename": str | null, "content_type": "application/pdf",
                       "size": int}, ...],   # size: decoded octets (see decoded_size_estimate)
      "text_for_search": str           # textfold.fold()ed, at most SEARCH_TEXT_LIMIT chars
    }

``ENVELOPE`` is the RFC 3501 ENVELOPE, in order::

    [date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to, message_id]

Strings are the raw header values (line breaks removed, outer blanks stripped, encoded-words
kept, 8-bit bytes read as UTF-8); null when the header is absent.  Address lists are null
when absent or empty, else ``[[name, adl, mailbox, host], ...]`` (see ``headers.Address``:
group start ``[null, null, "group", null]``, group end ``[null, null, null, null]``);
sender and reply_to already default to from.

``HEADER_INDEX`` entries are ``[lower-cased field name, offset, length]``; the slice
``raw[offset:offset+length]`` is the whole field with its continuation lines and final line
break.  At most ``MAX_HEADER_FIELDS`` fields are indexed per header.

``PART``::

    {
      "type": "text", "subtype": "plain",   # lower-case
      "params": [[attribute, value], ...],  # raw Content-Type parameters (attribute
                                            # lower-case, value unquoted, RFC 2231/2047 kept)
      "encoding": "7bit",                   # Content-Transfer-Encoding, lower-case
      "size": int,                          # body octets (= body_end - body_start)
      "header_start": int, "header_end": int, "body_start": int, "body_end": int,
      "id"?: str, "description"?: str, "md5"?: str, "location"?: str,   # raw values
      "disposition"?: [type, [[attribute, value], ...]],                # type lower-case
      "language"?: [str, ...],
      "lines"?: int,                        # text/* and parsed message/rfc822 only: LF count
      "parts"?: [PART, ...],                # multipart with at least one part found
      "message"?: {"envelope": ENVELOPE, "headers": HEADER_INDEX, "body": PART}
                                            # message/rfc822 (7bit/8bit/binary) only
    }

Offsets are absolute in the raw message: ``raw[header_start:header_end]`` are the header
fields, ``raw[header_end:body_start]`` the blank line ending them (empty when there is
none), ``raw[body_start:body_end]`` the body.  For a part inside a multipart the range
excludes the line break before the next boundary, which belongs to the boundary.

How to serialise BODYSTRUCTURE from a PART: it is a multipart iff ``parts`` is present; a
message/rfc822 body (envelope, body, lines) iff ``message`` is present; otherwise a basic or
text body (``lines`` for type text).  A multipart with no part found (no boundary, no
delimiter, nesting too deep) has no ``parts`` and must be written as a basic body.
Text parts without a charset parameter are us-ascii (RFC 2045); adding ``("charset"
"us-ascii")`` in the output, as Dovecot does, is the serializer's choice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from govmail.mail.charsets import decode_8bit, decode_text
from govmail.mail.headers import (
    Address,
    decode_header_value,
    decode_params,
    extract_message_ids,
    first_message_id,
    parse_address_list,
    parse_content_value,
    parse_date,
)
from govmail.mail.htmltext import html_to_text
from govmail.mail.mimeparts import (
    HeaderField,
    count_lines,
    field_value,
    scan_header,
    split_multipart,
)
from govmail.mail.textfold import fold
from govmail.mail.transfer import IDENTITY_ENCODINGS, decode_transfer, decoded_size_estimate

__all__ = [
    "MAX_DEPTH",
    "MAX_HEADER_FIELDS",
    "MAX_PARTS",
    "SCHEMA_VERSION",
    "SEARCH_TEXT_LIMIT",
    "Attachment",
    "BodyPart",
    "EmbeddedMessage",
    "Envelope",
    "HeaderField",
    "ParsedMessage",
    "PartNotFound",
    "Section",
    "SectionSyntaxError",
    "StoredMetadataError",
    "decoded_part",
    "find_part",
    "parse_message",
    "parse_section",
    "section_bytes",
    "text_body",
    "walk_parts",
]

SCHEMA_VERSION = 1
MAX_DEPTH = 50
MAX_PARTS = 1000
MAX_HEADER_FIELDS = 2000
SEARCH_TEXT_LIMIT = 256 * 1024
_SEARCH_PART_BYTES = 1 << 20  # raw bytes of one text part decoded for the search index

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")


class StoredMetadataError(ValueError):
    """Stored JSON is not a ParsedMessage of this schema version (re-parse the message)."""


class SectionSyntaxError(ValueError):
    """An IMAP section specification that RFC 3501 does not allow."""


class PartNotFound(LookupError):
    """The message has no part with that number."""


# --- data model --------------------------------------------------------------------------

AddressList = list[Address] | None


def _addrs_to_json(addrs: AddressList) -> list[list[str | None]] | None:
    return None if addrs is None else [a.as_list() for a in addrs]


def _addrs_from_json(data: Any) -> AddressList:
    return None if data is None else [Address(*item) for item in data]


@dataclass(slots=True)
class Envelope:
    """RFC 3501 ENVELOPE fields (raw strings; see the module docstring)."""

    date: str | None
    subject: str | None
    from_: AddressList
    sender: AddressList
    reply_to: AddressList
    to: AddressList
    cc: AddressList
    bcc: AddressList
    in_reply_to: str | None
    message_id: str | None

    def to_list(self) -> list[Any]:
        return [
            self.date,
            self.subject,
            _addrs_to_json(self.from_),
            _addrs_to_json(self.sender),
            _addrs_to_json(self.reply_to),
            _addrs_to_json(self.to),
            _addrs_to_json(self.cc),
            _addrs_to_json(self.bcc),
            self.in_reply_to,
            self.message_id,
        ]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> Envelope:
        if len(data) != 10:
            raise StoredMetadataError("envelope must have 10 fields")
        return cls(
            data[0],
            data[1],
            *(_addrs_from_json(data[i]) for i in range(2, 8)),
            data[8],
            data[9],
        )


@dataclass(slots=True)
class BodyPart:
    """One MIME entity (see PART in the module docstring)."""

    type: str
    subtype: str
    params: list[tuple[str, str]]
    encoding: str
    size: int
    header_start: int
    header_end: int
    body_start: int
    body_end: int
    id: str | None = None
    description: str | None = None
    md5: str | None = None
    disposition: tuple[str, list[tuple[str, str]]] | None = None
    language: list[str] | None = None
    location: str | None = None
    lines: int | None = None
    parts: list[BodyPart] = field(default_factory=list)
    message: EmbeddedMessage | None = None

    @property
    def media_type(self) -> str:
        return f"{self.type}/{self.subtype}"

    @property
    def is_multipart(self) -> bool:
        """True when this part is written as a multipart (it has at least one part)."""
        return bool(self.parts)

    def param(self, name: str) -> str | None:
        """Decoded value of a Content-Type parameter (RFC 2231/2047), or None."""
        return decode_params(self.params).get(name.lower())

    @property
    def charset(self) -> str | None:
        for attr, val in self.params:
            if attr == "charset":
                return val.strip().lower() or None
        return "us-ascii" if self.type == "text" else None

    @property
    def disposition_type(self) -> str | None:
        return self.disposition[0] if self.disposition else None

    @property
    def filename(self) -> str | None:
        """Decoded file name: Content-Disposition filename, else Content-Type name."""
        if self.disposition:
            name = decode_params(self.disposition[1]).get("filename")
            if name:
                return name
        return decode_params(self.params).get("name") or None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "subtype": self.subtype,
            "params": [list(p) for p in self.params],
            "encoding": self.encoding,
            "size": self.size,
            "header_start": self.header_start,
            "header_end": self.header_end,
            "body_start": self.body_start,
            "body_end": self.body_end,
        }
        if self.id is not None:
            d["id"] = self.id
        if self.description is not None:
            d["description"] = self.description
        if self.md5 is not None:
            d["md5"] = self.md5
        if self.disposition is not None:
            d["disposition"] = [self.disposition[0], [list(p) for p in self.disposition[1]]]
        if self.language is not None:
            d["language"] = list(self.language)
        if self.location is not None:
            d["location"] = self.location
        if self.lines is not None:
            d["lines"] = self.lines
        if self.parts:
            d["parts"] = [p.to_dict() for p in self.parts]
        if self.message is not None:
            d["message"] = self.message.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BodyPart:
        disp = d.get("disposition")
        msg = d.get("message")
        return cls(
            type=d["type"],
            subtype=d["subtype"],
            params=[(a, v) for a, v in d["params"]],
            encoding=d["encoding"],
            size=d["size"],
            header_start=d["header_start"],
            header_end=d["header_end"],
            body_start=d["body_start"],
            body_end=d["body_end"],
            id=d.get("id"),
            description=d.get("description"),
            md5=d.get("md5"),
            disposition=None if disp is None else (disp[0], [(a, v) for a, v in disp[1]]),
            language=d.get("language"),
            location=d.get("location"),
            lines=d.get("lines"),
            parts=[cls.from_dict(p) for p in d.get("parts", ())],
            message=None if msg is None else EmbeddedMessage.from_dict(msg),
        )


def _headers_to_json(headers: list[HeaderField]) -> list[list[Any]]:
    return [[h.name, h.offset, h.length] for h in headers]


def _headers_from_json(data: Any) -> list[HeaderField]:
    return [HeaderField(n, o, ln) for n, o, ln in data]


@dataclass(slots=True)
class EmbeddedMessage:
    """The message inside a message/rfc822 part."""

    envelope: Envelope
    headers: list[HeaderField]
    body: BodyPart

    def to_dict(self) -> dict[str, Any]:
        return {
            "envelope": self.envelope.to_list(),
            "headers": _headers_to_json(self.headers),
            "body": self.body.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EmbeddedMessage:
        return cls(
            Envelope.from_list(d["envelope"]),
            _headers_from_json(d["headers"]),
            BodyPart.from_dict(d["body"]),
        )


@dataclass(slots=True)
class Attachment:
    part: str  # IMAP part number, e.g. "2" or "1.3"
    filename: str | None
    content_type: str
    size: int  # decoded octets

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
        }


@dataclass(slots=True)
class ParsedMessage:
    """Everything stored about one message (see the module docstring for the JSON form)."""

    size: int
    lines: int
    envelope: Envelope
    headers: list[HeaderField]
    body: BodyPart
    subject: str
    from_display: str | None
    from_addr: str | None
    to_addrs: list[str]
    cc_addrs: list[str]
    date: dt.datetime | None
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    has_attachments: bool
    attachments: list[Attachment]
    text_for_search: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "size": self.size,
            "lines": self.lines,
            "envelope": self.envelope.to_list(),
            "headers": _headers_to_json(self.headers),
            "body": self.body.to_dict(),
            "subject": self.subject,
            "from_display": self.from_display,
            "from_addr": self.from_addr,
            "to_addrs": list(self.to_addrs),
            "cc_addrs": list(self.cc_addrs),
            "date": None if self.date is None else self.date.isoformat(),
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "has_attachments": self.has_attachments,
            "attachments": [a.to_dict() for a in self.attachments],
            "text_for_search": self.text_for_search,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParsedMessage:
        if not isinstance(d, dict) or d.get("v") != SCHEMA_VERSION:
            raise StoredMetadataError("not parsed-message metadata of schema version 1")
        try:
            date = d["date"]
            return cls(
                size=d["size"],
                lines=d["lines"],
                envelope=Envelope.from_list(d["envelope"]),
                headers=_headers_from_json(d["headers"]),
                body=BodyPart.from_dict(d["body"]),
                subject=d["subject"],
                from_display=d["from_display"],
                from_addr=d["from_addr"],
                to_addrs=list(d["to_addrs"]),
                cc_addrs=list(d["cc_addrs"]),
                date=None if date is None else dt.datetime.fromisoformat(date),
                message_id=d["message_id"],
                in_reply_to=d["in_reply_to"],
                references=list(d["references"]),
                has_attachments=d["has_attachments"],
                attachments=[Attachment(**a) for a in d["attachments"]],
                text_for_search=d["text_for_search"],
            )
        except StoredMetadataError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise StoredMetadataError(f"malformed parsed-message metadata: {exc}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ParsedMessage:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StoredMetadataError(f"stored metadata is not JSON: {exc}") from exc
        return cls.from_dict(data)


# --- parsing -------------------------------------------------------------------------------

_ENVELOPE_FIELDS = frozenset(
    {"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to",
     "message-id"}
)  # fmt: skip


def _first_fields(fields: Sequence[HeaderField], wanted: frozenset[str]) -> dict[str, HeaderField]:
    found: dict[str, HeaderField] = {}
    for f in fields:
        if f.name in wanted and f.name not in found:
            found[f.name] = f
    return found


def _raw_value(raw: bytes, f: HeaderField | None) -> str | None:
    return None if f is None else decode_8bit(field_value(raw, f))


def _address_field(raw: bytes, f: HeaderField | None) -> AddressList:
    if f is None:
        return None
    return parse_address_list(field_value(raw, f)) or None


def _envelope(raw: bytes, fields: Sequence[HeaderField]) -> Envelope:
    first = _first_fields(fields, _ENVELOPE_FIELDS)
    from_ = _address_field(raw, first.get("from"))
    return Envelope(
        date=_raw_value(raw, first.get("date")),
        subject=_raw_value(raw, first.get("subject")),
        from_=from_,
        sender=_address_field(raw, first.get("sender")) or from_,
        reply_to=_address_field(raw, first.get("reply-to")) or from_,
        to=_address_field(raw, first.get("to")),
        cc=_address_field(raw, first.get("cc")),
        bcc=_address_field(raw, first.get("bcc")),
        in_reply_to=_raw_value(raw, first.get("in-reply-to")),
        message_id=_raw_value(raw, first.get("message-id")),
    )


_TEXT_PLAIN = ("text", "plain")
_MESSAGE_RFC822 = ("message", "rfc822")


class _Builder:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.remaining = MAX_PARTS

    def entity(
        self, start: int, end: int, default: tuple[str, str], depth: int
    ) -> tuple[BodyPart, list[HeaderField]]:
        raw = self.raw
        scan = scan_header(raw, start, end, MAX_HEADER_FIELDS)
        content: dict[str, HeaderField] = {}
        for f in scan.fields:
            if f.name.startswith("content-") and f.name not in content:
                content[f.name] = f

        ctype, subtype = default
        params: list[tuple[str, str]] = [("charset", "us-ascii")] if default == _TEXT_PLAIN else []
        ct_field = content.get("content-type")
        ct_bytes = b""
        if ct_field is not None:
            ct_bytes = field_value(raw, ct_field)
            cv = parse_content_value(ct_bytes)
            main_type, _, main_sub = cv.value.partition("/")
            main_type, main_sub = main_type.strip(), main_sub.strip()
            if _TOKEN.fullmatch(main_type) and _TOKEN.fullmatch(main_sub):
                ctype, subtype = main_type, main_sub
                params = list(cv.params)
            elif cv.params:
                ctype, subtype = _TEXT_PLAIN
                params = list(cv.params)

        encoding = "7bit"
        cte = content.get("content-transfer-encoding")
        if cte is not None:
            token = decode_8bit(field_value(raw, cte)).split("(", 1)[0].strip().lower()
            if token:
                encoding = token

        disposition = None
        cd = content.get("content-disposition")
        if cd is not None:
            dv = parse_content_value(field_value(raw, cd))
            if dv.value or dv.params:
                disposition = (dv.value, list(dv.params))

        language = None
        cl = content.get("content-language")
        if cl is not None:
            value = re.sub(r"\([^()]*\)", " ", decode_8bit(field_value(raw, cl)))
            tags = [t for t in re.split(r"[\s,]+", value) if t]
            language = tags or None

        location = _raw_value(raw, content.get("content-location"))
        if location is not None:
            location = "".join(location.split())

        part = BodyPart(
            type=ctype,
            subtype=subtype,
            params=params,
            encoding=encoding,
            size=end - scan.body_start,
            header_start=start,
            header_end=scan.header_end,
            body_start=scan.body_start,
            body_end=end,
            id=_raw_value(raw, content.get("content-id")),
            description=_raw_value(raw, content.get("content-description")),
            md5=_raw_value(raw, content.get("content-md5")),
            disposition=disposition,
            language=language,
            location=location,
        )

        if ctype == "multipart":
            if depth < MAX_DEPTH and self.remaining > 0:
                boundary = parse_content_value(ct_bytes.decode("latin-1")).param("boundary")
                if boundary:
                    child_default = _MESSAGE_RFC822 if subtype == "digest" else _TEXT_PLAIN
                    ranges = split_multipart(
                        raw, scan.body_start, end, boundary.encode("latin-1"), self.remaining
                    )
                    self.remaining -= len(ranges)
                    for s, e in ranges:
                        child, _ = self.entity(s, e, child_default, depth + 1)
                        part.parts.append(child)
        elif (
            (ctype, subtype) == _MESSAGE_RFC822
            and encoding in IDENTITY_ENCODINGS
            and depth < MAX_DEPTH
            and self.remaining > 0
        ):
            self.remaining -= 1
            inner, inner_fields = self.entity(scan.body_start, end, _TEXT_PLAIN, depth + 1)
            part.message = EmbeddedMessage(_envelope(raw, inner_fields), inner_fields, inner)
            part.lines = count_lines(raw, scan.body_start, end)
        if ctype == "text":
            part.lines = count_lines(raw, scan.body_start, end)
        return part, scan.fields


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse a raw message (as stored) into the metadata stored with it.  Never raises for
    malformed mail; raises ``TypeError`` only if ``raw`` is not bytes-like."""
    if not isinstance(raw, bytes):
        if not isinstance(raw, bytearray | memoryview):
            raise TypeError("parse_message needs the raw message as bytes")
        raw = bytes(raw)
    body, fields = _Builder(raw).entity(0, len(raw), _TEXT_PLAIN, 0)
    envelope = _envelope(raw, fields)
    first = _first_fields(fields, frozenset({"references"}))

    subject = decode_header_value(envelope.subject) if envelope.subject else ""
    from_list = [a for a in envelope.from_ or () if a.is_valid]
    from_addr = from_list[0].addr_spec if from_list else None
    from_display: str | None = None
    if from_list:
        from_display = from_list[0].display_name or from_addr
    elif envelope.from_:
        named = [a.display_name or a.mailbox for a in envelope.from_ if a.host is not None]
        from_display = next((n for n in named if n), None)

    to_addrs = [a.addr_spec for a in envelope.to or () if a.addr_spec]
    cc_addrs = [a.addr_spec for a in envelope.cc or () if a.addr_spec]
    attachments = _attachments(raw, body)

    plains, htmls = _text_parts(body)
    pieces = [subject]
    for addr in (*(envelope.from_ or ()), *(envelope.to or ()), *(envelope.cc or ())):
        if addr.is_valid:
            pieces.append(f"{addr.display_name or ''} {addr.addr_spec}")
    pieces.extend(a.filename for a in attachments if a.filename)
    budget = SEARCH_TEXT_LIMIT * 2
    for p in plains or htmls:
        if budget <= 0:
            break
        text = _part_text(raw, p, _SEARCH_PART_BYTES)
        if not plains:
            text = html_to_text(text)
        pieces.append(text[:budget])
        budget -= len(pieces[-1])

    return ParsedMessage(
        size=len(raw),
        lines=raw.count(b"\n"),
        envelope=envelope,
        headers=fields,
        body=body,
        subject=subject,
        from_display=from_display,
        from_addr=from_addr,
        to_addrs=[a for a in to_addrs if a],
        cc_addrs=[a for a in cc_addrs if a],
        date=parse_date(envelope.date),
        message_id=first_message_id(envelope.message_id),
        in_reply_to=first_message_id(envelope.in_reply_to),
        references=extract_message_ids(_raw_value(raw, first.get("references"))),
        has_attachments=bool(attachments),
        attachments=attachments,
        text_for_search=fold("\n".join(pieces))[:SEARCH_TEXT_LIMIT],
    )


# --- walking parts -------------------------------------------------------------------------


def _walk(
    body: BodyPart, prefix: str, into_messages: bool, parent: BodyPart | None
) -> Iterator[tuple[str, BodyPart, BodyPart | None]]:
    if not body.parts:
        num = prefix + "1"
        yield num, body, parent
        if into_messages and body.message is not None:
            yield from _walk(body.message.body, num + ".", True, body)
        return
    for i, child in enumerate(body.parts, 1):
        num = f"{prefix}{i}"
        yield num, child, body
        if child.parts:
            yield from _walk(child, num + ".", into_messages, child)
            continue
        if into_messages and child.message is not None:
            yield from _walk(child.message.body, num + ".", True, child)


def walk_parts(
    message: ParsedMessage | BodyPart, *, into_messages: bool = False
) -> Iterator[tuple[str, BodyPart]]:
    """Yield ``(IMAP part number, part)`` for every part, multipart containers included.

    A non-multipart message yields its body as part "1".  With ``into_messages`` the parts
    of attached messages (message/rfc822) are walked too ("2.1", "2.2"...).
    """
    body = message.body if isinstance(message, ParsedMessage) else message
    for num, part, _parent in _walk(body, "", into_messages, None):
        yield num, part


def _children(part: BodyPart) -> list[BodyPart]:
    if part.parts:
        return part.parts
    if part.message is not None:
        inner = part.message.body
        return inner.parts if inner.parts else [inner]
    return []


def find_part(message: ParsedMessage, numbers: Sequence[int] | str) -> BodyPart | None:
    """The part with IMAP number ``numbers`` ("1.2" or ``(1, 2)``), or None."""
    if isinstance(numbers, str):
        try:
            nums = [int(n) for n in numbers.split(".")] if numbers else []
        except ValueError:
            return None
    else:
        nums = list(numbers)
    if not nums:
        return None
    body = message.body
    current = body.parts if body.parts else [body]
    node: BodyPart | None = None
    for n in nums:
        if n < 1 or n > len(current):
            return None
        node = current[n - 1]
        current = _children(node)
    return node


# --- sections ------------------------------------------------------------------------------


class Section(NamedTuple):
    """A parsed RFC 3501 section: part numbers, specifier, header field names."""

    part: tuple[int, ...] = ()
    spec: str = ""  # "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"
    fields: tuple[str, ...] = ()


_SPECS = r"HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME"
_SECTION = re.compile(
    rf"\s*(?:(?P<part>[0-9]+(?:\.[0-9]+)*)(?:\.(?P<spec1>{_SPECS}))?|(?P<spec2>{_SPECS}))?"
    r"\s*(?:\((?P<fields>[^()]*)\))?\s*",
    re.I,
)
_FIELD_NAME_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"]+)')


def parse_section(text: str) -> Section:
    """Parse ``"1.2.HEADER.FIELDS (From To)"``, ``"TEXT"``, ``"3.MIME"``, ``""``...

    Raises ``SectionSyntaxError`` for anything RFC 3501 does not allow.
    """
    m = _SECTION.fullmatch(text)
    if m is None:
        raise SectionSyntaxError(f"invalid section: {text!r}")
    part = tuple(int(n) for n in m.group("part").split(".")) if m.group("part") else ()
    if any(n == 0 for n in part):
        raise SectionSyntaxError("section part numbers start at 1")
    spec = (m.group("spec1") or m.group("spec2") or "").upper()
    raw_fields = m.group("fields")
    if spec in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        if raw_fields is None:
            raise SectionSyntaxError(f"{spec} needs a list of field names")
        names = tuple(
            (quoted or atom).lower() for quoted, atom in _FIELD_NAME_TOKEN.findall(raw_fields)
        )
        if not names:
            raise SectionSyntaxError(f"{spec} needs at least one field name")
        return Section(part, spec, names)
    if raw_fields is not None:
        raise SectionSyntaxError("a field list is only allowed after HEADER.FIELDS")
    if spec == "MIME" and not part:
        raise SectionSyntaxError("MIME needs a part number")
    return Section(part, spec, ())


def section_bytes(
    raw: bytes,
    parsed: ParsedMessage,
    section: str | Section,
    partial: tuple[int, int] | None = None,
) -> bytes | None:
    """The bytes of ``BODY[section]<partial>`` per RFC 3501, sliced from ``raw``.

    ``partial`` is ``(offset, length)``.  Returns None when the part does not exist or the
    specifier does not apply to it (HEADER/TEXT of a part that is not message/rfc822).
    Raises ``SectionSyntaxError`` for a malformed section string.
    """
    sec = parse_section(section) if isinstance(section, str) else section
    node: BodyPart | None = None
    if sec.part:
        node = find_part(parsed, sec.part)
        if node is None:
            return None
    spec = sec.spec
    if spec == "":
        data = raw if node is None else raw[node.body_start : node.body_end]
    elif spec == "MIME":
        if node is None:
            raise SectionSyntaxError("MIME needs a part number")
        data = raw[node.header_start : node.body_start]
    else:
        if node is None:
            msg_body, headers = parsed.body, parsed.headers
        elif node.message is not None:
            msg_body, headers = node.message.body, node.message.headers
        else:
            return None
        if spec == "TEXT":
            data = raw[msg_body.body_start : msg_body.body_end]
        elif spec == "HEADER":
            data = raw[msg_body.header_start : msg_body.body_start]
        else:
            wanted = {f.lower() for f in sec.fields}
            keep = spec == "HEADER.FIELDS"
            chunks = [
                raw[h.offset : h.offset + h.length] for h in headers if (h.name in wanted) == keep
            ]
            chunks.append(raw[msg_body.header_end : msg_body.body_start])
            data = b"".join(chunks)
    if partial is not None:
        start, length = partial
        if start < 0 or length < 0:
            raise SectionSyntaxError("partial offset and length must not be negative")
        data = data[start : start + length]
    return data


def decoded_part(
    raw: bytes, parsed: ParsedMessage, part: str | Sequence[int], *, strict: bool = False
) -> bytes:
    """Content of a part with its Content-Transfer-Encoding undone (attachments, BINARY[]).

    ``part`` ``""`` means the whole message.  Raises ``PartNotFound`` for a part number
    the message does not have, and with ``strict`` ``transfer.UnknownTransferEncoding``
    for an encoding that cannot be undone (IMAP answers ``[UNKNOWN-CTE]``).
    """
    if part == "" or (not isinstance(part, str) and len(part) == 0):
        return raw
    node = find_part(parsed, part)
    if node is None:
        raise PartNotFound(f"no part {part!r} in this message")
    return decode_transfer(raw[node.body_start : node.body_end], node.encoding, strict=strict)


# --- text and attachments ------------------------------------------------------------------


def _is_attached_file(part: BodyPart) -> bool:
    if part.disposition_type == "attachment":
        return True
    return part.filename is not None


def _text_parts(body: BodyPart) -> tuple[list[BodyPart], list[BodyPart]]:
    plains: list[BodyPart] = []
    htmls: list[BodyPart] = []
    _collect_text(body, plains, htmls)
    return plains, htmls


def _collect_text(part: BodyPart, plains: list[BodyPart], htmls: list[BodyPart]) -> None:
    if part.parts:
        if part.subtype == "alternative":
            got_plain = got_html = False
            for child in part.parts:
                cp: list[BodyPart] = []
                ch: list[BodyPart] = []
                _collect_text(child, cp, ch)
                if cp and not got_plain:
                    plains.extend(cp)
                    got_plain = True
                if ch and not got_html:
                    htmls.extend(ch)
                    got_html = True
        else:
            for child in part.parts:
                _collect_text(child, plains, htmls)
        return
    if part.type != "text" or _is_attached_file(part):
        return
    if part.subtype == "plain":
        plains.append(part)
    elif part.subtype == "html":
        htmls.append(part)


def _part_text(raw: bytes, part: BodyPart, limit: int | None = None) -> str:
    end = part.body_end if limit is None else min(part.body_end, part.body_start + limit)
    data = decode_transfer(raw[part.body_start : end], part.encoding)
    text = decode_text(data, part.charset)
    return text.replace("\r\n", "\n") if "\r" in text else text


def text_body(raw: bytes, parsed: ParsedMessage) -> tuple[str | None, str | None]:
    """The message's readable text: ``(plain, html)``, each None when absent.

    Inline text/plain and text/html parts (not attachments, not inside attached messages)
    are decoded with their declared charset (fallbacks UTF-8, windows-1258, latin-1), NFC,
    CRLF turned into LF;
    of a multipart/alternative the first plain and first HTML alternative are used; several
    inline parts of one kind (multipart/mixed) are joined with a line break.
    """
    plains, htmls = _text_parts(parsed.body)
    plain = "\n".join(_part_text(raw, p) for p in plains) if plains else None
    html = "\n".join(_part_text(raw, p) for p in htmls) if htmls else None
    return plain, html


def _is_attachment(part: BodyPart, parent: BodyPart | None) -> bool:
    if part.message is not None:
        return True
    if part.disposition_type == "attachment":
        return True
    filename = part.filename
    if part.type == "text" and part.subtype in ("plain", "html") and filename is None:
        return False
    if parent is not None and parent.subtype == "related" and part.id is not None:
        return False
    if filename is not None:
        return True
    if part.disposition_type == "inline" or part.type in ("text", "multipart"):
        return False
    return not (part.type == "message" and part.subtype != "rfc822")


def _attachments(raw: bytes, body: BodyPart) -> list[Attachment]:
    found: list[Attachment] = []
    for num, part, parent in _walk(body, "", False, None):
        if part.parts or not _is_attachment(part, parent):
            continue
        filename = part.filename
        if filename is None and part.message is not None:
            subject = part.message.envelope.subject
            filename = (decode_header_value(subject) if subject else "") + ".eml"
        found.append(
            Attachment(
                part=num,
                filename=filename,
                content_type=part.media_type,
                size=decoded_size_estimate(raw, part.body_start, part.body_end, part.encoding),
            )
        )
    return found
