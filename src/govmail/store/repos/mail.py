"""Queries over folders, messages and blob reference counts."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from govmail.store.hot_reader import HotReader
from govmail.store.models import (
    Blob,
    BlobText,
    ExpungedMessage,
    Folder,
    ImapMessageCache,
    ImapSharedUnsubscription,
    Mailbox,
    Message,
)

# Folders every mailbox gets, with their RFC 6154 special-use attribute.
DEFAULT_FOLDERS: tuple[tuple[str, str | None], ...] = (
    ("INBOX", None),
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)

SYSTEM_FLAGS = {
    "\\seen": "seen",
    "\\answered": "answered",
    "\\flagged": "flagged",
    "\\deleted": "deleted",
    "\\draft": "draft",
}
FLAG_NAMES = {v: k for k, v in SYSTEM_FLAGS.items()}
CANONICAL_FLAG = {
    "seen": "\\Seen",
    "answered": "\\Answered",
    "flagged": "\\Flagged",
    "deleted": "\\Deleted",
    "draft": "\\Draft",
}


def new_uidvalidity() -> int:
    # Seconds since epoch plus randomness: distinct even if a folder is re-created at once.
    return (int(time.time()) << 4 | random.randint(0, 15)) & 0x7FFFFFFF or 1


def flags_to_columns(flags: Sequence[str]) -> dict[str, Any]:
    """Split IMAP flags into the boolean columns and the keyword string."""
    cols: dict[str, Any] = dict.fromkeys(SYSTEM_FLAGS.values(), False)
    keywords: list[str] = []
    for f in flags:
        col = SYSTEM_FLAGS.get(f.lower())
        if col:
            cols[col] = True
        elif f and not f.startswith("\\") and f not in keywords:
            keywords.append(f)
    cols["keywords"] = " ".join(keywords)
    return cols


def message_flags(m: Message) -> list[str]:
    out = [
        CANONICAL_FLAG[c]
        for c in ("seen", "answered", "flagged", "deleted", "draft")
        if getattr(m, c)
    ]
    if m.keywords:
        out.extend(m.keywords.split())
    return out


@dataclass(slots=True)
class NewMessage:
    """What the pipeline hands the store for one recipient folder."""

    folder_id: int
    blob_id: int
    size: int
    internal_date: datetime
    meta: dict[str, Any]
    subject: str = ""
    from_addr: str = ""
    sent_date: datetime | None = None
    message_id_header: str | None = None
    has_attachments: bool = False
    flags: Sequence[str] = ()
    folds: dict[str, str] | None = None


class MailRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    # -- folders -------------------------------------------------------------------------
    async def ensure_default_folders(self, mailbox_id: int) -> None:
        existing = {f.name for f in await self.folders_of(mailbox_id)}
        for name, special in DEFAULT_FOLDERS:
            if name not in existing:
                self.s.add(
                    Folder(
                        mailbox_id=mailbox_id,
                        name=name,
                        special_use=special,
                        uidvalidity=new_uidvalidity(),
                    )
                )
        await self.s.flush()

    async def folders_of(self, mailbox_id: int) -> Sequence[Folder]:
        return (
            await self.s.scalars(
                select(Folder).where(Folder.mailbox_id == mailbox_id).order_by(Folder.name)
            )
        ).all()

    async def folder(self, mailbox_id: int, name: str) -> Folder | None:
        return await self.s.scalar(
            select(Folder).where(Folder.mailbox_id == mailbox_id, Folder.name == name)
        )

    async def folder_by_id(self, folder_id: int) -> Folder | None:
        return await self.s.get(Folder, folder_id)

    async def special_folder(self, mailbox_id: int, special_use: str) -> Folder | None:
        return await self.s.scalar(
            select(Folder)
            .where(Folder.mailbox_id == mailbox_id, Folder.special_use == special_use)
            .order_by(Folder.id)
            .limit(1)
        )

    async def inbox_ids(self, mailbox_ids: Sequence[int]) -> dict[int, int]:
        rows = await self.s.execute(
            select(Folder.mailbox_id, Folder.id).where(
                Folder.mailbox_id.in_(list(mailbox_ids)), Folder.name == "INBOX"
            )
        )
        return {mb: fid for mb, fid in rows.all()}

    async def delivery_folders(self, mailbox_ids: set[int]) -> dict[int, dict[str, int]]:
        """For each mailbox: {"INBOX": id, "\\Sent": id, "\\Junk": id, ...}."""
        if not mailbox_ids:
            return {}
        rows = await self.s.execute(
            select(Folder.mailbox_id, Folder.id, Folder.name, Folder.special_use)
            .where(Folder.mailbox_id.in_(list(mailbox_ids)))
            .where((Folder.name == "INBOX") | Folder.special_use.is_not(None))
            .order_by(Folder.id)
        )
        out: dict[int, dict[str, int]] = {}
        for mailbox_id, folder_id, name, special in rows.all():
            d = out.setdefault(mailbox_id, {})
            key = "INBOX" if name == "INBOX" else special
            d.setdefault(key, folder_id)
        return out

    async def create_folder(
        self, mailbox_id: int, name: str, special_use: str | None = None
    ) -> Folder:
        f = Folder(
            mailbox_id=mailbox_id, name=name, special_use=special_use, uidvalidity=new_uidvalidity()
        )
        self.s.add(f)
        await self.s.flush()
        return f

    # -- blobs ---------------------------------------------------------------------------
    async def add_blob_refs(self, sha256: str, size: int, refs: int) -> int:
        """Record ``refs`` more references to a blob (creating its row); returns its id."""
        ins = (pg_insert if self.dialect == "postgresql" else sqlite_insert)(Blob)
        stmt = (
            ins.values(sha256=sha256, size=size, refcount=refs)
            .on_conflict_do_update(
                index_elements=[Blob.sha256], set_={"refcount": Blob.refcount + refs}
            )
            .returning(Blob.id)
        )
        return int((await self.s.execute(stmt)).scalar_one())

    async def drop_blob_refs(self, blob_id: int, refs: int = 1) -> None:
        await self.s.execute(
            update(Blob).where(Blob.id == blob_id).values(refcount=Blob.refcount - refs)
        )

    async def blob_by_id(self, blob_id: int) -> Blob | None:
        return await self.s.get(Blob, blob_id)

    async def unreferenced_blobs(self, limit: int = 1000) -> Sequence[Blob]:
        return (await self.s.scalars(select(Blob).where(Blob.refcount <= 0).limit(limit))).all()

    async def delete_blob_row(self, blob_id: int) -> None:
        await self.s.execute(delete(BlobText).where(BlobText.blob_id == blob_id))
        await self.s.execute(delete(Blob).where(Blob.id == blob_id))

    async def set_blob_text(self, blob_id: int, text: str) -> None:
        if await self.s.get(BlobText, blob_id) is None:
            self.s.add(BlobText(blob_id=blob_id, text=text))

    # -- messages ------------------------------------------------------------------------
    async def append(self, new: NewMessage) -> Message:
        """Insert a message, allocating its UID and MODSEQ atomically in its folder."""
        row = (
            await self.s.execute(
                update(Folder)
                .where(Folder.id == new.folder_id)
                .values(uidnext=Folder.uidnext + 1, highestmodseq=Folder.highestmodseq + 1)
                .returning(Folder.uidnext, Folder.highestmodseq, Folder.mailbox_id)
            )
        ).one()
        uid = int(row[0]) - 1
        modseq = int(row[1])
        msg = Message(
            folder_id=new.folder_id,
            uid=uid,
            modseq=modseq,
            blob_id=new.blob_id,
            internal_date=new.internal_date,
            size=new.size,
            meta=new.meta,
            subject=new.subject[:1000],
            from_addr=new.from_addr[:320],
            sent_date=new.sent_date,
            message_id_header=(new.message_id_header or None) and new.message_id_header[:998],
            has_attachments=new.has_attachments,
            **flags_to_columns(new.flags),
            **(new.folds or {}),
        )
        self.s.add(msg)
        await self.s.execute(
            update(Mailbox)
            .where(Mailbox.id == row[2])
            .values(used_bytes=Mailbox.used_bytes + new.size)
        )
        return msg

    async def lock_folder(self, folder_id: int) -> None:
        """Serialise changes to one folder (PostgreSQL row lock; SQLite writers are
        serialised anyway): take it before reading what the change depends on."""
        await self.s.execute(select(Folder.id).where(Folder.id == folder_id).with_for_update())

    async def set_flags(
        self,
        folder_id: int,
        messages: Sequence[Message],
        mode: str,
        flags: Sequence[str],
        unchanged_since: int | None = None,
    ) -> tuple[list[Message], list[Message]]:
        """Change flags (mode "add", "remove" or "replace"); returns (changed, refused).

        Messages whose MODSEQ is above ``unchanged_since`` are refused (RFC 7162). The
        changed ones get one new MODSEQ, the folder's next.
        """
        wanted = flags_to_columns(flags)
        wanted_kw = [k for k in wanted["keywords"].split() if k]
        changed: list[Message] = []
        refused: list[Message] = []
        for m in messages:
            if unchanged_since is not None and m.modseq > unchanged_since:
                refused.append(m)
                continue
            before = (m.seen, m.answered, m.flagged, m.deleted, m.draft, m.keywords)
            kws = m.keywords.split() if m.keywords else []
            for col in ("seen", "answered", "flagged", "deleted", "draft"):
                if mode == "replace":
                    setattr(m, col, wanted[col])
                elif wanted[col]:
                    setattr(m, col, mode == "add")
            if mode == "replace":
                kws = list(wanted_kw)
            elif mode == "add":
                kws += [k for k in wanted_kw if k not in kws]
            else:
                kws = [k for k in kws if k not in wanted_kw]
            m.keywords = " ".join(kws)
            if (m.seen, m.answered, m.flagged, m.deleted, m.draft, m.keywords) != before:
                changed.append(m)
        if changed:
            modseq = await self.bump_modseq(folder_id)
            for m in changed:
                m.modseq = modseq
        await self.s.flush()
        return changed, refused

    async def bump_modseq(self, folder_id: int) -> int:
        row = (
            await self.s.execute(
                update(Folder)
                .where(Folder.id == folder_id)
                .values(highestmodseq=Folder.highestmodseq + 1)
                .returning(Folder.highestmodseq)
            )
        ).one()
        return int(row[0])

    async def copy_messages(
        self, messages: Sequence[Message], dest: Folder
    ) -> list[tuple[Message, Message]]:
        """Copy messages (blob shared) into ``dest``; returns (source, copy) pairs."""
        if not messages:
            return []
        n = len(messages)
        row = (
            await self.s.execute(
                update(Folder)
                .where(Folder.id == dest.id)
                .values(uidnext=Folder.uidnext + n, highestmodseq=Folder.highestmodseq + 1)
                .returning(Folder.uidnext, Folder.highestmodseq)
            )
        ).one()
        first_uid, modseq = int(row[0]) - n, int(row[1])
        out: list[tuple[Message, Message]] = []
        total = 0
        for i, m in enumerate(messages):
            c = Message(
                folder_id=dest.id,
                uid=first_uid + i,
                modseq=modseq,
                blob_id=m.blob_id,
                internal_date=m.internal_date,
                size=m.size,
                seen=m.seen,
                answered=m.answered,
                flagged=m.flagged,
                deleted=m.deleted,
                draft=m.draft,
                keywords=m.keywords,
                subject=m.subject,
                from_addr=m.from_addr,
                sent_date=m.sent_date,
                message_id_header=m.message_id_header,
                has_attachments=m.has_attachments,
                subject_fold=m.subject_fold,
                from_fold=m.from_fold,
                to_fold=m.to_fold,
                cc_fold=m.cc_fold,
                meta=m.meta,
            )
            self.s.add(c)
            await self.s.execute(
                update(Blob).where(Blob.id == m.blob_id).values(refcount=Blob.refcount + 1)
            )
            total += m.size
            out.append((m, c))
        await self.s.execute(
            update(Mailbox)
            .where(Mailbox.id == dest.mailbox_id)
            .values(used_bytes=Mailbox.used_bytes + total)
        )
        await self.s.flush()
        return out

    async def messages_by_uids(self, folder_id: int, uids: Sequence[int]) -> Sequence[Message]:
        if not uids:
            return []
        out: list[Message] = []
        for i in range(0, len(uids), 500):
            chunk = list(uids[i : i + 500])
            out.extend(
                (
                    await self.s.scalars(
                        select(Message)
                        .where(Message.folder_id == folder_id, Message.uid.in_(chunk))
                        .order_by(Message.uid)
                    )
                ).all()
            )
        return sorted(out, key=lambda m: m.uid)

    async def message_by_uid(self, folder_id: int, uid: int) -> Message | None:
        return await self.s.scalar(
            select(Message).where(Message.folder_id == folder_id, Message.uid == uid)
        )

    async def uids(self, folder_id: int) -> list[int]:
        return list(
            (
                await self.s.scalars(
                    select(Message.uid).where(Message.folder_id == folder_id).order_by(Message.uid)
                )
            ).all()
        )

    async def changed_since(self, folder_id: int, modseq: int) -> Sequence[Message]:
        return (
            await self.s.scalars(
                select(Message)
                .where(Message.folder_id == folder_id, Message.modseq > modseq)
                .order_by(Message.uid)
            )
        ).all()

    async def vanished_since(self, folder_id: int, modseq: int) -> list[int]:
        return list(
            (
                await self.s.scalars(
                    select(ExpungedMessage.uid)
                    .where(ExpungedMessage.folder_id == folder_id, ExpungedMessage.modseq > modseq)
                    .order_by(ExpungedMessage.uid)
                )
            ).all()
        )

    async def folder_counts(self, folder_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
        """{folder_id: (messages, unseen, bytes)} in one query."""
        if not folder_ids:
            return {}
        from sqlalchemy import case

        rows = await self.s.execute(
            select(
                Message.folder_id,
                func.count(Message.id),
                func.sum(case((Message.seen.is_(False), 1), else_=0)),
                func.sum(Message.size),
            )
            .where(Message.folder_id.in_(list(folder_ids)))
            .group_by(Message.folder_id)
        )
        out = {fid: (0, 0, 0) for fid in folder_ids}
        for fid, n, unseen, size in rows.all():
            out[fid] = (int(n), int(unseen or 0), int(size or 0))
        return out

    async def page(
        self,
        folder_id: int,
        *,
        order: str = "date",
        descending: bool = True,
        offset: int = 0,
        limit: int = 50,
        only_unseen: bool = False,
        conditions: Sequence[Any] = (),
    ) -> Sequence[Message]:
        """A page of a folder for listings (webmail, API)."""
        key = {
            "date": Message.internal_date,
            "subject": Message.subject_fold,
            "from": Message.from_fold,
            "size": Message.size,
            "uid": Message.uid,
        }[order]
        q = select(Message).where(Message.folder_id == folder_id, *conditions)
        if only_unseen:
            q = q.where(Message.seen.is_(False))
        q = q.order_by(key.desc() if descending else key.asc(), Message.uid.desc())
        return (await self.s.scalars(q.offset(offset).limit(limit))).all()

    async def rename_folder(self, folder: Folder, new_name: str) -> list[Folder]:
        """Rename a folder and its children ("a/b" follows "a"); returns the renamed rows."""
        old = folder.name
        renamed = [folder]
        for f in await self.folders_of(folder.mailbox_id):
            if f.name.startswith(old + "/"):
                f.name = new_name + f.name[len(old) :]
                renamed.append(f)
        folder.name = new_name
        await self.s.flush()
        return renamed

    async def delete_folder(self, folder: Folder) -> int:
        """Delete a folder and its messages (releasing blob references); returns the count."""
        msgs = await self.messages(folder.id)
        await self.expunge(folder, msgs)
        await self.s.execute(delete(ExpungedMessage).where(ExpungedMessage.folder_id == folder.id))
        await self.s.delete(folder)
        await self.s.flush()
        return len(msgs)

    async def messages(self, folder_id: int, *, limit: int | None = None) -> Sequence[Message]:
        q = select(Message).where(Message.folder_id == folder_id).order_by(Message.uid)
        if limit is not None:
            q = q.limit(limit)
        return (await self.s.scalars(q)).all()

    async def message_count(self, folder_id: int) -> int:
        return int(
            await self.s.scalar(
                select(func.count(Message.id)).where(Message.folder_id == folder_id)
            )
            or 0
        )

    async def unseen_count(self, folder_id: int) -> int:
        return int(
            await self.s.scalar(
                select(func.count(Message.id)).where(
                    Message.folder_id == folder_id, Message.seen.is_(False)
                )
            )
            or 0
        )

    async def blob_sha_of(self, message: Message) -> str:
        return str(await self.s.scalar(select(Blob.sha256).where(Blob.id == message.blob_id)))

    async def expunge(self, folder: Folder, messages: Sequence[Message]) -> list[int]:
        """Remove messages, leave tombstones, release blob refs; returns expunged UIDs."""
        if not messages:
            return []
        row = (
            await self.s.execute(
                update(Folder)
                .where(Folder.id == folder.id)
                .values(highestmodseq=Folder.highestmodseq + 1)
                .returning(Folder.highestmodseq)
            )
        ).one()
        modseq = int(row[0])
        uids: list[int] = []
        freed = 0
        for m in messages:
            uids.append(m.uid)
            freed += m.size
            self.s.add(ExpungedMessage(folder_id=folder.id, uid=m.uid, modseq=modseq))
            await self.drop_blob_refs(m.blob_id)
            await self.s.delete(m)
        await self.s.execute(
            update(Mailbox)
            .where(Mailbox.id == folder.mailbox_id)
            .values(
                used_bytes=func.max(Mailbox.used_bytes - freed, 0)
                if self.dialect == "sqlite"
                else func.greatest(Mailbox.used_bytes - freed, 0)
            )
        )
        await self.s.flush()
        return uids

    # -- POP3 --------------------------------------------------------------------------------
    async def pop3_listing(self, folder_id: int) -> list[tuple[int, int]]:
        """(uid, size) of the messages not flagged \\Deleted, by UID: a POP3 maildrop."""
        rows = await self.s.execute(
            select(Message.uid, Message.size)
            .where(Message.folder_id == folder_id, Message.deleted.is_(False))
            .order_by(Message.uid)
        )
        return [(int(uid), int(size)) for uid, size in rows.all()]

    # -- IMAP door ---------------------------------------------------------------------------
    # Lean queries (chosen columns, no ORM objects, no ``meta`` unless asked for): an IMAP
    # session touches thousands of messages per command.

    async def imap_folder_state(self, folder_id: int) -> tuple[int, int, int] | None:
        """(highestmodseq, uidnext, imap_recent_uid) of a folder, or None if it is gone."""
        row = (
            await self.s.execute(
                select(Folder.highestmodseq, Folder.uidnext, Folder.imap_recent_uid).where(
                    Folder.id == folder_id
                )
            )
        ).first()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    async def imap_uids(self, folder_id: int, after_uid: int = 0) -> list[int]:
        """UIDs above ``after_uid``, ascending.

        Aggregated into one string in the database: a SELECT of a 100,000-message folder
        then costs one row instead of 100,000 result rows to build and throw away.
        """
        from sqlalchemy import String, cast, literal_column

        inner = (
            select(Message.uid)
            .where(Message.folder_id == folder_id, Message.uid > after_uid)
            .order_by(Message.uid)
            .subquery()
        )
        uid_text = cast(inner.c.uid, String)
        if self.dialect == "postgresql":
            joined = func.string_agg(uid_text, literal_column("','"))
        else:
            joined = func.group_concat(uid_text, ",")
        text_value = await self.s.scalar(select(joined))
        if not text_value:
            return []
        uids = [int(u) for u in text_value.split(",")]
        uids.sort()  # aggregation order is not guaranteed; already sorted costs one pass
        return uids

    async def imap_claim_recent(self, folder_id: int, expected: int, new: int) -> bool:
        """Move the folder's \\Recent marker from ``expected`` to ``new`` (compare-and-set)."""
        res = await self.s.execute(
            update(Folder)
            .where(Folder.id == folder_id, Folder.imap_recent_uid == expected)
            .values(imap_recent_uid=new)
            .execution_options(synchronize_session=False)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]

    async def imap_first_unseen_uid(self, folder_id: int) -> int | None:
        value = await self.s.scalar(
            select(func.min(Message.uid)).where(
                Message.folder_id == folder_id, Message.seen.is_(False)
            )
        )
        return None if value is None else int(value)

    async def imap_flag_changes(
        self, folder_id: int, after_modseq: int, upto_modseq: int | None, max_uid: int
    ) -> list[Any]:
        """Rows (uid, modseq, seen, answered, flagged, deleted, draft, keywords) of messages
        with ``after_modseq < modseq <= upto_modseq`` and ``uid <= max_uid``, by UID."""
        q = select(
            Message.uid,
            Message.modseq,
            Message.seen,
            Message.answered,
            Message.flagged,
            Message.deleted,
            Message.draft,
            Message.keywords,
        ).where(
            Message.folder_id == folder_id,
            Message.modseq > after_modseq,
            Message.uid <= max_uid,
        )
        if upto_modseq is not None:
            q = q.where(Message.modseq <= upto_modseq)
        return list((await self.s.execute(q.order_by(Message.uid))).all())

    async def imap_deleted_uids(self, folder_id: int, max_uid: int) -> list[int]:
        rows = await self.s.execute(
            select(Message.uid)
            .where(
                Message.folder_id == folder_id,
                Message.deleted.is_(True),
                Message.uid <= max_uid,
            )
            .order_by(Message.uid)
        )
        return [r[0] for r in rows.all()]

    async def imap_status(
        self, folders: Sequence[tuple[int, int]]
    ) -> dict[int, tuple[int, int, int, int, int]]:
        """For (folder_id, recent_from_uid) pairs: {folder_id: (messages, unseen, deleted,
        octets, recent)} where recent counts UIDs >= recent_from_uid; one query."""
        if not folders:
            return {}
        from sqlalchemy import and_, case

        ids = [fid for fid, _ in folders]
        recent_cond = or_(
            *(and_(Message.folder_id == fid, Message.uid >= start) for fid, start in folders)
        )
        rows = await self.s.execute(
            select(
                Message.folder_id,
                func.count(Message.id),
                func.sum(case((Message.seen.is_(False), 1), else_=0)),
                func.sum(case((Message.deleted.is_(True), 1), else_=0)),
                func.sum(Message.size),
                func.sum(case((recent_cond, 1), else_=0)),
            )
            .where(Message.folder_id.in_(ids))
            .group_by(Message.folder_id)
        )
        out = {fid: (0, 0, 0, 0, 0) for fid in ids}
        for fid, n, unseen, deleted, size, recent in rows.all():
            out[fid] = (
                int(n),
                int(unseen or 0),
                int(deleted or 0),
                int(size or 0),
                int(recent or 0),
            )
        return out

    async def imap_fill_cache(self, column: str, values: Sequence[tuple[int, bytes]]) -> None:
        """Store cached wire forms: (message id, bytes) pairs for one of imap_envelope,
        imap_body, imap_bodystructure, imap_header."""
        names = {
            "imap_envelope": "envelope",
            "imap_body": "body",
            "imap_bodystructure": "bodystructure",
            "imap_header": "header",
        }
        if column not in names:
            raise ValueError(f"not an IMAP cache column: {column}")
        if not values:
            return
        name = names[column]
        ins = (pg_insert if self.dialect == "postgresql" else sqlite_insert)(ImapMessageCache)
        stmt = ins.on_conflict_do_update(
            index_elements=[ImapMessageCache.message_id],
            set_={name: getattr(ins.excluded, name)},
        )
        conn = await self.s.connection()
        await conn.execute(stmt, [{"message_id": i, name: v} for i, v in values])

    async def imap_blob_shas(self, blob_ids: Sequence[int]) -> dict[int, str]:
        if not blob_ids:
            return {}
        rows = await self.s.execute(
            select(Blob.id, Blob.sha256).where(Blob.id.in_(list(set(blob_ids))))
        )
        return {int(i): str(sha) for i, sha in rows.all()}

    async def imap_store_flags(
        self,
        folder_id: int,
        uids: Sequence[int],
        mode: str,
        flags: Sequence[str],
        unchanged_since: int | None = None,
    ) -> tuple[list[tuple[int, int, bool, tuple[bool, bool, bool, bool, bool, str]]], list[int]]:
        """STORE in a few set-based UPDATEs (one per distinct outcome), one new MODSEQ.

        Returns ``(results, refused)``: for every message found, (uid, modseq, changed,
        (seen, answered, flagged, deleted, draft, keywords)) after the change; and the UIDs
        refused by ``unchanged_since`` (RFC 7162).
        """
        wanted = flags_to_columns(flags)
        wanted_kw = [k for k in wanted["keywords"].split() if k]
        wanted_kw_lower = {k.lower() for k in wanted_kw}
        names = ("seen", "answered", "flagged", "deleted", "draft")
        results: list[tuple[int, int, bool, tuple[bool, bool, bool, bool, bool, str]]] = []
        refused: list[int] = []
        groups: dict[tuple[bool, bool, bool, bool, bool, str], list[int]] = {}
        changed_at: list[int] = []  # indexes into results
        outcomes: dict[tuple[Any, ...], tuple[tuple[Any, ...], bool]] = {}
        # Lock the folder row first (PostgreSQL; SQLite writers are serialised anyway), so
        # that a concurrent STORE cannot read the same old flags and undo this one.
        await self.s.execute(select(Folder.id).where(Folder.id == folder_id).with_for_update())
        conn = await self.s.connection()
        for i in range(0, len(uids), 2000):
            chunk = uids[i : i + 2000]
            rows = (
                await conn.execute(
                    select(
                        Message.uid,
                        Message.modseq,
                        Message.seen,
                        Message.answered,
                        Message.flagged,
                        Message.deleted,
                        Message.draft,
                        Message.keywords,
                    )
                    .where(Message.folder_id == folder_id, _uid_condition(chunk))
                    .order_by(Message.uid)
                )
            ).all()
            for uid, modseq, *state in rows:
                if unchanged_since is not None and modseq > unchanged_since:
                    refused.append(int(uid))
                    continue
                before = (
                    bool(state[0]),
                    bool(state[1]),
                    bool(state[2]),
                    bool(state[3]),
                    bool(state[4]),
                    state[5] or "",
                )
                # The outcome depends only on the flags before: worked out once per state.
                known = outcomes.get(before)
                if known is None:
                    known = outcomes[before] = _flag_outcome(
                        before, mode, wanted, wanted_kw, wanted_kw_lower
                    )
                after, changed = known
                results.append((int(uid), int(modseq), changed, after))  # type: ignore[arg-type]
                if changed:
                    groups.setdefault(after, []).append(int(uid))  # type: ignore[arg-type]
                    changed_at.append(len(results) - 1)
        if groups:
            new_modseq = await self.bump_modseq(folder_id)
            for after, group in groups.items():
                values = dict(zip(names, after[:5], strict=True))
                values["keywords"] = after[5]
                values["modseq"] = new_modseq
                for j in range(0, len(group), 2000):
                    await conn.execute(
                        update(Message.__table__)
                        .where(
                            Message.folder_id == folder_id,
                            _uid_condition(group[j : j + 2000]),
                        )
                        .values(**values)
                    )
            for k in changed_at:
                uid, _old, changed, after = results[k]
                results[k] = (uid, new_modseq, changed, after)
        return results, refused

    async def imap_shared_unsubscribed(self, person_mailbox_id: int) -> set[int]:
        rows = await self.s.execute(
            select(ImapSharedUnsubscription.folder_id).where(
                ImapSharedUnsubscription.person_mailbox_id == person_mailbox_id
            )
        )
        return {int(r[0]) for r in rows.all()}

    async def imap_set_shared_subscription(
        self, person_mailbox_id: int, folder_id: int, subscribed: bool
    ) -> None:
        await self.s.execute(
            delete(ImapSharedUnsubscription).where(
                ImapSharedUnsubscription.person_mailbox_id == person_mailbox_id,
                ImapSharedUnsubscription.folder_id == folder_id,
            )
        )
        if not subscribed:
            self.s.add(
                ImapSharedUnsubscription(person_mailbox_id=person_mailbox_id, folder_id=folder_id)
            )
            await self.s.flush()

    async def imap_header_sources(self, folder_id: int, max_uid: int) -> list[Any]:
        """(uid, blob_id, header, meta) of every message up to ``max_uid`` (for the
        rare SEARCH keys no column answers: HEADER of any field, BCC)."""
        rows = await self.s.execute(
            select(Message.uid, Message.blob_id, ImapMessageCache.header, Message.meta)
            .select_from(Message)
            .outerjoin(ImapMessageCache, ImapMessageCache.message_id == Message.id)
            .where(Message.folder_id == folder_id, Message.uid <= max_uid)
            .order_by(Message.uid)
        )
        return list(rows.all())


