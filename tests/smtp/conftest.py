"""A running govmail (every listener on 127.0.0.1, ephemeral ports) with a small org."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import BinaryIO

import pytest

from govmail.app import App
from govmail.config import Settings

PASSWORD = "mat-khau-du-dai"  # smtplib sends ASCII only; Unicode passwords: tests/directory


@pytest.fixture
async def server(db_settings: Settings) -> AsyncIterator[App]:
    ls = db_settings.listeners
    for attr in (
        "smtp_port",
        "submission_port",
        "submissions_port",
        "http_port",
        "imap_port",
        "imaps_port",
        "pop3_port",
        "pop3s_port",
    ):
        setattr(ls, attr, 0)
    db_settings.general.hostname = "mail.mic.gov.vn"
    app = App(db_settings)
    await app.start()
    async with app.directory.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_domain("phuyen.gov.vn")
        await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code="000.00.00.G14",
            domain="mic.gov.vn",
        )
        await ops.add_agency(
            name="Ủy ban nhân dân tỉnh Phú Yên",
            short_name="UBND",
            kind="province",
            code="000.00.00.H45",
            domain="phuyen.gov.vn",
        )
        await ops.add_mailbox(
            full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14", password=PASSWORD
        )
        await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14", password=PASSWORD)
        await ops.add_mailbox(full_name="Lê Văn Tám", agency="000.00.00.H45", password=PASSWORD)
        await ops.add_mailbox(
            full_name="Văn thư Bộ", agency="000.00.00.G14", kind="agency", local_part="vanthu"
        )
        await ops.add_handler("vanthu@mic.gov.vn", "hangntm@mic.gov.vn")
    await app.pipeline.local_domains(refresh=True)
    try:
        yield app
    finally:
        await app.stop()


def port(app: App, name: str) -> int:
    return app.service(name).port  # type: ignore[attr-defined,no-any-return]


def start_data(port: int, rcpt: str) -> tuple[socket.socket, BinaryIO, bytes]:
    """A plain-socket SMTP session up to DATA (EHLO, MAIL, RCPT, DATA, each waiting for
    its reply): the socket, its reader, and DATA's reply line."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = c.makefile("rb")
    f.readline()
    for cmd in (b"EHLO x", b"MAIL FROM:<a@example.org>", b"RCPT TO:<" + rcpt.encode() + b">"):
        c.sendall(cmd + b"\r\n")
        while f.readline()[3:4] == b"-":
            pass
    c.sendall(b"DATA\r\n")
    return c, f, f.readline()
