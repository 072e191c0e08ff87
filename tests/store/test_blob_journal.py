"""The blob journal on both backends: a small body is durable in the delivery's own
transaction, readable before its file exists (in this process and in another), written out
as a file in a group of bodies soon after, its row deleted by a later transaction; after a
crash the next opening of the store writes out what the journal still holds; a failed file
write keeps the body journaled and is tried again; a full database refuses the batch as
storage full and keeps nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select
from tests.store.test_delivery_writer import bare_mailbox

from govmail.store import blob_journal
from govmail.store.blob_journal import JOURNAL_MAX
from govmail.store.blobs import BlobNotFound, BlobRef, BlobStore, BlobStoreFull, sha256_hex
from govmail.store.db import Store
from govmail.store.delivery_writer import CopyRow, DeliveryRows, DeliveryWriter
from govmail.store.models import BlobJournal, Message


def _rows(mailbox_id: int) -> DeliveryRows:
    return DeliveryRows(
        sha256="",
        size=0,
        search_text="",
        internal_date=datetime.now(UTC),
        meta={},
        copies=[CopyRow(mailbox_id)],
    )


async def journal(store: Store) -> dict[str, bytes]:
    async with store.read() as tx:
        rows = (await tx.session.execute(select(BlobJournal.sha256, BlobJournal.data))).all()
    return {r.sha256: bytes(r.data) for r in rows}


async def files_written(store: Store, shas: list[str]) -> None:
    """Wait (at most 10 s) until the spiller's thread has written these bodies' files."""
    async with asyncio.timeout(10):
        while not all(store.blobs.has_file(sha) for sha in shas):
            await asyncio.sleep(0.01)


class Gate:
    """Holds the blob store's file writes until opened (or makes them fail)."""

    def __init__(self, store: Store) -> None:
        self.opened = threading.Event()
        self.failures = 0
        self._put: Callable[[Iterable[bytes]], list[BlobRef]] = store.blobs.put_many_sync

    def put_many_sync(self, items: Iterable[bytes]) -> list[BlobRef]:
        assert self.opened.wait(30)
        if self.failures:
            self.failures -= 1
            raise BlobStoreFull("no space left for message storage")
        return self._put(items)


