"""Agency mailboxes shared with the people who handle them: namespace, rights, audit.

Namespace: ``Shared/`` (RFC 2342 "shared" namespace), then the agency mailbox's address,
then its folders: ``Shared/vanthu@mic.gov.vn/INBOX``. Only handlers of an agency mailbox
(``directory.groups``, table ``mailbox_handler``) see it; to everyone else it does not
exist.

Rights (RFC 4314) are not stored per folder: they follow from the directory, so that
granting or removing a handler there is the one way to change them.

=========================  =============  ==========================================
who                         rights         what that allows
=========================  =============  ==========================================
owner of a folder           lrswipkxtea    everything
handler of an agency box    lrswi          read, keep \\Seen, set flags, append/copy in
clerk (văn thư) handler     lrswikxtea     also create/delete folders, delete and
                                            expunge messages, see the ACL
=========================  =============  ==========================================

So only clerks remove mail from an agency mailbox (MOVE out needs ``t`` and ``e``);
other handlers read, flag and file copies. SETACL and DELETEACL are refused: handlers are
granted by administrators in the directory.

Every change a handler makes in an agency mailbox (append, copy in or out, move, flag
changes, expunge, folder creation, deletion, renaming) and every opening of one (SELECT or
EXAMINE) and reading of message bodies is written to the audit log, one summarized entry
per command (``imap.append``, ``imap.flags``...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import DeleteAcl, GetAcl, ListRights, MyRights, SetAcl
from govmail.imap.protocol.sequence import SequenceSet

if TYPE_CHECKING:
    from govmail.imap.mailboxes import MailboxRef
    from govmail.imap.session import Session

SHARED_ROOT = "Shared"
SHARED_PREFIX = SHARED_ROOT + "/"

OWNER_RIGHTS = "lrswipkxtea"
HANDLER_RIGHTS = "lrswi"
CLERK_RIGHTS = "lrswikxtea"
ALL_RIGHTS = "lrswipkxtea"


@dataclass(slots=True, frozen=True)
class Handled:
    """An agency mailbox the user handles."""

    mailbox_id: int
    address: str  # lower-case
    is_clerk: bool

    @property
    def rights(self) -> str:
        return rights_for(self)


def rights_for(handled: Handled | None) -> str:
    """Rights on a folder: the owner's (``None``) or a handler's."""
    if handled is None:
        return OWNER_RIGHTS
    return CLERK_RIGHTS if handled.is_clerk else HANDLER_RIGHTS


def flag_rights(flags: tuple[str, ...] | list[str]) -> str:
    """Rights needed to set or clear these flags (RFC 4314 section 4)."""
    need = set()
    for f in flags:
        lower = f.lower()
        if lower == "\\seen":
            need.add("s")
        elif lower == "\\deleted":
            need.add("t")
        else:
            need.add("w")
    return "".join(sorted(need))


async def audit(
    session: Session,
    ref: MailboxRef,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """One audit entry for what a handler did in an agency mailbox (no-op elsewhere)."""
    if not ref.shared or session.user is None:
        return
    async with session.store.write() as tx:
        await tx.audit.record(
            actor=session.user.address,
            action=f"imap.{action}",
            object_type="folder",
            object_id=ref.audit_id[:320],
            after=details or {},
            source="imap",
            remote_addr=session.conn.peer_ip,
        )


def uid_summary(uids: list[int] | tuple[int, ...]) -> dict[str, Any]:
    """A compact description of many UIDs for an audit entry."""
    return {"uids": str(SequenceSet.from_numbers(uids))[:2000], "count": len(uids)}


# --------------------------------------------------------------------------- commands


async def _acl_entries(session: Session, ref: MailboxRef) -> list[tuple[str, str]]:
    if not ref.shared:
        return [(ref.owner_address, OWNER_RIGHTS)]
    async with session.store.read() as tx:
        handlers = await tx.directory.handlers_of(ref.owner_id)
    return [
        (person.address, CLERK_RIGHTS if h.is_clerk else HANDLER_RIGHTS) for h, person in handlers
    ]


async def cmd_getacl(session: Session, cmd: GetAcl) -> None:
    ref = await session.existing_mailbox(cmd.mailbox)
    session.require(ref, "a")
    entries = await _acl_entries(session, ref)
    session.send(r.acl(ref.name, entries, utf8=session.utf8))
    session.ok(cmd.tag, "GETACL completed")


async def cmd_listrights(session: Session, cmd: ListRights) -> None:
    ref = await session.existing_mailbox(cmd.mailbox)
    session.require(ref, "a")
    entries = dict(await _acl_entries(session, ref))
    if cmd.identifier in entries and not ref.shared:
        required, optional = OWNER_RIGHTS, []
    else:
        required, optional = "", list(CLERK_RIGHTS)
    session.send(r.listrights(ref.name, cmd.identifier, required, optional, utf8=session.utf8))
    session.ok(cmd.tag, "LISTRIGHTS completed")


async def cmd_myrights(session: Session, cmd: MyRights) -> None:
    ref = await session.existing_mailbox(cmd.mailbox)
    session.send(r.myrights(ref.name, ref.rights, utf8=session.utf8))
    session.ok(cmd.tag, "MYRIGHTS completed")


async def cmd_setacl(session: Session, cmd: SetAcl | DeleteAcl) -> None:
    await session.existing_mailbox(cmd.mailbox)
    raise session.refusal("imap.acl_from_directory", ResponseCode.NOPERM)
