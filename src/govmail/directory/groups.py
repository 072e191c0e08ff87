"""Aliases, distribution groups (static and dynamic), agency-mailbox handlers, roles."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from govmail.directory.agencies import AGENCY_KINDS
from govmail.directory.base import snapshot
from govmail.directory.errors import DirectoryError
from govmail.directory.lifecycle import LifecycleOps
from govmail.directory.names import validate_local_part
from govmail.store.models import (
    AdminRole,
    Alias,
    Group,
    GroupMember,
    Mailbox,
    MailboxHandler,
)

GROUP_TARGETS = ("agency_mailbox", "staff")
ADMIN_ROLES = ("installation_admin", "agency_admin")


def split_address(address: str) -> tuple[str, str]:
    address = address.strip().lower()
    if address.count("@") != 1:
        raise DirectoryError("address.invalid", address=address)
    local, domain = address.split("@")
    return local, domain


class GroupOps(LifecycleOps):
    async def _new_address(self, address: str) -> tuple[str, int]:
        local, domain = split_address(address)
        validate_local_part(local)
        dom = await self.domain(domain)
        owner = await self.repo.address_owner(f"{local}@{dom.name}")
        if owner:
            raise DirectoryError("address.taken", address=address, owner=owner)
        return f"{local}@{dom.name}", dom.id

    # -- aliases -------------------------------------------------------------------------
    async def add_alias(
        self, address: str, target: str, *, expires_at: datetime | None = None
    ) -> Alias:
        full, domain_id = await self._new_address(address)
        m = await self.mailbox(target)
        a = await self.repo.add(
            Alias(address=full, domain_id=domain_id, mailbox_id=m.id, expires_at=expires_at)
        )
        await self.audit("alias.add", "alias", full, after=snapshot(a))
        return a

    async def remove_alias(self, address: str) -> None:
        a = await self.repo.alias_by_address(address)
        if a is None:
            raise DirectoryError("alias.not_found", address=address)
        await self.audit("alias.remove", "alias", a.address, snapshot(a), None)
        await self.repo.remove(a)

    # -- groups --------------------------------------------------------------------------
    async def add_group(
        self,
        address: str,
        name: str,
        *,
        rule: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> Group:
        full, domain_id = await self._new_address(address)
        if rule is not None:
            rule = await self._checked_rule(rule)
        g = await self.repo.add(
            Group(
                address=full,
                domain_id=domain_id,
                name=unicodedata.normalize("NFC", name.strip()) or full,
                kind="dynamic" if rule else "static",
                rule=rule,
                description=description,
            )
        )
        await self.audit("group.add", "group", full, after=snapshot(g))
        return g

    async def _checked_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        allowed = {"kinds", "roles", "under", "target", "include_root"}
        unknown = set(rule) - allowed
        if unknown:
            raise DirectoryError("group.bad_rule", detail=", ".join(sorted(unknown)))
        kinds = list(rule.get("kinds") or [])
        for k in kinds:
            if k not in AGENCY_KINDS:
                raise DirectoryError("agency.bad_kind", kind=k, kinds=", ".join(AGENCY_KINDS))
        target = rule.get("target", "agency_mailbox")
        if target not in GROUP_TARGETS:
            raise DirectoryError("group.bad_rule", detail=f"target={target}")
        under = rule.get("under")
        if under is not None:
            under = (await self.agency(under)).code or str((await self.agency(under)).id)
        if not kinds and not rule.get("roles") and under is None:
            raise DirectoryError("group.bad_rule", detail="kinds/roles/under")
        return {
            "kinds": kinds,
            "roles": list(rule.get("roles") or []),
            "under": under,
            "target": target,
            "include_root": bool(rule.get("include_root", False)),
        }

    async def group(self, address: str) -> Group:
        g = await self.repo.group_by_address(address)
        if g is None:
            raise DirectoryError("group.not_found", address=address)
        return g

    async def add_group_member(self, group_address: str, member: str) -> GroupMember:
        g = await self.group(group_address)
        if g.kind != "static":
            raise DirectoryError("group.is_dynamic", address=g.address)
        local, domain = split_address(member)
        m = await self.repo.mailbox_by_address(member)
        if m is None and domain in await self.repo.domain_names():
            raise DirectoryError("mailbox.not_found", address=member)
        gm = GroupMember(
            group_id=g.id,
            mailbox_id=m.id if m else None,
            address=None if m else f"{local}@{domain}",
        )
        existing = await self.repo.group_members(g.id)
        if any(e.mailbox_id == gm.mailbox_id and e.address == gm.address for e in existing):
            raise DirectoryError("group.already_member", address=member, group=g.address)
        await self.repo.add(gm)
        await self.audit("group.member_add", "group", g.address, after={"member": member})
        return gm

    async def remove_group_member(self, group_address: str, member: str) -> None:
        g = await self.group(group_address)
        for gm in await self.repo.group_members(g.id):
            m = await self.repo.mailbox_by_id(gm.mailbox_id) if gm.mailbox_id else None
            if (m and m.address == member.lower()) or gm.address == member.lower():
                await self.repo.remove(gm)
                await self.audit("group.member_remove", "group", g.address, {"member": member})
                return
        raise DirectoryError("group.not_member", address=member, group=g.address)

    async def expand_group(self, address: str) -> list[str]:
        """Every address the group delivers to now (dynamic rules evaluated)."""
        g = await self.group(address)
        out: list[str] = []
        if g.kind == "static":
            for gm in await self.repo.group_members(g.id):
                if gm.mailbox_id:
                    m = await self.repo.mailbox_by_id(gm.mailbox_id)
                    if m is not None and m.status != "archived":
                        out.append(m.address)
                elif gm.address:
                    out.append(gm.address)
            return out
        rule = g.rule or {}
        under = await self.agency(rule["under"]) if rule.get("under") else None
        agencies = await self.repo.agencies(
            under=under,
            kinds=rule.get("kinds") or None,
            roles=rule.get("roles") or None,
            include_root=bool(rule.get("include_root")),
        )
        ids = [a.id for a in agencies]
        if rule.get("target", "agency_mailbox") == "agency_mailbox":
            mbs = await self.repo.agency_mailboxes_of(ids)
        else:
            mbs = await self.repo.mailboxes(agency_ids=ids, kind="person", statuses=["active"])
        return [m.address for m in mbs]

    # -- handlers of agency mailboxes ----------------------------------------------------
    async def add_handler(
        self,
        agency_address: str,
        person_address: str,
        *,
        can_send: bool = True,
        is_clerk: bool = False,
    ) -> MailboxHandler:
        agency_mb = await self.mailbox(agency_address)
        person = await self.mailbox(person_address)
        if agency_mb.kind != "agency":
            raise DirectoryError("handler.not_agency_mailbox", address=agency_mb.address)
        if person.kind != "person" or person.status != "active":
            raise DirectoryError("handler.not_active_person", address=person.address)
        if await self.repo.handler(agency_mb.id, person.id):
            raise DirectoryError("handler.exists", address=person.address, agency=agency_mb.address)
        h = await self.repo.add(
            MailboxHandler(
                agency_mailbox_id=agency_mb.id,
                person_mailbox_id=person.id,
                can_send=can_send,
                is_clerk=is_clerk,
            )
        )
        await self.audit(
            "handler.add",
            "mailbox",
            agency_mb.address,
            after={"handler": person.address, "can_send": can_send, "is_clerk": is_clerk},
        )
        return h

    async def remove_handler(self, agency_address: str, person_address: str) -> None:
        agency_mb = await self.mailbox(agency_address)
        person = await self.mailbox(person_address)
        h = await self.repo.handler(agency_mb.id, person.id)
        if h is None:
            raise DirectoryError(
                "handler.not_found", address=person.address, agency=agency_mb.address
            )
        await self.repo.remove(h)
        await self.audit(
            "handler.remove", "mailbox", agency_mb.address, {"handler": person.address}
        )

    async def may_send_as(self, person: Mailbox, address: str) -> bool:
        """Whether ``person`` may use ``address`` as envelope sender or From."""
        address = address.strip().lower()
        if address == person.address:
            return True
        alias = await self.repo.alias_by_address(address)
        if alias is not None and alias.mailbox_id == person.id:
            return True
        target = await self.repo.mailbox_by_address(address)
        if target is None or target.kind != "agency":
            return False
        h = await self.repo.handler(target.id, person.id)
        return bool(h and h.can_send)

    # -- administrative roles ------------------------------------------------------------
    async def grant_role(self, address: str, role: str, agency: str | None = None) -> AdminRole:
        if role not in ADMIN_ROLES:
            raise DirectoryError("role.unknown", role=role, roles=", ".join(ADMIN_ROLES))
        m = await self.mailbox(address)
        scope = await self.agency(agency) if agency else None
        if role == "agency_admin" and scope is None:
            raise DirectoryError("role.needs_agency", role=role)
        r = await self.repo.add(
            AdminRole(mailbox_id=m.id, role=role, agency_id=scope.id if scope else None)
        )
        await self.audit("role.grant", "mailbox", m.address, after={"role": role, "agency": agency})
        return r
