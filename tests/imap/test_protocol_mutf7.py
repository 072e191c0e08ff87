"""Modified UTF-7 mailbox names (RFC 3501 section 5.1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govmail.imap.protocol import mutf7
from govmail.imap.protocol.errors import MUTF7Error

CASES = [
    ("INBOX", "INBOX"),
    ("Văn bản đến", "V&AQM-n b&HqM-n &AREevw-n"),
    ("Hộp thư cơ quan/Đã gửi", "H&Htk-p th&AbA- c&AaE- quan/&ARAA4w- g&Hu0-i"),
    ("Thư rác", "Th&AbA- r&AOE-c"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501
    ("Hi Mum ☺!", "Hi Mum &Jjo-!"),  # RFC 2152 example, modified
    ("&", "&-"),
    ("A&B", "A&-B"),
    ("", ""),
    ("😀", "&2D3eAA-"),
    ("tab\there", "tab&AAk-here"),
]


@pytest.mark.parametrize(("name", "wire"), CASES)
def test_encode_and_decode(name: str, wire: str) -> None:
    assert mutf7.encode(name) == wire
    assert mutf7.decode(wire) == name
    assert mutf7.decode(wire.encode("ascii")) == name


@pytest.mark.parametrize(
    ("wire", "fragment"),
    [
        ("&U,BTFw-&ZeVnLIqe-", "in a row"),  # RFC 3501: must be one shift
        ("&Jjo", "unterminated"),
        ("&Jjo!-", "invalid character"),
        ("&J-", "truncated"),
        ("&Jj-", "whole UTF-16"),
        ("&Jjp-", "padding bits"),
        ("&AGE-", "printable US-ASCII"),  # "a" must not be encoded
        ("&2D0-", "surrogate"),  # lone high surrogate
        ("caf\u00e9", "printable US-ASCII"),
        ("a\x7fb", "printable US-ASCII"),
        ("&AOk-&AOk-", "in a row"),
        ("&AOkA6Q", "unterminated"),
    ],
)
def test_decode_rejects(wire: str, fragment: str) -> None:
    with pytest.raises(MUTF7Error) as info:
        mutf7.decode(wire)
    assert fragment in str(info.value)


def test_decode_rejects_8bit_bytes() -> None:
    with pytest.raises(MUTF7Error):
        mutf7.decode("Thư".encode())


def test_encode_rejects_lone_surrogate() -> None:
    with pytest.raises(MUTF7Error):
        mutf7.encode("x\ud800y")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_any_unicode(name: str) -> None:
    wire = mutf7.encode(name)
    assert wire.isascii()
    assert all(" " <= ch <= "~" for ch in wire)
    assert mutf7.decode(wire) == name


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30))
def test_decode_never_crashes(wire: str) -> None:
    try:
        name = mutf7.decode(wire)
    except MUTF7Error:
        return
    assert mutf7.encode(name) == wire
