"""Prepending trace fields to stored metadata, and CRLF normalisation of SMTP data."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govmail.mail.lineends import has_bare_line_ends, normalize_crlf
from govmail.mail.parsed import parse_message
from govmail.mail.prepend import format_fields, prepend_fields
from tests.mail import mail_corpus as corpus

BLOCK = format_fields([
    ("Received", "from a.example (a.example [192.0.2.1]) by mx.mic.gov.vn; Wed, 25 Nov 2026"),
    ("Authentication-Results", "mx.mic.gov.vn; spf=pass smtp.mailfrom=a.example"),
])


@pytest.mark.parametrize("raw", [corpus.PLAIN, corpus.MIXED, corpus.FORWARDED, corpus.NESTED])
def test_prepend_matches_a_fresh_parse_and_leaves_its_input_alone(raw: bytes) -> None:
    meta = parse_message(raw).to_dict()
    before = copy.deepcopy(meta)
    shifted = prepend_fields(meta, BLOCK)
    assert meta == before
    fresh = parse_message(BLOCK + raw).to_dict()
    for key in ("headers", "body", "size", "lines"):
        assert shifted[key] == fresh[key], key


_REGEX = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b".", b"\r\n.\r\n"]), max_size=40))
def test_normalize_crlf_leaves_no_bare_line_end(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    out = normalize_crlf(data)
    assert out == _REGEX.sub(b"\r\n", data)
    assert not has_bare_line_ends(out)
    if not has_bare_line_ends(data):
        assert out is data
