"""QUOTA (RFC 9208, ex 2087): the directory's mailbox quotas, read-only over IMAP.

Each mailbox (a person's, an agency's) is one quota root: ``""`` for the user's own, the
agency address for a shared one ("vanthu@mic.gov.vn"). The one resource is STORAGE, in
units of 1024 octets. A mailbox without a limit has no quota root. SETQUOTA is refused:
quotas are set by administrators in the directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from govmail.imap.errors import Refusal
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import GetQuota, GetQuotaRoot, SetQuota

if TYPE_CHECKING:
    from govmail.imap.session import Session


async def _usage(session: Session, mailbox_id: int) -> tuple[int, int] | None:
    """(used KiB, limit KiB), or None without a limit."""
    async with session.store.read() as tx:
        mb = await tx.directory.mailbox_by_id(mailbox_id)
    if mb is None or not mb.quota_bytes:
        return None
    return (mb.used_bytes + 1023) // 1024, mb.quota_bytes // 1024


async def cmd_getquotaroot(session: Session, cmd: GetQuotaRoot) -> None:
    ref = await session.existing_mailbox(cmd.mailbox)
    root = ref.owner_address if ref.shared else ""
    usage = await _usage(session, ref.owner_id)
    utf8 = session.utf8 or session.rev2
    session.send(r.quotaroot(ref.name, [root] if usage else [], utf8=utf8))
    if usage:
        session.send(r.quota(root, [("STORAGE", *usage)]))
    session.ok(cmd.tag, "GETQUOTAROOT completed")


async def cmd_getquota(session: Session, cmd: GetQuota) -> None:
    assert session.user is not None
    mailbox_id: int | None = None
    if cmd.root == "":
        mailbox_id = session.user.id
    else:
        for h in await session.handled():
            if h.address == cmd.root.lower():
                mailbox_id = h.mailbox_id
    usage = None if mailbox_id is None else await _usage(session, mailbox_id)
    if usage is None:
        raise Refusal(session.text("imap.no_quota_root", root=cmd.root), ResponseCode.NONEXISTENT)
    session.send(r.quota(cmd.root, [("STORAGE", *usage)]))
    session.ok(cmd.tag, "GETQUOTA completed")


async def cmd_setquota(session: Session, cmd: SetQuota) -> None:
    raise Refusal(session.text("imap.quota_from_directory"), ResponseCode.NOPERM)
