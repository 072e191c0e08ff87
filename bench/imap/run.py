"""IMAP benchmark: govmail against the reference Dovecot, same client, same mail.

    .venv/bin/python bench/imap/run.py --sizes 10000,100000 [--cold] [--no-dovecot] [--idle 2000]

What it does (see docs/performance.md for the figures):

1. starts govmail (``govmail_server.py``, SQLite, data in ``--data``, port
   ``--govmail-port``); Dovecot is expected on 127.0.0.1:1143 (``/work/shared/peers/``);
2. fills user0090's INBOX with 10,000 messages and its folder "Big" with 100,000 (only
   what is missing): govmail through ``MailStore.append`` (``govmail_server.py --fill``),
   Dovecot by IMAP APPEND for 10,000 and by writing the Maildir files for 100,000;
3. times, on each server and mailbox: LOGIN+SELECT; ``UID FETCH 1:* (FLAGS INTERNALDATE
   RFC822.SIZE ENVELOPE)`` (first run and warm); 50 full bodies in one UID FETCH;
   ``UID SEARCH SUBJECT``; ``UID SEARCH TEXT``; ``UID STORE 1:* +FLAGS (\\Flagged)``;
   with ``--cold`` both servers' caches are dropped first, so "first" builds them;
4. opens ``--idle`` connections that LOGIN, SELECT INBOX and IDLE, and reports the server's
   memory growth per connection (RSS for govmail; PSS of all Dovecot processes, whose
   default limits allow fewer connections per user, so it gets fewer);
5. prints, per operation, wall time and the CPU time the server used (from schedstat, so
   less sensitive to a busy machine), with the ratios govmail / Dovecot.

A raw client is used (literals are skipped by length, nothing is parsed beyond that), so
client time is small and the same for both servers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import message

USER = "user0090@bench.gov.vn"
PASSWORD = "secret"
DOVECOT_PORT = 1143
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")


class Client:
    """A minimal IMAP client that times commands."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0
        self.n = 0
        self._read_line()

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        if self.pos > (1 << 22):
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk

    def _read_line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos : end])
                self.pos = end + 2
                return line
            self._fill()

    def _skip(self, size: int) -> None:
        while len(self.buf) - self.pos < size:
            self._fill()
        self.pos += size

    def command(self, text: str | bytes, literal: bytes | None = None) -> tuple[float, list[bytes]]:
        """Run one command; returns (seconds, untagged lines without literal data)."""
        self.n += 1
        tag = b"b%d" % self.n
        data = text.encode() if isinstance(text, str) else text
        start = time.perf_counter()
        if literal is None:
            self.sock.sendall(tag + b" " + data + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + data + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        lines: list[bytes] = []
        while True:
            line = self._read_line()
            m = _LITERAL.search(line)
            while m:
                self._skip(int(m.group(1)))
                rest = self._read_line()
                line += b"{}" + rest
                m = _LITERAL.search(rest)
            if line.startswith(tag + b" "):
                elapsed = time.perf_counter() - start
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text!r}: {line!r}")
                return elapsed, lines
            if len(lines) < 100_000 or line.startswith(b"* SEARCH"):
                lines.append(line)

    def login(self, user: str = USER) -> None:
        self.command(f'LOGIN {user} "{PASSWORD}"')

    def close(self) -> None:
        try:
            self.command("LOGOUT")
        except Exception:
            pass
        self.sock.close()


# --------------------------------------------------------------------------- filling


def count(port: int, folder: str) -> int:
    c = Client(port)
    c.login()
    try:
        _, lines = c.command(f"STATUS {folder} (MESSAGES)")
    except RuntimeError:
        c.command(f"CREATE {folder}")
        _, lines = c.command(f"STATUS {folder} (MESSAGES)")
    c.close()
    return int(re.search(rb"MESSAGES (\d+)", lines[0]).group(1))  # type: ignore[union-attr]


def fill(port: int, folder: str, target: int, label: str, workers: int = 8) -> None:
    have = count(port, folder)
    if have >= target:
        return
    print(f"  filling {label} {folder}: {have} -> {target}", flush=True)
    todo = list(range(have, target))
    lock = threading.Lock()
    started = time.perf_counter()

    def work() -> None:
        c = Client(port)
        c.login()
        while True:
            with lock:
                if not todo:
                    break
                i = todo.pop()
            c.command(f"APPEND {folder}", message(i))
        c.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    print(f"  {label}: {target - have} APPENDs in {took:.1f} s", flush=True)


