#!/usr/bin/env python3
"""The delivery writer alone: how long one single-message batch takes to become durable.

    .venv/bin/python bench/smtp_throughput/writer.py [--messages 1500]

Opens a fresh SQLite store under /var/tmp, then writes one 4 KB message per batch through
``DeliveryWriter`` (the body, its search text and the rows, committed with the WAL fsync)
with a 2 ms pause between batches, as one SMTP session would, and prints the median, mean,
95th and 99th percentile and maximum time per batch after the first 200. Without SMTP,
parsing or policy, it shows what the storing costs and how steady it is (WAL checkpoints
and fsync stalls show in the tail).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.store.test_delivery_writer import bare_mailbox  # noqa: E402

from govmail.store.db import Store  # noqa: E402
from govmail.store.delivery_writer import CopyRow, DeliveryRows, DeliveryWriter  # noqa: E402

WARM = 200


async def run(n: int) -> list[float]:
    home = Path(tempfile.mkdtemp(prefix="govmail-writer-", dir="/var/tmp"))
    store = Store(f"sqlite+aiosqlite:///{home}/govmail.db", home / "blobs")
    try:
        await store.open()
        mailbox = await bare_mailbox(store)
        writer = DeliveryWriter(store)
        times: list[float] = []
        try:
            for i in range(n):
                rows = DeliveryRows(
                    sha256="",
                    size=0,
                    search_text=f"cong van so {i} ve viec hop giao ban " * 20,
                    internal_date=datetime.now(UTC),
                    meta={"n": i},
                    copies=[CopyRow(mailbox)],
                )
                raw = f"Message-Id: <{i}@bench>\r\n\r\n".encode() + b"X" * 4000
                start = time.perf_counter()
                await writer.write([rows], [raw])
                times.append((time.perf_counter() - start) * 1000)
                await asyncio.sleep(0.002)
        finally:
            writer.close()
        return times[WARM:]
    finally:
        await store.close()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1500)
    times = sorted(asyncio.run(run(ap.parse_args().messages)))
    pick = lambda q: times[min(len(times) - 1, int(len(times) * q))]  # noqa: E731
    print(
        f"{len(times)} batches of one message (after {WARM}): median"
        f" {statistics.median(times):.2f} ms, mean {statistics.mean(times):.2f} ms,"
        f" p95 {pick(0.95):.2f} ms, p99 {pick(0.99):.2f} ms, max {times[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
