"""The queue with the real delivery pipeline: a user's message to outside recipients is
queued by the pipeline, delivered over SMTP, and the bounce for the refused recipient
comes back through the pipeline into the sender's INBOX."""

from __future__ import annotations

import email
import random
from collections.abc import Iterator
from email.policy import default as default_policy
from pathlib import Path

import pytest
from tests.delivery.test_queue_support import (
    ZONE,
    Clock,
    Handler,
    Servers,
    configure,
    refcount,
    row_of,
    status_fields,
)
from tests.support.dns_server import DnsServer

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import Pipeline
from govmail.delivery.queue import QueueService
from govmail.store.db import Store

MSG = (
    "From: Nguyễn Thị Minh Hằng <hangntm@mic.gov.vn>\r\n"
    "To: a@tls.test, b@tls.test\r\n"
    "Subject: Công văn số 22\r\n"
    "Message-ID: <cv22@mic.gov.vn>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Kính gửi.\r\n"
).encode()


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
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


async def test_bounce_returns_to_the_senders_inbox(
    pipeline: Pipeline, store: Store, db_settings: Settings, dns: DnsServer, servers: Servers
) -> None:
    settings = configure(db_settings, dns, servers)
    h = Handler(rcpt={"b@tls.test": ["550 5.1.1 no such user here"]})
    mx = servers.start("127.0.0.2", h, tls=True)
    svc = QueueService(store, settings, pipeline, clock=Clock(), rng=random.Random(3))
    pipeline.on_queued = svc.wake

    env = Envelope("hangntm@mic.gov.vn", ["a@tls.test", "b@tls.test"], "submission",
                   auth_user="hangntm@mic.gov.vn")
    result = await pipeline.deliver(env, MSG)
    assert result.stored is not None
    (row_id,) = result.stored.outbound_ids
    queued = await row_of(store, row_id)
    assert queued.status == "queued" and sorted(queued.recipients) == ["a@tls.test", "b@tls.test"]
    blob_id = queued.blob_id
    refs_before = await refcount(store, blob_id)  # the Sent copy and the queue row

    svc.clock.now = queued.next_attempt_at  # type: ignore[attr-defined]
    assert await svc.run_once() == 1
    (got,) = mx.received
    assert got.rcpt_tos == ["a@tls.test"] and got.tls
    assert got.content.endswith(MSG)  # what the pipeline stored, trace fields prepended
    row = await row_of(store, row_id)
    assert (row.status, row.recipients) == ("bounced", ["b@tls.test"])
    assert await refcount(store, blob_id) == refs_before - 1

    async with store.read() as tx:
        me = await tx.directory.mailbox_by_address("hangntm@mic.gov.vn")
        assert me is not None
        inbox = await tx.mail.folder(me.id, "INBOX")
        assert inbox is not None
        (notice,) = await tx.mail.messages(inbox.id)
        sha = await tx.mail.blob_sha_of(notice)
    dsn = email.message_from_bytes(await store.blobs.get(sha), policy=default_policy)
    assert dsn["Subject"].endswith("Công văn số 22")
    _per_msg, (rcpt,) = status_fields(dsn)
    assert rcpt["Final-Recipient"] == "rfc822; b@tls.test"
    assert rcpt["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user here"
