"""A running govmail (every listener on 127.0.0.1, ephemeral ports) with a small org, and
helpers to fill a mailbox and to talk POP3 with poplib."""

from __future__ import annotations

import asyncio
import poplib
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from govmail.app import App
from govmail.config import Settings

PASSWORD = "mat-khau-du-dai"
USER = "hangntm@mic.gov.vn"
OTHER = "ductv@mic.gov.vn"
T = TypeVar("T")


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
        await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code="000.00.00.G14",
            domain="mic.gov.vn",
        )
        await ops.add_mailbox(
            full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14", password=PASSWORD
        )
        await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14", password=PASSWORD)
    try:
        yield app
    finally:
        await app.stop()


def port(app: App, name: str) -> int:
    return app.service(name).port  # type: ignore[attr-defined,no-any-return]


def tls_client() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def put(app: App, raw: bytes, address: str = USER, flags: tuple[str, ...] = ()) -> int:
    """Store ``raw`` exactly as given in the mailbox's INBOX; returns its UID."""
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(address)
        assert mb is not None
        folder = await tx.mail.folder(mb.id, "INBOX")
        assert folder is not None
    return (await app.mailstore.append(folder, raw, flags)).uid


async def inbox(app: App, address: str = USER) -> list[Any]:
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(address)
        assert mb is not None
        folder = await tx.mail.folder(mb.id, "INBOX")
        assert folder is not None
        return list(await tx.mail.messages(folder.id))


async def uidvalidity(app: App, address: str = USER) -> int:
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address(address)
        assert mb is not None
        folder = await tx.mail.folder(mb.id, "INBOX")
        assert folder is not None
        return int(folder.uidvalidity)


def run(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    return asyncio.ensure_future(asyncio.to_thread(fn, *args))


def pop_plain(app: App) -> poplib.POP3:
    return poplib.POP3("127.0.0.1", port(app, "pop3"), timeout=10)


def pop_tls(app: App) -> poplib.POP3_SSL:
    return poplib.POP3_SSL("127.0.0.1", port(app, "pop3s"), timeout=10, context=tls_client())


def login(app: App, user: str = USER, password: str = PASSWORD) -> poplib.POP3_SSL:
    pop = pop_tls(app)
    pop.user(user)
    pop.pass_(password)
    return pop
