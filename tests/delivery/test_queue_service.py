"""The queue service: outcomes per recipient, retries with back-off, delay notice, bounces
(DSNs to the sender, never to the null sender), expiry, durability across restarts, blob
references released exactly once, admin operations."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.delivery.test_queue_support import (
    SENDER,
    Clock,
    FakePipeline,
    Handler,
    Servers,
    configure,
    enqueue,
    human_text,
    message,
    refcount,
    row_of,
    status_fields,
    wait_for,
)
from tests.support.dns_server import DnsServer

from govmail.config import Settings
from govmail.delivery.queue import QueueError, QueueService, retry_delay
from govmail.store.db import Store
from govmail.store.models import utcnow


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


def service(
    store: Store, settings: Settings, clock: Clock | None = None, **kw: object
) -> QueueService:
    extra: dict[str, object] = {"clock": clock} if clock is not None else {}
    return QueueService(
        store, settings, FakePipeline(), rng=random.Random(7), **extra, **kw  # type: ignore[arg-type]
    )


def injected(svc: QueueService) -> FakePipeline:
    assert isinstance(svc.pipeline, FakePipeline)
    return svc.pipeline


def test_retry_schedule_doubles_with_jitter_up_to_four_hours() -> None:
    rng = random.Random(1)
    for attempts, minutes in [(1, 1), (2, 2), (3, 4), (4, 8), (8, 128), (9, 240), (30, 240)]:
        for _ in range(20):
            d = retry_delay(attempts, rng)
            assert timedelta(minutes=minutes * 0.9) <= d <= timedelta(minutes=minutes * 1.1)
    assert len({retry_delay(3, rng) for _ in range(10)}) > 1  # jittered


async def test_partial_550_bounces_one_recipient_and_delivers_the_other(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler(rcpt={"b@tls.test": ["550 5.1.1 <b@tls.test>: Recipient address rejected"]})
    mx = servers.start("127.0.0.2", h, tls=True)
    clock = Clock()
    raw = message()
    row_id, blob_id = await enqueue(store, raw, "tls.test", ["a@tls.test", "b@tls.test"],
                                    now=clock())
    svc = service(store, qsettings, clock)
    await svc.run_once()

    assert [r.rcpt_tos for r in mx.received] == [["a@tls.test"]]
    row = await row_of(store, row_id)
    assert (row.status, row.recipients, row.attempts) == ("bounced", ["b@tls.test"], 1)
    assert "550 5.1.1" in (row.last_error or "")
    assert await refcount(store, blob_id) == 0

    (env, _raw), = injected(svc).injected
    assert (env.mail_from, env.rcpt_to, env.source) == ("", [SENDER], "system")
    (dsn,) = injected(svc).dsns()
    assert dsn["From"] == "Mail Delivery System <MAILER-DAEMON@mail.mic.gov.vn>"
    assert dsn["To"] == SENDER
    assert dsn["Auto-Submitted"] == "auto-replied"
    assert "Báo cáo tháng 5" in dsn["Subject"] and dsn["In-Reply-To"] == "<m1@mic.gov.vn>"
    per_msg, (rcpt,) = status_fields(dsn)
    assert per_msg["Reporting-MTA"] == "dns; mail.mic.gov.vn"
    assert per_msg["Arrival-Date"]
    assert rcpt["Final-Recipient"] == "rfc822; b@tls.test"
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "5.1.1")
    assert rcpt["Remote-MTA"] == "dns; mx1.tls.test"
    assert rcpt["Diagnostic-Code"] == "smtp; 550 5.1.1 <b@tls.test>: Recipient address rejected"
    assert rcpt["Last-Attempt-Date"]
    text = human_text(dsn)
    vi, en = text.index("Người nhận: b@tls.test"), text.index("Recipient: b@tls.test")
    assert vi < en  # Vietnamese first
    assert text.count("Recipient address rejected") == 2 and "a@tls.test" not in text
    headers = list(dsn.iter_parts())[2]
    assert headers.get_content_type() == "text/rfc822-headers"
    assert b"Subject: B\xc3\xa1o c\xc3\xa1o th\xc3\xa1ng 5" in headers.get_payload(decode=True)


async def test_451_is_retried_with_back_off_then_delivered(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler(rcpt={"a@tls.test": ["451 4.7.1 greylisted, try again later", "250"]})
    mx = servers.start("127.0.0.2", h, tls=True)
    clock = Clock()
    t0 = clock()
    row_id, blob_id = await enqueue(store, message(), "tls.test", ["a@tls.test"], now=t0)
    svc = service(store, qsettings, clock)

    await svc.run_once()
    row = await row_of(store, row_id)
    assert (row.status, row.attempts) == ("deferred", 1)
    assert t0 + timedelta(seconds=54) <= row.next_attempt_at <= t0 + timedelta(seconds=66)
    assert "451 4.7.1 greylisted" in (row.last_error or "")
    assert mx.received == [] and await refcount(store, blob_id) == 1
    assert await svc.run_once() == 0  # not due yet

    clock.advance(timedelta(minutes=2))
    assert await svc.run_once() == 1
    row = await row_of(store, row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert [r.rcpt_tos for r in mx.received] == [["a@tls.test"]]
    assert await refcount(store, blob_id) == 0
    assert injected(svc).injected == []


async def test_partial_retry_keeps_only_the_pending_recipient(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler(rcpt={"b@tls.test": ["452 4.2.2 mailbox full", "250"]})
    mx = servers.start("127.0.0.2", h)
    clock = Clock()
    row_id, blob_id = await enqueue(store, message(), "tls.test", ["a@tls.test", "b@tls.test"],
                                    now=clock())
    svc = service(store, qsettings, clock)
    await svc.run_once()
    row = await row_of(store, row_id)
    assert (row.status, row.recipients) == ("deferred", ["b@tls.test"])
    clock.advance(timedelta(minutes=5))
    await svc.run_once()
    assert [r.rcpt_tos for r in mx.received] == [["a@tls.test"], ["b@tls.test"]]
    assert (await row_of(store, row_id)).status == "sent"
    assert await refcount(store, blob_id) == 0


async def test_delay_notice_once_then_bounce_at_expiry(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler(rcpt={"a@tls.test": ["451 4.3.0 temporary local problem"]})
    servers.start("127.0.0.2", h, tls=True)
    qsettings.queue.delay_notice_hours = 1
    clock = Clock()
    t0 = clock()
    row_id, blob_id = await enqueue(store, message(), "tls.test", ["a@tls.test"], now=t0,
                                    lifetime=timedelta(hours=6))
    svc = service(store, qsettings, clock)
    await svc.run_once()
    assert injected(svc).injected == []  # too early for a delay notice

    attempts = 1
    while clock() < t0 + timedelta(hours=5):
        clock.advance(timedelta(minutes=40))
        attempts += await svc.run_once()
    row = await row_of(store, row_id)
    assert row.status == "deferred" and row.delay_notified and row.attempts == attempts
    (delay,) = injected(svc).dsns()
    assert "Thư chậm gửi / Delivery delayed" in delay["Subject"]
    _m, (rcpt,) = status_fields(delay)
    assert (rcpt["Action"], rcpt["Status"]) == ("delayed", "4.3.0")
    assert rcpt["Will-Retry-Until"] and "451 4.3.0" in rcpt["Diagnostic-Code"]
    assert "vẫn tự động gửi lại" in human_text(delay)
    # The schedule never goes past the expiry.
    assert row.next_attempt_at <= t0 + timedelta(hours=6)

    clock.advance(timedelta(hours=2))  # past the expiry: the next failure is final
    assert await svc.run_once() == 1
    row = await row_of(store, row_id)
    assert row.status == "bounced" and row.recipients == ["a@tls.test"]
    assert await refcount(store, blob_id) == 0
    delay_again, bounce = injected(svc).dsns()
    assert delay_again["Message-ID"] == delay["Message-ID"]  # still only one delay notice
    _m, (rcpt,) = status_fields(bounce)
    assert (rcpt["Action"], rcpt["Status"]) == ("failed", "4.4.7")
    assert rcpt["Diagnostic-Code"] == "smtp; 451 4.3.0 temporary local problem"
    text = human_text(bounce)
    assert "hết thời gian gửi lại (6 giờ)" in text and "retry period (6 hours)" in text
    assert "Will-Retry-Until" not in str(rcpt)


async def test_null_sender_gets_neither_bounce_nor_delay_notice(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler(rcpt={"a@tls.test": ["550 5.7.1 rejected"], "b@tls.test": ["451 4.3.0 later"]})
    servers.start("127.0.0.2", h)
    qsettings.queue.delay_notice_hours = 1
    clock = Clock()
    t0 = clock()
    row_id, blob_id = await enqueue(store, message(), "tls.test", ["a@tls.test", "b@tls.test"],
                                    mail_from="", now=t0, lifetime=timedelta(hours=3))
    svc = service(store, qsettings, clock)
    for _ in range(8):
        await svc.run_once()
        clock.advance(timedelta(minutes=30))
    row = await row_of(store, row_id)
    assert row.status == "bounced" and not row.delay_notified
    assert injected(svc).injected == []
    assert await refcount(store, blob_id) == 0


async def test_rows_survive_a_restart(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    gate = asyncio.Event()
    h = Handler()
    mx = servers.start("127.0.0.2", h)
    loop = asyncio.get_running_loop()

    in_data = threading.Event()

    def stall() -> None:  # the first DATA hangs until the first service is stopped
        if h.data_calls == 0:
            in_data.set()
            asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(timeout=10)

    h.on_data = stall
    first = service(store, qsettings, stop_grace=0.2)
    await first.start()
    assert first.healthy()
    now = utcnow()
    a_id, a_blob = await enqueue(store, message(), "tls.test", ["a@tls.test"], now=now)
    first.wake()
    await wait_for(in_data.is_set)
    await first.stop()  # the attempt in flight is cut off; its lease is released
    gate.set()
    assert not first.healthy()
    b_id, b_blob = await enqueue(store, message(), "tls.test", ["b@tls.test"], now=now)
    row = await row_of(store, a_id)
    assert row.status == "queued" and row.next_attempt_at <= utcnow()

    # A new process: a new Store on the same database and blob directory.
    store2 = Store(qsettings.database_url, qsettings.blob_dir)
    await store2.open()
    second = service(store2, qsettings)
    try:
        await second.start()  # no wake(): start-up picks up what is due
        await wait_for(lambda: {r.rcpt_tos[0] for r in mx.received} >= {"a@tls.test",
                                                                         "b@tls.test"})
        async def final() -> bool:
            return all([(await row_of(store2, i)).status == "sent" for i in (a_id, b_id)])

        for _ in range(200):
            if await final():
                break
            await asyncio.sleep(0.02)
        assert await final()
        assert await refcount(store2, a_blob) == 0 and await refcount(store2, b_blob) == 0
    finally:
        await second.stop()
        await store2.close()


async def test_wake_delivers_new_rows_without_waiting(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    mx = servers.start("127.0.0.2")
    svc = service(store, qsettings, max_idle=30.0)
    await svc.start()
    try:
        await asyncio.sleep(0.1)  # the loop is idle, sleeping up to 30 s
        await enqueue(store, message(), "tls.test", ["a@tls.test"], now=utcnow())
        svc.wake()
        await wait_for(lambda: len(mx.received) == 1, timeout=5)
    finally:
        await svc.stop()


async def test_concurrency_is_bounded_per_domain(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    busy = servers.start("127.0.0.2", Handler(data_delay=0.3))
    other = servers.start("127.0.0.3", Handler(data_delay=0.3))
    now = utcnow()
    for i in range(6):
        await enqueue(store, message(f"số {i}"), "tls.test", [f"u{i}@tls.test"], now=now)
    for i in range(2):
        await enqueue(store, message(f"khác {i}"), "nomx.test", [f"v{i}@nomx.test"], now=now)
    svc = service(store, qsettings, concurrency=4, per_domain=2)
    await svc.start()
    try:
        await wait_for(lambda: len(other.received) == 2)
        assert len(busy.received) < 6  # the other domain did not wait behind the busy one
        await wait_for(lambda: len(busy.received) == 6)
    finally:
        await svc.stop()
    assert busy.handler.max_active == 2  # the per-domain limit, reached
    assert other.handler.max_active == 2
    st = await svc.stats()
    assert st.counts == {"sent": 8} and st.pending == 0 and st.oldest_pending_age is None


async def test_row_deleted_while_in_flight_releases_its_blob_once(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler()
    mx = servers.start("127.0.0.2", h)
    clock = Clock()
    row_id, blob_id = await enqueue(store, message(), "tls.test", ["a@tls.test"], now=clock())
    svc = service(store, qsettings, clock)
    loop = asyncio.get_running_loop()

    def delete_now() -> None:
        asyncio.run_coroutine_threadsafe(svc.admin.delete(row_id), loop).result(timeout=10)

    h.on_data = delete_now
    await svc.run_once()
    assert len(mx.received) == 1
    assert await refcount(store, blob_id) == 0  # not -1: the delivery did not release again
    async with store.read() as tx:
        assert await tx.queue.get(row_id) is None


async def test_admin_list_retry_delete_stats_purge(
    store: Store, qsettings: Settings, servers: Servers
) -> None:
    h = Handler(rcpt={"slow@tls.test": ["421 4.4.5 busy"]})
    servers.start("127.0.0.2", h)
    clock = Clock()
    t0 = clock()
    slow_id, slow_blob = await enqueue(store, message(), "tls.test", ["slow@tls.test"], now=t0)
    ok_id, ok_blob = await enqueue(store, message("khác"), "tls.test", ["ok@tls.test"], now=t0)
    gone_id, gone_blob = await enqueue(store, message("xóa"), "plain.test", ["g@plain.test"],
                                       now=t0 + timedelta(hours=1))
    svc = service(store, qsettings, clock)
    admin = svc.admin
    await svc.run_once()

    pending = await admin.list(statuses=["queued", "deferred"])
    assert [e.id for e in pending] == [gone_id, slow_id]
    assert {e.id: e.status for e in await admin.list()} == {
        gone_id: "queued", ok_id: "sent", slow_id: "deferred"}

    clock.advance(timedelta(minutes=10))
    st = await svc.stats()
    assert st.counts == {"queued": 1, "deferred": 1, "sent": 1} and st.pending == 2
    assert st.oldest_pending_age == 600.0

    # retry now: due at once although its back-off said later
    await admin.retry_now(slow_id)
    assert (await row_of(store, slow_id)).next_attempt_at == clock()
    assert await svc.run_once() == 1 and h.rcpt_seen["slow@tls.test"] == 2
    with pytest.raises(QueueError) as err:
        await admin.retry_now(ok_id)
    assert "đã kết thúc" in str(err.value) and "already finished" in str(err.value)
    with pytest.raises(QueueError):
        await admin.retry_now(999_999)

    # delete: no notice, reference released once
    entry = await admin.delete(gone_id, actor="cli:test")
    assert entry.recipients == ["g@plain.test"]
    assert await refcount(store, gone_blob) == 0
    async with store.read() as tx:
        audit = await tx.audit.search(action="queue.delete")
        assert [a.object_id for a in audit] == [str(gone_id)]
    assert injected(svc).injected == []

    # flush makes every pending row due
    assert await admin.flush() == 1
    # purge: only final rows older than the cut-off go; the ok row became final at t0
    assert await admin.purge(timedelta(hours=1)) == 0
    clock.advance(timedelta(hours=2))
    assert await admin.purge(timedelta(hours=1)) == 1
    assert {e.id for e in await admin.list()} == {slow_id}
    assert await refcount(store, ok_blob) == 0 and await refcount(store, slow_blob) == 1
