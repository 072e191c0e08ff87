"""The archive journal: every message sent or received by the chosen agencies, hash-chained;
a deleted, changed or truncated journal is detected; retention and legal holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.ops.archive import ArchiveJournal
from govmail.store.db import Store
from govmail.store.models import Blob, utcnow
from govmail.store.models_ops import ArchiveEntry
from govmail.store.repos.ops import OpsRepo
from tests.ops import support
from tests.ops.support import make_message, make_rig

sqlite_store = support.sqlite_store  # fixture


async def entries(store: Store) -> list[ArchiveEntry]:
    async with store.read() as tx:
        return list(await OpsRepo(tx.session, store.dialect).archive_entries(0, 1000))


@pytest.fixture
async def journal_rig(sqlite_store: Store, settings: Settings):  # type: ignore[no-untyped-def]
    settings.archive.agencies = ["000.00.00.G14"]  # the ministry, not Phú Yên
    journal = ArchiveJournal(sqlite_store, settings.archive)
    async for r in make_rig(sqlite_store, settings, [], after=[journal]):
        yield r, journal


async def test_mail_of_chosen_agencies_is_journalled_and_verifies(journal_rig) -> None:  # type: ignore[no-untyped-def]
    r, journal = journal_rig
    inbound = Envelope("ai.do@example.org", ["hangntm@mic.gov.vn", "tamlv@phuyen.gov.vn"], "mx",
                       client_ip="192.0.2.3")
    await r.pipeline.deliver(inbound, make_message(to="hangntm@mic.gov.vn"))
    out = Envelope("hangntm@mic.gov.vn", ["ductv@mic.gov.vn", "x@example.org"], "submission",
                   auth_user="hangntm@mic.gov.vn")
    await r.pipeline.deliver(out, make_message(sender="hangntm@mic.gov.vn", to="ductv@mic.gov.vn"))
    only_phuyen = Envelope("a@example.org", ["tamlv@phuyen.gov.vn"], "mx", client_ip="192.0.2.3")
    await r.pipeline.deliver(only_phuyen, make_message(to="tamlv@phuyen.gov.vn"))
    await r.pipeline.wait_background()
    got = [(e.seq, e.direction, e.mailbox_address, e.agency_code) for e in await entries(r.store)]
    assert got == [
        (1, "in", "hangntm@mic.gov.vn", "000.00.00.G14"),
        (2, "in", "ductv@mic.gov.vn", "000.00.00.G14"),
        (3, "out", "hangntm@mic.gov.vn", "000.00.00.G14"),
    ]
    report = await journal.verify()
    assert report.ok and report.entries == 3
    # The archived body is referenced: expunging every copy does not make it collectable.
    e = (await entries(r.store))[0]
    async with r.store.read() as tx:
        refcount = await tx.session.scalar(
            select(Blob.refcount).where(Blob.sha256 == e.blob_sha256))
    assert refcount == 3  # Hằng's and Tám's INBOX copies, and the journal entry


@pytest.mark.parametrize("tamper", ["delete_middle", "change_field", "delete_newest",
                                    "damage_body", "reorder"])
async def test_tampering_is_detected(journal_rig, tamper: str) -> None:  # type: ignore[no-untyped-def]
    r, journal = journal_rig
    for i in range(5):
        await r.pipeline.deliver(
            Envelope("a@example.org", ["hangntm@mic.gov.vn"], "mx", client_ip="192.0.2.3"),
            make_message(f"Thư {i}", f"Nội dung {i}"),
        )
    await r.pipeline.wait_background()
    assert (await journal.verify()).ok
    rows = await entries(r.store)
    async with r.store.write() as tx:
        s = tx.session
        if tamper == "delete_middle":
            await s.execute(delete(ArchiveEntry).where(ArchiveEntry.seq == 3))
        elif tamper == "change_field":
            await s.execute(update(ArchiveEntry).where(ArchiveEntry.seq == 2)
                            .values(mailbox_address="someone-else@mic.gov.vn"))
        elif tamper == "delete_newest":
            await s.execute(delete(ArchiveEntry).where(ArchiveEntry.seq == 5))
        elif tamper == "reorder":
            await s.execute(update(ArchiveEntry).where(ArchiveEntry.seq == 2).values(seq=99))
            await s.execute(update(ArchiveEntry).where(ArchiveEntry.seq == 4).values(seq=2))
            await s.execute(update(ArchiveEntry).where(ArchiveEntry.seq == 99).values(seq=4))
    if tamper == "damage_body":
        path = r.store.blobs.path_for(rows[1].blob_sha256)
        for _ in range(200):  # small bodies reach their files just after delivery
            if path.exists():
                break
            await asyncio.sleep(0.02)
        path.write_bytes(path.read_bytes() + b"tampered")
    report = await journal.verify()
    assert not report.ok
    first_bad = report.problems[0][0]
    assert first_bad == {"delete_middle": 3, "change_field": 2, "delete_newest": 5,
                         "damage_body": 2, "reorder": 2}[tamper], report.problems


async def test_retention_keeps_the_chain_and_legal_holds_keep_content(journal_rig) -> None:  # type: ignore[no-untyped-def]
    r, journal = journal_rig
    for rcpt in ("hangntm@mic.gov.vn", "ductv@mic.gov.vn", "hangntm@mic.gov.vn"):
        await r.pipeline.deliver(
            Envelope("a@example.org", [rcpt], "mx", client_ip="192.0.2.3"),
            make_message(to=rcpt),
        )
    await r.pipeline.wait_background()
    assert await journal.hold("HangNTM@mic.gov.vn", "thanh tra", "admin")
    assert not await journal.hold("hangntm@mic.gov.vn", "again", "admin")
    later = utcnow() + timedelta(days=r.settings.archive.retention_days + 1)
    assert await journal.purge(later) == 1  # only Đức's entry: Hằng's are held
    rows = await entries(r.store)
    assert [(e.mailbox_address, e.purged_at is not None) for e in rows] == [
        ("hangntm@mic.gov.vn", False), ("ductv@mic.gov.vn", True), ("hangntm@mic.gov.vn", False)]
    report = await journal.verify()
    assert report.ok and report.purged == 1
    assert await journal.release("hangntm@mic.gov.vn")
    assert await journal.purge(later) == 2
    assert (await journal.verify()).ok
    assert await journal.purge(utcnow()) == 0  # nothing is old yet at today's date
