"""User operations on their own mail: append, flags with MODSEQ, copy, move, expunge."""

from __future__ import annotations

import pytest

from govmail.delivery.events import MailEvents
from govmail.delivery.mailstore import MailStore, MailStoreError
from govmail.delivery.pipeline import Pipeline
from govmail.store.db import Store

RAW = b"From: a@mic.gov.vn\r\nSubject: test\r\n\r\nbody\r\n"


async def folders(store: Store, address: str) -> dict[str, object]:
    async with store.read() as tx:
        m = await tx.directory.mailbox_by_address(address)
        return {f.name: f for f in await tx.mail.folders_of(m.id)}


async def test_append_flags_copy_move_expunge(pipeline: Pipeline, store: Store) -> None:
    events = MailEvents()
    ms = MailStore(store, pipeline.committer, events, 10_000)
    fs = await folders(store, "ductv@mic.gov.vn")
    inbox, archive = fs["INBOX"], fs["Archive"]
    with events.watching(inbox.id) as q:  # type: ignore[attr-defined]
        a1 = await ms.append(inbox, RAW, ["\\Seen", "vanban"])  # type: ignore[arg-type]
        a2 = await ms.append(inbox, RAW.replace(b"test", b"two"))  # type: ignore[arg-type]
        assert (a1.uid, a2.uid) == (1, 2)
        assert q.qsize() == 2
    changed, refused = await ms.set_flags(inbox.id, [1, 2], "add", ["\\Flagged"])  # type: ignore[attr-defined]
    assert [m.uid for m in changed] == [1, 2] and refused == []
    modseq = changed[0].modseq
    changed, refused = await ms.set_flags(
        inbox.id,
        [1],
        "remove",
        ["\\Flagged"],  # type: ignore[attr-defined]
        unchanged_since=modseq - 1,
    )
    assert changed == [] and [m.uid for m in refused] == [1]
    changed, _ = await ms.set_flags(inbox.id, [1], "replace", ["\\Deleted"])  # type: ignore[attr-defined]
    assert changed[0].modseq > modseq
    async with store.read() as tx:
        m1 = await tx.mail.message_by_uid(inbox.id, 1)  # type: ignore[attr-defined]
        assert (m1.seen, m1.flagged, m1.deleted, m1.keywords) == (False, False, True, "")
    pairs = await ms.copy(inbox.id, [1, 2], archive)  # type: ignore[arg-type,attr-defined]
    assert pairs == [(1, 1), (2, 2)]
    moved = await ms.copy(inbox.id, [2], archive, move=True)  # type: ignore[arg-type,attr-defined]
    assert moved == [(2, 3)]
    assert await ms.expunge(inbox.id) == [1]  # type: ignore[attr-defined]
    async with store.read() as tx:
        assert await tx.mail.uids(inbox.id) == []  # type: ignore[attr-defined]
        assert await tx.mail.uids(archive.id) == [1, 2, 3]  # type: ignore[attr-defined]
        assert sorted(await tx.mail.vanished_since(inbox.id, 0)) == [1, 2]  # type: ignore[attr-defined]
        msgs = await tx.mail.messages(archive.id)  # type: ignore[attr-defined]
        b1 = await tx.mail.blob_by_id(msgs[0].blob_id)
        b2 = await tx.mail.blob_by_id(msgs[1].blob_id)
        assert b1 is not None and b1.refcount == 1  # message 1: its archive copy only
        assert b2 is not None and b2.refcount == 2  # message 2: copied, then moved
        mb = await tx.directory.mailbox_by_address("ductv@mic.gov.vn")
        assert mb is not None and mb.used_bytes == sum(m.size for m in msgs)
    raw = await ms.read_raw(msgs[0])
    assert raw == RAW
    with pytest.raises(MailStoreError) as exc:
        await ms.append(inbox, b"x" * 20_000)  # type: ignore[arg-type]
    assert exc.value.kind == "toobig"
