"""A small organisation with a real store, directory, pipeline and mail store, for the
document-extras tests (reminders, meetings): the Ministry's agency mailbox ``vanthu``
handled by Hằng (clerk) and Đức, and Tám, a person of the same ministry. Import
``org_fixture`` and ``mail_fixture`` into a test module to get the ``org`` and ``mail``
fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from govmail.config import Settings
from govmail.delivery.committer import GroupCommitter
from govmail.delivery.events import MailEvents
from govmail.delivery.mailstore import MailStore
from govmail.delivery.pipeline import Pipeline
from govmail.directory.service import Directory
from govmail.policy.identity import SenderIdentityCheck
from govmail.store.db import Store

VANTHU = "vanthu@mic.gov.vn"
HANG = "hangntm@mic.gov.vn"
DUC = "ductv@mic.gov.vn"
TAM = "tamlv@mic.gov.vn"


@dataclass
class Mail:
    store: Store
    directory: Directory
    pipeline: Pipeline
    mailstore: MailStore


@pytest.fixture(name="org")
async def org_fixture(store: Store, db_settings: Settings) -> Directory:
    d = Directory(store, db_settings)
    async with d.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code="000.00.00.G14",
            domain="mic.gov.vn",
        )
        await ops.add_mailbox(
            full_name="Văn thư Bộ", agency="000.00.00.G14", kind="agency", local_part="vanthu"
        )
        await ops.add_mailbox(full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14")
        await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14")
        await ops.add_mailbox(full_name="Lê Văn Tám", agency="000.00.00.G14")
        await ops.add_handler(VANTHU, HANG, is_clerk=True)
        await ops.add_handler(VANTHU, DUC)
    return d


@pytest.fixture(name="mail")
async def mail_fixture(org: Directory, store: Store, db_settings: Settings) -> AsyncIterator[Mail]:
    committer = GroupCommitter(store)
    await committer.start()
    events = MailEvents()
    pipeline = Pipeline(db_settings, org, committer, events, [SenderIdentityCheck(org)])
    try:
        yield Mail(store, org, pipeline, MailStore(store, committer, events, 10 * 1024 * 1024))
    finally:
        await pipeline.wait_background()
        await committer.stop()


async def inbox(store: Store, address: str, name: str = "INBOX") -> int:
    async with store.read() as tx:
        mb = await tx.directory.mailbox_by_address(address)
        assert mb is not None
        folder = await tx.mail.folder(mb.id, name)
        assert folder is not None
        return folder.id


async def append(mail: Mail, address: str, raw: bytes) -> int:
    async with mail.store.read() as tx:
        folder = await tx.mail.folder_by_id(await inbox(mail.store, address))
    assert folder is not None
    return (await mail.mailstore.append(folder, raw)).uid


async def stored_messages(mail: Mail, address: str, name: str = "INBOX") -> list[bytes]:
    async with mail.store.read() as tx:
        rows = await tx.mail.messages(await inbox(mail.store, address, name))
        shas = [await tx.mail.blob_sha_of(m) for m in rows]
    return [await mail.store.blobs.get(sha) for sha in shas]
