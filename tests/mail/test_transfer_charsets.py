import base64
import binascii
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govmail.mail.charsets import codec_for, decode_8bit, decode_text
from govmail.mail.htmltext import html_to_text
from govmail.mail.mimeparts import count_lines, scan_header, split_multipart
from govmail.mail.transfer import (
    UnknownTransferEncoding,
    decode_base64,
    decode_transfer,
    decoded_size_estimate,
)

# --- transfer encodings ---------------------------------------------------------------------


def test_base64_tolerance() -> None:
    data = os.urandom(1000)
    enc = base64.encodebytes(data)
    assert decode_base64(enc) == data
    assert decode_base64(enc.replace(b"\n", b"\r\n")) == data
    assert decode_base64(b"JVBE*Ri0x!LjQK") == b"%PDF-1.4\n"  # junk characters
    assert decode_base64(b"YWJjZA") == b"abcd"  # missing padding
    assert decode_base64(b"YWI=YWJj") == b"ababc"  # concatenated streams
    assert decode_base64(b"YWJjZ") == b"abc"  # a lone trailing character is dropped
    assert decode_base64(b"") == b""


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_base64_never_raises(data: bytes) -> None:
    assert isinstance(decode_base64(data), bytes)


def test_quoted_printable_and_identity() -> None:
    assert decode_transfer(b"M=E1=BB=9Di=\r\n h=E1=BB=8Dp", "Quoted-Printable") == (
        "Mời họp".encode()
    )
    assert decode_transfer(b"a=\nb=ZZ", "quoted-printable") == b"ab=ZZ"
    for enc in (None, "", "7bit", "8BIT", "binary"):
        assert decode_transfer(b"raw\r\n", enc) == b"raw\r\n"


def test_uuencode() -> None:
    payload = b"Xin chao, day la tep uuencode.\n" * 3
    body = b"begin 644 a.txt\n" + b"".join(
        binascii.b2a_uu(payload[i : i + 45]) for i in range(0, len(payload), 45)
    )
    body += b"`\nend\n"
    assert decode_transfer(body, "x-uuencode") == payload


def test_unknown_encoding() -> None:
    assert decode_transfer(b"abc", "x-gzip64") == b"abc"
    with pytest.raises(UnknownTransferEncoding) as info:
        decode_transfer(b"abc", "x-gzip64", strict=True)
    assert info.value.encoding == "x-gzip64"


@pytest.mark.parametrize("size", [0, 1, 2, 3, 57, 58, 59, 1000, 4096])
def test_decoded_size_estimate_is_exact_for_base64(size: int) -> None:
    data = os.urandom(size)
    raw = b"xx" + base64.encodebytes(data).replace(b"\n", b"\r\n") + b"yy"
    assert decoded_size_estimate(raw, 2, len(raw) - 2, "base64") == size
    assert decoded_size_estimate(raw, 2, len(raw) - 2, "7bit") == len(raw) - 4


def test_decoded_size_estimate_quoted_printable() -> None:
    raw = b"M=E1=BB=9Di h=E1=BB=8Dp"
    assert decoded_size_estimate(raw, 0, len(raw), "quoted-printable") == len("Mời họp".encode())


# --- charsets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("windows-1258", "cp1258"),
        ("Windows-1258", "cp1258"),
        ("iso-8859-1", "iso8859-1"),
        ("us-ascii", "ascii"),
        ("ks_c_5601-1987", "cp949"),
        ("utf-8*vi", "utf-8"),
        ("x-unknown", None),
        ("base64", None),
        ("rot13", None),
        ("", None),
        (None, None),
        ("no-such-charset", None),
    ],
)
def test_codec_for(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_decode_text_fallbacks() -> None:
    assert decode_text("Việt".encode(), None) == "Việt"
    assert decode_text("Hà Nô\u0323i".encode("cp1258"), None) == "Hà Nội"
    assert decode_text(b"\x81\x8d", None) == "\x81\x8d"  # undefined in cp1258: latin-1
    assert decode_text("Việt".encode(), "iso-8859-1") == "Việt"  # mislabelled UTF-8
    assert decode_text(b"caf\xe9", "iso-8859-1") == "café"
    assert decode_8bit(b"plain") == "plain"
    assert decode_8bit("Đặng".encode()) == "Đặng"


# --- HTML to text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>Công</p><p>văn</p>", "Công\nvăn"),
        ("Cô<b>ng</b> v<span>ă</span>n", "Công văn"),
        ("<script>alert('x')</script>ok<style>p{}</style>", "ok"),
        ("a<!-- comment -->b", "ab"),
        ("a <!-- unterminated", "a"),
        ("x &lt; y &amp;&amp; &#272;&#7863;ng", "x < y && Đặng"),
        ("a < b and c > d", "a < b and c > d"),
        ("<td>1</td><td>2</td>", "1 2"),
        ("<br>line<br/>next", "line\nnext"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_html_to_text_hostile_input_is_linear() -> None:
    import time

    for markup in ("<" * 200_000, "<!--" * 50_000, "<script>" * 30_000, "<a " * 100_000):
        start = time.perf_counter()
        html_to_text(markup)
        assert time.perf_counter() - start < 1.0


# --- byte scanning ------------------------------------------------------------------------------


def test_scan_header_blank_line_variants() -> None:
    assert scan_header(b"A: 1\r\n\r\nbody", 0, 13)[:2] == (6, 8)
    assert scan_header(b"A: 1\n\nbody", 0, 10)[:2] == (5, 6)
    assert scan_header(b"A: 1\n\r\nbody", 0, 11)[:2] == (5, 7)
    assert scan_header(b"\r\nbody", 0, 6)[:2] == (0, 2)
    assert scan_header(b"A: 1", 0, 4)[:2] == (4, 4)
    raw = b"xxA: 1\r\n b\r\nB: 2\r\n\r\nbody"
    scan = scan_header(raw, 2, len(raw))
    assert [tuple(f) for f in scan.fields] == [("a", 2, 10), ("b", 12, 6)]


def test_scan_header_field_limit() -> None:
    raw = b"".join(b"X-%d: v\r\n" % i for i in range(50)) + b"\r\n"
    scan = scan_header(raw, 0, len(raw), max_fields=10)
    assert len(scan.fields) == 10 and scan.truncated


def test_split_multipart_ranges() -> None:
    body = b"pre\r\n--b\r\nA\r\n--b\r\n\r\n--b\r\n--b--\r\nepi"
    ranges = split_multipart(body, 0, len(body), b"b", 100)
    # the CRLF before each delimiter belongs to the delimiter
    assert [body[s:e] for s, e in ranges] == [b"A", b"", b""]
    assert split_multipart(body, 0, len(body), b"b", 2) == ranges[:2]
    assert split_multipart(body, 0, len(body), b"", 100) == []
    assert split_multipart(b"--b--\r\n", 0, 7, b"b", 100) == []


def test_count_lines() -> None:
    assert count_lines(b"a\nb\r\nc", 0, 6) == 2
    assert count_lines(b"a\nb\r\nc", 2, 6) == 1
