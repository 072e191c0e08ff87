"""parse_message on broken and hostile input: never raises, keeps offsets truthful."""

import base64
import time

import pytest

from govmail.mail.parsed import (
    MAX_DEPTH,
    MAX_PARTS,
    SEARCH_TEXT_LIMIT,
    BodyPart,
    ParsedMessage,
    Section,
    SectionSyntaxError,
    StoredMetadataError,
    decoded_part,
    parse_message,
    parse_section,
    section_bytes,
    text_body,
    walk_parts,
)
from govmail.mail.transfer import UnknownTransferEncoding
from tests.mail.mail_corpus import PLAIN, check_invariants, lines


def parse_checked(raw: bytes) -> ParsedMessage:
    pm = parse_message(raw)
    check_invariants(raw, pm)
    return pm


def test_empty_message() -> None:
    pm = parse_checked(b"")
    assert pm.size == 0 and pm.lines == 0
    assert pm.envelope.to_list() == [None] * 10
    assert pm.subject == "" and pm.from_addr is None and pm.date is None
    assert (pm.body.type, pm.body.subtype, pm.body.size) == ("text", "plain", 0)
    assert pm.body.params == [("charset", "us-ascii")]
    assert section_bytes(b"", pm, "1") == b""


def test_body_without_headers() -> None:
    raw = b"\r\nJust a body\r\n"
    pm = parse_checked(raw)
    assert (pm.body.header_end, pm.body.body_start) == (0, 2)
    assert pm.headers == []
    assert section_bytes(raw, pm, "TEXT") == b"Just a body\r\n"
    assert section_bytes(raw, pm, "HEADER") == b"\r\n"


def test_headers_without_body_or_blank_line() -> None:
    raw = b"Subject: only headers\r\nFrom: a@b.vn"
    pm = parse_checked(raw)
    assert pm.body.header_end == pm.body.body_start == len(raw)
    assert pm.subject == "only headers"
    assert pm.from_addr == "a@b.vn"
    # no blank line in the message, so none is added
    assert section_bytes(raw, pm, "HEADER.FIELDS (Subject)") == b"Subject: only headers\r\n"
    assert section_bytes(raw, pm, "TEXT") == b""


def test_bare_lf_line_endings() -> None:
    raw = (
        b"From: a@b.vn\nSubject: =?utf-8?Q?L=C6=B0u?=\n  tr\xe1\xbb\xaf\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nline one\nline two\n--b\n\nno headers\n--b--\n"
    )
    pm = parse_checked(raw)
    assert pm.subject == "Lưu  trữ"
    assert pm.envelope.subject == "=?utf-8?Q?L=C6=B0u?=  tr\u1eef"
    first, second = pm.body.parts
    assert section_bytes(raw, pm, "1") == b"line one\nline two"
    assert first.lines == 1
    assert section_bytes(raw, pm, "1.MIME") == b"Content-Type: text/plain\n\n"
    assert section_bytes(raw, pm, "2") == b"no headers"
    assert second.header_start == second.header_end
    assert section_bytes(raw, pm, "HEADER.FIELDS (From)") == b"From: a@b.vn\n\n"


def test_mixed_line_endings() -> None:
    raw = b"From: a@b.vn\r\nTo: c@d.vn\n\r\nbody\r\n"
    pm = parse_checked(raw)
    assert pm.to_addrs == ["c@d.vn"]
    assert section_bytes(raw, pm, "TEXT") == b"body\r\n"


def test_eight_bit_utf8_and_cp1258_headers() -> None:
    raw = lines(
        "From: Nguyễn Văn A <a@bộ.gov.vn>",
        'To: "Trần, Bình" <b@x.vn>',
        "Subject: Công văn khẩn",
        "",
        "x",
    )
    pm = parse_checked(raw)
    assert pm.subject == "Công văn khẩn"
    assert pm.envelope.subject == "Công văn khẩn"
    assert pm.from_display == "Nguyễn Văn A"
    assert pm.from_addr == "a@bộ.gov.vn"
    raw = b"Subject: " + "Hà Nô\u0323i".encode("cp1258") + b"\r\n\r\nx"
    assert parse_checked(raw).subject == "Hà Nội"