def fill_maildir(maildir: Path, folder: str, target: int, port: int) -> None:
    """Write the messages straight into Dovecot's Maildir (its APPEND slows down as a
    folder grows: ~5 messages/s at 40,000); Dovecot indexes them at the first SELECT."""
    have = count(port, folder)
    if have >= target:
        return
    print(f"  writing dovecot {folder}: {target} messages into the Maildir", flush=True)
    base = maildir if folder == "INBOX" else maildir / f".{folder}"
    if folder != "INBOX":
        shutil.rmtree(base, ignore_errors=True)
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True)
        (base / "maildirfolder").touch()
    owner = maildir.stat()
    stamp = int(time.time())
    for i in range(0 if folder != "INBOX" else have, target):
        data = message(i).replace(b"\r\n", b"\n")
        path = base / "cur" / f"{stamp}.M{i}P1.bench,S={len(data)}:2,"
        path.write_bytes(data)
        os.chown(path, owner.st_uid, owner.st_gid)
    for p in [base, *(base / s for s in ("cur", "new", "tmp"))]:
        os.chown(p, owner.st_uid, owner.st_gid)


def drop_caches(data: Path, maildir: Path, folder: str) -> None:
    """Forget what both servers cached about the folder's messages (for --cold): govmail's
    cached wire forms (bench-only SQL on its database file), Dovecot's dovecot.index.cache."""
    import sqlite3

    with sqlite3.connect(data / "govmail.db", timeout=30) as db:
        db.execute(
            "DELETE FROM imap_message_cache WHERE message_id IN (SELECT m.id FROM message m"
            " JOIN folder f ON f.id = m.folder_id JOIN mailbox b ON b.id = f.mailbox_id"
            " WHERE b.address = ? AND f.name = ?)",
            (USER, folder),
        )
    base = maildir if folder == "INBOX" else maildir / f".{folder}"
    (base / "dovecot.index.cache").unlink(missing_ok=True)


# --------------------------------------------------------------------------- measuring


Timing = tuple[float, float]  # (wall seconds, server CPU seconds)


