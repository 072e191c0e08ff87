"""Response serializers: values, dates, codes, status and data responses, structures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from govmail.imap.protocol import ResponseCode, SequenceSet
from govmail.imap.protocol import response as r
from govmail.imap.protocol import values as v
from govmail.imap.protocol.commands import FetchSection
from govmail.imap.protocol.dates import format_date, format_datetime, parse_date, parse_datetime
from govmail.imap.protocol.structure import (
    Address,
    BodyPart,
    Disposition,
    Envelope,
    Multipart,
    encode_body_structure,
    encode_envelope,
)

# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("hello", b'"hello"'),
        ("", b'""'),
        ('say "hi" \\o/', b'"say \\"hi\\" \\\\o/"'),
        (b"two\r\nlines", b"{10}\r\ntwo\r\nlines"),
        ("Công văn", b"{10}\r\n" + "Công văn".encode()),
        (b"nul\x00", b"{4}\r\nnul\x00"),
        (b"x" * 1025, b"{1025}\r\n" + b"x" * 1025),
    ],
)
def test_string_chooses_quoted_or_literal(value: str | bytes, wire: bytes) -> None:
    assert v.string(value) == wire


def test_string_utf8_mode_quotes_valid_utf8_only() -> None:
    assert v.string("Công văn", utf8=True) == '"Công văn"'.encode()
    assert v.string(b"\xff\xfe", utf8=True) == b"{2}\r\n\xff\xfe"
    assert v.string("a\nb", utf8=True) == b"{3}\r\na\nb"


def test_astring_nstring_number_lists() -> None:
    assert v.astring("INBOX") == b"INBOX"
    assert v.astring("[Gmail]/Sent") == b"[Gmail]/Sent"
    assert v.astring("Foo]") == b"Foo]"
    assert v.astring("nil") == b'"nil"'
    assert v.astring("two words") == b'"two words"'
    assert v.astring("a%b") == b'"a%b"'
    assert v.astring("") == b'""'
    assert v.nstring(None) == b"NIL"
    assert v.nstring("x") == b'"x"'
    assert v.number(0) == b"0"
    with pytest.raises(ValueError):
        v.number(-1)
    assert v.plist([b"A", b"B"]) == b"(A B)"
    assert v.plist([]) == b"()"
    assert v.flag_list(["\\Seen", "$Work"]) == b"(\\Seen $Work)"
    assert v.literal(b"\x00\x01", binary=True) == b"~{2}\r\n\x00\x01"


def test_mailbox_encoding() -> None:
    assert v.mailbox("INBOX") == b"INBOX"
    assert v.mailbox("Văn bản đến") == b'"V&AQM-n b&HqM-n &AREevw-n"'
    assert v.mailbox("Thư rác/Cũ") == b'"Th&AbA- r&AOE-c/C&AWk-"'
    assert v.mailbox("Đã gửi", utf8=True) == '"Đã gửi"'.encode()
    assert v.mailbox("ĐãGửi", utf8=True) == '"ĐãGửi"'.encode()
    assert v.mailbox("A&B") == b"A&-B"


def test_generic_encode() -> None:
    data = [None, 1, "x", b"y", v.Raw(b"\\Seen"), ("a", [2, None])]
    assert v.encode(data) == b'(NIL 1 "x" "y" \\Seen ("a" (2 NIL)))'
    with pytest.raises(TypeError):
        v.encode(True)
    with pytest.raises(TypeError):
        v.encode(1.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- dates


def test_datetime_format_and_parse() -> None:
    tz = timezone(-timedelta(hours=7))
    moment = datetime(1996, 7, 17, 2, 44, 25, tzinfo=tz)
    assert format_datetime(moment) == "17-Jul-1996 02:44:25 -0700"
    assert v.date_time(moment) == b'"17-Jul-1996 02:44:25 -0700"'
    assert parse_datetime("17-Jul-1996 02:44:25 -0700") == moment
    hanoi = timezone(timedelta(hours=7))
    assert format_datetime(datetime(2024, 3, 5, 8, 0, 0, tzinfo=hanoi)) == (
        "05-Mar-2024 08:00:00 +0700"
    )
    assert parse_datetime(" 5-mar-2024 08:00:00 +0700") == datetime(2024, 3, 5, 8, tzinfo=hanoi)
    assert parse_datetime("5-MAR-2024 08:00:00 +0530").utcoffset() == timedelta(hours=5, minutes=30)
    assert format_datetime(datetime(2000, 1, 1)) == "01-Jan-2000 00:00:00 +0000"
    assert format_datetime(datetime(2000, 1, 1, tzinfo=UTC)) == "01-Jan-2000 00:00:00 +0000"
    india = timezone(timedelta(hours=-3, minutes=-30))
    assert format_datetime(datetime(2000, 1, 1, tzinfo=india)).endswith("-0330")


@pytest.mark.parametrize(
    "text",
    [
        "17-Jul-1996 02:44:25",
        "17-Jly-1996 02:44:25 -0700",
        "32-Jul-1996 02:44:25 -0700",
        "17-Jul-1996 25:44:25 -0700",
        "17-Jul-1996 02:44:25 -2400",
        "17-Jul-96 02:44:25 -0700",
        "",
    ],
)
def test_datetime_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_date_format_and_parse() -> None:
    assert format_date(date(1994, 2, 1)) == "1-Feb-1994"
    assert parse_date("1-Feb-1994") == date(1994, 2, 1)
    assert parse_date("01-feb-1994") == date(1994, 2, 1)
    for bad in ("1-Feb-94", "29-Feb-2023", "Feb-1-1994", "1 Feb 1994"):
        with pytest.raises(ValueError):
            parse_date(bad)


# --------------------------------------------------------------------------- status responses


def test_tagged_and_untagged_status() -> None:
    assert r.tagged("a1", "OK", "LOGIN completed") == b"a1 OK LOGIN completed\r\n"
    assert r.tagged("A142", "OK", "SELECT completed", ResponseCode.READ_WRITE) == (
        b"A142 OK [READ-WRITE] SELECT completed\r\n"
    )
    assert r.tagged("a", "NO", "", ResponseCode.TRYCREATE) == b"a NO [TRYCREATE] failed\r\n"
    assert r.tagged("a", "BAD", "line1\r\nline2") == b"a BAD line1  line2\r\n"
    assert r.tagged("a", "NO", "[not a code]") == b"a NO  [not a code]\r\n"
    text = "Hộp thư không tồn tại / Mailbox does not exist"
    assert r.tagged("a", "NO", text, ResponseCode.NONEXISTENT) == (
        b"a NO [NONEXISTENT] " + text.encode() + b"\r\n"
    )
    assert r.untagged_status("OK", "Still here") == b"* OK Still here\r\n"
    assert r.untagged_status("BYE", "") == b"* BYE closing connection\r\n"
    assert r.untagged_status("OK", "Ready", ResponseCode.capability(["IMAP4rev1", "IDLE"])) == (
        b"* OK [CAPABILITY IMAP4rev1 IDLE] Ready\r\n"
    )
    assert r.continuation() == b"+ Ready\r\n"
    assert r.continuation("idling") == b"+ idling\r\n"
    assert r.sasl_challenge(b"") == b"+ \r\n"
    assert r.sasl_challenge(b"\x00ab") == b"+ AGFi\r\n"


@pytest.mark.parametrize(
    ("code", "wire"),
    [
        (ResponseCode.ALERT, b"[ALERT]"),
        (ResponseCode.TOOBIG, b"[TOOBIG]"),
        (ResponseCode.AUTHENTICATIONFAILED, b"[AUTHENTICATIONFAILED]"),
        (ResponseCode.CANNOT, b"[CANNOT]"),
        (ResponseCode.ALREADYEXISTS, b"[ALREADYEXISTS]"),
        (ResponseCode.OVERQUOTA, b"[OVERQUOTA]"),
        (ResponseCode.READ_ONLY, b"[READ-ONLY]"),
        (ResponseCode.UNKNOWN_CTE, b"[UNKNOWN-CTE]"),
        (ResponseCode.uidvalidity(3857529045), b"[UIDVALIDITY 3857529045]"),
        (ResponseCode.uidnext(4392), b"[UIDNEXT 4392]"),
        (ResponseCode.unseen(12), b"[UNSEEN 12]"),
        (ResponseCode.highestmodseq(715194045007), b"[HIGHESTMODSEQ 715194045007]"),
        (ResponseCode.appenduid(38505, "3955"), b"[APPENDUID 38505 3955]"),
        (
            ResponseCode.copyuid(38505, "304,319:320", "3956:3958"),
            b"[COPYUID 38505 304,319:320 3956:3958]",
        ),
        (ResponseCode.modified("7,9"), b"[MODIFIED 7,9]"),
        (
            ResponseCode.permanentflags(["\\Deleted", "\\Seen", "\\*"]),
            b"[PERMANENTFLAGS (\\Deleted \\Seen \\*)]",
        ),
        (ResponseCode.badcharset(["UTF-8"]), b"[BADCHARSET (UTF-8)]"),
        (ResponseCode.badcharset(), b"[BADCHARSET]"),
        (ResponseCode.mailboxid("F2212ea87-6097"), b"[MAILBOXID (F2212ea87-6097)]"),
        (ResponseCode.appendlimit(50000000), b"[APPENDLIMIT 50000000]"),
    ],
)
def test_response_codes(code: ResponseCode, wire: bytes) -> None:
    assert bytes(code) == wire


# --------------------------------------------------------------------------- data responses


def test_mailbox_data_responses() -> None:
    assert (
        r.capability(["IMAP4rev1", "LITERAL+", "IDLE"])
        == b"* CAPABILITY IMAP4rev1 LITERAL+ IDLE\r\n"
    )
    assert r.exists(172) == b"* 172 EXISTS\r\n"
    assert r.recent(1) == b"* 1 RECENT\r\n"
    assert r.expunge(3) == b"* 3 EXPUNGE\r\n"
    assert r.flags(["\\Answered", "\\Seen"]) == b"* FLAGS (\\Answered \\Seen)\r\n"
    assert r.enabled(["CONDSTORE"]) == b"* ENABLED CONDSTORE\r\n"
    assert r.enabled([]) == b"* ENABLED\r\n"
    assert r.vanished(SequenceSet.parse("41,43:116"), earlier=True) == (
        b"* VANISHED (EARLIER) 41,43:116\r\n"
    )
    assert r.vanished(SequenceSet.parse("405")) == b"* VANISHED 405\r\n"


def test_list_responses() -> None:
    assert r.list_mailbox("INBOX", ["\\HasNoChildren"]) == b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
    assert r.list_mailbox("", ["\\Noselect"], "/") == b'* LIST (\\Noselect) "/" ""\r\n'
    assert (
        r.list_mailbox("Văn bản đến", [], None) == b'* LIST () NIL "V&AQM-n b&HqM-n &AREevw-n"\r\n'
    )
    assert r.list_mailbox("Thư rác", ["\\Junk"], utf8=True, command="LSUB") == (
        '* LSUB (\\Junk) "/" "Thư rác"\r\n'.encode()
    )
    assert r.list_mailbox("Foo", ["\\Subscribed"], childinfo=["SUBSCRIBED"]) == (
        b'* LIST (\\Subscribed) "/" Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n'
    )
    assert r.list_mailbox("New", [], oldname="Old") == b'* LIST () "/" New ("OLDNAME" (Old))\r\n'
    assert r.list_mailbox("a\\b", [], "\\") == b'* LIST () "\\\\" "a\\\\b"\r\n'


def test_status_search_esearch() -> None:
    assert r.status("blurdybloop", [("MESSAGES", 231), ("UIDNEXT", 44292)]) == (
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
    )
    assert r.status("Thư rác", [("MAILBOXID", "F12")]) == (
        b'* STATUS "Th&AbA- r&AOE-c" (MAILBOXID (F12))\r\n'
    )
    assert r.search([2, 84, 882]) == b"* SEARCH 2 84 882\r\n"
    assert r.search([]) == b"* SEARCH\r\n"
    assert r.search([2, 5], modseq=917162500) == b"* SEARCH 2 5 (MODSEQ 917162500)\r\n"
    assert r.esearch("A282", min=2, count=3) == b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'
    assert r.esearch("a", uid=True, all=SequenceSet.from_numbers([1, 2, 3, 9]), max=9) == (
        b'* ESEARCH (TAG "a") UID MAX 9 ALL 1:3,9\r\n'
    )
    assert r.esearch("a", count=0, all=SequenceSet()) == b'* ESEARCH (TAG "a") COUNT 0\r\n'
    assert r.esearch(None) == b"* ESEARCH\r\n"


def test_fetch_response() -> None:
    tz = timezone(-timedelta(hours=7))
    section = FetchSection(peek=True, text="HEADER", partial=(0, 5))
    line = r.fetch(
        12,
        [
            ("FLAGS", v.flag_list(["\\Seen"])),
            ("INTERNALDATE", v.date_time(datetime(1996, 7, 17, 2, 44, 25, tzinfo=tz))),
            ("RFC822.SIZE", v.number(4286)),
            (section.response_name(), v.literal(b"From:")),
            (b"UID", v.number(7)),
        ],
    )
    assert line == (
        b'* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
        b"RFC822.SIZE 4286 BODY[HEADER]<0> {5}\r\nFrom: UID 7)\r\n"
    )


def test_other_extension_responses() -> None:
    assert r.id_response(None) == b"* ID NIL\r\n"
    assert r.id_response([("name", "govmail"), ("support-url", None)]) == (
        b'* ID ("name" "govmail" "support-url" NIL)\r\n'
    )
    assert r.namespace([("", "/")]) == b'* NAMESPACE (("" "/")) NIL NIL\r\n'
    assert r.namespace([("", "/")], [("~", "/")], [("#shared/", "/"), ("Đơn vị/", None)]) == (
        b'* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("&ARABoQ-n v&Hss-/" NIL))\r\n'
    )
    assert r.quota("", [("STORAGE", 10, 512)]) == b'* QUOTA "" (STORAGE 10 512)\r\n'
    assert r.quotaroot("INBOX", [""]) == b'* QUOTAROOT INBOX ""\r\n'
    assert r.quotaroot("comp.mail.mime", []) == b"* QUOTAROOT comp.mail.mime\r\n"
    assert r.acl("INBOX", [("Fred", "rwipsldexta"), ("-anyone", "")]) == (
        b'* ACL INBOX Fred rwipsldexta -anyone ""\r\n'
    )
    assert r.listrights("~/Mail/saved", "smith", "la", ["r", "swicdkxte"]) == (
        b"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"
    )
    assert r.listrights("INBOX", "x", "", []) == b'* LISTRIGHTS INBOX x ""\r\n'
    assert r.myrights("INBOX", "rwiptsldaex") == b"* MYRIGHTS INBOX rwiptsldaex\r\n"
    assert r.untagged(b"3 EXISTS") == b"* 3 EXISTS\r\n"


# --------------------------------------------------------------------------- structures

RFC_ENVELOPE = Envelope(
    date="Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    subject="IMAP4rev1 WG mtg summary and minutes",
    from_=[Address("Terry Gray", None, "gray", "cac.washington.edu")],
    to=[Address(None, None, "imap", "cac.washington.edu")],
    cc=[
        Address(None, None, "minutes", "CNRI.Reston.VA.US"),
        Address("John Klensin", None, "KLENSIN", "MIT.EDU"),
    ],
    message_id="<B27397-0100000@cac.washington.edu>",
)


def test_envelope_rfc3501_example() -> None:
    assert encode_envelope(RFC_ENVELOPE) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) '
        b'NIL NIL "<B27397-0100000@cac.washington.edu>")'
    )


def test_envelope_empty_groups_and_8bit() -> None:
    assert encode_envelope(Envelope()) == b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    group = Envelope(
        subject="=?UTF-8?B?Q8O0bmcgdsSDbg==?=",
        from_=[Address("Văn thư", None, "vanthu", "bo.gov.vn")],
        sender=[Address(None, None, "relay", "bo.gov.vn")],
        to=[
            Address(None, None, "Lãnh đạo", None),
            Address(None, None, "ld", "bo.gov.vn"),
            Address(None, None, None, None),
        ],
    )
    wire = encode_envelope(group)
    name = "Văn thư".encode()
    assert b'"=?UTF-8?B?Q8O0bmcgdsSDbg==?="' in wire
    assert b"(({%d}\r\n" % len(name) + name + b' NIL "vanthu" "bo.gov.vn"))' in wire
    assert b'((NIL NIL "relay" "bo.gov.vn")) (({' in wire  # sender given; reply-to = from
    lead = "Lãnh đạo".encode()
    assert (
        b"((NIL NIL {%d}\r\n" % len(lead)
        + lead
        + b' NIL)(NIL NIL "ld" "bo.gov.vn")(NIL NIL NIL NIL))'
    ) in wire
    assert encode_envelope(group, utf8=True).count(b"{") == 0


def test_body_structure_rfc3501_examples() -> None:
    text = BodyPart("TEXT", "PLAIN", (("CHARSET", "US-ASCII"),), None, None, "7BIT", 3028, 92)
    assert encode_body_structure(text, extended=False) == (
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
    )
    mixed = Multipart(
        "MIXED",
        [
            BodyPart("TEXT", "PLAIN", (("CHARSET", "US-ASCII"),), size=1152, lines=23),
            BodyPart(
                "TEXT",
                "PLAIN",
                (("CHARSET", "US-ASCII"), ("NAME", "cc.diff")),
                "<960723163407.20117h@cac.washington.edu>",
                "Compiler diff",
                "BASE64",
                4554,
                73,
            ),
        ],
    )
    assert encode_body_structure(mixed, extended=False) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
        b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")'
    )


def test_body_structure_extended_with_attachment_and_message() -> None:
    pdf = BodyPart(
        "APPLICATION",
        "PDF",
        (("NAME", "Công văn 12.pdf"),),
        encoding="BASE64",
        size=2048,
        md5="Q2hlY2sgSW50ZWdyaXR5IQ==",
        disposition=Disposition("attachment", (("filename", "cv12.pdf"),)),
        language=["vi", "en"],
        location="http://example.vn/cv12.pdf",
    )
    inner = BodyPart(
        "MESSAGE",
        "RFC822",
        size=500,
        lines=10,
        envelope=RFC_ENVELOPE,
        body=BodyPart(size=20, lines=1),
    )
    root = Multipart(
        "MIXED",
        [BodyPart(size=10, lines=1, language=["vi"]), pdf, inner],
        params=(("BOUNDARY", "xyz"),),
    )
    wire = encode_body_structure(root, extended=True)
    name = "Công văn 12.pdf".encode()
    assert wire.startswith(b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1 NIL NIL "vi" NIL)')
    assert (
        b'("APPLICATION" "PDF" ("NAME" {%d}\r\n' % len(name)
        + name
        + b') NIL NIL "BASE64" 2048 "Q2hlY2sgSW50ZWdyaXR5IQ==" '
        b'("attachment" ("filename" "cv12.pdf")) ("vi" "en") "http://example.vn/cv12.pdf")'
    ) in wire
    assert b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 500 ("Wed, 17 Jul' in wire
    assert b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 20 1 NIL NIL NIL NIL) 10 NIL NIL NIL NIL)' in wire
    assert wire.endswith(b' "MIXED" ("BOUNDARY" "xyz") NIL NIL NIL)')
    basic = encode_body_structure(root, extended=False)
    assert b"BOUNDARY" not in basic and b"attachment" not in basic


def test_body_structure_fallbacks() -> None:
    assert encode_body_structure(Multipart("MIXED", []), extended=False) == (
        b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0) "MIXED")'
    )
    broken = BodyPart("message", "rfc822", size=3)
    assert encode_body_structure(broken, extended=False) == (
        b'("message" "rfc822" NIL NIL NIL "7BIT" 3 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) '
        b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 0) 0)'
    )
    image = BodyPart("IMAGE", "PNG", encoding="BASE64", size=99, lines=5)
    assert encode_body_structure(image, extended=False) == (
        b'("IMAGE" "PNG" NIL NIL NIL "BASE64" 99)'
    )


def test_fetch_of_ten_thousand_messages_is_fast() -> None:
    import time

    env = RFC_ENVELOPE
    body = Multipart("MIXED", [BodyPart(size=10, lines=1), BodyPart("IMAGE", "PNG", size=5)])
    start = time.perf_counter()
    out = [
        r.fetch(
            i,
            [
                ("UID", v.number(i)),
                ("FLAGS", v.flag_list(["\\Seen"])),
                ("ENVELOPE", encode_envelope(env)),
                ("BODYSTRUCTURE", encode_body_structure(body, extended=True)),
            ],
        )
        for i in range(1, 10_001)
    ]
    elapsed = time.perf_counter() - start
    assert len(out) == 10_000
    assert elapsed < 5.0  # about 0.3 s on a laptop; generous for slow CI
