"""Incremental reader of client commands: bytes in, complete commands out. No I/O.

The session feeds whatever arrived from the socket and then drains events::

    reader.feed(data)
    while True:
        try:
            event = reader.next_event()
        except ProtocolError as err:       # already resynchronised; answer and go on
            reply_bad(err)
            if err.fatal:
                close(); break
            continue
        if event is None:                  # need more bytes
            break
        match event:
            case LiteralRequest():         # a synchronising literal {N} was announced
                reader.accept_literal()    # ...then send b"+ Ready\\r\\n"
                # or: reader.reject_literal() and send "tag NO ..."
            case RawCommand():
                handle(parse_command(event))
            case ContinuationLine():       # only after reader.expect_line()
                ...                        # IDLE's DONE, an AUTHENTICATE response

Line ends may be CRLF or a bare LF. Empty lines between commands are ignored.

Limits (:class:`ReaderLimits`):

* ``max_line_length`` bounds the command text excluding literal octets (all lines of one
  command together). A longer command is answered with ``BAD`` (``kind=LINE_TOO_LONG``) as
  soon as the limit is passed; the reader drops everything up to the end of that line
  (and the data of a ``{N+}`` literal the line ends with), then reads the next command.
* ``max_literal_size`` (``max_append_literal_size`` for APPEND) bounds one literal and
  ``max_command_literal_total`` all literals of one command (MULTIAPPEND);
  ``max_nonsync_literal_size`` additionally bounds ``{N+}`` literals (4096 for LITERAL-).
  A *synchronising* literal over the limit is refused before any of its data is read:
  ``next_event`` raises ``ProtocolError(status="NO", code=[TOOBIG])``; the client, not
  having received ``+``, sends no data, and the next line is a new command.
  A *non-synchronising* literal (RFC 7888 ``{N+}``) over the limit is already on its way.
  Our choice per RFC 7888 section 4: answer ``BAD [TOOBIG]`` at once and read and discard
  the N octets and the rest of that command without buffering them. When N exceeds
  ``max_discard_size`` the error is ``fatal`` instead: the reader stops and the session
  must close the connection.

Security note for the session: after answering ``STARTTLS`` with OK, throw this reader
away and start a new one on the TLS stream; octets the client pipelined after the
STARTTLS line (``buffered`` > 0) were sent in clear text and must not be executed.

Any other malformed input raises :class:`ProtocolError` carrying the tag when it could be
read; the offending line is consumed (with a trailing ``{N+}`` literal's data) and the
reader continues with the next command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.errors import ErrorKind, ProtocolError, ReaderStateError
from govmail.imap.protocol.lexer import CommandLexer, LiteralAnnouncement
from govmail.imap.protocol.tokens import Token

KiB = 1024
MiB = 1024 * 1024

_TAG_CHARS = bytes(c for c in range(0x21, 0x7F) if chr(c) not in '(){%*"\\+')
_TAG = re.compile(b"[" + re.escape(_TAG_CHARS) + b"]+")
_NAME = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._-]*")
_NONSYNC_AT_END = re.compile(rb"\{([0-9]{1,10})\+\}\r?$")
_COMPACT_AT = 64 * KiB


@dataclass(frozen=True, slots=True)
class ReaderLimits:
    """Size limits enforced by :class:`CommandReader` (octets)."""

    max_line_length: int = 64 * KiB
    max_literal_size: int = 64 * KiB
    max_append_literal_size: int = 50 * MiB
    max_command_literal_total: int = 100 * MiB
    max_discard_size: int = 100 * MiB
    max_nonsync_literal_size: int | None = None
    """``None`` when advertising LITERAL+; 4096 when advertising LITERAL- (RFC 7888)."""

    def literal_limit(self, command: str, *, synchronizing: bool = True) -> int:
        """Largest single literal accepted in ``command`` (upper-case name)."""
        limit = self.max_append_literal_size if command == "APPEND" else self.max_literal_size
        if not synchronizing and self.max_nonsync_literal_size is not None:
            limit = min(limit, self.max_nonsync_literal_size)
        return limit


@dataclass(frozen=True, slots=True)
class RawCommand:
    """A complete command: tag, upper-cased name and argument tokens (literals resolved)."""

    tag: str
    name: str
    args: tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class LiteralRequest:
    """A synchronising literal was announced; call ``accept_literal`` or ``reject_literal``."""

    tag: str
    name: str
    size: int
    binary: bool


@dataclass(frozen=True, slots=True)
class ContinuationLine:
    """A line read after :meth:`CommandReader.expect_line`, without its line end."""

    data: bytes


ReaderEvent = RawCommand | LiteralRequest | ContinuationLine


class _State(Enum):
    LINE = auto()
    LITERAL = auto()
    AWAIT_DECISION = auto()
    DISCARD_LITERAL = auto()
    DISCARD_LINE = auto()
    CLOSED = auto()


class _Signal(Enum):
    NEED_MORE = auto()


class _Command:
    __slots__ = ("lexer", "line_octets", "literal", "literal_total", "name", "tag")

    def __init__(self, tag: str, name: str) -> None:
        self.tag = tag
        self.name = name
        self.lexer = CommandLexer()
        self.line_octets = 0
        self.literal_total = 0
        self.literal: LiteralAnnouncement | None = None


class CommandReader:
    """Turns a client's byte stream into :class:`ReaderEvent` values."""

    def __init__(self, limits: ReaderLimits | None = None) -> None:
        self.limits = limits or ReaderLimits()
        self._buf = bytearray()
        self._pos = 0
        self._scan_from = 0
        self._state = _State.LINE
        self._cmd: _Command | None = None
        self._expect_line = False
        self._discard_left = 0
        self._discard_tail = b""

    # -- public API ---------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append bytes received from the client."""
        if self._state is _State.CLOSED:
            return
        if self._pos:
            del self._buf[: self._pos]
            self._scan_from = max(0, self._scan_from - self._pos)
            self._pos = 0
        self._buf += data

    def next_event(self) -> ReaderEvent | None:
        """Return the next event, or ``None`` when more bytes are needed.

        Raises :class:`ProtocolError` for bad input (the reader has already resynchronised)
        and :class:`ReaderStateError` if a :class:`LiteralRequest` is still unanswered.
        """
        while True:
            state = self._state
            if state is _State.LINE:
                event = self._read_line()
                if event is _Signal.NEED_MORE:
                    return None
                if event is not None:
                    return event
            elif state is _State.LITERAL:
                if not self._read_literal():
                    return None
            elif state is _State.DISCARD_LITERAL:
                if not self._discard_literal():
                    return None
            elif state is _State.DISCARD_LINE:
                if not self._discard_line():
                    return None
            elif state is _State.AWAIT_DECISION:
                raise ReaderStateError("answer the LiteralRequest before reading on")
            else:
                return None

    def accept_literal(self) -> None:
        """Accept the announced synchronising literal; the session then sends ``+ ...``."""
        if self._state is not _State.AWAIT_DECISION:
            raise ReaderStateError("no literal is waiting for a decision")
        self._state = _State.LITERAL

    def reject_literal(self) -> None:
        """Refuse it; the session answers the command with a tagged NO/BAD."""
        if self._state is not _State.AWAIT_DECISION:
            raise ReaderStateError("no literal is waiting for a decision")
        self._cmd = None
        self._state = _State.LINE

    def expect_line(self) -> None:
        """Return the next line as a :class:`ContinuationLine` (IDLE ``DONE``, SASL data)."""
        if self._cmd is not None:
            raise ReaderStateError("a command is being read")
        self._expect_line = True

    @property
    def in_command(self) -> bool:
        """True while part of a command has been read."""
        return self._cmd is not None or self._state is not _State.LINE

    @property
    def closed(self) -> bool:
        """True after a fatal error; the reader ignores all further input."""
        return self._state is _State.CLOSED

    @property
    def buffered(self) -> int:
        """Octets received but not consumed yet."""
        return len(self._buf) - self._pos

    # -- states -------------------------------------------------------------------------

    def _read_line(self) -> ReaderEvent | _Signal | None:
        buf = self._buf
        cmd = self._cmd
        budget = self.limits.max_line_length - (cmd.line_octets if cmd else 0)
        nl = buf.find(b"\n", max(self._pos, self._scan_from))
        if nl < 0:
            if len(buf) - self._pos > budget + 1:
                self._line_too_long_unterminated()
            self._scan_from = len(buf)
            return _Signal.NEED_MORE
        end = nl - 1 if nl > self._pos and buf[nl - 1] == 0x0D else nl
        line = bytes(buf[self._pos : end])
        self._pos = nl + 1
        self._scan_from = self._pos
        if len(line) > budget:
            tag = cmd.tag if cmd else self._sniff_tag(line)
            self._expect_line = False
            raise self._resync(
                ProtocolError(
                    "command line too long",
                    tag=tag,
                    kind=ErrorKind.LINE_TOO_LONG,
                    code=ResponseCode.TOOBIG,
                ),
                line,
            )
        if cmd is None:
            if self._expect_line:
                self._expect_line = False
                return ContinuationLine(line)
            if not line.strip(b" "):
                return None
            cmd = self._start_command(line)
            start = len(cmd.tag) + 1 + len(cmd.name)
        else:
            start = 0
        cmd.line_octets += len(line)
        try:
            announced = cmd.lexer.feed_segment(line, start)
            if announced is None:
                tokens = cmd.lexer.finish()
        except ProtocolError as err:
            raise self._resync(err.with_tag(cmd.tag), line) from None
        if announced is None:
            self._cmd = None
            return RawCommand(cmd.tag, cmd.name, tokens)
        return self._announce(cmd, announced)

    def _announce(self, cmd: _Command, lit: LiteralAnnouncement) -> ReaderEvent | None:
        limit = self.limits.literal_limit(cmd.name, synchronizing=lit.synchronizing)
        total = cmd.literal_total + lit.size
        if lit.size > limit or total > self.limits.max_command_literal_total:
            self._cmd = None
            reason = f"literal of {lit.size} octets is larger than the limit of {limit}"
            if lit.size <= limit:
                reason = "literals of this command exceed the total limit"
            if lit.synchronizing:
                raise ProtocolError(
                    reason,
                    tag=cmd.tag,
                    kind=ErrorKind.LITERAL_TOO_BIG,
                    code=ResponseCode.TOOBIG,
                    status="NO",
                )
            fatal = self._start_discard(lit.size)
            raise ProtocolError(
                reason,
                tag=cmd.tag,
                kind=ErrorKind.LITERAL_TOO_BIG,
                code=ResponseCode.TOOBIG,
                fatal=fatal,
            )
        cmd.literal_total = total
        cmd.literal = lit
        if lit.synchronizing:
            self._state = _State.AWAIT_DECISION
            return LiteralRequest(cmd.tag, cmd.name, lit.size, lit.binary)
        self._state = _State.LITERAL
        return None

    def _read_literal(self) -> bool:
        cmd = self._cmd
        assert cmd is not None and cmd.literal is not None
        size = cmd.literal.size
        if len(self._buf) - self._pos < size:
            return False
        data = bytes(self._buf[self._pos : self._pos + size])
        self._pos += size
        self._scan_from = self._pos
        cmd.lexer.add_literal(data, cmd.literal)
        cmd.literal = None
        self._state = _State.LINE
        return True

    def _discard_literal(self) -> bool:
        take = min(len(self._buf) - self._pos, self._discard_left)
        self._pos += take
        self._scan_from = self._pos
        self._discard_left -= take
        if self._discard_left:
            return False
        self._discard_tail = b""
        self._state = _State.DISCARD_LINE
        return True

    def _discard_line(self) -> bool:
        buf = self._buf
        nl = buf.find(b"\n", self._pos)
        if nl < 0:
            self._discard_tail = (self._discard_tail + bytes(buf[self._pos :]))[-16:]
            self._pos = len(buf)
            self._scan_from = self._pos
            return False
        tail = (self._discard_tail + bytes(buf[max(self._pos, nl - 16) : nl]))[-16:]
        self._pos = nl + 1
        self._scan_from = self._pos
        self._discard_tail = b""
        m = _NONSYNC_AT_END.search(tail)
        if m:
            if self._start_discard(int(m.group(1))):
                raise ProtocolError(
                    "literal too large to skip",
                    kind=ErrorKind.LITERAL_TOO_BIG,
                    code=ResponseCode.TOOBIG,
                    fatal=True,
                )
        else:
            self._state = _State.LINE
        return True

    # -- helpers ------------------------------------------------------------------------

    def _start_command(self, line: bytes) -> _Command:
        m = _TAG.match(line)
        if m is None or m.end() >= len(line) or line[m.end()] != 0x20:
            tag = m.group().decode("ascii") if m and m.end() == len(line) else None
            if tag is not None:
                raise ProtocolError("missing command name", tag=tag)
            raise self._resync(
                ProtocolError("line does not start with a valid tag", kind=ErrorKind.MISSING_TAG),
                line,
            )
        tag = m.group().decode("ascii")
        n = _NAME.match(line, m.end() + 1)
        if n is None or (n.end() < len(line) and line[n.end()] != 0x20):
            raise self._resync(ProtocolError("missing or invalid command name", tag=tag), line)
        name = n.group().decode("ascii").upper()
        cmd = _Command(tag, name)
        self._cmd = cmd
        return cmd

    def _resync(self, err: ProtocolError, line: bytes) -> ProtocolError:
        """Drop the current command after the bad ``line``; skip a ``{N+}`` literal it ends with.

        Returns the error to raise (made fatal if that literal is too large to skip).
        """
        self._cmd = None
        m = _NONSYNC_AT_END.search(line[-16:])
        if m and self._start_discard(int(m.group(1))):
            err.fatal = True
        return err

    def _start_discard(self, size: int) -> bool:
        """Enter discard mode for ``size`` octets; return True (and close) if too many."""
        self._cmd = None
        if size > self.limits.max_discard_size:
            self._state = _State.CLOSED
            self._buf = bytearray()
            self._pos = 0
            self._scan_from = 0
            return True
        self._discard_left = size
        self._state = _State.DISCARD_LITERAL
        return False

    def _line_too_long_unterminated(self) -> None:
        cmd = self._cmd
        tag = cmd.tag if cmd else self._sniff_tag(bytes(self._buf[self._pos : self._pos + 256]))
        self._cmd = None
        self._expect_line = False
        self._discard_tail = bytes(self._buf[-16:])
        self._pos = len(self._buf)
        self._scan_from = self._pos
        self._state = _State.DISCARD_LINE
        raise ProtocolError(
            "command line too long",
            tag=tag,
            kind=ErrorKind.LINE_TOO_LONG,
            code=ResponseCode.TOOBIG,
        )

    def _sniff_tag(self, start: bytes) -> str | None:
        if self._expect_line:
            return None
        m = _TAG.match(start)
        if m and start[m.end() : m.end() + 1] == b" ":
            return m.group().decode("ascii")
        return None
