#!/usr/bin/env python3
"""Where one SMTP session's time goes: smtp-source's dialogue, step by step.

    .venv/bin/python bench/smtp_throughput/steps.py [--messages 2000] [--sessions 1]
        [--esmtp]

Sets govmail up as run.py does, then plays the dialogue smtp-source plays for each message
(a new connection, HELO, MAIL, RCPT, DATA, the message, QUIT, each waiting for its reply;
no pipelining; with ``--esmtp``, as Postfix's SMTP client plays it instead: EHLO, then
MAIL, RCPT and DATA sent together, RFC 2920) with smtp-source's own 4 KB message, from
one session or several concurrent ones (threads of this process), and prints the median
and mean time of every step, messages/s, and the server's CPU time per message by thread
(user and system, from /proc) over the last four fifths of the run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from run import setup_govmail, start_local_dns, start_server  # type: ignore[import-not-found]

STEPS = ("connect", "helo", "mail", "rcpt", "data", "message", "quit")
ESMTP_STEPS = ("connect", "ehlo", "pipelined", "message", "quit")
HEADER = (
    "From: <sender@bench.gov.vn>\r\nTo: <rcpt@bench.gov.vn>\r\n"
    "Date: Wed, 25 Nov 2026 20:21:00 +0000 (UTC)\r\nMessage-Id: <{n}.bench@vm>\r\n\r\n"
)
BODY = "".join(f"{i}{'X' * (78 - len(str(i)))}\r\n" for i in range(1, 52)) + ".\r\n"


def reply(s: socket.socket, count: int = 1) -> bytes:
    """Read until ``count`` replies are complete (their last lines)."""
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
        if sum(1 for line in buf.split(b"\r\n") if line[3:4] == b" ") >= count:
            return buf


def cpu_ms(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    tick = 1000 / os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        name = "main" if tid == str(pid) else f"thread {tid}"
        out[f"{name} user"] = int(fields[11]) * tick
        out[f"{name} sys"] = int(fields[12]) * tick
    return out


def one_message(port: int, i: int, esmtp: bool = False) -> list[float]:
    """smtp-source's dialogue for message ``i`` (or Postfix's, ``esmtp``); the time at the
    end of every step."""
    t = [time.perf_counter()]
    s = socket.create_connection(("127.0.0.1", port))
    reply(s)
    t.append(time.perf_counter())
    envelope = (
        b"MAIL FROM:<sender@bench.gov.vn>\r\n",
        f"RCPT TO:<{i + 1}rcpt@bench.gov.vn>\r\n".encode(),
        b"DATA\r\n",
    )
    groups = [[b"EHLO vm\r\n"], list(envelope)] if esmtp else [[b"HELO vm\r\n"]]
    if not esmtp:
        groups += [[command] for command in envelope]
    for group in groups:
        s.sendall(b"".join(group))
        r = reply(s, len(group))
        if r.rstrip().split(b"\r\n")[-1][:1] not in (b"2", b"3"):
            raise RuntimeError(r.decode(errors="replace"))
        t.append(time.perf_counter())
    s.sendall((HEADER.format(n=i) + BODY).encode())
    r = reply(s)
    if not r.startswith(b"250"):
        raise RuntimeError(r.decode(errors="replace"))
    t.append(time.perf_counter())
    s.sendall(b"QUIT\r\n")
    reply(s)
    s.close()
    t.append(time.perf_counter())
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=1, help="concurrent sessions (threads)")
    ap.add_argument("--esmtp", action="store_true", help="EHLO and pipelining, as Postfix")
    args = ap.parse_args()
    n, sessions = args.messages, args.sessions
    steps = ESMTP_STEPS if args.esmtp else STEPS
    home = Path(tempfile.mkdtemp(prefix="govmail-steps-"))
    dns, dns_port = start_local_dns()
    try:
        port = setup_govmail(home, dns_port)["smtp_port"]
        server = start_server(home, port)
        times: dict[str, list[float]] = {k: [] for k in (*steps, "total")}
        warm = n // 5
        before: dict[str, float] = {}
        counter = itertools.count()
        lock = threading.Lock()
        started = 0.0

        def session() -> None:
            nonlocal before, started
            while (i := next(counter)) < n:
                if i == warm:
                    with lock:
                        before = cpu_ms(server.pid)
                        started = time.perf_counter()
                t = one_message(port, i, args.esmtp)
                if i >= warm:
                    with lock:
                        for step, a, b in zip(steps, t[:-1], t[1:], strict=True):
                            times[step].append((b - a) * 1000)
                        times["total"].append((t[-1] - t[0]) * 1000)

        try:
            threads = [threading.Thread(target=session) for _ in range(sessions)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            elapsed = time.perf_counter() - started
            after = cpu_ms(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        measured = len(times["total"])
        print(f"{measured} messages measured (after {warm} to warm up), {sessions} session(s)")
        for step, v in times.items():
            med, mean = statistics.median(v), statistics.mean(v)
            print(f"{step:>9}  median {med:6.2f} ms  mean {mean:6.2f} ms")
        print(f"{'msg/s':>9}  {measured / elapsed:.0f}")
        used = {k: (after[k] - before.get(k, 0)) / measured for k in after}
        for k, v in sorted(used.items()):
            if v >= 0.01:
                print(f"  server CPU {k:>24}: {v:.2f} ms/message")
        print(f"  server CPU {'total':>24}: {sum(used.values()):.2f} ms/message")
    finally:
        dns.terminate()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