_FETCH_COLUMNS = (
    Message.id,
    Message.uid,
    Message.modseq,
    Message.seen,
    Message.answered,
    Message.flagged,
    Message.deleted,
    Message.draft,
    Message.keywords,
    Message.internal_date,
    Message.size,
    Message.blob_id,
)
# The same without flags, keywords and date (NULL in their places): converting those
# values is most of the cost of a row that a FETCH of bodies does not look at.
_FETCH_COLUMNS_LEAN = (*_FETCH_COLUMNS[:3], *(null() for _ in range(7)), *_FETCH_COLUMNS[10:])
_FETCH_EXTRA: dict[str, Any] = {
    "imap_envelope": ImapMessageCache.envelope,
    "imap_body": ImapMessageCache.body,
    "imap_bodystructure": ImapMessageCache.bodystructure,
    "imap_header": ImapMessageCache.header,
    "meta": Message.meta,
    # Parts of the metadata, for building the cached forms without decoding all of it
    # (the header index alone can be most of it).
    "meta_envelope": Message.meta["envelope"],
    "meta_body": Message.meta["body"],
    "blob_sha256": Blob.sha256,
}
# FETCH statements by (extra columns, lean or not, shape of the UID condition,
# CHANGEDSINCE or not), with the UIDs as bound parameters: built once, compiled once.
# Extra columns whose values need no conversion from what the driver returns.
_PLAIN_EXTRA = frozenset(
    {"imap_envelope", "imap_body", "imap_bodystructure", "imap_header", "blob_sha256"}
)
_FETCH_STATEMENTS: dict[tuple[tuple[str, ...], bool, str, int, bool], Any] = {}
_CACHED_RANGES = 4


