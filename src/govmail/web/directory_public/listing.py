"""What the public directory shows of a person, and who decides it.

A listed person always shows their full name; position, e-mail address and phone are
shown when chosen (``Mailbox.public_fields``, the field the exports of
``directory.export`` honour). The person chooses in their settings, unless an
administrator requires them listed (``ListingRequirement``): then they cannot unlist,
nor hide the fields the administrator named. Agency mailboxes are always public.
Every change goes through a directory transaction and lands in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable

from govmail.directory.errors import DirectoryError
from govmail.directory.export import PUBLIC_FIELDS
from govmail.directory.service import DirectoryOps
from govmail.store.models import Mailbox, utcnow
from govmail.store.models_api import ListingRequirement
from govmail.store.repos.admin import AdminRepo

ALWAYS = "full_name"
OPTIONAL_FIELDS = tuple(f for f in PUBLIC_FIELDS if f != ALWAYS)  # position, address, phone


def _repo(ops: DirectoryOps) -> AdminRepo:
    return AdminRepo(ops.tx.session, ops.tx.store.dialect)


def chosen_fields(fields: Iterable[str]) -> list[str]:
    """The public fields in their canonical order, full name first."""
    wanted = set(fields)
    return [ALWAYS, *(f for f in OPTIONAL_FIELDS if f in wanted)]


def _state(m: Mailbox) -> dict[str, object]:
    return {"listed": m.listed, "public_fields": list(m.public_fields or [])}


async def requirement(ops: DirectoryOps, mailbox: Mailbox) -> ListingRequirement | None:
    return await _repo(ops).listing_requirement(mailbox.id)


async def set_listing(
    ops: DirectoryOps,
    mailbox: Mailbox,
    *,
    listed: bool,
    fields: Iterable[str],
    by_person: bool,
) -> Mailbox:
    """Whether ``mailbox`` is in the public directory and which fields it shows.

    A person cannot go against an administrator's requirement; an administrator can
    (and should then lift or change the requirement, which this does not do)."""
    if mailbox.kind != "person":
        raise DirectoryError("listing.agency_always", address=mailbox.address)
    wanted = chosen_fields(fields)
    req = await requirement(ops, mailbox)
    if req is not None:
        if by_person and not listed:
            raise DirectoryError("listing.required", address=mailbox.address)
        missing = [f for f in req.fields if f not in wanted]
        if missing:
            if by_person:
                raise DirectoryError(
                    "listing.required_fields", address=mailbox.address, fields=", ".join(missing)
                )
            wanted = chosen_fields([*wanted, *missing])
    before = _state(mailbox)
    mailbox.listed = listed or req is not None
    mailbox.public_fields = wanted
    await ops.tx.flush()
    after = _state(mailbox)
    if after != before:
        await ops.audit("mailbox.listing", "mailbox", mailbox.address, before, after)
    return mailbox


async def require_listing(
    ops: DirectoryOps, mailbox: Mailbox, fields: Iterable[str] | None
) -> None:
    """An administrator requires ``mailbox`` in the directory with ``fields`` shown
    (``None`` lifts the requirement; the person's choices stay as they are)."""
    if mailbox.kind != "person":
        raise DirectoryError("listing.agency_always", address=mailbox.address)
    repo = _repo(ops)
    row = await repo.listing_requirement(mailbox.id)
    before = {"required": row is not None, "fields": list(row.fields) if row else []}
    if fields is None:
        if row is not None:
            await repo.remove(row)
            await ops.audit(
                "mailbox.listing_required",
                "mailbox",
                mailbox.address,
                before,
                {"required": False, "fields": []},
            )
        return
    required = [f for f in chosen_fields(fields) if f != ALWAYS]
    if row is None:
        row = await repo.add(
            ListingRequirement(mailbox_id=mailbox.id, fields=required, set_by=ops.actor.name)
        )
    else:
        row.fields, row.set_by, row.set_at = required, ops.actor.name, utcnow()
    shown = chosen_fields([*(mailbox.public_fields or []), *required])
    state_before = _state(mailbox)
    mailbox.listed = True
    mailbox.public_fields = shown
    await ops.tx.flush()
    after = {"required": True, "fields": required}
    if after != before or _state(mailbox) != state_before:
        await ops.audit(
            "mailbox.listing_required",
            "mailbox",
            mailbox.address,
            before,
            {**after, **_state(mailbox)},
        )
