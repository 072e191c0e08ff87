"""A disk that fills up: the sender gets 452 4.3.1, nothing is half-written, and mail
flows again once there is room."""

from __future__ import annotations

import asyncio
import os
import smtplib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from govmail.app import App
from govmail.config import load_settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")


@pytest.fixture
async def small_disk_app(tmp_path: Path) -> AsyncIterator[tuple[App, Path]]:
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        ports = {
            k: 0
            for k in (
                "smtp_port",
                "submission_port",
                "submissions_port",
                "http_port",
                "imap_port",
                "imaps_port",
                "pop3_port",
                "pop3s_port",
            )
        }
        settings = load_settings(
            general={"data_dir": tmp_path / "data"}, listeners=ports, blobs={"path": mnt / "blobs"}
        )
        app = App(settings)
        await app.start()
        async with app.directory.ops() as ops:
            await ops.add_domain("mic.gov.vn")
            await ops.add_agency(
                name="Bộ TT&TT",
                short_name="BTTTT",
                kind="ministry",
                code="000.00.00.G14",
                domain="mic.gov.vn",
            )
            await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14")
        try:
            yield app, mnt
        finally:
            await app.stop()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def send(port: int, size: int) -> tuple[int, bytes]:
    msg = b"From: a@example.org\r\nTo: ductv@mic.gov.vn\r\nSubject: big\r\n\r\n" + (
        b"x" * 76 + b"\r\n"
    ) * (size // 78)
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("x.example")
        s.mail("a@example.org")
        s.rcpt("ductv@mic.gov.vn")
        return s.data(msg)


async def test_full_disk_answers_452_and_recovers(small_disk_app: tuple[App, Path]) -> None:
    app, mnt = small_disk_app
    port = app.service("smtp").port  # type: ignore[attr-defined]
    filler = mnt / "filler"
    filler.write_bytes(b"\0" * (900 * 1024))
    code, text = await asyncio.to_thread(send, port, 300_000)
    assert (code, text[:5]) == (452, b"4.3.1")
    async with app.store.read() as tx:
        m = await tx.directory.mailbox_by_address("ductv@mic.gov.vn")
        inbox = await tx.mail.folder(m.id, "INBOX")
        assert await tx.mail.message_count(inbox.id) == 0
    assert list((mnt / "blobs" / "tmp").iterdir()) == []  # no half-written file left
    filler.unlink()
    code, _ = await asyncio.to_thread(send, port, 300_000)
    assert code == 250
    async with app.store.read() as tx:
        (msg,) = await tx.mail.messages(inbox.id)
        app.store.blobs.get_sync(await tx.mail.blob_sha_of(msg))  # intact
