"""Faults and mail bombs at the MX door of a running App, with Python's smtplib as the
sending server: a dead clamd and a dead rspamd (451 when policy says temporary failure,
accepted and tagged "unscanned" when it says tag — never a silent pass), a deeply nested
MIME message and a zip bomb (refused with their own codes, the session still usable),
and through all of it the mail stored before stays exactly as it was."""

from __future__ import annotations

import asyncio
import smtplib
import zipfile
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest

from govmail.app import App
from govmail.config import Settings
from tests.ops.support import make_message, started_app
from tests.policy.test_attachments import nested_mime
from tests.support.ports import free_port

HANG = "hangntm@mic.gov.vn"


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[App]:
    settings.antivirus.enabled = True
    settings.antivirus.clamd_socket = str(tmp_path / "nobody-listens.sock")
    settings.antivirus.timeout_seconds = 2
    settings.antivirus.on_failure = "tag"
    settings.spam.engine = "rspamd"
    settings.spam.rspamd_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.spam.timeout_seconds = 2
    settings.spam.on_failure = "tag"
    a = await started_app(settings)
    try:
        yield a
    finally:
        await a.pipeline.wait_background()
        await a.stop()


def send(app: App, raw: bytes) -> tuple[int, bytes]:
    """One MX transaction with smtplib; the reply to DATA (or the refusal)."""
    port = app.service("smtp").port  # type: ignore[attr-defined]
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("mail.example.org")
        try:
            c.sendmail("nguoigui@example.org", [HANG], raw)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code, exc.smtp_error
        # The session goes on after a refusal, and after a success.
        assert c.noop()[0] == 250
    return 250, b""


async def inbox(app: App) -> list[tuple[int, bytes]]:
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(HANG)
        assert mb is not None
        folder = await tx.mail.folder(mb.id, "INBOX")
        assert folder is not None
        return [(m.uid, app.store.blobs.get_sync(await tx.mail.blob_sha_of(m)))
                for m in await tx.mail.messages(folder.id)]


def zip_bomb() -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(4):
            z.writestr(f"bao-cao-{i}.txt", b"\0" * (4 * 1024 * 1024))
    return buf.getvalue()


async def test_dead_scanners_and_mail_bombs_at_the_mx_door(app: App) -> None:
    code, _ = await asyncio.to_thread(send, app, make_message("Trước sự cố", "Thư đầu"))
    assert code == 250
    [(first_uid, first_raw)] = await inbox(app)
    # Both scanners were down and policy says "tag": accepted, and says it was not scanned.
    assert b"X-Virus-Status: unscanned" in first_raw
    assert b"X-Spam-Status: unscanned" in first_raw

    av, spam = app.settings.antivirus, app.settings.spam
    av.on_failure = "tempfail"
    code, text = await asyncio.to_thread(send, app, make_message("Khi clamd chết"))
    assert code == 451 and text.startswith(b"4."), text
    av.on_failure = "tag"
    spam.on_failure = "tempfail"
    code, text = await asyncio.to_thread(send, app, make_message("Khi rspamd chết"))
    assert code == 451 and text.startswith(b"4."), text
    spam.on_failure = "tag"

    code, text = await asyncio.to_thread(send, app, nested_mime(40))
    assert code == 550 and text.startswith(b"5.6.0") and b"MIME" in text, text
    code, text = await asyncio.to_thread(send, app, nested_mime(3000))
    assert code == 550, text
    bomb = make_message("Hồ sơ", "Xem tệp đính kèm.",
                        attachments=[("ho-so.zip", zip_bomb(), "application/zip")])
    code, text = await asyncio.to_thread(send, app, bomb)
    assert code == 552 and text.startswith(b"5.3.4"), text

    code, _ = await asyncio.to_thread(send, app, make_message("Sau sự cố", "After the fault"))
    assert code == 250
    after = await inbox(app)
    assert [uid for uid, _raw in after] == [first_uid, first_uid + 1]
    assert after[0] == (first_uid, first_raw)  # what was stored before is untouched
    assert b"After the fault" in after[1][1] and b"X-Virus-Status: unscanned" in after[1][1]

    port = app.service("http").port  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as c:
        metrics = (await c.get(f"http://127.0.0.1:{port}/metrics")).text
    assert 'govmail_filter_results_total{filter="virus",outcome="unscanned"}' in metrics
    assert 'govmail_messages_total{outcome="tempfail",reason="antivirus",source="mx"} 1.0' in (
        metrics)
    assert 'govmail_messages_total{outcome="tempfail",reason="spam",source="mx"} 1.0' in metrics
