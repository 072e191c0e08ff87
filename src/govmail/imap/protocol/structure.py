"""ENVELOPE and BODY/BODYSTRUCTURE: the data shapes and their serializers.

The mail layer fills these from a message's stored parsed metadata; this module only
writes them in RFC 3501 / RFC 9051 syntax.

:class:`Envelope` holds header values as they appear in the message (RFC 2047 encoded
words are *not* decoded; IMAP clients decode them). Address lists are sequences of
:class:`Address` ``(name, adl, mailbox, host)``. RFC 3501 group syntax is expressed with
addresses too: ``Address(None, None, "group-name", None)`` starts a group and
``Address(None, None, None, None)`` ends it. Per RFC 3501, an empty ``sender`` or
``reply_to`` is sent as a copy of ``from_``.

A body structure is a tree of :class:`BodyPart` (a leaf: text, image, message/rfc822...)
and :class:`Multipart` nodes. ``BODY`` (``extended=False``) omits extension data;
``BODYSTRUCTURE`` (``extended=True``) includes MD5, disposition, language and location
(and the parameters of multiparts). Values are ``str`` (sent as UTF-8) or ``bytes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from govmail.imap.protocol.values import NIL, nstring, number, string

Text = str | bytes
Params = Sequence[tuple[Text, Text]]


class Address(NamedTuple):
    """One address of an envelope address list (RFC 3501 ``address``)."""

    name: Text | None
    adl: Text | None
    mailbox: Text | None
    host: Text | None


@dataclass(frozen=True, slots=True)
class Envelope:
    date: Text | None = None
    subject: Text | None = None
    from_: Sequence[Address] = ()
    sender: Sequence[Address] = ()
    reply_to: Sequence[Address] = ()
    to: Sequence[Address] = ()
    cc: Sequence[Address] = ()
    bcc: Sequence[Address] = ()
    in_reply_to: Text | None = None
    message_id: Text | None = None


@dataclass(frozen=True, slots=True)
class Disposition:
    """``Content-Disposition``: ``("attachment", (("filename", "a.pdf"),))``."""

    type: Text
    params: Params = ()


@dataclass(frozen=True, slots=True)
class BodyPart:
    """A non-multipart body part.

    ``lines`` is required for ``text/*`` and ``message/rfc822`` (``message/global``)
    parts and ignored otherwise; ``envelope`` and ``body`` describe the message inside a
    ``message/rfc822`` part (an empty envelope and an empty text/plain body are sent
    when they are missing). ``language``: one tag is sent as a string, several as a list.
    """

    type: Text = "TEXT"
    subtype: Text = "PLAIN"
    params: Params = ()
    id: Text | None = None
    description: Text | None = None
    encoding: Text = "7BIT"
    size: int = 0
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyStructure | None = None
    md5: Text | None = None
    disposition: Disposition | None = None
    language: Sequence[Text] | None = None
    location: Text | None = None


@dataclass(frozen=True, slots=True)
class Multipart:
    """A ``multipart/*`` node. With no parts, one empty text/plain part is sent."""

    subtype: Text = "MIXED"
    parts: Sequence[BodyStructure] = field(default_factory=tuple)
    params: Params = ()
    disposition: Disposition | None = None
    language: Sequence[Text] | None = None
    location: Text | None = None


BodyStructure = BodyPart | Multipart

_EMPTY_BODY = BodyPart(lines=0)


def _addresses(addresses: Sequence[Address], utf8: bool) -> bytes:
    if not addresses:
        return NIL
    return (
        b"("
        + b"".join(
            b"("
            + b" ".join(nstring(v, utf8=utf8) for v in (a.name, a.adl, a.mailbox, a.host))
            + b")"
            for a in addresses
        )
        + b")"
    )


def encode_envelope(envelope: Envelope, *, utf8: bool = False) -> bytes:
    """The parenthesised ENVELOPE structure."""
    sender = envelope.sender or envelope.from_
    reply_to = envelope.reply_to or envelope.from_
    return (
        b"("
        + b" ".join(
            (
                nstring(envelope.date, utf8=utf8),
                nstring(envelope.subject, utf8=utf8),
                _addresses(envelope.from_, utf8),
                _addresses(sender, utf8),
                _addresses(reply_to, utf8),
                _addresses(envelope.to, utf8),
                _addresses(envelope.cc, utf8),
                _addresses(envelope.bcc, utf8),
                nstring(envelope.in_reply_to, utf8=utf8),
                nstring(envelope.message_id, utf8=utf8),
            )
        )
        + b")"
    )


def _params(params: Params, utf8: bool) -> bytes:
    if not params:
        return NIL
    return (
        b"("
        + b" ".join(string(k, utf8=utf8) + b" " + string(v, utf8=utf8) for k, v in params)
        + b")"
    )


def _disposition(disposition: Disposition | None, utf8: bool) -> bytes:
    if disposition is None:
        return NIL
    return (
        b"(" + string(disposition.type, utf8=utf8) + b" " + _params(disposition.params, utf8) + b")"
    )


def _language(language: Sequence[Text] | None, utf8: bool) -> bytes:
    if not language:
        return NIL
    if len(language) == 1:
        return string(language[0], utf8=utf8)
    return b"(" + b" ".join(string(tag, utf8=utf8) for tag in language) + b")"


def _upper(value: Text) -> str:
    return (value.decode("ascii", "replace") if isinstance(value, bytes) else value).upper()


def encode_body_structure(body: BodyStructure, *, extended: bool, utf8: bool = False) -> bytes:
    """BODY (``extended=False``) or BODYSTRUCTURE (``extended=True``) of ``body``."""
    out: list[bytes] = []
    _write(body, extended, utf8, out)
    return b"".join(out)


def _write(body: BodyStructure, extended: bool, utf8: bool, out: list[bytes]) -> None:
    if isinstance(body, Multipart):
        out.append(b"(")
        for part in body.parts or (_EMPTY_BODY,):
            _write(part, extended, utf8, out)
        out.append(b" " + string(body.subtype, utf8=utf8))
        if extended:
            out.append(
                b" "
                + b" ".join(
                    (
                        _params(body.params, utf8),
                        _disposition(body.disposition, utf8),
                        _language(body.language, utf8),
                        nstring(body.location, utf8=utf8),
                    )
                )
            )
        out.append(b")")
        return
    fields = [
        string(body.type, utf8=utf8),
        string(body.subtype, utf8=utf8),
        _params(body.params, utf8),
        nstring(body.id, utf8=utf8),
        nstring(body.description, utf8=utf8),
        string(body.encoding, utf8=utf8),
        number(body.size),
    ]
    media = _upper(body.type)
    if media == "MESSAGE" and _upper(body.subtype) in ("RFC822", "GLOBAL"):
        fields.append(encode_envelope(body.envelope or Envelope(), utf8=utf8))
        inner: list[bytes] = []
        _write(body.body or _EMPTY_BODY, extended, utf8, inner)
        fields.append(b"".join(inner))
        fields.append(number(body.lines or 0))
    elif media == "TEXT":
        fields.append(number(body.lines or 0))
    if extended:
        fields.append(nstring(body.md5, utf8=utf8))
        fields.append(_disposition(body.disposition, utf8))
        fields.append(_language(body.language, utf8))
        fields.append(nstring(body.location, utf8=utf8))
    out.append(b"(" + b" ".join(fields) + b")")
