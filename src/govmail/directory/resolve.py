"""Recipient resolution: an address -> the local mailboxes and remote addresses it means.

Mailboxes, aliases, groups (static and dynamic, nested, loop-safe) and sub-addressing
(``name+tag@domain``) are followed. The delivery pipeline and the SMTP RCPT check both
use this, so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from govmail.directory.errors import DirectoryError
from govmail.directory.service import Directory, DirectoryOps
from govmail.store.repos.directory import AddressTarget, address_target_outside_tx

Kind = Literal["local", "remote", "unknown", "disabled"]
MAX_GROUP_DEPTH = 8


@dataclass(frozen=True, slots=True)
class MailboxFacts:
    """What delivery needs to know of a recipient mailbox (no ORM object)."""

    id: int
    kind: str
    quota_bytes: int
    used_bytes: int
    agency_id: int | None


@dataclass(slots=True)
class Resolved:
    address: str
    kind: Kind
    mailbox_ids: list[int] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    # Set when the address is an agency mailbox or a group, for logs and the documents layer.
    via: str | None = None
    mailboxes: list[MailboxFacts] = field(default_factory=list)


def normalize_address(address: str) -> str:
    address = address.strip().strip("<>").strip()
    if "@" not in address:
        return address.lower()
    local, domain = address.rsplit("@", 1)
    return f"{local.lower()}@{domain.lower().rstrip('.')}"


async def resolve(
    ops: DirectoryOps,
    address: str,
    local_domains: set[str],
    _depth: int = 0,
    _seen: set[str] | None = None,
) -> Resolved:
    address = normalize_address(address)
    early = _not_local(address, local_domains)
    if early is not None:
        return early
    local, domain = address.rsplit("@", 1)
    seen = _seen if _seen is not None else set()
    if address in seen or _depth > MAX_GROUP_DEPTH:
        return Resolved(address, "local")  # a loop or absurd nesting adds nobody
    seen.add(address)

    target = await ops.repo.address_target(address)
    if target is not None and target.what in ("mailbox", "alias"):
        return _one_mailbox(address, target)
    if target is not None and target.what == "group":
        out = Resolved(address, "local", via="group")
        try:
            members = await ops.expand_group(address)
        except DirectoryError:
            members = []
        for member in members:
            r = await resolve(ops, member, local_domains, _depth + 1, seen)
            for facts in r.mailboxes:
                if facts.id not in out.mailbox_ids:
                    out.mailbox_ids.append(facts.id)
                    out.mailboxes.append(facts)
            for ra in r.remote:
                if ra not in out.remote:
                    out.remote.append(ra)
        return out
    if "+" in local:
        base = local.split("+", 1)[0]
        if base:
            r = await resolve(ops, f"{base}@{domain}", local_domains, _depth, seen)
            r.address = address
            return r
    return Resolved(address, "unknown")


async def resolve_outside_tx(
    directory: Directory, address: str, local_domains: set[str]
) -> Resolved:
    """``resolve`` with its common cases answered by one prebuilt query and no
    transaction: a remote address, a mailbox, an alias, or nothing at all. Groups and
    sub-addresses take the full path."""
    address = normalize_address(address)
    early = _not_local(address, local_domains)
    if early is not None:
        return early
    target = await address_target_outside_tx(directory.store, address)
    if target is None and "+" not in address.rsplit("@", 1)[0]:
        return Resolved(address, "unknown")
    if target is not None and target.what in ("mailbox", "alias"):
        return _one_mailbox(address, target)
    async with directory.reader() as ops:
        return await resolve(ops, address, local_domains)


def _not_local(address: str, local_domains: set[str]) -> Resolved | None:
    """The answer for an address that is not in a local domain (or not an address)."""
    if "@" not in address:
        return Resolved(address, "unknown")
    if address.rsplit("@", 1)[1] not in local_domains:
        return Resolved(address, "remote", remote=[address])
    return None


def _one_mailbox(address: str, target: AddressTarget) -> Resolved:
    if target.status == "archived":
        return Resolved(address, "disabled")
    facts = MailboxFacts(
        target.id,
        target.kind or "person",
        target.quota_bytes or 0,
        target.used_bytes or 0,
        target.agency_id,
    )
    via = "alias" if target.what == "alias" else ("agency" if facts.kind == "agency" else None)
    return Resolved(address, "local", [target.id], via=via, mailboxes=[facts])