@pytest.fixture
def gate(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate(store)
    monkeypatch.setattr(store.blobs, "put_many_sync", g.put_many_sync)
    yield g
    g.opened.set()


async def test_small_body_is_journaled_readable_then_written_out(store: Store, gate: Gate) -> None:
    mid = await bare_mailbox(store)
    raw = "Subject: Công văn\r\n\r\nnội dung\r\n".encode()
    sha = sha256_hex(raw)
    writer = DeliveryWriter(store)
    other = Store(store.url, store.blobs.root)  # another process's view: no memory of it
    try:
        await writer.write([_rows(mid)], [raw])
        # Durable in the database, not yet a file; readable from memory and from the table.
        assert await journal(store) == {sha: raw}
        assert not store.blobs.has_file(sha)
        assert store.blobs.get_sync(sha) == raw
        assert store.blobs.get_if_cached(sha) == raw
        assert other.blobs.get_sync(sha) == raw
        assert other.blobs.get_if_cached(sha) is None  # never a database query on the loop
        gate.opened.set()
        await asyncio.to_thread(writer.spiller.drain)
        assert store.blobs.has_file(sha) and not store.blobs.held(sha)
        assert await journal(store) == {sha: raw}  # its row goes with the next transaction
        await writer.tidy()
        assert await journal(store) == {}
        assert store.blobs.get_sync(sha) == raw == other.blobs.get_sync(sha)
    finally:
        writer.close()
        await other.close()
    with pytest.raises(BlobNotFound):
        store.blobs.get_sync("0" * 64)


async def test_next_batch_deletes_rows_of_bodies_now_in_files(store: Store, gate: Gate) -> None:
    mid = await bare_mailbox(store)
    gate.opened.set()
    writer = DeliveryWriter(store)
    try:
        await writer.write([_rows(mid)], [b"one\r\n"])
        await asyncio.to_thread(writer.spiller.drain)
        await writer.write([_rows(mid), _rows(mid)], [b"two\r\n", b"two\r\n"])
        assert set(await journal(store)) == {sha256_hex(b"two\r\n")}
        # A body already in a file or in the journal is not journaled again.
        await asyncio.to_thread(writer.spiller.drain)
        await writer.write([_rows(mid)], [b"one\r\n"])
        assert await journal(store) == {}
    finally:
        writer.close()
    async with store.read() as tx:
        assert len((await tx.session.execute(select(Message.id))).all()) == 4


async def test_bodies_are_written_out_in_groups(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    mid = await bare_mailbox(store)
    monkeypatch.setattr(blob_journal, "SPILL_BODIES", 3)
    groups: list[int] = []
    put = store.blobs.put_many_sync

    def counted(items: Iterable[bytes]) -> list[BlobRef]:
        items = list(items)
        groups.append(len(items))
        return put(items)

    monkeypatch.setattr(store.blobs, "put_many_sync", counted)
    raws = [f"Subject: {i}\r\n\r\nnội dung {i}\r\n".encode() for i in range(4)]
    shas = [sha256_hex(raw) for raw in raws]
    writer = DeliveryWriter(store)
    try:
        for raw in raws[:2]:
            await writer.write([_rows(mid)], [raw])
        # Below a group's size nothing is written yet; the bodies are durable and readable.
        assert groups == [] and writer.spiller.untidy()
        assert set(await journal(store)) == set(shas[:2])
        assert [store.blobs.get_if_cached(sha) for sha in shas[:2]] == raws[:2]
        await writer.write([_rows(mid)], [raws[2]])
        await files_written(store, shas[:3])
        assert groups == [3]
        await writer.write([_rows(mid)], [raws[3]])
        assert not store.blobs.has_file(shas[3]) and store.blobs.held(shas[3])
        # When deliveries pause, what waits is written out, then its rows go.
        await writer.tidy()
        await asyncio.to_thread(writer.spiller.drain)
        assert groups == [3, 1] and store.blobs.has_file(shas[3])
        await writer.tidy()
        assert await journal(store) == {} and not writer.spiller.untidy()
        # A group is also complete at its size in bytes.
        monkeypatch.setattr(blob_journal, "SPILL_BYTES", 64)
        big = b"Subject: big\r\n\r\n" + b"x" * 64
        await writer.write([_rows(mid)], [big])
        await files_written(store, [sha256_hex(big)])
        assert groups == [3, 1, 1]
    finally:
        writer.close()


async def test_a_commit_ending_after_close_leaves_its_body_journaled(store: Store) -> None:
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    await writer.write([_rows(mid)], [b"late\r\n"])
    writer.close()  # writes out what waits
    assert store.blobs.has_file(sha256_hex(b"late\r\n"))
    writer.spiller.spill({sha256_hex(b"later\r\n"): b"later\r\n"})  # no thread left
    assert not store.blobs.has_file(sha256_hex(b"later\r\n"))


async def test_large_body_is_a_file_before_its_transaction(store: Store) -> None:
    mid = await bare_mailbox(store)
    raw = b"Subject: big\r\n\r\n" + b"x" * JOURNAL_MAX
    writer = DeliveryWriter(store)
    try:
        await writer.write([_rows(mid)], [raw])
        assert store.blobs.has_file(sha256_hex(raw)) and not store.blobs.held(sha256_hex(raw))
        assert await journal(store) == {}
    finally:
        writer.close()


async def test_opening_the_store_writes_out_what_a_crash_left(store: Store, gate: Gate) -> None:
    mid = await bare_mailbox(store)
    raws = [f"message {i}\r\n".encode() for i in range(3)]
    writer = DeliveryWriter(store)
    try:
        await writer.write([_rows(mid) for _ in raws], raws)
        # The server dies here: rows committed, files never written.
        restarted = Store(store.url, store.blobs.root)
        await restarted.open()
        try:
            for raw in raws:
                assert restarted.blobs.has_file(sha256_hex(raw))
                assert restarted.blobs.get_sync(sha256_hex(raw)) == raw
            assert await journal(restarted) == {}
        finally:
            await restarted.close()
    finally:
        gate.opened.set()
        writer.close()


async def test_failed_file_write_keeps_the_body_and_is_retried(store: Store, gate: Gate) -> None:
    mid = await bare_mailbox(store)
    raw = b"Subject: retry\r\n\r\nbody\r\n"
    sha = sha256_hex(raw)
    gate.failures = 1
    gate.opened.set()
    writer = DeliveryWriter(store)
    try:
        await writer.write([_rows(mid)], [raw])
        await asyncio.to_thread(writer.spiller.drain)
        assert not store.blobs.has_file(sha) and store.blobs.get_sync(sha) == raw
        assert writer.spiller.untidy()
        await writer.tidy()  # writes it again
        await asyncio.to_thread(writer.spiller.drain)
        assert store.blobs.has_file(sha) and await journal(store) == {sha: raw}
        await writer.tidy()
        assert await journal(store) == {} and not writer.spiller.untidy()
    finally:
        writer.close()


async def test_full_database_is_storage_full_and_keeps_nothing(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("a size limit on the database file is a SQLite setting")
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)

    @event.listens_for(writer.engine, "connect")
    def _small(dbapi_conn: object, _record: object) -> None:
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        (pages,) = cur.execute("PRAGMA page_count").fetchone()
        cur.execute(f"PRAGMA max_page_count = {pages + 4}")
        cur.close()

    raws = [f"{i}".encode() * 20_000 for i in range(5)]
    try:
        with pytest.raises(BlobStoreFull):
            await writer.write([_rows(mid) for _ in raws], raws)
        assert not any(store.blobs.held(sha256_hex(r)) for r in raws)
    finally:
        writer.close()
    assert await journal(store) == {}
    async with store.read() as tx:
        assert (await tx.session.execute(select(Message.id))).all() == []


def test_body_written_out_while_looked_up_is_read_from_its_file(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    blobs.ensure()
    raw = b"Subject: race\r\n\r\nbody\r\n"

    def reader(sha: str) -> bytes | None:
        # Between the failed open and this lookup, the file was written and the row deleted.
        blobs.put_sync(raw)
        return None

    blobs.journal_reader = reader
    assert blobs.get_sync(sha256_hex(raw)) == raw
    blobs.journal_reader = lambda sha: None
    with pytest.raises(BlobNotFound):
        blobs.get_sync(sha256_hex(b"never stored"))
