import datetime as dt
import email
import email.policy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govmail.mail.headers import (
    MISSING_DOMAIN,
    MISSING_MAILBOX,
    Address,
    decode_encoded_words,
    decode_header_value,
    decode_params,
    encode_header_value,
    extract_message_ids,
    first_message_id,
    format_address,
    format_address_header,
    format_param,
    make_message_id,
    parse_address_list,
    parse_content_value,
    parse_date,
)

# --- RFC 2047 decoding ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        # the examples of RFC 2047 section 8
        ("(=?ISO-8859-1?Q?a?=)", "(a)"),
        ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
        ("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>"),
        (
            "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
            "André Pirard <PIRARD@vm1.ulg.ac.be>",
        ),
        (
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
            " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
            "If you can read this you understand the example.",
        ),
        # Vietnamese
        ("=?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDEyMw==?=", "Công văn số 123"),
        ("=?utf-8?q?C=C3=B4ng_v=C4=83n?= =?utf-8?q?_s=E1=BB=91?= 123", "Công văn số 123"),
        ("=?utf-8*vi?Q?=C4=90=E1=BA=B7ng?=", "Đặng"),  # RFC 2231 language suffix
        ("Re: =?utf-8?B?xJDhurduZw==?=", "Re: Đặng"),
        ('"=?utf-8?B?xJDhurduZw==?="', '"Đặng"'),
        ("no encoded words at all", "no encoded words at all"),
    ],
)
def test_decode_rfc2047(encoded: str, decoded: str) -> None:
    assert decode_header_value(encoded) == decoded


def test_decode_windows_1258_is_nfc() -> None:
    # windows-1258 writes tones as combining marks after the base letter
    data = "Hà Nô\u0323i".encode("cp1258")
    word = "=?windows-1258?Q?" + "".join(f"={b:02X}" for b in data) + "?="
    assert decode_header_value(word) == "Hà Nội"
    assert len(decode_header_value(word)) == 6


def test_decode_multibyte_character_split_across_words() -> None:
    data = "Đặng".encode()
    import base64

    first = base64.b64encode(data[:1]).decode()
    second = base64.b64encode(data[1:]).decode()
    assert decode_encoded_words(f"=?utf-8?B?{first}?= =?utf-8?B?{second}?=") == "Đặng"


@pytest.mark.parametrize(
    "value",
    [
        "=?x-no-such-charset?Q?caf=C3=A9?=",
        "=?utf-8?B?!!!?=",
        "=?utf-8?B?QQ?=",
        "=?utf-8?Q?=ZZ=C3?=",
        "=?base64?B?YWJj?=",
        "=?utf-8?X?abc?=",
        "=?" * 50,
        "=?utf-8?B?" + "A" * 10000 + "?=",
    ],
)
def test_decode_bad_encoded_words_never_raise(value: str) -> None:
    assert isinstance(decode_header_value(value), str)


def test_unknown_charset_falls_back_to_utf8() -> None:
    assert decode_header_value("=?x-no-such-charset?Q?caf=C3=A9?=") == "café"


def test_non_text_codec_is_refused() -> None:
    # "base64" is a Python codec but not a charset: the bytes are not base64-decoded again
    assert decode_header_value("=?base64?Q?YWJj?=") == "YWJj"


def test_decode_8bit_header_bytes() -> None:
    assert decode_header_value("Công văn".encode()) == "Công văn"
    assert decode_header_value("Hà Nô\u0323i".encode("cp1258")) == "Hà Nội"
    assert decode_header_value(b"caf\xe9 \xff") == decode_header_value(b"caf\xe9 \xff")


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_decode_header_value_never_raises(value: str) -> None:
    assert isinstance(decode_header_value(value), str)


# --- addresses --------------------------------------------------------------------------


def as_lists(value: str) -> list[list[str | None]]:
    return [a.as_list() for a in parse_address_list(value)]


def test_simple_addresses() -> None:
    assert as_lists("a@b.vn") == [[None, None, "a", "b.vn"]]
    assert as_lists('"Nguyễn Văn A" <a@bo.gov.vn>, b@x.vn (Bee)') == [
        ["Nguyễn Văn A", None, "a", "bo.gov.vn"],
        ["Bee", None, "b", "x.vn"],
    ]


