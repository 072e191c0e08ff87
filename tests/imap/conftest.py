"""A running govmail for IMAP tests, shared by the tests of one module.

The server runs in a thread with its own event loop, so tests are plain functions that
use blocking clients (imaplib, imapclient, mbsync, mutt) directly; ``server.run(coro)``
runs a coroutine on the server's loop (to seed mail or look at the store). It is started
once per module and backend (SQLite, PostgreSQL); tests use their own folders or users.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import ssl
import threading
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest
import tests.conftest as root

from govmail.app import App
from govmail.config import Settings, load_settings

T = TypeVar("T")
PASSWORD = "mat-khau-du-dai"
DOMAIN = "mic.gov.vn"
USERS = {
    "hang": "hangntm@mic.gov.vn",  # handler (clerk) of vanthu@mic.gov.vn
    "duc": "ductv@mic.gov.vn",  # handler (not clerk) of vanthu@mic.gov.vn
    "tam": "tamlv@mic.gov.vn",  # handles nothing
    "an": "annv@mic.gov.vn",
    "binh": "binhtt@mic.gov.vn",
}
AGENCY = "vanthu@mic.gov.vn"


class RunningServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.app = App(settings)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def port(self, name: str) -> int:
        return self.app.service(name).port  # type: ignore[attr-defined,no-any-return]

    def connect(self, user: str | None = None) -> imaplib.IMAP4:
        """An imaplib client on the plain port (loopback allows LOGIN), logged in as
        ``user`` (a key of USERS) when given."""
        client = imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=30)
        if user is not None:
            client.login(USERS[user], PASSWORD)
        return client

    def connect_tls(self) -> imaplib.IMAP4_SSL:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=ctx, timeout=30)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.app.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


async def _populate(app: App) -> None:
    from argon2 import PasswordHasher

    # A cheap argon2 hash (verified the same way): many logins, little time.
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    async with app.directory.ops() as ops:
        await ops.add_domain(DOMAIN)
        await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code="000.00.00.G14",
            domain=DOMAIN,
        )
        for full_name in (
            "Nguyễn Thị Minh Hằng",
            "Trần Văn Đức",
            "Lê Văn Tám",
            "Nguyễn Văn An",
            "Trần Thị Bình",
        ):
            await ops.add_mailbox(full_name=full_name, agency="000.00.00.G14", password_hash=cheap)
        await ops.add_mailbox(
            full_name="Văn thư Bộ", agency="000.00.00.G14", kind="agency", local_part="vanthu"
        )
        await ops.add_handler(AGENCY, USERS["hang"], is_clerk=True)
        await ops.add_handler(AGENCY, USERS["duc"])
    await app.pipeline.local_domains(refresh=True)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"imap-{backend}")
    dbname = None
    if backend == "postgres":
        if not root._pg_available():
            if os.environ.get("GOVMAIL_TEST_REQUIRE_PG") == "1":
                pytest.fail("PostgreSQL on 127.0.0.1:5432 is required but not reachable")
            pytest.skip("PostgreSQL not reachable")
        root._ensure_pg_template()
        dbname = f"govmail_t_{uuid.uuid4().hex[:12]}"
        root._pg_exec(f"CREATE DATABASE {dbname} TEMPLATE {root.PG_TEMPLATE}")
        url = root._async_url(dbname)
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'data' / 'govmail.db'}"
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("GOVMAIL_") and not key.startswith("GOVMAIL_TEST"):
                mp.delenv(key)
        mp.chdir(tmp)
        settings = load_settings(general={"data_dir": tmp / "data"})
    settings.database.url = url
    ls = settings.listeners
    for attr in (
        "smtp_port",
        "submission_port",
        "submissions_port",
        "http_port",
        "imap_port",
        "imaps_port",
        "pop3_port",
        "pop3s_port",
    ):
        setattr(ls, attr, 0)
    settings.general.hostname = "mail.mic.gov.vn"
    srv = RunningServer(settings)
    try:
        srv.run(srv.app.start())
        srv.run(_populate(srv.app))
        yield srv
    finally:
        srv.stop()
        if dbname is not None:
            with contextlib.suppress(Exception):
                root._pg_exec(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


def message(
    subject: str = "Công văn số 12/BC-BTTTT",
    body: str = "Kính gửi các đơn vị.\r\nĐề nghị báo cáo trước ngày 15.\r\n",
    sender: str = "Đặng Văn Lâm <lamdv@mic.gov.vn>",
    to: str = "hangntm@mic.gov.vn",
    extra_headers: str = "",
) -> bytes:
    """A small UTF-8 message with an RFC 2047 subject."""
    from email.header import Header

    encoded_subject = Header(subject, "utf-8").encode(linesep="\r\n")
    encoded_from = sender
    if not sender.isascii():
        name, addr = sender.rsplit("<", 1)
        encoded_name = Header(name.strip(), "utf-8").encode(linesep="\r\n")
        encoded_from = f"{encoded_name} <{addr}"
    text = (
        f"From: {encoded_from}\r\nTo: {to}\r\nSubject: {encoded_subject}\r\n"
        f"Date: Mon, 06 May 2024 10:00:00 +0700\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mic.gov.vn>\r\n{extra_headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return text.encode("utf-8") + body.encode("utf-8")


def with_attachment(subject: str, filename: str, payload: bytes) -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage()
    msg["From"] = "Văn thư <vanthu@mic.gov.vn>"
    msg["To"] = "hangntm@mic.gov.vn"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 07 May 2024 08:30:00 +0700"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@mic.gov.vn>"
    msg.set_content("Gửi kèm văn bản.\nTrân trọng.\n")
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename=filename)
    return msg.as_bytes(policy=SMTP)


class RawClient:
    """A bare IMAP connection for exact protocol checks: send bytes, read responses."""

    def __init__(self, port: int, *, tls: bool = False) -> None:
        import socket

        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        self.sock = sock
        self.buf = b""
        self.greeting = self.line()

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self) -> bytes:
        """One response line (without CRLF); literals inside it are inlined."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            if line.endswith(b"}") and b"{" in line:
                size = int(line[line.rindex(b"{") + 1 : -1].rstrip(b"+"))
                while len(self.buf) < size:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise ConnectionError("server closed the connection")
                    self.buf += chunk
                out += b"\r\n" + self.buf[:size]
                self.buf = self.buf[size:]
                continue
            return out

    def until(self, tag: str) -> list[bytes]:
        """Lines up to and including the tagged response of ``tag``."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    def cmd(self, tag: str, text: str | bytes) -> list[bytes]:
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.until(tag)

    def login(self, user: str) -> None:
        assert self.cmd("L1", f'LOGIN {USERS[user]} "{PASSWORD}"')[-1].startswith(b"L1 OK")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sock.close()
