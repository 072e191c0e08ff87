"""SMTP doors over real sockets with Python's smtplib."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import ssl

import pytest
from tests.smtp.conftest import PASSWORD, port, start_data

from govmail.app import App

MSG = (
    "From: <sender@example.org>\r\nTo: <hangntm@mic.gov.vn>\r\n"
    "Subject: =?UTF-8?B?VGjGsCBt4budaSBo4buNcA==?=\r\nMessage-ID: <m1@example.org>\r\n"
    "\r\nNội dung thư.\r\n"
).encode()


def tls_client() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def inbox(app: App, address: str, folder: str = "INBOX") -> list:
    async with app.store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
        f = await tx.mail.folder(m.id, folder)
        return list(await tx.mail.messages(f.id))


def run(fn, *args):  # type: ignore[no-untyped-def]
    return asyncio.to_thread(fn, *args)


async def test_mx_ehlo_and_delivery(server: App) -> None:
    def go() -> tuple[dict[str, str], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port(server, "smtp"), timeout=10) as s:
            s.ehlo("mail.example.org")
            feats = dict(s.esmtp_features)
            s.starttls(context=tls_client())
            s.ehlo("mail.example.org")
            assert "auth" not in s.esmtp_features  # no passwords on the MX
            s.mail("sender@example.org", ["SMTPUTF8", "BODY=8BITMIME"])
            s.rcpt("hangntm@mic.gov.vn")
            return feats, s.data(MSG)

    feats, (code, text) = await run(go)
    for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes", "starttls"):
        assert ext in feats, ext
    assert code == 250 and text.startswith(b"2.0.0 OK queued as")
    msgs = await inbox(server, "hangntm@mic.gov.vn")
    assert len(msgs) == 1 and msgs[0].subject == "Thư mời họp"
    raw = server.store.blobs.get_sync(await _sha(server, msgs[0]))
    assert b"with ESMTPS" in raw.split(b"\r\n\r\n")[0] and raw.endswith(MSG)


async def _sha(app: App, msg) -> str:  # type: ignore[no-untyped-def]
    async with app.store.read() as tx:
        return await tx.mail.blob_sha_of(msg)


async def test_mx_refusals(server: App) -> None:
    server.settings.limits.max_recipients = 3

    def go() -> list[tuple[int, bytes]]:
        out = []
        with smtplib.SMTP("127.0.0.1", port(server, "smtp"), timeout=10) as s:
            s.ehlo("x.example")
            out.append(s.docmd("MAIL FROM:<a@example.org>"))
            out.append(s.docmd("RCPT TO:<nobody@mic.gov.vn>"))
            out.append(s.docmd("RCPT TO:<victim@gmail.com>"))
            out.append(s.docmd("RCPT TO:<hangntm@mic.gov.vn>"))
            out.append(s.docmd("RCPT TO:<ductv@mic.gov.vn>"))
            out.append(s.docmd("RCPT TO:<tamlv@phuyen.gov.vn>"))
            out.append(s.docmd("RCPT TO:<hangntm@mic.gov.vn>"))  # 4th: too many
            out.append(s.docmd("BOGUS"))
            out.append(s.docmd("MAIL FROM:<b@example.org>"))  # nested MAIL
            out.append(s.docmd("RSET"))
            out.append(s.docmd("DATA"))  # out of sequence
            out.append(s.docmd("MAIL FROM:<a@example.org> SIZE=999999999999"))
            out.append(s.docmd("RCPT TO:<hangntm@mic.gov.vn>"))  # no MAIL
            out.append(s.docmd("MAIL FROM:<>"))
            out.append(s.docmd("AUTH PLAIN " + base64.b64encode(b"\0a\0b").decode()))
        return out

    r = await run(go)
    codes = [c for c, _ in r]
    assert codes == [250, 550, 554, 250, 250, 250, 452, 500, 503, 250, 503, 552, 503, 250, 502]
    assert r[1][1].startswith(b"5.1.1") and b"nobody@mic.gov.vn" in r[1][1]
    assert r[2][1].startswith(b"5.7.1")
    assert r[6][1].startswith(b"4.5.3")
    assert r[7][1].startswith(b"5.5.2")
    assert r[11][1].startswith(b"5.3.4")


async def test_size_limit_and_disconnect_mid_data(server: App) -> None:
    server.settings.limits.max_message_size = 4096

    def too_big() -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port(server, "smtp"), timeout=10) as s:
            s.ehlo("x.example")
            s.mail("a@example.org")
            s.rcpt("hangntm@mic.gov.vn")
            return s.data(MSG + b"y" * 10000)

    code, text = await run(too_big)
    assert code == 552 and text.startswith(b"5.3.4")

    def cut() -> None:
        c, _reader, _reply = start_data(port(server, "smtp"), "hangntm@mic.gov.vn")
        with c:
            c.sendall(MSG[:40])

    await run(cut)
    await asyncio.sleep(0.3)
    assert await inbox(server, "hangntm@mic.gov.vn") == []


@pytest.mark.parametrize("smuggle", [b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\n.\n"])
async def test_smtp_smuggling_never_ends_data_early(server: App, smuggle: bytes) -> None:
    hidden = (
        b"MAIL FROM:<ceo@mic.gov.vn>\r\nRCPT TO:<ductv@mic.gov.vn>\r\nDATA\r\n"
        b"From: ceo@mic.gov.vn\r\n\r\nsmuggled\r\n"
    )
    data = MSG.rstrip(b"\r\n") + smuggle + hidden + b"\r\n.\r\n"

    def go() -> list[bytes]:
        replies = []
        c, f, _ = start_data(port(server, "smtp"), "hangntm@mic.gov.vn")
        with c:
            c.sendall(data + b"QUIT\r\n")
            while line := f.readline():
                replies.append(line)
        return replies

    replies = await run(go)
    assert replies[0].startswith(b"250 2.0.0 OK queued")  # exactly one message
    assert replies[1].startswith(b"221")
    assert await inbox(server, "ductv@mic.gov.vn") == []
    msgs = await inbox(server, "hangntm@mic.gov.vn")
    assert len(msgs) == 1
    raw = server.store.blobs.get_sync(await _sha(server, msgs[0]))
    body = raw.split(b"\r\n\r\n", 1)[1]
    # The would-be second transaction is kept as content of the one message, CRLF-normalised
    # (a line starting with "." loses that dot: RFC 5321 transparency).
    assert b"MAIL FROM:<ceo@mic.gov.vn>\r\nRCPT TO:<ductv@mic.gov.vn>" in body
    assert b"smuggled" in body
    assert b"\n" not in body.replace(b"\r\n", b"") and b"\r" not in body.replace(b"\r\n", b"")


async def test_submission_auth_tls_identity_and_sent_copy(server: App) -> None:
    server.settings.listeners.allow_plaintext_auth_on_loopback = False

    def go() -> list[object]:
        out: list[object] = []
        with smtplib.SMTP("127.0.0.1", port(server, "submission"), timeout=10) as s:
            s.ehlo("pc.mic.gov.vn")
            out.append("auth" in s.esmtp_features)  # not before TLS
            out.append(
                s.docmd(
                    "AUTH PLAIN "
                    + base64.b64encode(b"\0hangntm@mic.gov.vn\0" + PASSWORD.encode()).decode()
                )
            )
            out.append(s.docmd("MAIL FROM:<hangntm@mic.gov.vn>"))  # not authenticated
            s.starttls(context=tls_client())
            s.ehlo("pc.mic.gov.vn")
            out.append(s.esmtp_features.get("auth"))
            try:
                s.login("hangntm@mic.gov.vn", "wrong-password")
            except smtplib.SMTPAuthenticationError as exc:
                out.append(exc.smtp_code)
            s.login("hangntm@mic.gov.vn", PASSWORD)
            out.append(s.docmd("MAIL FROM:<ductv@mic.gov.vn>"))  # someone else's address
            s.rset()
            msg = MSG.replace(b"<sender@example.org>", b"<hangntm@mic.gov.vn>").replace(
                b"To: <hangntm@mic.gov.vn>", b"To: <tamlv@phuyen.gov.vn>"
            )
            out.append(s.sendmail("hangntm@mic.gov.vn", ["tamlv@phuyen.gov.vn"], msg))
            agency = msg.replace(b"From: <hangntm@", b"From: <vanthu@")
            out.append(s.sendmail("vanthu@mic.gov.vn", ["tamlv@phuyen.gov.vn"], agency))
        return out

    out = await run(go)
    assert out[0] is False
    assert out[1][0] == 538  # type: ignore[index]
    assert out[2][0] == 530  # type: ignore[index]
    assert str(out[3]).split() == ["LOGIN", "PLAIN"]
    assert out[4] == 535
    assert out[5][0] == 553 and b"ductv@mic.gov.vn" in out[5][1]  # type: ignore[index]
    assert out[6] == {} and out[7] == {}
    assert len(await inbox(server, "tamlv@phuyen.gov.vn")) == 2
    sent = await inbox(server, "hangntm@mic.gov.vn", "Sent")
    assert len(sent) == 2 and all(m.seen for m in sent)


async def test_implicit_tls_submission_and_login_lockout(server: App) -> None:
    server.settings.auth.max_failures_per_account = 3

    def go() -> list[int]:
        codes = []
        with smtplib.SMTP_SSL(
            "127.0.0.1", port(server, "submissions"), timeout=20, context=tls_client()
        ) as s:
            s.ehlo("pc")
            for _ in range(4):
                code, _msg = s.docmd(
                    "AUTH PLAIN " + base64.b64encode(b"\0ductv@mic.gov.vn\0wrong-password").decode()
                )
                codes.append(code)
            code, _msg = s.docmd(
                "AUTH PLAIN "
                + base64.b64encode(b"\0ductv@mic.gov.vn\0" + PASSWORD.encode()).decode()
            )
            codes.append(code)
        return codes

    from govmail.directory.login_guard import LoginGuard

    server.guard.__init__(server.settings.auth)  # type: ignore[misc]
    assert isinstance(server.guard, LoginGuard)
    codes = await run(go)
    assert codes == [535, 535, 535, 454, 454]  # locked even with the right password
    assert any(lock.key == "ductv@mic.gov.vn" for lock in server.guard.locks())
