"""Real-shaped messages built for the mail-layer tests (bytes exactly as they would be stored).

Each builder returns raw bytes; tests compute expected offsets from the bytes themselves
(``raw.index(marker)``), never from the parser.
"""

from __future__ import annotations

import base64

from govmail.mail.parsed import (
    BodyPart,
    ParsedMessage,
    decoded_part,
    section_bytes,
    text_body,
    walk_parts,
)

CRLF = b"\r\n"

# A tiny but real-looking PDF (the bytes a test expects back from decoded_part).
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
    b"%%EOF\n" + bytes(range(256))
)


def lines(*parts: bytes | str) -> bytes:
    """Join lines with CRLF (str lines are UTF-8 encoded); ends with CRLF."""
    out = [p.encode("utf-8") if isinstance(p, str) else p for p in parts]
    return CRLF.join(out) + CRLF


def b64_lines(data: bytes, width: int = 76) -> bytes:
    enc = base64.b64encode(data)
    return CRLF.join(enc[i : i + width] for i in range(0, len(enc), width)) + CRLF


PLAIN = lines(
    "Return-Path: <nguyen.van.an@hanoi.gov.vn>",
    "Received: from mx1.hanoi.gov.vn (mx1.hanoi.gov.vn [203.0.113.5])",
    "\tby mail.bo.gov.vn with ESMTPS; Mon, 06 May 2024 10:00:02 +0700",
    "From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <nguyen.van.an@hanoi.gov.vn>",
    "To: =?UTF-8?Q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?= <tran.thi.binh@bo.gov.vn>",
    "Subject: =?UTF-8?B?Q8O0bmcgdsSDbiBz4buRIDEyMy9VQk5ELVZQ?=",
    "Date: Mon, 06 May 2024 10:00:00 +0700",
    "Message-ID: <20240506030000.12345@hanoi.gov.vn>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Kính gửi: Bộ Nội vụ",
    "",
    "Ủy ban nhân dân thành phố Hà Nội xin gửi công văn số 123.",
    "Trân trọng.",
)

ALTERNATIVE = lines(
    "From: Phong Van Thu <vanthu@bo.gov.vn>",
    "To: lanhdao@bo.gov.vn",
    'Cc: "Pham, Van C" <c@bo.gov.vn>, d@bo.gov.vn',
    "Subject: =?utf-8?Q?Gi=E1=BA=A5y_m=E1=BB=9Di_h=E1=BB=8Dp?=",
    "Date: Tue, 07 May 2024 08:30:00 +0700",
    "Message-ID: <alt.1@bo.gov.vn>",
    "In-Reply-To: <orig.1@bo.gov.vn>",
    "References: <root.0@bo.gov.vn>\r\n <orig.1@bo.gov.vn>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/alternative; boundary="=_alt_7f3a"',
    "",
    "This is a multi-part message in MIME format.",
    "--=_alt_7f3a",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "M=E1=BB=9Di d=E1=BB=B1 h=E1=BB=8Dp giao ban l=C3=BAc 8 gi=E1=BB=9D.",
    "",
    "--=_alt_7f3a",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "<html><head><style>p{color:red}</style></head>"
    "<body><p>Mời dự <b>họp</b> giao ban</p><p>lúc 8&nbsp;giờ.</p></body></html>",
    "--=_alt_7f3a--",
)

PDF_B64 = b64_lines(PDF_BYTES)
DOCX_BYTES = b"PK\x03\x04" + b"word/document.xml" * 10

MIXED = (
    lines(
        "From: =?utf-8?B?VsSDbiB0aMawIELhu5kgVMOgaSBjaMOtbmg=?= <vanthu@mof.gov.vn>",
        "To: Undisclosed recipients:;",
        "Bcc: an@bo.gov.vn",
        "Subject: =?utf-8?B?VuG7gSB2aeG7h2MgdHJp4buDbiBraGFp?=",
        "Date: Wed, 08 May 2024 15:45:10 +0700",
        "Message-ID: <mixed.42@mof.gov.vn>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="----=_Part_0_1"',
        "",
        "------=_Part_0_1",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Gửi kèm công văn và dự thảo.",
        "------=_Part_0_1",
        "Content-Type: application/pdf; name*=utf-8''C%C3%B4ng%20v%C4%83n%20123.pdf",
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment;",
        " filename*0*=utf-8''C%C3%B4ng%20v%C4%83n;",
        " filename*1*=%20123.pdf",
        "Content-Description: =?utf-8?Q?C=C3=B4ng_v=C4=83n?=",
        "",
    )
    + PDF_B64
    + lines(
        "------=_Part_0_1",
        "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;",
        ' name="=?UTF-8?B?ROG7sSB0aOG6o28gUXV54bq/dCDEkeG7i25oLmRvY3g=?="',
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment;",
        ' filename="=?UTF-8?B?ROG7sSB0aOG6o28gUXV54bq/dCDEkeG7i25oLmRvY3g=?="',
        "Content-Language: vi, en",
        "",
    )
    + b64_lines(DOCX_BYTES)
    + lines("------=_Part_0_1--", "")
)

