"""Helpers for the outbound queue tests (no tests here): receiving SMTP servers on
loopback (aiosmtpd), a loopback DNS zone, a controllable clock, a fake pipeline that
captures injected notices, and a way to enqueue rows the way the pipeline does."""

from __future__ import annotations

import asyncio
import email
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import AuthResult, Session
from aiosmtpd.smtp import Envelope as AioEnvelope
from tests.support.dns_server import DnsServer
from tests.support.ports import free_port

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.store.db import Store
from govmail.store.models import OutboundMessage
from govmail.tlscert import write_self_signed

SENDER = "hangntm@mic.gov.vn"
HOSTNAME = "mail.mic.gov.vn"

ZONE: dict[tuple[str, str], list[str]] = {
    ("tls.test", "MX"): ["10 mx1.tls.test."],
    ("mx1.tls.test", "A"): ["127.0.0.2"],
    ("nomx.test", "A"): ["127.0.0.3"],
    ("nullmx.test", "MX"): ["0 ."],
    ("backup.test", "MX"): ["10 dead.backup.test.", "20 mx.backup.test."],
    ("dead.backup.test", "A"): ["127.0.0.9"],
    ("mx.backup.test", "A"): ["127.0.0.4"],
    ("relay.test", "A"): ["127.0.0.5"],
    ("plain.test", "MX"): ["10 mx.plain.test."],
    ("mx.plain.test", "A"): ["127.0.0.6"],
}


def message(subject: str = "Báo cáo tháng 5", to: str = "a@tls.test") -> bytes:
    return (
        f"From: Nguyễn Thị Minh Hằng <{SENDER}>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <m1@mic.gov.vn>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Kính gửi anh chị,\r\n.dòng bắt đầu bằng dấu chấm\r\nTrân trọng.\r\n"
    ).encode()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    helo: str | None
    login: str | None


