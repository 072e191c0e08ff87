#!/usr/bin/env python3
"""SMTP throughput: govmail against the reference Postfix -> LMTP -> Dovecot, side by side.

    .venv/bin/python bench/smtp_throughput/run.py [--messages 5000] [--size 4096]
        [--sessions 10 1] [--no-peers] [--client-cpu N]

Loads each server with Postfix's own load generator, ``smtp-source`` (installed with the
``postfix`` Debian package; it only sends, nothing of Postfix listens for it), with 10
concurrent sessions and then 1 session, and counts until every message is stored:
govmail answers 250 only once a message is durably stored, so its count ends with the
load; the reference is counted in Dovecot's Maildirs. Prints messages/s, the ratio, and
govmail's peak resident memory. The reference stack is set up by
../shared/peers/setup-postfix-dovecot.sh (run as root) and started/stopped here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT.parent / "shared" / "peers"
sys.path.insert(0, str(ROOT))

from tests.support.procs import env_for, govmail, start_server, write_config  # noqa: E402

USERS = 89
MAILDIRS = Path("/srv/peers/mail/bench.gov.vn")


# The CPU smtp-source is pinned to (None: wherever the scheduler puts it). With one
# session, whether the client and the server's event loop share a CPU decides the figure
# more than either program does: a wake-up across the two CPUs of this virtual machine
# costs ≈ 0.15 ms more than on one, and a message takes seven round trips
# (docs/performance.md, "Day of 2026-11-26").
CLIENT_CPU: int | None = None


def smtp_source(port: int, sessions: int, messages: int, size: int) -> float:
    pin = [] if CLIENT_CPU is None else ["taskset", "-c", str(CLIENT_CPU)]
    t0 = time.monotonic()
    subprocess.run(
        [*pin, "smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size), "-N",
         "-f", "sender@bench.gov.vn", "-t", "rcpt@bench.gov.vn", f"127.0.0.1:{port}"],
        check=True, timeout=3600,
    )
    return time.monotonic() - t0


def start_local_dns() -> tuple[subprocess.Popen[str], int]:
    """A local resolver (as every mail server has): the sandbox's upstream DNS drops
    queries under load, which would measure the network, not govmail."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.dns_server"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def setup_govmail(home: Path, dns_port: int) -> dict[str, int]:
    # The load comes from one address: lift the per-address rate limit for the run.
    extra = (
        "[limits]\nmessages_per_minute_per_ip = 10000000\n"
        f'[queue]\ndns_servers = ["127.0.0.1"]\ndns_port = {dns_port}\n'
    )
    ports = write_config(home, hostname="bench.gov.vn", extra=extra)
    govmail(home, "domain", "add", "bench.gov.vn")
    govmail(home, "agency", "add", "Cơ quan thử tải", "--short", "BENCH", "--kind", "ministry",
            "--code", "000.00.00.G99", "--domain", "bench.gov.vn")
    script = f"""
import asyncio
from govmail.cli.runtime import run
from govmail.directory.base import Actor
async def go(rt):
    async with rt.directory.ops(Actor('bench')) as ops:
        for i in range(1, {USERS} + 1):
            await ops.add_mailbox(full_name=f'User {{i:04d}}', agency='000.00.00.G99',
                                  local_part=f'user{{i:04d}}')
    async with rt.directory.ops(Actor('bench')) as ops:
        for n in range(1, 20001):
            user = f'user{{(n % {USERS}) + 1:04d}}@bench.gov.vn'
            await ops.add_alias(f'{{n}}rcpt@bench.gov.vn', user)
run(go)
"""
    subprocess.run([sys.executable, "-c", script], cwd=home, env=env_for(home), check=True)
    return ports


def govmail_count(home: Path) -> int:
    import sqlite3

    db = sqlite3.connect(home / "data" / "govmail.db")
    (n,) = db.execute("SELECT count(*) FROM message").fetchone()
    db.close()
    return int(n)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _bench_maildirs() -> list[Path]:
    # Only the SMTP bench recipients (user0001..0089): the other peer users hold the IMAP
    # benchmark mailbox and interoperability test data.
    return [MAILDIRS / f"user{i:04d}" / "Maildir" for i in range(1, USERS + 1)]


def peers_count() -> int:
    return sum(sum(1 for _ in (d / sub).glob("*")) for d in _bench_maildirs()
               for sub in ("new", "cur") if (d / sub).exists())


def peers_reset() -> None:
    for d in _bench_maildirs():
        for sub in ("new", "cur", "tmp"):
            for f in (d / sub).glob("*"):
                f.unlink(missing_ok=True)
        for f in d.glob("dovecot*"):
            if f.is_file():
                f.unlink(missing_ok=True)


def run_peers(sessions: int, messages: int, size: int) -> float:
    """The reference stack is started if needed and left running (others may use it)."""
    subprocess.run([str(PEERS / "start.sh")], check=True, capture_output=True)
    peers_reset()
    t0 = time.monotonic()
    smtp_source(2525, sessions, messages, size)
    deadline = time.monotonic() + 1800
    while peers_count() < messages and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    got = peers_count()
    peers_reset()
    if got < messages:
        raise RuntimeError(f"reference stored only {got}/{messages}")
    return elapsed


def run_govmail(sessions: int, messages: int, size: int) -> tuple[float, int]:
    home = Path(tempfile.mkdtemp(prefix="govmail-bench-"))
    dns, dns_port = start_local_dns()
    try:
        ports = setup_govmail(home, dns_port)
        server = start_server(home, ports["smtp_port"])
        try:
            elapsed = smtp_source(ports["smtp_port"], sessions, messages, size)
            stored = govmail_count(home)
            if stored != messages:
                raise RuntimeError(f"govmail stored {stored}/{messages}")
            rss = peak_rss_kib(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        return elapsed, rss
    finally:
        dns.terminate()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--sessions", type=int, nargs="*", default=[10, 1])
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--client-cpu", type=int, help="pin smtp-source to this CPU")
    args = ap.parse_args()
    global CLIENT_CPU
    CLIENT_CPU = args.client_cpu
    if os.geteuid() != 0 and not args.no_peers:
        sys.exit("the reference stack needs root (or pass --no-peers)")
    pinned = "" if CLIENT_CPU is None else f" pinned to CPU {CLIENT_CPU}"
    print(f"{args.messages} messages of {args.size} bytes, smtp-source{pinned}, loopback")
    heads = ("sessions", 8), ("govmail msg/s", 14), ("reference msg/s", 16), ("ratio", 6)
    print(" ".join(f"{h:>{w}}" for h, w in heads), f"{'govmail peak RSS':>17}")
    for sessions in args.sessions:
        g, rss = run_govmail(sessions, args.messages, args.size)
        g_rate = args.messages / g
        if args.no_peers:
            print(f"{sessions:>8} {g_rate:>14.0f} {'-':>16} {'-':>6} {rss / 1024:>14.0f} MiB")
            continue
        p = run_peers(sessions, args.messages, args.size)
        p_rate = args.messages / p
        print(f"{sessions:>8} {g_rate:>14.0f} {p_rate:>16.0f} {g_rate / p_rate:>6.2f} "
              f"{rss / 1024:>14.0f} MiB")


if __name__ == "__main__":
    main()