def test_encoded_name_is_kept_raw_and_decoded_on_request() -> None:
    (addr,) = parse_address_list("=?utf-8?B?xJDhurduZw==?= <Dang@Example.VN>")
    assert addr.name == "=?utf-8?B?xJDhurduZw==?="
    assert addr.display_name == "Đặng"
    assert addr.addr_spec == "Dang@example.vn"


def test_group_syntax_markers() -> None:
    assert as_lists("Ban Giám đốc: a@x.vn, b@y.vn;, c@z.vn") == [
        [None, None, "Ban Giám đốc", None],
        [None, None, "a", "x.vn"],
        [None, None, "b", "y.vn"],
        [None, None, None, None],
        [None, None, "c", "z.vn"],
    ]
    assert as_lists("undisclosed-recipients:;") == [
        [None, None, "undisclosed-recipients", None],
        [None, None, None, None],
    ]
    # unterminated group is closed at the end
    assert as_lists("g: a@x.vn")[-1] == [None, None, None, None]


def test_source_route_and_quoted_local_part() -> None:
    assert as_lists("<@r1.vn,@r2.vn:u@h.vn>") == [[None, "@r1.vn,@r2.vn", "u", "h.vn"]]
    (addr,) = parse_address_list('"john doe"@x.vn')
    assert addr.mailbox == "john doe"
    assert addr.addr_spec == '"john doe"@x.vn'


def test_broken_addresses_are_tolerated() -> None:
    assert as_lists("broken <a@b.vn") == [["broken", None, "a", "b.vn"]]
    assert as_lists("John Smith") == [[None, None, "John Smith", MISSING_DOMAIN]]
    assert as_lists("<postmaster>") == [[None, None, "postmaster", MISSING_DOMAIN]]
    assert as_lists("Name <@x.vn>") == [["Name", None, MISSING_MAILBOX, "x.vn"]]
    assert as_lists("<>") == []
    assert as_lists(",,, ,") == []
    assert as_lists("") == []
    assert parse_address_list(None) == []
    # comma inside a quoted display name does not split
    assert as_lists('"Phạm, Văn C" <c@x.vn>') == [["Phạm, Văn C", None, "c", "x.vn"]]


def test_address_validity_and_markers() -> None:
    start, member, end = parse_address_list("g: a@x.vn;")
    assert start.is_group_start and not start.is_valid
    assert member.is_valid and not member.is_group_start and not member.is_group_end
    assert end.is_group_end
    assert Address(None, None, "x", MISSING_DOMAIN).addr_spec is None


@given(st.text(alphabet='ab@<>,;:."()\\ \t\r\nđ=?', max_size=80))
@settings(max_examples=300, deadline=None)
def test_address_parser_never_raises(value: str) -> None:
    for addr in parse_address_list(value):
        assert addr.host is not None or addr.adl is None


# --- parameters ---------------------------------------------------------------------------


def test_content_value_basic() -> None:
    cv = parse_content_value('Text/Plain; Charset="UTF-8"; format=flowed (comment)')
    assert cv.value == "text/plain"
    assert cv.params == (("charset", "UTF-8"), ("format", "flowed"))
    assert cv.param("CHARSET") == "UTF-8"


def test_content_value_quoting() -> None:
    cv = parse_content_value(r'attachment; filename="a;b \"c\".pdf"; size=12')
    assert cv.params == (("filename", 'a;b "c".pdf'), ("size", "12"))
    cv = parse_content_value("attachment; garbage; filename=My File.pdf")
    assert cv.params == (("filename", "My File.pdf"),)
    assert parse_content_value(None).value == ""


def test_rfc2231_continuations_and_charset() -> None:
    cv = parse_content_value(
        "attachment; filename*0*=utf-8'vi'C%C3%B4ng%20v%C4%83n; filename*1=\".pdf\""
    )
    assert decode_params(cv.params) == {"filename": "Công văn.pdf"}
    cv = parse_content_value("attachment; filename*=UTF-8''%C4%90%E1%BA%B7ng.pdf")
    assert decode_params(cv.params)["filename"] == "Đặng.pdf"
    # RFC 2231 wins over the plain parameter; segments are ordered by number
    cv = parse_content_value(
        "attachment; filename=old.pdf; filename*1*=%20m%E1%BB%9Bi.pdf;"
        " filename*0*=utf-8''b%E1%BA%A3n"
    )
    assert decode_params(cv.params)["filename"] == "bản mới.pdf"


