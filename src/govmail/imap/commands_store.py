"""Commands that change messages: STORE, EXPUNGE (and UID EXPUNGE), COPY, MOVE, APPEND.

Flags are changed with a few set-based UPDATEs and one new MODSEQ per command
(``MailRepo.imap_store_flags``), so ``STORE 1:* +FLAGS`` on 100,000 messages does not
load them one by one. Copies, moves, expunges and appends go through the shared
``MailStore``, which announces them to every session watching the folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from govmail.delivery.events import FolderChange
from govmail.delivery.mailstore import MailStoreError
from govmail.imap.errors import Refusal
from govmail.imap.protocol import response as r
from govmail.imap.protocol.codes import ResponseCode
from govmail.imap.protocol.commands import Append, Copy, Expunge, Move, Store
from govmail.imap.protocol.sequence import SequenceSet
from govmail.imap.selected import SelectedView
from govmail.imap.shared import flag_rights, uid_summary
from govmail.mail.lineends import normalize_crlf

if TYPE_CHECKING:
    from govmail.imap.session import Session

EVENT_PER_UID_LIMIT = 256  # above this, one "flags changed" event without a UID


def _read_only(session: Session) -> Refusal:
    return session.refusal("imap.read_only")


def _no_recent(flags: Sequence[str]) -> None:
    if any(f.lower() == "\\recent" for f in flags):
        raise Refusal("\\Recent is set by the server, not by clients", status="BAD")


async def change_flags(
    session: Session,
    view: SelectedView,
    uids: Sequence[int],
    mode: str,
    flags: Sequence[str],
    unchanged_since: int | None = None,
    *,
    audit_action: str | None = "flags",
) -> tuple[list[tuple[int, int, bool, tuple[bool, bool, bool, bool, bool, str]]], list[int]]:
    """Change flags of messages of the selected mailbox; announce it to other sessions."""
    async with session.store.write() as tx:
        results, refused = await tx.mail.imap_store_flags(
            view.folder_id, uids, mode, flags, unchanged_since
        )
        changed = [res[0] for res in results if res[2]]
        if changed and view.ref.shared and audit_action and session.user is not None:
            await tx.audit.record(
                actor=session.user.address,
                action=f"imap.{audit_action}",
                object_type="folder",
                object_id=view.ref.audit_id[:320],
                after={"mode": mode, "flags": list(flags), **uid_summary(changed)},
                source="imap",
                remote_addr=session.conn.peer_ip,
            )
    if changed:
        view.own_modseqs.add(next(res[1] for res in results if res[2]))
        if len(changed) <= EVENT_PER_UID_LIMIT:
            for uid in changed:
                session.events.publish(FolderChange(view.folder_id, "flags", uid, session))
        else:
            session.events.publish(FolderChange(view.folder_id, "flags", None, session))
    return results, refused


def _numbers(view: SelectedView, uids: Sequence[int], by_uid: bool) -> str:
    if by_uid:
        return str(SequenceSet.from_numbers(uids))
    return str(SequenceSet.from_numbers(n for u in uids if (n := view.msn(u)) is not None))


async def cmd_store(session: Session, cmd: Store) -> None:
    view = session.view
    assert view is not None
    if view.read_only:
        raise _read_only(session)
    _no_recent(cmd.flags)
    needed = "stw" if cmd.action == "replace" else flag_rights(cmd.flags)
    session.require(view.ref, needed)
    if cmd.unchanged_since is not None:
        session.enable_condstore()
    uids = view.resolve(cmd.sequence, cmd.uid, session.saved_search)
    results, refused = await change_flags(
        session, view, uids, cmd.action, cmd.flags, cmd.unchanged_since
    )
    if cmd.action != "remove":
        view.note_keywords(session, (f for f in cmd.flags if not f.startswith("\\")))
    msn = view.numberer()  # results come in UID order
    for uid, modseq, changed, state in results:
        if cmd.silent:
            if changed and session.condstore:
                line = view.fetch_flags_line(session, uid, modseq, state, with_flags=False, msn=msn)
            else:
                continue
        else:
            line = view.fetch_flags_line(session, uid, modseq, state, msn=msn)
        if line is not None:
            session.send(line)
    await session.maybe_flush()
    if refused:
        code = ResponseCode.modified(_numbers(view, refused, cmd.uid))
        session.ok(cmd.tag, "conditional STORE failed for some messages", code)
    else:
        session.ok(cmd.tag, "STORE completed")


async def cmd_expunge(session: Session, cmd: Expunge) -> None:
    view = session.view
    assert view is not None
    if view.read_only:
        raise _read_only(session)
    session.require(view.ref, "e")
    async with session.store.read() as tx:
        deleted = await tx.mail.imap_deleted_uids(view.folder_id, view.max_uid)
    if cmd.uids is not None:
        allowed = set(view.resolve(cmd.uids, True))
        deleted = [u for u in deleted if u in allowed]
    deleted = [u for u in deleted if view.contains(u)]
    gone = (
        await session.mailstore.expunge(view.folder_id, deleted, origin=session) if deleted else []
    )
    view.expunged(session, gone)
    if gone:
        from govmail.imap.shared import audit

        await audit(session, view.ref, "expunge", uid_summary(gone))
    session.ok(cmd.tag, "EXPUNGE completed")


async def cmd_copy(session: Session, cmd: Copy | Move) -> None:
    from govmail.imap.shared import audit

    move = isinstance(cmd, Move)
    view = session.view
    assert view is not None
    try:
        dst_ref, dest = await session.find_folder(cmd.mailbox)
    except Refusal as refusal:
        refusal.code = ResponseCode.TRYCREATE
        raise
    session.require(view.ref, "r")
    session.require(dst_ref, "i")
    if move:
        if view.read_only:
            raise _read_only(session)
        session.require(view.ref, "te")
    uids = view.resolve(cmd.sequence, cmd.uid, session.saved_search)
    pairs: list[tuple[int, int]] = []
    try:
        for i in range(0, len(uids), 2000):
            pairs.extend(
                await session.mailstore.copy(
                    view.folder_id, uids[i : i + 2000], dest, move=move, origin=session
                )
            )
    except MailStoreError as exc:
        if exc.kind == "overquota":
            raise session.refusal("imap.over_quota", ResponseCode.OVERQUOTA) from None
        raise session.refusal("imap.no_mailbox", ResponseCode.TRYCREATE, name=cmd.mailbox) from None
    finally:
        if dest.id == view.folder_id:
            view.dirty = True
    code = None
    if pairs:
        code = ResponseCode.copyuid(
            dest.uidvalidity,
            str(SequenceSet.from_numbers(s for s, _ in pairs)),
            str(SequenceSet.from_numbers(d for _, d in pairs)),
        )
    sources = [s for s, _ in pairs]
    verb = "move" if move else "copy"
    if sources:
        await audit(
            session, view.ref, f"{verb}_out", {"to": dst_ref.audit_id, **uid_summary(sources)}
        )
        await audit(
            session,
            dst_ref,
            f"{verb}_in",
            {"from": view.ref.audit_id, **uid_summary([d for _, d in pairs])},
        )
    if move:
        if code is not None:
            session.send(r.untagged_status("OK", "moved", code))
        view.expunged(session, sources)
        session.ok(cmd.tag, "MOVE completed")
    else:
        session.ok(cmd.tag, "COPY completed", code)


async def cmd_append(session: Session, cmd: Append) -> None:
    from govmail.imap.shared import audit

    if len(cmd.messages) != 1:
        raise Refusal("one message per APPEND (MULTIAPPEND is not offered)", status="BAD")
    msg = cmd.messages[0]
    if msg.utf8 and not (session.utf8 or session.rev2):
        raise Refusal("UTF8 APPEND needs ENABLE UTF8=ACCEPT first", status="BAD")
    _no_recent(msg.flags)
    try:
        ref, folder = await session.find_folder(cmd.mailbox)
    except Refusal as refusal:
        refusal.code = ResponseCode.TRYCREATE
        raise
    session.require(ref, "i")
    flags = [f for f in msg.flags if ref.may(flag_rights([f]))]
    raw = normalize_crlf(msg.data)
    if not raw:
        raise Refusal("empty message", status="NO")
    try:
        appended = await session.mailstore.append(
            folder, raw, flags, msg.internal_date, origin=session
        )
    except MailStoreError as exc:
        if exc.kind == "overquota":
            raise session.refusal("imap.over_quota", ResponseCode.OVERQUOTA) from None
        if exc.kind == "toobig":
            raise session.refusal(
                "imap.too_big",
                ResponseCode.TOOBIG,
                size=len(raw),
                limit=session.settings.limits.max_message_size,
            ) from None
        raise session.refusal("imap.storage_full", ResponseCode.LIMIT) from None
    view = session.view
    if view is not None and view.folder_id == folder.id:
        view.dirty = True
    await audit(session, ref, "append", {"uid": appended.uid, "size": len(raw)})
    session.ok(
        cmd.tag,
        "APPEND completed",
        ResponseCode.appenduid(appended.uidvalidity, str(appended.uid)),
    )
