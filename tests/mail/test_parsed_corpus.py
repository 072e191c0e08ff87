"""parse_message on real-shaped messages: envelope, structure, offsets, sizes, lines."""

import datetime as dt

import pytest

from govmail.mail.parsed import (
    SCHEMA_VERSION,
    ParsedMessage,
    PartNotFound,
    decoded_part,
    find_part,
    parse_message,
    section_bytes,
    text_body,
    walk_parts,
)
from tests.mail.mail_corpus import (
    ALL,
    ALTERNATIVE,
    DOCX_BYTES,
    FORWARDED,
    MIXED,
    NESTED,
    PDF_B64,
    PDF_BYTES,
    PLAIN,
    check_invariants,
)


@pytest.mark.parametrize("name", sorted(ALL))
def test_corpus_invariants(name: str) -> None:
    raw = ALL[name]
    check_invariants(raw, parse_message(raw))


# --- a plain single-part message ----------------------------------------------------------


def test_plain_envelope_is_raw_rfc3501() -> None:
    pm = parse_message(PLAIN)
    sender = [["=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?=", None, "nguyen.van.an", "hanoi.gov.vn"]]
    assert pm.envelope.to_list() == [
        "Mon, 06 May 2024 10:00:00 +0700",
        "=?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDEyMy9VQk5ELVZQ?=",
        sender,
        sender,  # Sender absent: defaults to From
        sender,  # Reply-To absent: defaults to From
        [["=?UTF-8?Q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?=", None, "tran.thi.binh", "bo.gov.vn"]],
        None,
        None,
        None,
        "<20240506030000.12345@hanoi.gov.vn>",
    ]


def test_plain_convenience_fields() -> None:
    pm = parse_message(PLAIN)
    assert pm.subject == "Công văn số 123/UBND-VP"
    assert pm.from_display == "Nguyễn Văn An"
    assert pm.from_addr == "nguyen.van.an@hanoi.gov.vn"
    assert pm.to_addrs == ["tran.thi.binh@bo.gov.vn"]
    assert pm.cc_addrs == []
    assert pm.date == dt.datetime(2024, 5, 6, 3, 0, tzinfo=dt.UTC)
    assert pm.message_id == "<20240506030000.12345@hanoi.gov.vn>"
    assert pm.in_reply_to is None and pm.references == []
    assert pm.has_attachments is False and pm.attachments == []
    assert pm.size == len(PLAIN) and pm.lines == 16  # 11 header lines, the blank line, 4 body lines
    assert "uy ban nhan dan thanh pho ha noi" in pm.text_for_search
    assert "cong van so 123/ubnd-vp" in pm.text_for_search
    assert "tran thi binh tran.thi.binh@bo.gov.vn" in pm.text_for_search


def test_plain_structure_and_offsets() -> None:
    pm = parse_message(PLAIN)
    body = pm.body
    blank = PLAIN.index(b"\r\n\r\n")
    assert (body.type, body.subtype) == ("text", "plain")
    assert body.params == [("charset", "utf-8")]
    assert body.encoding == "8bit"
    assert (body.header_start, body.header_end, body.body_start) == (0, blank + 2, blank + 4)
    assert body.body_end == len(PLAIN)
    text = (
        "Kính gửi: Bộ Nội vụ\r\n\r\n"
        "Ủy ban nhân dân thành phố Hà Nội xin gửi công văn số 123.\r\n"
        "Trân trọng.\r\n"
    )
    assert PLAIN[body.body_start :] == text.encode()
    assert body.size == len(text.encode()) == 123
    assert body.lines == 4
    assert body.parts == [] and body.message is None


def test_plain_header_index() -> None:
    pm = parse_message(PLAIN)
    names = [h.name for h in pm.headers]
    assert names == [
        "return-path", "received", "from", "to", "subject", "date", "message-id",
        "mime-version", "content-type", "content-transfer-encoding",
    ]  # fmt: skip
    received = pm.headers[1]
    assert PLAIN[received.offset : received.offset + received.length] == (
        b"Received: from mx1.hanoi.gov.vn (mx1.hanoi.gov.vn [203.0.113.5])\r\n"
        b"\tby mail.bo.gov.vn with ESMTPS; Mon, 06 May 2024 10:00:02 +0700\r\n"
    )


