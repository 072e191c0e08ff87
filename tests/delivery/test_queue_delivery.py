"""Outbound delivery over real SMTP on loopback: routes (MX, implicit MX, backup MX, null
MX, no such domain, smarthost), opportunistic STARTTLS, AUTH to a smarthost."""

from __future__ import annotations

import random
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.delivery.test_queue_support import (
    HOSTNAME,
    SENDER,
    Clock,
    FakePipeline,
    Servers,
    configure,
    enqueue,
    human_text,
    message,
    refcount,
    row_of,
    status_fields,
)
from tests.support.dns_server import DnsServer

from govmail.config import Settings
from govmail.delivery.dns import Resolver
from govmail.delivery.outbound import (
    OutboundDelivery,
    enhanced_status,
    one_line,
    parse_smarthost,
)
from govmail.delivery.queue import QueueService
from govmail.store.db import Store


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    from tests.delivery.test_queue_support import ZONE

    srv = DnsServer(ZONE).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    s = Servers(tmp_path)
    try:
        yield s
    finally:
        s.stop_all()


@pytest.fixture
def qsettings(db_settings: Settings, dns: DnsServer, servers: Servers) -> Settings:
    return configure(db_settings, dns, servers)


def service(store: Store, settings: Settings, clock: Clock, **kw: object) -> QueueService:
    return QueueService(
        store, settings, FakePipeline(), clock=clock, rng=random.Random(7), **kw  # type: ignore[arg-type]
    )


# -- pure helpers -------------------------------------------------------------------------


def test_parse_smarthost() -> None:
    assert parse_smarthost("relay.example.vn", 25) == ("relay.example.vn", 25)
    assert parse_smarthost("Relay.Example.VN.:587", 25) == ("relay.example.vn", 587)
    assert parse_smarthost("10.0.0.1:2525", 25) == ("10.0.0.1", 2525)
    assert parse_smarthost("[2001:db8::1]:465", 25) == ("2001:db8::1", 465)
    assert parse_smarthost("2001:db8::1", 25) == ("2001:db8::1", 25)
    for bad in ("", ":25", "relay:0", "relay:x", "relay:70000"):
        with pytest.raises(ValueError):
            parse_smarthost(bad, 25)


def test_enhanced_status_and_reply_line() -> None:
    assert enhanced_status(550, "5.1.1 <b@x>: no such user") == "5.1.1"
    assert enhanced_status(550, "no such user") == "5.0.0"
    assert enhanced_status(451, "4.7.1 greylisted, try later") == "4.7.1"
    assert enhanced_status(451, "5.7.1 inconsistent") == "4.0.0"  # class must agree
    assert one_line(550, "5.1.1 first\n5.1.1 second\x07") == "550 5.1.1 first 5.1.1 second?"


# -- routes and sessions ------------------------------------------------------------------


