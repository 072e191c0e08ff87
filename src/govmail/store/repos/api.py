"""Queries for the REST API's bearer tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models_api import ApiToken


class ApiRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    async def add(self, token: ApiToken) -> ApiToken:
        self.s.add(token)
        await self.s.flush()
        return token

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        return await self.s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))

    async def token_by_id(self, token_id: int) -> ApiToken | None:
        return await self.s.get(ApiToken, token_id)

    async def tokens(
        self, *, agency_ids: Sequence[int] | None = None, include_revoked: bool = True
    ) -> Sequence[ApiToken]:
        """Tokens, newest first; with ``agency_ids``, only those restricted to one of them."""
        q = select(ApiToken)
        if agency_ids is not None:
            q = q.where(ApiToken.agency_id.in_(list(agency_ids)))
        if not include_revoked:
            q = q.where(ApiToken.revoked_at.is_(None))
        return (await self.s.scalars(q.order_by(ApiToken.id.desc()))).all()

    async def mark_used(self, token_id: int, now: datetime, addr: str | None, every: float) -> None:
        """Record the last use, at most once per ``every`` seconds (a write per call
        would serialise every API request on SQLite)."""
        cutoff = now - timedelta(seconds=every)
        await self.s.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < cutoff),
            )
            .values(last_used_at=now, last_used_addr=addr)
        )
