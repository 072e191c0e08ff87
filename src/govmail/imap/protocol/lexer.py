"""Splits the text of one command into :mod:`tokens`, one line segment at a time.

A command arrives as line segments separated by literals: ``line {N}`` CRLF *N octets*
``rest-of-line``. :class:`CommandLexer` keeps the open parentheses and brackets between
segments, so a literal can sit anywhere a string can (inside a list, inside a ``[...]``
section). :meth:`CommandLexer.feed_segment` returns a :class:`LiteralAnnouncement` when the
segment ends with ``{N}``, ``{N+}``, ``~{N}`` or ``~{N+}``; the caller then supplies the
octets with :meth:`CommandLexer.add_literal` and feeds the next segment. Errors are
:class:`ProtocolError` without a tag (the reader adds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govmail.imap.protocol.errors import ProtocolError
from govmail.imap.protocol.tokens import Atom, Literal, ParenList, Quoted, Token, render_token

MAX_LITERAL_NUMBER = 0xFFFFFFFF
MAX_NESTING = 100
"""Deepest parenthesis nesting accepted (keeps later recursive processing bounded)."""

_TOP, _PAREN, _BRACKET = 0, 1, 2

# Words that may open a section: BODY[...], BODY.PEEK[...], BINARY[...] and so on.
SECTION_HEADS = frozenset({b"BODY", b"BODY.PEEK", b"BINARY", b"BINARY.PEEK", b"BINARY.SIZE"})
# A bare word: anything printable except SP ( ) -- and [ ] where they delimit a section.
_WORD_ANY = re.compile(rb"[^\x00-\x20\x7f()]*")
_WORD_TOP = re.compile(rb"[^\x00-\x20\x7f()\[]*")
_WORD_IN_BRACKET = re.compile(rb"[^\x00-\x20\x7f()\[\]]*")
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_QUOTED = re.compile(rb'"([^"\\\x00\r\n]*(?:\\["\\][^"\\\x00\r\n]*)*)"')
_QUOTED_PREFIX = re.compile(rb'"[^"\\\x00\r\n]*(?:\\["\\][^"\\\x00\r\n]*)*')
_UNESCAPE = re.compile(rb'\\(["\\])')
_LITERAL_AT_END = re.compile(rb"(~?)\{([0-9]+)(\+?)\}")
_LITERAL_START = re.compile(rb"~?\{[0-9]+\+?\}")


@dataclass(frozen=True, slots=True)
class LiteralAnnouncement:
    """A segment ended with a literal announcement of ``size`` octets."""

    size: int
    synchronizing: bool
    binary: bool


class _Frame:
    __slots__ = ("head", "items", "kind", "segment", "start")

    def __init__(self, kind: int, head: bytes = b"", start: int = 0, segment: int = 0) -> None:
        self.kind = kind
        self.items: list[Token] = []
        self.head = head
        self.start = start
        self.segment = segment


def _error(reason: str) -> ProtocolError:
    return ProtocolError(reason)


def _describe(octet: int) -> str:
    if 0x21 <= octet <= 0x7E:
        return repr(chr(octet))
    return f"octet 0x{octet:02X}"


class CommandLexer:
    """Incremental tokenizer for the arguments of one command."""

    __slots__ = ("_need_sep", "_segment", "_stack")

    def __init__(self) -> None:
        self._stack: list[_Frame] = [_Frame(_TOP)]
        self._need_sep = False
        self._segment = 0

    def feed_segment(self, line: bytes, start: int = 0) -> LiteralAnnouncement | None:
        """Tokenize ``line[start:]`` (no CRLF). Return the literal announced at its end, if any."""
        n = len(line)
        pos = start
        stack = self._stack
        while pos < n:
            c = line[pos]
            if c == 0x20:
                pos += 1
                self._need_sep = False
                continue
            if c < 0x20 or c == 0x7F:
                raise _error(f"control character {_describe(c)} outside a literal")
            frame = stack[-1]
            if c == 0x29:  # )
                if frame.kind != _PAREN:
                    raise _error("unexpected ')'")
                stack.pop()
                stack[-1].items.append(ParenList(tuple(frame.items)))
                self._need_sep = True
                pos += 1
                continue
            if c == 0x5D and frame.kind == _BRACKET:  # ]
                stack.pop()
                pos = self._close_bracket(line, pos + 1, frame)
                continue
            if self._need_sep:
                raise _error(f"expected a space before {_describe(c)}")
            if c == 0x28:  # (
                if len(stack) > MAX_NESTING:
                    raise _error("lists are nested too deeply")
                stack.append(_Frame(_PAREN))
                pos += 1
                continue
            if c == 0x22:  # "
                pos = self._quoted(line, pos, frame)
                continue
            if c == 0x7B or (c == 0x7E and line[pos + 1 : pos + 2] == b"{"):
                return self._literal(line, pos)
            pos = self._word(line, pos, frame)
        self._segment += 1
        return None

    def add_literal(self, data: bytes, announcement: LiteralAnnouncement) -> None:
        """Append the octets of the literal announced by the last segment."""
        self._stack[-1].items.append(
            Literal(data, binary=announcement.binary, synchronizing=announcement.synchronizing)
        )
        self._need_sep = True
        self._segment += 1

    def finish(self) -> tuple[Token, ...]:
        """Return the tokens of a complete command; fail if a list or bracket is still open."""
        if len(self._stack) > 1:
            kind = self._stack[-1].kind
            raise _error("missing ')'" if kind == _PAREN else "missing ']'")
        return tuple(self._stack[0].items)

    def _quoted(self, line: bytes, pos: int, frame: _Frame) -> int:
        m = _QUOTED.match(line, pos)
        if m is None:
            end = _QUOTED_PREFIX.match(line, pos)
            assert end is not None
            stop = end.end()
            if stop >= len(line):
                raise _error("unterminated quoted string")
            bad = line[stop]
            if bad == 0x5C:
                raise _error('invalid escape in quoted string (only \\" and \\\\ are allowed)')
            raise _error(f"{_describe(bad)} is not allowed in a quoted string")
        value = m.group(1)
        if b"\\" in value:
            value = _UNESCAPE.sub(rb"\1", value)
        frame.items.append(Quoted(value))
        self._need_sep = True
        return m.end()

    def _literal(self, line: bytes, pos: int) -> LiteralAnnouncement:
        m = _LITERAL_AT_END.fullmatch(line, pos)
        if m is None:
            if _LITERAL_START.match(line, pos):
                raise _error("a literal announcement must end the line")
            raise _error("malformed literal announcement")
        digits = m.group(2)
        if len(digits) > 10 or int(digits) > MAX_LITERAL_NUMBER:
            raise _error("literal size is not a 32-bit number")
        return LiteralAnnouncement(
            size=int(digits), synchronizing=not m.group(3), binary=bool(m.group(1))
        )

    def _word(self, line: bytes, pos: int, frame: _Frame) -> int:
        pattern = _WORD_IN_BRACKET if frame.kind == _BRACKET else _WORD_TOP
        m = pattern.match(line, pos)
        assert m is not None
        end = m.end()
        if end < len(line) and line[end] == 0x5B:  # [
            if frame.kind == _BRACKET:
                raise _error("nested '[' is not allowed")
            head = line[pos:end]
            if head.upper() in SECTION_HEADS:
                self._stack.append(_Frame(_BRACKET, head=head, start=pos, segment=self._segment))
                self._need_sep = False
                return end + 1
            m = _WORD_ANY.match(line, pos)  # "[Gmail]/Sent": brackets are ordinary here
            assert m is not None
            end = m.end()
        word = line[pos:end]
        if _EIGHT_BIT.search(word):
            raise _error("8-bit characters are allowed only in quoted strings and literals")
        if end == pos:
            raise _error(f"unexpected {_describe(line[pos])}")
        frame.items.append(Atom(word.decode("ascii")))
        self._need_sep = True
        return end

    def _close_bracket(self, line: bytes, pos: int, frame: _Frame) -> int:
        m = _WORD_TOP.match(line, pos)
        assert m is not None
        end = m.end()
        tail = line[pos:end]
        if _EIGHT_BIT.search(tail):
            raise _error("8-bit characters are allowed only in quoted strings and literals")
        if end < len(line) and line[end] == 0x5B:
            raise _error("only one [...] section is allowed in a word")
        items = tuple(frame.items)
        if frame.segment == self._segment:
            value = line[frame.start : end].decode("latin-1")
        else:
            inner = " ".join(render_token(t) for t in items)
            value = f"{frame.head.decode('ascii')}[{inner}]{tail.decode('ascii')}"
        self._stack[-1].items.append(Atom(value, section=items, tail=tail.decode("ascii")))
        self._need_sep = True
        return end