def test_rfc2047_inside_quoted_parameter() -> None:
    cv = parse_content_value('application/pdf; name="=?UTF-8?B?Q8O0bmcgdsSDbi5wZGY=?="')
    assert decode_params(cv.params)["name"] == "Công văn.pdf"


def test_bad_rfc2231_never_raises() -> None:
    cv = parse_content_value("x; a*=%ZZ%; b*0*=bogus'''%FF; c*=nocharset%C3%A9")
    decoded = decode_params(cv.params)
    assert set(decoded) == {"a", "b", "c"}
    assert decoded["c"] == "nocharseté"


def test_format_param() -> None:
    assert format_param("filename", "report.pdf") == 'filename="report.pdf"'
    enc = format_param("filename", "Công văn.pdf")
    assert enc == "filename*=utf-8''C%C3%B4ng%20v%C4%83n.pdf"
    assert decode_params(parse_content_value("attachment; " + enc).params) == {
        "filename": "Công văn.pdf"
    }


# --- dates and ids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 06 May 2024 10:00:00 +0700", dt.datetime(2024, 5, 6, 3, 0, tzinfo=dt.UTC)),
        ("6 May 2024 10:00 +0700", dt.datetime(2024, 5, 6, 3, 0, tzinfo=dt.UTC)),
        ("Mon, 06 May 2024 10:00:00 GMT", dt.datetime(2024, 5, 6, 10, 0, tzinfo=dt.UTC)),
        ("Mon, 06 May 2024 10:00:00", dt.datetime(2024, 5, 6, 10, 0, tzinfo=dt.UTC)),
        ("Thứ Hai, 06 May 2024 10:00:00 +0700", dt.datetime(2024, 5, 6, 3, 0, tzinfo=dt.UTC)),
        ("2024-05-06T10:00:00+07:00", dt.datetime(2024, 5, 6, 3, 0, tzinfo=dt.UTC)),
        ("Mon, 06 May 99 10:00:00 -0000", dt.datetime(1999, 5, 6, 10, 0, tzinfo=dt.UTC)),
        ("garbage", None),
        ("", None),
        (None, None),
        ("Mon, 32 May 2024 10:00:00 +0700", None),
    ],
)
def test_parse_date(value: str | None, expected: dt.datetime | None) -> None:
    assert parse_date(value) == expected


def test_message_ids() -> None:
    assert extract_message_ids("<a@x> <b@y>\r\n <a@x>") == ["<a@x>", "<b@y>"]
    assert extract_message_ids("a@x b@y") == ["<a@x>", "<b@y>"]
    assert extract_message_ids(None) == []
    assert first_message_id("  <id@host> (comment)") == "<id@host>"
    assert first_message_id("bare-id") == "<bare-id>"
    assert first_message_id("") is None


def test_make_message_id() -> None:
    a = make_message_id("bo.gov.vn")
    b = make_message_id("bo.gov.vn")
    assert a != b
    assert re.fullmatch(r"<[0-9a-z]+\.[0-9a-z]+@bo\.gov\.vn>", a)
    assert make_message_id("bộ.gov.vn").endswith("@xn--b-8xm.gov.vn>")
    for bad in ("", "a b", "-x.vn", "x..vn", "a@b"):
        with pytest.raises(ValueError):
            make_message_id(bad)


# --- encoding -------------------------------------------------------------------------------


def _unfold(value: str) -> str:
    return value.replace("\r\n", "")


