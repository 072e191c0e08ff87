from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from govmail.config import Settings
from govmail.delivery.committer import GroupCommitter
from govmail.delivery.events import MailEvents
from govmail.delivery.pipeline import Pipeline
from govmail.directory.service import Directory
from govmail.policy.identity import SenderIdentityCheck
from govmail.store.db import Store


@pytest.fixture
async def org(store: Store, db_settings: Settings) -> Directory:
    """Two domains, a ministry unit and a province department, people and agency mailboxes."""
    d = Directory(store, db_settings)
    async with d.ops() as ops:
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
            full_name="Văn thư Bộ", agency="000.00.00.G14", kind="agency", local_part="vanthu"
        )
        await ops.add_mailbox(
            full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14", password="mật khẩu của Hằng"
        )
        await ops.add_mailbox(full_name="Trần Văn Đức", agency="000.00.00.G14")
        await ops.add_mailbox(full_name="Lê Văn Tám", agency="000.00.00.H45")
        await ops.add_handler("vanthu@mic.gov.vn", "hangntm@mic.gov.vn", is_clerk=True)
        await ops.add_group("lanhdao@mic.gov.vn", "Lãnh đạo")
        await ops.add_group_member("lanhdao@mic.gov.vn", "hangntm@mic.gov.vn")
        await ops.add_group_member("lanhdao@mic.gov.vn", "ductv@mic.gov.vn")
        await ops.add_group_member("lanhdao@mic.gov.vn", "someone@outside.example")
    return d


@pytest.fixture
async def pipeline(org: Directory, store: Store, db_settings: Settings) -> AsyncIterator[Pipeline]:
    committer = GroupCommitter(store)
    await committer.start()
    p = Pipeline(db_settings, org, committer, MailEvents(), [SenderIdentityCheck(org)])
    try:
        yield p
    finally:
        await committer.stop()
