"""The delivery hot path's writes: a batch of deliveries stored in one transaction with a
handful of set-wise statements.

On SQLite a small batch's statements run on the event loop itself and only the commit
(the WAL fsync) goes to the writer's thread: every statement run in that thread released
the GIL and had to take it back from the busy event loop, and in this virtual machine each
such hand-over costs ≈ 0.1 ms; with ten SMTP sessions a batch of five deliveries took
≈ 8 ms in the thread for ≈ 2.3 ms of CPU and ≈ 1 ms of fsync. Large batches and large
bodies (file writes, big search texts) keep the whole transaction in the thread, so the
loop never stalls for long. PostgreSQL runs the whole transaction in the thread (its
statements are network round trips).

Per batch: one upsert per distinct blob, one multi-row insert of search texts, one query for
the recipients' folders, one UID/MODSEQ allocation per destination folder, one multi-row
insert of the message rows, one quota update per mailbox, the outbound rows, and the blob
journal's rows (small bodies in, bodies whose files are now durable out). The
thread releases the GIL while SQLite or the network and fsync work, so the event loop
keeps serving SMTP sessions meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.pool import PoolProxiedConnection

from govmail.store import search_index, sqlite_inline
from govmail.store.blob_journal import JOURNAL_MAX, Spiller, sync_url
from govmail.store.blobs import BlobStoreFull, sha256_hex
from govmail.store.repos.mail import DEFAULT_FOLDERS, flags_to_columns, new_uidvalidity
from govmail.store.wal_checkpoint import WalCheckpointer

if TYPE_CHECKING:
    from govmail.store.db import Store


# A batch's statements run on the event loop (SQLite) up to this much work.
INLINE_MAX_DELIVERIES = 16
INLINE_MAX_COPIES = 64
WRITER_BUSY_TIMEOUT_MS = 30_000  # the thread may wait this long for another process


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


class DeliveryWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.dialect = store.dialect
        kwargs: dict[str, Any] = {"pool_size": 2} if self.dialect == "postgresql" else {}
        if self.dialect == "sqlite":
            # The connection is used by the event loop and the writer thread in turn.
            kwargs["connect_args"] = {"check_same_thread": False}
        self.engine: Engine = create_engine(sync_url(store.url), **kwargs)
        self._checkpointer: WalCheckpointer | None = None
        if self.dialect == "sqlite":
            if store.sqlite_path not in ("", ":memory:"):
                self._checkpointer = WalCheckpointer(store.sqlite_path)
            _sqlite_pragmas(self.engine, checkpoints=self._checkpointer is None)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="delivery-writer")
        self._sql = _DriverSQL(self.dialect)
        # The writer's own connection: used by one side at a time, under the write lock.
        self._raw: PoolProxiedConnection | None = None
        self._busy: asyncio.Future[Any] | None = None
        self.spiller = Spiller(store.blobs)
        # Texts stored since the last indexing step (SQLite; store/search_index.py).
        self.unindexed = 0

    async def write(self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]) -> list[Written]:
        """Store the batch durably: bodies as files or in the blob journal, and the rows,
        in one transaction."""
        results = None
        if self._inline(batch, raws):
            results = await self._write_inline(batch, raws)
        if results is None:
            results = await self._run(self._write_all, batch, raws)
        if self.dialect == "sqlite":
            self.unindexed += sum(1 for d in batch if d.search_text)
        return results

    async def index_pending(self) -> search_index.Step:
        """One step of bringing stored texts into the full-text index, in the writer's
        thread between deliveries (SQLite; ``store/search_index.py``)."""
        if self.dialect != "sqlite":
            self.unindexed = 0
            return search_index.Step(0, more=False)
        step: search_index.Step = await self._run(self._index)
        self.unindexed = max(0, self.unindexed - step.indexed) if step.more else 0
        return step

    def _inline(self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]) -> bool:
        """Whether the batch's statements may run on the event loop: SQLite, and little
        enough work that the loop stalls for a few milliseconds at most."""
        return (
            self.dialect == "sqlite"
            and len(batch) <= INLINE_MAX_DELIVERIES
            and sum(len(d.copies) for d in batch) <= INLINE_MAX_COPIES
            and all(len(raw) <= JOURNAL_MAX for raw in raws)
        )

    async def _write_inline(
        self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]
    ) -> list[Written] | None:
        """None: another process holds the database's write lock; the batch is better
        written from the thread, which may wait for it without stalling the loop."""
        lock = self.store.write_lock
        assert lock is not None
        async with lock:
            await self._settled()
            raw = self._connection()
            try:
                if not self._begin_at_once(raw):
                    self._raw = raw
                    return None
                journal, written = self._bodies(batch, raws)
            except BaseException as exc:
                self._discard(raw, exc)
            try:
                results = self._statements(raw, batch, journal, written, begun=True)
            except BaseException:
                self._undo(journal, written)
                raise
            commit = self._in_thread(self._commit, raw)

            def finish(done: asyncio.Future[None]) -> None:
                if done.cancelled() or done.exception() is not None:
                    self._undo(journal, written)
                elif journal:
                    self.spiller.spill(journal)

            try:
                await asyncio.shield(commit)
            except asyncio.CancelledError:
                commit.add_done_callback(finish)  # the commit goes on in its thread
                raise
            except BaseException:
                self._undo(journal, written)
                raise
            finish(commit)
        return results

    async def tidy(self) -> None:
        """Write out the bodies waiting for their group (and those whose files failed
        before), and delete the journal rows of bodies whose files are durable (when no
        delivery has done so meanwhile)."""
        self.spiller.flush()
        if self.spiller.untidy():
            await self._run(self._tidy)

    async def _run(self, fn: Any, *args: Any) -> Any:
        lock = self.store.write_lock
        if lock is None:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        async with lock:
            await self._settled()
            return await asyncio.shield(self._in_thread(fn, *args))

    def _in_thread(self, fn: Any, *args: Any) -> asyncio.Future[Any]:
        """Run ``fn`` in the writer's thread; the connection is the thread's until it ends
        (``_settled``), even if the caller stops waiting."""
        fut = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        self._busy = fut
        return fut

    async def _settled(self) -> None:
        """Wait for work left running in the thread by a cancelled caller (SQLite: the
        statements of the next batch may run on the event loop, on the same connection)."""
        if self._busy is not None and not self._busy.done():
            await asyncio.wait([self._busy])

    def _write_all(self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]) -> list[Written]:
        journal, written = self._bodies(batch, raws)
        try:
            results = self._transaction(batch, journal, written)
        except BaseException:
            self._undo(journal, written)
            raise
        if journal:
            self.spiller.spill(journal)
        return results

    def _undo(self, journal: dict[str, bytes], written: list[str]) -> None:
        """After a failed transaction: the journaled bodies are no longer held for readers,
        and the journal rows it was to delete are deleted by a later one."""
        self.store.blobs.release(journal)
        self.spiller.give_back(written)

    def _bodies(
        self, batch: Sequence[DeliveryRows], raws: Sequence[bytes]
    ) -> tuple[dict[str, bytes], list[str]]:
        """Hash every body: large ones are written as files now, small new ones are held
        in memory for the journal. Returns those and the journal rows to delete (their
        files are durable)."""
        blobs = self.store.blobs
        journal: dict[str, bytes] = {}
        large: list[tuple[DeliveryRows, bytes]] = []
        for d, raw in zip(batch, raws, strict=True):
            if len(raw) > JOURNAL_MAX:
                large.append((d, raw))
                continue
            d.sha256, d.size = sha256_hex(raw), len(raw)
            if d.sha256 not in journal and not blobs.exists(d.sha256):
                journal[d.sha256] = raw
        if large:
            refs = blobs.put_many_sync([raw for _d, raw in large])
            for (d, _raw), ref in zip(large, refs, strict=True):
                d.sha256, d.size = ref.sha256, ref.size
        written = self.spiller.take_written()
        blobs.hold(journal)
        return journal, written

    def _index(self) -> search_index.Step:
        raw = self._connection()
        try:
            step = search_index.index_step(raw)
        except BaseException as exc:
            self._discard(raw, exc)
        self._raw = raw
        return step

    def _tidy(self) -> None:
        written = self.spiller.take_written()
        try:
            self._transaction([], {}, written)
        except BaseException:
            self.spiller.give_back(written)
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=True)  # a transaction still running spills first
        self.spiller.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        self.engine.dispose()

    # -- the transaction ---------------------------------------------------------------
    def _transaction(
        self, batch: Sequence[DeliveryRows], journal: dict[str, bytes], written: list[str]
    ) -> list[Written]:
        raw = self._connection()
        results = self._statements(raw, batch, journal, written)
        self._commit(raw)
        return results

    def _connection(self) -> PoolProxiedConnection:
        raw = self._raw or self.engine.raw_connection()
        self._raw = None  # until the transaction has ended well
        return raw

    def _begin_at_once(self, raw: PoolProxiedConnection) -> bool:
        """BEGIN IMMEDIATE waiting at most as long as the event loop's own SQLite writes
        do; False if another process (the CLI, a backup) holds the write lock."""
        cur = raw.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout={sqlite_inline.BUSY_TIMEOUT_MS}")
            try:
                cur.execute(self._sql.begin)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
                    return False
                raise
            return True
        finally:
            cur.execute(f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}")
            cur.close()

    def _statements(
        self,
        raw: PoolProxiedConnection,
        batch: Sequence[DeliveryRows],
        journal: dict[str, bytes],
        written: list[str],
        *,
        begun: bool = False,
    ) -> list[Written]:
        """The transaction's statements on the driver's own connection, left uncommitted:
        the batch's rows, the bodies to journal, and the journal rows to delete
        (``written``: their files are durable now).

        The statements are plain driver SQL: through SQLAlchemy's execution layer the
        same transaction cost ≈ 1.4 ms more per batch (a pool checkout, an execution
        context and parameter processing per statement), which one SMTP session waits for
        on every message.
        """
        try:
            cur = raw.cursor()
            try:
                if self._sql.begin and not begun:
                    cur.execute(self._sql.begin)
                if written:
                    cur.executemany(self._sql.unjournal, [{"sha": sha} for sha in written])
                if journal:
                    cur.executemany(
                        self._sql.journal, [{"sha": k, "data": v} for k, v in journal.items()]
                    )
                results = self._write(cur, batch) if batch else []
            finally:
                cur.close()
        except BaseException as exc:
            self._discard(raw, exc)
        return results

    def _commit(self, raw: PoolProxiedConnection) -> None:
        try:
            raw.commit()
        except BaseException as exc:
            self._discard(raw, exc)
        self._raw = raw

    @staticmethod
    def _discard(raw: PoolProxiedConnection, exc: BaseException) -> NoReturn:
        with contextlib.suppress(Exception):
            raw.rollback()
        raw.invalidate()  # whatever failed, the next batch starts on a new connection
        if _disk_full(exc):
            raise BlobStoreFull("no space left for the database") from exc
        raise exc

    def _write(self, cur: DBAPICursor, batch: Sequence[DeliveryRows]) -> list[Written]:
        sql = self._sql
        blob_ids = self._blobs(cur, batch)
        folders = self._folders(cur, {c.mailbox_id for d in batch for c in d.copies})
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
            cur.execute(sql.allocate, {"fid": fid, "n": n})
            ((uidnext, modseq),) = cur.fetchall()
            next_uid[fid] = (int(uidnext) - n, int(modseq) - n + 1)
        rows: list[dict[str, Any]] = []
        used: dict[int, int] = defaultdict(int)
        results: list[Written] = []
        for d, fids in zip(batch, targets, strict=True):
            written = Written([], [])
            internal_date = sql.when(d.internal_date)
            meta = sql.json(d.meta)
            columns = _message_defaults(d.message_columns)
            columns["sent_date"] = sql.when_or_none(columns["sent_date"])
            for c, fid in zip(d.copies, fids, strict=True):
                uid, modseq = next_uid[fid]
                next_uid[fid] = (uid + 1, modseq + 1)
                rows.append(
                    {
                        "folder_id": fid,
                        "uid": uid,
                        "modseq": modseq,
                        "blob_id": blob_ids[d.sha256],
                        "internal_date": internal_date,
                        "size": d.size,
                        "meta": meta,
                        **flags_to_columns(c.flags),
                        **columns,
                    }
                )
                used[c.mailbox_id] += d.size
                written.copies.append(WrittenCopy(c.mailbox_id, fid, uid))
            for domain, rcpts in d.remote:
                if d.expires_at is None:
                    raise ValueError("a remote delivery needs an expiry time")
                cur.execute(
                    sql.outbound,
                    {
                        "blob_id": blob_ids[d.sha256],
                        "mail_from": d.mail_from,
                        "domain": domain,
                        "recipients": sql.json(list(rcpts)),
                        "next_attempt_at": internal_date,
                        "created_at": internal_date,
                        "expires_at": sql.when(d.expires_at),
                        "dkim_domain": d.dkim_domain,
                    },
                )
                ((oid,),) = cur.fetchall()
                written.outbound_ids.append(int(oid))
            results.append(written)
        if rows:
            cur.executemany(sql.message, rows)
        if used:
            cur.executemany(sql.used, [{"mid": k, "add": v} for k, v in used.items()])
        return results

    def _blobs(self, cur: DBAPICursor, batch: Sequence[DeliveryRows]) -> dict[str, int]:
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
        when = sql.when(batch[0].internal_date)
        for sha, n in refs.items():
            cur.execute(sql.blob, {"sha": sha, "size": sizes[sha], "n": n, "at": when})
            ((ids[sha],),) = cur.fetchall()
        if texts:
            params_list = [{"blob_id": ids[sha], "text": t} for sha, t in texts.items()]
            cur.executemany(sql.blob_text, params_list)
        return ids

    def _folders(self, cur: DBAPICursor, mailbox_ids: set[int]) -> dict[int, dict[str, int]]:
        def load() -> dict[int, dict[str, int]]:
            out: dict[int, dict[str, int]] = {m: {} for m in mailbox_ids}
            if not mailbox_ids:
                return out
            query, params = self._sql.folders(sorted(mailbox_ids))
            cur.execute(query, params)
            for mid, fid, name, special in cur.fetchall():
                out[mid].setdefault("INBOX" if name == "INBOX" else special, fid)
            return out

        out = load()
        missing = [m for m, d in out.items() if "INBOX" not in d]
        if missing:
            now = self._sql.when(datetime.now(UTC))
            for mid in missing:
                cur.execute(self._sql.folder_names, {"mid": mid})
                have = {name for (name,) in cur.fetchall()}
                for name, special in DEFAULT_FOLDERS:
                    if name not in have:
                        cur.execute(
                            self._sql.new_folder,
                            {
                                "mid": mid,
                                "name": name,
                                "special": special,
                                "uidvalidity": new_uidvalidity(),
                                "at": now,
                            },
                        )
            out = load()
        return out


class _DriverSQL:
    """The writer's statements in the driver's own dialect, and the conversions that
    SQLAlchemy's column types would otherwise apply to the parameters (JSON text;
    timestamps as naive UTC text on SQLite, as aware values on PostgreSQL)."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"
        # SQLite runs in autocommit mode and takes the write lock up front; psycopg opens
        # a transaction by itself.
        self.begin = "" if self.postgres else "BEGIN IMMEDIATE"
        as_json = "CAST(:{} AS JSON)" if self.postgres else ":{}"
        true, false = ("true", "false") if self.postgres else ("1", "0")
        self.blob = self._q(
            "INSERT INTO blob (sha256, size, refcount, created_at) VALUES (:sha, :size, :n, :at)"
            " ON CONFLICT (sha256) DO UPDATE SET refcount = blob.refcount + excluded.refcount"
            " RETURNING id"
        )
        self.journal = self._q(
            "INSERT INTO blob_journal (sha256, data) VALUES (:sha, :data)"
            " ON CONFLICT (sha256) DO NOTHING"
        )
        self.unjournal = self._q("DELETE FROM blob_journal WHERE sha256 = :sha")
        self.blob_text = self._q(
            "INSERT INTO blob_text (blob_id, text) VALUES (:blob_id, :text)"
            " ON CONFLICT (blob_id) DO NOTHING"
        )
        self.allocate = self._q(
            "UPDATE folder SET uidnext = uidnext + :n, highestmodseq = highestmodseq + :n"
            " WHERE id = :fid RETURNING uidnext, highestmodseq"
        )
        columns = [
            "folder_id",
            "uid",
            "modseq",
            "blob_id",
            "internal_date",
            "size",
            "seen",
            "answered",
            "flagged",
            "deleted",
            "draft",
            "keywords",
            *_MESSAGE_DEFAULTS,
        ]
        values = [as_json.format(c) if c == "meta" else f":{c}" for c in [*columns, "meta"]]
        self.message = self._q(
            f"INSERT INTO message ({', '.join([*columns, 'meta'])}) VALUES ({', '.join(values)})"
        )
        self.outbound = self._q(
            "INSERT INTO outbound (blob_id, mail_from, domain, recipients, status, attempts,"
            " next_attempt_at, created_at, expires_at, delay_notified, dkim_domain)"
            f" VALUES (:blob_id, :mail_from, :domain, {as_json.format('recipients')}, 'queued', 0,"
            f" :next_attempt_at, :created_at, :expires_at, {false}, :dkim_domain) RETURNING id"
        )
        self.used = self._q("UPDATE mailbox SET used_bytes = used_bytes + :add WHERE id = :mid")
        self.folder_names = self._q("SELECT name FROM folder WHERE mailbox_id = :mid")
        self.new_folder = self._q(
            "INSERT INTO folder (mailbox_id, name, special_use, uidvalidity, uidnext,"
            " highestmodseq, subscribed, created_at, imap_recent_uid)"
            f" VALUES (:mid, :name, :special, :uidvalidity, 1, 1, {true}, :at, 0)"
        )

    def _q(self, sql: str) -> str:
        """``:name`` parameters, as SQLite takes them, in psycopg's ``%(name)s`` form."""
        return _NAMED.sub(r"%(\1)s", sql) if self.postgres else sql

    def folders(self, mailbox_ids: Sequence[int]) -> tuple[str, dict[str, Any]]:
        names = [f"m{i}" for i in range(len(mailbox_ids))]
        query = self._q(
            "SELECT mailbox_id, id, name, special_use FROM folder"
            f" WHERE mailbox_id IN ({', '.join(':' + n for n in names)})"
            " AND (name = 'INBOX' OR special_use IS NOT NULL) ORDER BY id"
        )
        return query, dict(zip(names, mailbox_ids, strict=True))

    def when(self, value: datetime) -> datetime | str:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        if self.postgres:
            return value
        # SQLAlchemy's SQLite DATETIME text, which the rest of the store reads back.
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")

    def when_or_none(self, value: datetime | None) -> datetime | str | None:
        return None if value is None else self.when(value)

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value)


def _disk_full(exc: BaseException) -> bool:
    """SQLITE_FULL, or PostgreSQL's disk_full (SQLSTATE 53100)."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return getattr(exc, "sqlstate", None) == "53100"


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


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


def _sqlite_pragmas(engine: Engine, *, checkpoints: bool) -> None:
    """``checkpoints``: whether commits checkpoint the WAL themselves (else a
    :class:`WalCheckpointer` does)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}",
            "PRAGMA wal_autocheckpoint=" + ("1000" if checkpoints else "0"),
        ):
            cur.execute(pragma)
        cur.close()
