"""Typed client commands, as produced by :func:`govmail.imap.protocol.parser.parse_command`.

Every command is a frozen dataclass with the command's ``tag``. Conventions:

* mailbox names are ``str``: decoded from modified UTF-7 (or UTF-8 once ``UTF8=ACCEPT`` is
  enabled), NFC-normalised, and ``INBOX`` in any case is spelled ``"INBOX"``;
* flags are ``str`` atoms; system flags in canonical case (``\\Seen``), keywords as sent;
* option and item names (STATUS items, ENABLE capabilities, LIST options...) are upper-case;
* ``uid=True`` marks the ``UID`` form of COPY, MOVE, FETCH, STORE, SEARCH and EXPUNGE;
* sequence sets are :class:`~govmail.imap.protocol.sequence.SequenceSet`, unexpanded.

SEARCH criteria are a tree of ``Search*`` dataclasses (:data:`SearchKey`); FETCH items are
:class:`FetchItem` (plain attributes) and :class:`FetchSection` (``BODY[...]``, ``BINARY[...]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from govmail.imap.protocol.sequence import SequenceSet

# --------------------------------------------------------------------------- base


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base class of every command."""

    tag: str


# --------------------------------------------------------------------------- any state


@dataclass(frozen=True, slots=True, kw_only=True)
class Capability(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Id(Command):
    """RFC 2971. ``parameters`` is ``None`` for ``ID NIL``; values may be ``None`` (NIL)."""

    parameters: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Enable(Command):
    """RFC 5161. Capability names upper-cased (``CONDSTORE``, ``UTF8=ACCEPT``)."""

    capabilities: tuple[str, ...]


# --------------------------------------------------------------------------- not authenticated


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTLS(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticate(Command):
    """``mechanism`` upper-case; ``initial_response`` decoded (RFC 4959 SASL-IR; ``=`` is b"")."""

    mechanism: str
    initial_response: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Login(Command):
    """User name and password are astrings decoded as UTF-8 (other octets are refused)."""

    username: str
    password: str


# --------------------------------------------------------------------------- authenticated


@dataclass(frozen=True, slots=True)
class QResync:
    """RFC 7162 ``QRESYNC`` select parameter."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    known_sequence: SequenceSet | None = None
    """``seq-match-data``: message sequence numbers ..."""
    known_sequence_uids: SequenceSet | None = None
    """... and the UIDs they correspond to."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Select(Command):
    """SELECT, or EXAMINE when ``read_only``."""

    mailbox: str
    read_only: bool = False
    condstore: bool = False
    qresync: QResync | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Create(Command):
    """``special_use`` from RFC 6154 ``CREATE name (USE (\\Sent))``."""

    mailbox: str
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename(Command):
    mailbox: str
    new_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe(Command):
    mailbox: str


StatusItem = Literal[
    "MESSAGES",
    "RECENT",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "DELETED",
    "SIZE",
    "HIGHESTMODSEQ",
    "APPENDLIMIT",
    "MAILBOXID",
]

ListSelectOption = Literal["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]
ListReturnOption = Literal["SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "MYRIGHTS", "STATUS"]


@dataclass(frozen=True, slots=True, kw_only=True)
class List(Command):
    """LIST, with RFC 5258 LIST-EXTENDED options.

    ``extended`` is True when any extended syntax was used (selection options, several
    patterns, RETURN); the server must then answer in the extended way. ``status_items``
    are the items of ``RETURN (STATUS (...))`` (RFC 5819); ``"STATUS"`` is in ``returns``
    exactly when it was asked for.
    """

    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[ListSelectOption] = frozenset()
    returns: frozenset[ListReturnOption] = frozenset()
    status_items: tuple[StatusItem, ...] = ()
    extended: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Lsub(Command):
    reference: str
    pattern: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Command):
    mailbox: str
    items: tuple[StatusItem, ...]


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One message of APPEND (several with MULTIAPPEND, RFC 3502).

    ``binary``: sent as literal8 (``~{N}``, RFC 3516); ``utf8``: wrapped in ``UTF8 (...)``
    (RFC 6855). ``internal_date`` is aware, or ``None`` when the client gave none.
    """

    data: bytes
    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None
    binary: bool = False
    utf8: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Append(Command):
    mailbox: str
    messages: tuple[AppendMessage, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespace(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Idle(Command):
    """RFC 2177. The session answers ``+ idling`` and calls ``reader.expect_line()``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GetQuota(Command):
    root: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetQuotaRoot(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetQuota(Command):
    """``limits``: (upper-case resource name, limit) pairs; empty removes all limits."""

    root: str
    limits: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAcl(Command):
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAcl(Command):
    """RFC 4314. ``mode``: replace the rights, or add/remove them (``+rights``/``-rights``)."""

    mailbox: str
    identifier: str
    rights: str
    mode: Literal["replace", "add", "remove"] = "replace"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAcl(Command):
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRights(Command):
    mailbox: str
    identifier: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MyRights(Command):
    mailbox: str


# --------------------------------------------------------------------------- selected


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Close(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Unselect(Command):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Expunge(Command):
    """EXPUNGE, or ``UID EXPUNGE uids`` (RFC 4315) when ``uids`` is set."""

    uids: SequenceSet | None = None

    @property
    def uid(self) -> bool:
        return self.uids is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy(Command):
    sequence: SequenceSet
    mailbox: str
    uid: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Move(Command):
    sequence: SequenceSet
    mailbox: str
    uid: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Store(Command):
    """STORE. ``action``: ``FLAGS`` replaces, ``+FLAGS`` adds, ``-FLAGS`` removes."""

    sequence: SequenceSet
    action: Literal["replace", "add", "remove"]
    flags: tuple[str, ...]
    silent: bool = False
    uid: bool = False
    unchanged_since: int | None = None


# --------------------------------------------------------------------------- SEARCH


@dataclass(frozen=True, slots=True)
class SearchAll:
    pass


@dataclass(frozen=True, slots=True)
class SearchFlag:
    """Messages with (``present``) or without the flag. NEW and OLD are expressed with this."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class SearchText:
    """Substring match; ``field`` is the key (``TEXT`` = header and body, ``BODY`` = body)."""

    field: Literal["BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"]
    value: str


@dataclass(frozen=True, slots=True)
class SearchHeader:
    """``HEADER name value``; an empty value matches every message having the field."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class SearchDate:
    """``field``: ``internal`` (BEFORE/ON/SINCE) or ``sent`` (SENTBEFORE/SENTON/SENTSINCE)."""

    field: Literal["internal", "sent"]
    relation: Literal["before", "on", "since"]
    date: date


@dataclass(frozen=True, slots=True)
class SearchAge:
    """RFC 5032 ``OLDER n`` / ``YOUNGER n`` (seconds, compared with the internal date)."""

    relation: Literal["older", "younger"]
    seconds: int


@dataclass(frozen=True, slots=True)
class SearchSize:
    relation: Literal["larger", "smaller"]
    size: int


@dataclass(frozen=True, slots=True)
class SearchSequence:
    """A message sequence set, or a UID set (``UID 1:100``) when ``uid``."""

    sequence: SequenceSet
    uid: bool = False


@dataclass(frozen=True, slots=True)
class SearchModSeq:
    """RFC 7162 ``MODSEQ ["/flags/\\Seen" all] n``: messages with mod-sequence >= ``modseq``."""

    modseq: int
    entry: str | None = None
    entry_type: Literal["priv", "shared", "all"] | None = None


@dataclass(frozen=True, slots=True)
class SearchNot:
    key: SearchKey


@dataclass(frozen=True, slots=True)
class SearchOr:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class SearchAnd:
    """All of ``keys`` (a parenthesised group, or several top-level keys)."""

    keys: tuple[SearchKey, ...]


SearchKey = (
    SearchAll
    | SearchFlag
    | SearchText
    | SearchHeader
    | SearchDate
    | SearchAge
    | SearchSize
    | SearchSequence
    | SearchModSeq
    | SearchNot
    | SearchOr
    | SearchAnd
)

SearchReturn = Literal["MIN", "MAX", "ALL", "COUNT", "SAVE"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Command):
    """SEARCH / UID SEARCH.

    ``returns`` is ``None`` for a classic ``* SEARCH`` answer; otherwise the RFC 4731 /
    RFC 5182 return options as sent (an empty tuple, ``RETURN ()``, means ``ALL``).
    ``charset`` is the CHARSET named by the client (upper-case) or ``None``; the strings
    in ``criteria`` are already decoded with it.
    """

    criteria: SearchKey
    charset: str | None = None
    uid: bool = False
    returns: tuple[SearchReturn, ...] | None = None


# --------------------------------------------------------------------------- FETCH

FetchItemName = Literal[
    "ENVELOPE",
    "FLAGS",
    "INTERNALDATE",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.SIZE",
    "RFC822.TEXT",
    "BODY",
    "BODYSTRUCTURE",
    "UID",
    "MODSEQ",
]


@dataclass(frozen=True, slots=True)
class FetchItem:
    """A fetch attribute without a section. ``BODY`` here is the non-extensible structure."""

    name: FetchItemName


SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


@dataclass(frozen=True, slots=True)
class FetchSection:
    """``BODY[...]``, ``BODY.PEEK[...]``, ``BINARY[.PEEK][...]`` or ``BINARY.SIZE[...]``.

    ``part`` is the part number path (``1.2.3`` -> ``(1, 2, 3)``; empty for the whole
    message), ``text`` the section text after it, ``fields`` the header names of
    ``HEADER.FIELDS[.NOT]`` as sent, ``partial`` the ``<start.length>`` octet range.
    """

    kind: Literal["BODY", "BINARY", "BINARY.SIZE"] = "BODY"
    peek: bool = False
    part: tuple[int, ...] = ()
    text: SectionText | None = None
    fields: tuple[str, ...] = ()
    partial: tuple[int, int] | None = None

    @property
    def section_spec(self) -> str:
        """The text between the brackets, e.g. ``1.2.HEADER.FIELDS (From Subject)``."""
        spec = ".".join(str(p) for p in self.part)
        if self.text:
            spec = f"{spec}.{self.text}" if spec else self.text
        if self.fields:
            spec += " (" + " ".join(self.fields) + ")"
        return spec

    def response_name(self) -> str:
        """Name of this item in the FETCH response: ``BODY[HEADER]<0>`` (no ``.PEEK``)."""
        name = f"{self.kind}[{self.section_spec}]"
        if self.partial is not None:
            name += f"<{self.partial[0]}>"
        return name


FetchAttribute = FetchItem | FetchSection

FETCH_MACROS: dict[str, tuple[FetchItemName, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetch(Command):
    """FETCH / UID FETCH. Macros (ALL, FAST, FULL) are expanded into ``attributes``.

    ``changed_since`` and ``vanished`` are the RFC 7162 modifiers (VANISHED only with
    UID FETCH and CHANGEDSINCE, checked by the parser).
    """

    sequence: SequenceSet
    attributes: tuple[FetchAttribute, ...]
    uid: bool = False
    changed_since: int | None = None
    vanished: bool = False
