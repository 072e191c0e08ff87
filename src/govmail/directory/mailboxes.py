"""Personal and agency mailboxes: creation, addresses, passwords, quotas, login."""

from __future__ import annotations

import unicodedata

from govmail.directory.agencies import AgencyOps
from govmail.directory.base import snapshot
from govmail.directory.errors import DirectoryError
from govmail.directory.names import (
    ascii_fold,
    first_free,
    render_local_part,
    validate_local_part,
)
from govmail.directory.passwords import MIN_LENGTH, hash_password, verify_password
from govmail.store.models import Agency, Domain, Mailbox

MAILBOX_KINDS = ("person", "agency")


class MailboxOps(AgencyOps):
    async def free_local_part(self, domain: Domain, base: str, *, for_person: bool = True) -> str:
        """``base`` or the first free ``base2``, ``base3``… (reserved names only bar persons)."""
        taken = await self.repo.local_parts_like(domain.id, base)
        reserved = self.settings.reserved_local_parts if for_person else ()
        return first_free(base, taken, reserved)

    async def propose_local_part(self, domain: Domain, full_name: str) -> str:
        template = domain.address_template or self.settings.address_template
        return await self.free_local_part(domain, render_local_part(template, full_name))

    async def add_mailbox(
        self,
        *,
        full_name: str,
        agency: str | int | Agency,
        kind: str = "person",
        position: str | None = None,
        staff_id: str | None = None,
        local_part: str | None = None,
        domain: str | None = None,
        password: str | None = None,
        password_hash: str | None = None,
        quota_mb: int | None = None,
        listed: bool = True,
        phone: str | None = None,
    ) -> Mailbox:
        full_name = unicodedata.normalize("NFC", " ".join(full_name.split()))
        if not full_name:
            raise DirectoryError("mailbox.name_required")
        if kind not in MAILBOX_KINDS:
            raise DirectoryError("mailbox.bad_kind", kind=kind)
        unit = agency if isinstance(agency, Agency) else await self.agency(agency)
        dom = await self.domain(domain) if domain else await self.agency_domain(unit)
        if staff_id is not None:
            staff_id = staff_id.strip()
            if not staff_id:
                staff_id = None
            elif await self.repo.mailbox_by_staff_id(staff_id):
                raise DirectoryError("mailbox.staff_id_exists", staff_id=staff_id)
        if local_part:
            local = validate_local_part(local_part)
            owner = await self.repo.address_owner(f"{local}@{dom.name}")
            if owner:
                raise DirectoryError("address.taken", address=f"{local}@{dom.name}", owner=owner)
            if kind == "person" and local in self.settings.reserved_local_parts:
                raise DirectoryError("address.reserved", address=f"{local}@{dom.name}")
        elif kind == "agency":
            local = await self.free_local_part(
                dom, ascii_fold(unit.short_name).replace(" ", ""), for_person=False
            )
        else:
            local = await self.propose_local_part(dom, full_name)
        if password is not None:
            password_hash = await self._checked_hash(password)
        quota = (quota_mb * 1024 * 1024) if quota_mb is not None else self.default_quota_bytes
        if quota < 0:
            raise DirectoryError("mailbox.bad_quota", quota=quota_mb)
        m = Mailbox(
            domain_id=dom.id,
            local_part=local,
            address=f"{local}@{dom.name}",
            kind=kind,
            full_name=full_name,
            position=unicodedata.normalize("NFC", position.strip()) if position else None,
            agency_id=unit.id,
            staff_id=staff_id,
            password_hash=password_hash,
            status="active",
            quota_bytes=quota,
            used_bytes=0,
            listed=listed,
            public_fields=["full_name", "position", "address"] if listed else [],
            phone=phone,
        )
        await self.repo.add(m)
        await self.tx.mail.ensure_default_folders(m.id)
        await self.audit("mailbox.add", "mailbox", m.address, after=snapshot(m))
        return m

    async def _checked_hash(self, password: str) -> str:
        if len(password) < MIN_LENGTH:
            raise DirectoryError("password.too_short", min=MIN_LENGTH)
        return await hash_password(password)

    async def set_password(self, address: str, password: str) -> Mailbox:
        m = await self.mailbox(address)
        m.password_hash = await self._checked_hash(password)
        await self.tx.flush()
        await self.audit("mailbox.password", "mailbox", m.address)
        return m

    async def set_quota(self, address: str, quota_mb: int) -> Mailbox:
        if quota_mb < 0:
            raise DirectoryError("mailbox.bad_quota", quota=quota_mb)
        m = await self.mailbox(address)
        before = snapshot(m)
        m.quota_bytes = quota_mb * 1024 * 1024
        await self.tx.flush()
        await self.audit("mailbox.quota", "mailbox", m.address, before, snapshot(m))
        return m

    async def update_person(
        self,
        address: str,
        *,
        full_name: str | None = None,
        position: str | None = None,
        listed: bool | None = None,
        phone: str | None = None,
    ) -> Mailbox:
        m = await self.mailbox(address)
        before = snapshot(m)
        if full_name is not None:
            name = unicodedata.normalize("NFC", " ".join(full_name.split()))
            if not name:
                raise DirectoryError("mailbox.name_required")
            m.full_name = name
        if position is not None:
            m.position = unicodedata.normalize("NFC", position.strip()) or None
        if listed is not None:
            m.listed = listed
        if phone is not None:
            m.phone = phone or None
        await self.tx.flush()
        after = snapshot(m)
        if after != before:
            await self.audit("mailbox.update", "mailbox", m.address, before, after)
        return m

    async def authenticate(self, address: str, password: str) -> Mailbox | None:
        """The mailbox if the password is right and the mailbox may log in, else None."""
        m = await self.repo.mailbox_by_address(address.strip())
        if m is None or m.status != "active":
            # Same work on the failure path, so timing does not reveal which accounts exist.
            await verify_password(_DUMMY_HASH, password)
            return None
        return m if await verify_password(m.password_hash, password) else None


_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "3S9Ao6J1Q0eTVLoxh+rF1gU1lEbRkQ5WPnRMzfMh2sM"
)
