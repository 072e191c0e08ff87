"""Queries of the operations features: Bayes classifier, allow/block lists, attachment
policies, backup runs, the archive journal and legal holds, IMAP migration progress."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import Agency, Folder, Mailbox, Message, utcnow
from govmail.store.models_ops import (
    ArchiveEntry,
    AttachmentPolicy,
    BackupRun,
    BayesMessage,
    BayesToken,
    LegalHold,
    MigrationItem,
    OpsState,
    SpamListEntry,
)


class OpsRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    def _insert(self, model: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(model)

    # -- Bayes -------------------------------------------------------------------------
    async def bayes_counts(self) -> tuple[int, int]:
        rows = await self.s.execute(
            select(BayesMessage.label, func.count()).group_by(BayesMessage.label)
        )
        counts = dict(rows.all())
        return int(counts.get("spam", 0)), int(counts.get("ham", 0))

    async def bayes_tokens(self, tokens: Sequence[str]) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for i in range(0, len(tokens), 500):
            rows = await self.s.execute(
                select(BayesToken.token, BayesToken.spam, BayesToken.ham).where(
                    BayesToken.token.in_(list(tokens[i : i + 500]))
                )
            )
            for tok, sp, hm in rows.all():
                out[tok] = (int(sp), int(hm))
        return out

    async def bayes_all_tokens(self, limit: int) -> dict[str, tuple[int, int]] | None:
        """Every token's counts, or None when there are more than ``limit`` tokens."""
        n = int(await self.s.scalar(select(func.count()).select_from(BayesToken)) or 0)
        if n > limit:
            return None
        rows = await self.s.execute(select(BayesToken.token, BayesToken.spam, BayesToken.ham))
        return {t: (int(sp), int(hm)) for t, sp, hm in rows.all()}

    async def bayes_label(self, sha256: str) -> str | None:
        return await self.s.scalar(
            select(BayesMessage.label).where(BayesMessage.sha256 == sha256)
        )

    async def bayes_adjust(self, tokens: Iterable[str], spam: int, ham: int) -> None:
        """Add ``spam``/``ham`` (possibly negative) to each token's counts."""
        toks = sorted(set(tokens))
        for i in range(0, len(toks), 500):
            chunk = toks[i : i + 500]
            ins = self._insert(BayesToken)
            stmt = ins.values(
                [{"token": t, "spam": max(spam, 0), "ham": max(ham, 0)} for t in chunk]
            ).on_conflict_do_update(
                index_elements=[BayesToken.token],
                set_={
                    "spam": func.max(BayesToken.spam + spam, 0)
                    if self.dialect == "sqlite"
                    else func.greatest(BayesToken.spam + spam, 0),
                    "ham": func.max(BayesToken.ham + ham, 0)
                    if self.dialect == "sqlite"
                    else func.greatest(BayesToken.ham + ham, 0),
                },
            )
            await self.s.execute(stmt)

    async def bayes_set_label(self, sha256: str, label: str | None) -> None:
        await self.s.execute(delete(BayesMessage).where(BayesMessage.sha256 == sha256))
        if label is not None:
            self.s.add(BayesMessage(sha256=sha256, label=label))
            await self.s.flush()

    # -- allow / block lists -------------------------------------------------------------
    async def spam_entries(self, agency_ids: Iterable[int]) -> Sequence[SpamListEntry]:
        ids = list(agency_ids)
        cond = SpamListEntry.agency_id.is_(None)
        if ids:
            cond = cond | SpamListEntry.agency_id.in_(ids)
        return (await self.s.scalars(select(SpamListEntry).where(cond))).all()

    async def all_spam_entries(self) -> Sequence[SpamListEntry]:
        return (
            await self.s.scalars(
                select(SpamListEntry).order_by(SpamListEntry.agency_id, SpamListEntry.pattern)
            )
        ).all()

    async def add_spam_entry(self, agency_id: int | None, kind: str, pattern: str) -> bool:
        existing = await self.s.scalar(
            select(SpamListEntry).where(
                SpamListEntry.agency_id.is_(None)
                if agency_id is None
                else SpamListEntry.agency_id == agency_id,
                SpamListEntry.kind == kind,
                SpamListEntry.pattern == pattern,
            )
        )
        if existing is not None:
            return False
        self.s.add(SpamListEntry(agency_id=agency_id, kind=kind, pattern=pattern))
        await self.s.flush()
        return True

    async def remove_spam_entry(self, agency_id: int | None, kind: str, pattern: str) -> int:
        res = await self.s.execute(
            delete(SpamListEntry).where(
                SpamListEntry.agency_id.is_(None)
                if agency_id is None
                else SpamListEntry.agency_id == agency_id,
                SpamListEntry.kind == kind,
                SpamListEntry.pattern == pattern,
            )
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- attachment policies -------------------------------------------------------------
    async def attachment_policies(self, agency_ids: Iterable[int]) -> Sequence[AttachmentPolicy]:
        ids = list(agency_ids)
        if not ids:
            return []
        return (
            await self.s.scalars(
                select(AttachmentPolicy).where(AttachmentPolicy.agency_id.in_(ids))
            )
        ).all()

    async def set_attachment_policy(
        self, agency_id: int, categories: list[str], extensions: list[str]
    ) -> None:
        row = await self.s.get(AttachmentPolicy, agency_id)
        if row is None:
            self.s.add(
                AttachmentPolicy(
                    agency_id=agency_id,
                    blocked_categories=categories,
                    blocked_extensions=extensions,
                )
            )
        else:
            row.blocked_categories = categories
            row.blocked_extensions = extensions
        await self.s.flush()

    async def delete_attachment_policy(self, agency_id: int) -> None:
        await self.s.execute(
            delete(AttachmentPolicy).where(AttachmentPolicy.agency_id == agency_id)
        )

    # -- agencies --------------------------------------------------------------------
    async def agency_ids_of_mailboxes(self, mailbox_ids: Iterable[int]) -> dict[int, int]:
        ids = list(mailbox_ids)
        if not ids:
            return {}
        rows = await self.s.execute(
            select(Mailbox.id, Mailbox.agency_id).where(
                Mailbox.id.in_(ids), Mailbox.agency_id.is_not(None)
            )
        )
        return {int(a): int(b) for a, b in rows.all()}

    async def agency_by_code(self, code: str) -> Agency | None:
        return await self.s.scalar(select(Agency).where(Agency.code == code))

    async def agencies_under(self, codes: Iterable[str]) -> dict[int, str]:
        """Agency id -> the chosen code it falls under (the agency itself or an ancestor)."""
        out: dict[int, str] = {}
        for code in codes:
            root = await self.agency_by_code(code)
            if root is None:
                continue
            rows = await self.s.execute(
                select(Agency.id).where(
                    (Agency.id == root.id) | Agency.path.startswith(root.path)
                )
            )
            for (aid,) in rows.all():
                out.setdefault(int(aid), code)
        return out

    async def mailboxes_by_ids(self, ids: Iterable[int]) -> Sequence[Mailbox]:
        lst = list(ids)
        if not lst:
            return []
        return (await self.s.scalars(select(Mailbox).where(Mailbox.id.in_(lst)))).all()

    async def mailbox_by_address(self, address: str) -> Mailbox | None:
        return await self.s.scalar(select(Mailbox).where(Mailbox.address == address.lower()))

    async def ping(self) -> None:
        """A round trip to the database (health checks)."""
        await self.s.execute(select(1))

    # -- backup runs -------------------------------------------------------------------
    async def start_backup_run(self, kind: str, target: str) -> BackupRun:
        run = BackupRun(
            kind=kind,
            target=target,
            status="running",
            messages=0,
            blobs_total=0,
            blobs_copied=0,
            bytes_copied=0,
        )
        self.s.add(run)
        await self.s.flush()
        return run

    async def fail_running_backups(self, error: str, now: datetime) -> int:
        """Mark every run still "running" as failed (the caller knows none is)."""
        result = await self.s.execute(
            update(BackupRun)
            .where(BackupRun.status == "running")
            .values(status="failed", error=error, finished_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def backup_run(self, run_id: int) -> BackupRun | None:
        return await self.s.get(BackupRun, run_id)

    async def backup_runs(self, limit: int = 20) -> Sequence[BackupRun]:
        return (
            await self.s.scalars(
                select(BackupRun).order_by(BackupRun.id.desc()).limit(limit)
            )
        ).all()

    async def last_backup(self, *, ok_only: bool = False) -> BackupRun | None:
        q = select(BackupRun).where(BackupRun.kind != "verify")
        q = q.where(BackupRun.status == "ok") if ok_only else q.where(BackupRun.status != "running")
        return await self.s.scalar(q.order_by(BackupRun.id.desc()).limit(1))

    # -- store-wide figures (backup manifests and their verification) -------------------
    async def table_counts(self, tables: Sequence[str]) -> dict[str, int]:
        from sqlalchemy import table

        out: dict[str, int] = {}
        for name in tables:
            out[name] = int(
                await self.s.scalar(select(func.count()).select_from(table(name))) or 0
            )
        return out

    async def message_digest_rows(self, after_id: int, limit: int) -> list[tuple[Any, ...]]:
        """(id, folder, uid, sha, flags...) of messages in id order, for content digests."""
        from govmail.store.models import Blob

        rows = await self.s.execute(
            select(
                Message.id,
                Message.folder_id,
                Message.uid,
                Blob.sha256,
                Message.seen,
                Message.answered,
                Message.flagged,
                Message.deleted,
                Message.draft,
                Message.keywords,
                Message.internal_date,
            )
            .join(Blob, Blob.id == Message.blob_id)
            .where(Message.id > after_id)
            .order_by(Message.id)
            .limit(limit)
        )
        return [tuple(r) for r in rows.all()]

    # -- archive -----------------------------------------------------------------------
    async def state(self, key: str, *, for_update: bool = False) -> dict[str, Any] | None:
        q = select(OpsState).where(OpsState.key == key)
        if for_update and self.dialect == "postgresql":
            q = q.with_for_update()
        row = await self.s.scalar(q)
        return dict(row.value) if row is not None else None

    async def set_state(self, key: str, value: dict[str, Any]) -> None:
        row = await self.s.get(OpsState, key)
        if row is None:
            self.s.add(OpsState(key=key, value=value))
        else:
            row.value = value
        await self.s.flush()

    async def lock_state(self, key: str) -> None:
        """Create ``key`` if missing, so that ``state(key, for_update=True)`` can lock it."""
        stmt = self._insert(OpsState).values(key=key, value={}).on_conflict_do_nothing()
        await self.s.execute(stmt)

    async def add_archive_entry(self, entry: ArchiveEntry) -> None:
        self.s.add(entry)
        await self.s.flush()

    async def archive_entries(self, after_seq: int, limit: int) -> Sequence[ArchiveEntry]:
        return (
            await self.s.scalars(
                select(ArchiveEntry)
                .where(ArchiveEntry.seq > after_seq)
                .order_by(ArchiveEntry.seq)
                .limit(limit)
            )
        ).all()

    async def archive_for_mailbox(self, address: str, limit: int = 1000) -> Sequence[ArchiveEntry]:
        return (
            await self.s.scalars(
                select(ArchiveEntry)
                .where(ArchiveEntry.mailbox_address == address.lower())
                .order_by(ArchiveEntry.seq)
                .limit(limit)
            )
        ).all()

    async def archive_stats(self) -> tuple[int, int | None, int | None]:
        row = (
            await self.s.execute(
                select(func.count(), func.min(ArchiveEntry.seq), func.max(ArchiveEntry.seq))
            )
        ).one()
        return int(row[0]), row[1], row[2]

    async def expired_archive_entries(
        self, cutoff: datetime, held: set[str], limit: int
    ) -> list[ArchiveEntry]:
        """Entries older than ``cutoff`` whose content is still kept, outside legal holds."""
        q = (
            select(ArchiveEntry)
            .where(ArchiveEntry.at < cutoff, ArchiveEntry.purged_at.is_(None))
            .order_by(ArchiveEntry.seq)
            .limit(limit)
        )
        if held:
            q = q.where(ArchiveEntry.mailbox_address.not_in(sorted(held)))
        return list((await self.s.scalars(q)).all())

    async def blob_size(self, sha256: str) -> int | None:
        from govmail.store.models import Blob

        return await self.s.scalar(select(Blob.size).where(Blob.sha256 == sha256))

    async def drop_blob_ref(self, sha256: str) -> None:
        from govmail.store.models import Blob

        await self.s.execute(
            update(Blob).where(Blob.sha256 == sha256).values(refcount=Blob.refcount - 1)
        )

    async def legal_holds(self) -> Sequence[LegalHold]:
        return (
            await self.s.scalars(select(LegalHold).order_by(LegalHold.mailbox_address))
        ).all()

    async def add_legal_hold(self, address: str, reason: str, by: str) -> bool:
        if await self.s.scalar(
            select(LegalHold).where(LegalHold.mailbox_address == address)
        ) is not None:
            return False
        self.s.add(LegalHold(mailbox_address=address, reason=reason, created_by=by))
        await self.s.flush()
        return True

    async def remove_legal_hold(self, address: str) -> int:
        res = await self.s.execute(delete(LegalHold).where(LegalHold.mailbox_address == address))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- IMAP migration ----------------------------------------------------------------
    async def migrated_uids(self, account: str, folder: str, uidvalidity: int) -> set[int]:
        rows = await self.s.execute(
            select(MigrationItem.source_uid).where(
                MigrationItem.account == account,
                MigrationItem.source_folder == folder,
                MigrationItem.uidvalidity == uidvalidity,
            )
        )
        return {int(r[0]) for r in rows.all()}

    async def record_migrated(
        self, account: str, folder: str, uidvalidity: int, items: Sequence[tuple[int, int, int]]
    ) -> None:
        """items: (source uid, govmail folder id, govmail uid)."""
        if not items:
            return
        stmt = (
            self._insert(MigrationItem)
            .values(
                [
                    {
                        "account": account,
                        "source_folder": folder,
                        "uidvalidity": uidvalidity,
                        "source_uid": su,
                        "folder_id": fid,
                        "uid": uid,
                        "copied_at": utcnow(),
                    }
                    for su, fid, uid in items
                ]
            )
            .on_conflict_do_nothing()
        )
        await self.s.execute(stmt)

    async def find_copy(
        self, folder_id: int, message_id: str | None, size: int, internal_date: datetime
    ) -> int | None:
        """UID of a message already in the folder with these traits (a copy made just before
        an interruption, before its progress was recorded)."""
        q = select(Message.uid).where(
            Message.folder_id == folder_id,
            Message.size == size,
            Message.internal_date == internal_date,
        )
        if message_id is not None:
            q = q.where(Message.message_id_header == message_id)
        return await self.s.scalar(q.limit(1))

    async def folders(self, mailbox_id: int) -> Sequence[Folder]:
        return (
            await self.s.scalars(
                select(Folder).where(Folder.mailbox_id == mailbox_id).order_by(Folder.name)
            )
        ).all()

    async def export_rows(
        self, folder_id: int, after_uid: int, limit: int
    ) -> list[tuple[Any, ...]]:
        """(uid, sha, internal date, seen, answered, flagged, deleted, draft, keywords)."""
        from govmail.store.models import Blob

        rows = await self.s.execute(
            select(
                Message.uid,
                Blob.sha256,
                Message.internal_date,
                Message.seen,
                Message.answered,
                Message.flagged,
                Message.deleted,
                Message.draft,
                Message.keywords,
            )
            .join(Blob, Blob.id == Message.blob_id)
            .where(Message.folder_id == folder_id, Message.uid > after_uid)
            .order_by(Message.uid)
            .limit(limit)
        )
        return [tuple(r) for r in rows.all()]

    async def blob_shas(self, blob_ids: Iterable[int]) -> dict[int, str]:
        from govmail.store.models import Blob

        ids = list(blob_ids)
        if not ids:
            return {}
        rows = await self.s.execute(select(Blob.id, Blob.sha256).where(Blob.id.in_(ids)))
        return {int(a): str(b) for a, b in rows.all()}

    async def add_blob_ref(self, sha256: str) -> None:
        from govmail.store.models import Blob

        await self.s.execute(
            update(Blob).where(Blob.sha256 == sha256).values(refcount=Blob.refcount + 1)
        )


# -- whole-database operations used by backups (files and snapshots, not rows) -----------
def sqlite_snapshot(source: str, dest: str) -> None:
    """Copy a live SQLite database consistently with SQLite's online backup API."""
    import sqlite3

    src = sqlite3.connect(source, timeout=60)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst, pages=4096)
        finally:
            dst.close()
    finally:
        src.close()


async def pg_export_snapshot(session: AsyncSession) -> str:
    """Make ``session``'s transaction REPEATABLE READ and export its snapshot, so that
    pg_dump --snapshot sees exactly what this transaction sees."""
    from sqlalchemy import text

    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    return str((await session.execute(text("SELECT pg_export_snapshot()"))).scalar_one())


async def user_table_count(session: AsyncSession, dialect: str) -> int:
    """How many tables the database has (0: an empty installation)."""
    from sqlalchemy import text

    if dialect == "sqlite":
        q = "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    else:
        q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    return int((await session.execute(text(q))).scalar_one())


async def blob_list(session: AsyncSession, after_id: int, limit: int) -> list[tuple[int, str, int]]:
    from govmail.store.models import Blob

    rows = await session.execute(
        select(Blob.id, Blob.sha256, Blob.size)
        .where(Blob.id > after_id)
        .order_by(Blob.id)
        .limit(limit)
    )
    return [(int(a), str(b), int(c)) for a, b, c in rows.all()]
