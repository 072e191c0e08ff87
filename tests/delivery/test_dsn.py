"""Delivery status notifications (RFC 3464), parsed back with Python's email package."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from govmail.delivery import outbound
from govmail.delivery.dsn import DsnRecipient, DsnReport, build_dsn, header_block
from govmail.i18n import catalogue

ARRIVAL = datetime(2025, 5, 14, 2, 30, tzinfo=UTC)  # 09:30 in Hà Nội
NOW = ARRIVAL + timedelta(hours=5)
ORIGINAL = (
    "From: =?utf-8?q?Nguy=E1=BB=85n_Th=E1=BB=8B_Minh_H=E1=BA=B1ng?= <hangntm@mic.gov.vn>\r\n"
    "To: b@phuyen.example\r\n"
    "Subject: =?utf-8?b?QsOhbyBjw6FvIHRow6FuZyA1?=\r\n"
    "Message-ID: <abc.123@mic.gov.vn>\r\n"
    "\r\n"
    "Nội dung thư không được gửi kèm.\r\n"
).encode()


def report(**kw: object) -> DsnReport:
    base: dict[str, object] = {
        "kind": "failed",
        "reporting_mta": "mail.mic.gov.vn",
        "original_sender": "hangntm@mic.gov.vn",
        "arrival": ARRIVAL,
        "recipients": [
            DsnRecipient(
                "b@phuyen.example",
                "5.1.1",
                remote_mta="mx.phuyen.example",
                reply="550 5.1.1 <b@phuyen.example>: no such user",
                last_attempt=NOW,
            )
        ],
        "original": ORIGINAL,
        "lifetime_hours": 120,
    }
    base.update(kw)
    return DsnReport(**base)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=default_policy)  # type: ignore[return-value]


def test_bounce_structure() -> None:
    raw = build_dsn(report(), now=NOW)
    # Transport-safe: CRLF only, short lines, ASCII outside the attached original header.
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head, _, _ = raw.partition(b"Content-Type: text/rfc822-headers")
    assert head.isascii()

    m = parse(raw)
    assert m["From"] == "Mail Delivery System <MAILER-DAEMON@mail.mic.gov.vn>"
    assert m["To"] == "hangntm@mic.gov.vn"
    assert m["Subject"] == "Thư không gửi được / Undelivered mail: Báo cáo tháng 5"
    assert m["Auto-Submitted"] == "auto-replied"
    assert m["In-Reply-To"] == m["References"] == "<abc.123@mic.gov.vn>"
    assert m["Message-ID"].endswith("@mail.mic.gov.vn>")
    assert parsedate_to_datetime(m["Date"]) == NOW
    assert m.get_content_type() == "multipart/report"
    assert m.get_param("report-type") == "delivery-status"

    text, status, headers = m.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content_charset() == "utf-8"
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    body = text.get_content()
    vi = body.index("KHÔNG gửi được")
    en = body.index("could NOT be delivered")
    assert vi < en
    assert "14/05/2025 09:30 (UTC+07:00)" in body  # arrival in the installation's zone
    assert body.count("550 5.1.1 <b@phuyen.example>: no such user") == 2
    assert "Máy chủ nhận mx.phuyen.example trả lời" in body
    assert "The receiving server mx.phuyen.example replied" in body
    assert "sẽ không gửi lại" in body and "will not try again" in body

    assert status.get_content_type() == "message/delivery-status"
    per_msg, rcpt = status.get_payload()
    assert per_msg["Reporting-MTA"] == "dns; mail.mic.gov.vn"
    assert parsedate_to_datetime(per_msg["Arrival-Date"]) == ARRIVAL
    assert rcpt["Final-Recipient"] == "rfc822; b@phuyen.example"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Remote-MTA"] == "dns; mx.phuyen.example"
    assert rcpt["Diagnostic-Code"] == "smtp; 550 5.1.1 <b@phuyen.example>: no such user"
    assert parsedate_to_datetime(rcpt["Last-Attempt-Date"]) == NOW
    assert rcpt["Will-Retry-Until"] is None

    assert headers.get_content_type() == "text/rfc822-headers"
    original = headers.get_payload(decode=True)
    assert original == header_block(ORIGINAL)
    assert b"Message-ID: <abc.123@mic.gov.vn>" in original and b"N\xe1\xbb\x99i" not in original


def test_delay_notice_fields() -> None:
    until = ARRIVAL + timedelta(days=5)
    raw = build_dsn(
        report(
            kind="delayed",
            recipients=[
                DsnRecipient("b@phuyen.example", "4.4.1", problem="unreachable",
                             detail="mx.phuyen.example [192.0.2.1]:25: connection refused",
                             last_attempt=NOW),
            ],
            will_retry_until=until,
        ),
        now=NOW,
    )
    m = parse(raw)
    assert m["Subject"] == "Thư chậm gửi / Delivery delayed: Báo cáo tháng 5"
    text, status, headers = m.iter_parts()
    _per_msg, rcpt = status.get_payload()
    assert (rcpt["Action"], rcpt["Status"]) == ("delayed", "4.4.1")
    assert parsedate_to_datetime(rcpt["Will-Retry-Until"]) == until
    assert rcpt["Remote-MTA"] is None
    assert rcpt["Diagnostic-Code"] == (
        "X-govmail; mx.phuyen.example [192.0.2.1]:25: connection refused"
    )
    body = text.get_content()
    assert "19/05/2025 09:30 (UTC+07:00)" in body  # will retry until, local time
    assert "không kết nối được tới máy chủ thư của phuyen.example" in body
    assert "could not connect to the mail servers of phuyen.example" in body
    assert "Delayed message header" in headers["Content-Description"]


def test_expired_recipient_shows_reply_and_reason() -> None:
    raw = build_dsn(
        report(
            recipients=[
                DsnRecipient("b@phuyen.example", "4.4.7", remote_mta="mx.phuyen.example",
                             reply="451 4.3.0 try later", expired=True, last_attempt=NOW),
            ],
            lifetime_hours=48,
        ),
        now=NOW,
    )
    body = next(parse(raw).iter_parts()).get_content()
    assert "451 4.3.0 try later" in body
    assert "hết thời gian gửi lại (48 giờ)" in body and "retry period (48 hours)" in body


def test_without_original_and_with_unusual_recipients() -> None:
    long_reply = "550 5.7.1 " + " ".join(f"word{i}" for i in range(60))
    raw = build_dsn(
        report(
            recipients=[
                DsnRecipient("lê.tám@phuyên.example", "5.1.1", remote_mta="mx.example",
                             reply=long_reply),
                DsnRecipient("c@phuyen.example", "5.3.0", problem="no-such-key", detail="x"),
            ],
            original=b"",
        ),
        now=NOW,
    )
    assert raw.isascii()
    m = parse(raw)
    assert m["Subject"] == "Thư không gửi được / Undelivered mail"
    assert m["In-Reply-To"] is None
    parts = list(m.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status"]
    body = parts[0].get_content()
    assert "(không có tiêu đề)" in body and "(no subject)" in body
    assert "đính kèm" not in body
    assert "lỗi không xác định (x)" in body  # an unknown problem key does not crash
    _per_msg, first, second = parts[1].get_payload()
    # RFC 6533 utf-8-addr-xtext for a non-ASCII address in a plain delivery-status part.
    assert first["Final-Recipient"] == "utf-8; l\\x{EA}.t\\x{E1}m@phuy\\x{EA}n.example"
    # A long diagnostic is folded onto short lines and unfolds to the same text.
    assert re.search(rb"Diagnostic-Code: smtp; 550 5\.7\.1[^\r]*\r\n word", raw)
    assert " ".join(first["Diagnostic-Code"].split()) == f"smtp; {long_reply}"
    assert second["Status"] == "5.3.0"


def test_needs_a_recipient() -> None:
    with pytest.raises(ValueError):
        build_dsn(report(recipients=[]))


def test_header_block() -> None:
    assert header_block(b"A: 1\nB: 2\n\nbody\n") == b"A: 1\r\nB: 2\r\n"
    assert header_block(b"A: 1\r\n\r\n") == b"A: 1\r\n"
    assert header_block(b"A: 1") == b"A: 1\r\n"
    assert header_block(b"") == b""


def test_broken_original_header_does_not_break_the_notice() -> None:
    garbage = b"Subject: =?utf-8?q?=FF=FE?=\r\nMessage-ID: not an id\r\n\x00\xff: \xfe\r\n\r\n"
    m = parse(build_dsn(report(original=garbage), now=NOW))
    assert m["In-Reply-To"] is None
    assert [p.get_content_type() for p in m.iter_parts()][2] == "text/rfc822-headers"


def test_every_problem_the_delivery_reports_has_a_message() -> None:
    src = Path(outbound.__file__).read_text(encoding="utf-8")
    problems = set(re.findall(r'problem="(\w+)"', src))
    problems |= set(re.findall(r'_NextHost\(\s*[\w.]+,\s*"(\w+)"', src))
    problems |= {"local", "expired", "unknown"}  # set by the queue service and the DSN
    assert {"null_mx", "no_domain", "dns", "unreachable", "connection", "tls_required", "auth",
            "smtputf8"} <= problems
    for lang in ("vi", "en"):
        missing = {p for p in problems if f"dsn.reason.{p}" not in catalogue(lang)}
        assert not missing, (lang, missing)
