#!/usr/bin/env python3
"""The floor under govmail's SMTP figures: aiosmtpd doing nothing, against the reference.

    .venv/bin/python bench/smtp_throughput/floor.py [--messages 3000] [--sessions 1 10]
        [--rounds 2] [--govmail] [--client-cpu N] [--server-cpu N]

Runs the load of run.py (``smtp-source``, 4 KB messages, a new connection per message)
against:

- ``aiosmtpd-empty``: a bare aiosmtpd server on the standard asyncio loop whose DATA
  handler answers 250 at once and keeps nothing — the cost of the protocol library and
  the event loop alone, what any aiosmtpd-based server pays before doing any work;
- ``aiosmtpd-fsync``: the same, but the handler appends the message to one spool file and
  ``fdatasync``s it in a thread before answering — the least a durable server does;
- the reference Postfix -> LMTP -> Dovecot of run.py, counted until stored;
- with ``--govmail``, govmail itself (run.py's set-up).

Each server runs in a process of its own; the rounds alternate so that the machine's drift
shows. Prints messages/s and the ratio of each to the reference in the same round.
``--client-cpu`` pins smtp-source and ``--server-cpu`` the two aiosmtpd servers to one CPU:
with one session, whether the client and the server wake each other on the same CPU or
across the two decides the figure (docs/performance.md, "Day of 2026-11-26").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import run as bench_run  # type: ignore[import-not-found]
from run import run_govmail, run_peers, smtp_source  # type: ignore[import-not-found]

MODES = ("aiosmtpd-empty", "aiosmtpd-fsync")


class Handler:
    def __init__(self, spool: str | None) -> None:
        self.fd = os.open(spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if spool else None

    def _append(self, data: bytes) -> None:
        assert self.fd is not None
        os.write(self.fd, data)
        os.fdatasync(self.fd)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fd is not None:
            await asyncio.to_thread(self._append, envelope.original_content)
        return "250 2.0.0 OK"


async def serve(mode: str, sock: socket.socket, spool: str) -> None:
    from aiosmtpd.smtp import SMTP

    handler = Handler(spool if mode == "aiosmtpd-fsync" else None)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="floor.test", decode_data=False), sock=sock)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


def run_floor(mode: str, sessions: int, messages: int, size: int, cpu: int | None) -> float:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    spool = Path(f"/tmp/floor-spool-{os.getpid()}")
    spool.unlink(missing_ok=True)
    pin = [] if cpu is None else ["taskset", "-c", str(cpu)]
    proc = subprocess.Popen([*pin, sys.executable, __file__, "--serve", mode,
                             str(sock.fileno()), str(spool)], pass_fds=[sock.fileno()])
    sock.close()
    try:
        time.sleep(1.0)  # the child imports aiosmtpd; the socket already queues connections
        return smtp_source(port, sessions, messages, size)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        spool.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--sessions", type=int, nargs="*", default=[1])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--govmail", action="store_true")
    ap.add_argument("--client-cpu", type=int, help="pin smtp-source to this CPU")
    ap.add_argument("--server-cpu", type=int, help="pin the aiosmtpd servers to this CPU")
    ap.add_argument("--serve", nargs=3, metavar=("MODE", "FD", "SPOOL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        mode, fd, spool = args.serve
        asyncio.run(serve(mode, socket.socket(fileno=int(fd)), spool))
        return
    if os.geteuid() != 0:
        sys.exit("the reference stack needs root")
    bench_run.CLIENT_CPU = args.client_cpu
    pinned = "" if args.client_cpu is None else f" pinned to CPU {args.client_cpu}"
    print(f"{args.messages} messages of {args.size} bytes, smtp-source{pinned}, loopback")
    print(f"{'round':>5} {'sessions':>8} {'server':>16} {'msg/s':>7} {'/ reference':>12}")
    for rnd in range(1, args.rounds + 1):
        for sessions in args.sessions:
            ref = args.messages / run_peers(sessions, args.messages, args.size)
            print(f"{rnd:>5} {sessions:>8} {'reference':>16} {ref:>7.0f} {1:>12.2f}")
            servers = [*MODES, "govmail"] if args.govmail else list(MODES)
            for name in servers:
                if name == "govmail":
                    elapsed, _ = run_govmail(sessions, args.messages, args.size)
                else:
                    elapsed = run_floor(name, sessions, args.messages, args.size,
                                        args.server_cpu)
                rate = args.messages / elapsed
                print(f"{rnd:>5} {sessions:>8} {name:>16} {rate:>7.0f} {rate / ref:>12.2f}",
                      flush=True)


if __name__ == "__main__":
    main()
