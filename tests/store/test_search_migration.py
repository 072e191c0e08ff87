"""Migration 0013 on a database that already holds indexed texts, both ways (SQLite)."""

from __future__ import annotations

import contextlib
import sqlite3
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


def _config(sync_conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if sync_conn is not None:
        cfg.attributes["connection"] = sync_conn
    return cfg


def _downgrade_search(sync_conn: Connection) -> None:
    command.downgrade(_config(sync_conn), "0013@-1")


def _matches(db: Path, term: str) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as c:
        rows = c.execute("SELECT rowid FROM blob_fts WHERE blob_fts MATCH ? ORDER BY 1", (term,))
        return [r[0] for r in rows]


def _pending(db: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as c:
        return [r[0] for r in c.execute("SELECT blob_id FROM fts_pending ORDER BY 1")]


async def test_upgrade_keeps_the_index_and_downgrade_indexes_what_is_pending(
    tmp_path: Path,
) -> None:
    db = tmp_path / "govmail.db"
    store = Store(f"sqlite+aiosqlite:///{db}", tmp_path / "blobs")
    await store.open(migrate=False)
    writer: DeliveryWriter | None = None
    try:
        for head in ScriptDirectory.from_config(_config()).get_heads():
            if head != "0013":
                await store.migrate(head)  # everything but this migration
        mid = await bare_mailbox(store)
        writer = DeliveryWriter(store)
        for i, words in enumerate(["cong van mot", "cong van hai"]):
            await write_text(writer, mid, words, i)
        assert _matches(db, '"cong van"') == [1, 2]  # indexed by the old trigger

        await store.migrate()
        assert _pending(db) == [] and _matches(db, '"cong van"') == [1, 2]
        await _fts_intact(store)
        await write_text(writer, mid, "cong van ba", 2)
        assert _pending(db) == [3] and _matches(db, '"cong van"') == [1, 2]
        async with store.write() as tx:  # an indexed text goes
            await tx.session.execute(delete(BlobText).where(BlobText.blob_id == 1))
        assert _matches(db, '"cong van"') == [2]

        async with store.engine.begin() as conn:
            await conn.run_sync(_downgrade_search)
        assert _matches(db, '"cong van"') == [2, 3]  # the pending text was indexed
        await _fts_intact(store)
        await write_text(writer, mid, "cong van bon", 3)  # the old trigger indexes at once
        assert _matches(db, '"cong van"') == [2, 3, 4]

        await store.migrate()
        assert _pending(db) == []
        await _fts_intact(store)
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as c:
            assert search_index.index_step(c) == search_index.Step(0, more=False)
    finally:
        if writer is not None:
            writer.close()
        await store.close()