FORWARDED = (
    lines(
        "From: b@bo.gov.vn",
        "To: c@bo.gov.vn",
        "Subject: Fwd: =?utf-8?Q?Gi=E1=BA=A5y_m=E1=BB=9Di_h=E1=BB=8Dp?=",
        "Date: Thu, 09 May 2024 09:00:00 +0700",
        "Message-ID: <fwd.1@bo.gov.vn>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=outer",
        "",
        "--outer",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "See the forwarded message.",
        "--outer",
        "Content-Type: message/rfc822",
        "Content-Disposition: inline",
        "",
    )
    + ALTERNATIVE
    + lines("--outer--")
)

NESTED = lines(
    "From: a@x.vn",
    "To: b@y.vn",
    "Subject: nested",
    "Content-Type: multipart/mixed; boundary=L1",
    "",
    "--L1",
    'Content-Type: multipart/related; boundary=L2; type="multipart/alternative"',
    "",
    "--L2",
    "Content-Type: multipart/alternative; boundary=L3",
    "",
    "--L3",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Ba cấp lồng nhau",
    "--L3",
    "Content-Type: text/html; charset=utf-8",
    "",
    '<p>Ba cấp <img src="cid:logo@x"></p>',
    "--L3--",
    "--L2",
    "Content-Type: image/png",
    "Content-ID: <logo@x>",
    "Content-Transfer-Encoding: base64",
    "",
    "iVBORw0KGgo=",
    "--L2--",
    "--L1",
    "Content-Type: image/jpeg; name=photo.jpg",
    "Content-Disposition: inline; filename=photo.jpg",
    "Content-Transfer-Encoding: base64",
    "",
    "/9j/4AAQSkZJRg==",
    "--L1--",
)

ALL = {
    "plain": PLAIN,
    "alternative": ALTERNATIVE,
    "mixed": MIXED,
    "forwarded": FORWARDED,
    "nested": NESTED,
}


def _check_part(part: BodyPart, lo: int, hi: int, size: int) -> int:
    assert lo <= part.header_start <= part.header_end <= part.body_start <= part.body_end <= hi
    assert 0 <= part.body_end <= size
    assert part.size == part.body_end - part.body_start
    assert part.type == part.type.lower() and part.subtype == part.subtype.lower()
    count = 1
    for child in part.parts:
        count += _check_part(child, part.body_start, part.body_end, size)
    if part.message is not None:
        inner = part.message.body
        assert inner.header_start == part.body_start
        assert inner.body_end == part.body_end
        count += _check_part(inner, part.body_start, part.body_end, size)
        for h in part.message.headers:
            assert inner.header_start <= h.offset < h.offset + h.length <= inner.header_end
    return count


def check_invariants(raw: bytes, pm: ParsedMessage) -> None:
    """What must hold for any input: offsets inside the message and nested properly,
    every part servable, the JSON form lossless."""
    assert pm.size == len(raw)
    assert pm.lines == raw.count(b"\n")
    assert pm.body.header_start == 0 and pm.body.body_end == len(raw)
    _check_part(pm.body, 0, len(raw), len(raw))
    previous_end = 0
    for h in pm.headers:
        assert previous_end <= h.offset < h.offset + h.length <= pm.body.header_end
        assert raw[h.offset : h.offset + h.length].lower().startswith(h.name.encode())
        previous_end = h.offset + h.length
    assert section_bytes(raw, pm, "") == raw
    assert section_bytes(raw, pm, "HEADER") == raw[: pm.body.body_start]
    assert section_bytes(raw, pm, "TEXT") == raw[pm.body.body_start :]
    for num, part in walk_parts(pm, into_messages=True):
        assert section_bytes(raw, pm, num) == raw[part.body_start : part.body_end]
        assert section_bytes(raw, pm, num + ".MIME") == raw[part.header_start : part.body_start]
        if part.message is not None:
            head = section_bytes(raw, pm, num + ".HEADER")
            assert head == raw[part.message.body.header_start : part.message.body.body_start]
        else:
            assert section_bytes(raw, pm, num + ".TEXT") is None
        assert isinstance(decoded_part(raw, pm, num), bytes)
    plain, html = text_body(raw, pm)
    assert plain is None or isinstance(plain, str)
    assert html is None or isinstance(html, str)
    assert ParsedMessage.from_json(pm.to_json()) == pm
