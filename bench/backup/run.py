#!/usr/bin/env python3
"""Backup and restore times for a store of 100,000 messages.

    .venv/bin/python bench/backup/run.py [--messages 100000] [--database sqlite|postgres]

Fills an installation through the delivery pipeline (100 mailboxes, letters of 2–6 KB,
one in ten with a 40 KB attachment; every body distinct), then times: a full backup into
a directory, an incremental backup after 1,000 more messages, `backup verify` (a restore
into a scratch place plus every checksum), and a restore into an empty installation.
PostgreSQL needs the server of the test suite (postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.ops.support import make_message  # noqa: E402

from govmail.config import load_settings  # noqa: E402
from govmail.delivery.committer import GroupCommitter  # noqa: E402
from govmail.delivery.envelope import Envelope  # noqa: E402
from govmail.delivery.events import MailEvents  # noqa: E402
from govmail.delivery.pipeline import Pipeline  # noqa: E402
from govmail.directory.service import Directory  # noqa: E402
from govmail.ops.backup import Backups  # noqa: E402
from govmail.store.db import Store  # noqa: E402

USERS = 100
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def peak_mib() -> int:
    """The process's peak resident memory so far (it only grows: read after each phase)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def fill(pipeline: Pipeline, start: int, count: int, concurrency: int = 32) -> None:
    rng = random.Random(start)
    todo = list(range(start, start + count))

    async def worker() -> None:
        while todo:
            i = todo.pop()
            text = f"Công văn số {i}\n" + rng.randbytes(rng.randint(1500, 4500)).hex()[:4000]
            att = [(f"tep-{i}.pdf", b"%PDF-1.7\n" + rng.randbytes(40_000), "application/pdf")
                   ] if i % 10 == 0 else []
            raw = make_message(f"Thư {i}", text, sender=f"a{i % 50}@example.org",
                               to=f"user{i % USERS}@bench.gov.vn", attachments=att)
            env = Envelope(f"a{i % 50}@example.org", [f"user{i % USERS}@bench.gov.vn"], "mx",
                           client_ip="192.0.2.1")
            await pipeline.deliver(env, raw)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(sql)


async def main(n: int, database: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="govmail-bench-backup-"))
    dbs: list[str] = []

    def url_for(name: str) -> str:
        dbs.append(name)
        pg_exec(f"CREATE DATABASE {name}")
        return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + (
            f"/{name}")

    try:
        settings = load_settings(general={"data_dir": tmp / "data"})
        if database == "postgres":
            settings.database.url = url_for(f"govmail_bench_{uuid.uuid4().hex[:8]}")
        settings.backup.target = str(tmp / "backups")
        store = Store(settings.database_url, settings.blob_dir)
        await store.open()
        directory = Directory(store, settings)
        async with directory.ops() as ops:
            await ops.add_domain("bench.gov.vn")
            await ops.add_agency(name="Sở Thông tin và Truyền thông", short_name="STTTT",
                                 kind="department", code="000.00.00.B01", domain="bench.gov.vn")
            for u in range(USERS):
                await ops.add_mailbox(full_name=f"Người Dùng {u}", agency="000.00.00.B01",
                                      local_part=f"user{u}")
        committer = GroupCommitter(store)
        await committer.start()
        pipeline = Pipeline(settings, directory, committer, MailEvents(), [])
        t0 = time.perf_counter()
        await fill(pipeline, 0, n)
        fill_s = time.perf_counter() - t0
        peak = {"fill": peak_mib()}
        backups = Backups(settings, store)
        t0 = time.perf_counter()
        full = await backups.backup()
        full_s = time.perf_counter() - t0
        peak["full"] = peak_mib()
        await fill(pipeline, n, 1000)
        t0 = time.perf_counter()
        inc = await backups.backup()
        inc_s = time.perf_counter() - t0
        peak["incremental"] = peak_mib()
        await committer.stop()
        t0 = time.perf_counter()
        v = await backups.verify()
        verify_s = time.perf_counter() - t0
        peak["verify"] = peak_mib()
        assert v.ok, v.problems
        await store.close()
        data_size = du(tmp / "data")
        backup_size = du(tmp / "backups")

        new = load_settings(general={"data_dir": tmp / "restored"})
        if database == "postgres":
            new.database.url = url_for(f"govmail_bench_{uuid.uuid4().hex[:8]}")
        new.backup.target = str(tmp / "backups")
        t0 = time.perf_counter()
        _name, restored = await Backups(new).restore()
        restore_s = time.perf_counter() - t0
        peak["restore"] = peak_mib()

        print(f"{database}: {n} messages ({n + 1000} after the increment), data "
              f"{data_size / 2**20:.0f} MiB, backup directory {backup_size / 2**20:.0f} MiB")
        print(f"  fill through the pipeline: {fill_s:.0f} s ({n / fill_s:.0f} messages/s)")
        print(f"  full backup:        {full_s:6.1f} s  ({full.blobs_copied} bodies, "
              f"{full.bytes_copied / 2**20:.0f} MiB)")
        print(f"  incremental backup: {inc_s:6.1f} s  ({inc.blobs_copied} new bodies, "
              f"{inc.bytes_copied / 2**20:.0f} MiB incl. the database)")
        print(f"  verify:             {verify_s:6.1f} s")
        print(f"  restore:            {restore_s:6.1f} s  ({restored} messages)")
        print("  peak resident memory after each phase (MiB): "
              + ", ".join(f"{k} {v}" for k, v in peak.items()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for name in dbs:
            pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    a = ap.parse_args()
    asyncio.run(main(a.messages, a.database))