def test_plain_sections() -> None:
    pm = parse_message(PLAIN)
    start = pm.body.body_start
    assert section_bytes(PLAIN, pm, "") == PLAIN
    assert section_bytes(PLAIN, pm, "HEADER") == PLAIN[:start]
    assert section_bytes(PLAIN, pm, "TEXT") == PLAIN[start:]
    # BODY[1] of a non-multipart message is its body
    assert section_bytes(PLAIN, pm, "1") == PLAIN[start:]
    assert section_bytes(PLAIN, pm, "1.MIME") == PLAIN[:start]
    assert section_bytes(PLAIN, pm, "2") is None
    assert section_bytes(PLAIN, pm, "1.1") is None
    assert section_bytes(PLAIN, pm, "1.HEADER") is None
    assert section_bytes(PLAIN, pm, "HEADER.FIELDS (SUBJECT from)") == (
        b"From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <nguyen.van.an@hanoi.gov.vn>\r\n"
        b"Subject: =?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDEyMy9VQk5ELVZQ?=\r\n"
        b"\r\n"
    )
    assert section_bytes(PLAIN, pm, 'HEADER.FIELDS ("X-Absent")') == b"\r\n"
    not_fields = section_bytes(
        PLAIN,
        pm,
        "HEADER.FIELDS.NOT (Return-Path Received From To Subject Date Message-ID"
        " Content-Type Content-Transfer-Encoding)",
    )
    assert not_fields == b"MIME-Version: 1.0\r\n\r\n"
    assert section_bytes(PLAIN, pm, "TEXT", (0, 10)) == PLAIN[start : start + 10]
    assert section_bytes(PLAIN, pm, "", (10_000, 5)) == b""


def test_decoded_part_and_text_body_of_plain() -> None:
    pm = parse_message(PLAIN)
    assert decoded_part(PLAIN, pm, "1") == PLAIN[pm.body.body_start :]
    assert decoded_part(PLAIN, pm, "") == PLAIN
    with pytest.raises(PartNotFound):
        decoded_part(PLAIN, pm, "2")
    plain, html = text_body(PLAIN, pm)
    assert plain == (
        "Kính gửi: Bộ Nội vụ\n\n"
        "Ủy ban nhân dân thành phố Hà Nội xin gửi công văn số 123.\n"
        "Trân trọng.\n"
    )
    assert html is None


# --- multipart/alternative ---------------------------------------------------------------


