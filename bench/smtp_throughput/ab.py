#!/usr/bin/env python3
"""Two or more govmail builds or settings under the same smtp-source load, in alternating
rounds: the paired comparison that this machine's drifting speed calls for.

    .venv/bin/python bench/smtp_throughput/ab.py [--rounds 5] [--messages 2000]
        [--sessions 1] [--client-cpu N] VARIANT [VARIANT ...]

A variant is a space-separated list of environment assignments for the server ("" for the
checkout as it is), e.g. "PYTHONPATH=/tmp/wt_base/src" for another commit checked out with
``git worktree add /tmp/wt_base <rev>``. Each variant gets its own data directory, set up by
its own code (as run.py sets one up), so each runs its own schema. Every round runs each
variant once (200 messages to warm up, then the measured load), each round starting with
the next variant in turn, and prints messages/s; the end prints the median of every
variant.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import run  # type: ignore[import-not-found]
from run import (  # type: ignore[import-not-found]
    setup_govmail,
    smtp_source,
    start_local_dns,
    start_server,
)

WARM_UP = 200


@contextmanager
def environment(variant: str) -> Iterator[None]:
    saved = dict(os.environ)
    for assignment in variant.split():
        name, _, value = assignment.partition("=")
        os.environ[name] = value
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--client-cpu", type=int, help="pin smtp-source to this CPU")
    ap.add_argument("variants", nargs="+")
    args = ap.parse_args()
    run.CLIENT_CPU = args.client_cpu
    dns, dns_port = start_local_dns()
    homes: dict[str, tuple[Path, int]] = {}
    rates: dict[str, list[float]] = {v: [] for v in args.variants}
    try:
        for v in args.variants:
            home = Path(tempfile.mkdtemp(prefix="govmail-ab-"))
            homes[v] = (home, 0)
            with environment(v):
                homes[v] = (home, setup_govmail(home, dns_port)["smtp_port"])
        for r in range(args.rounds):
            # Each round starts with the next variant: the second run of a round has been
            # seen to be faster than the first, whatever it runs.
            k = r % len(args.variants)
            for v in args.variants[k:] + args.variants[:k]:
                home, port = homes[v]
                with environment(v):
                    server = start_server(home, port)
                try:
                    smtp_source(port, args.sessions, WARM_UP, args.size)
                    elapsed = smtp_source(port, args.sessions, args.messages, args.size)
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait(timeout=30)
                rates[v].append(args.messages / elapsed)
                print(f"round {r} [{v}] {rates[v][-1]:.0f} msg/s"
                      f"  load {os.getloadavg()[0]:.2f}", flush=True)
        for v, xs in rates.items():
            print(f"[{v}] median {statistics.median(xs):.0f}  rounds {[round(x) for x in xs]}")
    finally:
        dns.terminate()
        for home, _port in homes.values():
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
