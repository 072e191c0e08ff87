"""Group commit: many deliveries, one fsync'd batch of blob files and one transaction.

Each delivery is a ``StoreJob``. The committer takes every job waiting when it becomes
free, writes the files of their large bodies (shared directory fsyncs), then stores all
their rows in one transaction, and only then resolves each job's future: a door answers
250 after that, so nothing is acknowledged before it is durable. Under load the batches
grow by themselves (jobs pile up while the previous batch is being synced); alone, a job is
committed at once.
Small bodies go into the database's blob journal in the batch's transaction and are written
as files right after (``store/blob_journal.py``): one fsync per batch instead of three.
If a batch's transaction fails, its jobs are retried one by one so that one bad job does
not fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from govmail.store.db import Store
from govmail.store.delivery_writer import CopyRow, DeliveryRows, DeliveryWriter

log = logging.getLogger("govmail.delivery")
TIDY_AFTER = 1.0  # seconds without a delivery
# Stored texts that start an indexing step for search: a step this small takes about as
# long in the writer's thread as the next message takes to arrive and be checked.
INDEX_AFTER = 8
INDEX_CHECK_EVERY = 60.0  # seconds: texts other processes stored are indexed when idle


@dataclass(slots=True)
class LocalCopy:
    mailbox_id: int
    folder: str = "INBOX"  # "INBOX", or a special-use attribute such as "\\Junk", "\\Sent"
    flags: tuple[str, ...] = ()
    folder_id: int | None = None  # an explicit folder (IMAP APPEND, drafts) wins over ``folder``


@dataclass(slots=True)
class RemoteBatch:
    domain: str
    recipients: list[str]


@dataclass(slots=True)
class StoredCopy:
    mailbox_id: int
    folder_id: int
    uid: int


@dataclass(slots=True)
class StoreResult:
    blob_sha256: str
    copies: list[StoredCopy]
    outbound_ids: list[int]


@dataclass(slots=True)
class StoreJob:
    raw: bytes
    meta: dict[str, Any]
    search_text: str
    internal_date: datetime
    copies: list[LocalCopy]
    remote: list[RemoteBatch] = field(default_factory=list)
    mail_from: str = ""
    queue_lifetime: timedelta = timedelta(days=5)
    dkim_domain: str | None = None
    subject: str = ""
    from_addr: str = ""
    sent_date: datetime | None = None
    message_id: str | None = None
    has_attachments: bool = False
    folds: dict[str, str] = field(default_factory=dict)
    future: asyncio.Future[StoreResult] | None = None


class GroupCommitter:
    name = "committer"

    def __init__(self, store: Store, max_batch: int = 128) -> None:
        self.store = store
        self.writer = DeliveryWriter(store)
        self.max_batch = max_batch
        self._queue: asyncio.Queue[StoreJob] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0
        self._batch: list[StoreJob] = []  # the batch being committed
        self._indexing: asyncio.Task[None] | None = None
        self._index_checked: float | None = None  # monotonic time of the last indexing step
        self._index_failed: float | None = None  # ... of the last that failed

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-committer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for job in self._batch:  # cancelled while waiting for the store (or in a commit)
            self._fail(job, RuntimeError("server shutting down"))
        if self._indexing is not None:
            self._indexing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._indexing
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job.future and not job.future.done():
                job.future.set_exception(RuntimeError("server shutting down"))
        await asyncio.to_thread(self.writer.spiller.drain)
        await self._tidy()  # what stays behind is written out when the store is next opened
        self.writer.close()

    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def submit(self, job: StoreJob) -> StoreResult:
        if not self.healthy():
            raise RuntimeError("the group committer is not running")
        job.future = asyncio.get_running_loop().create_future()
        await self._queue.put(job)
        return await job.future

    async def _tidy(self) -> None:
        try:
            await self.writer.tidy()
        except Exception as exc:
            log.warning("tidying the blob journal failed (%s); will retry", exc)

    async def _run(self) -> None:
        while True:
            try:
                batch = [await asyncio.wait_for(self._queue.get(), TIDY_AFTER)]
            except TimeoutError:
                # Idle: journal rows of bodies now in files go without waiting for mail.
                await self._tidy()
                self._maybe_index(idle=True)
                continue
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._batch = batch
            try:
                results = await self._commit(batch)
            except Exception as exc:
                if len(batch) == 1:
                    self._fail(batch[0], exc)
                    continue
                log.warning("batch of %d failed (%s); retrying one by one", len(batch), exc)
                for job in batch:
                    try:
                        (result,) = await self._commit([job])
                    except Exception as exc1:
                        self._fail(job, exc1)
                    else:
                        self._done(job, result)
                self._maybe_index()
                continue
            for job, result in zip(batch, results, strict=True):
                self._done(job, result)
            self._maybe_index()

    def _maybe_index(self, *, idle: bool = False) -> None:
        """Start an indexing step for search (store/search_index.py) if enough texts wait,
        or, when idle, if any do or others may have been stored by another process."""
        if self._indexing is not None and not self._indexing.done():
            return
        now = time.monotonic()
        if self._index_failed is not None and now - self._index_failed < INDEX_CHECK_EVERY:
            return  # not once per delivery while the index cannot be written
        waiting = self.writer.unindexed
        if waiting >= INDEX_AFTER or (
            idle
            and (
                waiting
                or self._index_checked is None
                or now - self._index_checked >= INDEX_CHECK_EVERY
            )
        ):
            self._indexing = asyncio.create_task(self._index(), name="search-index")

    async def _index(self) -> None:
        self._index_checked = time.monotonic()
        try:
            # A backlog (after a restart) goes in steps while no delivery waits.
            while (await self.writer.index_pending()).more and self._queue.empty():
                pass
        except Exception as exc:
            self._index_failed = time.monotonic()
            log.warning("indexing stored texts for search failed (%s); will retry", exc)
        else:
            self._index_failed = None

    @staticmethod
    def _done(job: StoreJob, result: StoreResult) -> None:
        if job.future is not None and not job.future.done():
            job.future.set_result(result)

    @staticmethod
    def _fail(job: StoreJob, exc: BaseException) -> None:
        if job.future is not None and not job.future.done():
            job.future.set_exception(exc)

    async def _commit(self, batch: Sequence[StoreJob]) -> list[StoreResult]:
        rows = [
            DeliveryRows(
                sha256="",
                size=0,
                search_text=job.search_text,
                internal_date=job.internal_date,
                meta=job.meta,
                copies=[CopyRow(c.mailbox_id, c.folder, c.flags, c.folder_id) for c in job.copies],
                message_columns={
                    "subject": job.subject[:1000],
                    "from_addr": job.from_addr[:320],
                    "sent_date": job.sent_date,
                    "message_id_header": job.message_id[:998] if job.message_id else None,
                    "has_attachments": job.has_attachments,
                    **job.folds,
                },
                remote=[(rb.domain, list(rb.recipients)) for rb in job.remote],
                mail_from=job.mail_from,
                expires_at=job.internal_date + job.queue_lifetime,
                dkim_domain=job.dkim_domain,
            )
            for job in batch
        ]
        written = await self.writer.write(rows, [job.raw for job in batch])
        self.batches += 1
        self.jobs += len(batch)
        return [
            StoreResult(
                r.sha256,
                [StoredCopy(c.mailbox_id, c.folder_id, c.uid) for c in w.copies],
                w.outbound_ids,
            )
            for r, w in zip(rows, written, strict=True)
        ]
