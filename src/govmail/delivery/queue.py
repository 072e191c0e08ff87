"""The durable outbound queue: a background service that delivers queued rows.

The pipeline inserts one ``OutboundMessage`` row per remote domain (status "queued",
one blob reference per row) and calls ``wake()``. The service claims due rows with a
lease (their ``next_attempt_at`` is pushed forward while they are in flight, so a crash
only delays them), delivers them with bounded concurrency (overall and per domain),
and records the outcome:

- every recipient delivered -> "sent";
- some recipients failed permanently -> a bounce (RFC 3464 DSN) to the sender for them;
- some recipients must be retried -> "deferred" with only those recipients, next try
  after an exponential back-off (1 min, 2, 4, … capped at 4 h, ±10 % jitter), until
  ``expires_at``; after ``delay_notice_hours`` one delay notice; at expiry a bounce.

When a row becomes final ("sent" / "bounced") its blob reference is released in the same
transaction. Final rows stay for the admin view until purged. Nothing is ever sent to
the null sender (``mail_from == ""``), so bounces cannot loop. Rows survive restarts:
the service picks up whatever is due when it starts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from govmail.config import ConfigError, Settings
from govmail.delivery.dns import Resolver
from govmail.delivery.dsn import DsnRecipient, DsnReport, build_dsn
from govmail.delivery.envelope import Envelope
from govmail.delivery.outbound import OutboundDelivery, RecipientOutcome
from govmail.services import cancel_and_wait, wait_event
from govmail.store.blobs import BlobCorrupt, BlobNotFound
from govmail.store.db import Store
from govmail.store.models import OutboundMessage, utcnow
from govmail.store.repos.queue import FINAL, PENDING

log = logging.getLogger("govmail.queue")

Clock = Callable[[], datetime]

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=4)


class DsnSink(Protocol):
    """Where notices go: the delivery pipeline."""

    async def deliver(self, envelope: Envelope, raw: bytes) -> object: ...


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 1 min doubling to 4 h, ±10 %."""
    n = max(attempts, 1)
    base = min(RETRY_BASE * (1 << min(n - 1, 20)), RETRY_CAP)
    jitter = rng.uniform(0.9, 1.1) if rng is not None else random.uniform(0.9, 1.1)
    return base * jitter


class QueueError(Exception):
    """An admin operation could not be done; ``key`` names an i18n message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:
        from govmail.i18n import both

        return both(self.key, **self.params)


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A queue row as the doors show it."""

    id: int
    status: str
    mail_from: str
    domain: str
    recipients: list[str]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    expires_at: datetime
    last_error: str | None
    delay_notified: bool

    @classmethod
    def of(cls, row: OutboundMessage) -> QueueEntry:
        return cls(
            id=row.id,
            status=row.status,
            mail_from=row.mail_from,
            domain=row.domain,
            recipients=list(row.recipients),
            attempts=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            expires_at=row.expires_at,
            last_error=row.last_error,
            delay_notified=row.delay_notified,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class QueueStats:
    counts: dict[str, int]  # rows by status
    pending: int  # queued + deferred
    oldest_pending_age: float | None  # seconds since the oldest pending row was queued

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class QueueAdmin:
    """Operations for the console and the CLI; usable without a running service."""

    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock

    async def list(
        self, *, statuses: Sequence[str] | None = None, limit: int = 200, offset: int = 0
    ) -> list[QueueEntry]:
        async with self.store.read() as tx:
            rows = await tx.queue.listing(statuses=statuses, limit=limit, offset=offset)
            return [QueueEntry.of(r) for r in rows]

    async def get(self, item_id: int) -> QueueEntry:
        async with self.store.read() as tx:
            row = await tx.queue.get(item_id)
            if row is None:
                raise QueueError("queue.not_found", id=item_id)
            return QueueEntry.of(row)

    async def retry_now(self, item_id: int, *, actor: str = "system", source: str = "cli") -> None:
        """Make a pending row due at once (the running service picks it up)."""
        async with self.store.write() as tx:
            row = await tx.queue.get(item_id)
            if row is None:
                raise QueueError("queue.not_found", id=item_id)
            if row.status not in PENDING:
                raise QueueError("queue.not_pending", id=item_id, status=row.status)
            row.next_attempt_at = self.clock()
            await tx.audit.record(
                actor=actor, action="queue.retry", object_type="outbound",
                object_id=str(item_id), source=source,
            )

    async def flush(self, *, actor: str = "system", source: str = "cli") -> int:
        """Make every pending row due now; returns how many."""
        async with self.store.write() as tx:
            n = await tx.queue.make_due(self.clock())
            await tx.audit.record(
                actor=actor, action="queue.flush", object_type="outbound", object_id="*",
                after={"rows": n}, source=source,
            )
            return n

    async def delete(
        self, item_id: int, *, actor: str = "system", source: str = "cli"
    ) -> QueueEntry:
        """Remove a row without notifying anyone; a pending row's blob ref is released."""
        async with self.store.write() as tx:
            row = await tx.queue.get(item_id)
            if row is None:
                raise QueueError("queue.not_found", id=item_id)
            entry = QueueEntry.of(row)
            if row.status in PENDING:
                await tx.mail.drop_blob_refs(row.blob_id, 1)
            await tx.queue.delete(row)
            before = {k: v for k, v in entry.as_dict().items() if k != "last_error"}
            before = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in before.items()}
            await tx.audit.record(
                actor=actor, action="queue.delete", object_type="outbound",
                object_id=str(item_id), before=before, source=source,
            )
            return entry

    async def stats(self) -> QueueStats:
        async with self.store.read() as tx:
            counts = await tx.queue.stats()
            oldest = await tx.queue.oldest_pending()
        pending = sum(counts.get(s, 0) for s in PENDING)
        age = (self.clock() - oldest).total_seconds() if oldest is not None else None
        return QueueStats(counts, pending, max(age, 0.0) if age is not None else None)

    async def purge(self, older_than: timedelta) -> int:
        """Delete final rows that became final more than ``older_than`` ago."""
        cutoff = self.clock() - older_than
        total = 0
        while True:
            async with self.store.write() as tx:
                n = await tx.queue.purge_final(cutoff)
            total += n
            if n < 1000:
                return total


