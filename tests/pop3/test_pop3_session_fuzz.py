"""Random command lines against a logged-in session: every line gets a response, none
raises, the maildrop state stays consistent."""

from __future__ import annotations

import random

from tests.pop3.conftest import PASSWORD, USER, put
from tests.pop3.samples import simple, vietnamese_message_with_pdf

from govmail.app import App
from govmail.pop3.session import Pop3Session

KEYWORDS = ["STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "RSET", "NOOP", "CAPA", "AUTH", "USER"]
KEYWORDS += ["PASS", "APOP", "UTF8", "XTND", "LAST", "stat", "Top", "QUI", "RETRX", ""]


class FakeChannel:
    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.tls_active = True
        self.peer_ip = "192.0.2.7"

    async def write(self, data: bytes) -> None:
        self.out.append(data)

    def write_nowait(self, data: bytes) -> None:
        self.out.append(data)

    async def readline(self, timeout: float) -> bytes:
        raise AssertionError("the test dispatches lines itself")


def random_line(rng: random.Random) -> bytes:
    choice = rng.random()
    if choice < 0.15:
        return rng.randbytes(rng.randint(0, 60))
    words = [rng.choice(KEYWORDS)]
    for _ in range(rng.randint(0, 3)):
        words.append(
            rng.choice(
                [
                    str(rng.randint(-2, 6)),
                    str(rng.randint(0, 10**12)),
                    "",
                    "x",
                    "١",
                    "1.5",
                    "+1",
                    "\t3",
                    "*",
                    "=",
                ]
            )
        )
    return " ".join(words).encode()


async def test_random_commands_in_transaction(server: App) -> None:
    await put(server, simple(1))
    await put(server, vietnamese_message_with_pdf()[0])
    await put(server, simple(3))
    service = server.service("pop3s")
    ctx = service.ctx  # type: ignore[attr-defined]
    ctx.max_bad_commands = 10**9
    ch = FakeChannel()
    session = Pop3Session(ch, ctx)  # type: ignore[arg-type]
    await session.dispatch(f"USER {USER}".encode())
    await session.dispatch(f"PASS {PASSWORD}".encode())
    assert session.state == "transaction"
    rng = random.Random(20240611)
    try:
        for _ in range(1500):
            line = random_line(rng)
            ch.out.clear()
            await session.dispatch(line)
            assert len(ch.out) == 1, line
            response = ch.out[0]
            assert response.startswith((b"+OK", b"-ERR")), (line, response)
            assert response.endswith(b"\r\n")
            first = response.split(b"\r\n", 1)[0]
            assert b"\r" not in first and b"\n" not in first
            assert session.state == "transaction" and not session.done
            drop = session.drop
            assert drop is not None
            count, octets = drop.stat()
            assert 0 <= count <= 3 and octets == sum(e.size for e in drop.live())
    finally:
        await session._end()
    assert not ctx.locks.held(session.mailbox_id)
