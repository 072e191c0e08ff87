"""Run a govmail for the IMAP benchmark (SQLite in a data directory, fixed ports).

    .venv/bin/python bench/imap/govmail_server.py --data /tmp/govmail-bench --imap-port 21143

Creates the domain bench.gov.vn and the users user0001..user0100@bench.gov.vn (password
"secret"), like the reference Dovecot, on first start; then serves until SIGTERM/SIGINT.
Prints "ready" on stdout once listening.

``--fill INBOX:10000,Big:100000`` first tops user0090's folders up to that many messages
through ``MailStore.append`` (the code path of IMAP APPEND, many at a time so that the
group committer batches them), which is much faster than APPEND over one connection each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from govmail.app import App
from govmail.config import load_settings
from govmail.store.models import Folder

DOMAIN = "bench.gov.vn"
PASSWORD = "secret"
USERS = [f"user{i:04d}" for i in range(1, 101)]


async def populate(app: App) -> None:
    async with app.directory.reader() as ops:
        if await ops.repo.domain_by_name(DOMAIN) is not None:
            return
    # Cheap password hashes: the benchmark times IMAP, not argon2 (see docs/performance.md).
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    secret_hash = hasher.hash(PASSWORD)
    async with app.directory.ops() as ops:
        await ops.add_domain(DOMAIN)
        await ops.add_agency(
            name="Bench agency", short_name="BENCH", kind="ministry", code="BENCH", domain=DOMAIN
        )
        for user in USERS:
            await ops.add_mailbox(
                full_name=f"Bench {user}",
                agency="BENCH",
                local_part=user,
                password_hash=secret_hash,
                quota_mb=0,
            )


async def fill(app: App, spec: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from corpus import message

    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address("user0090@" + DOMAIN)
        assert mb is not None
    for item in spec.split(","):
        name, _, count = item.partition(":")
        target = int(count)
        async with app.store.write() as tx:
            folder = await tx.mail.folder(mb.id, name)
            if folder is None:
                folder = await tx.mail.create_folder(mb.id, name)
        async with app.store.read() as tx:
            have = await tx.mail.message_count(folder.id)
        if have >= target:
            continue
        print(f"filling {name}: {have} -> {target}", file=sys.stderr, flush=True)
        todo = iter(range(have, target))

        async def worker(folder: Folder, todo: Iterator[int]) -> None:
            for i in todo:
                await app.mailstore.append(folder, message(i))

        started = time.perf_counter()
        await asyncio.gather(*(worker(folder, todo) for _ in range(128)))
        took = time.perf_counter() - started
        print(f"filled {name}: {target - have} in {took:.1f} s", file=sys.stderr, flush=True)


async def main(args: argparse.Namespace) -> None:
    data = Path(args.data)
    os.environ.pop("GOVMAIL_CONFIG", None)
    settings = load_settings(general={"data_dir": data, "log_level": "WARNING"})
    ls = settings.listeners
    ls.imap_port, ls.imaps_port = args.imap_port, args.imap_port + 1
    ls.smtp_port, ls.submission_port, ls.submissions_port = 0, 0, 0
    ls.pop3_port, ls.pop3s_port, ls.http_port = 0, 0, 0
    settings.limits.max_connections_per_ip = 100_000
    app = App(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    await populate(app)
    if args.fill:
        await fill(app, args.fill)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await app.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--imap-port", type=int, default=21143)
    p.add_argument("--fill", default="", help="e.g. INBOX:10000,Big:100000")
    try:
        asyncio.run(main(p.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
