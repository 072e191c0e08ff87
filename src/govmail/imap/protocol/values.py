"""Encoding values for server responses: atoms, strings, NIL, numbers, lists.

The rule for strings (:func:`string`): a quoted string when the value allows it, else a
literal. A literal is used when the value holds CR, LF or NUL, is longer than
:data:`MAX_QUOTED`, or holds 8-bit octets (unless ``utf8=True`` -- UTF8=ACCEPT enabled or
IMAP4rev2 -- and the octets are valid UTF-8). Quoted strings escape ``\\`` and ``"``.
``str`` values are encoded as UTF-8. NUL cannot be represented in an IMAP string at all;
it is sent in a literal as is (use ``literal(..., binary=True)`` for BINARY fetches).

Every function returns ``bytes`` ready to be joined into a response line. :func:`encode`
handles nested Python data: ``None`` -> NIL, ``int`` -> number, ``str``/``bytes`` ->
string, ``list``/``tuple`` -> parenthesised list, :class:`Raw` -> its bytes unchanged
(for atoms such as ``\\Seen`` or pre-encoded parts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Union

from govmail.imap.protocol import mutf7
from govmail.imap.protocol.dates import format_datetime

MAX_QUOTED = 1024
NIL = b"NIL"

_NEEDS_LITERAL = re.compile(rb"[\x00\r\n]")
_ASTRING_ATOM = re.compile(rb"[!#$&'+-\[^-z|}~\]]+")


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes emitted unchanged by :func:`encode` (atoms, pre-encoded values)."""

    data: bytes


Value = Union[None, int, str, bytes, Raw, "list[Value]", "tuple[Value, ...]"]


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def quoted(value: bytes) -> bytes:
    """Quoted string; the caller guarantees no CR, LF or NUL."""
    if b"\\" in value:
        value = value.replace(b"\\", b"\\\\")
    if b'"' in value:
        value = value.replace(b'"', b'\\"')
    return b'"' + value + b'"'


def literal(value: bytes, *, binary: bool = False) -> bytes:
    """``{N}`` CRLF octets, or literal8 ``~{N}`` when ``binary``."""
    prefix = b"~{" if binary else b"{"
    return prefix + str(len(value)).encode("ascii") + b"}\r\n" + value


def needs_literal(value: bytes, *, utf8: bool = False) -> bool:
    if len(value) > MAX_QUOTED or _NEEDS_LITERAL.search(value):
        return True
    if value.isascii():
        return False
    if not utf8:
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def string(value: str | bytes, *, utf8: bool = False) -> bytes:
    """Quoted string or literal, whichever can carry ``value``."""
    data = _as_bytes(value)
    if needs_literal(data, utf8=utf8):
        return literal(data)
    return quoted(data)


def nstring(value: str | bytes | None, *, utf8: bool = False) -> bytes:
    """``NIL`` for ``None``, else :func:`string`."""
    return NIL if value is None else string(value, utf8=utf8)


def astring(value: str | bytes, *, utf8: bool = False) -> bytes:
    """An atom when every octet is an ASTRING-CHAR (and it is not ``NIL``), else a string."""
    data = _as_bytes(value)
    if _ASTRING_ATOM.fullmatch(data) and data.upper() != NIL:
        return data
    return string(data, utf8=utf8)


def number(value: int) -> bytes:
    if value < 0:
        raise ValueError("IMAP numbers are unsigned")
    return str(value).encode("ascii")


def plist(items: Iterable[bytes]) -> bytes:
    """Parenthesised list of already-encoded items."""
    return b"(" + b" ".join(items) + b")"


def mailbox(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox name: modified UTF-7 (UTF-8 when ``utf8``), as an astring."""
    wire = name.encode("utf-8") if utf8 else mutf7.encode(name).encode("ascii")
    return astring(wire, utf8=utf8)


def flag_list(flags: Iterable[str]) -> bytes:
    """``(\\Seen $Forwarded)``; flags are atoms and are written as given."""
    return b"(" + " ".join(flags).encode("ascii") + b")"


def date_time(value: datetime) -> bytes:
    """Quoted IMAP date-time, e.g. ``"17-Jul-1996 02:44:25 -0700"``."""
    return b'"' + format_datetime(value).encode("ascii") + b'"'


def encode(value: Value, *, utf8: bool = False) -> bytes:
    """Encode nested Python data (see module docstring)."""
    if value is None:
        return NIL
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, bool):
        raise TypeError("IMAP has no boolean values")
    if isinstance(value, int):
        return number(value)
    if isinstance(value, str | bytes):
        return string(value, utf8=utf8)
    if isinstance(value, list | tuple):
        return b"(" + b" ".join(encode(v, utf8=utf8) for v in value) + b")"
    raise TypeError(f"cannot encode {type(value).__name__} as an IMAP value")
