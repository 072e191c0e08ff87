"""A mailbox's life (R2): transfer, suspend, archive on leaving, delete after retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from govmail.directory.base import snapshot
from govmail.directory.errors import DirectoryError
from govmail.directory.mailboxes import MailboxOps
from govmail.store.models import Alias, Mailbox, utcnow


class LifecycleOps(MailboxOps):
    async def transfer(
        self, address: str, to_agency: str | int, *, position: str | None = None
    ) -> Mailbox:
        """Move a person to another unit; mail is kept.

        Within the same domain the address stays. Into an agency of another domain the
        mailbox gets an address there, and the old one keeps working as an alias for
        ``alias_keep_days``.
        """
        m = await self.mailbox(address)
        if m.status == "archived":
            raise DirectoryError("mailbox.archived", address=m.address)
        target = await self.agency(to_agency)
        before = snapshot(m)
        new_domain = await self.agency_domain(target)
        if new_domain.id != m.domain_id:
            old_address = m.address
            local = await self.propose_local_part(new_domain, m.full_name)
            if m.kind == "agency":
                local = await self.free_local_part(new_domain, m.local_part, for_person=False)
            m.domain_id = new_domain.id
            m.local_part = local
            m.address = f"{local}@{new_domain.name}"
            await self.tx.flush()
            keep = self.settings.alias_keep_days
            await self.repo.add(
                Alias(
                    address=old_address,
                    domain_id=before["domain_id"],
                    mailbox_id=m.id,
                    reason="transfer",
                    expires_at=utcnow() + timedelta(days=keep) if keep else None,
                )
            )
        m.agency_id = target.id
        if position is not None:
            m.position = position or None
        await self.tx.flush()
        await self.audit("mailbox.transfer", "mailbox", m.address, before, snapshot(m))
        return m

    async def suspend(self, address: str) -> Mailbox:
        m = await self.mailbox(address)
        if m.status != "active":
            raise DirectoryError("mailbox.not_active", address=m.address, status=m.status)
        before = snapshot(m)
        m.status = "suspended"
        m.suspended_at = utcnow()
        await self.tx.flush()
        await self.audit("mailbox.suspend", "mailbox", m.address, before, snapshot(m))
        return m

    async def reactivate(self, address: str) -> Mailbox:
        m = await self.mailbox(address)
        if m.status == "active":
            raise DirectoryError("mailbox.already_active", address=m.address)
        before = snapshot(m)
        m.status = "active"
        m.suspended_at = None
        m.archived_at = None
        m.delete_after = None
        await self.tx.flush()
        await self.audit("mailbox.reactivate", "mailbox", m.address, before, snapshot(m))
        return m

    async def archive(self, address: str) -> Mailbox:
        """On leaving: login refused, mail retained, address held for the retention period."""
        m = await self.mailbox(address)
        if m.status == "archived":
            raise DirectoryError("mailbox.archived", address=m.address)
        before = snapshot(m)
        now = utcnow()
        m.status = "archived"
        m.archived_at = now
        m.delete_after = now + timedelta(days=self.settings.archive_retention_days)
        for group in await self.repo.groups():
            await self.repo.remove_group_member(group.id, m.id)
        for handler, _agency_mb in await self.repo.handled_by(m.id):
            await self.repo.remove(handler)
        await self.tx.flush()
        await self.audit("mailbox.archive", "mailbox", m.address, before, snapshot(m))
        return m

    async def purge_due(self, now: datetime | None = None) -> list[str]:
        """Delete archived mailboxes whose retention has passed; returns their addresses."""
        done: list[str] = []
        for m in await self.repo.mailboxes_due_for_deletion(now or utcnow()):
            before = snapshot(m)
            for folder in await self.tx.mail.folders_of(m.id):
                await self.tx.mail.expunge(folder, await self.tx.mail.messages(folder.id))
            for alias in await self.repo.aliases_of(m.id):
                await self.repo.remove(alias)
            await self.repo.remove(m)
            await self.audit("mailbox.delete", "mailbox", before["address"], before, None)
            done.append(before["address"])
        return done

    async def purge_expired_aliases(self, now: datetime | None = None) -> list[str]:
        done: list[str] = []
        for alias in await self.repo.expired_aliases(now or utcnow()):
            done.append(alias.address)
            await self.audit("alias.expire", "alias", alias.address, snapshot(alias), None)
            await self.repo.remove(alias)
        return done
