"""Shared state of the directory operations: the transaction, settings, actor, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from govmail.config import DirectorySettings
from govmail.directory.errors import DirectoryError
from govmail.store.models import Agency, Domain, Mailbox
from govmail.store.tx import Tx

_SECRET_COLUMNS = {"password_hash", "totp_secret", "dkim_private_key"}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs a change, for the audit log."""

    name: str = "system"
    source: str = "cli"
    remote_addr: str | None = None


SYSTEM = Actor("system", "system")


def snapshot(obj: Any) -> dict[str, Any]:
    """The columns of a row as JSON-friendly values, secrets left out."""
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:
        if col.key in _SECRET_COLUMNS:
            continue
        v = getattr(obj, col.key)
        out[col.key] = v.isoformat() if isinstance(v, datetime) else v
    return out


class OpsBase:
    def __init__(self, tx: Tx, settings: DirectorySettings, actor: Actor, default_quota_bytes: int):
        self.tx = tx
        self.repo = tx.directory
        self.settings = settings
        self.actor = actor
        self.default_quota_bytes = default_quota_bytes

    async def audit(
        self,
        action: str,
        object_type: str,
        object_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await self.tx.audit.record(
            actor=self.actor.name,
            source=self.actor.source,
            remote_addr=self.actor.remote_addr,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )

    # -- lookups shared by every part ------------------------------------------------------
    async def domain(self, name: str) -> Domain:
        d = await self.repo.domain_by_name(name.strip().lower())
        if d is None:
            raise DirectoryError("domain.not_found", domain=name)
        return d

    async def agency(self, ref: str | int) -> Agency:
        """An agency by id, code (mã định danh) or exact official name."""
        a: Agency | None = None
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            a = await self.repo.agency_by_id(int(ref))
        if a is None and isinstance(ref, str):
            a = await self.repo.agency_by_code(ref.strip())
            if a is None:
                found = await self.repo.agencies_by_name(ref.strip())
                if len(found) > 1:
                    raise DirectoryError("agency.ambiguous", agency=ref, count=len(found))
                a = found[0] if found else None
        if a is None:
            raise DirectoryError("agency.not_found", agency=ref)
        return a

    async def mailbox(self, address: str) -> Mailbox:
        m = await self.repo.mailbox_by_address(address.strip())
        if m is None:
            raise DirectoryError("mailbox.not_found", address=address)
        return m

    async def agency_domain(self, agency: Agency) -> Domain:
        """The agency's own domain, or the nearest ancestor's."""
        ids = [int(x) for x in agency.path.strip("/").split("/") if x]
        for agency_id in reversed(ids):
            a = agency if agency_id == agency.id else await self.repo.agency_by_id(agency_id)
            if a is not None and a.domain_id is not None:
                d = await self.repo.domain_by_id(a.domain_id)
                if d is not None:
                    return d
        raise DirectoryError("agency.no_domain", agency=agency.name)