@dataclass
class Handler:
    """Records messages; scripted RCPT and DATA replies.

    ``rcpt[address]`` is a list of replies used one per attempt (the last one repeats);
    "250" means accept. ``data`` likewise for the reply after the message content.
    """

    rcpt: dict[str, list[str]] = field(default_factory=dict)
    data: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    on_data: Callable[[], None] | None = None
    rcpt_seen: dict[str, int] = field(default_factory=dict)
    auth_mechanisms: list[str] = field(default_factory=list)
    data_calls: int = 0
    data_delay: float = 0.0  # seconds each DATA takes, to observe concurrency
    active: int = 0
    max_active: int = 0

    def _next(self, script: list[str], n: int) -> str:
        return script[min(n, len(script) - 1)]

    async def handle_RCPT(
        self, server: AioSMTP, session: Session, envelope: AioEnvelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        n = self.rcpt_seen.get(address, 0)
        self.rcpt_seen[address] = n + 1
        script = self.rcpt.get(address)
        reply = self._next(script, n) if script else "250"
        if reply != "250":
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: AioSMTP, session: Session, envelope: AioEnvelope) -> str:
        if self.on_data is not None:
            self.on_data()
        if self.data_delay:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            await asyncio.sleep(self.data_delay)
            self.active -= 1
        reply = self._next(self.data, self.data_calls) if self.data else "250"
        self.data_calls += 1
        if reply != "250":
            return reply
        login = session.auth_data.decode() if session.authenticated else None
        self.received.append(
            Received(
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                envelope.original_content or b"",
                session.ssl is not None,
                session.host_name,
                login,
            )
        )
        return "250 2.0.0 Ok: queued as 42"

    def authenticator(
        self, server: AioSMTP, session: Session, envelope: AioEnvelope, mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        self.auth_mechanisms.append(mechanism)
        ok = auth_data.login == b"relay-user" and auth_data.password == b"relay-secret"
        return AuthResult(success=ok, auth_data=auth_data.login if ok else None)


class TestSmtp:
    """A receiving SMTP server on one loopback address."""

    __test__ = False

    def __init__(
        self, ip: str, port: int, handler: Handler, *, tls: ssl.SSLContext | None = None,
        auth: bool = False,
    ) -> None:
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs["tls_context"] = tls
        if auth:
            kwargs["authenticator"] = handler.authenticator
            kwargs["auth_require_tls"] = True
        self.handler = handler
        self.controller = Controller(
            handler, hostname=ip, port=port, server_hostname=f"test-{ip}", ready_timeout=5,
            **kwargs,
        )

    def start(self) -> TestSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def server_tls_context(tmp: Path, *, min_tls13: bool = False) -> ssl.SSLContext:
    cert, key = tmp / "mx.crt", tmp / "mx.key"
    if not cert.exists():
        write_self_signed(cert, key, "mx1.tls.test")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if min_tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


class Servers:
    """Starts test SMTP servers that share one port (the queue's remote_smtp_port)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.running: list[TestSmtp] = []

    def start(
        self, ip: str, handler: Handler | None = None, *, tls: bool = False,
        auth: bool = False, min_tls13: bool = False,
    ) -> TestSmtp:
        ctx = server_tls_context(self.tmp, min_tls13=min_tls13) if tls else None
        s = TestSmtp(ip, self.port, handler or Handler(), tls=ctx, auth=auth).start()
        self.running.append(s)
        return s

    def stop_all(self) -> None:
        for s in self.running:
            s.stop()
        self.running.clear()


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class FakePipeline:
    """Stands in for the delivery pipeline: captures the notices the queue injects."""

    def __init__(self) -> None:
        self.injected: list[tuple[Envelope, bytes]] = []

    async def deliver(self, envelope: Envelope, raw: bytes) -> object:
        self.injected.append((envelope, raw))
        return None

    def dsns(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=default_policy)  # type: ignore[misc]
            for _env, raw in self.injected
        ]


def status_fields(dsn: Message) -> tuple[Message, list[Message]]:
    """(per-message fields, per-recipient field groups) of a DSN's delivery-status part."""
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = list(dsn.iter_parts())  # type: ignore[attr-defined]
    status = parts[1]
    assert status.get_content_type() == "message/delivery-status"
    groups = status.get_payload()
    assert isinstance(groups, list) and len(groups) >= 2
    return groups[0], groups[1:]


def human_text(dsn: EmailMessage) -> str:
    first = next(iter(dsn.iter_parts()))
    assert first["Content-Transfer-Encoding"] == "quoted-printable"
    return str(first.get_content())  # type: ignore[attr-defined]


async def enqueue(
    store: Store,
    raw: bytes,
    domain: str,
    recipients: list[str],
    *,
    mail_from: str = SENDER,
    now: datetime,
    lifetime: timedelta = timedelta(days=5),
) -> tuple[int, int]:
    """Insert one queue row with one blob reference, as the pipeline does; (row, blob)."""
    ref = await store.blobs.put(raw)
    async with store.write() as tx:
        blob_id = await tx.mail.add_blob_refs(ref.sha256, ref.size, 1)
        row = await tx.queue.add(
            OutboundMessage(
                blob_id=blob_id,
                mail_from=mail_from,
                domain=domain,
                recipients=recipients,
                status="queued",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        return row.id, blob_id


async def refcount(store: Store, blob_id: int) -> int:
    async with store.read() as tx:
        blob = await tx.mail.blob_by_id(blob_id)
        assert blob is not None
        return blob.refcount


async def row_of(store: Store, row_id: int) -> OutboundMessage:
    async with store.read() as tx:
        row = await tx.queue.get(row_id)
        assert row is not None
        return row


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def configure(settings: Settings, dns: DnsServer, servers: Servers) -> Settings:
    """Point the queue settings at the loopback DNS server and test SMTP port."""
    settings.general.hostname = HOSTNAME
    settings.queue.dns_servers = ["127.0.0.1"]
    settings.queue.dns_port = dns.port
    settings.queue.remote_smtp_port = servers.port
    return settings