def test_alternative_structure() -> None:
    pm = parse_message(ALTERNATIVE)
    body = pm.body
    assert body.media_type == "multipart/alternative"
    assert body.params == [("boundary", "=_alt_7f3a")]
    text, html = body.parts
    assert text.media_type == "text/plain" and text.encoding == "quoted-printable"
    assert html.media_type == "text/html" and html.encoding == "8bit"

    qp_line = b"M=E1=BB=9Di d=E1=BB=B1 h=E1=BB=8Dp giao ban l=C3=BAc 8 gi=E1=BB=9D.\r\n"
    assert section_bytes(ALTERNATIVE, pm, "1") == qp_line
    assert (text.size, text.lines) == (len(qp_line), 1)
    first_delim = ALTERNATIVE.index(b"--=_alt_7f3a\r\n")
    assert text.header_start == first_delim + len(b"--=_alt_7f3a\r\n")
    assert section_bytes(ALTERNATIVE, pm, "1.MIME") == (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    html_line = ALTERNATIVE.split(b"\r\n")[-3]
    assert html_line.startswith(b"<html>")
    assert section_bytes(ALTERNATIVE, pm, "2") == html_line
    assert (html.size, html.lines) == (len(html_line), 0)
    assert html.body_end == ALTERNATIVE.index(b"\r\n--=_alt_7f3a--")
    assert section_bytes(ALTERNATIVE, pm, "3") is None
    assert section_bytes(ALTERNATIVE, pm, "1.HEADER") is None


def test_alternative_text_and_headers() -> None:
    pm = parse_message(ALTERNATIVE)
    assert decoded_part(ALTERNATIVE, pm, "1") == "Mời dự họp giao ban lúc 8 giờ.\r\n".encode()
    plain, html = text_body(ALTERNATIVE, pm)
    assert plain == "Mời dự họp giao ban lúc 8 giờ.\n"
    assert html is not None and html.startswith("<html>")
    assert pm.envelope.cc == pm.envelope.cc and pm.envelope.cc is not None
    assert [a.as_list() for a in pm.envelope.cc] == [
        ["Pham, Van C", None, "c", "bo.gov.vn"],
        [None, None, "d", "bo.gov.vn"],
    ]
    assert pm.envelope.in_reply_to == "<orig.1@bo.gov.vn>"
    assert pm.in_reply_to == "<orig.1@bo.gov.vn>"
    assert pm.references == ["<root.0@bo.gov.vn>", "<orig.1@bo.gov.vn>"]
    assert pm.subject == "Giấy mời họp"
    # search text comes from the plain alternative only (not twice)
    assert pm.text_for_search.count("moi du hop") == 1


# --- multipart/mixed with attachments -------------------------------------------------------


def test_mixed_attachments() -> None:
    pm = parse_message(MIXED)
    assert pm.has_attachments
    pdf, docx = pm.attachments
    assert (pdf.part, pdf.filename) == ("2", "Công văn 123.pdf")
    assert pdf.content_type == "application/pdf"
    assert pdf.size == len(PDF_BYTES)
    assert docx.part == "3"
    assert docx.filename == "Dự thảo Quyết định.docx"
    assert docx.content_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert docx.size == len(DOCX_BYTES)
    assert decoded_part(MIXED, pm, "2") == PDF_BYTES
    assert decoded_part(MIXED, pm, (3,)) == DOCX_BYTES
    assert section_bytes(MIXED, pm, "2") == PDF_B64[:-2]
    assert "cong van 123.pdf" in pm.text_for_search
    assert "du thao quyet dinh.docx" in pm.text_for_search


def test_mixed_part_metadata_kept_raw() -> None:
    pm = parse_message(MIXED)
    text, pdf, docx = pm.body.parts
    assert text.lines == 0  # the CRLF before a boundary belongs to the boundary
    assert section_bytes(MIXED, pm, "1") == "Gửi kèm công văn và dự thảo.".encode()
    assert pdf.params == [("name*", "utf-8''C%C3%B4ng%20v%C4%83n%20123.pdf")]
    assert pdf.param("name") == "Công văn 123.pdf"
    assert pdf.disposition == (
        "attachment",
        [("filename*0*", "utf-8''C%C3%B4ng%20v%C4%83n"), ("filename*1*", "%20123.pdf")],
    )
    assert pdf.description == "=?utf-8?Q?C=C3=B4ng_v=C4=83n?="
    assert pdf.lines is None  # not text: no line count
    assert docx.language == ["vi", "en"]
    assert docx.params == [("name", "=?UTF-8?B?ROG7sSB0aOG6o28gUXV54bq/dCDEkeG7i25oLmRvY3g=?=")]


def test_mixed_envelope_group_and_bcc() -> None:
    pm = parse_message(MIXED)
    assert [a.as_list() for a in pm.envelope.to or []] == [
        [None, None, "Undisclosed recipients", None],
        [None, None, None, None],
    ]
    assert pm.to_addrs == []
    assert [a.as_list() for a in pm.envelope.bcc or []] == [[None, None, "an", "bo.gov.vn"]]
    assert pm.from_display == "Văn thư Bộ Tài chính"


# --- message/rfc822 -------------------------------------------------------------------------


def test_forwarded_message_sections() -> None:
    pm = parse_message(FORWARDED)
    inner = ALTERNATIVE[:-2]  # the CRLF before --outer-- belongs to the boundary
    alt_pm = parse_message(ALTERNATIVE)
    alt_header_len = alt_pm.body.body_start

    assert section_bytes(FORWARDED, pm, "2") == inner
    assert section_bytes(FORWARDED, pm, "2.MIME") == (
        b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
    )
    assert section_bytes(FORWARDED, pm, "2.HEADER") == ALTERNATIVE[:alt_header_len]
    assert section_bytes(FORWARDED, pm, "2.TEXT") == inner[alt_header_len:]
    assert section_bytes(FORWARDED, pm, "2.1") == section_bytes(ALTERNATIVE, alt_pm, "1")
    assert section_bytes(FORWARDED, pm, "2.2") == section_bytes(ALTERNATIVE, alt_pm, "2")
    assert section_bytes(FORWARDED, pm, "2.1.MIME") == section_bytes(ALTERNATIVE, alt_pm, "1.MIME")
    assert section_bytes(FORWARDED, pm, "2.HEADER.FIELDS (Subject)") == (
        b"Subject: =?utf-8?Q?Gi=E1=BA=A5y_m=E1=BB=9Di_h=E1=BB=8Dp?=\r\n\r\n"
    )
    assert section_bytes(FORWARDED, pm, "2.3") is None
    assert section_bytes(FORWARDED, pm, "1.TEXT") is None


def test_forwarded_message_structure() -> None:
    pm = parse_message(FORWARDED)
    attached = pm.body.parts[1]
    assert attached.media_type == "message/rfc822"
    assert attached.message is not None
    assert attached.size == len(ALTERNATIVE) - 2
    assert attached.lines == ALTERNATIVE[:-2].count(b"\n")
    alt_pm = parse_message(ALTERNATIVE)
    assert attached.message.envelope == alt_pm.envelope
    shift = attached.body_start
    assert [h._replace(offset=h.offset - shift) for h in attached.message.headers] == alt_pm.headers
    inner_parts = attached.message.body.parts
    assert [(p.media_type, p.size, p.lines) for p in inner_parts] == [
        (p.media_type, p.size, p.lines) for p in alt_pm.body.parts
    ]
    assert [a.to_dict() for a in pm.attachments] == [
        {"part": "2", "filename": "Giấy mời họp.eml", "content_type": "message/rfc822",
         "size": len(ALTERNATIVE) - 2}
    ]  # fmt: skip
    plain, html = text_body(FORWARDED, pm)
    assert plain == "See the forwarded message."
    assert html is None


def test_walk_parts_numbering() -> None:
    pm = parse_message(FORWARDED)
    assert [n for n, _ in walk_parts(pm)] == ["1", "2"]
    assert [n for n, _ in walk_parts(pm, into_messages=True)] == ["1", "2", "2.1", "2.2"]
    assert find_part(pm, "2.2") is pm.body.parts[1].message.body.parts[1]  # type: ignore[union-attr]
    assert find_part(pm, "0") is None and find_part(pm, "x") is None and find_part(pm, "") is None


# --- three levels of nesting -----------------------------------------------------------------


def test_nested_three_levels() -> None:
    pm = parse_message(NESTED)
    assert [(n, p.media_type) for n, p in walk_parts(pm)] == [
        ("1", "multipart/related"),
        ("1.1", "multipart/alternative"),
        ("1.1.1", "text/plain"),
        ("1.1.2", "text/html"),
        ("1.2", "image/png"),
        ("2", "image/jpeg"),
    ]
    assert section_bytes(NESTED, pm, "1.1.1") == "Ba cấp lồng nhau".encode()
    assert section_bytes(NESTED, pm, "1.1.2") == '<p>Ba cấp <img src="cid:logo@x"></p>'.encode()
    assert section_bytes(NESTED, pm, "1.2") == b"iVBORw0KGgo="
    assert decoded_part(NESTED, pm, "1.2") == b"\x89PNG\r\n\x1a\n"
    assert section_bytes(NESTED, pm, "1.1.1.MIME") == (
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    related = pm.body.parts[0]
    assert related.params == [("boundary", "L2"), ("type", "multipart/alternative")]
    assert (
        section_bytes(NESTED, pm, "1")
        == NESTED[NESTED.index(b"--L2\r\n") : NESTED.index(b"\r\n--L1\r\nContent-Type: image/jpeg")]
    )
    # the inline image referenced by Content-ID is not an attachment; the photo is
    assert [(a.part, a.filename, a.size) for a in pm.attachments] == [("2", "photo.jpg", 10)]
    assert text_body(NESTED, pm) == ("Ba cấp lồng nhau", '<p>Ba cấp <img src="cid:logo@x"></p>')
    assert pm.date is None


# --- stored form --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL))
def test_json_roundtrip(name: str) -> None:
    pm = parse_message(ALL[name])
    text = pm.to_json()
    again = ParsedMessage.from_json(text)
    assert again == pm
    assert again.to_json() == text
    data = pm.to_dict()
    assert data["v"] == SCHEMA_VERSION
    assert len(data["envelope"]) == 10


@pytest.mark.parametrize("name", sorted(ALL))
def test_leaves_agree_with_the_standard_library(name: str) -> None:
    """Leaf parts in document order: same media types and decoded content as ``email``."""
    import email
    import email.policy

    raw = ALL[name]
    pm = parse_message(raw)
    ours = [
        (part.media_type, decoded_part(raw, pm, num))
        for num, part in walk_parts(pm, into_messages=True)
        if not part.parts and part.message is None
    ]
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    theirs = [
        (leaf.get_content_type(), leaf.get_payload(decode=True))
        for leaf in msg.walk()
        if not leaf.is_multipart()
    ]
    assert ours == theirs
