"""Fixtures and helpers shared by the operations tests (imported by the test modules)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from govmail.app import App
from govmail.config import Settings
from govmail.delivery.committer import GroupCommitter
from govmail.delivery.events import MailEvents
from govmail.delivery.mailstore import MailStore
from govmail.delivery.pipeline import Pipeline
from govmail.directory.service import Directory
from govmail.policy.base import PolicyCheck
from govmail.store.db import Store


def make_message(
    subject: str = "Báo cáo tuần",
    body: str = "Kính gửi anh chị, xin gửi báo cáo công tác tuần này.",
    *,
    sender: str = "nguoigui@example.org",
    to: str = "hangntm@mic.gov.vn",
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    date: datetime | None = None,
    message_id: bool = True,
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(date or datetime.now(UTC))
    if message_id:
        m["Message-ID"] = make_msgid(domain="example.org")
    if html is not None and not body:
        m.set_content(html, subtype="html")
    else:
        m.set_content(body)
        if html is not None:
            m.add_alternative(html, subtype="html")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


@pytest.fixture
async def sqlite_store(settings: Settings) -> AsyncIterator[Store]:
    s = Store(settings.database_url, settings.blob_dir)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def build_org(store: Store, settings: Settings) -> Directory:
    d = Directory(store, settings)
    async with d.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_domain("phuyen.gov.vn")
        await ops.add_agency(name="Bộ Thông tin và Truyền thông", short_name="BTTTT",
                             kind="ministry", code="000.00.00.G14", domain="mic.gov.vn")
        await ops.add_agency(name="Ủy ban nhân dân tỉnh Phú Yên", short_name="UBND",
                             kind="province", code="000.00.00.H45", domain="phuyen.gov.vn")
        await ops.add_mailbox(full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14",
                              password="mật khẩu của Hằng")
        await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14")
        await ops.add_mailbox(full_name="Lê Văn Tám", agency="000.00.00.H45")
    return d


@dataclass
class Rig:
    store: Store
    settings: Settings
    directory: Directory
    pipeline: Pipeline
    mailstore: MailStore


async def make_rig(
    store: Store, settings: Settings, checks: list[PolicyCheck], after: list | None = None
) -> AsyncIterator[Rig]:
    directory = await build_org(store, settings)
    committer = GroupCommitter(store)
    await committer.start()
    events = MailEvents()
    pipeline = Pipeline(settings, directory, committer, events, checks,
                        after_delivery=after or [])
    ms = MailStore(store, committer, events, settings.limits.max_message_size)
    try:
        yield Rig(store, settings, directory, pipeline, ms)
    finally:
        await pipeline.wait_background()
        await committer.stop()


async def folder_of(store: Store, address: str, name: str):  # type: ignore[no-untyped-def]
    async with store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
        assert m is not None
        f = await tx.mail.folder(m.id, name)
        assert f is not None
        return f


async def messages_in(store: Store, address: str, name: str) -> list:
    f = await folder_of(store, address, name)
    async with store.read() as tx:
        return list(await tx.mail.messages(f.id))


async def raw_of(store: Store, message) -> bytes:  # type: ignore[no-untyped-def]
    async with store.read() as tx:
        sha = await tx.mail.blob_sha_of(message)
    return store.blobs.get_sync(sha)


async def started_app(settings: Settings, password: str | None = None) -> App:
    """A running App, every listener on an ephemeral loopback port, holding the ministry
    and Nguyễn Thị Minh Hằng's mailbox."""
    for attr in ("smtp_port", "submission_port", "submissions_port", "http_port", "imap_port",
                 "imaps_port", "pop3_port", "pop3s_port"):
        setattr(settings.listeners, attr, 0)
    settings.general.hostname = "mail.mic.gov.vn"
    a = App(settings)
    await a.start()
    async with a.directory.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_agency(name="Bộ Thông tin và Truyền thông", short_name="BTTTT",
                             kind="ministry", code="000.00.00.G14", domain="mic.gov.vn")
        await ops.add_mailbox(full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14",
                              password=password)
    await a.pipeline.local_domains(refresh=True)
    return a