@dataclass(slots=True)
class _Job:
    id: int
    blob_id: int
    mail_from: str
    domain: str
    recipients: list[str]
    created_at: datetime
    expires_at: datetime
    delay_notified: bool

    @classmethod
    def of(cls, row: OutboundMessage) -> _Job:
        return cls(
            row.id, row.blob_id, row.mail_from, row.domain, list(row.recipients),
            row.created_at, row.expires_at, row.delay_notified,
        )


@dataclass(slots=True)
class _Inflight:
    tasks: dict[asyncio.Task[None], _Job] = field(default_factory=dict)

    def domains(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for job in self.tasks.values():
            out[job.domain] = out.get(job.domain, 0) + 1
        return out

    def ids(self) -> set[int]:
        return {job.id for job in self.tasks.values()}


class QueueService:
    """Delivers the outbound queue in the background (service name "queue")."""

    name = "queue"

    def __init__(
        self,
        store: Store,
        settings: Settings,
        pipeline: DsnSink,
        *,
        resolver: Resolver | None = None,
        delivery: OutboundDelivery | None = None,
        clock: Clock = utcnow,
        concurrency: int = 20,
        per_domain: int = 4,
        lease: timedelta = timedelta(minutes=30),
        max_idle: float = 30.0,
        keep_final_days: int = 30,
        stop_grace: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.pipeline = pipeline
        self.clock = clock
        self.concurrency = concurrency
        self.per_domain = per_domain
        self.lease = lease
        self.max_idle = max_idle
        self.keep_final = timedelta(days=keep_final_days)
        self.stop_grace = stop_grace
        self.rng = rng or random.Random()
        self.hostname = settings.general.hostname
        self.admin = QueueAdmin(store, clock)
        if delivery is None:
            q = settings.queue
            resolver = resolver or Resolver(q.dns_servers or None, q.dns_port)
            try:
                delivery = OutboundDelivery.from_settings(q, self.hostname, resolver)
            except ValueError as exc:
                raise ConfigError(f"queue.smarthost: {exc}") from None
        self.delivery = delivery
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight = _Inflight()
        self._domain_locks: dict[str, asyncio.Semaphore] = {}
        self._last_purge: datetime | None = None
        self.attempts = 0  # delivery attempts made by this process (for metrics)

    # -- Service protocol ------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="queue")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        tasks = list(self._inflight.tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.stop_grace)
            cut = [self._inflight.tasks[t].id for t in pending if t in self._inflight.tasks]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if cut:
                # Interrupted attempts are due again at once instead of after the lease.
                async with self.store.write() as tx:
                    await tx.queue.make_due(self.clock(), cut)

    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """New rows were committed (called by the pipeline)."""
        self._wake.set()

    async def stats(self) -> QueueStats:
        return await self.admin.stats()

    # -- the loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self._maybe_purge()
                started = await self._fill()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.exception("queue loop failed")
                await asyncio.sleep(min(2.0**failures, self.max_idle))
                continue
            if started:
                continue
            timeout = await self._idle_time()
            if timeout > 0:
                await wait_event(self._wake, timeout)

    async def _fill(self) -> int:
        free = self.concurrency - len(self._inflight.tasks)
        if free <= 0:
            return 0
        busy = self._inflight.domains()
        room = {d: self.per_domain - n for d, n in busy.items()}
        jobs = await self._claim(free, room)
        for job in jobs:
            task = asyncio.create_task(self._process(job), name=f"queue-{job.id}")
            self._inflight.tasks[task] = job
            task.add_done_callback(self._task_done)
        return len(jobs)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("queue task failed", exc_info=task.exception())
        self._wake.set()

    async def _claim(self, limit: int, room: dict[str, int] | None) -> list[_Job]:
        now = self.clock()
        async with self.store.write() as tx:
            rows = await tx.queue.claim_due(
                now, now + self.lease, limit=limit,
                exclude_ids=self._inflight.ids(), per_domain=room,
                domain_limit=self.per_domain if room is not None else None,
            )
            return [_Job.of(r) for r in rows]

    async def _idle_time(self) -> float:
        if len(self._inflight.tasks) >= self.concurrency:
            return self.max_idle
        async with self.store.read() as tx:
            nxt = await tx.queue.next_due_at()
        if nxt is None:
            return self.max_idle
        delta = (nxt - self.clock()).total_seconds()
        if delta <= 0:
            # Due rows we could not take (their domains are busy): a finishing task wakes us.
            return self.max_idle if self._inflight.tasks else 1.0
        return min(delta, self.max_idle)

    async def _maybe_purge(self) -> None:
        now = self.clock()
        if self._last_purge is not None and now - self._last_purge < timedelta(hours=1):
            return
        self._last_purge = now
        n = await self.admin.purge(self.keep_final)
        if n:
            log.info("purged final queue rows", extra={"rows": n})

    async def run_once(self) -> int:
        """Attempt every row that is due now and wait for the outcomes; returns how many.

        For tests and for running the queue by hand; the background loop does the same
        continuously. Rows deferred during this call are not tried again by it.
        """
        total = 0
        sem = asyncio.Semaphore(self.concurrency)

        async def one(job: _Job) -> None:
            async with sem:
                await self._process(job)

        while True:
            jobs = await self._claim(self.concurrency, None)
            if not jobs:
                return total
            total += len(jobs)
            await asyncio.gather(*(one(j) for j in jobs))

    # -- one row ---------------------------------------------------------------------------
    def _domain_lock(self, domain: str) -> asyncio.Semaphore:
        lock = self._domain_locks.get(domain)
        if lock is None:
            lock = self._domain_locks[domain] = asyncio.Semaphore(self.per_domain)
        return lock

    async def _process(self, job: _Job) -> None:
        raw = b""
        try:
            async with self.store.read() as tx:
                blob = await tx.mail.blob_by_id(job.blob_id)
            if blob is None:
                raise BlobNotFound(f"blob row {job.blob_id}")
            raw = await self.store.blobs.get(blob.sha256)
        except (BlobNotFound, BlobCorrupt) as exc:
            outcomes = self._local(job, "failed", "5.3.0", f"message content unreadable: {exc}")
        except OSError as exc:
            outcomes = self._local(job, "retry", "4.3.0", f"message content unreadable: {exc}")
        else:
            try:
                async with self._domain_lock(job.domain):
                    self.attempts += 1
                    outcomes = await self.delivery.deliver(
                        job.domain, job.mail_from, job.recipients, raw
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("outbound delivery crashed", extra={"queue_row": job.id})
                outcomes = self._local(job, "retry", "4.3.0", f"{type(exc).__name__}: {exc}")
        await self._record(job, outcomes, raw)

    @staticmethod
    def _local(job: _Job, result: str, status: str, detail: str) -> list[RecipientOutcome]:
        return [
            RecipientOutcome(r, result, status, problem="local", detail=detail)  # type: ignore[arg-type]
            for r in job.recipients
        ]

    async def _record(self, job: _Job, outcomes: list[RecipientOutcome], raw: bytes) -> None:
        now = self.clock()
        delivered = [o for o in outcomes if o.result == "delivered"]
        failed = [o for o in outcomes if o.result == "failed"]
        retry = [o for o in outcomes if o.result == "retry"]
        expired = bool(retry) and now >= job.expires_at
        expired_set: set[str] = set()
        if expired:
            expired_set = {o.address for o in retry}
            failed += [replace(o, result="failed") for o in retry]
            retry = []
        for o in delivered:
            log.info("outbound delivered", extra={"queue_row": job.id, "rcpt": o.address,
                                                  "remote": o.remote_mta, "reply": o.reply})
        for o in failed:
            log.warning("outbound bounced", extra={"queue_row": job.id, "rcpt": o.address,
                                                   "error": o.diagnostic,
                                                   "expired": o.address in expired_set})
        for o in retry:
            log.info("outbound deferred", extra={"queue_row": job.id, "rcpt": o.address,
                                                 "error": o.diagnostic})

        notify = bool(job.mail_from)
        if failed and notify:
            await self._notify(job, "failed", failed, expired_set, raw, now)
        delay_sent = False
        if (
            retry
            and notify
            and not job.delay_notified
            and now - job.created_at >= timedelta(hours=self.settings.queue.delay_notice_hours)
        ):
            delay_sent = await self._notify(job, "delayed", retry, set(), raw, now)

        async with self.store.write() as tx:
            row = await tx.queue.get(job.id)
            if row is None or row.status in FINAL:
                return  # deleted (or finished) meanwhile: its blob ref is already released
            row.attempts += 1
            if delay_sent:
                row.delay_notified = True
            problems = failed + retry
            row.last_error = (
                "; ".join(f"{o.address}: {o.diagnostic}" for o in problems)[:4000]
                if problems
                else None
            )
            pending = {o.address for o in retry}
            remaining = [r for r in job.recipients if r in pending]
            if remaining:
                row.status = "deferred"
                row.recipients = remaining
                row.next_attempt_at = min(
                    now + retry_delay(row.attempts, self.rng), job.expires_at
                )
            else:
                row.status = "bounced" if failed else "sent"
                if failed:
                    row.recipients = [o.address for o in failed]
                row.next_attempt_at = now
                await tx.mail.drop_blob_refs(row.blob_id, 1)

    async def _notify(
        self,
        job: _Job,
        kind: str,
        outcomes: list[RecipientOutcome],
        expired: set[str],
        raw: bytes,
        now: datetime,
    ) -> bool:
        lifetime = round((job.expires_at - job.created_at).total_seconds() / 3600)
        report = DsnReport(
            kind=kind,  # type: ignore[arg-type]
            reporting_mta=self.hostname,
            original_sender=job.mail_from,
            arrival=job.created_at,
            recipients=[
                DsnRecipient(
                    address=o.address,
                    status="4.4.7" if o.address in expired else o.status,
                    remote_mta=o.remote_mta,
                    reply=o.reply,
                    problem=o.problem,
                    detail=o.detail,
                    last_attempt=now,
                    expired=o.address in expired,
                )
                for o in outcomes
            ],
            original=raw,
            will_retry_until=job.expires_at if kind == "delayed" else None,
            lifetime_hours=lifetime,
            timezone=self.settings.general.timezone,
        )
        dsn = build_dsn(report, now=now)
        env = Envelope(mail_from="", rcpt_to=[job.mail_from], source="system")
        try:
            await self.pipeline.deliver(env, dsn)
        except Exception:
            log.exception(
                "could not inject a delivery status notification",
                extra={"queue_row": job.id, "kind": kind, "to": job.mail_from},
            )
            return False
        log.info("delivery status notification sent",
                 extra={"queue_row": job.id, "kind": kind, "to": job.mail_from,
                        "recipients": len(outcomes)})
        return True