@pytest.mark.parametrize(
    "subject",
    [
        "Plain ASCII subject",
        "Công văn số 123/UBND-VP về việc triển khai thực hiện Nghị định 30/2020/NĐ-CP "
        "về công tác văn thư trong toàn tỉnh và các đơn vị trực thuộc",
        "Đặng",
        "Re: Fwd: Giấy mời họp",
        "ASCII then Tiếng Việt then ASCII again",
        "=?utf-8?B?looks-encoded?= text",
        "x" * 120,
        "Báo cáo " + "rất " * 60 + "dài",
        "tab\there",
    ],
)
def test_encode_header_value_roundtrip(subject: str) -> None:
    encoded = encode_header_value(subject, header_name="Subject")
    assert encoded.isascii()
    assert "\n" not in encoded.replace("\r\n", "")
    for i, line in enumerate(encoded.split("\r\n")):
        limit = 76 - len("Subject: ") if i == 0 else 76
        assert len(line) <= limit or " " not in line.strip()
        if i:
            assert line.startswith(" ")
    for word in re.findall(r"=\?[^?]+\?[BQ]\?[^?]*\?=", encoded):
        assert len(word) <= 75
    expected = " ".join(subject.split()) if "\t" in subject else subject
    assert decode_header_value(_unfold(encoded)) == expected
    # the standard library's RFC 2047 decoder agrees
    msg = email.message_from_string(f"Subject: {encoded}\r\n\r\n", policy=email.policy.default)
    assert " ".join(str(msg["Subject"]).split()) == " ".join(subject.split())


def test_encode_header_value_strips_line_breaks() -> None:
    encoded = encode_header_value("Xin chào\r\nBcc: victim@x.vn")
    assert "\r\nBcc" not in encoded
    assert decode_header_value(_unfold(encoded)) == "Xin chào Bcc: victim@x.vn"


def test_encode_plain_ascii_unchanged() -> None:
    assert encode_header_value("Hello world") == "Hello world"
    assert encode_header_value("") == ""


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_encode_header_value_property(text: str) -> None:
    encoded = encode_header_value(text)
    assert encoded.isascii()
    expected = decode_header_value(" ".join(text.replace("\r", " ").replace("\n", " ").split()))
    assert " ".join(decode_header_value(_unfold(encoded)).split()) == " ".join(expected.split())


def test_format_address() -> None:
    assert format_address(None, "a@bo.gov.vn") == "a@bo.gov.vn"
    assert format_address("Van Thu", "a@bo.gov.vn") == "Van Thu <a@bo.gov.vn>"
    assert format_address("Pham, Van C", "c@x.vn") == '"Pham, Van C" <c@x.vn>'
    vn = format_address("Nguyễn Văn Ánh", "anh@bo.gov.vn")
    assert vn.isascii()
    (addr,) = parse_address_list(vn)
    assert addr.display_name == "Nguyễn Văn Ánh"
    assert addr.addr_spec == "anh@bo.gov.vn"
    assert format_address(None, "x@bộ.gov.vn") == "x@xn--b-8xm.gov.vn"


def test_format_address_header_folds_many_recipients() -> None:
    recipients = [(f"Sở Nội vụ tỉnh số {i}", f"snv{i}@tinh{i}.gov.vn") for i in range(63)]
    value = format_address_header(recipients, header_name="To")
    assert all(len(line) <= 76 for line in value.split("\r\n"))
    parsed = parse_address_list(_unfold(value))
    assert [(a.display_name, a.addr_spec) for a in parsed] == recipients


@pytest.mark.parametrize(
    "value",
    [
        "x " * 20000 + "@ " + ": " * 20000,
        "(" * 50000,
        "(a)" * 30000,
        '"' + "\\" * 50000,
        "<" * 30000 + ">" * 30000,
        "a@b, " * 20000,
        "=?utf-8?q?" * 10000,
    ],
)
def test_hostile_address_lists_parse_in_linear_time(value: str) -> None:
    import time

    # CPU time, so that other processes on a busy machine do not count; quadratic work on
    # inputs of this size would take minutes, linear work takes well under a second.
    start = time.process_time()
    parse_address_list(value)
    decode_header_value(value)
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize(
    "value",
    [
        "text/plain; a=x" + " " * 50000 + "y",
        "text/plain" + "; a" * 20000,
        'text/plain; a="' + "\\" * 50000,
        "attachment; " + "".join(f"filename*{i}*=%C3; " for i in range(999)) * 5,
    ],
)
def test_hostile_content_values_parse_in_linear_time(value: str) -> None:
    import time

    start = time.perf_counter()
    cv = parse_content_value(value)
    decode_params(cv.params)
    assert time.perf_counter() - start < 1.0