def median_of(n: int, fn: Callable[[], Timing]) -> Timing:
    runs = [fn() for _ in range(n)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def cpu_seconds(pids: Callable[[], list[int]]) -> float:
    """CPU time used so far by the server's processes (all their threads), from schedstat:
    unlike wall time it hardly depends on what else the machine is doing."""
    total = 0
    for pid in pids():
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except OSError:
            continue
    return total / 1e9


def dovecot_pids() -> list[int]:
    return [int(pid) for pid, comm in _processes() if comm in DOVECOT_PROCESSES]


def _processes() -> list[tuple[str, str]]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.append((pid, Path(f"/proc/{pid}/comm").read_text().strip()))
            except OSError:
                pass
    return out


DOVECOT_PROCESSES = ("imap", "imap-login", "dovecot", "auth", "config", "anvil", "log")


def measure(port: int, folder: str, pids: Callable[[], list[int]]) -> dict[str, Timing]:
    out: dict[str, Timing] = {}

    def timed(fn: Callable[[], object]) -> Timing:
        cpu, start = cpu_seconds(pids), time.perf_counter()
        fn()
        return time.perf_counter() - start, cpu_seconds(pids) - cpu

    def login_select() -> None:
        c = Client(port)
        c.login()
        c.command(f"SELECT {folder}")
        c.close()

    out["LOGIN+SELECT"] = median_of(5, lambda: timed(login_select))
    c = Client(port)
    c.login()
    c.command(f"SELECT {folder}")
    fetch = "UID FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"
    out["FETCH meta (first)"] = timed(lambda: c.command(fetch))
    out["FETCH meta"] = median_of(3, lambda: timed(lambda: c.command(fetch)))
    _, lines = c.command("UID SEARCH ALL")
    uids = lines[0].split()[2:]
    step = max(1, len(uids) // 50)
    some = b",".join(uids[::step][:50]).decode()
    out["50 bodies"] = median_of(
        3, lambda: timed(lambda: c.command(f"UID FETCH {some} BODY.PEEK[]"))
    )
    subject = "chuyển đổi số".encode()
    text = "vướng mắc".encode()
    out["SEARCH SUBJECT"] = median_of(
        3, lambda: timed(lambda: c.command("UID SEARCH CHARSET UTF-8 SUBJECT", subject))
    )
    out["SEARCH TEXT"] = median_of(
        3, lambda: timed(lambda: c.command("UID SEARCH CHARSET UTF-8 TEXT", text))
    )

    _, hits = c.command("UID SEARCH CHARSET UTF-8 TEXT", text)
    print(f"  UID SEARCH TEXT found {len(hits[0].split()) - 2} messages", flush=True)

    def store() -> Timing:
        took = timed(lambda: c.command("UID STORE 1:* +FLAGS (\\Flagged)"))
        c.command("UID STORE 1:* -FLAGS.SILENT (\\Flagged)")
        return took

    out["STORE +FLAGS all"] = median_of(3, store)
    c.close()
    return out


# --------------------------------------------------------------------------- memory


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def dovecot_pss_kib() -> int:
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            if comm not in DOVECOT_PROCESSES:
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


async def open_idlers(
    port: int, users: list[str], per_user: int, tls: bool = False
) -> list[asyncio.StreamWriter]:
    writers: list[asyncio.StreamWriter] = []
    sem = asyncio.Semaphore(50)
    ctx = None
    if tls:
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

    async def one(user: str) -> None:
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
            await reader.readline()
            writer.write(f'a LOGIN {user} "{PASSWORD}"\r\nb SELECT INBOX\r\nc IDLE\r\n'.encode())
            while not (await reader.readline()).startswith(b"+ "):
                pass
            writers.append(writer)

    await asyncio.gather(*(one(u) for u in users for _ in range(per_user)))
    return writers


def idle_memory(
    port: int, n: int, pid: int | None, users: list[str], tls: bool = False
) -> tuple[int, float]:
    """(connections, KiB per connection)."""
    per_user = max(1, -(-n // len(users)))

    def mem() -> int:
        return rss_kib(pid) if pid else dovecot_pss_kib()

    async def run() -> tuple[int, float]:
        before = mem()
        writers = await open_idlers(port, users, per_user, tls)
        await asyncio.sleep(3)
        after = mem()
        for w in writers:
            w.close()
        await asyncio.sleep(1)
        return len(writers), (after - before) / max(1, len(writers))

    return asyncio.run(run())


# --------------------------------------------------------------------------- main


def start_govmail(data: Path, port: int, fill_spec: str = "") -> subprocess.Popen[bytes]:
    here = Path(__file__).resolve().parent
    argv = [sys.executable, str(here / "govmail_server.py"), "--data", str(data),
            "--imap-port", str(port)]  # fmt: skip
    if fill_spec:
        argv += ["--fill", fill_spec]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(b"ready"):
        raise RuntimeError("govmail did not start")
    return proc


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--data", default="/tmp/govmail-imap-bench")
    p.add_argument("--govmail-port", type=int, default=21143)
    p.add_argument("--no-dovecot", action="store_true")
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--dovecot-idle", type=int, default=500)
    p.add_argument("--cold", action="store_true", help="drop both servers' caches before measuring")
    p.add_argument("--dovecot-maildir", default="/srv/peers/mail/bench.gov.vn/user0090/Maildir")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    folders = {size: ("INBOX" if i == 0 else "Big") for i, size in enumerate(sizes)}

    spec = ",".join(f"{folders[size]}:{size}" for size in sizes)
    print(f"starting govmail (filling {spec} if needed)", flush=True)
    proc = start_govmail(Path(args.data), args.govmail_port, spec)
    try:
        servers = {"govmail": args.govmail_port}
        if not args.no_dovecot:
            servers["dovecot"] = DOVECOT_PORT
            for size in sizes:
                if size <= 10_000:
                    fill(DOVECOT_PORT, folders[size], size, "dovecot")
                else:
                    fill_maildir(Path(args.dovecot_maildir), folders[size], size, DOVECOT_PORT)
        results: dict[tuple[str, int], dict[str, Timing]] = {}
        if args.cold:
            for size in sizes:
                drop_caches(Path(args.data), Path(args.dovecot_maildir), folders[size])
        for size in sizes:
            for name, port in servers.items():
                print(f"measuring {name}, {size} messages", flush=True)
                pids = (lambda: [proc.pid]) if name == "govmail" else dovecot_pids
                results[(name, size)] = measure(port, folders[size], pids)
    finally:
        proc.terminate()
        proc.wait(30)
    idle: dict[str, tuple[int, float]] = {}
    users = [f"user{i:04d}@bench.gov.vn" for i in range(1, 90)]
    if args.idle:
        # A fresh server, so that the baseline is not what the measurements left behind.
        proc = start_govmail(Path(args.data), args.govmail_port)
        try:
            idle_memory(args.govmail_port, 100, proc.pid, users)  # warm up, then measure
            idle["govmail"] = idle_memory(args.govmail_port, args.idle, proc.pid, users)
            idle["govmail, TLS (port 993)"] = idle_memory(
                args.govmail_port + 1, args.idle, proc.pid, users, tls=True
            )
        finally:
            proc.terminate()
            proc.wait(30)
        if not args.no_dovecot:
            idle["dovecot"] = idle_memory(DOVECOT_PORT, args.dovecot_idle, None, users[:50])

    for size in sizes:
        print(f"\n{size} messages ({folders[size]})")
        g = results[("govmail", size)]
        d = results.get(("dovecot", size))
        print(f"  {'':20} {'wall: govmail':>14} {'dovecot':>9} {'ratio':>6}"
              f" {'CPU: govmail':>14} {'dovecot':>9} {'ratio':>6}")  # fmt: skip
        for key, (wall, cpu) in g.items():
            line = f"  {key:20} {wall * 1000:12.1f}ms"
            if d:
                dw, dc = d[key]
                line += f" {dw * 1000:7.1f}ms {wall / dw:6.2f}"
            line += f" {cpu * 1000:12.1f}ms"
            if d:
                line += f" {dc * 1000:7.1f}ms {cpu / dc if dc else float('nan'):6.2f}"
            print(line)
    for name, (n, per) in idle.items():
        print(f"\nidle IDLE connections, {name}: {n} connections, {per:.1f} KiB each")


if __name__ == "__main__":
    main()
