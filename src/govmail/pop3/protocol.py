"""POP3 on the wire, without I/O: command parsing, responses, message transfer encoding.

RFC 1939 (POP3), RFC 2449 (CAPA, response codes), RFC 2595 (STLS), RFC 3206 (SYS/AUTH
codes), RFC 5034 (SASL AUTH), RFC 6856 (UTF8). Everything here works on bytes and strings
and raises ``Pop3SyntaxError`` or ``SaslError`` on bad input.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from govmail.mail.lineends import normalize_crlf

# RFC 2449 caps commands at 255 octets, but SASL responses (RFC 5034 §4) and long
# passwords need more; anything longer than this is refused and the connection closed.
MAX_LINE = 4096
CRLF = b"\r\n"
TERMINATOR = b".\r\n"

# RFC 2449 §8 and RFC 3206 extended response codes.
IN_USE = "IN-USE"
LOGIN_DELAY = "LOGIN-DELAY"
AUTH = "AUTH"
SYS_TEMP = "SYS/TEMP"
SYS_PERM = "SYS/PERM"

_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,3}")
_NUMBER = re.compile(r"[0-9]{1,10}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Pop3SyntaxError(ValueError):
    """A command line that is not POP3."""


class SaslError(ValueError):
    """A SASL client response that cannot be decoded."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # upper case keyword
    args: tuple[str, ...]  # the arguments split on white space
    rest: str  # everything after the keyword and its separating space, as sent


def parse_command(line: bytes) -> Command:
    """Parse one command line given without its line end."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line.strip():
        raise Pop3SyntaxError("empty command")
    if b"\x00" in line or b"\r" in line:
        raise Pop3SyntaxError("control characters in command")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise Pop3SyntaxError("command is not UTF-8") from None
    keyword, _, rest = text.partition(" ")
    if not _KEYWORD.fullmatch(keyword):
        raise Pop3SyntaxError("unknown command")
    return Command(keyword.upper(), tuple(rest.split()), rest)


def parse_number(arg: str) -> int:
    """A message number or line count: decimal digits only, no sign, no spaces."""
    if not _NUMBER.fullmatch(arg):
        raise Pop3SyntaxError("invalid number")
    return int(arg)


# -- responses ------------------------------------------------------------------------------


def ascii_text(text: str) -> str:
    """Vietnamese text without diacritics, for clients that did not ask for UTF-8."""
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.encode("ascii", "replace").decode("ascii")


def response_text(text: str, utf8: bool) -> str:
    """One line of human-readable text: no control characters, NFC, ASCII unless UTF-8."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return unicodedata.normalize("NFC", text) if utf8 else ascii_text(text)


def ok(text: str = "", *, utf8: bool = False) -> bytes:
    text = response_text(text, utf8)
    return (f"+OK {text}" if text else "+OK").encode("utf-8") + CRLF


def err(text: str, code: str | None = None, *, utf8: bool = False) -> bytes:
    text = response_text(text, utf8)
    head = f"-ERR [{code}]" if code else "-ERR"
    return (f"{head} {text}" if text else head).encode("utf-8") + CRLF


def continuation(challenge: bytes = b"") -> bytes:
    """A SASL server challenge (RFC 5034 §4): "+ " and the base64 data."""
    return b"+ " + base64.b64encode(challenge) + CRLF


def multiline(first: bytes, lines: Iterable[str | bytes]) -> bytes:
    """A multi-line response: the status line, the dot-stuffed lines, the terminator."""
    out = [first]
    for line in lines:
        b = line.encode("utf-8") if isinstance(line, str) else line
        out.append(b"." + b + CRLF if b.startswith(b".") else b + CRLF)
    out.append(TERMINATOR)
    return b"".join(out)


# -- message transfer -----------------------------------------------------------------------


def wire_form(raw: bytes) -> bytes:
    """The message as POP3 counts it: CRLF line ends, ending with CRLF unless empty."""
    data = normalize_crlf(raw)
    if data and not data.endswith(CRLF):
        data += CRLF
    return data


def dot_stuff(data: bytes) -> bytes:
    """Byte-stuff lines starting with "." and append the terminator (RFC 1939 §3).

    ``data`` must already be in ``wire_form``.
    """
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed + TERMINATOR


def top_of(raw: bytes, lines: int) -> bytes:
    """The header, the blank line and the first ``lines`` lines of the body (wire form)."""
    data = wire_form(raw)
    if data.startswith(CRLF):
        head_end = 2
    else:
        sep = data.find(b"\r\n\r\n")
        if sep < 0:
            return data  # a header without a body
        head_end = sep + 4
    pos = head_end
    for _ in range(lines):
        nl = data.find(CRLF, pos)
        if nl < 0:
            pos = len(data)
            break
        pos = nl + 2
    return data[:pos]


# -- SASL (RFC 5034) ------------------------------------------------------------------------


def decode_sasl(b64: str) -> bytes:
    """A client response: base64, or "=" for an empty initial response."""
    b64 = b64.strip()
    if b64 == "=":
        return b""
    try:
        return base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SaslError("invalid base64") from None


def decode_plain(data: bytes) -> tuple[str, str, str]:
    """RFC 4616 PLAIN message: (authorization id, authentication id, password)."""
    parts = data.split(b"\x00")
    if len(parts) != 3:
        raise SaslError("malformed PLAIN response")
    try:
        authz, authc, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise SaslError("PLAIN response is not UTF-8") from None
    if not authc or not password:
        raise SaslError("empty user name or password")
    return authz, authc, password


def decode_text(data: bytes) -> str:
    """A UTF-8 string from a SASL LOGIN step."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError("response is not UTF-8") from None


# -- capabilities ---------------------------------------------------------------------------


def capabilities(
    *, stls: bool, passwords: bool, transaction: bool, implementation: str = "govmail"
) -> list[str]:
    """The CAPA list (RFC 2449 §6) for the session's current state."""
    caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER"]
    if not transaction:
        if stls:
            caps.append("STLS")
        if passwords:
            caps += ["USER", "SASL PLAIN LOGIN"]
        caps.append("UTF8 USER")
    caps.append(f"IMPLEMENTATION {implementation}")
    return caps


def scan_line(number: int, value: int | str) -> str:
    return f"{number} {value}"
