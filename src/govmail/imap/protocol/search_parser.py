"""SEARCH program parser: RFC 3501 search keys, RFC 4731/5182 RETURN, RFC 5032, RFC 7162."""

from __future__ import annotations

import codecs
import re
from typing import Literal as TypingLiteral
from typing import cast

from govmail.imap.protocol.arguments import Arguments
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import (
    Search,
    SearchAge,
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModSeq,
    SearchNot,
    SearchOr,
    SearchReturn,
    SearchSequence,
    SearchSize,
    SearchText,
)
from govmail.imap.protocol.errors import ErrorKind, SequenceSetError
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.protocol.tokens import Atom, ParenList

MAX_DEPTH = 64
SEARCH_RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})

_FLAG_KEYS: dict[str, tuple[str, bool]] = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "RECENT": ("\\Recent", True),
    "OLD": ("\\Recent", False),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_TEXT_KEYS = frozenset({"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"})
_DATE_KEYS: dict[
    str, tuple[TypingLiteral["internal", "sent"], TypingLiteral["before", "on", "since"]]
] = {
    "BEFORE": ("internal", "before"),
    "ON": ("internal", "on"),
    "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"),
    "SENTON": ("sent", "on"),
    "SENTSINCE": ("sent", "since"),
}
_SEQUENCE_ATOM = re.compile(r"[0-9*:,$]+")
_CHARSET_CODECS = re.compile(
    r"utf-(8|16|32)(-[bl]e)?|ascii|latin-1|iso8859-[0-9]+|cp[0-9]+|koi8-[a-z]+|gb2312|gbk"
    r"|gb18030|big5(hkscs)?|shift_jis(x0213|_2004)?|euc_[a-z0-9_]+|iso2022_[a-z0-9_]+"
    r"|mac-[a-z]+|hz|johab|tis-620|utf-8-sig"
)
_ENTRY_TYPES = frozenset({"priv", "shared", "all"})


def is_supported_charset(name: str) -> bool:
    """True for character encodings SEARCH CHARSET accepts (any Python text codec of a
    real character set: UTF-8, US-ASCII, ISO-8859-*, windows-125x incl. cp1258, CJK...)."""
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        return False
    return bool(_CHARSET_CODECS.fullmatch(codec.name))


class _SearchParser:
    def __init__(self, args: Arguments, charset: str | None) -> None:
        self.args = args
        self.charset = charset

    def string(self, args: Arguments, what: str) -> str:
        raw = args.astring(what)
        if self.charset is None:
            return args.decode_utf8(raw, what)
        try:
            return raw.decode(self.charset)
        except (UnicodeError, ValueError):
            raise args.error(
                f"{what} is not valid {self.charset}", kind=ErrorKind.BAD_ENCODING
            ) from None

    def keys(self, args: Arguments, depth: int) -> SearchKey:
        keys: list[SearchKey] = []
        while not args.at_end():
            keys.append(self.key(args, depth))
        if not keys:
            raise args.error("expected search criteria")
        return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))

    def key(self, args: Arguments, depth: int) -> SearchKey:
        if depth > MAX_DEPTH:
            raise args.error("search criteria are nested too deeply")
        token = args.next("search key")
        if isinstance(token, ParenList):
            return self.keys(args.sub(token.items), depth + 1)
        if not isinstance(token, Atom) or token.section is not None:
            raise args.expected("search key", token)
        name = token.value.upper()
        if name == "ALL":
            return SearchAll()
        if name in _FLAG_KEYS:
            flag, present = _FLAG_KEYS[name]
            return SearchFlag(flag, present)
        if name == "NEW":
            return SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))
        if name in ("KEYWORD", "UNKEYWORD"):
            return SearchFlag(args.atom(f"{name} flag keyword"), name == "KEYWORD")
        if name in _TEXT_KEYS:
            field = cast(TypingLiteral["BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"], name)
            return SearchText(field, self.string(args, f"{name} string"))
        if name == "HEADER":
            header = self.string(args, "header field name")
            return SearchHeader(header, self.string(args, "header field value"))
        if name in _DATE_KEYS:
            which, relation = _DATE_KEYS[name]
            return SearchDate(which, relation, args.date(f"{name} date"))
        if name in ("LARGER", "SMALLER"):
            size = args.number64(f"{name} size")
            return SearchSize("larger" if name == "LARGER" else "smaller", size)
        if name in ("OLDER", "YOUNGER"):
            seconds = args.number(f"{name} interval", nonzero=True)
            return SearchAge("older" if name == "OLDER" else "younger", seconds)
        if name == "UID":
            return SearchSequence(args.sequence_set("UID set"), uid=True)
        if name == "NOT":
            return SearchNot(self.key(args, depth + 1))
        if name == "OR":
            left = self.key(args, depth + 1)
            return SearchOr(left, self.key(args, depth + 1))
        if name == "MODSEQ":
            return self.modseq(args)
        if _SEQUENCE_ATOM.fullmatch(token.value):
            try:
                return SearchSequence(SequenceSet.parse(token.value))
            except SequenceSetError as exc:
                raise args.error(f"invalid sequence set: {exc}") from None
        raise args.error(f"unknown search key {token.value[:40]}")

    def modseq(self, args: Arguments) -> SearchModSeq:
        entry: str | None = None
        entry_type: TypingLiteral["priv", "shared", "all"] | None = None
        token = args.peek()
        if token is not None and not isinstance(token, Atom):
            entry = args.decode_utf8(args.string("MODSEQ entry name"), "MODSEQ entry name")
            if not entry.lower().startswith("/flags/"):
                raise args.error('MODSEQ entry name must be "/flags/<flag>"')
            kind = args.atom("MODSEQ entry type").lower()
            if kind not in _ENTRY_TYPES:
                raise args.error("MODSEQ entry type must be priv, shared or all")
            entry_type = cast(TypingLiteral["priv", "shared", "all"], kind)
        value = args.number64("mod-sequence value")
        return SearchModSeq(value, entry, entry_type)


def parse_search(args: Arguments, *, uid: bool) -> Search:
    """Parse the arguments of SEARCH / UID SEARCH."""
    returns: tuple[SearchReturn, ...] | None = None
    if args.peek_keyword() == "RETURN":
        args.next("RETURN")
        options = args.paren_list("search return options")
        found: list[SearchReturn] = []
        while not options.at_end():
            option = options.keyword("search return option")
            if option not in SEARCH_RETURN_OPTIONS:
                raise args.error(f"unknown search return option {option}")
            if option not in found:
                found.append(cast(SearchReturn, option))
        returns = tuple(found)
    charset: str | None = None
    if args.peek_keyword() == "CHARSET":
        args.next("CHARSET")
        charset = args.text("charset name").upper()
        if args.utf8 and charset not in ("UTF-8", "US-ASCII"):
            # RFC 6855 section 3 (erratum 4029): conflicting charset labels.
            raise args.error(f"CHARSET {charset[:40]} conflicts with UTF8=ACCEPT")
        if not is_supported_charset(charset):
            raise args.error(
                f"unsupported charset {charset[:40]}",
                kind=ErrorKind.BAD_CHARSET,
                code=ResponseCode.badcharset(("UTF-8", "US-ASCII")),
                status="NO",
            )
    criteria = _SearchParser(args, charset).keys(args, 0)
    return Search(tag=args.tag, criteria=criteria, charset=charset, uid=uid, returns=returns)
