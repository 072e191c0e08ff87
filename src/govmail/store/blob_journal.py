"""The blob journal: small message bodies made durable inside the delivery's transaction.

Storing a body as a file durably takes two fsyncs (the file, then its directory) before the
delivery's transaction can commit with a third. A body of at most :data:`JOURNAL_MAX` bytes
is instead inserted in the ``blob_journal`` table by that same transaction, so the delivery
is durable, and answered, after one fsync: as Postfix answers once its queue file is on
disk. A thread of its own then writes the files (durably, as always), a group at a time,
and a later transaction deletes their journal rows.

Until a body's file is written, readers in this process find it in memory
(:meth:`BlobStore.hold`) and readers in other processes in the table
(:class:`JournalReader`). Whatever the journal still holds when a store is opened (after a
crash, or from a restored backup) is written out then (:func:`write_out`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from govmail.store.blobs import sha256_hex
from govmail.store.models import BlobJournal

if TYPE_CHECKING:
    from govmail.store.blobs import BlobStore
    from govmail.store.db import Store

log = logging.getLogger("govmail.store")

# Larger bodies are written as files before their transaction: journaling them would
# only double the bytes written without saving an fsync's worth of time.
JOURNAL_MAX = 128 * 1024
WRITE_OUT_CHUNK = 200
# Journaled bodies are written out in groups: the files of a group are written and
# fsync'd in parallel and share one directory fsync, so a body costs a fraction of the two
# fsyncs it costs alone (≈ 0.6 ms of CPU per 4 KB message, one at a time). A group is
# written once it holds this many bodies or bytes, or when deliveries pause (``flush``).
SPILL_BODIES = 32
SPILL_BYTES = 1 << 20


def sync_url(url: str) -> str:
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite+pysqlite://" + url[len("sqlite+aiosqlite://") :]
    if url.startswith("postgresql+asyncpg://"):
        return "postgresql+psycopg://" + url[len("postgresql+asyncpg://") :]
    raise ValueError(f"no synchronous driver for {url}")


class Spiller:
    """Writes journaled bodies out as blob files in a thread of its own, and keeps the
    hashes whose files are durable until a transaction deletes their journal rows."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="blob-spill")
        self._lock = threading.Lock()
        self._pending: dict[str, bytes] = {}  # committed, waiting for their group
        self._pending_bytes = 0
        self._written: list[str] = []
        self._failed: dict[str, bytes] = {}
        self._closed = False

    def spill(self, items: dict[str, bytes]) -> None:
        """Bodies whose journal rows are committed: written out with their group. After
        ``close`` (a commit that ended during shutdown) they stay journaled, and the next
        opening of the store writes them out."""
        with self._lock:
            if self._closed:
                return
            self._pending.update(items)
            self._pending_bytes += sum(len(data) for data in items.values())
            if len(self._pending) < SPILL_BODIES and self._pending_bytes < SPILL_BYTES:
                return
            group = self._take_pending()
        self._executor.submit(self._write, group)

    def flush(self) -> None:
        """Write out every body waiting, and again those whose files failed before."""
        with self._lock:
            if self._closed:
                return
            self._pending.update(self._failed)
            self._failed = {}
            group = self._take_pending()
        if group:
            self._executor.submit(self._write, group)

    def _take_pending(self) -> dict[str, bytes]:
        group, self._pending, self._pending_bytes = self._pending, {}, 0
        return group

    def _write(self, items: dict[str, bytes]) -> None:
        try:
            self.blobs.put_many_sync(items.values())
        except Exception as exc:
            # The bodies stay journaled (and in memory); the next tidy-up tries again.
            log.warning("writing %d journaled bodies failed (%s); will retry", len(items), exc)
            with self._lock:
                self._failed.update(items)
            return
        self.blobs.release(items)
        with self._lock:
            self._written.extend(items)

    def take_written(self) -> list[str]:
        """Hashes whose files are durable; their journal rows may be deleted now."""
        with self._lock:
            out, self._written = self._written, []
        return out

    def give_back(self, shas: list[str]) -> None:
        """The transaction that was to delete these rows did not commit."""
        with self._lock:
            self._written[:0] = shas

    def untidy(self) -> bool:
        """Whether rows wait to be deleted or bodies to be written (again)."""
        return bool(self._written or self._failed or self._pending)

    def drain(self) -> None:
        """Write out every body waiting and wait until every write has finished."""
        self.flush()
        self._executor.submit(lambda: None).result()

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True)


class JournalReader:
    """Looks a body up in the journal, on a connection of its own (any thread)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def __call__(self, sha: str) -> bytes | None:
        with self._lock:
            if self._engine is None:
                self._engine = create_engine(sync_url(self.url), poolclass=NullPool)
            engine = self._engine
        try:
            with engine.connect() as conn:
                data = conn.execute(
                    select(BlobJournal.data).where(BlobJournal.sha256 == sha)
                ).scalar_one_or_none()
        except DBAPIError as exc:  # no journal table (yet), or no database to ask
            log.debug("blob journal not readable: %s", exc)
            return None
        return bytes(data) if data is not None else None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


async def write_out(store: Store) -> int:
    """Write every journaled body as a durable file, then delete its row; returns how
    many. Safe while a server runs: files are named by their hash, so writing one twice
    leaves the same file, and a row goes only after its file is durable."""
    done = 0
    after = ""
    while True:
        async with store.read() as tx:
            rows = (
                await tx.session.execute(
                    select(BlobJournal.sha256, BlobJournal.data)
                    .where(BlobJournal.sha256 > after)
                    .order_by(BlobJournal.sha256)
                    .limit(WRITE_OUT_CHUNK)
                )
            ).all()
        if not rows:
            return done
        after = rows[-1].sha256
        good = {r.sha256: bytes(r.data) for r in rows if sha256_hex(bytes(r.data)) == r.sha256}
        for r in rows:
            if r.sha256 not in good:  # kept, for whoever investigates; never written wrong
                log.error(
                    "journaled body %s does not match its hash; left in the journal", r.sha256
                )
        if not good:
            continue
        await asyncio.to_thread(store.blobs.put_many_sync, list(good.values()))
        shas = list(good)
        async with store.write() as tx:
            await tx.session.execute(delete(BlobJournal).where(BlobJournal.sha256.in_(shas)))
        store.blobs.release(shas)
        done += len(rows)
