"""Queries over domains, agencies, mailboxes, aliases, groups and handlers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    bindparam,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from govmail.store.db import Store

from govmail.store.models import (
    AdminRole,
    Agency,
    Alias,
    Domain,
    Group,
    GroupMember,
    Mailbox,
    MailboxHandler,
)


@dataclass(frozen=True, slots=True)
class AddressTarget:
    what: str  # "mailbox" | "alias" | "group"
    id: int  # the mailbox id (mailbox, alias) or the group id
    status: str | None
    kind: str | None
    quota_bytes: int | None
    used_bytes: int | None
    agency_id: int | None


_TARGET_COLS = (
    Mailbox.id,
    Mailbox.status,
    Mailbox.kind,
    Mailbox.quota_bytes,
    Mailbox.used_bytes,
    Mailbox.agency_id,
)
# Built once: compiled once and reused from SQLAlchemy's statement cache.
_ADDRESS_TARGET = union_all(
    select(literal_column("'mailbox'"), *_TARGET_COLS).where(Mailbox.address == bindparam("a")),
    select(literal_column("'alias'"), *_TARGET_COLS)
    .join(Alias, Alias.mailbox_id == Mailbox.id)
    .where(Alias.address == bindparam("a")),
    select(literal_column("'group'"), Group.id, null(), null(), null(), null(), null()).where(
        Group.address == bindparam("a")
    ),
)


class DirectoryRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, obj: Any) -> Any:
        self.s.add(obj)
        await self.s.flush()
        return obj

    async def remove(self, obj: Any) -> None:
        await self.s.delete(obj)
        await self.s.flush()

    # -- domains -------------------------------------------------------------------------
    async def domain_by_name(self, name: str) -> Domain | None:
        return await self.s.scalar(select(Domain).where(Domain.name == name.lower()))

    async def domain_by_id(self, domain_id: int) -> Domain | None:
        return await self.s.get(Domain, domain_id)

    async def domains(self) -> Sequence[Domain]:
        return (await self.s.scalars(select(Domain).order_by(Domain.name))).all()

    async def domain_names(self) -> set[str]:
        return set((await self.s.scalars(select(Domain.name).where(Domain.active))).all())

    # -- agencies ------------------------------------------------------------------------
    async def agency_by_id(self, agency_id: int) -> Agency | None:
        return await self.s.get(Agency, agency_id)

    async def agency_by_code(self, code: str) -> Agency | None:
        return await self.s.scalar(select(Agency).where(Agency.code == code))

    async def agencies(
        self,
        *,
        under: Agency | None = None,
        kinds: Sequence[str] | None = None,
        roles: Sequence[str] | None = None,
        include_root: bool = True,
        active_only: bool = True,
    ) -> Sequence[Agency]:
        q = select(Agency)
        if under is not None:
            prefix = under.path
            cond = Agency.path.startswith(prefix)
            q = q.where(cond) if include_root else q.where(cond, Agency.id != under.id)
        if kinds:
            q = q.where(Agency.kind.in_(list(kinds)))
        if roles:
            q = q.where(Agency.role.in_(list(roles)))
        if active_only:
            q = q.where(Agency.active)
        rows = (await self.s.scalars(q)).all()
        # Tree order: parents first, siblings by creation (paths compared as id tuples).
        return sorted(rows, key=lambda a: [int(x) for x in a.path.strip("/").split("/") if x])

    async def children(self, agency_id: int | None) -> Sequence[Agency]:
        q = select(Agency).where(
            Agency.parent_id.is_(None) if agency_id is None else Agency.parent_id == agency_id
        )
        return (await self.s.scalars(q.order_by(Agency.name))).all()

    async def agencies_by_name(self, name: str) -> Sequence[Agency]:
        return (await self.s.scalars(select(Agency).where(Agency.name == name))).all()

    async def agency_mailbox(self, agency_id: int) -> Mailbox | None:
        return await self.s.scalar(
            select(Mailbox)
            .where(Mailbox.agency_id == agency_id, Mailbox.kind == "agency")
            .order_by(Mailbox.id)
            .limit(1)
        )

    async def count_agencies(self) -> int:
        return int(await self.s.scalar(select(func.count(Agency.id))) or 0)

    # -- mailboxes -----------------------------------------------------------------------
    async def mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        return await self.s.get(Mailbox, mailbox_id)

    async def mailbox_by_address(self, address: str) -> Mailbox | None:
        return await self.s.scalar(select(Mailbox).where(Mailbox.address == address.lower()))

    async def mailbox_by_staff_id(self, staff_id: str) -> Mailbox | None:
        return await self.s.scalar(select(Mailbox).where(Mailbox.staff_id == staff_id))

    async def mailboxes(
        self,
        *,
        domain_id: int | None = None,
        agency_ids: Sequence[int] | None = None,
        kind: str | None = None,
        statuses: Sequence[str] | None = None,
        text: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Sequence[Mailbox]:
        q = select(Mailbox)
        if domain_id is not None:
            q = q.where(Mailbox.domain_id == domain_id)
        if agency_ids is not None:
            q = q.where(Mailbox.agency_id.in_(list(agency_ids)))
        if kind:
            q = q.where(Mailbox.kind == kind)
        if statuses:
            q = q.where(Mailbox.status.in_(list(statuses)))
        if text:
            like = f"%{text.lower()}%"
            q = q.where(or_(Mailbox.address.like(like), func.lower(Mailbox.full_name).like(like)))
        q = q.order_by(Mailbox.address).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return (await self.s.scalars(q)).all()

    async def mailboxes_with_staff_ids(self) -> Sequence[Mailbox]:
        return (await self.s.scalars(select(Mailbox).where(Mailbox.staff_id.is_not(None)))).all()

    async def count_mailboxes(self, *, statuses: Sequence[str] | None = None) -> int:
        q = select(func.count(Mailbox.id))
        if statuses:
            q = q.where(Mailbox.status.in_(list(statuses)))
        return int(await self.s.scalar(q) or 0)

    async def mailboxes_due_for_deletion(self, now: datetime) -> Sequence[Mailbox]:
        return (
            await self.s.scalars(
                select(Mailbox).where(
                    Mailbox.status == "archived",
                    Mailbox.delete_after.is_not(None),
                    Mailbox.delete_after <= now,
                )
            )
        ).all()

    async def address_owner(self, address: str) -> str | None:
        """What holds ``address`` already: 'mailbox', 'alias', 'group' or None."""
        address = address.lower()
        if await self.s.scalar(select(Mailbox.id).where(Mailbox.address == address)):
            return "mailbox"
        if await self.s.scalar(select(Alias.id).where(Alias.address == address)):
            return "alias"
        if await self.s.scalar(select(Group.id).where(Group.address == address)):
            return "group"
        return None

    async def local_parts_like(self, domain_id: int, prefix: str) -> set[str]:
        """Every taken local part in the domain that starts with ``prefix``."""
        out: set[str] = set()
        for model in (Mailbox, Alias, Group):
            rows = await self.s.scalars(
                select(model.address).where(
                    model.domain_id == domain_id, model.address.startswith(prefix)
                )
            )
            out.update(a.split("@", 1)[0] for a in rows)
        return out

    async def address_target(self, address: str) -> AddressTarget | None:
        """What an address is, in one query (the delivery hot path): a mailbox, an alias
        (with its mailbox's facts) or a group."""
        row = (await self.s.execute(_ADDRESS_TARGET, {"a": address.lower()})).first()
        return _target(row)

    # -- aliases -------------------------------------------------------------------------
    async def alias_by_address(self, address: str) -> Alias | None:
        return await self.s.scalar(select(Alias).where(Alias.address == address.lower()))

    async def aliases_of(self, mailbox_id: int) -> Sequence[Alias]:
        return (
            await self.s.scalars(
                select(Alias).where(Alias.mailbox_id == mailbox_id).order_by(Alias.address)
            )
        ).all()

    async def expired_aliases(self, now: datetime) -> Sequence[Alias]:
        return (
            await self.s.scalars(
                select(Alias).where(Alias.expires_at.is_not(None), Alias.expires_at <= now)
            )
        ).all()

    # -- groups --------------------------------------------------------------------------
    async def group_by_address(self, address: str) -> Group | None:
        return await self.s.scalar(select(Group).where(Group.address == address.lower()))

    async def groups(self) -> Sequence[Group]:
        return (await self.s.scalars(select(Group).order_by(Group.address))).all()

    async def group_members(self, group_id: int) -> Sequence[GroupMember]:
        return (
            await self.s.scalars(
                select(GroupMember).where(GroupMember.group_id == group_id).order_by(GroupMember.id)
            )
        ).all()

    async def group_member_mailboxes(self, group_id: int) -> Sequence[Mailbox]:
        return (
            await self.s.scalars(
                select(Mailbox)
                .join(GroupMember, GroupMember.mailbox_id == Mailbox.id)
                .where(GroupMember.group_id == group_id)
                .order_by(Mailbox.address)
            )
        ).all()

    async def agency_mailboxes_of(self, agency_ids: Sequence[int]) -> Sequence[Mailbox]:
        if not agency_ids:
            return []
        return (
            await self.s.scalars(
                select(Mailbox)
                .where(
                    Mailbox.agency_id.in_(list(agency_ids)),
                    Mailbox.kind == "agency",
                    Mailbox.status == "active",
                )
                .order_by(Mailbox.address)
            )
        ).all()

    async def remove_group_member(self, group_id: int, mailbox_id: int) -> int:
        res = await self.s.execute(
            delete(GroupMember).where(
                GroupMember.group_id == group_id, GroupMember.mailbox_id == mailbox_id
            )
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- handlers (who may act for an agency mailbox) -------------------------------------
    async def handlers_of(self, agency_mailbox_id: int) -> Sequence[tuple[MailboxHandler, Mailbox]]:
        rows = await self.s.execute(
            select(MailboxHandler, Mailbox)
            .join(Mailbox, Mailbox.id == MailboxHandler.person_mailbox_id)
            .where(MailboxHandler.agency_mailbox_id == agency_mailbox_id)
            .order_by(Mailbox.address)
        )
        return [(h, m) for h, m in rows.all()]

    async def handled_by(self, person_mailbox_id: int) -> Sequence[tuple[MailboxHandler, Mailbox]]:
        rows = await self.s.execute(
            select(MailboxHandler, Mailbox)
            .join(Mailbox, Mailbox.id == MailboxHandler.agency_mailbox_id)
            .where(MailboxHandler.person_mailbox_id == person_mailbox_id)
            .order_by(Mailbox.address)
        )
        return [(h, m) for h, m in rows.all()]

    async def handler(
        self, agency_mailbox_id: int, person_mailbox_id: int
    ) -> MailboxHandler | None:
        return await self.s.scalar(
            select(MailboxHandler).where(
                MailboxHandler.agency_mailbox_id == agency_mailbox_id,
                MailboxHandler.person_mailbox_id == person_mailbox_id,
            )
        )

    # -- roles ---------------------------------------------------------------------------
    async def roles_of(self, mailbox_id: int) -> Sequence[AdminRole]:
        return (
            await self.s.scalars(select(AdminRole).where(AdminRole.mailbox_id == mailbox_id))
        ).all()


async def address_target_outside_tx(store: Store, address: str) -> AddressTarget | None:
    """``DirectoryRepo.address_target`` without a transaction (``Store.hot``)."""
    return _target(await store.hot.first(_ADDRESS_TARGET, {"a": address.lower()}))


def _target(row: Any) -> AddressTarget | None:
    if row is None:
        return None
    return AddressTarget(row[0], int(row[1]), row[2], row[3], row[4], row[5], row[6])
