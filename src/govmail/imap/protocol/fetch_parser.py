"""FETCH and STORE argument parsers (RFC 3501, RFC 3516 BINARY, RFC 7162 modifiers)."""

from __future__ import annotations

import re
from typing import Literal, cast

from govmail.imap.protocol.arguments import MAX_NUMBER64, Arguments
from govmail.imap.protocol.commands import (
    FETCH_MACROS,
    Fetch,
    FetchAttribute,
    FetchItem,
    FetchItemName,
    FetchSection,
    SectionText,
    Store,
)
from govmail.imap.protocol.tokens import Atom, ParenList, Token

_SIMPLE_ITEMS = frozenset(
    {
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
    }
)
_SECTION_HEADS: dict[str, tuple[Literal["BODY", "BINARY", "BINARY.SIZE"], bool]] = {
    "BODY": ("BODY", False),
    "BODY.PEEK": ("BODY", True),
    "BINARY": ("BINARY", False),
    "BINARY.PEEK": ("BINARY", True),
    "BINARY.SIZE": ("BINARY.SIZE", False),
}
_SECTION_TEXTS = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"})
_PART_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_PARTIAL = re.compile(r"<([0-9]{1,19})\.([0-9]{1,19})>")
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_STORE_ACTIONS: dict[str, Literal["replace", "add", "remove"]] = {
    "": "replace",
    "+": "add",
    "-": "remove",
}
_STORE_ITEM = re.compile(r"([+-]?)FLAGS(\.SILENT)?", re.IGNORECASE)


def _attribute(args: Arguments, token: Token) -> FetchAttribute:
    if not isinstance(token, Atom):
        raise args.expected("fetch attribute", token)
    if token.section is None:
        name = token.value.upper()
        if name in _SIMPLE_ITEMS:
            return FetchItem(cast(FetchItemName, name))
        raise args.error(f"unknown fetch attribute {token.value[:40]}")
    head = token.head.upper()
    if head not in _SECTION_HEADS:
        raise args.error(f"unknown fetch attribute {token.value[:40]}")
    kind, peek = _SECTION_HEADS[head]
    section = args.sub(token.section)
    if kind == "BODY":
        part, text, fields = _body_section(section)
    else:
        part, text, fields = _binary_section(section), None, ()
    partial: tuple[int, int] | None = None
    if token.tail:
        m = _PARTIAL.fullmatch(token.tail)
        if m is None or kind == "BINARY.SIZE":
            raise args.error(f"invalid text after section: {token.tail[:40]}")
        start, length = int(m.group(1)), int(m.group(2))
        if length == 0 or start > MAX_NUMBER64 or length > MAX_NUMBER64:
            raise args.error("invalid partial range")
        partial = (start, length)
    return FetchSection(
        kind=kind,
        peek=peek,
        part=part,
        text=text,
        fields=fields,
        partial=partial,
    )


def _part_numbers(words: list[str]) -> tuple[int, ...]:
    """Remove and return the leading part numbers of the dot-separated ``words``."""
    part: list[int] = []
    while words and _PART_NUMBER.fullmatch(words[0]):
        part.append(int(words.pop(0)))
    return tuple(part)


def _body_section(
    section: Arguments,
) -> tuple[tuple[int, ...], SectionText | None, tuple[str, ...]]:
    if section.at_end():
        return (), None, ()
    spec = section.atom("section specification")
    words = spec.split(".")
    part = _part_numbers(words)
    if not words:
        section.end()
        return part, None, ()
    text = ".".join(words).upper()
    if text not in _SECTION_TEXTS:
        raise section.error(f"invalid section {spec[:40]}")
    if text == "MIME" and not part:
        raise section.error("MIME needs a part number (e.g. 1.MIME)")
    fields: tuple[str, ...] = ()
    if text.startswith("HEADER.FIELDS"):
        names = section.paren_list("header field list")
        found: list[str] = []
        while not names.at_end():
            name = names.text("header field name")
            if not _HEADER_NAME.fullmatch(name):
                raise section.error(f"invalid header field name {name[:40]!r}")
            found.append(name)
        if not found:
            raise section.error("header field list is empty")
        fields = tuple(found)
    section.end()
    return part, cast(SectionText, text), fields


def _binary_section(section: Arguments) -> tuple[int, ...]:
    if section.at_end():
        return ()
    spec = section.atom("section part")
    words = spec.split(".")
    part = _part_numbers(words)
    if words:
        raise section.error(f"invalid binary section {spec[:40]}")
    section.end()
    return part


def parse_fetch(args: Arguments, *, uid: bool) -> Fetch:
    """Parse the arguments of FETCH / UID FETCH."""
    sequence = args.sequence_set()
    token = args.next("fetch attributes")
    attributes: list[FetchAttribute] = []
    if isinstance(token, ParenList):
        if not token.items:
            raise args.error("fetch attribute list is empty")
        for item in token.items:
            attributes.append(_attribute(args, item))
    elif isinstance(token, Atom) and token.section is None and token.value.upper() in FETCH_MACROS:
        attributes.extend(FetchItem(name) for name in FETCH_MACROS[token.value.upper()])
    else:
        attributes.append(_attribute(args, token))
    changed_since: int | None = None
    vanished = False
    if not args.at_end():
        modifiers = args.paren_list("fetch modifiers")
        while not modifiers.at_end():
            name = modifiers.keyword("fetch modifier")
            if name == "CHANGEDSINCE" and changed_since is None:
                changed_since = modifiers.number64("CHANGEDSINCE mod-sequence", nonzero=True)
            elif name == "VANISHED" and not vanished:
                vanished = True
            else:
                raise args.error(f"unknown or repeated fetch modifier {name[:40]}")
    args.end()
    if vanished and not (uid and changed_since is not None):
        raise args.error("VANISHED requires UID FETCH with CHANGEDSINCE")
    return Fetch(
        tag=args.tag,
        sequence=sequence,
        attributes=tuple(attributes),
        uid=uid,
        changed_since=changed_since,
        vanished=vanished,
    )


def parse_store(args: Arguments, *, uid: bool) -> Store:
    """Parse the arguments of STORE / UID STORE."""
    sequence = args.sequence_set()
    unchanged_since: int | None = None
    if isinstance(args.peek(), ParenList):
        modifiers = args.paren_list("store modifiers")
        while not modifiers.at_end():
            name = modifiers.keyword("store modifier")
            if name != "UNCHANGEDSINCE" or unchanged_since is not None:
                raise args.error(f"unknown or repeated store modifier {name[:40]}")
            unchanged_since = modifiers.number64("UNCHANGEDSINCE mod-sequence")
    item = args.atom("FLAGS, +FLAGS or -FLAGS")
    m = _STORE_ITEM.fullmatch(item)
    if m is None:
        raise args.error(f"expected FLAGS, +FLAGS or -FLAGS, got {item[:40]}")
    action = _STORE_ACTIONS[m.group(1)]
    if isinstance(args.peek(), ParenList):
        flags = args.flag_list()
    else:
        found = [args.flag()]
        while not args.at_end():
            found.append(args.flag())
        flags = tuple(found)
    args.end()
    return Store(
        tag=args.tag,
        sequence=sequence,
        action=action,
        flags=flags,
        silent=bool(m.group(2)),
        uid=uid,
        unchanged_since=unchanged_since,
    )
