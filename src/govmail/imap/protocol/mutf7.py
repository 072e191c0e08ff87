"""Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3).

Printable US-ASCII (0x20-0x7E) stands for itself, ``&`` is written ``&-``, and every other
run of characters is UTF-16BE in base64 (``,`` instead of ``/``, no padding) between ``&``
and ``-``::

    >>> encode("Văn bản đến")
    'V&AQM-n b&HqM-n &AREevw-n'

:func:`decode` is strict: it accepts only the one canonical encoding of a name, so a name
has exactly one wire form. Anything else raises :class:`MUTF7Error` (octets outside
printable ASCII, an unterminated or empty-but-not-``&-`` shift, base64 with non-zero
padding bits or an odd number of octets, unpaired surrogates, printable ASCII encoded in
base64, two shifts in a row).
"""

from __future__ import annotations

import base64
import binascii
import re

from govmail.imap.protocol.errors import MUTF7Error

__all__ = ["MUTF7Error", "decode", "encode"]

_RUNS = re.compile(r"[\x20-\x7e]+|[^\x20-\x7e]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_ANY_PRINTABLE = re.compile(r"[\x20-\x7e]")
_B64 = re.compile(r"[A-Za-z0-9+,]+")


def encode(name: str) -> str:
    """Encode a mailbox name. Raises :class:`MUTF7Error` for unpaired surrogates."""
    if _PRINTABLE.fullmatch(name):
        return name.replace("&", "&-")
    out: list[str] = []
    for m in _RUNS.finditer(name):
        run = m.group()
        if " " <= run[0] <= "~":
            out.append(run.replace("&", "&-"))
            continue
        try:
            raw = run.encode("utf-16-be")
        except UnicodeEncodeError as exc:
            raise MUTF7Error("mailbox name contains an unpaired surrogate") from exc
        b64 = base64.b64encode(raw).rstrip(b"=").replace(b"/", b",")
        out.append("&" + b64.decode("ascii") + "-")
    return "".join(out)


def decode(data: str | bytes) -> str:
    """Decode a modified UTF-7 mailbox name; raise :class:`MUTF7Error` if it is invalid."""
    if isinstance(data, bytes):
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MUTF7Error("8-bit octets are not allowed in modified UTF-7") from exc
    else:
        text = data
    if not _PRINTABLE.fullmatch(text):
        raise MUTF7Error("modified UTF-7 allows only printable US-ASCII")
    if "&" not in text:
        return text
    out: list[str] = []
    pos = 0
    last_shift_end = -1
    while True:
        amp = text.find("&", pos)
        if amp < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:amp])
        dash = text.find("-", amp + 1)
        if dash < 0:
            raise MUTF7Error("unterminated '&' shift (missing '-')")
        body = text[amp + 1 : dash]
        pos = dash + 1
        if not body:
            out.append("&")
            continue
        if amp == last_shift_end:
            raise MUTF7Error("two base64 shifts in a row must be written as one")
        last_shift_end = pos
        out.append(_decode_shift(body))
    result = "".join(out)
    if encode(result) != text:
        raise MUTF7Error("mailbox name is not in canonical modified UTF-7")
    return result


def _decode_shift(body: str) -> str:
    if not _B64.fullmatch(body):
        raise MUTF7Error("invalid character in a modified base64 shift")
    if len(body) % 4 == 1:
        raise MUTF7Error("truncated modified base64 shift")
    padded = body.replace(",", "/") + "=" * (-len(body) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise MUTF7Error("invalid modified base64 shift") from exc
    if len(raw) % 2:
        raise MUTF7Error("a base64 shift must hold whole UTF-16 code units")
    if base64.b64encode(raw).rstrip(b"=").replace(b"/", b",").decode("ascii") != body:
        raise MUTF7Error("non-zero padding bits in a base64 shift")
    try:
        chars = raw.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise MUTF7Error("unpaired UTF-16 surrogate in a base64 shift") from exc
    if _ANY_PRINTABLE.search(chars):
        raise MUTF7Error("printable US-ASCII must not be base64-encoded")
    return chars