def test_multipart_without_boundary_parameter() -> None:
    raw = lines("Content-Type: multipart/mixed", "", "--x", "", "text", "--x--")
    pm = parse_checked(raw)
    assert pm.body.type == "multipart" and pm.body.parts == []
    assert not pm.body.is_multipart
    assert section_bytes(raw, pm, "1") == raw[pm.body.body_start :]
    assert section_bytes(raw, pm, "1.1") is None


def test_boundary_that_never_appears() -> None:
    raw = lines("Content-Type: multipart/mixed; boundary=nowhere", "", "just text")
    pm = parse_checked(raw)
    assert pm.body.parts == []


def test_unterminated_multipart_runs_to_the_end() -> None:
    raw = lines(
        "Content-Type: multipart/mixed; boundary=b",
        "",
        "--b",
        "",
        "one",
        "--b",
        "Content-Type: text/plain",
        "",
        "two, never closed",
    )
    pm = parse_checked(raw)
    assert len(pm.body.parts) == 2
    assert section_bytes(raw, pm, "1") == b"one"
    assert section_bytes(raw, pm, "2") == b"two, never closed\r\n"


def test_delimiter_with_padding_and_junk() -> None:
    raw = lines(
        "Content-Type: multipart/mixed; boundary=b",
        "",
        "--b   ",
        "",
        "one",
        "--bogus is not a delimiter",
        "--b",
        "",
        "two",
        "--b--  trailing junk",
        "epilogue",
    )
    pm = parse_checked(raw)
    assert section_bytes(raw, pm, "1") == b"one\r\n--bogus is not a delimiter"
    assert section_bytes(raw, pm, "2") == b"two"


def test_inner_boundary_with_outer_as_prefix() -> None:
    raw = lines(
        "Content-Type: multipart/mixed; boundary=B",
        "",
        "--B",
        "Content-Type: multipart/alternative; boundary=B-inner",
        "",
        "--B-inner",
        "",
        "alt one",
        "--B-inner",
        "",
        "alt two",
        "--B-inner--",
        "--B",
        "",
        "second",
        "--B--",
    )
    pm = parse_checked(raw)
    assert [n for n, _ in walk_parts(pm)] == ["1", "1.1", "1.2", "2"]
    assert section_bytes(raw, pm, "1.2") == b"alt two"
    assert section_bytes(raw, pm, "2") == b"second"


def test_outer_boundary_closes_unterminated_inner_multipart() -> None:
    raw = lines(
        "Content-Type: multipart/mixed; boundary=outer",
        "",
        "--outer",
        "Content-Type: multipart/alternative; boundary=inner",
        "",
        "--inner",
        "",
        "inner one",
        "--outer",
        "",
        "outer two",
        "--outer--",
    )
    pm = parse_checked(raw)
    assert [n for n, _ in walk_parts(pm)] == ["1", "1.1", "2"]
    assert section_bytes(raw, pm, "1.1") == b"inner one"
    assert section_bytes(raw, pm, "2") == b"outer two"


def test_bad_base64_attachment() -> None:
    raw = lines(
        "Content-Type: multipart/mixed; boundary=b",
        "",
        "--b",
        "Content-Type: application/pdf; name=a.pdf",
        "Content-Transfer-Encoding: base64",
        "",
        "JVBE*Ri0x!LjQK",
        "JVB",
        "--b--",
    )
    pm = parse_checked(raw)
    assert decoded_part(raw, pm, "1").startswith(b"%PDF-1.4\n")
    assert pm.attachments[0].filename == "a.pdf"


def test_unknown_transfer_encoding() -> None:
    raw = lines("Content-Transfer-Encoding: x-gzip64", "", "abc")
    pm = parse_checked(raw)
    assert pm.body.encoding == "x-gzip64"
    assert decoded_part(raw, pm, "1") == b"abc\r\n"
    with pytest.raises(UnknownTransferEncoding):
        decoded_part(raw, pm, "1", strict=True)


