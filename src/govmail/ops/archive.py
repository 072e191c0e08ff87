"""The archive journal: a hash-chained record of every message sent or received by the
agencies named in ``archive.agencies`` (their sub-units included).

Each entry holds the message body's hash (the body itself stays in the blob store, its
reference count raised so that nothing deletes it) and ``hash = SHA-256(previous hash |
seq | time | direction | agency | mailbox | Message-ID | body hash | size)``. The head of
the chain (last seq and hash) is kept apart in ``ops_state``: removing, changing or
reordering any entry, dropping the newest ones, or damaging an archived body is found by
``govmail archive verify``. Retention (``archive.retention_days``) removes old *content*
but keeps each entry's row, marked purged, so the chain still verifies; mailboxes under a
legal hold keep their content whatever its age.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from govmail.config import ArchiveSettings
from govmail.store.blobs import BlobCorrupt, BlobNotFound
from govmail.store.db import Store
from govmail.store.models import utcnow
from govmail.store.models_ops import ArchiveEntry
from govmail.store.repos.ops import OpsRepo

if TYPE_CHECKING:
    from govmail.delivery.envelope import Envelope
    from govmail.delivery.pipeline import DeliveryResult
    from govmail.mail.parsed import ParsedMessage

log = logging.getLogger("govmail.archive")
GENESIS = "0" * 64
HEAD = "archive_head"
AGENCY_CACHE_SECONDS = 60.0


def entry_hash(
    prev: str, seq: int, at: datetime, direction: str, agency: str, mailbox: str,
    message_id: str | None, sha: str, size: int,
) -> str:
    at_utc = at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    text = "|".join(
        [prev, str(seq), at_utc, direction, agency, mailbox, message_id or "", sha, str(size)]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    purged: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ArchiveJournal:
    """The after-delivery hook and the journal's maintenance (verify, purge, holds)."""

    def __init__(self, store: Store, settings: ArchiveSettings) -> None:
        self.store = store
        self.settings = settings
        self._lock = asyncio.Lock()
        self._agencies: dict[int, str] | None = None
        self._agencies_at = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.settings.agencies)

    async def _archived_agencies(self) -> dict[int, str]:
        now = time.monotonic()
        if self._agencies is None or now - self._agencies_at > AGENCY_CACHE_SECONDS:
            async with self.store.read() as tx:
                self._agencies = await OpsRepo(tx.session, self.store.dialect).agencies_under(
                    self.settings.agencies
                )
            self._agencies_at = now
        return self._agencies

    async def __call__(
        self, env: Envelope, parsed: ParsedMessage, result: DeliveryResult
    ) -> None:
        if not self.enabled or result.stored is None:
            return
        agencies = await self._archived_agencies()
        if not agencies:
            return
        stored = result.stored
        async with self.store.read() as tx:
            repo = OpsRepo(tx.session, self.store.dialect)
            mailbox_ids = {c.mailbox_id for c in stored.copies}
            sender_id: int | None = None
            if env.authenticated and env.auth_user:
                sender = await repo.mailbox_by_address(env.auth_user)
                if sender is not None:
                    sender_id = sender.id
                    mailbox_ids.add(sender.id)
            mailboxes = await repo.mailboxes_by_ids(mailbox_ids)
            size = await repo.blob_size(stored.blob_sha256) or parsed.size
        items: list[tuple[str, str, str]] = []  # (direction, agency code, address)
        for m in sorted(mailboxes, key=lambda m: m.address):
            if m.agency_id is None or m.agency_id not in agencies:
                continue
            direction = "out" if m.id == sender_id else "in"
            items.append((direction, agencies[m.agency_id], m.address))
        if items:
            await self.append(items, parsed.message_id, stored.blob_sha256, size)

    async def append(
        self, items: Sequence[tuple[str, str, str]], message_id: str | None, sha: str, size: int
    ) -> list[int]:
        """Add one entry per (direction, agency code, mailbox address); returns their seqs."""
        seqs: list[int] = []
        async with self._lock, self.store.write() as tx:
            repo = OpsRepo(tx.session, self.store.dialect)
            await repo.lock_state(HEAD)
            head = await repo.state(HEAD, for_update=True) or {}
            seq = int(head.get("seq", 0))
            prev = str(head.get("hash", GENESIS))
            for direction, agency, address in items:
                seq += 1
                at = utcnow()
                h = entry_hash(prev, seq, at, direction, agency, address, message_id, sha, size)
                await repo.add_archive_entry(
                    ArchiveEntry(
                        seq=seq, at=at, direction=direction, agency_code=agency,
                        mailbox_address=address, message_id=message_id, blob_sha256=sha,
                        size=size, prev_hash=prev, hash=h,
                    )
                )
                await repo.add_blob_ref(sha)
                seqs.append(seq)
                prev = h
            await repo.set_state(HEAD, {"seq": seq, "hash": prev})
        return seqs

    async def verify(self, *, content: bool = True, batch: int = 2000) -> VerifyReport:
        report = VerifyReport()
        async with self.store.read() as tx:
            head = await OpsRepo(tx.session, self.store.dialect).state(HEAD) or {}
        expected_seq, prev = 1, GENESIS
        after = 0
        while True:
            async with self.store.read() as tx:
                rows = await OpsRepo(tx.session, self.store.dialect).archive_entries(after, batch)
            if not rows:
                break
            for e in rows:
                report.entries += 1
                if e.seq != expected_seq:
                    report.problems.append(
                        (expected_seq, f"entries {expected_seq}…{e.seq - 1} are missing")
                    )
                if e.prev_hash != prev:
                    report.problems.append((e.seq, "does not follow the previous entry"))
                h = entry_hash(
                    e.prev_hash, e.seq, e.at, e.direction, e.agency_code, e.mailbox_address,
                    e.message_id, e.blob_sha256, e.size,
                )
                if h != e.hash:
                    report.problems.append((e.seq, "its fields were changed"))
                if e.purged_at is not None:
                    report.purged += 1
                elif content:
                    problem = await self._content_problem(e.blob_sha256)
                    if problem:
                        report.problems.append((e.seq, problem))
                prev, expected_seq, after = e.hash, e.seq + 1, e.seq
        head_seq = int(head.get("seq", 0))
        if head_seq != expected_seq - 1:
            report.problems.append(
                (expected_seq, f"the journal ends at {expected_seq - 1} but its head is "
                               f"{head_seq}: the newest entries were removed")
            )
        elif head_seq and head.get("hash") != prev:
            report.problems.append((head_seq, "the last entry differs from the recorded head"))
        return report

    async def _content_problem(self, sha: str) -> str | None:
        try:
            await self.store.blobs.get(sha)
        except BlobNotFound:
            return f"archived message {sha[:12]}… is missing"
        except BlobCorrupt:
            return f"archived message {sha[:12]}… is damaged"
        return None

    async def purge(self, now: datetime | None = None, batch: int = 1000) -> int:
        """Drop the content of entries past retention (legal holds excepted)."""
        now = now or utcnow()
        cutoff = now - timedelta(days=self.settings.retention_days)
        total = 0
        while True:
            async with self.store.write() as tx:
                repo = OpsRepo(tx.session, self.store.dialect)
                held = {h.mailbox_address for h in await repo.legal_holds()}
                rows = await repo.expired_archive_entries(cutoff, held, batch)
                for e in rows:
                    e.purged_at = now
                    await repo.drop_blob_ref(e.blob_sha256)
            total += len(rows)
            if len(rows) < batch:
                break
        if total:
            log.info("archive retention", extra={"purged": total})
        return total

    async def hold(self, address: str, reason: str, by: str) -> bool:
        async with self.store.write() as tx:
            return await OpsRepo(tx.session, self.store.dialect).add_legal_hold(
                address.strip().lower(), reason, by
            )

    async def release(self, address: str) -> bool:
        async with self.store.write() as tx:
            n = await OpsRepo(tx.session, self.store.dialect).remove_legal_hold(
                address.strip().lower()
            )
        return n > 0
