"""The group committer keeps SQLite's full-text index up with the deliveries: after each
batch, and while idle for texts an earlier run left queued (a crash, another process)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from tests.delivery.test_pipeline import MSG, folder_messages
from tests.store.test_delivery_writer import bare_mailbox

from govmail.delivery.committer import GroupCommitter
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import Pipeline
from govmail.mail.textfold import fold
from govmail.store.db import Store
from govmail.store.delivery_writer import CopyRow, DeliveryRows, DeliveryWriter


async def _queued(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM blob_fts_pending"))).scalar())


async def _drained(store: Store) -> None:
    for _ in range(200):
        if await _queued(store) == 0:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{await _queued(store)} texts still wait for the index")


async def _indexed(store: Store, term: str) -> int:
    async with store.engine.connect() as conn:
        q = text("SELECT count(*) FROM blob_fts WHERE blob_fts MATCH :q")
        return int((await conn.execute(q, {"q": f'"{term}"'})).scalar())


async def test_deliveries_are_indexed_after_their_batch(pipeline: Pipeline, store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL's trigram index is written with the row")
    for i in range(5):
        body = MSG.replace("lãnh đạo.".encode(), f"lãnh đạo, văn bản thứ {i}.".encode())
        await pipeline.deliver(Envelope("x@example.org", ["ductv@mic.gov.vn"], "mx"), body)
    await _drained(store)
    assert await _indexed(store, fold("văn bản thứ")) == 5
    msgs = await folder_messages(store, "ductv@mic.gov.vn")
    async with store.read() as tx:
        found = await tx.search.text(msgs[0].folder_id, fold("VĂN BẢN THỨ 3"))
    assert found == [4]


async def test_texts_left_queued_are_indexed_when_the_committer_starts(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL's trigram index is written with the row")
    mailbox_id = await bare_mailbox(store)
    # Stored by a process that stopped before indexing them.
    writer = DeliveryWriter(store)
    try:
        for i in range(40):
            rows = DeliveryRows(
                "",
                0,
                f"thong bao so {i:03d} cua so noi vu",
                datetime.now(UTC),
                {},
                [CopyRow(mailbox_id)],
            )
            await writer.write([rows], [f"message {i}\r\n".encode()])
    finally:
        writer.close()
    assert await _queued(store) == 40
    committer = GroupCommitter(store)
    await committer.start()
    try:
        await _drained(store)
    finally:
        await committer.stop()
    assert await _indexed(store, "cua so noi vu") == 40
    async with store.engine.begin() as conn:
        await conn.execute(text("INSERT INTO blob_fts(blob_fts) VALUES ('integrity-check')"))
