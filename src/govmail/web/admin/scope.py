"""What an administrator (or an API token) may act on.

An installation administrator acts on everything. An agency administrator acts on the
agencies of its subtree (``Agency.path`` prefix) and on the mailboxes, groups and tokens
that belong to them. A check that fails raises ``OutOfScope`` inside the directory
transaction, so nothing of the attempted change lands; the door then answers 403 and
records the refusal in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from govmail.directory.service import DirectoryOps
from govmail.store.models import AdminRole, Agency, Group, Mailbox
from govmail.store.tx import Tx


class OutOfScope(Exception):
    """An attempt on something outside the actor's subtree (or an installation-wide
    operation by an agency administrator)."""

    def __init__(self, action: str, object_type: str, object_id: str) -> None:
        super().__init__(f"{action} {object_type} {object_id}")
        self.action = action
        self.object_type = object_type
        self.object_id = object_id


@dataclass(slots=True)
class Scope:
    everything: bool
    roots: tuple[Agency, ...] = ()
    _domain_ids: set[int] | None = field(default=None, repr=False)

    # -- agencies ------------------------------------------------------------------------
    def covers(self, agency: Agency | None) -> bool:
        if self.everything:
            return True
        if agency is None:
            return False
        return any(agency.path.startswith(root.path) for root in self.roots)

    def require(self, agency: Agency | None, action: str, object_id: str | None = None) -> None:
        if not self.covers(agency):
            ident = object_id or (agency.code or str(agency.id) if agency else "-")
            raise OutOfScope(action, "agency", ident)

    async def agency_ids(self, tx: Tx) -> list[int] | None:
        """Ids of every agency in scope (None: no restriction)."""
        if self.everything:
            return None
        ids: set[int] = set()
        for root in self.roots:
            ids.update(a.id for a in await tx.directory.agencies(under=root, active_only=False))
        return sorted(ids)

    async def agencies(self, tx: Tx, *, active_only: bool = True) -> list[Agency]:
        """Agencies in scope, in tree order."""
        if self.everything:
            return list(await tx.directory.agencies(active_only=active_only))
        seen: dict[int, Agency] = {}
        for root in self.roots:
            for a in await tx.directory.agencies(under=root, active_only=active_only):
                seen.setdefault(a.id, a)
        return sorted(seen.values(), key=lambda a: [int(x) for x in a.path.strip("/").split("/")])

    # -- mailboxes -----------------------------------------------------------------------
    async def covers_mailbox(self, tx: Tx, mailbox: Mailbox) -> bool:
        if self.everything:
            return True
        if mailbox.agency_id is None:
            return False
        return self.covers(await tx.directory.agency_by_id(mailbox.agency_id))

    async def require_mailbox(self, ops: DirectoryOps, mailbox: Mailbox, action: str) -> None:
        if not await self.covers_mailbox(ops.tx, mailbox):
            raise OutOfScope(action, "mailbox", mailbox.address)

    # -- groups (attached to a domain) ---------------------------------------------------
    async def domain_ids(self, ops: DirectoryOps) -> set[int] | None:
        """Domains an agency administrator's groups may live on: its roots' domains and
        the domains of agencies in its subtree. None: every domain."""
        if self.everything:
            return None
        if self._domain_ids is None:
            ids: set[int] = set()
            for root in self.roots:
                ids.add((await ops.agency_domain(root)).id)
                for a in await ops.repo.agencies(under=root, active_only=False):
                    if a.domain_id is not None:
                        ids.add(a.domain_id)
            self._domain_ids = ids
        return self._domain_ids

    async def require_group(self, ops: DirectoryOps, group: Group, action: str) -> None:
        allowed = await self.domain_ids(ops)
        if allowed is not None and group.domain_id not in allowed:
            raise OutOfScope(action, "group", group.address)

    def require_everything(self, action: str, object_type: str, object_id: str) -> None:
        if not self.everything:
            raise OutOfScope(action, object_type, object_id)


async def scope_of_roles(tx: Tx, roles: Sequence[AdminRole]) -> Scope:
    if any(r.role == "installation_admin" for r in roles):
        return Scope(True)
    roots: list[Agency] = []
    for r in roles:
        if r.role == "agency_admin" and r.agency_id is not None:
            a = await tx.directory.agency_by_id(r.agency_id)
            if a is not None:
                roots.append(a)
    return Scope(False, tuple(roots))


async def scope_of_agency(tx: Tx, agency_id: int | None) -> Scope:
    """The scope of an API token: its agency's subtree, or everything."""
    if agency_id is None:
        return Scope(True)
    a = await tx.directory.agency_by_id(agency_id)
    return Scope(False, (a,) if a is not None else ())
