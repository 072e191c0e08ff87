"""The delivery writer's driver-level transaction on both backends: what it writes reads
back through the ORM exactly as given, and a failed batch leaves nothing behind. On SQLite
both ways are checked: statements on the event loop with the commit in the thread (small
batches), and the whole transaction in the thread."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from govmail.store import delivery_writer, search_index
from govmail.store.blobs import sha256_hex
from govmail.store.db import Store
from govmail.store.delivery_writer import CopyRow, DeliveryRows, DeliveryWriter
from govmail.store.models import (
    Agency,
    Blob,
    BlobText,
    Domain,
    Folder,
    Mailbox,
    Message,
    OutboundMessage,
)


@pytest.fixture(params=["loop", "thread"])
def path(request: pytest.FixtureRequest, backend: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the statements run: "loop" (SQLite, small batches) or "thread"."""
    if request.param == "thread" and backend == "sqlite":
        monkeypatch.setattr(delivery_writer, "INLINE_MAX_DELIVERIES", 0)
    if request.param == "loop" and backend != "sqlite":
        pytest.skip("PostgreSQL runs every statement in the writer's thread")
    return str(request.param)


async def bare_mailbox(store: Store, local: str = "a") -> int:
    """A mailbox without folders: the writer creates them on first delivery."""
    async with store.write() as tx:
        d = await tx.directory.add(Domain(name=f"{local}.gov.vn"))
        a = await tx.directory.add(
            Agency(
                name="Sở Nội vụ", short_name="SNV", kind="department", domain_id=d.id, settings={}
            )
        )
        m = await tx.directory.add(
            Mailbox(
                domain_id=d.id,
                local_part=local,
                address=f"{local}@{local}.gov.vn",
                full_name="Nguyễn Văn A",
                agency_id=a.id,
            )
        )
        return m.id


def _rows(mailbox_id: int, when: datetime, **kw: object) -> DeliveryRows:
    return DeliveryRows(
        sha256="",
        size=0,
        search_text="công văn số 12/UBND về việc họp",
        internal_date=when,
        meta={"v": 1, "subject": "Công văn số 12", "nested": [1, "hai", None]},
        copies=[
            CopyRow(mailbox_id, "INBOX", ("\\Seen", "$Label1")),
            CopyRow(mailbox_id, "\\Sent", ()),
        ],
        message_columns={
            "subject": "Công văn số 12",
            "from_addr": "vanthu@mic.gov.vn",
            "sent_date": when - timedelta(minutes=3),
            "message_id_header": "<x@mic.gov.vn>",
            "has_attachments": True,
            "subject_fold": "cong van so 12",
        },
        remote=[("example.org", ["b@example.org", "c@example.org"])],
        mail_from="vanthu@mic.gov.vn",
        expires_at=when + timedelta(days=5),
        **kw,  # type: ignore[arg-type]
    )


