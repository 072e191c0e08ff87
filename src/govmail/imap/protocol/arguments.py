"""A cursor over the argument tokens of one command, with readers for each grammar rule.

Used by the command parsers; every failure is a :class:`ProtocolError` that names the
command, the tag and what was expected ("STATUS: expected status item list").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime

from govmail.imap.protocol import mutf7
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.dates import parse_date, parse_datetime
from govmail.imap.protocol.errors import (
    ErrorKind,
    MUTF7Error,
    ProtocolError,
    SequenceSetError,
    Status,
)
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.protocol.tokens import Atom, Literal, ParenList, Quoted, Token, render_token

_ATOM = re.compile(r'[^\x00-\x20\x7f-\uffff(){%*"\\\]]+')
_ASTRING_ATOM = re.compile(r'[^\x00-\x20\x7f-\uffff(){%*"\\]+')
_LIST_ATOM = re.compile(r'[^\x00-\x20\x7f-\uffff(){"\\]+')
_FLAG = re.compile(r'\\?[^\x00-\x20\x7f-\uffff(){%*"\\\]]+')
_NUMBER = re.compile(r"[0-9]{1,20}")

MAX_NUMBER = 0xFFFFFFFF
MAX_NUMBER64 = 0x7FFFFFFFFFFFFFFF

SYSTEM_FLAGS = {
    f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent")
}


def canonical_flag(flag: str) -> str:
    """System flags in canonical case; keywords and other flags unchanged."""
    return SYSTEM_FLAGS.get(flag.upper(), flag)


def normalize_mailbox(name: str) -> str:
    """NFC, and ``INBOX`` in any case spelled ``INBOX``."""
    name = unicodedata.normalize("NFC", name)
    return "INBOX" if name.upper() == "INBOX" else name


class Arguments:
    """Sequential access to tokens; ``command`` and ``tag`` are used in error messages."""

    __slots__ = ("_pos", "_tokens", "command", "tag", "utf8")

    def __init__(
        self, tokens: Sequence[Token], *, command: str, tag: str, utf8: bool = False
    ) -> None:
        self._tokens = tokens
        self._pos = 0
        self.command = command
        self.tag = tag
        self.utf8 = utf8

    # -- basics -------------------------------------------------------------------------

    def error(
        self,
        reason: str,
        *,
        kind: ErrorKind = ErrorKind.SYNTAX,
        code: ResponseCode | None = None,
        status: Status = "BAD",
    ) -> ProtocolError:
        return ProtocolError(
            f"{self.command}: {reason}", tag=self.tag, kind=kind, code=code, status=status
        )

    def sub(self, tokens: Sequence[Token]) -> Arguments:
        return Arguments(tokens, command=self.command, tag=self.tag, utf8=self.utf8)

    def at_end(self) -> bool:
        return self._pos >= len(self._tokens)

    def peek(self) -> Token | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def peek_keyword(self) -> str | None:
        """Upper-cased text of the next token if it is a plain atom."""
        token = self.peek()
        if isinstance(token, Atom) and token.section is None:
            return token.value.upper()
        return None

    def next(self, what: str) -> Token:
        if self._pos >= len(self._tokens):
            raise self.error(f"expected {what}")
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def end(self) -> None:
        if self._pos < len(self._tokens):
            extra = render_token(self._tokens[self._pos])[:40]
            raise self.error(f"unexpected argument {extra}")

    def expected(self, what: str, token: Token) -> ProtocolError:
        return self.error(f"expected {what}, got {render_token(token)[:40]}")

    # -- grammar rules ------------------------------------------------------------------

    def atom(self, what: str) -> str:
        token = self.next(what)
        if isinstance(token, Atom) and token.section is None and _ATOM.fullmatch(token.value):
            return token.value
        raise self.expected(what, token)

    def keyword(self, what: str) -> str:
        return self.atom(what).upper()

    def astring(self, what: str) -> bytes:
        token = self.next(what)
        return self._astring_value(token, what, _ASTRING_ATOM)

    def _astring_value(self, token: Token, what: str, pattern: re.Pattern[str]) -> bytes:
        if isinstance(token, Quoted | Literal):
            return token.value
        if isinstance(token, Atom) and pattern.fullmatch(token.value):
            return token.value.encode("ascii")
        raise self.expected(what, token)

    def text(self, what: str) -> str:
        """An astring decoded as UTF-8."""
        return self.decode_utf8(self.astring(what), what)

    def decode_utf8(self, value: bytes, what: str) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(f"{what} is not valid UTF-8", kind=ErrorKind.BAD_ENCODING) from None

    def string(self, what: str) -> bytes:
        token = self.next(what)
        if isinstance(token, Quoted | Literal):
            return token.value
        raise self.expected(what, token)

    def nstring(self, what: str) -> bytes | None:
        token = self.next(what)
        if isinstance(token, Quoted | Literal):
            return token.value
        if isinstance(token, Atom) and token.value.upper() == "NIL":
            return None
        raise self.expected(what, token)

    def number(self, what: str, *, nonzero: bool = False, limit: int = MAX_NUMBER) -> int:
        token = self.next(what)
        if isinstance(token, Atom) and _NUMBER.fullmatch(token.value):
            value = int(token.value)
            if value <= limit and (value or not nonzero):
                return value
        raise self.expected(what, token)

    def number64(self, what: str, *, nonzero: bool = False) -> int:
        return self.number(what, nonzero=nonzero, limit=MAX_NUMBER64)

    def paren_list(self, what: str) -> Arguments:
        token = self.next(what)
        if isinstance(token, ParenList):
            return self.sub(token.items)
        raise self.expected(what, token)

    def sequence_set(self, what: str = "sequence set") -> SequenceSet:
        token = self.next(what)
        if isinstance(token, Atom) and token.section is None:
            try:
                return SequenceSet.parse(token.value)
            except SequenceSetError as exc:
                raise self.error(f"invalid {what}: {exc}") from None
        raise self.expected(what, token)

    def mailbox(self, what: str = "mailbox name") -> str:
        return normalize_mailbox(self.decode_mailbox(self.astring(what), what))

    def list_mailbox(self, what: str = "mailbox pattern") -> str:
        """``list-mailbox``: like a mailbox, but unquoted ``%``, ``*`` and ``]`` are allowed."""
        token = self.next(what)
        raw = self._astring_value(token, what, _LIST_ATOM)
        return unicodedata.normalize("NFC", self.decode_mailbox(raw, what))

    def decode_mailbox(self, raw: bytes, what: str) -> str:
        try:
            if self.utf8:
                return raw.decode("utf-8")
            return mutf7.decode(raw)
        except (UnicodeDecodeError, MUTF7Error) as exc:
            detail = "not valid UTF-8" if self.utf8 else f"not valid modified UTF-7 ({exc})"
            raise self.error(f"{what} is {detail}", kind=ErrorKind.BAD_MAILBOX_NAME) from None

    def flag(self, what: str = "flag") -> str:
        token = self.next(what)
        if isinstance(token, Atom) and token.section is None and _FLAG.fullmatch(token.value):
            return canonical_flag(token.value)
        raise self.expected(what, token)

    def flag_list(self, what: str = "flag list") -> tuple[str, ...]:
        items = self.paren_list(what)
        flags: list[str] = []
        while not items.at_end():
            flags.append(items.flag())
        return tuple(flags)

    def date(self, what: str = "date") -> date:
        token = self.next(what)
        if isinstance(token, Atom) and token.section is None:
            text = token.value
        elif isinstance(token, Quoted):
            text = token.value.decode("ascii", "replace")
        else:
            raise self.expected(what, token)
        try:
            return parse_date(text)
        except ValueError as exc:
            raise self.error(str(exc)) from None

    def datetime(self, what: str = "date-time") -> datetime:
        token = self.next(what)
        if not isinstance(token, Quoted):
            raise self.expected(f"quoted {what}", token)
        try:
            return parse_datetime(token.value.decode("ascii", "replace"))
        except ValueError as exc:
            raise self.error(str(exc)) from None
