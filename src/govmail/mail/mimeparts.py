"""Byte-level MIME scanning: where headers, bodies and multipart boundaries are.

Everything works on offsets into the raw message as stored (CRLF, bare LF or a mix), with
``bytes.find``/``bytes.count`` doing the scanning, so the cost is linear in the size of each
range scanned.  Nothing here decodes text or interprets header values.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "HeaderField",
    "HeaderScan",
    "count_lines",
    "field_value",
    "scan_header",
    "split_multipart",
]

_FIELD_NAME = re.compile(rb"[!-9;-~]+")


class HeaderField(NamedTuple):
    """One header field: lower-cased name, offset of its first byte, length in bytes.

    The length covers the field's continuation lines and its final line break, so
    ``raw[offset:offset + length]`` is the field exactly as it appears in the message.
    """

    name: str
    offset: int
    length: int


class HeaderScan(NamedTuple):
    """Result of ``scan_header``.

    ``header_end`` is the end of the last header line (where the blank line starts);
    ``body_start`` is just after the blank line.  With no blank line before ``end`` both
    equal ``end``.  ``truncated`` tells that more than ``max_fields`` fields were present.
    """

    header_end: int
    body_start: int
    fields: list[HeaderField]
    truncated: bool


def scan_header(raw: bytes, start: int, end: int, max_fields: int = 2000) -> HeaderScan:
    """Find the header section beginning at ``start`` (within ``raw[:end]``) and its fields.

    Lines that are neither ``name: value`` nor a continuation (an mbox ``From `` line,
    garbage) belong to the header section but to no field.
    """
    if start >= end:
        return HeaderScan(end, end, [], False)
    if raw[start] == 0x0A:
        return HeaderScan(start, start + 1, [], False)
    if raw.startswith(b"\r\n", start, end):
        return HeaderScan(start, start + 2, [], False)
    crlf = raw.find(b"\n\r\n", start, end)
    lf = raw.find(b"\n\n", start, crlf + 2 if crlf >= 0 else end)
    if lf >= 0:
        header_end, body_start = lf + 1, lf + 2
    elif crlf >= 0:
        header_end, body_start = crlf + 1, crlf + 3
    else:
        header_end = body_start = end

    fields: list[HeaderField] = []
    truncated = False
    pos = start
    cur_name: str | None = None
    cur_start = 0
    for line in raw[start:header_end].split(b"\n"):
        line_len = len(line) + 1
        if not line:
            pos += line_len
            continue
        first = line[0]
        if first in (0x20, 0x09) and cur_name is not None:
            pos += line_len
            continue
        if cur_name is not None:
            fields.append(HeaderField(cur_name, cur_start, pos - cur_start))
            cur_name = None
        colon = line.find(b":")
        if colon > 0:
            name = line[:colon].rstrip(b" \t")
            if _FIELD_NAME.fullmatch(name):
                if len(fields) >= max_fields:
                    truncated = True
                else:
                    cur_name = name.decode("ascii").lower()
                    cur_start = pos
        pos += line_len
    if cur_name is not None:
        fields.append(HeaderField(cur_name, cur_start, min(pos, header_end) - cur_start))
    return HeaderScan(header_end, body_start, fields, truncated)


def field_value(raw: bytes, field: HeaderField) -> bytes:
    """The field's value: text after the colon, line breaks removed, outer blanks stripped."""
    data = raw[field.offset : field.offset + field.length]
    colon = data.find(b":")
    value = data[colon + 1 :]
    if b"\n" in value or b"\r" in value:
        value = value.replace(b"\r\n", b"").replace(b"\n", b"").replace(b"\r", b"")
    return value.strip(b" \t")


def count_lines(raw: bytes, start: int, end: int) -> int:
    """Number of LF characters in ``raw[start:end]`` (the IMAP body line count, as Dovecot)."""
    return raw.count(b"\n", start, end)


def _delimiter_kind(raw: bytes, after: int, end: int) -> tuple[int, int]:
    """Classify the rest of a candidate boundary line starting at ``after``.

    Returns ``(kind, line_end)``: kind 0 = not a delimiter (other text follows the boundary),
    1 = a part delimiter, 2 = the close delimiter; ``line_end`` is just after the line's LF.
    """
    eol = raw.find(b"\n", after, end)
    line_end = eol + 1 if eol >= 0 else end
    if raw.startswith(b"--", after, line_end):
        return 2, line_end
    rest = raw[after : eol if eol >= 0 else end]
    if rest.strip(b" \t\r"):
        return 0, line_end
    return 1, line_end


def split_multipart(
    raw: bytes, body_start: int, body_end: int, boundary: bytes, max_parts: int
) -> list[tuple[int, int]]:
    """Ranges ``(start, end)`` of the body parts of a multipart body.

    A delimiter is ``--boundary`` at the start of a line followed only by blanks (or by
    ``--`` for the close delimiter); the line break before it belongs to the delimiter, as
    RFC 2046 says.  A multipart without a close delimiter ends at ``body_end``.  At most
    ``max_parts`` ranges are returned.
    """
    if not boundary or max_parts <= 0:
        return []
    delim = b"--" + boundary
    needle = b"\n" + delim
    dlen = len(delim)
    ranges: list[tuple[int, int]] = []
    cur_start = -1
    search_from = body_start

    if raw.startswith(delim, body_start, body_end):
        kind, line_end = _delimiter_kind(raw, body_start + dlen, body_end)
        if kind == 2:
            return []
        if kind == 1:
            cur_start = line_end
            search_from = line_end - 1
    while True:
        i = raw.find(needle, search_from, body_end)
        if i < 0:
            break
        kind, line_end = _delimiter_kind(raw, i + 1 + dlen, body_end)
        if kind == 0:
            search_from = i + 1
            continue
        if cur_start >= 0:
            part_end = i - 1 if i > body_start and raw[i - 1] == 0x0D else i
            ranges.append((cur_start, max(cur_start, part_end)))
            if len(ranges) >= max_parts:
                return ranges
        if kind == 2:
            return ranges
        cur_start = line_end
        search_from = line_end - 1
    if cur_start >= 0:
        ranges.append((cur_start, body_end))
    return ranges
