"""Queries over the durable outbound queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import OutboundMessage


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
                    OutboundMessage.status.in_(("queued", "deferred")),
                    OutboundMessage.next_attempt_at <= now,
                )
                .order_by(OutboundMessage.next_attempt_at)
                .limit(limit)
            )
        ).all()

    async def next_due_at(self) -> datetime | None:
        return await self.s.scalar(
            select(func.min(OutboundMessage.next_attempt_at)).where(
                OutboundMessage.status.in_(("queued", "deferred"))
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
                OutboundMessage.status.in_(("queued", "deferred"))
            )
        )

    async def delete(self, item: OutboundMessage) -> None:
        await self.s.delete(item)
        await self.s.flush()
