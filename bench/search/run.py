#!/usr/bin/env python3
"""What the SQLite full-text index costs to keep, and what a body search costs.

    .venv/bin/python bench/search/run.py [--texts 800] [--messages 8000]

Texts are windows of ≈ 2,700 characters on the Vietnamese government documents in
``../shared/seeds/``, folded as ``mail.textfold`` folds them (no diacritics, lower case),
each ending with a number of its own. Part one indexes them in steps of eight, as the
delivery writer does, into an FTS5 trigram table with positions (``detail=full``, the
index before migration 0014) and without (``detail=none``, the index now), and prints
the time per text and the size of each index.

Part two stores ``--messages`` messages through ``DeliveryWriter`` (three quarters in one
INBOX), indexes them, and times ``SearchRepo`` body searches in that INBOX: a phrase most
texts hold, two of common words that fewer texts hold, a number only one text holds, a
phrase no text holds, and three letters.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.store.test_delivery_writer import _rows, bare_mailbox  # noqa: E402

from govmail.mail.textfold import fold  # noqa: E402
from govmail.store.db import Store  # noqa: E402
from govmail.store.delivery_writer import CopyRow, DeliveryWriter  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
STEP = 8
CHARS = 2700


def corpus() -> str:
    return fold(" ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))))


def folded_text(rng: random.Random, text: str, n: int) -> str:
    start = rng.randrange(len(text) - CHARS)
    return f"{text[start : start + CHARS]} ma so {n:06d}"


def index_cost(texts: list[str], detail: str, home: Path) -> tuple[float, int]:
    path = home / f"fts-{detail}.db"
    with sqlite3.connect(path, isolation_level=None) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute(
            f"CREATE VIRTUAL TABLE f USING fts5(text, content='', tokenize='trigram',"
            f" detail={detail})"
        )
        start = time.perf_counter()
        for i in range(0, len(texts), STEP):
            c.execute("BEGIN IMMEDIATE")
            c.executemany(
                "INSERT INTO f (rowid, text) VALUES (?, ?)",
                [(i + j + 1, t) for j, t in enumerate(texts[i : i + STEP])],
            )
            c.execute("COMMIT")
        elapsed = time.perf_counter() - start
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return elapsed / len(texts) * 1000, path.stat().st_size


async def search_times(messages: int, rng: random.Random, text: str, home: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{home}/govmail.db", home / "blobs")
    await store.open()
    writer = DeliveryWriter(store)
    try:
        inbox, other = await bare_mailbox(store), await bare_mailbox(store, "b")
        start = time.perf_counter()
        for i in range(messages):
            mid = inbox if i % 4 else other
            rows = _rows(mid, datetime.now(UTC))
            rows.search_text = folded_text(rng, text, i)
            rows.copies, rows.remote = [CopyRow(mid)], []
            await writer.write([rows], [f"message {i}\r\n".encode()])
            if i % 64 == 63:
                while (await writer.index_pending()).more:
                    pass
        while (await writer.index_pending()).more:
            pass
        print(f"stored and indexed {messages} messages in {time.perf_counter() - start:.1f} s")
        async with store.read() as tx:
            folder = await tx.mail.folder(inbox, "INBOX")
            assert folder is not None
            terms = (
                "thu dien tu", "tinh hinh", "so 12", f"ma so {messages // 2 + 1:06d}",
                "khong co dau nao", "qxz",
            )
            for term in terms:
                start = time.perf_counter()
                for _ in range(3):
                    uids = await tx.search.uids(folder.id, [tx.search.body_condition(term)])
                took = (time.perf_counter() - start) / 3 * 1000
                print(f"  search {term!r:16} {len(uids):5} found  {took:6.1f} ms")
    finally:
        writer.close()
        await store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=800)
    ap.add_argument("--messages", type=int, default=8000)
    args = ap.parse_args()
    rng = random.Random(1)
    home = Path(tempfile.mkdtemp(prefix="govmail-search-", dir="/var/tmp"))
    try:
        text = corpus()
        texts = [folded_text(rng, text, n) for n in range(args.texts)]
        chars = sum(map(len, texts)) // len(texts)
        print(f"indexing {args.texts} texts of ≈ {chars} characters, {STEP} per step")
        for detail in ("full", "none"):
            per_text, size = index_cost(texts, detail, home)
            print(f"  detail={detail:5} {per_text:.3f} ms per text, index {size // 1024} KiB")
        asyncio.run(search_times(args.messages, rng, text, home))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
