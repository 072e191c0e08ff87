"""What a user does to their own mail, for every door (IMAP, POP3, webmail, API):
append, read, flag, copy, move, expunge. Changes are durable before they return and are
announced to the other sessions watching the folder."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from govmail.delivery.committer import GroupCommitter, LocalCopy, StoreJob
from govmail.delivery.events import FolderChange, MailEvents
from govmail.mail.parsed import parse_message
from govmail.mail.searchfields import header_folds
from govmail.store.blobs import BlobStoreFull
from govmail.store.db import Store
from govmail.store.models import Folder, Message, utcnow

log = logging.getLogger("govmail.mailstore")


# Told after messages were copied or moved (IMAP COPY/MOVE, the webmail): (source folder,
# destination folder, the source messages). The Bayes trainer learns from moves into and
# out of Junk. Errors are logged, never raised to the user.
CopyObserver = Callable[[Folder, Folder, Sequence[Message]], Awaitable[None]]


class MailStoreError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "overquota" | "toobig" | "storage" | "nonexistent"


@dataclass(slots=True)
class Appended:
    folder_id: int
    uidvalidity: int
    uid: int


class MailStore:
    def __init__(
        self, store: Store, committer: GroupCommitter, events: MailEvents, max_size: int
    ) -> None:
        self.store = store
        self.committer = committer
        self.events = events
        self.max_size = max_size
        self.observers: list[CopyObserver] = []

    async def append(
        self,
        folder: Folder,
        raw: bytes,
        flags: Sequence[str] = (),
        internal_date: datetime | None = None,
        *,
        origin: object | None = None,
    ) -> Appended:
        if len(raw) > self.max_size:
            raise MailStoreError("toobig", f"message of {len(raw)} bytes over {self.max_size}")
        async with self.store.read() as tx:
            mb = await tx.directory.mailbox_by_id(folder.mailbox_id)
            if mb is not None and mb.quota_bytes and mb.used_bytes + len(raw) > mb.quota_bytes:
                raise MailStoreError("overquota", "mailbox quota exceeded")
        parsed = parse_message(raw)
        meta = parsed.to_dict()
        search_text = meta.pop("text_for_search", "") or ""
        job = StoreJob(
            raw=raw,
            meta=meta,
            search_text=search_text,
            internal_date=internal_date or utcnow(),
            copies=[LocalCopy(folder.mailbox_id, flags=tuple(flags), folder_id=folder.id)],
            subject=parsed.subject or "",
            from_addr=parsed.from_addr or "",
            sent_date=parsed.date,
            message_id=parsed.message_id,
            has_attachments=parsed.has_attachments,
            folds=header_folds(meta),
        )
        try:
            result = await self.committer.submit(job)
        except BlobStoreFull as exc:
            raise MailStoreError("storage", "storage is full") from exc
        copy = result.copies[0]
        self.events.publish(FolderChange(folder.id, "new", copy.uid, origin))
        return Appended(folder.id, folder.uidvalidity, copy.uid)

    async def read_raw(self, message: Message) -> bytes:
        async with self.store.read() as tx:
            sha = await tx.mail.blob_sha_of(message)
        return await self.store.blobs.get(sha)

    async def set_flags(
        self,
        folder_id: int,
        uids: Sequence[int],
        mode: str,
        flags: Sequence[str],
        *,
        unchanged_since: int | None = None,
        origin: object | None = None,
    ) -> tuple[list[Message], list[Message]]:
        async with self.store.write() as tx:
            await tx.mail.lock_folder(folder_id)
            msgs = await tx.mail.messages_by_uids(folder_id, uids)
            changed, refused = await tx.mail.set_flags(
                folder_id, msgs, mode, flags, unchanged_since
            )
        for m in changed:
            self.events.publish(FolderChange(folder_id, "flags", m.uid, origin))
        return changed, refused

    async def copy(
        self,
        src_folder_id: int,
        uids: Sequence[int],
        dest: Folder,
        *,
        move: bool = False,
        origin: object | None = None,
    ) -> list[tuple[int, int]]:
        """Copy (or move) messages; returns (source uid, new uid) pairs."""
        async with self.store.write() as tx:
            await tx.mail.lock_folder(src_folder_id)
            msgs = await tx.mail.messages_by_uids(src_folder_id, uids)
            dest_row = await tx.mail.folder_by_id(dest.id)
            if dest_row is None:
                raise MailStoreError("nonexistent", "destination folder no longer exists")
            mb = await tx.directory.mailbox_by_id(dest_row.mailbox_id)
            size = sum(m.size for m in msgs)
            if (
                not move
                and mb is not None
                and mb.quota_bytes
                and (mb.used_bytes + size > mb.quota_bytes)
            ):
                raise MailStoreError("overquota", "mailbox quota exceeded")
            pairs = await tx.mail.copy_messages(msgs, dest_row)
            result = [(src.uid, new.uid) for src, new in pairs]
            expunged: list[int] = []
            src_folder = await tx.mail.folder_by_id(src_folder_id)
            if move:
                assert src_folder is not None
                expunged = await tx.mail.expunge(src_folder, msgs)
        for _src, new_uid in result:
            self.events.publish(FolderChange(dest.id, "new", new_uid, origin))
        for uid in expunged:
            self.events.publish(FolderChange(src_folder_id, "expunge", uid, origin))
        for observer in self.observers:
            try:
                if src_folder is not None and msgs:
                    await observer(src_folder, dest_row, msgs)
            except Exception:
                log.exception("copy observer failed")
        return result

    async def expunge(
        self, folder_id: int, uids: Sequence[int] | None = None, *, origin: object | None = None
    ) -> list[int]:
        """Remove the messages flagged \\Deleted (only those among ``uids`` if given)."""
        async with self.store.write() as tx:
            await tx.mail.lock_folder(folder_id)
            folder = await tx.mail.folder_by_id(folder_id)
            if folder is None:
                return []
            msgs = [
                m
                for m in (
                    await tx.mail.messages_by_uids(folder_id, uids)
                    if uids is not None
                    else await tx.mail.messages(folder_id)
                )
                if m.deleted
            ]
            gone = await tx.mail.expunge(folder, msgs)
        for uid in gone:
            self.events.publish(FolderChange(folder_id, "expunge", uid, origin))
        return gone