async def test_rows_read_back_as_written(store: Store, path: str) -> None:
    mid = await bare_mailbox(store)
    when = datetime(2026, 11, 25, 20, 3, 17, 310696, tzinfo=UTC)
    writer = DeliveryWriter(store)
    try:
        raw = b"Subject: x\r\n\r\nbody\r\n"
        assert writer._inline([_rows(mid, when)], [raw]) == (path == "loop")
        (written,) = await writer.write([_rows(mid, when, dkim_domain="mic.gov.vn")], [raw])
        (again,) = await writer.write([_rows(mid, when + timedelta(seconds=1))], [raw])
    finally:
        writer.close()
    assert [c.uid for c in written.copies] == [1, 1] and [c.uid for c in again.copies] == [2, 2]
    assert len(written.outbound_ids) == 1

    async with store.read() as tx:
        s = tx.session
        folders = {
            f.name: f
            for f in (await s.execute(select(Folder).where(Folder.mailbox_id == mid))).scalars()
        }
        assert {"INBOX", "Sent", "Junk", "Trash"} <= set(folders)
        inbox = folders["INBOX"]
        assert (inbox.uidnext, inbox.highestmodseq) == (3, 3)
        msgs = list(
            (
                await s.execute(
                    select(Message).where(Message.folder_id == inbox.id).order_by(Message.uid)
                )
            ).scalars()
        )
        m = msgs[0]
        assert m.internal_date == when
        assert m.sent_date == when - timedelta(minutes=3)
        assert m.meta == {"v": 1, "subject": "Công văn số 12", "nested": [1, "hai", None]}
        assert (m.seen, m.answered, m.flagged, m.keywords) == (True, False, False, "$Label1")
        assert (m.subject, m.subject_fold, m.has_attachments) == (
            "Công văn số 12",
            "cong van so 12",
            True,
        )
        assert m.size == len(raw) and (m.modseq, msgs[1].modseq) == (2, 3)
        sent = (
            (await s.execute(select(Message).where(Message.folder_id == folders["Sent"].id)))
            .scalars()
            .all()
        )
        assert len(sent) == 2 and not sent[0].seen
        blob = (await s.execute(select(Blob).where(Blob.id == m.blob_id))).scalar_one()
        assert blob.refcount == 6  # two copies and one remote batch, twice
        assert blob.created_at == when
        text = (
            await s.execute(select(BlobText.text).where(BlobText.blob_id == blob.id))
        ).scalar_one()
        assert text == "công văn số 12/UBND về việc họp"
        out = (
            await s.execute(
                select(OutboundMessage).where(OutboundMessage.id == written.outbound_ids[0])
            )
        ).scalar_one()
        assert (out.status, out.attempts, out.delay_notified) == ("queued", 0, False)
        assert out.recipients == ["b@example.org", "c@example.org"]
        assert out.next_attempt_at == when and out.expires_at == when + timedelta(days=5)
        assert out.dkim_domain == "mic.gov.vn"
        box = (await s.execute(select(Mailbox).where(Mailbox.id == mid))).scalar_one()
        assert box.used_bytes == 4 * len(raw)


async def test_failed_batch_leaves_nothing_and_the_next_one_is_stored(
    store: Store, path: str
) -> None:
    mid = await bare_mailbox(store)
    when = datetime.now(UTC)
    writer = DeliveryWriter(store)
    try:
        # A copy for a mailbox that does not exist: its folders cannot be created.
        with pytest.raises(Exception):  # noqa: B017 - the driver's own integrity error
            await writer.write([_rows(mid, when), _rows(987654, when)], [b"one\r\n", b"two\r\n"])
        naive = _rows(mid, when.replace(tzinfo=None))
        with pytest.raises(ValueError, match="naive datetime"):
            await writer.write([naive], [b"three\r\n"])
        (ok,) = await writer.write([_rows(mid, when)], [b"four\r\n"])
    finally:
        writer.close()
    assert [c.uid for c in ok.copies] == [1, 1]
    async with store.read() as tx:
        s = tx.session
        sizes = sorted((await s.execute(select(Message.size))).scalars())
        assert sizes == [6, 6]
        shas = (await s.execute(select(Blob.refcount))).scalars().all()
        assert shas == [3]
        assert len((await s.execute(select(OutboundMessage.id))).scalars().all()) == 1


async def _fts_intact(store: Store) -> None:
    """FTS5 compares its index with the content table (the form with rank 1: the plain
    one checks the index alone); raises if they differ. Only meaningful with no text
    pending, as a pending text is in the table and not yet in the index."""
    async with store.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO blob_fts(blob_fts, rank) VALUES ('integrity-check', 1)")
        )


async def pending_texts(store: Store) -> int:
    """Stored texts not yet in the full-text index (SQLite), seen from a new snapshot."""
    async with store.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM fts_pending"))).scalar())


async def write_text(writer: DeliveryWriter, mid: int, search_text: str, n: int) -> None:
    """Store message ``n`` with ``search_text`` in mailbox ``mid``'s INBOX."""
    rows = _rows(mid, datetime.now(UTC))
    rows.search_text, rows.copies, rows.remote = search_text, [CopyRow(mid)], []
    await writer.write([rows], [f"message {n}\r\n".encode()])


