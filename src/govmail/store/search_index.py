"""The SQLite full-text index over blob text, brought up to date off the delivery path.

Indexing a message's text with FTS5 trigram tokens in the delivery's own transaction cost
≈ 0.5 ms per message (a new index segment each time, and the merges those bring), on the
event loop, while an SMTP session waited for its 250. So a delivery only notes its blob in
``fts_pending`` (a trigger on ``blob_text``, migration 0013) and the delivery writer
indexes the pending texts in batches, in its thread, between deliveries: ≈ 0.25 ms per text
in batches of a few dozen, none of it before a 250.

Search stays exact meanwhile: pending texts are matched by scanning them
(``repos/search.py``), and there are only ever a few. An indexing step's commit is not
fsync'd: it is atomic (index rows in, their pending rows out), so a power cut can at worst
leave those texts pending again, and the next delivery's fsync makes it durable anyway.
"""

from __future__ import annotations

from typing import Any

PENDING = "fts_pending"
STEP_MAX = 256  # texts per indexing step: the delivery writer's lock is held that long


def index_step(conn: Any, limit: int = STEP_MAX) -> int:
    """Index up to ``limit`` pending texts in one transaction on ``conn`` (a DB-API SQLite
    connection in autocommit mode); returns how many were pending and are now indexed."""
    cur = conn.cursor()
    try:
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(f"SELECT blob_id FROM {PENDING} ORDER BY blob_id LIMIT ?", (limit,))
            ids = [int(r[0]) for r in cur.fetchall()]
            if ids:
                marks = ", ".join("?" * len(ids))
                cur.execute(
                    "INSERT INTO blob_fts (rowid, text) SELECT blob_id, text FROM blob_text"
                    f" WHERE blob_id IN ({marks})",
                    ids,
                )
                cur.execute(f"DELETE FROM {PENDING} WHERE blob_id IN ({marks})", ids)
            cur.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                cur.execute("ROLLBACK")
            raise
    finally:
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()
    return len(ids)