class MailRows:
    """Reads of plain rows for the hot paths of the doors (IMAP FETCH), outside any ORM
    session: Core statements built once, run on a pooled connection without BEGIN (each
    statement sees one consistent state); those whose columns need no type conversion
    on :class:`~govmail.store.hot_reader.HotReader`, which spares SQLAlchemy's own cost
    per statement and per row."""

    def __init__(self, engine: AsyncEngine, hot: HotReader, dialect: str) -> None:
        self.engine = engine
        self.hot = hot
        self.dialect = dialect

    async def imap_fetch_rows(
        self,
        folder_id: int,
        uids: Sequence[int],
        extra: Sequence[str] = (),
        changed_since: int | None = None,
        *,
        flags: bool = True,
    ) -> list[Any]:
        """Rows for FETCH, by UID: id, uid, modseq, seen, answered, flagged, deleted, draft,
        keywords, internal_date, size, blob_id, plus the ``extra`` columns named (any of
        imap_envelope, imap_body, imap_bodystructure, imap_header, meta, meta_envelope,
        meta_body, blob_sha256). Without ``flags``, the flags, keywords and date are None.
        """
        if not uids:
            return []
        for name in extra:
            if name not in _FETCH_EXTRA:
                raise ValueError(f"not a FETCH column: {name}")
        ranges = uid_ranges(uids)
        params: dict[str, Any] = {"folder": folder_id}
        if changed_since is not None:
            params["since"] = changed_since
        if len(ranges) <= _CACHED_RANGES:
            shape, size = "ranges", len(ranges)
            for i, (a, b) in enumerate(ranges):
                params[f"a{i}"], params[f"b{i}"] = a, b
        elif len(uids) <= 5000:
            # Scattered UIDs: one parameter (an array; JSON text for SQLite) rather than
            # one per UID, whose expansion costs more than the query.
            shape, size = "in", 0
            if self.dialect == "sqlite":
                params["uids"] = "[" + ",".join(map(str, uids)) + "]"
            else:
                params["uids"] = list(uids)
        else:  # many ranges: not worth caching (the statement is small beside its rows)
            shape, size = "adhoc", 0
        key = (self.dialect, tuple(extra), flags, shape, size, changed_since is not None)
        q = _FETCH_STATEMENTS.get(key)
        if q is None:
            if shape == "ranges":
                condition: Any = or_(
                    *(
                        Message.uid.between(bindparam(f"a{i}"), bindparam(f"b{i}"))
                        for i in range(size)
                    )
                )
            elif shape == "in" and self.dialect == "sqlite":
                listed = select(literal_column("value")).select_from(
                    func.json_each(bindparam("uids"))
                )
                condition = Message.uid.in_(listed.scalar_subquery())
            elif shape == "in":
                condition = Message.uid == any_(bindparam("uids", type_=ARRAY(BigInteger)))
            else:
                condition = _uid_condition(uids)
            q = _fetch_statement(extra, flags, condition, changed_since is not None)
            if shape != "adhoc":
                _FETCH_STATEMENTS[key] = q
        if not flags and shape != "adhoc" and _PLAIN_EXTRA.issuperset(extra):
            # Integers, strings and bytes only: as the driver gives them.
            return await self.hot.all(q, params)
        # Core execution: no ORM row processing for thousands of plain rows.
        async with self.engine.connect() as conn:
            return list((await conn.execute(q, params)).all())