async def test_stored_texts_are_searchable_before_and_after_indexing(store: Store) -> None:
    mid = await bare_mailbox(store)
    texts = [
        "cong van so 12 ve viec hop giao ban",
        "bao cao tong ket nam 2026 cua so",
        "giay moi hop giao ban thang 12",
    ]
    writer = DeliveryWriter(store)

    async def deliver(i: int) -> None:
        await write_text(writer, mid, texts[i], i)

    async def found(*terms: str) -> list[int]:
        async with store.read() as tx:
            folder = await tx.mail.folder(mid, "INBOX")
            assert folder is not None
            conds = [tx.search.body_condition(t) for t in terms]
            return await tx.search.uids(folder.id, conds)

    async def check_all() -> None:
        assert await found("giao ban") == [1]
        assert await found(" so") == [1, 2]
        assert await found("tong ket", "2026") == [2]  # two terms, two parameters
        assert await found("hop", "2026") == []
        assert await found("xyz") == []

    try:
        await deliver(0)
        await deliver(1)
        if store.dialect == "sqlite":
            assert writer.unindexed == 2 and await pending_texts(store) == 2
        await check_all()  # not indexed yet: found by scanning the pending texts
        step = await writer.index_pending()
        assert step.indexed == (2 if store.dialect == "sqlite" else 0) and not step.more
        assert writer.unindexed == 0
        await check_all()
        if store.dialect == "sqlite":
            assert await pending_texts(store) == 0
            await _fts_intact(store)
        await deliver(2)
        assert await found("giao ban") == [1, 3]  # one indexed, one pending
        # Removing a text removes it from the index, or from the pending list.
        async with store.write() as tx:
            ids = (await tx.session.execute(select(Blob.id).order_by(Blob.id))).scalars().all()
            await tx.session.execute(delete(BlobText).where(BlobText.blob_id.in_([ids[0], ids[2]])))
        assert await found("giao ban") == [] and await found("tong ket") == [2]
        if store.dialect == "sqlite":
            assert await pending_texts(store) == 0
            await _fts_intact(store)
            assert (await writer.index_pending()).indexed == 0
    finally:
        writer.close()


async def test_an_indexing_step_is_bounded_by_texts_and_characters(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("the full-text index of SQLite")
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    try:
        for i, size in enumerate([10, 5000, 5000, 10, 10]):
            await write_text(writer, mid, "x" * size, i)
    finally:
        writer.close()
    with contextlib.closing(sqlite3.connect(store.sqlite_path, isolation_level=None)) as db:
        # Oldest first; a text that would pass the character budget waits, unless it
        # is the step's first.
        assert search_index.index_step(db, limit=10, max_chars=6000) == search_index.Step(2, True)
        assert search_index.index_step(db, limit=10, max_chars=10) == search_index.Step(1, True)
        assert search_index.index_step(db, limit=1) == search_index.Step(1, True)
        assert search_index.index_step(db, limit=1) == search_index.Step(1, False)
        assert search_index.index_step(db) == search_index.Step(0, False)
        assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL again
    await _fts_intact(store)


async def test_a_long_term_finds_pending_and_indexed_texts(store: Store) -> None:
    """SQLite refuses LIKE patterns over 50,000 bytes; the scan of pending texts does not
    use one."""
    mid = await bare_mailbox(store)
    long = "cong van " * 7000
    writer = DeliveryWriter(store)
    try:
        for i in range(2):
            await write_text(writer, mid, long + str(i), i)
            if i == 0:
                await writer.index_pending()
    finally:
        writer.close()
    async with store.read() as tx:
        folder = await tx.mail.folder(mid, "INBOX")
        assert folder is not None
        hits = await tx.search.uids(folder.id, [tx.search.body_condition(long.strip())])
    assert hits == [1, 2]


async def test_wal_checkpoints_run_beside_the_writer(store: Store, tmp_path: Path) -> None:
    if store.dialect != "sqlite":
        pytest.skip("WAL checkpoints are SQLite's")
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    try:
        for i in range(5):
            rows = _rows(mid, datetime.now(UTC))
            rows.copies, rows.remote = [CopyRow(mid)], []
            await writer.write([rows], [f"message {i}\r\n".encode()])
        raw = writer._raw
        assert raw is not None
        cur = raw.cursor()
        assert cur.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)  # not in commits
        cur.close()
        checkpointer = writer._checkpointer
        assert checkpointer is not None
        seen = checkpointer.checkpoints
        for _ in range(200):
            if checkpointer.checkpoints >= seen + 2:
                break
            await asyncio.sleep(0.05)
        # The database file alone, without its WAL, now holds every delivery.
        copy = tmp_path / "copy.db"
        shutil.copyfile(store.sqlite_path, copy)
        with contextlib.closing(sqlite3.connect(copy)) as db:
            assert db.execute("SELECT count(*) FROM message").fetchone() == (5,)
    finally:
        writer.close()
    assert not any(t.name == "wal-checkpoint" for t in threading.enumerate())


