"""Queries over folders, messages and blob reference counts."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import (
    Blob,
    BlobText,
    ExpungedMessage,
    Folder,
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
