"""The SQLite full-text index over blob text, brought up to date off the delivery path.

Indexing a message's text with FTS5 trigram tokens in the delivery's own transaction cost
≈ 0.5 ms per message (a new index segment each time, and the merges those bring), on the
event loop, while an SMTP session waited for its 250. So a delivery only notes its blob in
``fts_pending`` (a trigger on ``blob_text``, migration 0013) and the delivery writer
indexes the pending texts in batches, in its thread, between deliveries, none of it before
a 250. The index records which texts hold each trigram but not where (``detail=none``,
migration 0014): a fraction of the size and less than half the time of an index with
positions (≈ 0.20 against 0.47 ms per text of 2,700 characters in steps of eight,
``bench/search/run.py``), as a search checks the texts the index proposes.

Search stays exact meanwhile: pending texts are matched by scanning them
(``repos/search.py``), and there are only ever a few (but for the minutes after migration
0014 on a large store, when every text waits for the new index: searches then check each
text of the folder, as a mail server without an index does). An indexing step's commit is
not fsync'd: it is atomic (index rows in, their pending rows out), so a power cut can at
worst leave those texts pending again, and the next delivery's fsync makes it durable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PENDING = "fts_pending"
# One step holds the delivery writer's lock while it runs: it takes at most this many
# texts, and stops adding texts once this many characters are in (one text of up to
# 256 Ki characters takes ≈ 15 ms to index).
STEP_MAX = 256
STEP_CHARS = 1_000_000


@dataclass(frozen=True, slots=True)
class Step:
    indexed: int
    more: bool  # texts were left pending for another step


def index_step(conn: Any, limit: int = STEP_MAX, max_chars: int = STEP_CHARS) -> Step:
    """Index pending texts, oldest first, in one transaction on ``conn`` (a DB-API SQLite
    connection in autocommit mode): at most ``limit`` of them and, after the first, only
    while they add up to at most ``max_chars`` characters."""
    cur = conn.cursor()
    try:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {PENDING})")
        if not cur.fetchone()[0]:
            return Step(0, more=False)  # nothing to do: no write lock taken
        cur.execute("PRAGMA synchronous=NORMAL")
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                step = _index(cur, limit, max_chars)
                cur.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.execute("PRAGMA synchronous=FULL")
    finally:
        cur.close()
    return step


def _index(cur: Any, limit: int, max_chars: int) -> Step:
    cur.execute(
        f"SELECT p.blob_id, coalesce(length(t.text), 0) FROM {PENDING} p"
        " LEFT JOIN blob_text t ON t.blob_id = p.blob_id ORDER BY p.blob_id LIMIT ?",
        (limit + 1,),
    )
    rows = cur.fetchall()
    ids: list[int] = []
    chars = 0
    for blob_id, length in rows[:limit]:
        if ids and chars + length > max_chars:
            break
        ids.append(int(blob_id))
        chars += int(length)
    if ids:
        marks = ", ".join("?" * len(ids))
        cur.execute(
            "INSERT INTO blob_fts (rowid, text) SELECT blob_id, text FROM blob_text"
            f" WHERE blob_id IN ({marks})",
            ids,
        )
        cur.execute(f"DELETE FROM {PENDING} WHERE blob_id IN ({marks})", ids)
    return Step(len(ids), more=len(rows) > len(ids))