def test_base64_message_rfc822_stays_opaque() -> None:
    inner = base64.b64encode(b"Subject: hidden\r\n\r\nbody").decode()
    raw = lines(
        "Content-Type: multipart/mixed; boundary=b",
        "",
        "--b",
        "Content-Type: message/rfc822",
        "Content-Transfer-Encoding: base64",
        "",
        inner,
        "--b--",
    )
    pm = parse_checked(raw)
    part = pm.body.parts[0]
    assert part.message is None and part.lines is None
    assert section_bytes(raw, pm, "1.HEADER") is None
    assert decoded_part(raw, pm, "1") == b"Subject: hidden\r\n\r\nbody"


def test_digest_parts_default_to_message_rfc822() -> None:
    raw = lines(
        "Content-Type: multipart/digest; boundary=d",
        "",
        "--d",
        "",
        "Subject: first",
        "",
        "one",
        "--d",
        "Content-Type: text/plain",
        "",
        "not a message",
        "--d--",
    )
    pm = parse_checked(raw)
    first, second = pm.body.parts
    assert first.media_type == "message/rfc822" and first.params == []
    assert first.message is not None and first.message.envelope.subject == "first"
    assert second.media_type == "text/plain"
    assert section_bytes(raw, pm, "1.TEXT") == b"one"


def test_invalid_content_type_defaults_to_text_plain() -> None:
    pm = parse_checked(lines("Content-Type: text; charset=utf-8", "", "Việt".encode()))
    assert pm.body.media_type == "text/plain"
    assert pm.body.params == [("charset", "utf-8")]
    pm = parse_checked(lines("Content-Type: ???", "", "x"))
    assert pm.body.params == [("charset", "us-ascii")]


def test_garbage_header_lines_and_spaces_before_colon() -> None:
    raw = lines(
        "From nobody Mon May  6 10:00:00 2024",
        "Subject : spaced",
        "this line has no colon",
        "  continuation of nothing",
        "X-Ok: yes",
        "",
        "body",
    )
    pm = parse_checked(raw)
    assert [h.name for h in pm.headers] == ["subject", "x-ok"]
    assert pm.subject == "spaced"


def test_duplicate_headers_use_the_first() -> None:
    pm = parse_checked(lines("Subject: one", "Subject: two", "", ""))
    assert pm.subject == "one"
    assert [h.name for h in pm.headers] == ["subject", "subject"]


def test_deep_nesting_is_capped() -> None:
    depth = MAX_DEPTH + 20
    head = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth)))
    raw = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + head + b"deep text" + tail
    start = time.perf_counter()
    pm = parse_checked(raw)
    assert time.perf_counter() - start < 2
    levels = 0
    part: BodyPart = pm.body
    while part.parts:
        levels += 1
        part = part.parts[0]
    assert levels == MAX_DEPTH
    assert part.type == "multipart" and part.parts == []  # opaque from here on
    opaque = section_bytes(raw, pm, ".".join(["1"] * MAX_DEPTH))
    assert opaque is not None and b"deep text" in opaque
    assert section_bytes(raw, pm, ".".join(["1"] * (MAX_DEPTH + 1))) is None


def test_huge_number_of_parts_is_capped() -> None:
    body = b"".join(b"--b\r\n\r\n%d\r\n" % i for i in range(MAX_PARTS + 500)) + b"--b--\r\n"
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body
    start = time.perf_counter()
    pm = parse_message(raw)
    assert time.perf_counter() - start < 2
    assert len(pm.body.parts) == MAX_PARTS
    assert section_bytes(raw, pm, "1") == b"0"
    assert section_bytes(raw, pm, str(MAX_PARTS)) == b"%d" % (MAX_PARTS - 1)
    assert section_bytes(raw, pm, str(MAX_PARTS + 1)) is None


def test_charsets_of_text_bodies() -> None:
    cp1258 = "Hà Nô\u0323i".encode("cp1258")
    for charset, payload, expected in [
        ("windows-1258", cp1258, "Hà Nội"),
        ("us-ascii", "Việt Nam".encode(), "Việt Nam"),  # mislabelled UTF-8
        ("x-no-such", "Việt Nam".encode(), "Việt Nam"),
        ("utf-8", b"Vi\xe1\xbb\x87t \xff", "Việt \ufffd"),
        ("iso-8859-1", b"caf\xe9", "café"),
    ]:
        raw = b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n" + payload
        plain, html = text_body(raw, parse_checked(raw))
        assert (plain, html) == (expected, None), charset


