"""Document policies in the pipeline: classified documents never travel (R8), documents
to or from free mail domains are refused or flagged (R15), Vietnamese in TCVN3, VNI or
VISCII is found in the subject, body, text, HTML and DOCX attachments of the seed texts
and refused or flagged (R9), and converted on request."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from tests.documents import docorg
from tests.documents.docorg import MIC, PY, DocEnv, docx

from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.documents.policies import (
    classified_marker,
    convert_docx,
    convert_text,
    docx_text,
    is_free_mail,
    legacy_findings,
)
from govmail.mail.parsed import parse_message
from govmail.mail.vnlegacy import encode_legacy

docenv_sqlite = docorg.docenv_sqlite  # the fixture

SEED_TEXTS = {
    "000": "Nhằm thực hiện tốt Nghị định số 64/2007/NĐ-CP ngày 10/4/2007 của Chính phủ về ứng "
    "dụng công nghệ thông tin trong hoạt động của cơ quan nhà nước, hướng tới nâng cao năng suất "
    "lao động, thực hành tiết kiệm, Thủ tướng Chính phủ ban hành Chỉ thị về việc tăng cường sử "
    "dụng hệ thống thư điện tử trong hoạt động của cơ quan nhà nước.",
    "001": "Trong điều kiện nguồn nhân lực công nghệ thông tin còn thiếu, kinh phí triển khai ứng "
    "dụng, phát triển công nghệ thông tin còn hạn chế, nhiều cơ quan nhà nước đã vượt qua những "
    "khó khăn trên và tích cực triển khai các hệ thống thông tin để trao đổi văn bản điện tử.",
    "002": "Ban hành ngay quy chế sử dụng hệ thống thư điện tử tại các đơn vị đã được trang bị hệ "
    "thống này, bảo đảm phù hợp với các mục tiêu ứng dụng công nghệ thông tin trong giai đoạn "
    "hiện nay và sắp tới, xác định rõ trách nhiệm của các tổ chức, cá nhân.",
    "003": "Một số cán bộ có thói quen sử dụng email công cộng như Yahoo, Gmail nên nguy cơ dễ bị "
    "lộ thông tin cũng rất cao. Bên cạnh đó, nhiều văn bản vẫn phải gửi đồng thời qua cả hai "
    "đường: văn bản điện tử qua thư điện tử, văn bản giấy qua văn thư.",
    "004": "Tăng cường sử dụng các hệ thống thư điện tử chính thức đã được trang bị để trao đổi "
    "văn bản, tài liệu trong công việc; có các quy chế, giải pháp giảm thiểu sử dụng các hộp thư "
    "điện tử không chính thức để trao đổi văn bản trong công việc.",
}
ENCODINGS = ("tcvn3", "vni", "viscii")


def legacy(text: str, encoding: str) -> bytes:
    # TCVN3 has no codes for capital toned letters (the capital font draws them): the
    # typist's text is what the lowercase codes hold.
    return encode_legacy(text.lower() if encoding == "tcvn3" else text, encoding)  # type: ignore[arg-type]


def mojibake(text: str, encoding: str) -> str:
    """Legacy bytes as a Windows-1252 reader shows them (a .VnTime Word file, a body)."""
    return legacy(text, encoding).decode("cp1252", "replace").replace("\ufffd", "?")


def message(
    subject: str = "Báo cáo tháng",
    body: str = "Kính gửi UBND tỉnh Phú Yên.",
    *,
    frm: str = MIC,
    to: str = PY,
    document: bool = True,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    if document:
        m["X-Govmail-Document"] = "000.00.00.G14,2024/05/06,05/BC-BTTTT"
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    for name, ctype, data in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


# --------------------------------------------------------------------------- pure


@pytest.mark.parametrize("name", sorted(SEED_TEXTS))
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_legacy_text_of_every_seed_is_found_wherever_it_is(name: str, encoding: str) -> None:
    text = SEED_TEXTS[name]
    raw = message(
        subject=mojibake(text[:90], encoding),
        body=mojibake(text, encoding),
        attachments=[
            ("ban-tin.txt", "text/plain", legacy(text, encoding)),
            ("trang.html", "text/html", f"<p>{mojibake(text, encoding)}</p>".encode()),
            (
                "bao-cao.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                docx([mojibake(text, encoding)]),
            ),
        ],
    )
    found = legacy_findings(raw, parse_message(raw))
    assert [(f.where, f.encoding) for f in found] == [
        ("subject", encoding),
        ("body", encoding),
        ("ban-tin.txt", encoding),
        ("trang.html", encoding),
        ("bao-cao.docx", encoding),
    ]


@pytest.mark.parametrize("name", sorted(SEED_TEXTS))
def test_unicode_seed_text_has_no_findings(name: str) -> None:
    text = SEED_TEXTS[name]
    raw = message(
        subject=text[:90],
        body=text,
        attachments=[
            ("a.txt", "text/plain", text.encode()),
            ("b.docx", "application/octet-stream", docx([text], font="Times New Roman")),
        ],
    )
    assert legacy_findings(raw, parse_message(raw)) == []


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_conversion_of_text_and_docx(encoding: str) -> None:
    text = SEED_TEXTS["004"]
    expected = text.lower() if encoding == "tcvn3" else text
    assert convert_text(mojibake(text, encoding)) == expected
    converted = convert_docx(docx([mojibake(text, encoding), "Hà Nội"]))
    assert docx_text(converted) == expected + "\n" + "Hà Nội"
    assert b".VnTime" not in converted and b"Times New Roman" in _document_xml(converted)
    raw = message(attachments=[("x.docx", "application/octet-stream", converted)])
    assert legacy_findings(raw, parse_message(raw)) == []


def _document_xml(data: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("word/document.xml")


def test_broken_and_hostile_docx_are_no_crash() -> None:
    assert docx_text(b"PK\x03\x04 not a zip") is None
    bomb = docx(["x"]).replace(b"<w:body>", b"<!DOCTYPE x [<!ENTITY a 'b'>]><w:body>")
    assert docx_text(bomb) is None or "b" not in (docx_text(bomb) or "")
    raw = message(attachments=[("bad.docx", "application/octet-stream", b"garbage")])
    assert legacy_findings(raw, parse_message(raw)) == []


@pytest.mark.parametrize(
    ("subject", "header", "level"),
    [
        ("[MẬT] Kế hoạch bảo vệ", None, "Mật"),
        ("TỐI MẬT: Phương án", None, "Tối mật"),
        ("(TUYỆT MẬT) Báo cáo", None, "Tuyệt mật"),
        ("Báo cáo tháng", "Tối mật", "Tối mật"),
        ("Báo cáo tháng", "toi mat", "Tối mật"),
        ("Đổi MẬT KHẨU hộp thư", None, None),
        ("Hướng dẫn đặt mật khẩu", None, None),
        ("Bảo vệ bí mật nhà nước", None, None),
    ],
)
def test_classified_markers(subject: str, header: str | None, level: str | None) -> None:
    headers = {"X-Govmail-Confidentiality": header} if header else None
    raw = message(subject=subject, headers=headers)
    assert classified_marker(raw, parse_message(raw)) == level


def test_free_mail_domains() -> None:
    assert is_free_mail("gmail.com") and is_free_mail("YAHOO.COM.VN") and is_free_mail("hn.vnn.vn")
    assert not is_free_mail("mic.gov.vn") and not is_free_mail("notgmail.com")
    assert is_free_mail("example.net", extra=["example.net"])
    assert not is_free_mail("gmail.com", allowed=["gmail.com"])


# --------------------------------------------------------------------------- the pipeline


async def _submit(env: DocEnv, raw: bytes, to: list[str], sender: str) -> None:
    e = Envelope(MIC, to, "documents", auth_user=sender)
    await env.pipeline.deliver(e, raw, save_sent_copy=False)


async def test_classified_documents_never_travel(docenv_sqlite: DocEnv) -> None:
    env = docenv_sqlite
    clerk = await env.clerk(MIC)
    before = len(await env.inbox(PY))
    for raw in (
        message(subject="[MẬT] Kế hoạch"),
        message(headers={"X-Govmail-Confidentiality": "Tuyệt mật"}),
        message(subject="[TỐI MẬT] Báo cáo", document=False),
    ):
        with pytest.raises(DeliveryRefused) as exc:
            await _submit(env, raw, [PY], clerk)
        assert exc.value.code == 550 and exc.value.check == "document_classified"
        assert "không được gửi qua thư điện tử" in exc.value.reason
        assert "never sent by e-mail" in exc.value.reason
    # From the Internet too.
    with pytest.raises(DeliveryRefused):
        await env.pipeline.deliver(
            Envelope("vanthu@nghean.gov.vn", [PY], "mx"),
            message(subject="MẬT: Phương án", frm="vanthu@nghean.gov.vn"),
        )
    assert len(await env.inbox(PY)) == before
    await _submit(env, message(subject="Đổi MẬT KHẨU"), [PY], clerk)
    assert len(await env.inbox(PY)) == before + 1


async def test_free_mail_refused_or_flagged_per_agency(docenv_sqlite: DocEnv) -> None:
    env = docenv_sqlite
    clerk = await env.clerk(MIC)
    with pytest.raises(DeliveryRefused) as exc:
        await _submit(env, message(to="ai@gmail.com"), ["ai@gmail.com"], clerk)
    assert exc.value.check == "document_free_mail" and "ai@gmail.com" in exc.value.reason
    assert "free public mailboxes" in exc.value.reason
    # Ordinary mail to Gmail is not the documents policy's business.
    await _submit(env, message(to="ai@gmail.com", document=False), ["ai@gmail.com"], clerk)
    # A document arriving from a free mailbox is refused by the recipient agency's policy.
    with pytest.raises(DeliveryRefused) as exc:
        await env.pipeline.deliver(
            Envelope("canbo@yahoo.com", [PY], "mx"), message(frm="canbo@yahoo.com")
        )
    assert "canbo@yahoo.com" in exc.value.reason
    async with env.store.read() as tx:
        mic = await tx.directory.agency_by_code("000.00.00.G14")
        py = await tx.directory.agency_by_code("000.00.00.H45")
    assert mic is not None and py is not None
    await env.documents.set_policy("admin", mic.id, free_mail="flag")
    result = await env.pipeline.deliver(
        Envelope(MIC, ["ai@gmail.com"], "documents", auth_user=clerk),
        message(to="ai@gmail.com"),
        save_sent_copy=False,
    )
    assert result.policy is not None
    assert any(h[0] == "X-Govmail-Policy" for h in result.policy.headers)
    # A unit without a policy of its own follows its parent; an allowed domain passes.
    await env.documents.set_policy("admin", py.id, allowed_domains=["yahoo.com"])
    await env.pipeline.deliver(
        Envelope("canbo@yahoo.com", [PY], "mx"), message(frm="canbo@yahoo.com")
    )


async def test_legacy_text_refused_flagged_or_scoped(docenv_sqlite: DocEnv) -> None:
    env = docenv_sqlite
    clerk = await env.clerk(MIC)
    tcvn3_docx = docx([mojibake(SEED_TEXTS["002"], "tcvn3")])
    raw = message(attachments=[("Quy che.docx", "application/octet-stream", tcvn3_docx)])
    with pytest.raises(DeliveryRefused) as exc:
        await _submit(env, raw, [PY], clerk)
    assert exc.value.check == "document_legacy_encoding" and exc.value.enhanced == "5.6.0"
    assert "Quy che.docx (TCVN3/ABC)" in exc.value.reason and "TCVN 6909:2001" in exc.value.reason
    # Ordinary mail is checked only when the agency extends the rule to all mail.
    plain = message(body=mojibake(SEED_TEXTS["000"], "vni"), document=False)
    await _submit(env, plain, [PY], clerk)
    async with env.store.read() as tx:
        mic = await tx.directory.agency_by_code("000.00.00.G14")
    assert mic is not None
    await env.documents.set_policy("admin", mic.id, legacy_scope="all")
    with pytest.raises(DeliveryRefused) as exc:
        await _submit(env, plain, [PY], clerk)
    assert "body (VNI-Windows)" in exc.value.reason
    await env.documents.set_policy("admin", mic.id, legacy_text="flag")
    await _submit(env, raw, [PY], clerk)
    await env.documents.set_policy("admin", mic.id, legacy_text="off")
    await _submit(env, raw, [PY], clerk)