def _fetch_statement(extra: Sequence[str], flags: bool, condition: Any, changed_since: bool) -> Any:
    base = _FETCH_COLUMNS if flags else _FETCH_COLUMNS_LEAN
    cols = [*base, *(_FETCH_EXTRA[name] for name in extra)]
    q = select(*cols).where(Message.folder_id == bindparam("folder"), condition)
    if any(name.startswith("imap_") for name in extra):
        q = q.select_from(Message).outerjoin(
            ImapMessageCache, ImapMessageCache.message_id == Message.id
        )
    elif not flags:
        q = q.select_from(Message)
    if "blob_sha256" in extra:
        q = q.join(Blob, Blob.id == Message.blob_id)
    if changed_since:
        q = q.where(Message.modseq > bindparam("since"))
    return q.order_by(Message.uid)


def _flag_outcome(
    before: tuple[Any, ...],
    mode: str,
    wanted: dict[str, Any],
    wanted_kw: list[str],
    wanted_kw_lower: set[str],
) -> tuple[tuple[Any, ...], bool]:
    """(flags after, changed) for a STORE of ``mode`` on a message flagged ``before``."""
    names = ("seen", "answered", "flagged", "deleted", "draft")
    kws = before[5].split()
    if mode == "replace":
        sys_flags = [bool(wanted[n]) for n in names]
        kws = list(wanted_kw)
    else:
        sys_flags = [(mode == "add") if wanted[n] else before[j] for j, n in enumerate(names)]
        if mode == "add":
            have = {k.lower() for k in kws}
            kws += [k for k in wanted_kw if k.lower() not in have]
        else:
            kws = [k for k in kws if k.lower() not in wanted_kw_lower]
    after = (*sys_flags, " ".join(kws))
    return after, after != before


def uid_ranges(uids: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending UIDs as inclusive ranges."""
    out: list[tuple[int, int]] = []
    for u in uids:
        if out and u == out[-1][1] + 1:
            out[-1] = (out[-1][0], u)
        else:
            out.append((u, u))
    return out


def _uid_condition(uids: Sequence[int]) -> Any:
    """``uid`` in the given ascending UIDs: BETWEENs for runs, IN for the scattered rest."""
    ranges = uid_ranges(uids)
    if len(ranges) == 1:
        a, b = ranges[0]
        return Message.uid.between(a, b) if a != b else Message.uid == a
    if len(ranges) <= 4 or len(uids) > 5000:
        return or_(*(Message.uid.between(a, b) for a, b in ranges))
    return Message.uid.in_(list(uids))
