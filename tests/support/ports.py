"""Ports for servers that a test starts later (another process, a daemon, a second instance).

A port found by binding to port 0 and closing comes from the kernel's ephemeral range, the
range every outgoing connection takes its local port from: with the suite in several
workers, a client socket of another test could take it before the server binds it
(``Address already in use``, seen in CI). These ports come from below that range, from a
block of its own per pytest-xdist worker, and each is checked free before it is handed out.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading

BASE = 20000  # below Linux's default ephemeral range (32768-60999)
BLOCK = 2000  # ports per worker: gw0 20000-21999, gw1 22000-23999, ...
WORKERS = 6


def _worker() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = name.removeprefix("gw")
    return int(digits) % WORKERS if digits.isdigit() else 0


# Two suites running at once (a CI clone beside a developer's run) start at different
# places in their blocks.
_start = BASE + _worker() * BLOCK
_next = (i % BLOCK for i in itertools.count(os.getpid() * 7))
_lock = threading.Lock()  # a generator must not be resumed from two threads at once


def _free(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family) as s:
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


def free_port(ip: str = "127.0.0.1") -> int:
    for _ in range(BLOCK):
        with _lock:
            port = _start + next(_next)
        if _free(ip, port):
            return port
    raise RuntimeError(f"no free port in {_start}-{_start + BLOCK - 1} on {ip}")


def free_ports(n: int, ip: str = "127.0.0.1") -> list[int]:
    return [free_port(ip) for _ in range(n)]
