"""Real SMTP clients (swaks, msmtp) against the running server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.smtp.conftest import PASSWORD, port

from govmail.app import App

pytestmark = pytest.mark.skipif(
    not (shutil.which("swaks") and shutil.which("msmtp")),
    reason="swaks and msmtp are installed by scripts/install-test-deps",
)


async def count(app: App, address: str, folder: str = "INBOX") -> int:
    async with app.store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
        f = await tx.mail.folder(m.id, folder)
        return await tx.mail.message_count(f.id)


def sh(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=60)


async def test_swaks_to_mx_and_submission(server: App) -> None:
    p = await asyncio.to_thread(
        sh, "swaks", "--server", "127.0.0.1", "--port", str(port(server, "smtp")),
        "--from", "citizen@example.org", "--to", "hangntm@mic.gov.vn", "--tls",
        "--header", "Subject: =?UTF-8?B?xJDGoW4gxJHhu4Egbmdo4buL?=", "--body", "Xin chào",
    )
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert b"250 2.0.0 OK queued as" in p.stdout
    p = await asyncio.to_thread(
        sh, "swaks", "--server", "127.0.0.1", "--port", str(port(server, "smtp")),
        "--from", "citizen@example.org", "--to", "nobody@mic.gov.vn",
    )
    assert p.returncode != 0 and b"550 5.1.1" in p.stdout
    p = await asyncio.to_thread(
        sh, "swaks", "--server", "127.0.0.1", "--port", str(port(server, "submission")),
        "--from", "hangntm@mic.gov.vn", "--to", "tamlv@phuyen.gov.vn", "--tls",
        "--auth", "PLAIN", "--auth-user", "hangntm@mic.gov.vn", "--auth-password", PASSWORD,
        "--header", "From: <hangntm@mic.gov.vn>",
    )
    assert p.returncode == 0, p.stdout.decode()
    p = await asyncio.to_thread(
        sh, "swaks", "--server", "127.0.0.1", "--port", str(port(server, "submissions")),
        "--tls-on-connect", "--from", "hangntm@mic.gov.vn", "--to", "ductv@mic.gov.vn",
        "--auth", "LOGIN", "--auth-user", "hangntm@mic.gov.vn", "--auth-password", PASSWORD,
        "--header", "From: <hangntm@mic.gov.vn>",
    )
    assert p.returncode == 0, p.stdout.decode()
    assert await count(server, "hangntm@mic.gov.vn") == 1
    assert await count(server, "tamlv@phuyen.gov.vn") == 1
    assert await count(server, "ductv@mic.gov.vn") == 1
    assert await count(server, "hangntm@mic.gov.vn", "Sent") == 2


async def test_msmtp_submission_with_attachment(server: App, tmp_path: Path) -> None:
    cfg = tmp_path / "msmtprc"
    cfg.write_text(
        "defaults\nauth on\ntls on\ntls_certcheck off\n"
        f"account gov\nhost 127.0.0.1\nport {port(server, 'submission')}\n"
        "tls_starttls on\nfrom hangntm@mic.gov.vn\nuser hangntm@mic.gov.vn\n"
        f"password {PASSWORD}\naccount default : gov\n"
    )
    cfg.chmod(0o600)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    import base64

    msg = (
        "From: Nguyễn Thị Minh Hằng <hangntm@mic.gov.vn>\r\nTo: tamlv@phuyen.gov.vn\r\n"
        "Subject: =?UTF-8?B?QsOhbyBjw6FvIHF1w70gSUlJ?=\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGửi kèm báo cáo.\r\n"
        "--b1\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''B%C3%A1o%20c%C3%A1o.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(pdf).replace(b"\n", b"\r\n") + b"--b1--\r\n"
    p = await asyncio.to_thread(sh, "msmtp", "-C", str(cfg), "tamlv@phuyen.gov.vn", stdin=msg)
    assert p.returncode == 0, p.stderr.decode()
    async with server.store.read() as tx:
        m = await tx.directory.mailbox_by_address("tamlv@phuyen.gov.vn")
        f = await tx.mail.folder(m.id, "INBOX")
        (stored,) = await tx.mail.messages(f.id)
        raw = server.store.blobs.get_sync(await tx.mail.blob_sha_of(stored))
    assert stored.has_attachments and stored.subject == "Báo cáo quý III"
    assert raw.endswith(msg)
    assert stored.meta["attachments"][0]["filename"] == "Báo cáo.pdf"
