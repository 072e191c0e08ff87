"""The fast ENVELOPE encoder against the protocol package's, on varied real messages."""

from __future__ import annotations

from tests.imap.conftest import message, with_attachment

from govmail.imap.messageview import envelope_of, fast_envelope
from govmail.imap.protocol.structure import encode_envelope
from govmail.mail.parsed import parse_message

ODD = [
    b"Subject: plain\r\n\r\nx",
    b'From: "A \\"quoted\\" name" <a@b.c>, b@c.d\r\nTo: group: x@y.z, w@v.u;\r\n'
    b'Cc: <>\r\nSubject: back\\slash "q"\r\n\r\n',
    b"From: =?utf-8?q?L=C3=AA?= <le@mic.gov.vn>\r\nSender: s@mic.gov.vn\r\n"
    b"Reply-To: r@mic.gov.vn\r\nSubject: " + b"x" * 1500 + b"\r\nIn-Reply-To: <a@b>\r\n\r\n",
    "Subject: Tiếng Việt 8-bit\r\nFrom: Đặng <d@mic.gov.vn>\r\n\r\n".encode(),
    b"Date: \r\nSubject:\r\nFrom: ,\r\n\r\n",
    b'Subject: tab\there and del\x7f\r\nFrom: "x\\\\y" <a@b.c>\r\n\r\n',
    b"",
]


def test_fast_envelope_matches_the_protocol_encoder() -> None:
    corpus = [*ODD, message(), with_attachment("Giấy mời", "a.pdf", b"%PDF")]
    for raw in corpus:
        env = parse_message(raw).to_dict()["envelope"]
        assert fast_envelope(env) == encode_envelope(envelope_of(env)), raw[:60]
