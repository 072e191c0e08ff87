"""The test suite's port helper: ports below the ephemeral range, free when handed out."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support import ports


def test_ports_are_distinct_free_and_outside_the_ephemeral_range() -> None:
    got = ports.free_ports(40)
    assert len(set(got)) == 40
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    low, high = (int(x) for x in ephemeral)
    for p in got:
        assert not low <= p <= high
        assert ports._start <= p < ports._start + ports.BLOCK
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    busy, free = ports.free_ports(2)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", busy))
        listener.listen()
        monkeypatch.setattr(ports, "_next", iter([busy - ports._start, free - ports._start]))
        assert ports.free_port() == free


def test_another_loopback_address() -> None:
    p = ports.free_port("127.0.0.3")
    with socket.socket() as s:
        s.bind(("127.0.0.3", p))