async def test_delivers_to_mx_with_starttls(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    mx = servers.start("127.0.0.2", tls=True)
    clock = Clock()
    raw = message()
    row_id, blob_id = await enqueue(store, raw, "tls.test", ["a@tls.test", "b@tls.test"],
                                    now=clock())
    svc = service(store, qsettings, clock)
    assert await svc.run_once() == 1
    (got,) = mx.received
    assert got.tls, "STARTTLS should have been used"
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["a@tls.test", "b@tls.test"]
    assert got.helo == HOSTNAME
    assert got.content == raw  # byte for byte, dot-stuffing undone by the server
    row = await row_of(store, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert await refcount(store, blob_id) == 0
    assert svc.pipeline.injected == []  # type: ignore[attr-defined]


async def test_implicit_mx_when_domain_has_only_an_address(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    srv = servers.start("127.0.0.3")  # no STARTTLS offered: delivered in clear text
    clock = Clock()
    row_id, _ = await enqueue(store, message(to="x@nomx.test"), "nomx.test", ["x@nomx.test"],
                              now=clock())
    await service(store, qsettings, clock).run_once()
    (got,) = srv.received
    assert got.rcpt_tos == ["x@nomx.test"] and not got.tls
    assert (await row_of(store, row_id)).status == "sent"


async def test_next_mx_when_the_first_refuses_connections(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    backup = servers.start("127.0.0.4")  # 127.0.0.9 (preference 10) has nothing listening
    clock = Clock()
    row_id, _ = await enqueue(store, message(), "backup.test", ["c@backup.test"], now=clock())
    await service(store, qsettings, clock).run_once()
    assert [r.rcpt_tos for r in backup.received] == [["c@backup.test"]]
    assert (await row_of(store, row_id)).status == "sent"


async def test_null_mx_and_unknown_domain_bounce_at_once(
    store: Store, qsettings: Settings
) -> None:
    clock = Clock()
    null_id, null_blob = await enqueue(store, message(), "nullmx.test", ["n@nullmx.test"],
                                       now=clock())
    nx_id, _ = await enqueue(store, message(), "nowhere.test", ["z@nowhere.test"], now=clock())
    svc = service(store, qsettings, clock)
    await svc.run_once()
    for rid in (null_id, nx_id):
        row = await row_of(store, rid)
        assert (row.status, row.attempts) == ("bounced", 1)
    assert await refcount(store, null_blob) == 0
    dsns = svc.pipeline.dsns()  # type: ignore[attr-defined]
    assert len(dsns) == 2
    by_rcpt = {}
    for d in dsns:
        _msg, (rcpt,) = status_fields(d)
        by_rcpt[rcpt["Final-Recipient"]] = (rcpt, human_text(d))
    rcpt, text = by_rcpt["rfc822; n@nullmx.test"]
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "5.1.10")
    assert "bản ghi MX rỗng" in text and "null MX record" in text
    rcpt, text = by_rcpt["rfc822; z@nowhere.test"]
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "5.1.2")
    assert "nowhere.test" in text and "Remote-MTA" not in rcpt


async def test_failed_tls_handshake_falls_back_to_clear_text(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    srv = servers.start("127.0.0.2", tls=True, min_tls13=True)
    client = ssl.create_default_context()
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    client.maximum_version = ssl.TLSVersion.TLSv1_2  # no common version: handshake fails
    q = qsettings.queue
    delivery = OutboundDelivery(
        hostname=HOSTNAME,
        resolver=Resolver(q.dns_servers, q.dns_port, timeout=2),
        port=q.remote_smtp_port,
        tls_context=client,
    )
    clock = Clock()
    row_id, _ = await enqueue(store, message(), "tls.test", ["a@tls.test"], now=clock())
    await service(store, qsettings, clock, delivery=delivery).run_once()
    (got,) = srv.received
    assert not got.tls
    assert (await row_of(store, row_id)).status == "sent"


async def test_smarthost_with_auth_plain_over_starttls(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    relay = servers.start("127.0.0.5", tls=True, auth=True)
    qsettings.queue.smarthost = f"relay.test:{servers.port}"
    qsettings.queue.smarthost_username = "relay-user"
    qsettings.queue.smarthost_password = "relay-secret"
    clock = Clock()
    # far.example has no DNS at all: only the smarthost is asked.
    row_id, blob_id = await enqueue(store, message(to="y@far.example"), "far.example",
                                    ["y@far.example"], now=clock())
    await service(store, qsettings, clock).run_once()
    (got,) = relay.received
    assert got.tls and got.login == "relay-user" and got.rcpt_tos == ["y@far.example"]
    assert relay.handler.auth_mechanisms == ["PLAIN"]
    assert (await row_of(store, row_id)).status == "sent"
    assert await refcount(store, blob_id) == 0


async def test_smarthost_password_never_sent_without_tls(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    relay = servers.start("127.0.0.5")  # no STARTTLS
    qsettings.queue.smarthost = f"127.0.0.5:{servers.port}"
    qsettings.queue.smarthost_username = "relay-user"
    qsettings.queue.smarthost_password = "relay-secret"
    clock = Clock()
    row_id, blob_id = await enqueue(store, message(), "far.example", ["y@far.example"],
                                    now=clock())
    await service(store, qsettings, clock).run_once()
    assert relay.received == [] and relay.handler.auth_mechanisms == []
    row = await row_of(store, row_id)
    assert row.status == "deferred" and "tls_required" in (row.last_error or "")
    assert await refcount(store, blob_id) == 1