def test_nfd_body_is_normalised() -> None:
    import unicodedata

    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + unicodedata.normalize(
        "NFD", "Hồ sơ"
    ).encode("utf-8")
    plain, _ = text_body(raw, parse_checked(raw))
    assert plain == "Hồ sơ" and len(plain) == 5


def test_html_only_message_search_text() -> None:
    raw = lines(
        "Subject: html",
        "Content-Type: text/html; charset=utf-8",
        "",
        "<html><head><title>T</title><script>var secret = 1;</script></head>",
        "<body><p>Thông&nbsp;báo</p><div>lịch <b>họp</b></div><!-- hidden --></body></html>",
    )
    pm = parse_checked(raw)
    assert pm.text_for_search == "html thong bao lich hop"


def test_search_text_is_capped() -> None:
    raw = b"Subject: big\r\n\r\n" + "Công văn số một ".encode() * 100_000
    start = time.perf_counter()
    pm = parse_message(raw)
    assert time.perf_counter() - start < 2
    assert len(pm.text_for_search) == SEARCH_TEXT_LIMIT
    assert pm.text_for_search.startswith("big cong van so mot cong van")


def test_parse_message_rejects_non_bytes() -> None:
    with pytest.raises(TypeError):
        parse_message("text")  # type: ignore[arg-type]
    assert parse_message(bytearray(PLAIN)) == parse_message(PLAIN)


# --- sections and stored form -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "section"),
    [
        ("", Section()),
        ("1", Section((1,))),
        ("1.2.3", Section((1, 2, 3))),
        ("header", Section((), "HEADER")),
        ("2.MIME", Section((2,), "MIME")),
        ("4.2.TEXT", Section((4, 2), "TEXT")),
        ("HEADER.FIELDS (From To)", Section((), "HEADER.FIELDS", ("from", "to"))),
        ('1.HEADER.FIELDS.NOT ("X-A" b)', Section((1,), "HEADER.FIELDS.NOT", ("x-a", "b"))),
    ],
)
def test_parse_section(text: str, section: Section) -> None:
    assert parse_section(text) == section


@pytest.mark.parametrize(
    "text", ["MIME", "0", "1.0", "1.", "HEADER.FIELDS", "HEADER.FIELDS ()", "TEXT (a)", "1.FOO"]
)
def test_parse_section_errors(text: str) -> None:
    with pytest.raises(SectionSyntaxError):
        parse_section(text)


def test_section_object_and_negative_partial() -> None:
    pm = parse_message(PLAIN)
    assert section_bytes(PLAIN, pm, Section((1,))) == PLAIN[pm.body.body_start :]
    with pytest.raises(SectionSyntaxError):
        section_bytes(PLAIN, pm, "TEXT", (-1, 5))


def test_from_json_errors() -> None:
    good = parse_message(PLAIN).to_dict()
    with pytest.raises(StoredMetadataError):
        ParsedMessage.from_json("not json")
    with pytest.raises(StoredMetadataError):
        ParsedMessage.from_dict({**good, "v": 999})
    broken = dict(good)
    del broken["body"]
    with pytest.raises(StoredMetadataError):
        ParsedMessage.from_dict(broken)
    with pytest.raises(StoredMetadataError):
        ParsedMessage.from_dict({**good, "envelope": [None] * 3})


def test_top_level_message_rfc822() -> None:
    raw = lines(
        "Content-Type: message/rfc822",
        "",
        "Subject: inner",
        "Content-Type: multipart/mixed; boundary=i",
        "",
        "--i",
        "",
        "first",
        "--i",
        "",
        "second",
        "--i--",
    )
    pm = parse_checked(raw)
    assert [n for n, _ in walk_parts(pm, into_messages=True)] == ["1", "1.1", "1.2"]
    assert section_bytes(raw, pm, "1.2") == b"second"
    assert section_bytes(raw, pm, "1.HEADER.FIELDS (subject)") == b"Subject: inner\r\n\r\n"
    assert pm.attachments[0].filename == "inner.eml"
