"""The group committer: search indexing between deliveries (SQLite), and stopping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from tests.store.test_delivery_writer import (
    _fts_intact,
    bare_mailbox,
    pending_texts,
    write_text,
)

from govmail.delivery.committer import INDEX_AFTER, GroupCommitter, LocalCopy, StoreJob
from govmail.store.db import Store
from govmail.store.delivery_writer import DeliveryWriter
from govmail.store.repos.search import trigram_query


def job(mid: int, n: int, search_text: str) -> StoreJob:
    return StoreJob(
        raw=f"message {n}\r\n".encode(),
        meta={},
        search_text=search_text,
        internal_date=datetime.now(UTC),
        copies=[LocalCopy(mid)],
    )


async def test_the_committer_indexes_texts_between_deliveries(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the full-text index of SQLite")
    mid = await bare_mailbox(store)
    committer = GroupCommitter(store)
    await committer.start()
    try:
        for i in range(INDEX_AFTER):
            await committer.submit(job(mid, i, f"van ban so {i}"))
        for _ in range(200):
            if committer.writer.unindexed == 0:
                break
            await asyncio.sleep(0.01)
        assert committer.writer.unindexed == 0
        assert await pending_texts(store) == 0
        async with store.engine.connect() as conn:
            match = "SELECT count(*) FROM blob_fts WHERE blob_fts MATCH :q"
            hits = await conn.execute(text(match), {"q": trigram_query("van ban")})
            assert hits.scalar() == INDEX_AFTER
        await _fts_intact(store)
    finally:
        await committer.stop()


async def test_texts_left_pending_are_indexed_when_the_committer_next_idles(
    store: Store,
) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the full-text index of SQLite")
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)  # stored, never indexed: as if the server had stopped
    try:
        await write_text(writer, mid, "to trinh de nghi", 0)
    finally:
        writer.close()
    committer = GroupCommitter(store)
    await committer.start()
    try:
        for _ in range(100):
            left = await pending_texts(store)
            if left == 0:
                break
            await asyncio.sleep(0.05)
        assert left == 0
        await _fts_intact(store)
    finally:
        await committer.stop()


async def test_stopping_fails_a_batch_still_waiting_for_the_store(store: Store) -> None:
    if store.write_lock is None:
        pytest.skip("SQLite's store-wide write lock")
    mid = await bare_mailbox(store)
    committer = GroupCommitter(store)
    await committer.start()
    one = job(mid, 0, "")
    async with store.write_lock:  # as an indexing step or another writer would
        submitted = asyncio.create_task(committer.submit(one))
        for _ in range(100):
            if committer._batch:
                break
            await asyncio.sleep(0.01)
        assert committer._batch == [one]
        await committer.stop()
    with pytest.raises(RuntimeError, match="shutting down"):
        await asyncio.wait_for(submitted, 5)


async def test_a_failing_index_is_retried_later_not_after_every_delivery(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the full-text index of SQLite")
    mid = await bare_mailbox(store)
    committer = GroupCommitter(store)
    calls = 0

    async def broken() -> object:
        nonlocal calls
        calls += 1
        raise RuntimeError("database disk image is malformed")

    monkeypatch.setattr(committer.writer, "index_pending", broken)
    await committer.start()
    try:
        for i in range(3 * INDEX_AFTER):
            await committer.submit(job(mid, i, f"van ban so {i}"))  # deliveries go on
            await asyncio.sleep(0)
        assert calls == 1
    finally:
        await committer.stop()

