"""Replies written together where the client does not wait for them one by one (RFC 2920):
what the server writes, write by write, and what a pipelining client reads."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from tests.smtp.conftest import port

from govmail.app import App

MESSAGE = b"From: <a@example.org>\r\nTo: <hangntm@mic.gov.vn>\r\nSubject: x\r\n\r\nbody\r\n.\r\n"


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every write of the server's SMTP connections (the server runs in this process)."""
    seen: list[bytes] = []
    original = asyncio.StreamWriter.write

    def write(self: asyncio.StreamWriter, data: bytes) -> None:
        seen.append(bytes(data))
        original(self, data)

    monkeypatch.setattr(asyncio.StreamWriter, "write", write)
    yield seen


def converse(smtp_port: int, groups: list[bytes]) -> list[bytes]:
    """Send each group in one piece once the previous group's replies are in; returns
    every reply line."""
    lines: list[bytes] = []
    with socket.create_connection(("127.0.0.1", smtp_port), timeout=10) as c:
        f = c.makefile("rb")
        lines.append(f.readline())
        for group in groups:
            c.sendall(group)
            expected = group.count(b"\n") if not group.endswith(b"\r\n.\r\n") else 1
            while expected:
                line = f.readline()
                assert line, "the server closed the connection"
                lines.append(line)
                if line[3:4] != b"-":
                    expected -= 1
    return lines


async def test_a_multi_line_reply_is_one_write(server: App, writes: list[bytes]) -> None:
    lines = await asyncio.to_thread(converse, port(server, "smtp"), [b"EHLO x.example\r\n"])
    ehlo = [w for w in writes if w.startswith(b"250-")]
    assert len(ehlo) == 1 and b"250-PIPELINING\r\n" in ehlo[0] and ehlo[0].endswith(b"\r\n")
    assert b"".join(lines[1:]) == ehlo[0]


async def test_pipelined_commands_are_answered_in_one_write(
    server: App, writes: list[bytes]
) -> None:
    group = (
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<hangntm@mic.gov.vn>\r\n"
        b"RCPT TO:<nobody@mic.gov.vn>\r\nRCPT TO:<ductv@mic.gov.vn>\r\nDATA\r\n"
    )
    groups = [b"EHLO x.example\r\n", group, MESSAGE, b"RSET\r\nNOOP\r\nQUIT\r\n"]
    lines = await asyncio.to_thread(converse, port(server, "smtp"), groups)
    codes = [line[:3] for line in lines if line[3:4] == b" "]
    assert codes == [b"220", b"250", b"250", b"250", b"550", b"250", b"354", b"250", b"250",
                     b"250", b"221"]
    replies = [w for w in writes if not w.startswith((b"220 ", b"250-"))]
    assert [w.count(b"\r\n") for w in replies] == [5, 1, 2, 1]  # the group, 250, RSET+NOOP, 221
    assert replies[0].startswith(b"250 ") and replies[0].endswith(b"\r\n")
    assert b"354 " in replies[0] and b"5.1.1" in replies[0]


async def test_a_client_that_waits_gets_every_reply_at_once(
    server: App, writes: list[bytes]
) -> None:
    groups = [b"HELO x.example\r\n", b"MAIL FROM:<a@example.org>\r\n", b"RSET\r\n", b"QUIT\r\n"]
    lines = await asyncio.to_thread(converse, port(server, "smtp"), groups)
    assert [line[:4] for line in lines] == [b"220 ", b"250 ", b"250 ", b"250 ", b"221 "]
    assert len(writes) == 5  # nothing held back for a command that never came


async def test_replies_held_for_a_group_reach_a_client_that_half_closes(server: App) -> None:
    """The client sends its group and shuts its side: aiosmtpd then stops the session
    (a RCPT still waiting for the directory is cut off), but what was answered is sent."""

    def go() -> bytes:
        with socket.create_connection(("127.0.0.1", port(server, "smtp")), timeout=10) as c:
            f = c.makefile("rb")
            f.readline()
            c.sendall(b"HELO x.example\r\n")
            f.readline()
            c.sendall(
                b"RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<hangntm@mic.gov.vn>\r\n"
                b"RCPT TO:<ductv@mic.gov.vn>\r\n"
            )
            c.shutdown(socket.SHUT_WR)
            return f.read()

    received = await asyncio.to_thread(go)
    assert received.startswith(b"250 2.0.0 OK\r\n250 ")  # RSET's and MAIL's at least
    assert all(line.startswith(b"250 ") for line in received.splitlines())
