"""Messages the POP3 tests store and fetch back."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

from tests.pop3.conftest import USER


def simple(n: int) -> bytes:
    return (
        f"From: <sender@example.org>\r\nTo: <{USER}>\r\nSubject: thu {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\n\r\nNoi dung {n}.\r\nDong hai.\r\n"
    ).encode()


def vietnamese_message_with_pdf() -> tuple[bytes, bytes]:
    pdf = (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        + bytes(range(256)) * 40
        + b"\n.\r\n..\r\n%%EOF\n"
    )
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "Văn phòng Bộ <vanphong@mic.gov.vn>"
    msg["To"] = f"Nguyễn Thị Minh Hằng <{USER}>"
    msg["Subject"] = "Công văn số 1234/BTTTT-VP về việc triển khai hệ thống thư điện tử công vụ"
    msg["Message-ID"] = "<cv1234@mic.gov.vn>"
    msg.set_content(
        "Kính gửi: Các đơn vị thuộc Bộ\n\n.Dòng bắt đầu bằng dấu chấm.\n.\nTrân trọng.\n"
    )
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="Công văn 1234.pdf")
    raw = msg.as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    return raw, pdf
