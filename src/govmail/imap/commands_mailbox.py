"""Mailbox commands: SELECT/EXAMINE (with CONDSTORE and QRESYNC), CREATE, DELETE, RENAME,
SUBSCRIBE/UNSUBSCRIBE, LIST (RFC 5258 LIST-EXTENDED, 5819 LIST-STATUS, 6154 SPECIAL-USE,
8440 LIST-MYRIGHTS), LSUB, STATUS, NAMESPACE, CHECK, CLOSE, UNSELECT.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from govmail.delivery.events import FolderChange
from govmail.imap.errors import Refusal
from govmail.imap.mailboxes import (
    DELIMITER,
    Listed,
    MailboxRef,
    NameError_,
    check_new_name,
    compile_pattern,
    hierarchy,
    is_shared_name,
    matches,
    parent_names,
)
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import (
    Check,
    Close,
    Create,
    Delete,
    List,
    Lsub,
    Namespace,
    Rename,
    Select,
    Status,
    StatusItem,
    Subscribe,
    Unselect,
    Unsubscribe,
)
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.selected import SelectedView
from govmail.imap.shared import SHARED_PREFIX, audit, uid_summary
from govmail.store.models import Folder

if TYPE_CHECKING:
    from govmail.imap.session import Session

SPECIAL_USES = ("\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive")
_SPECIAL_CANONICAL = {s.lower(): s for s in SPECIAL_USES}


# --------------------------------------------------------------------------- SELECT


def permanent_flags(ref: MailboxRef, read_only: bool) -> list[str]:
    if read_only:
        return []
    out = []
    if ref.may("s"):
        out.append("\\Seen")
    if ref.may("w"):
        out.extend(("\\Answered", "\\Flagged", "\\Draft"))
    if ref.may("t"):
        out.append("\\Deleted")
    if ref.may("w"):
        out.append("\\*")
    return out


async def cmd_select(session: Session, cmd: Select) -> None:
    from govmail.imap.session import SELECTED

    await session.deselect(announce=True)
    if cmd.qresync is not None and not session.qresync:
        raise Refusal("the QRESYNC parameter needs ENABLE QRESYNC first", status="BAD")
    if cmd.condstore:
        session.enable_condstore()
    ref, folder = await session.find_folder(cmd.mailbox)
    session.require(ref, "r")
    read_only = cmd.read_only
    queue = session.events.subscribe(folder.id)
    try:
        async with session.store.read() as tx:
            state = await tx.mail.imap_folder_state(folder.id)
            if state is None:
                raise session.refusal("imap.no_mailbox", ResponseCode.NONEXISTENT, name=ref.name)
            highest, uidnext, marker = state
            uids = await tx.mail.imap_uids(folder.id)
            del uids[bisect.bisect_left(uids, uidnext) :]  # arrived after the state was read
            first_unseen = await tx.mail.imap_first_unseen_uid(folder.id)
            qr = cmd.qresync
            vanished: list[int] = []
            changes: list = []  # type: ignore[type-arg]
            if qr is not None and qr.uidvalidity == folder.uidvalidity:
                vanished = await tx.mail.vanished_since(folder.id, qr.modseq)
                if qr.known_uids is not None:
                    vanished = [u for u in vanished if qr.known_uids.contains(u, 0xFFFFFFFF)]
                changes = await tx.mail.imap_flag_changes(folder.id, qr.modseq, highest, uidnext)
        view = SelectedView(ref, folder.id, folder.uidvalidity, read_only, uids, highest, queue)
        if marker < uidnext:
            if read_only:
                view.add_recent(marker, uidnext - 1)
            else:
                async with session.store.write() as tx:
                    if await tx.mail.imap_claim_recent(folder.id, marker, uidnext):
                        view.add_recent(marker, uidnext - 1)
    except BaseException:
        session.events.unsubscribe(folder.id, queue)
        raise
    session.view = view
    session.state = SELECTED
    session.saved_search = None

    session.send(r.flags(session.flags_for_view(view)))
    session.send(
        r.untagged_status(
            "OK", "flags allowed", ResponseCode.permanentflags(permanent_flags(ref, read_only))
        )
    )
    session.send(r.exists(view.exists))
    if not session.rev2:
        session.send(r.recent(view.recent_count()))
        if first_unseen is not None:
            n = view.msn(first_unseen)
            if n is not None:
                session.send(r.untagged_status("OK", "first unseen", ResponseCode.unseen(n)))
    session.send(r.untagged_status("OK", "UIDs valid", ResponseCode.uidvalidity(view.uidvalidity)))
    session.send(r.untagged_status("OK", "predicted next UID", ResponseCode.uidnext(uidnext)))
    session.send(r.untagged_status("OK", "highest", ResponseCode.highestmodseq(highest)))
    if session.rev2:  # RFC 9051 6.3.2: the mailbox's LIST response
        attrs = [folder.special_use] if folder.special_use else []
        session.send(r.list_mailbox(ref.name, attrs, DELIMITER, utf8=True))
    if vanished:
        session.send(r.vanished(SequenceSet.from_numbers(vanished), earlier=True))
    for row in changes:
        line = view.fetch_flags_line(session, row[0], row[1], row[2:])
        if line is not None:
            session.send(line)
    await session.maybe_flush()
    await audit(session, ref, "examine" if read_only else "select")
    code = ResponseCode.READ_ONLY if read_only else ResponseCode.READ_WRITE
    session.ok(cmd.tag, "EXAMINE completed" if read_only else "SELECT completed", code)


async def cmd_check(session: Session, cmd: Check) -> None:
    session.ok(cmd.tag, "CHECK completed")


async def cmd_close(session: Session, cmd: Close) -> None:
    view = session.view
    assert view is not None
    if not view.read_only and view.ref.may("e"):
        async with session.store.read() as tx:
            deleted = await tx.mail.imap_deleted_uids(view.folder_id, view.max_uid)
        if deleted:
            gone = await session.mailstore.expunge(view.folder_id, deleted, origin=session)
            if gone:
                await audit(session, view.ref, "expunge", uid_summary(gone))
    await session.deselect(announce=False)
    session.ok(cmd.tag, "CLOSE completed")


async def cmd_unselect(session: Session, cmd: Unselect) -> None:
    await session.deselect(announce=False)
    session.ok(cmd.tag, "UNSELECT completed")


# --------------------------------------------------------------------------- CREATE etc.


def _special_use(session: Session, uses: tuple[str, ...]) -> str | None:
    if not uses:
        return None
    if len(uses) > 1:
        raise Refusal("one special use per mailbox", ResponseCode.USEATTR)
    canonical = _SPECIAL_CANONICAL.get(uses[0].lower())
    if canonical is None:
        raise Refusal(f"special use {uses[0][:40]} is not supported", ResponseCode.USEATTR)
    return canonical


async def _new_ref(session: Session, name: str) -> MailboxRef:
    """Where a mailbox called ``name`` would be created; refusals for names we keep."""
    if name.upper() == "INBOX":
        raise session.refusal("imap.mailbox_exists", ResponseCode.ALREADYEXISTS, name=name)
    ref = await session.mailbox_ref(name)
    if ref is None:
        if is_shared_name(name) and name.count(DELIMITER) <= 1:
            raise session.refusal("imap.reserved_name", ResponseCode.CANNOT, name=name)
        raise session.refusal("imap.no_mailbox", ResponseCode.NONEXISTENT, name=name)
    try:
        check_new_name(ref.folder_name)
    except NameError_ as exc:
        raise session.refusal("imap.bad_name", ResponseCode.CANNOT, reason=str(exc)) from None
    return ref


async def _create_with_parents(session: Session, ref: MailboxRef, special: str | None) -> Folder:
    async with session.store.write() as tx:
        if await tx.mail.folder(ref.owner_id, ref.folder_name) is not None:
            raise session.refusal("imap.mailbox_exists", ResponseCode.ALREADYEXISTS, name=ref.name)
        for parent in parent_names(ref.folder_name):
            if await tx.mail.folder(ref.owner_id, parent) is None:
                await tx.mail.create_folder(ref.owner_id, parent)
        return await tx.mail.create_folder(ref.owner_id, ref.folder_name, special)


async def cmd_create(session: Session, cmd: Create) -> None:
    name = cmd.mailbox.rstrip(DELIMITER) or cmd.mailbox
    special = _special_use(session, cmd.special_use)
    ref = await _new_ref(session, name)
    session.require(ref, "k")
    await _create_with_parents(session, ref, special)
    await audit(session, ref, "create")
    session.ok(cmd.tag, "CREATE completed")


async def cmd_delete(session: Session, cmd: Delete) -> None:
    if cmd.mailbox == "INBOX":
        raise session.refusal("imap.cannot_delete_inbox", ResponseCode.CANNOT)
    ref, folder = await session.find_folder(cmd.mailbox)
    session.require(ref, "x")
    if folder.special_use or (ref.shared and ref.folder_name == "INBOX"):
        raise session.refusal("imap.cannot_delete_special", ResponseCode.CANNOT, name=ref.name)
    if session.view is not None and session.view.folder_id == folder.id:
        await session.deselect(announce=True)
    async with session.store.write() as tx:
        row = await tx.mail.folder_by_id(folder.id)
        count = await tx.mail.delete_folder(row) if row is not None else 0
    session.events.publish(FolderChange(folder.id, "deleted", None, session))
    await audit(session, ref, "delete", {"messages": count})
    session.ok(cmd.tag, "DELETE completed")


async def cmd_rename(session: Session, cmd: Rename) -> None:
    src_ref, folder = await session.find_folder(cmd.mailbox)
    dst_name = cmd.new_name.rstrip(DELIMITER) or cmd.new_name
    dst_ref = await _new_ref(session, dst_name)
    if dst_ref.owner_id != src_ref.owner_id:
        raise session.refusal("imap.rename_across", ResponseCode.CANNOT)
    session.require(src_ref, "x")
    session.require(dst_ref, "k")
    if src_ref.shared and src_ref.folder_name == "INBOX":
        raise session.refusal("imap.cannot_delete_special", ResponseCode.CANNOT, name=src_ref.name)
    if dst_ref.folder_name.startswith(src_ref.folder_name + DELIMITER):
        raise Refusal("cannot rename a mailbox into itself", ResponseCode.CANNOT)
    if src_ref.folder_name == "INBOX":
        # RFC 3501 6.3.5: the messages move to the new mailbox; INBOX stays, empty.
        dest = await _create_with_parents(session, dst_ref, None)
        async with session.store.read() as tx:
            uids = await tx.mail.imap_uids(folder.id)
        for i in range(0, len(uids), 1000):
            await session.mailstore.copy(
                folder.id, uids[i : i + 1000], dest, move=True, origin=session
            )
    else:
        async with session.store.write() as tx:
            if await tx.mail.folder(dst_ref.owner_id, dst_ref.folder_name) is not None:
                raise session.refusal(
                    "imap.mailbox_exists", ResponseCode.ALREADYEXISTS, name=dst_ref.name
                )
            row = await tx.mail.folder_by_id(folder.id)
            if row is not None:
                await tx.mail.rename_folder(row, dst_ref.folder_name)
        if session.view is not None and session.view.folder_id == folder.id:
            session.view.ref = dst_ref
    await audit(session, src_ref, "rename", {"to": dst_ref.folder_name})
    session.ok(cmd.tag, "RENAME completed")


async def cmd_subscribe(session: Session, cmd: Subscribe | Unsubscribe) -> None:
    subscribe = isinstance(cmd, Subscribe)
    try:
        ref, folder = await session.find_folder(cmd.mailbox)
    except Refusal:
        if subscribe:
            raise
        session.ok(cmd.tag, "UNSUBSCRIBE completed")  # nothing to forget
        return
    assert session.user is not None
    async with session.store.write() as tx:
        if ref.shared:
            await tx.mail.imap_set_shared_subscription(session.user.id, folder.id, subscribe)
        else:
            row = await tx.mail.folder_by_id(folder.id)
            if row is not None:
                row.subscribed = subscribe
    session.ok(cmd.tag, "SUBSCRIBE completed" if subscribe else "UNSUBSCRIBE completed")


# --------------------------------------------------------------------------- LIST, LSUB


async def user_hierarchy(session: Session) -> list[Listed]:
    user = session.user
    assert user is not None
    handled = await session.handled()
    async with session.store.read() as tx:
        own = list(await tx.mail.folders_of(user.id))
        shared = [(h, list(await tx.mail.folders_of(h.mailbox_id))) for h in handled]
        unsubscribed = await tx.mail.imap_shared_unsubscribed(user.id) if handled else set()
    return hierarchy(user.id, user.address, own, shared, unsubscribed)


def _subscribed_below(entries: list[Listed], name: str) -> bool:
    prefix = name + DELIMITER
    return any(e.subscribed and e.name.startswith(prefix) for e in entries)


async def cmd_list(session: Session, cmd: List) -> None:
    utf8 = session.utf8 or session.rev2
    patterns = [p for p in cmd.patterns if p != ""]
    if not patterns:
        # LIST "" "": the hierarchy delimiter and the root of the reference.
        root = SHARED_PREFIX if cmd.reference.startswith(SHARED_PREFIX) else ""
        session.send(r.list_mailbox(root, ["\\Noselect"], DELIMITER, utf8=utf8))
        session.ok(cmd.tag, "LIST completed")
        return
    entries = await user_hierarchy(session)
    regexes = [compile_pattern(cmd.reference, p) for p in patterns]
    sel_subscribed = "SUBSCRIBED" in cmd.selection
    sel_special = "SPECIAL-USE" in cmd.selection
    recursive = "RECURSIVEMATCH" in cmd.selection
    show_subscribed = "SUBSCRIBED" in cmd.returns or sel_subscribed
    chosen: list[tuple[Listed, list[str], list[str]]] = []
    for e in entries:
        if not any(matches(rx, e.name) for rx in regexes):
            continue
        childinfo: list[str] = []
        if sel_subscribed and not e.subscribed:
            if recursive and _subscribed_below(entries, e.name):
                childinfo.append("SUBSCRIBED")
            else:
                continue
        special = e.folder.special_use if e.folder is not None else None
        if sel_special and special is None:
            continue
        attrs: list[str] = []
        if e.folder is None:
            attrs.append("\\NonExistent" if cmd.extended else "\\Noselect")
        attrs.append("\\HasChildren" if e.has_children else "\\HasNoChildren")
        if special:
            attrs.append(special)
        if show_subscribed and e.subscribed:
            attrs.append("\\Subscribed")
        chosen.append((e, attrs, childinfo))
    statuses: dict[int, list[tuple[str, int | str]]] = {}
    if "STATUS" in cmd.returns:
        refs = [e.ref for e, _a, _c in chosen if e.folder is not None and e.ref is not None]
        folders = [e.folder for e, _a, _c in chosen if e.folder is not None and e.ref is not None]
        values = await status_values(session, folders, cmd.status_items)  # type: ignore[arg-type]
        for ref, folder in zip(refs, folders, strict=True):
            if ref.may("r"):
                statuses[folder.id] = values[folder.id]
    for e, attrs, childinfo in chosen:
        session.send(r.list_mailbox(e.name, attrs, DELIMITER, utf8=utf8, childinfo=childinfo))
        if e.folder is not None and e.folder.id in statuses:
            session.send(r.status(e.name, statuses[e.folder.id], utf8=utf8))
        if "MYRIGHTS" in cmd.returns and e.ref is not None:
            session.send(r.myrights(e.name, e.ref.rights, utf8=utf8))
        await session.maybe_flush()
    session.ok(cmd.tag, "LIST completed")


async def cmd_lsub(session: Session, cmd: Lsub) -> None:
    utf8 = session.utf8 or session.rev2
    if cmd.pattern == "":
        session.send(r.list_mailbox("", ["\\Noselect"], DELIMITER, command="LSUB", utf8=utf8))
        session.ok(cmd.tag, "LSUB completed")
        return
    entries = await user_hierarchy(session)
    rx = compile_pattern(cmd.reference, cmd.pattern)
    for e in entries:
        if not matches(rx, e.name):
            continue
        if e.subscribed:
            attrs = [] if e.folder is not None else ["\\Noselect"]
        elif "%" in cmd.pattern and _subscribed_below(entries, e.name):
            attrs = ["\\Noselect"]  # RFC 3501 6.3.9: a level above subscribed mailboxes
        else:
            continue
        session.send(r.list_mailbox(e.name, attrs, DELIMITER, command="LSUB", utf8=utf8))
    session.ok(cmd.tag, "LSUB completed")


# --------------------------------------------------------------------------- STATUS


async def status_values(
    session: Session, folders: list[Folder], items: tuple[StatusItem, ...]
) -> dict[int, list[tuple[str, int | str]]]:
    """STATUS items for several folders in two queries."""
    if not folders:
        return {}
    if "HIGHESTMODSEQ" in items:
        session.enable_condstore()
    states: dict[int, tuple[int, int, int]] = {}
    async with session.store.read() as tx:
        for f in folders:
            state = await tx.mail.imap_folder_state(f.id)
            if state is not None:
                states[f.id] = state
        counts = await tx.mail.imap_status([(fid, s[2]) for fid, s in states.items()])
    out: dict[int, list[tuple[str, int | str]]] = {}
    limit = session.settings.limits.max_message_size
    for f in folders:
        if f.id not in states:
            continue
        highest, uidnext, _marker = states[f.id]
        messages, unseen, deleted, size, recent = counts.get(f.id, (0, 0, 0, 0, 0))
        values: dict[str, int | str] = {
            "MESSAGES": messages,
            "RECENT": recent,
            "UIDNEXT": uidnext,
            "UIDVALIDITY": f.uidvalidity,
            "UNSEEN": unseen,
            "DELETED": deleted,
            "SIZE": size,
            "HIGHESTMODSEQ": highest,
            "APPENDLIMIT": limit,
            "MAILBOXID": f"F{f.id}",
        }
        out[f.id] = [(item, values[item]) for item in items]
    return out


async def cmd_status(session: Session, cmd: Status) -> None:
    ref, folder = await session.find_folder(cmd.mailbox)
    session.require(ref, "r")
    values = await status_values(session, [folder], cmd.items)
    if folder.id not in values:
        raise session.refusal("imap.no_mailbox", ResponseCode.NONEXISTENT, name=ref.name)
    session.send(r.status(ref.name, values[folder.id], utf8=session.utf8 or session.rev2))
    session.ok(cmd.tag, "STATUS completed")


async def cmd_namespace(session: Session, cmd: Namespace) -> None:
    session.send(
        r.namespace(
            [("", DELIMITER)], None, [(SHARED_PREFIX, DELIMITER)], utf8=session.utf8 or session.rev2
        )
    )
    session.ok(cmd.tag, "NAMESPACE completed")
