"""Header field helpers: decoding (RFC 2047, RFC 2231, RFC 6532), address lists, dates,
and encoding Vietnamese text for headers we write.

Everything that reads headers accepts broken input and never raises: unknown charsets
decode with a best guess, bad encoded-words stay as they were, an address list with
unbalanced quotes or brackets still yields the addresses that can be made out.

Address lists follow the IMAP ENVELOPE model (RFC 3501 §7.4.2): each ``Address`` is
``(name, adl, mailbox, host)`` with the *raw* phrase (quotes removed, encoded-words kept);
a group ``team: a@x, b@y;`` becomes a start marker ``(None, None, "team", None)``, its
members, and an end marker ``(None, None, None, None)``.  An address without a domain gets
host ``"MISSING_DOMAIN"`` and one without a local part mailbox ``"MISSING_MAILBOX"`` (as
Dovecot does), so that a NIL host always means group syntax.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.utils
import re
import secrets
import time
import urllib.parse
from base64 import b64encode
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from govmail.mail.charsets import codec_for, decode_8bit, decode_text, nfc

__all__ = [
    "MISSING_DOMAIN",
    "MISSING_MAILBOX",
    "Address",
    "ContentValue",
    "decode_encoded_words",
    "decode_header_value",
    "decode_params",
    "encode_header_value",
    "extract_message_ids",
    "first_message_id",
    "format_address",
    "format_address_header",
    "format_param",
    "make_message_id",
    "parse_address_list",
    "parse_content_value",
    "parse_date",
    "unfold",
]

MISSING_DOMAIN = "MISSING_DOMAIN"
MISSING_MAILBOX = "MISSING_MAILBOX"


# --- unfolding and RFC 2047 decoding ----------------------------------------------------


def unfold(value: str) -> str:
    """Remove the line breaks of folded header lines, keeping the whitespace after them."""
    if "\n" not in value and "\r" not in value:
        return value
    return value.replace("\r\n", "").replace("\n", "").replace("\r", "")


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")
_LINEAR_WS = frozenset(" \t\r\n")


def _ew_bytes(encoding: str, text: str) -> bytes | None:
    if encoding in "bB":
        cleaned = text.encode("ascii", "ignore")
        rem = len(cleaned.rstrip(b"=")) % 4
        cleaned = cleaned.rstrip(b"=")
        if rem == 1:
            return None
        if rem:
            cleaned += b"=" * (4 - rem)
        try:
            return binascii.a2b_base64(cleaned)
        except binascii.Error:
            return None
    return binascii.a2b_qp(text.encode("utf-8", "replace"), header=True)


def decode_encoded_words(value: str) -> str:
    """Decode RFC 2047 encoded-words anywhere in ``value`` (also inside quotes or words).

    Whitespace between two adjacent encoded-words is dropped, and adjacent words in the
    same charset are joined *before* decoding, so a multi-byte character split across two
    words (a common bug in Vietnamese mail) decodes correctly.  An encoded-word that cannot
    be decoded is left as it was.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(decode_text(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for m in _ENCODED_WORD.finditer(value):
        data = _ew_bytes(m.group(2), m.group(3))
        between = value[pos : m.start()]
        if data is None:
            flush()
            out.append(between)
            out.append(m.group(0))
            pos = m.end()
            continue
        if pending_charset is None or not all(c in _LINEAR_WS for c in between):
            flush()
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending += data
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def decode_header_value(value: str | bytes) -> str:
    """Human-readable text of a header value: unfolded, 8-bit and RFC 2047 decoded, NFC.

    Control characters become spaces and the result is stripped.
    """
    text = decode_8bit(value) if isinstance(value, bytes) else value
    text = decode_encoded_words(unfold(text))
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    return nfc(text.strip())


# --- tokens (RFC 5322 lexical level) ----------------------------------------------------

_TOK = re.compile(
    r"""(?P<ws>[ \t\r\n]+)
      | (?P<qs>"(?:[^"\\]|\\.?)*"?)
      | (?P<dl>\[(?:[^\]\\]|\\.?)*\]?)
      | (?P<sp>[<>@,;:.])
      | (?P<atom>[^ \t\r\n"()\[\]<>@,;:.\\]+|\\.?)
    """,
    re.S | re.X,
)
_PAREN = re.compile(r"[()\\]")


@dataclass(slots=True)
class _Token:
    kind: str  # "qs", "dl", "sp", "atom", "comment"
    text: str  # quoted strings and comments: content without delimiters, unescaped
    space_before: bool


_UNESCAPE = re.compile(r"\\(.)", re.S)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text) if "\\" in text else text


def _comment_end(value: str, pos: int) -> int:
    """Index just after the comment starting at ``value[pos] == "("`` (or len(value))."""
    depth = 0
    n = len(value)
    while pos < n:
        m = _PAREN.search(value, pos)
        if m is None:
            return n
        c = m.group()
        pos = m.end()
        if c == "\\":
            pos += 1
        elif c == "(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos
    return n


def _tokenize(value: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    n = len(value)
    space = False
    while pos < n:
        c = value[pos]
        if c == "(":
            end = _comment_end(value, pos)
            inner = value[pos + 1 : end - 1 if value[end - 1 : end] == ")" else end]
            tokens.append(_Token("comment", _unescape(inner), space))
            space = False
            pos = end
            continue
        if c == ")":
            pos += 1
            continue
        m = _TOK.match(value, pos)
        if m is None:  # pragma: no cover - the atom branch matches any other character
            pos += 1
            continue
        kind = m.lastgroup or "atom"
        text = m.group()
        pos = m.end()
        if kind == "ws":
            space = True
            continue
        if kind == "qs":
            text = text[1:-1] if len(text) > 1 and text.endswith('"') else text[1:]
            text = _unescape(text)
        elif kind == "atom" and text.startswith("\\"):
            text = text[1:]
        tokens.append(_Token(kind, text, space))
        space = False
    return tokens


def _join_phrase(tokens: Sequence[_Token]) -> str:
    parts: list[str] = []
    for tok in tokens:
        if tok.kind == "comment":
            continue
        if parts and tok.space_before:
            parts.append(" ")
        parts.append(tok.text)
    return "".join(parts).strip()


def _join_tight(tokens: Sequence[_Token]) -> str:
    return "".join(t.text for t in tokens if t.kind != "comment")


# --- addresses --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """One entry of an IMAP ENVELOPE address list: ``(name, adl, mailbox, host)``."""

    name: str | None
    adl: str | None
    mailbox: str | None
    host: str | None

    @property
    def is_group_start(self) -> bool:
        return self.host is None and self.mailbox is not None

    @property
    def is_group_end(self) -> bool:
        return self.host is None and self.mailbox is None

    @property
    def is_valid(self) -> bool:
        """A real mailbox: not a group marker and neither part missing."""
        return (
            self.host is not None
            and self.mailbox is not None
            and self.host != MISSING_DOMAIN
            and self.mailbox != MISSING_MAILBOX
            and bool(self.host)
            and bool(self.mailbox)
        )

    @property
    def addr_spec(self) -> str | None:
        """``local@domain`` with the domain lower-cased and the local part quoted if needed,
        or None for group markers and incomplete addresses."""
        if not self.is_valid:
            return None
        assert self.mailbox is not None and self.host is not None
        return f"{_quote_local(self.mailbox)}@{self.host.lower()}"

    @property
    def display_name(self) -> str | None:
        """Decoded display name (RFC 2047, NFC), or None."""
        if not self.name:
            return None
        return decode_header_value(self.name) or None

    def as_list(self) -> list[str | None]:
        return [self.name, self.adl, self.mailbox, self.host]


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


def _quote_local(local: str) -> str:
    if _DOT_ATOM.fullmatch(local):
        return local
    return '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _addr_spec_parts(tokens: Sequence[_Token]) -> tuple[str | None, str | None]:
    toks = [t for t in tokens if t.kind != "comment"]
    at = None
    for i in range(len(toks) - 1, -1, -1):
        if toks[i].kind == "sp" and toks[i].text == "@":
            at = i
            break
    if at is None:
        local = _join_tight(toks)
        return (local or None), None
    local = _join_tight(toks[:at])
    domain = _join_tight(toks[at + 1 :])
    return (local or None), (domain or None)


def _finish_mailbox(tokens: list[_Token]) -> Address | None:
    if not tokens:
        return None
    angle = next((i for i, t in enumerate(tokens) if t.kind == "sp" and t.text == "<"), None)
    name: str | None
    adl: str | None = None
    if angle is not None:
        name = _join_phrase(tokens[:angle]) or None
        if name is None:
            comments = [t.text for t in tokens if t.kind == "comment" and t.text.strip()]
            name = comments[-1].strip() if comments else None
        close = next(
            (
                i
                for i in range(angle + 1, len(tokens))
                if tokens[i].kind == "sp" and tokens[i].text == ">"
            ),
            len(tokens),
        )
        inner = [t for t in tokens[angle + 1 : close] if t.kind != "comment"]
        colon = None
        for i in range(len(inner) - 1, -1, -1):
            if inner[i].kind == "sp" and inner[i].text == ":":
                colon = i
                break
        if colon is not None:
            adl = _join_tight(inner[:colon]) or None
            inner = inner[colon + 1 :]
        if not inner and name is None:
            return None  # "<>": the null reverse-path, not an address
        local, domain = _addr_spec_parts(inner)
    else:
        comments = [t.text for t in tokens if t.kind == "comment" and t.text.strip()]
        name = comments[-1].strip() if comments else None
        words = [t for t in tokens if t.kind != "comment"]
        if not words:
            return None
        local, domain = _addr_spec_parts(words)
        if domain is None and local is not None:
            local = _join_phrase(words)
    return Address(name, adl, local or MISSING_MAILBOX, domain or MISSING_DOMAIN)


_PLAIN_ATOM = r"[^ \t\r\n\"()\[\]<>@,;:.\\]+"  # an atom as _TOK reads it
_PLAIN_ADDR = rf"{_PLAIN_ATOM}(?:\.{_PLAIN_ATOM})*@{_PLAIN_ATOM}(?:\.{_PLAIN_ATOM})*"
_PLAIN_ENTRY = re.compile(
    rf"[ \t]*(?:(?:(?P<name>{_PLAIN_ATOM}(?:[ \t]+{_PLAIN_ATOM})*)[ \t]*)?"
    rf"<[ \t]*(?P<angled>{_PLAIN_ADDR})[ \t]*>|(?P<bare>{_PLAIN_ADDR}))[ \t]*"
)
_NOT_PLAIN = re.compile(r'["()\[\]\\;:]')


def _plain_address_list(text: str, limit: int) -> list[Address] | None:
    """The usual address lists (``a@b``, ``<a@b>``, ``Tên Người <a@b>``, separated by
    commas) without the tokenizer, exactly as :func:`parse_address_list` reads them
    (``tests/mail/test_headers_addresses.py`` compares the two); None for anything else
    (quotes, comments, groups, route addresses, domain literals, ``<>``)."""
    if limit < 1 or _NOT_PLAIN.search(text):
        return None
    result: list[Address] = []
    for entry in text.split(","):
        m = _PLAIN_ENTRY.fullmatch(entry)
        if m is None:
            if entry.strip(" \t"):
                return None
            continue
        addr = m.group("angled") or m.group("bare")
        local, _, domain = addr.partition("@")
        name = m.group("name")
        if name is not None:  # as _join_phrase: one space between words, then strip()
            name = " ".join(re.split(r"[ \t]+", name)).strip() or None
        result.append(Address(name, None, local, domain))
    return result[:limit]


def parse_address_list(value: str | bytes | None, *, limit: int = 10000) -> list[Address]:
    """Parse an address-list header value (From, To, Cc, Reply-To...) tolerantly.

    Returns ``[]`` for an absent or empty value.  At most ``limit`` entries are returned.
    """
    if value is None:
        return []
    text = unfold(decode_8bit(value) if isinstance(value, bytes) else value)
    plain = _plain_address_list(text, limit)
    return plain if plain is not None else _tokenized_address_list(text, limit)


def _tokenized_address_list(text: str, limit: int) -> list[Address]:
    tokens = _tokenize(text)
    result: list[Address] = []
    current: list[_Token] = []
    in_group = False
    in_angle = False
    has_addr_syntax = False  # current holds "<" or "@": a ":" then is not a group

    def finish() -> None:
        nonlocal has_addr_syntax
        addr = _finish_mailbox(current)
        if addr is not None:
            result.append(addr)
        current.clear()
        has_addr_syntax = False

    for tok in tokens:
        if len(result) >= limit:
            break
        if tok.kind == "sp":
            t = tok.text
            if t in "<@":
                has_addr_syntax = True
            if t == "<":
                in_angle = True
            elif t == ">":
                in_angle = False
            elif not in_angle:
                if t == ",":
                    finish()
                    continue
                if t == ";":
                    finish()
                    if in_group:
                        result.append(Address(None, None, None, None))
                        in_group = False
                    continue
                if t == ":" and not in_group and not has_addr_syntax:
                    result.append(Address(None, None, _join_phrase(current), None))
                    current.clear()
                    in_group = True
                    continue
        current.append(tok)
    finish()
    if in_group:
        result.append(Address(None, None, None, None))
    return result[:limit]


# --- Content-Type style values and RFC 2231 parameters ------------------------------------


@dataclass(frozen=True, slots=True)
class ContentValue:
    """A parsed ``token; attr=value; ...`` header (Content-Type, Content-Disposition).

    ``value`` is the main token lower-cased; ``params`` are raw ``(attribute, value)``
    pairs in order, attribute lower-cased, value unquoted but otherwise as sent (RFC 2231
    and RFC 2047 forms are *not* decoded here; IMAP BODYSTRUCTURE returns them like this).
    """

    value: str
    params: tuple[tuple[str, str], ...]

    def param(self, name: str) -> str | None:
        name = name.lower()
        for attr, val in self.params:
            if attr == name:
                return val
        return None


_PARAM = re.compile(
    r"""\s*([^\s=;"]+)\s*=\s*(?:"((?:[^"\\]|\\.?)*)"?|([^;]*))\s*;?""",
    re.S,
)


def _strip_comment_tail(text: str) -> str:
    """Drop one trailing RFC 822 comment: ``us-ascii (Plain text)`` -> ``us-ascii``."""
    text = text.strip()
    if text.endswith(")"):
        start = text.rfind("(")
        if start >= 0 and "(" not in text[start + 1 : -1]:
            return text[:start].strip()
    return text


def parse_content_value(value: str | bytes | None) -> ContentValue:
    """Split ``text/plain; charset="utf-8"; format=flowed`` into token and parameters."""
    if value is None:
        return ContentValue("", ())
    text = decode_8bit(value) if isinstance(value, bytes) else value
    text = unfold(text).strip()
    semi = _main_token_end(text)
    main = _strip_comment_tail(text[:semi]).lower()
    if "(" in main:
        main = main.split("(", 1)[0].strip()
    params: list[tuple[str, str]] = []
    pos = semi + 1
    n = len(text)
    while pos < n and len(params) < 200:
        m = _PARAM.match(text, pos)
        if m is None:
            nxt = text.find(";", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        attr = m.group(1).lower()
        quoted = m.group(2)
        val = _unescape(quoted) if quoted is not None else _strip_comment_tail(m.group(3))
        params.append((attr, val))
        if m.end() == pos:  # pragma: no cover - the pattern always consumes the attribute
            break
        pos = m.end()
    return ContentValue(main, tuple(params))


def _main_token_end(text: str) -> int:
    semi = text.find(";")
    return semi if semi >= 0 else len(text)


_CONTINUATION = re.compile(r"^(.+?)\*(\d{1,3})(\*?)$")


def decode_params(params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Decode RFC 2231 (``name*``, ``name*0*``, ``name*1``...) and RFC 2047 parameter values.

    Returns ``{attribute: decoded text (NFC)}``; an RFC 2231 form wins over a plain one of the
    same name.  Never raises.
    """
    plain: dict[str, str] = {}
    extended: dict[str, str] = {}
    pieces: dict[str, dict[int, tuple[bool, str]]] = {}
    for attr, val in params:
        m = _CONTINUATION.match(attr)
        if m:
            pieces.setdefault(m.group(1), {}).setdefault(int(m.group(2)), (bool(m.group(3)), val))
        elif attr.endswith("*"):
            extended.setdefault(attr[:-1], _decode_2231_extended(val, None))
        else:
            plain.setdefault(attr, decode_header_value(val))
    for name, segs in pieces.items():
        charset: str | None = None
        buf = bytearray()
        order = sorted(segs)
        for index in order:
            encoded, val = segs[index]
            if encoded:
                if index == order[0]:
                    charset, val = _split_2231_charset(val)
                buf += urllib.parse.unquote_to_bytes(val)
            else:
                buf += val.encode(codec_for(charset) or "utf-8", "replace")
        extended.setdefault(name, decode_text(bytes(buf), charset))
    result = dict(plain)
    result.update(extended)
    return result


def _split_2231_charset(val: str) -> tuple[str | None, str]:
    parts = val.split("'", 2)
    if len(parts) == 3:
        return (parts[0] or None), parts[2]
    return None, val


def _decode_2231_extended(val: str, charset: str | None) -> str:
    cs, rest = _split_2231_charset(val)
    return decode_text(urllib.parse.unquote_to_bytes(rest), cs or charset)


# --- dates and message ids ------------------------------------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_LOOSE_DATE = re.compile(
    r"(\d{1,2})[\s-]+([A-Za-z]{3})[a-z]*[\s-]+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*([+-]\d{4}|[A-Za-z]{1,5}))?"
)


def parse_date(value: str | None) -> dt.datetime | None:
    """Parse a Date header into an aware UTC datetime; None when it cannot be made out.

    A date without a zone is taken as UTC.  Day names in other languages ("Thứ Hai,") and
    ISO 8601 dates from broken mailers are accepted.
    """
    if not value:
        return None
    text = " ".join(unfold(value)[:300].split())
    if not text:
        return None
    parsed: dt.datetime | None = None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is None:
        parsed = _loose_date(text)
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def _loose_date(text: str) -> dt.datetime | None:
    m = _LOOSE_DATE.search(text)
    if m is None:
        return None
    day, mon, year, hour, minute, sec, zone = m.groups()
    mon_l = mon.lower()
    if mon_l not in _MONTHS:
        return None
    y = int(year)
    if y < 100:
        y += 2000 if y < 50 else 1900
    tz = dt.UTC
    if zone and zone[0] in "+-":
        offset = int(zone[1:3]) * 60 + int(zone[3:5])
        tz = dt.timezone(dt.timedelta(minutes=offset if zone[0] == "+" else -offset))
    try:
        return dt.datetime(
            y,
            _MONTHS.index(mon_l) + 1,
            int(day),
            int(hour),
            int(minute),
            int(sec or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None


_MSG_ID = re.compile(r"<([^<>\s]*)>")


def extract_message_ids(value: str | None) -> list[str]:
    """All ``<...>`` message ids in a References / In-Reply-To value, in order, deduplicated.

    A value without angle brackets is split on whitespace and each word bracketed.
    """
    if not value:
        return []
    text = unfold(value)
    found = [f"<{m}>" for m in _MSG_ID.findall(text) if m]
    if not found and "<" not in text:
        found = [f"<{w}>" for w in text.split() if "@" in w]
    seen: set[str] = set()
    unique: list[str] = []
    for mid in found:
        if mid not in seen:
            seen.add(mid)
            unique.append(mid)
    return unique


def first_message_id(value: str | None) -> str | None:
    ids = extract_message_ids(value)
    if ids:
        return ids[0]
    if value and value.strip():
        word = value.split()[0].strip("<>")
        return f"<{word}>" if word else None
    return None


_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def make_message_id(domain: str) -> str:
    """A new globally unique ``<id@domain>`` for a message we create.

    The left part is a base-36 timestamp plus 128 random bits.  ``domain`` may be an IDN; it
    is written in its ASCII (punycode) form.  Raises ``ValueError`` for an invalid domain.
    """
    host = domain.strip().rstrip(".")
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise ValueError(f"invalid domain for Message-ID: {domain!r}") from exc
    labels = ascii_host.split(".")
    valid = all(_DOMAIN_LABEL.fullmatch(x) for x in labels)
    if not ascii_host or len(ascii_host) > 253 or not valid:
        raise ValueError(f"invalid domain for Message-ID: {domain!r}")
    stamp = _base36(time.time_ns() // 1000)
    rand = _base36(secrets.randbits(128))
    return f"<{stamp}.{rand}@{ascii_host.lower()}>"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(digits[r])
        if n == 0:
            return "".join(reversed(out))


# --- encoding headers we write ----------------------------------------------------------------

_MAX_LINE = 76
_ENCODED_WORD_MAX = 75
# Characters that may stay literal in a Q-encoded word in every context, including phrases.
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\- ]*")
_LOOKS_ENCODED = re.compile(r"=\?.*\?=")


def _q_encode(data: bytes) -> str:
    return "".join(chr(b) if b in _Q_SAFE else ("_" if b == 0x20 else f"={b:02X}") for b in data)


def _encoded_words(text: str, charset: str = "utf-8") -> list[str]:
    """Encode ``text`` as one or more encoded-words of at most 75 characters each.

    Splits between characters (never inside a UTF-8 sequence) and picks B or Q per word,
    whichever is shorter.
    """
    prefix_len = len(charset) + 7  # =?utf-8?X? ... ?=
    budget = _ENCODED_WORD_MAX - prefix_len
    words: list[str] = []
    chunk: list[str] = []
    chunk_bytes = 0
    chunk_q = 0

    def emit() -> None:
        data = "".join(chunk).encode(charset)
        b = b64encode(data).decode("ascii")
        q = _q_encode(data)
        if len(q) <= len(b):
            words.append(f"=?{charset}?Q?{q}?=")
        else:
            words.append(f"=?{charset}?B?{b}?=")

    for ch in text:
        data = ch.encode(charset)
        q_len = sum(1 if (b in _Q_SAFE or b == 0x20) else 3 for b in data)
        new_bytes = chunk_bytes + len(data)
        b_len = (new_bytes + 2) // 3 * 4
        if chunk and min(b_len, chunk_q + q_len) > budget:
            emit()
            chunk.clear()
            chunk_bytes = 0
            chunk_q = 0
            new_bytes = len(data)
        chunk.append(ch)
        chunk_bytes = new_bytes
        chunk_q += q_len
    if chunk:
        emit()
    return words


def _fold(tokens: Sequence[tuple[str, str]], first_line_used: int, linesep: str) -> str:
    """Join ``(separator, token)`` pairs, breaking lines before a separator when needed.

    ``separator`` is the whitespace written before the token ("" for the first one); a line
    break is only ever inserted in front of existing whitespace, so unfolding restores the
    value exactly.
    """
    out: list[str] = []
    line_len = first_line_used
    for sep, tok in tokens:
        if sep and line_len + len(sep) + len(tok) > _MAX_LINE and line_len > 1:
            out.append(linesep)
            line_len = 0
        out.append(sep)
        out.append(tok)
        line_len += len(sep) + len(tok)
    return "".join(out)


def _clean(value: str) -> str:
    # Line breaks in a value would let the caller's text start new header fields.
    value = value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return nfc("".join(c if c.isprintable() or c == "\t" else " " for c in value))


def _text_tokens(value: str, phrase: bool) -> list[tuple[str, str]]:
    """Split into (separator, token) with non-ASCII runs encoded as encoded-words."""
    parts = re.findall(r"(\s*)(\S+)", value)
    tokens: list[tuple[str, str]] = []
    run: list[str] = []
    run_sep = ""

    def needs_encoding(word: str) -> bool:
        if not word.isascii() or _LOOKS_ENCODED.search(word):
            return True
        return phrase and not _ATEXT_PHRASE.fullmatch(word)

    def flush() -> None:
        if run:
            words = _encoded_words("".join(run))
            tokens.append((run_sep if tokens else "", words[0]))
            tokens.extend((" ", w) for w in words[1:])
            run.clear()

    for sep, word in parts:
        sep = sep or ""
        if needs_encoding(word):
            if run:
                run.append(sep.replace("\t", " ") or " ")
                run.append(word)
            else:
                run_sep = sep if sep else ""
                run.append(word)
            continue
        flush()
        tokens.append((sep if tokens else "", word))
    flush()
    return [(sep if i else "", tok) for i, (sep, tok) in enumerate(tokens)]


def encode_header_value(value: str, *, header_name: str = "Subject", linesep: str = "\r\n") -> str:
    """Encode unstructured text (a Subject, a Vietnamese title) for a header we write.

    ASCII words stay readable; runs of words with non-ASCII characters become RFC 2047
    encoded-words (UTF-8, B or Q whichever is shorter).  The result is folded to lines of
    at most 76 characters (the first line counts ``"<header_name>: "``), using ``linesep``
    followed by a space.  Line breaks in ``value`` are replaced by spaces.  Returns the
    value only, without the field name.
    """
    text = _clean(value).strip()
    if not text:
        return ""
    tokens = _text_tokens(text, phrase=False)
    return _fold(tokens, len(header_name) + 2, linesep)


def _encode_phrase(name: str) -> str:
    name = _clean(name).strip()
    if not name:
        return ""
    if name.isascii() and not _LOOKS_ENCODED.search(name):
        if _ATEXT_PHRASE.fullmatch(name) and "  " not in name:
            return name
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(tok for _sep, tok in _text_tokens(name, phrase=True))


def format_address(name: str | None, addr: str) -> str:
    """``Tên Hiển Thị <addr>`` with the display name encoded or quoted as needed.

    ``addr`` is written as given, except that an internationalised domain is converted to
    its ASCII form when the local part is ASCII.
    """
    addr = _clean(addr).strip()
    if "@" in addr:
        local, _, domain = addr.rpartition("@")
        if not domain.isascii() and local.isascii():
            try:
                domain = domain.encode("idna").decode("ascii")
            except UnicodeError:
                pass
        addr = f"{local}@{domain}"
    phrase = _encode_phrase(name) if name else ""
    return f"{phrase} <{addr}>" if phrase else addr


def format_address_header(
    addresses: Iterable[tuple[str | None, str]],
    *,
    header_name: str = "To",
    linesep: str = "\r\n",
) -> str:
    """A folded address-list value for To/Cc/From built from ``(display name, address)``."""
    tokens: list[tuple[str, str]] = []
    items = [format_address(n, a) for n, a in addresses]
    for i, item in enumerate(items):
        words = item.split(" ")
        for j, word in enumerate(words):
            tok = word + ("," if j == len(words) - 1 and i < len(items) - 1 else "")
            tokens.append(("" if not tokens else " ", tok))
    return _fold(tokens, len(header_name) + 2, linesep)


def format_param(attribute: str, value: str) -> str:
    """One MIME parameter for a header we write: ``name="x.pdf"`` or, for non-ASCII text,
    the RFC 2231 form ``name*=utf-8''...``."""
    value = _clean(value)
    if value.isascii():
        return f'{attribute}="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    quoted = urllib.parse.quote(value.encode("utf-8"), safe="!#$&+-.^_`|~")
    return f"{attribute}*=utf-8''{quoted}"