async def test_a_failed_commit_keeps_nothing_and_the_next_batch_is_stored(
    store: Store, path: str
) -> None:
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    real_commit = writer._commit
    fail = True

    def commit(raw):  # type: ignore[no-untyped-def]
        if fail:
            writer._discard(raw, sqlite3.OperationalError("disk I/O error"))
        real_commit(raw)

    writer._commit = commit  # type: ignore[method-assign]
    body = b"Subject: lost\r\n\r\nnot committed\r\n"
    try:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
            await writer.write([_rows(mid, datetime.now(UTC))], [body])
        assert not store.blobs.held(sha256_hex(body))  # nothing kept for readers
        fail = False
        (ok,) = await writer.write([_rows(mid, datetime.now(UTC))], [b"kept\r\n"])
    finally:
        writer.close()
    assert [c.uid for c in ok.copies] == [1, 1]
    async with store.read() as tx:
        assert (await tx.session.execute(select(Message.size))).scalars().all() == [6, 6]
        assert (await tx.session.execute(select(Blob.refcount))).scalars().all() == [3]


async def test_a_cancelled_write_ends_before_the_next_one_starts(store: Store) -> None:
    """A caller that stops waiting (shutdown) does not stop the commit in the thread; the
    next batch, whose statements run on the event loop on the same connection, waits for
    it, and the first batch's body is still written out as a file."""
    if store.dialect != "sqlite":
        pytest.skip("only SQLite runs statements on the event loop")
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    real_commit = writer._commit
    committing, go_on = threading.Event(), threading.Event()
    released: list[bool] = []

    def slow_commit(raw):  # type: ignore[no-untyped-def]
        committing.set()
        released.append(go_on.wait(10))  # False: the event loop was stuck meanwhile
        real_commit(raw)

    writer._commit = slow_commit  # type: ignore[method-assign]
    first_body = b"Subject: first\r\n\r\ncancelled while committing\r\n"
    try:
        first = asyncio.create_task(writer.write([_rows(mid, datetime.now(UTC))], [first_body]))
        assert await asyncio.to_thread(committing.wait, 10)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        writer._commit = real_commit  # type: ignore[method-assign]
        second = asyncio.create_task(writer.write([_rows(mid, datetime.now(UTC))], [b"2\r\n"]))
        await asyncio.sleep(0.2)
        assert not second.done()  # waiting for the first commit
        go_on.set()
        (w,) = await second
        await asyncio.to_thread(writer.spiller.drain)
    finally:
        go_on.set()
        writer.close()
    assert released == [True]
    assert [c.uid for c in w.copies] == [2, 2]  # the first batch was committed: UID 1
    assert store.blobs.has_file(sha256_hex(first_body))
    async with store.read() as tx:
        assert len((await tx.session.execute(select(Message.id))).scalars().all()) == 4


async def test_a_write_lock_held_by_another_process_does_not_stall_the_event_loop(
    store: Store,
) -> None:
    """The CLI or a backup may hold SQLite's write lock: the batch then waits for it in the
    writer's thread, while the event loop goes on serving everyone else."""
    if store.dialect != "sqlite":
        pytest.skip("SQLite's write lock")
    mid = await bare_mailbox(store)
    writer = DeliveryWriter(store)
    other = sqlite3.connect(store.sqlite_path, isolation_level=None)
    loop = asyncio.get_running_loop()
    try:
        other.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(writer.write([_rows(mid, datetime.now(UTC))], [b"x\r\n"]))
        started = loop.time()
        for _ in range(10):
            await asyncio.sleep(0.02)
        assert loop.time() - started < 2.0  # the loop kept turning
        assert not task.done()
        other.execute("ROLLBACK")
        (w,) = await asyncio.wait_for(task, 30)
    finally:
        other.close()
        writer.close()
    assert [c.uid for c in w.copies] == [1, 1]
