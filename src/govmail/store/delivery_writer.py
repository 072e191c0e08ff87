"""The delivery hot path's writes: a batch of deliveries stored in one transaction with a
handful of set-wise statements, run synchronously in one dedicated thread.

Per batch: one upsert per distinct blob, one multi-row insert of search texts, one query for
the recipients' folders, one UID/MODSEQ allocation per destination folder, one multi-row
insert of the message rows, one quota update per mailbox, and the outbound rows. The
thread releases the GIL while SQLite or the network and fsync work, so the event loop
keeps serving SMTP sessions meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, bindparam, create_engine, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from govmail.store.models import Blob, BlobText, Folder, Mailbox, Message, OutboundMessage
from govmail.store.repos.mail import DEFAULT_FOLDERS, flags_to_columns, new_uidvalidity

if TYPE_CHECKING:
    from govmail.store.db import Store


@dataclass(slots=True)
class CopyRow:
    mailbox_id: int
    folder: str = "INBOX"  # "INBOX" or a special-use attribute ("\\Junk", "\\Sent", …)
    flags: tuple[str, ...] = ()
    folder_id: int | None = None


@dataclass(slots=True)
class DeliveryRows:
    sha256: str
    size: int
    search_text: str
    internal_date: datetime
    meta: dict[str, Any]
    copies: list[CopyRow]
    message_columns: dict[str, Any] = field(default_factory=dict)  # subject, folds, …
    remote: list[tuple[str, list[str]]] = field(default_factory=list)
    mail_from: str = ""
    expires_at: datetime | None = None
    dkim_domain: str | None = None


@dataclass(slots=True)
class WrittenCopy:
    mailbox_id: int
    folder_id: int
    uid: int


@dataclass(slots=True)
class Written:
    copies: list[WrittenCopy]
    outbound_ids: list[int]


def sync_url(url: str) -> str:
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite+pysqlite://" + url[len("sqlite+aiosqlite://") :]
    if url.startswith("postgresql+asyncpg://"):
        return "postgresql+psycopg://" + url[len("postgresql+asyncpg://") :]
    raise ValueError(f"no synchronous driver for {url}")


class DeliveryWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect
        kwargs: dict[str, Any] = {"pool_size": 2} if self.dialect == "postgresql" else {}
        self.engine: Engine = create_engine(sync_url(store.url), **kwargs)
        if self.dialect == "sqlite":
            _sqlite_pragmas(self.engine)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="delivery-writer")
        self._sql = _Statements(self.dialect)

    async def write(self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]) -> list[Written]:
        """Write the blob files (durably), then the rows (one transaction); in order."""
        loop = asyncio.get_running_loop()
        lock = self.store.write_lock
        if lock is None:
            return await loop.run_in_executor(self._executor, self._write_all, batch, raws)
        async with lock:
            return await loop.run_in_executor(self._executor, self._write_all, batch, raws)

    def _write_all(self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]) -> list[Written]:
        refs = self.store.blobs.put_many_sync(raws)
        for d, ref in zip(batch, refs, strict=True):
            d.sha256, d.size = ref.sha256, ref.size
        return self._write(batch)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()

    # -- the transaction ---------------------------------------------------------------
    def _write(self, batch: Sequence[DeliveryRows]) -> list[Written]:
        sql = self._sql
        with self.engine.begin() as conn:
            blob_ids = self._blobs(conn, batch)
            folders = self._folders(conn, {c.mailbox_id for d in batch for c in d.copies})
            # Destination folder of every copy, then UIDs and MODSEQs per folder.
            targets: list[list[int]] = []
            per_folder: dict[int, int] = defaultdict(int)
            for d in batch:
                ids = []
                for c in d.copies:
                    by_use = folders[c.mailbox_id]
                    fid = c.folder_id or by_use.get(c.folder) or by_use["INBOX"]
                    ids.append(fid)
                    per_folder[fid] += 1
                targets.append(ids)
            next_uid: dict[int, tuple[int, int]] = {}
            for fid, n in per_folder.items():
                uidnext, modseq = conn.execute(sql.allocate, {"fid": fid, "n": n}).one()
                next_uid[fid] = (int(uidnext) - n, int(modseq) - n + 1)
            rows: list[dict[str, Any]] = []
            used: dict[int, int] = defaultdict(int)
            results: list[Written] = []
            for d, fids in zip(batch, targets, strict=True):
                written = Written([], [])
                for c, fid in zip(d.copies, fids, strict=True):
                    uid, modseq = next_uid[fid]
                    next_uid[fid] = (uid + 1, modseq + 1)
                    rows.append(
                        {
                            "folder_id": fid,
                            "uid": uid,
                            "modseq": modseq,
                            "blob_id": blob_ids[d.sha256],
                            "internal_date": d.internal_date,
                            "size": d.size,
                            "meta": d.meta,
                            **flags_to_columns(c.flags),
                            **_message_defaults(d.message_columns),
                        }
                    )
                    used[c.mailbox_id] += d.size
                    written.copies.append(WrittenCopy(c.mailbox_id, fid, uid))
                for domain, rcpts in d.remote:
                    oid = conn.execute(
                        sql.outbound,
                        {
                            "blob_id": blob_ids[d.sha256],
                            "mail_from": d.mail_from,
                            "domain": domain,
                            "recipients": list(rcpts),
                            "next_attempt_at": d.internal_date,
                            "created_at": d.internal_date,
                            "expires_at": d.expires_at,
                            "dkim_domain": d.dkim_domain,
                        },
                    ).scalar_one()
                    written.outbound_ids.append(int(oid))
                results.append(written)
            if rows:
                conn.execute(sql.message, rows)
            if used:
                conn.execute(sql.used, [{"mid": k, "add": v} for k, v in used.items()])
        return results

    def _blobs(self, conn: Connection, batch: Sequence[DeliveryRows]) -> dict[str, int]:
        refs: dict[str, int] = defaultdict(int)
        sizes: dict[str, int] = {}
        texts: dict[str, str] = {}
        for d in batch:
            refs[d.sha256] += len(d.copies) + len(d.remote)
            sizes[d.sha256] = d.size
            if d.search_text:
                texts.setdefault(d.sha256, d.search_text)
        sql = self._sql
        ids: dict[str, int] = {}
        when = batch[0].internal_date
        for sha, n in refs.items():
            params = {"sha": sha, "size": sizes[sha], "n": n, "at": when}
            ids[sha] = int(conn.execute(sql.blob, params).scalar_one())
        if texts:
            params_list = [{"blob_id": ids[sha], "text": t} for sha, t in texts.items()]
            conn.execute(sql.blob_text, params_list)
        return ids

    def _folders(self, conn: Connection, mailbox_ids: set[int]) -> dict[int, dict[str, int]]:
        def load() -> dict[int, dict[str, int]]:
            out: dict[int, dict[str, int]] = {m: {} for m in mailbox_ids}
            if not mailbox_ids:
                return out
            rows = conn.execute(self._sql.folders, {"mids": sorted(mailbox_ids)})
            for mid, fid, name, special in rows:
                out[mid].setdefault("INBOX" if name == "INBOX" else special, fid)
            return out

        out = load()
        missing = [m for m, d in out.items() if "INBOX" not in d]
        if missing:
            for mid in missing:
                have = set(
                    conn.execute(select(Folder.name).where(Folder.mailbox_id == mid)).scalars()
                )
                for name, special in DEFAULT_FOLDERS:
                    if name not in have:
                        conn.execute(
                            insert(Folder).values(
                                mailbox_id=mid,
                                name=name,
                                special_use=special,
                                uidvalidity=new_uidvalidity(),
                                uidnext=1,
                                highestmodseq=1,
                                subscribed=True,
                                created_at=datetime.now().astimezone(),
                            )
                        )
            out = load()
        return out


class _Statements:
    """The writer's statements, built once: building a statement costs several times
    more than executing a prebuilt one (SQLAlchemy caches the compiled form per object)."""

    def __init__(self, dialect: str) -> None:
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        self.blob = (
            ins(Blob)
            .values(
                sha256=bindparam("sha"),
                size=bindparam("size"),
                refcount=bindparam("n"),
                created_at=bindparam("at"),
            )
            .on_conflict_do_update(
                index_elements=[Blob.sha256], set_={"refcount": Blob.refcount + bindparam("n")}
            )
            .returning(Blob.id)
        )
        self.blob_text = ins(BlobText).on_conflict_do_nothing(index_elements=[BlobText.blob_id])
        self.folders = (
            select(Folder.mailbox_id, Folder.id, Folder.name, Folder.special_use)
            .where(Folder.mailbox_id.in_(bindparam("mids", expanding=True)))
            .where((Folder.name == "INBOX") | Folder.special_use.is_not(None))
            .order_by(Folder.id)
        )
        self.allocate = (
            update(Folder)
            .where(Folder.id == bindparam("fid"))
            .values(
                uidnext=Folder.uidnext + bindparam("n"),
                highestmodseq=Folder.highestmodseq + bindparam("n"),
            )
            .returning(Folder.uidnext, Folder.highestmodseq)
        )
        self.message = insert(Message)
        self.outbound = (
            insert(OutboundMessage)
            .values(status="queued", attempts=0, delay_notified=False)
            .returning(OutboundMessage.id)
        )
        self.used = (
            update(Mailbox)
            .where(Mailbox.id == bindparam("mid"))
            .values(used_bytes=Mailbox.used_bytes + bindparam("add"))
        )


_MESSAGE_DEFAULTS = {
    "subject": "",
    "from_addr": "",
    "sent_date": None,
    "message_id_header": None,
    "has_attachments": False,
    "subject_fold": "",
    "from_fold": "",
    "to_fold": "",
    "cc_fold": "",
}


def _message_defaults(cols: dict[str, Any]) -> dict[str, Any]:
    return {**_MESSAGE_DEFAULTS, **cols}


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
