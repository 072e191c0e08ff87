"""Database engine, transactions and migrations.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` so that a
commit is on disk when it returns. Write transactions start with ``BEGIN IMMEDIATE``
and are serialised in-process by a lock, so concurrent writers queue instead of
failing with "database is locked"; other processes (the CLI beside a running server)
wait on ``busy_timeout``. PostgreSQL needs none of this.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from govmail.store import sqlite_inline
from govmail.store.blob_journal import JournalReader, write_out
from govmail.store.blobs import BlobStore
from govmail.store.hot_reader import HotReader
from govmail.store.repos.mail import MailRows
from govmail.store.tx import Tx

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
LOCK_WAIT = 30.0


class Store:
    """The database plus the blob files: the one entry point to stored state."""

    def __init__(
        self,
        url: str,
        blob_dir: Path,
        *,
        echo: bool = False,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.blobs = BlobStore(blob_dir)
        self._journal_reader = JournalReader(url)
        self.blobs.journal_reader = self._journal_reader
        kwargs: dict[str, Any] = {"echo": echo}
        path = ""
        if self.is_sqlite:
            path = url.split(":///", 1)[1] if ":///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["async_creator"] = sqlite_inline.creator(path)
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
        # The SQLite database file ("" or ":memory:" when there is none).
        self.sqlite_path = path
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
            self._write_engine = self.engine.execution_options(govmail_begin="BEGIN IMMEDIATE")
            self._rows_engine = self.engine.execution_options(govmail_begin="")
        else:
            self._write_engine = self._rows_engine = self.engine
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self._write_engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.hot = HotReader(self.engine, path if self.is_sqlite else None)
        # Reads of plain rows for the hot paths of the doors, without an ORM session.
        self.rows = MailRows(self._rows_engine, self.hot, self.dialect)

    @property
    def write_lock(self) -> asyncio.Lock | None:
        """The in-process writer lock (SQLite only); other writers must hold it too."""
        return self._write_lock

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    async def open(self, *, migrate: bool = True) -> None:
        self.blobs.ensure()
        self.blobs.clean_tmp()
        if migrate:
            await self.migrate()
            await write_out(self)  # bodies a crash left in the blob journal

    async def close(self) -> None:
        self.hot.close()
        self._journal_reader.close()
        await self.engine.dispose()

    async def migrate(self, revision: str = "heads") -> None:
        """Bring the schema to ``revision`` with Alembic (every branch head by default:
        features add their tables on branches of their own)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_alembic_upgrade, revision)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A write transaction; committed (durably) when the block exits normally."""
        if self._write_lock is not None:
            async with self._write_lock, self._tx(self._write_sessions) as tx:
                yield tx
        else:
            async with self._tx(self._write_sessions) as tx:
                yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A transaction for reading; loaded objects stay usable after the block."""
        async with self._tx(self._read_sessions) as tx:
            yield tx

    @asynccontextmanager
    async def _tx(self, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Tx]:
        session = await self._begin(maker)
        try:
            yield Tx(session, self)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            session.expunge_all()
            await session.close()

    async def _begin(self, maker: async_sessionmaker[AsyncSession]) -> AsyncSession:
        """A session with its transaction begun. SQLite statements run on the event loop
        with a short busy timeout; another process holding the write lock (the CLI beside
        the server) is waited for here, asynchronously, for up to LOCK_WAIT seconds."""
        delay, waited = 0.005, 0.0
        while True:
            session = maker()
            try:
                await session.connection()
                return session
            except OperationalError as exc:
                await session.close()
                if "locked" not in str(exc) or waited >= LOCK_WAIT:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.2)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED only).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={sqlite_inline.BUSY_TIMEOUT_MS}",
            "PRAGMA cache_size=-32000",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        begin = conn.get_execution_options().get("govmail_begin", "BEGIN")
        if begin:  # "" for single statements (Store.rows): each is its own transaction
            conn.exec_driver_sql(begin)


def _alembic_upgrade(sync_conn: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)
