"""Errors raised by the IMAP wire-protocol layer.

Everything a client can send wrong ends up as a :class:`ProtocolError`. The session turns
it into a reply::

    except ProtocolError as err:
        send(tagged(err.tag, err.status, catalogue(err.kind) or err.reason, code=err.code)
             if err.tag else untagged_status("BAD", err.reason))
        if err.fatal:
            close()

``reason`` is English, short and specific ("SELECT: expected mailbox name"); ``kind`` is a
stable key the session can use to pick a Vietnamese text from its message catalogue.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from govmail.imap.protocol.codes import ResponseCode

Status = Literal["BAD", "NO"]


class ErrorKind(StrEnum):
    """Stable identifiers of what went wrong, for message catalogues and metrics."""

    SYNTAX = "syntax"
    """The command does not follow the grammar."""
    MISSING_TAG = "missing_tag"
    """The line does not start with a valid tag."""
    UNKNOWN_COMMAND = "unknown_command"
    LINE_TOO_LONG = "line_too_long"
    """The command text (excluding literals) exceeds the configured limit."""
    LITERAL_TOO_BIG = "literal_too_big"
    """A literal (or all literals of one command) exceeds the configured limit."""
    BAD_CHARSET = "bad_charset"
    """SEARCH names a charset this server cannot decode."""
    BAD_MAILBOX_NAME = "bad_mailbox_name"
    """A mailbox name is not valid modified UTF-7 (or UTF-8 where enabled)."""
    BAD_ENCODING = "bad_encoding"
    """A string is not valid UTF-8 or base64 where one of those is required."""


class ProtocolError(Exception):
    """The client sent something this layer cannot accept.

    Attributes:
        reason: human-readable English explanation, no CR/LF.
        tag: the command tag when it could be read, else ``None`` (answer untagged).
        kind: stable :class:`ErrorKind` for catalogues.
        code: response code to attach (e.g. ``[TOOBIG]``, ``[BADCHARSET]``) or ``None``.
        status: the status the session should answer with, ``"BAD"`` (default) or ``"NO"``.
        fatal: the reader has stopped; the session should send ``* BYE`` and close.
    """

    def __init__(
        self,
        reason: str,
        *,
        tag: str | None = None,
        kind: ErrorKind = ErrorKind.SYNTAX,
        code: ResponseCode | None = None,
        status: Status = "BAD",
        fatal: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tag = tag
        self.kind = kind
        self.code = code
        self.status: Status = status
        self.fatal = fatal

    def with_tag(self, tag: str | None) -> ProtocolError:
        """Return this error carrying ``tag`` (used when the tag becomes known later)."""
        if self.tag == tag:
            return self
        return ProtocolError(
            self.reason,
            tag=tag,
            kind=self.kind,
            code=self.code,
            status=self.status,
            fatal=self.fatal,
        )

    def __repr__(self) -> str:
        return (
            f"ProtocolError({self.reason!r}, tag={self.tag!r}, kind={self.kind.value!r}, "
            f"status={self.status!r}, fatal={self.fatal!r})"
        )


class MUTF7Error(ValueError):
    """A string is not valid modified UTF-7 (RFC 3501 section 5.1.3), or cannot be encoded."""


class SequenceSetError(ValueError):
    """A sequence set does not follow the RFC 3501 ``sequence-set`` grammar."""


class ReaderStateError(RuntimeError):
    """The session called the reader out of order (a programming error, not bad input)."""
