"""Migrations 0013 and 0014 on a database that already holds indexed texts, both ways
(SQLite)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete
from tests.store.test_delivery_writer import _fts_intact, bare_mailbox, write_text

from govmail.store import search_index
from govmail.store.db import MIGRATIONS_DIR, Store
from govmail.store.delivery_writer import DeliveryWriter
from govmail.store.models import BlobText
from govmail.store.repos.search import trigram_query


def _config(sync_conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if sync_conn is not None:
        cfg.attributes["connection"] = sync_conn
    return cfg


async def _downgrade(store: Store, target: str) -> None:
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.downgrade(_config(sync_conn), target))


def _matches(db: Path, term: str) -> list[int]:
    """Texts holding every trigram of ``term``: a query both forms of the index answer."""
    with contextlib.closing(sqlite3.connect(db)) as c:
        rows = c.execute(
            "SELECT rowid FROM blob_fts WHERE blob_fts MATCH ? ORDER BY 1", (trigram_query(term),)
        )
        return [r[0] for r in rows]


def _index_definition(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return str(c.execute("SELECT sql FROM sqlite_master WHERE name = 'blob_fts'").fetchone()[0])


def _index_all(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
        while search_index.index_step(c, limit=1).more:
            pass


def _pending(db: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return [r[0] for r in c.execute("SELECT blob_id FROM fts_pending ORDER BY 1")]


@contextlib.asynccontextmanager
async def _store_before(tmp_path: Path, search: str) -> AsyncIterator[tuple[Path, Store, int]]:
    """A store with every migration but the search branch's beyond ``search``, a mailbox,
    and its database file."""
    db = tmp_path / "govmail.db"
    store = Store(f"sqlite+aiosqlite:///{db}", tmp_path / "blobs")
    await store.open(migrate=False)
    try:
        for head in ScriptDirectory.from_config(_config()).get_heads():
            await store.migrate(search if head == "0014" else head)
        yield db, store, await bare_mailbox(store)
    finally:
        await store.close()


async def test_upgrade_keeps_the_index_and_downgrade_indexes_what_is_pending(
    tmp_path: Path,
) -> None:
    async with _store_before(tmp_path, "0002") as (db, store, mid):
        with contextlib.closing(DeliveryWriter(store)) as writer:
            for i, words in enumerate(["cong van mot", "cong van hai"]):
                await write_text(writer, mid, words, i)
            assert _matches(db, "cong van") == [1, 2]  # indexed by the old trigger

            await store.migrate("0013")
            assert _pending(db) == [] and _matches(db, "cong van") == [1, 2]
            await _fts_intact(store)
            await write_text(writer, mid, "cong van ba", 2)
            assert _pending(db) == [3] and _matches(db, "cong van") == [1, 2]
            async with store.write() as tx:  # an indexed text goes
                await tx.session.execute(delete(BlobText).where(BlobText.blob_id == 1))
            assert _matches(db, "cong van") == [2]

            await _downgrade(store, "0013@-1")
            assert _matches(db, "cong van") == [2, 3]  # the pending text was indexed
            await _fts_intact(store)
            await write_text(writer, mid, "cong van bon", 3)  # the old trigger indexes at once
            assert _matches(db, "cong van") == [2, 3, 4]

            await store.migrate("0013")
            assert _pending(db) == []
            await _fts_intact(store)
            with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
                assert search_index.index_step(c) == search_index.Step(0, more=False)


async def test_the_lean_index_starts_with_every_text_pending_both_ways(tmp_path: Path) -> None:
    async with _store_before(tmp_path, "0013") as (db, store, mid):
        with contextlib.closing(DeliveryWriter(store)) as writer:
            for i, words in enumerate(["cong van mot", "cong van hai", "cong van ba"]):
                await write_text(writer, mid, words, i)
                if i == 1:
                    await writer.index_pending()  # two indexed (with positions), one pending
            assert _pending(db) == [3] and _matches(db, "cong van") == [1, 2]

            await store.migrate()
            assert "detail='none'" in _index_definition(db)
            assert _pending(db) == [1, 2, 3] and _matches(db, "cong van") == []
            _index_all(db)
            assert _pending(db) == [] and _matches(db, "cong van") == [1, 2, 3]
            await _fts_intact(store)
            async with store.write() as tx:  # an indexed text goes, through the old trigger
                await tx.session.execute(delete(BlobText).where(BlobText.blob_id == 2))
            assert _matches(db, "cong van") == [1, 3]
            await _fts_intact(store)

            await _downgrade(store, "0014@-1")
            assert "detail" not in _index_definition(db)
            assert _pending(db) == [1, 3] and _matches(db, "cong van") == []
            _index_all(db)
            with contextlib.closing(sqlite3.connect(db)) as c:  # positions again: phrases work
                phrase = c.execute("SELECT rowid FROM blob_fts WHERE blob_fts MATCH '\"van ba\"'")
                assert [r[0] for r in phrase] == [3]
            await _fts_intact(store)
