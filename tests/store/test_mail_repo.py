"""Mail tables on both backends: UID/MODSEQ allocation, blob refcounts, expunge."""

from __future__ import annotations

import asyncio

from tests.store.test_delivery_writer import bare_mailbox

from govmail.store.db import Store
from govmail.store.models import utcnow
from govmail.store.repos.mail import NewMessage, flags_to_columns, message_flags


async def _mailbox(store: Store) -> int:
    mailbox_id = await bare_mailbox(store)
    async with store.write() as tx:
        await tx.mail.ensure_default_folders(mailbox_id)
    return mailbox_id


async def test_uid_and_modseq_allocation_under_concurrency(store: Store) -> None:
    mailbox_id = await _mailbox(store)
    async with store.read() as tx:
        inbox = await tx.mail.folder(mailbox_id, "INBOX")
    assert inbox is not None and inbox.uidnext == 1

    async def deliver(i: int) -> int:
        async with store.write() as tx:
            blob_id = await tx.mail.add_blob_refs(f"{i:064x}", 100, 1)
            msg = await tx.mail.append(
                NewMessage(
                    folder_id=inbox.id,
                    blob_id=blob_id,
                    size=100,
                    internal_date=utcnow(),
                    meta={"i": i},
                    flags=["\\Seen"] if i % 2 else [],
                )
            )
            return msg.uid

    uids = await asyncio.gather(*(deliver(i) for i in range(40)))
    assert sorted(uids) == list(range(1, 41))
    async with store.read() as tx:
        folder = await tx.mail.folder_by_id(inbox.id)
        assert folder is not None and folder.uidnext == 41 and folder.highestmodseq == 41
        msgs = await tx.mail.messages(inbox.id)
        assert len({m.modseq for m in msgs}) == 40
        assert await tx.mail.unseen_count(inbox.id) == 20
        mb = await tx.directory.mailbox_by_id(mailbox_id)
        assert mb is not None and mb.used_bytes == 4000


async def test_blob_refcount_shared_by_recipients_and_released_on_expunge(store: Store) -> None:
    mailbox_id = await _mailbox(store)
    sha = "ab" * 32
    async with store.write() as tx:
        folders = await tx.mail.folders_of(mailbox_id)
        blob_id = await tx.mail.add_blob_refs(sha, 50, len(folders))
        again = await tx.mail.add_blob_refs(sha, 50, 0)
        assert again == blob_id
        for f in folders:
            await tx.mail.append(
                NewMessage(
                    folder_id=f.id, blob_id=blob_id, size=50, internal_date=utcnow(), meta={}
                )
            )
    async with store.read() as tx:
        blob = await tx.mail.blob_by_id(blob_id)
        assert blob is not None and blob.refcount == 6
    async with store.write() as tx:
        inbox = await tx.mail.folder(mailbox_id, "INBOX")
        assert inbox is not None
        uids = await tx.mail.expunge(inbox, await tx.mail.messages(inbox.id))
        assert uids == [1]
    async with store.read() as tx:
        blob = await tx.mail.blob_by_id(blob_id)
        assert blob is not None and blob.refcount == 5
        inbox = await tx.mail.folder(mailbox_id, "INBOX")
        assert inbox is not None and inbox.highestmodseq == 3
        mb = await tx.directory.mailbox_by_id(mailbox_id)
        assert mb is not None and mb.used_bytes == 250


def test_flag_columns_roundtrip() -> None:
    cols = flags_to_columns(["\\Seen", "\\FLAGGED", "$Forwarded", "vanban", "\\Recent"])
    assert cols["seen"] and cols["flagged"] and not cols["deleted"]
    assert cols["keywords"] == "$Forwarded vanban"

    class M:
        pass

    m = M()
    for k, v in cols.items():
        setattr(m, k, v)
    assert message_flags(m) == ["\\Seen", "\\Flagged", "$Forwarded", "vanban"]  # type: ignore[arg-type]
