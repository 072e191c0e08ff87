"""Mailbox lifecycle on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govmail.directory.base import Actor
from govmail.directory.errors import DirectoryError
from govmail.directory.service import Directory
from govmail.store.models import utcnow

ADMIN = Actor("admin@mic.gov.vn", "cli")


async def test_create_generates_address_and_folders(directory: Directory) -> None:
    async with directory.ops(ADMIN) as ops:
        m = await ops.add_mailbox(
            full_name="Nguyễn Thị Minh Hằng",
            agency="000.01.00.G14",
            position="Chuyên viên",
            staff_id="BT-1",
        )
    assert m.address == "hangntm@mic.gov.vn"
    async with directory.reader() as ops:
        folders = {f.name: f.special_use for f in await ops.tx.mail.folders_of(m.id)}
        log = await ops.tx.audit.search(object_id="hangntm@mic.gov.vn")
    assert folders == {
        "INBOX": None,
        "Sent": "\\Sent",
        "Drafts": "\\Drafts",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
        "Archive": "\\Archive",
    }
    assert [e.action for e in log] == ["mailbox.add"] and log[0].actor == "admin@mic.gov.vn"
    assert "password_hash" not in (log[0].after or {})


async def test_collisions_and_domain_template(directory: Directory) -> None:
    async with directory.ops() as ops:
        a = await ops.add_mailbox(full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14")
        b = await ops.add_mailbox(full_name="Ngô Thanh Mai Hằng", agency="000.00.00.G14")
        c = await ops.add_mailbox(full_name="Nguyễn Thị Minh Hằng", agency="000.00.00.G14")
        d = await ops.add_mailbox(full_name="Đặng Thị Minh Hằng", agency="000.01.00.H45")
    assert (a.address, b.address, c.address) == (
        "hangntm@mic.gov.vn",
        "hangntm2@mic.gov.vn",
        "hangntm3@mic.gov.vn",
    )
    assert d.address == "hang.dtm@phuyen.gov.vn"


async def test_reserved_and_duplicate_addresses_are_refused(directory: Directory) -> None:
    with pytest.raises(DirectoryError) as exc:
        async with directory.ops() as ops:
            await ops.add_mailbox(full_name="Văn Thư", agency="000.00.00.G14", local_part="vanthu")
    assert exc.value.key == "address.reserved"
    async with directory.ops() as ops:
        await ops.add_mailbox(full_name="Trần Văn An", agency="000.00.00.G14", local_part="an.tv")
    with pytest.raises(DirectoryError) as exc:
        async with directory.ops() as ops:
            await ops.add_mailbox(
                full_name="Trần Văn An", agency="000.00.00.G14", local_part="an.tv"
            )
    assert exc.value.key == "address.taken"
    assert "an.tv@mic.gov.vn" in str(exc.value)


async def test_bad_input_leaves_store_unchanged(directory: Directory) -> None:
    async with directory.reader() as ops:
        before = await ops.repo.count_mailboxes()
    cases = [
        dict(full_name="Lê Văn Bình", agency="000.00.00.G99"),  # unknown unit
        dict(full_name="!!!", agency="000.00.00.G14"),  # folds to nothing
        dict(full_name="Lê Văn Bình", agency="000.00.00.G14", domain="gmail.com"),
        dict(full_name="Lê Văn Bình", agency="000.00.00.G14", local_part="lê"),
        dict(full_name="Lê Văn Bình", agency="000.00.00.G14", password="short"),
    ]
    keys = []
    for kwargs in cases:
        with pytest.raises(DirectoryError) as exc:
            async with directory.ops() as ops:
                await ops.add_mailbox(**kwargs)
        keys.append(exc.value.key)
    assert keys == [
        "agency.not_found",
        "name.folds_to_nothing",
        "domain.not_found",
        "address.invalid_local_part",
        "password.too_short",
    ]
    async with directory.reader() as ops:
        assert await ops.repo.count_mailboxes() == before
        assert await ops.tx.audit.search(action="mailbox.add") == []


async def test_transfer_within_domain_keeps_address(directory: Directory) -> None:
    async with directory.ops() as ops:
        m = await ops.add_mailbox(full_name="Phạm Văn Đông", agency="000.00.00.G14")
    async with directory.ops() as ops:
        t = await ops.transfer(m.address, "000.01.00.G14", position="Phó Cục trưởng")
    assert t.address == "dongpv@mic.gov.vn"
    async with directory.reader() as ops:
        unit = await ops.agency("000.01.00.G14")
        assert t.agency_id == unit.id
        assert await ops.repo.aliases_of(t.id) == []


async def test_transfer_to_other_domain_keeps_mail_and_old_address_as_alias(
    directory: Directory,
) -> None:
    async with directory.ops() as ops:
        m = await ops.add_mailbox(full_name="Võ Thị Ngọc Ánh", agency="000.01.00.G14")
        inbox = await ops.tx.mail.folder(m.id, "INBOX")
        blob_id = await ops.tx.mail.add_blob_refs("a" * 64, 10, 1)
        from govmail.store.repos.mail import NewMessage

        await ops.tx.mail.append(
            NewMessage(
                folder_id=inbox.id, blob_id=blob_id, size=10, internal_date=utcnow(), meta={}
            )
        )
    async with directory.ops() as ops:
        t = await ops.transfer("anhvtn@mic.gov.vn", "000.01.00.H45")
    assert t.address == "anh.vtn@phuyen.gov.vn"
    async with directory.reader() as ops:
        alias = await ops.repo.alias_by_address("anhvtn@mic.gov.vn")
        assert alias is not None and alias.mailbox_id == t.id
        assert alias.expires_at is not None
        assert timedelta(days=179) < alias.expires_at - utcnow() <= timedelta(days=180)
        inbox = await ops.tx.mail.folder(t.id, "INBOX")
        assert await ops.tx.mail.message_count(inbox.id) == 1
        log = await ops.tx.audit.search(action="mailbox.transfer")
        assert log[0].before["address"] == "anhvtn@mic.gov.vn"
        assert log[0].after["address"] == "anh.vtn@phuyen.gov.vn"
    with pytest.raises(DirectoryError) as exc:
        async with directory.ops() as ops:
            await ops.transfer(t.address, "000.09.00.H45")
    assert exc.value.key == "agency.not_found"


async def test_suspend_archive_purge(directory: Directory) -> None:
    async with directory.ops() as ops:
        m = await ops.add_mailbox(
            full_name="Bùi Đức Thắng", agency="000.00.00.G14", password="mật-khẩu-đủ-dài"
        )
    async with directory.reader() as ops:
        assert await ops.authenticate(m.address, "mật-khẩu-đủ-dài") is not None
        assert await ops.authenticate(m.address, "sai") is None
    async with directory.ops() as ops:
        await ops.suspend(m.address)
    async with directory.reader() as ops:
        assert await ops.authenticate(m.address, "mật-khẩu-đủ-dài") is None
    async with directory.ops() as ops:
        await ops.reactivate(m.address)
        a = await ops.archive(m.address)
    assert a.status == "archived" and a.delete_after is not None
    async with directory.reader() as ops:
        assert await ops.authenticate(m.address, "mật-khẩu-đủ-dài") is None
    # The address is not reused while the archived mailbox is retained.
    async with directory.ops() as ops:
        again = await ops.add_mailbox(full_name="Bùi Đức Thắng", agency="000.00.00.G14")
    assert again.address == "thangbd2@mic.gov.vn"
    async with directory.ops() as ops:
        assert await ops.purge_due() == []
        assert await ops.purge_due(utcnow() + timedelta(days=1826)) == ["thangbd@mic.gov.vn"]
    async with directory.reader() as ops:
        assert await ops.repo.mailbox_by_address("thangbd@mic.gov.vn") is None
        assert [e.action for e in await ops.tx.audit.search(object_id="thangbd@mic.gov.vn")] == [
            "mailbox.delete",
            "mailbox.archive",
            "mailbox.reactivate",
            "mailbox.suspend",
            "mailbox.add",
        ]


async def test_groups_static_and_dynamic(directory: Directory) -> None:
    async with directory.ops() as ops:
        await ops.add_mailbox(
            full_name="Sở TT&TT Phú Yên", agency="000.01.00.H45", kind="agency", local_part="stttt"
        )
        await ops.add_mailbox(
            full_name="UBND tỉnh Phú Yên",
            agency="000.00.00.H45",
            kind="agency",
            local_part="vanthu",
        )
        p = await ops.add_mailbox(full_name="Lý Thị Hoa", agency="000.01.00.H45")
        await ops.add_group("all-provinces@mic.gov.vn", "Các tỉnh", rule={"kinds": ["province"]})
        await ops.add_group(
            "depts-py@phuyen.gov.vn",
            "Các sở Phú Yên",
            rule={"kinds": ["department"], "under": "000.00.00.H45"},
        )
        await ops.add_group("team@mic.gov.vn", "Nhóm")
        await ops.add_group_member("team@mic.gov.vn", p.address)
        await ops.add_group_member("team@mic.gov.vn", "someone@other.gov.vn")
    async with directory.reader() as ops:
        assert await ops.expand_group("all-provinces@mic.gov.vn") == ["vanthu@phuyen.gov.vn"]
        assert await ops.expand_group("depts-py@phuyen.gov.vn") == ["stttt@phuyen.gov.vn"]
        assert await ops.expand_group("team@mic.gov.vn") == [p.address, "someone@other.gov.vn"]
    with pytest.raises(DirectoryError) as exc:
        async with directory.ops() as ops:
            await ops.add_group_member("all-provinces@mic.gov.vn", p.address)
    assert exc.value.key == "group.is_dynamic"
    async with directory.ops() as ops:
        await ops.archive(p.address)
    async with directory.reader() as ops:
        assert await ops.expand_group("team@mic.gov.vn") == ["someone@other.gov.vn"]


async def test_agency_mailbox_handlers_and_send_as(directory: Directory) -> None:
    async with directory.ops() as ops:
        agency_mb = await ops.add_mailbox(
            full_name="Văn thư Bộ", agency="000.00.00.G14", kind="agency", local_part="vanthu"
        )
        clerk = await ops.add_mailbox(full_name="Đỗ Thị Lan", agency="000.00.00.G14")
        other = await ops.add_mailbox(full_name="Hồ Văn Nam", agency="000.00.00.G14")
        await ops.add_handler(agency_mb.address, clerk.address, is_clerk=True)
        assert await ops.may_send_as(clerk, "vanthu@mic.gov.vn")
        assert not await ops.may_send_as(other, "vanthu@mic.gov.vn")
        assert not await ops.may_send_as(other, clerk.address)
        with pytest.raises(DirectoryError):
            await ops.add_handler(clerk.address, other.address)
        handlers = await ops.repo.handlers_of(agency_mb.id)
        assert [m.address for _h, m in handlers] == [clerk.address]


async def test_agency_tree_move_and_codes(directory: Directory) -> None:
    async with directory.ops() as ops:
        with pytest.raises(DirectoryError) as exc:
            await ops.add_agency(
                name="X", short_name="X", kind="unit", code="bad code", parent="000.00.00.G14"
            )
        assert exc.value.key == "agency.bad_code"
        with pytest.raises(DirectoryError) as exc:
            await ops.move_agency("000.00.00.H45", "000.01.00.H45")
        assert exc.value.key == "agency.cycle"
        moved = await ops.move_agency("000.01.00.H45", "000.00.00.G14")
        ministry = await ops.agency("000.00.00.G14")
        assert moved.path.startswith(ministry.path)
