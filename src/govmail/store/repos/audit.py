"""The audit log: who changed what, when, before and after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import AuditEntry


class AuditRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(
        self,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        source: str = "cli",
        remote_addr: str | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
            source=source,
            remote_addr=remote_addr,
        )
        self.s.add(entry)
        await self.s.flush()
        return entry

    async def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> Sequence[AuditEntry]:
        q = select(AuditEntry)
        if actor:
            q = q.where(AuditEntry.actor == actor)
        if action:
            q = q.where(AuditEntry.action.startswith(action))
        if object_type:
            q = q.where(AuditEntry.object_type == object_type)
        if object_id:
            q = q.where(AuditEntry.object_id == object_id)
        if since:
            q = q.where(AuditEntry.at >= since)
        if until:
            q = q.where(AuditEntry.at < until)
        q = q.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        return (await self.s.scalars(q)).all()
