"""Server responses as bytes, each ending in CRLF.

Status responses: :func:`tagged` (``a1 OK [READ-WRITE] SELECT completed``),
:func:`untagged_status` (``* OK``, ``* NO``, ``* BAD``, ``* PREAUTH``, ``* BYE``) and
:func:`continuation` (``+ Ready``). Codes come from
:class:`~govmail.imap.protocol.codes.ResponseCode`. Human-readable text is sent as UTF-8
(RFC 9051 allows it; IMAP4rev1 clients show it as they can) with CR, LF and NUL replaced by
spaces. An empty text is replaced by a short English word, because IMAP4rev1 requires one.

Untagged data: one function per response (:func:`exists`, :func:`list_mailbox`,
:func:`status`, :func:`search`, :func:`esearch`, :func:`fetch`, ...). :func:`fetch` takes
``(name, encoded value)`` pairs; encode values with :mod:`values` and :mod:`structure`::

    fetch(12, [("UID", number(4827)), ("FLAGS", flag_list(flags)),
               ("BODY[HEADER]", literal(header_bytes))])
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from govmail.imap.protocol import mutf7
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.protocol.values import (
    NIL,
    astring,
    flag_list,
    mailbox,
    nstring,
    number,
    quoted,
    string,
)

CRLF = b"\r\n"
StatusName = Literal["OK", "NO", "BAD", "PREAUTH", "BYE"]

_DEFAULT_TEXT = {
    "OK": "completed",
    "NO": "failed",
    "BAD": "invalid command",
    "PREAUTH": "ready",
    "BYE": "closing connection",
}
_UNSAFE_TEXT = re.compile(rb"[\x00\r\n]")


def _text(status: str, text: str, code: ResponseCode | None) -> bytes:
    body = _UNSAFE_TEXT.sub(b" ", text.encode("utf-8")) or _DEFAULT_TEXT[status].encode()
    if code is not None:
        return bytes(code) + b" " + body
    if body.startswith(b"["):
        body = b" " + body  # a leading "[" would be read as a response code
    return body


# --------------------------------------------------------------------------- status


def tagged(
    tag: str, status: Literal["OK", "NO", "BAD"], text: str = "", code: ResponseCode | None = None
) -> bytes:
    """``tag OK [CODE] text``."""
    return (
        tag.encode("ascii")
        + b" "
        + status.encode("ascii")
        + b" "
        + _text(status, text, code)
        + CRLF
    )


def untagged_status(status: StatusName, text: str = "", code: ResponseCode | None = None) -> bytes:
    """``* OK [CODE] text`` (also NO, BAD, PREAUTH, BYE)."""
    return b"* " + status.encode("ascii") + b" " + _text(status, text, code) + CRLF


def continuation(text: str = "Ready") -> bytes:
    """``+ text`` for a literal or IDLE."""
    return b"+ " + (_UNSAFE_TEXT.sub(b" ", text.encode("utf-8")) or b"Ready") + CRLF


def sasl_challenge(challenge: bytes) -> bytes:
    """``+ base64`` for an AUTHENTICATE step (``+ `` with nothing for an empty challenge)."""
    return b"+ " + base64.b64encode(challenge) + CRLF


def untagged(data: bytes) -> bytes:
    """``* data`` for any pre-encoded untagged response."""
    return b"* " + data + CRLF


# --------------------------------------------------------------------------- data


def capability(capabilities: Iterable[str]) -> bytes:
    return b"* CAPABILITY " + " ".join(capabilities).encode("ascii") + CRLF


def enabled(capabilities: Iterable[str]) -> bytes:
    """RFC 5161 ``* ENABLED`` (possibly with no capabilities)."""
    names = " ".join(capabilities).encode("ascii")
    return b"* ENABLED" + (b" " + names if names else b"") + CRLF


def exists(count: int) -> bytes:
    return b"* %d EXISTS\r\n" % count


def recent(count: int) -> bytes:
    return b"* %d RECENT\r\n" % count


def expunge(sequence_number: int) -> bytes:
    return b"* %d EXPUNGE\r\n" % sequence_number


def flags(names: Iterable[str]) -> bytes:
    return b"* FLAGS " + flag_list(names) + CRLF


def vanished(uids: SequenceSet, *, earlier: bool = False) -> bytes:
    """RFC 7162 ``* VANISHED [(EARLIER)] uid-set``."""
    return b"* VANISHED " + (b"(EARLIER) " if earlier else b"") + str(uids).encode("ascii") + CRLF


def list_mailbox(
    name: str,
    attributes: Iterable[str],
    delimiter: str | None = "/",
    *,
    command: Literal["LIST", "LSUB"] = "LIST",
    utf8: bool = False,
    childinfo: Sequence[str] = (),
    oldname: str | None = None,
) -> bytes:
    """``* LIST (\\HasNoChildren) "/" INBOX`` with optional RFC 5258 extended items
    (``CHILDINFO`` for RECURSIVEMATCH, ``OLDNAME`` per RFC 9051)."""
    delim = NIL if delimiter is None else quoted(delimiter.encode("ascii"))
    line = (
        b"* "
        + command.encode("ascii")
        + b" "
        + flag_list(attributes)
        + b" "
        + delim
        + b" "
        + mailbox(name, utf8=utf8)
    )
    extra: list[bytes] = []
    if childinfo:
        extra.append(
            b'"CHILDINFO" (' + b" ".join(quoted(c.encode("ascii")) for c in childinfo) + b")"
        )
    if oldname is not None:
        extra.append(b'"OLDNAME" (' + mailbox(oldname, utf8=utf8) + b")")
    if extra:
        line += b" (" + b" ".join(extra) + b")"
    return line + CRLF


def status(name: str, items: Iterable[tuple[str, int | str]], *, utf8: bool = False) -> bytes:
    """``* STATUS name (MESSAGES 231 UIDNEXT 44292)``; ``MAILBOXID`` takes a ``str`` id."""
    parts: list[bytes] = []
    for item, value in items:
        encoded = b"(" + value.encode("ascii") + b")" if isinstance(value, str) else number(value)
        parts.append(item.encode("ascii") + b" " + encoded)
    return b"* STATUS " + mailbox(name, utf8=utf8) + b" (" + b" ".join(parts) + b")" + CRLF


def search(numbers: Iterable[int], *, modseq: int | None = None) -> bytes:
    """``* SEARCH 2 84 882`` (``(MODSEQ n)`` appended for CONDSTORE searches)."""
    line = b" ".join([b"* SEARCH", *(b"%d" % n for n in numbers)])
    if modseq is not None:
        line += b" (MODSEQ %d)" % modseq
    return line + CRLF


def esearch(
    tag: str | None,
    *,
    uid: bool = False,
    min: int | None = None,
    max: int | None = None,
    count: int | None = None,
    all: SequenceSet | None = None,
    modseq: int | None = None,
) -> bytes:
    """RFC 4731 ``* ESEARCH (TAG "a1") UID MIN 2 COUNT 3``; empty results omit MIN/MAX/ALL."""
    line = b"* ESEARCH"
    if tag is not None:
        line += b" (TAG " + quoted(tag.encode("ascii")) + b")"
    if uid:
        line += b" UID"
    if min is not None:
        line += b" MIN %d" % min
    if max is not None:
        line += b" MAX %d" % max
    if count is not None:
        line += b" COUNT %d" % count
    if all is not None and all.items:
        line += b" ALL " + str(all).encode("ascii")
    if modseq is not None:
        line += b" MODSEQ %d" % modseq
    return line + CRLF


def fetch(sequence_number: int, items: Iterable[tuple[str | bytes, bytes]]) -> bytes:
    """``* 12 FETCH (NAME value NAME value)``; names such as ``FetchSection.response_name()``."""
    body = b" ".join(
        (name.encode("ascii") if isinstance(name, str) else name) + b" " + value
        for name, value in items
    )
    return b"* %d FETCH (" % sequence_number + body + b")\r\n"


def id_response(parameters: Sequence[tuple[str, str | None]] | None) -> bytes:
    """RFC 2971 ``* ID ("name" "govmail" ...)`` or ``* ID NIL``."""
    if not parameters:
        return b"* ID NIL\r\n"
    pairs = b" ".join(string(k) + b" " + nstring(v) for k, v in parameters)
    return b"* ID (" + pairs + b")" + CRLF


Namespaces = Sequence[tuple[str, str | None]] | None


def namespace(
    personal: Namespaces,
    other_users: Namespaces = None,
    shared: Namespaces = None,
    *,
    utf8: bool = False,
) -> bytes:
    """RFC 2342 ``* NAMESPACE (("" "/")) NIL NIL``; each part lists ``(prefix, delimiter)``."""

    def part(entries: Namespaces) -> bytes:
        if not entries:
            return NIL
        return (
            b"("
            + b"".join(
                b"("
                + mailbox_string(prefix, utf8)
                + b" "
                + (NIL if delim is None else quoted(delim.encode("ascii")))
                + b")"
                for prefix, delim in entries
            )
            + b")"
        )

    return b"* NAMESPACE " + part(personal) + b" " + part(other_users) + b" " + part(shared) + CRLF


def mailbox_string(name: str, utf8: bool = False) -> bytes:
    """A mailbox name as a string (never an atom), as NAMESPACE prefixes require."""
    return string(name if utf8 else mutf7.encode(name), utf8=utf8)


def quota(root: str, resources: Iterable[tuple[str, int, int]]) -> bytes:
    """RFC 9208 ``* QUOTA "" (STORAGE 10 512)``: (resource, usage, limit) triples."""
    items = b" ".join(
        b"%s %d %d" % (name.encode("ascii"), used, limit) for name, used, limit in resources
    )
    return b"* QUOTA " + astring(root) + b" (" + items + b")" + CRLF


def quotaroot(name: str, roots: Iterable[str], *, utf8: bool = False) -> bytes:
    """``* QUOTAROOT INBOX ""``."""
    parts = [b"* QUOTAROOT", mailbox(name, utf8=utf8), *(astring(r) for r in roots)]
    return b" ".join(parts) + CRLF


def acl(name: str, entries: Iterable[tuple[str, str]], *, utf8: bool = False) -> bytes:
    """RFC 4314 ``* ACL INBOX fred rwipslxetad``: (identifier, rights) pairs."""
    parts = [b"* ACL", mailbox(name, utf8=utf8)]
    for identifier, rights in entries:
        parts.append(astring(identifier))
        parts.append(astring(rights))
    return b" ".join(parts) + CRLF


def listrights(
    name: str, identifier: str, required: str, optional: Iterable[str], *, utf8: bool = False
) -> bytes:
    """``* LISTRIGHTS INBOX fred lr s w i``: always-granted rights, then optional groups."""
    parts = [b"* LISTRIGHTS", mailbox(name, utf8=utf8), astring(identifier), astring(required)]
    parts.extend(astring(group) for group in optional)
    return b" ".join(parts) + CRLF


def myrights(name: str, rights: str, *, utf8: bool = False) -> bytes:
    """``* MYRIGHTS INBOX rwiptsldaex``."""
    return b"* MYRIGHTS " + mailbox(name, utf8=utf8) + b" " + astring(rights) + CRLF
