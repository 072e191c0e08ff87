"""Queries over the durable outbound queue.

A row is *pending* while its status is "queued" (never tried) or "deferred" (tried, will
be retried), and *final* once "sent" or "bounced". For final rows ``next_attempt_at``
holds the time the row became final (used by the admin view and the purge).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import OutboundMessage

PENDING = ("queued", "deferred")
FINAL = ("sent", "bounced")


class QueueRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, item: OutboundMessage) -> OutboundMessage:
        self.s.add(item)
        await self.s.flush()
        return item

    async def get(self, item_id: int) -> OutboundMessage | None:
        return await self.s.get(OutboundMessage, item_id)

    async def due(self, now: datetime, limit: int = 100) -> Sequence[OutboundMessage]:
        return (
            await self.s.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.status.in_(PENDING),
                    OutboundMessage.next_attempt_at <= now,
                )
                .order_by(OutboundMessage.next_attempt_at)
                .limit(limit)
            )
        ).all()

    async def claim_due(
        self,
        now: datetime,
        lease_until: datetime,
        *,
        limit: int,
        exclude_ids: Collection[int] = (),
        per_domain: dict[str, int] | None = None,
        domain_limit: int | None = None,
    ) -> list[OutboundMessage]:
        """Pick due rows and push their ``next_attempt_at`` to ``lease_until``.

        The lease keeps another worker (or this one) from picking a row that is being
        delivered; if the process dies, the row becomes due again when the lease runs
        out. ``per_domain`` maps a domain to how many more rows of it may be taken;
        ``domain_limit`` is that number for domains not in the map (None: no limit).
        Rows are locked with SKIP LOCKED on PostgreSQL, so concurrent claimers never
        take the same row; SQLite write transactions are serialised anyway.
        """
        q = (
            select(OutboundMessage)
            .where(
                OutboundMessage.status.in_(PENDING),
                OutboundMessage.next_attempt_at <= now,
            )
            .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
            .limit(max(limit * 4, limit + len(exclude_ids)))
            .with_for_update(skip_locked=True)
        )
        if exclude_ids:
            q = q.where(OutboundMessage.id.not_in(list(exclude_ids)))
        full = [d for d, left in (per_domain or {}).items() if left <= 0]
        if full:
            q = q.where(OutboundMessage.domain.not_in(full))
        taken: list[OutboundMessage] = []
        room = dict(per_domain or {})
        for row in (await self.s.scalars(q)).all():
            if len(taken) >= limit:
                break
            left = room.get(row.domain, domain_limit)
            if left is not None:
                if left <= 0:
                    continue
                room[row.domain] = left - 1
            row.next_attempt_at = lease_until
            taken.append(row)
        await self.s.flush()
        return taken

    async def next_due_at(self) -> datetime | None:
        return await self.s.scalar(
            select(func.min(OutboundMessage.next_attempt_at)).where(
                OutboundMessage.status.in_(PENDING)
            )
        )

    async def listing(
        self, *, statuses: Sequence[str] | None = None, limit: int = 200, offset: int = 0
    ) -> Sequence[OutboundMessage]:
        q = select(OutboundMessage)
        if statuses:
            q = q.where(OutboundMessage.status.in_(list(statuses)))
        return (
            await self.s.scalars(q.order_by(OutboundMessage.id.desc()).limit(limit).offset(offset))
        ).all()

    async def stats(self) -> dict[str, int]:
        rows = await self.s.execute(
            select(OutboundMessage.status, func.count(OutboundMessage.id)).group_by(
                OutboundMessage.status
            )
        )
        return {status: int(n) for status, n in rows.all()}

    async def oldest_pending(self) -> datetime | None:
        return await self.s.scalar(
            select(func.min(OutboundMessage.created_at)).where(
                OutboundMessage.status.in_(PENDING)
            )
        )

    async def make_due(self, now: datetime, ids: Collection[int] | None = None) -> int:
        """Set pending rows (all, or those in ``ids``) due at ``now``; returns how many."""
        stmt = (
            update(OutboundMessage)
            .where(OutboundMessage.status.in_(PENDING))
            .values(next_attempt_at=now)
        )
        if ids is not None:
            stmt = stmt.where(OutboundMessage.id.in_(list(ids)))
        result = await self.s.execute(stmt.execution_options(synchronize_session=False))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_final(self, finished_before: datetime, limit: int = 1000) -> int:
        """Delete up to ``limit`` final rows that became final before the given time."""
        ids = (
            await self.s.scalars(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.status.in_(FINAL),
                    OutboundMessage.next_attempt_at < finished_before,
                )
                .limit(limit)
            )
        ).all()
        if not ids:
            return 0
        await self.s.execute(
            delete(OutboundMessage)
            .where(OutboundMessage.id.in_(list(ids)))
            .execution_options(synchronize_session=False)
        )
        return len(ids)

    async def delete(self, item: OutboundMessage) -> None:
        await self.s.delete(item)
        await self.s.flush()
