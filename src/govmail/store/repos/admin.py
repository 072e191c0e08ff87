"""Queries of the administration console and the public directory: counts for the
dashboard, mailbox listings with paging, quota usage, groups by id, agency profiles
(mail regulation adoption) and public-directory listing requirements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import (
    Agency,
    Domain,
    Group,
    GroupMember,
    Mailbox,
    MailboxHandler,
)
from govmail.store.models_api import AgencyProfile, ListingRequirement


@dataclass(frozen=True, slots=True)
class NameRow:
    """The columns a mailbox search needs, without loading whole rows."""

    id: int
    address: str
    full_name: str


@dataclass(frozen=True, slots=True)
class Usage:
    mailboxes: int
    used_bytes: int
    quota_bytes: int  # sum of the finite quotas


class AdminRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    async def add(self, obj: Any) -> Any:
        self.s.add(obj)
        await self.s.flush()
        return obj

    async def remove(self, obj: Any) -> None:
        await self.s.delete(obj)
        await self.s.flush()

    # -- mailboxes -----------------------------------------------------------------------
    @staticmethod
    def _mailbox_filters(
        agency_ids: Sequence[int] | None,
        statuses: Sequence[str] | None,
        kind: str | None,
    ) -> list[Any]:
        where: list[Any] = []
        if agency_ids is not None:
            where.append(Mailbox.agency_id.in_(list(agency_ids)))
        if statuses:
            where.append(Mailbox.status.in_(list(statuses)))
        if kind:
            where.append(Mailbox.kind == kind)
        return where

    async def mailbox_names(
        self,
        *,
        agency_ids: Sequence[int] | None = None,
        statuses: Sequence[str] | None = None,
        kind: str | None = None,
    ) -> list[NameRow]:
        """(id, address, full name) of the matching mailboxes, in address order: the
        caller folds names (diacritic-insensitive search) and pages over the ids."""
        q = select(Mailbox.id, Mailbox.address, Mailbox.full_name).where(
            *self._mailbox_filters(agency_ids, statuses, kind)
        )
        rows = await self.s.execute(q.order_by(Mailbox.address))
        return [NameRow(int(i), a, n) for i, a, n in rows.all()]

    async def mailboxes_by_ids(self, ids: Sequence[int]) -> list[Mailbox]:
        """The mailboxes, in the order of ``ids``."""
        if not ids:
            return []
        rows = (await self.s.scalars(select(Mailbox).where(Mailbox.id.in_(list(ids))))).all()
        by_id = {m.id: m for m in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def mailbox_status_counts(
        self, agency_ids: Sequence[int] | None = None
    ) -> dict[tuple[str, str], int]:
        """{(kind, status): count}."""
        q = select(Mailbox.kind, Mailbox.status, func.count(Mailbox.id)).group_by(
            Mailbox.kind, Mailbox.status
        )
        if agency_ids is not None:
            q = q.where(Mailbox.agency_id.in_(list(agency_ids)))
        return {(k, s): int(n) for k, s, n in (await self.s.execute(q)).all()}

    async def usage(self, agency_ids: Sequence[int] | None = None) -> Usage:
        q = select(
            func.count(Mailbox.id),
            func.coalesce(func.sum(Mailbox.used_bytes), 0),
            func.coalesce(func.sum(Mailbox.quota_bytes), 0),
        ).where(Mailbox.status != "archived")
        if agency_ids is not None:
            q = q.where(Mailbox.agency_id.in_(list(agency_ids)))
        n, used, quota = (await self.s.execute(q)).one()
        return Usage(int(n), int(used), int(quota))

    async def top_usage(
        self,
        *,
        agency_ids: Sequence[int] | None = None,
        order: str = "used",
        limit: int = 50,
        offset: int = 0,
    ) -> Sequence[Mailbox]:
        """Mailboxes by space used (``order="used"``) or by share of their quota used
        (``"ratio"``; unlimited quotas last)."""
        q = select(Mailbox).where(Mailbox.status != "archived")
        if agency_ids is not None:
            q = q.where(Mailbox.agency_id.in_(list(agency_ids)))
        if order == "ratio":
            ratio = case(
                (Mailbox.quota_bytes > 0, cast(Mailbox.used_bytes, Float) / Mailbox.quota_bytes),
                else_=-1.0,
            )
            q = q.order_by(ratio.desc(), Mailbox.used_bytes.desc(), Mailbox.id)
        else:
            q = q.order_by(Mailbox.used_bytes.desc(), Mailbox.id)
        return (await self.s.scalars(q.offset(offset).limit(limit))).all()

    async def handler_counts(self, agency_mailbox_ids: Sequence[int]) -> dict[int, int]:
        if not agency_mailbox_ids:
            return {}
        rows = await self.s.execute(
            select(MailboxHandler.agency_mailbox_id, func.count(MailboxHandler.id))
            .where(MailboxHandler.agency_mailbox_id.in_(list(agency_mailbox_ids)))
            .group_by(MailboxHandler.agency_mailbox_id)
        )
        return {int(a): int(n) for a, n in rows.all()}

    # -- agencies ------------------------------------------------------------------------
    async def agency_counts(self, agency_ids: Sequence[int] | None = None) -> int:
        q = select(func.count(Agency.id)).where(Agency.active)
        if agency_ids is not None:
            q = q.where(Agency.id.in_(list(agency_ids)))
        return int(await self.s.scalar(q) or 0)

    async def mailbox_counts_by_agency(self, agency_ids: Sequence[int]) -> dict[int, int]:
        """Active and suspended mailboxes (not archived) per agency."""
        if not agency_ids:
            return {}
        rows = await self.s.execute(
            select(Mailbox.agency_id, func.count(Mailbox.id))
            .where(Mailbox.agency_id.in_(list(agency_ids)), Mailbox.status != "archived")
            .group_by(Mailbox.agency_id)
        )
        return {int(a): int(n) for a, n in rows.all() if a is not None}

    async def profile(self, agency_id: int) -> AgencyProfile | None:
        return await self.s.get(AgencyProfile, agency_id)

    async def profiles(self, agency_ids: Sequence[int] | None = None) -> dict[int, AgencyProfile]:
        q = select(AgencyProfile)
        if agency_ids is not None:
            q = q.where(AgencyProfile.agency_id.in_(list(agency_ids)))
        return {p.agency_id: p for p in (await self.s.scalars(q)).all()}

    # -- domains and groups --------------------------------------------------------------
    async def domains_by_ids(self, ids: Sequence[int]) -> dict[int, Domain]:
        if not ids:
            return {}
        rows = await self.s.scalars(select(Domain).where(Domain.id.in_(list(ids))))
        return {d.id: d for d in rows.all()}

    async def group_by_id(self, group_id: int) -> Group | None:
        return await self.s.get(Group, group_id)

    async def groups(self, domain_ids: Sequence[int] | None = None) -> Sequence[Group]:
        q = select(Group)
        if domain_ids is not None:
            q = q.where(Group.domain_id.in_(list(domain_ids)))
        return (await self.s.scalars(q.order_by(Group.address))).all()

    async def group_member_counts(self, group_ids: Sequence[int]) -> dict[int, int]:
        if not group_ids:
            return {}
        rows = await self.s.execute(
            select(GroupMember.group_id, func.count(GroupMember.id))
            .where(GroupMember.group_id.in_(list(group_ids)))
            .group_by(GroupMember.group_id)
        )
        return {int(g): int(n) for g, n in rows.all()}

    async def count_groups(self, domain_ids: Sequence[int] | None = None) -> int:
        q = select(func.count(Group.id))
        if domain_ids is not None:
            q = q.where(Group.domain_id.in_(list(domain_ids)))
        return int(await self.s.scalar(q) or 0)

    # -- public directory ----------------------------------------------------------------
    async def listing_requirement(self, mailbox_id: int) -> ListingRequirement | None:
        return await self.s.get(ListingRequirement, mailbox_id)
