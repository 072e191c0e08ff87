"""The usage recorder inside a running govmail: IMAP logins (through the shared LoginGuard)
and messages through the pipeline land in the daily counters; nothing of the content."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from govmail.app import App
from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.store.models_reports import UsageAgencyDay, UsageMailboxDay
from govmail.store.repos.reports import ReportsRepo
from tests.web.conftest import DUC, HANG, PASSWORD, start_server


@pytest.fixture
async def server(db_settings: Settings, backend: str) -> AsyncIterator[App]:
    if backend != "sqlite":
        pytest.skip("the recorder's SQL is tested on both databases elsewhere")
    app = await start_server(db_settings)
    try:
        yield app
    finally:
        await app.pipeline.wait_background()
        await app.stop()


def imap_login(port: int, user: str, password: str) -> bool:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        # AUTHENTICATE PLAIN: the test password is Vietnamese (UTF-8), LOGIN takes ASCII.
        client.authenticate("PLAIN", lambda _c: f"\0{user}\0{password}".encode())
        client.logout()
        return True
    except imaplib.IMAP4.error:
        return False


async def test_logins_and_messages_are_counted(server: App) -> None:
    assert server.service("usage").healthy()
    port = server.service("imap").port  # type: ignore[attr-defined]
    assert await asyncio.to_thread(imap_login, port, HANG, PASSWORD)
    assert await asyncio.to_thread(imap_login, port, HANG, PASSWORD)
    assert not await asyncio.to_thread(imap_login, port, DUC, "wrong password")
    raw = (
        f"From: {HANG}\r\nTo: {DUC}\r\nSubject: Lịch công tác tuần\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nNội dung bí mật không được lưu.\r\n"
    ).encode()
    await server.pipeline.deliver(Envelope(HANG, [DUC], "web", auth_user=HANG), raw)
    await server.pipeline.wait_background()
    assert server.usage.pending() > 0
    await server.usage.flush()
    assert server.usage.pending() == 0
    today = datetime.now(ZoneInfo(server.settings.general.timezone)).date()
    async with server.store.read() as tx:
        ids = {}
        for address in (HANG, DUC):
            m = await tx.directory.mailbox_by_address(address)
            assert m is not None
            ids[address] = m
        rows = {
            r.mailbox_id: r
            for r in (
                await tx.session.scalars(
                    select(UsageMailboxDay).where(UsageMailboxDay.day == today)
                )
            ).all()
        }
        agency_rows = (await tx.session.scalars(select(UsageAgencyDay))).all()
        totals = await ReportsRepo(tx.session, server.store.dialect).agency_totals(today, today)
    hang, duc = rows[ids[HANG].id], rows[ids[DUC].id]
    assert (hang.logins_imap, hang.sent, hang.received) == (
        2,
        1,
        0,
    )  # her Sent copy is not "received"
    assert (duc.failed_logins, duc.received, duc.logins_imap) == (1, 1, 0)
    mic = totals[ids[HANG].agency_id]
    assert (mic["logins_imap"], mic["sent"], mic["received"], mic["active_mailboxes"]) == (
        2,
        1,
        1,
        1,
    )
    assert len(agency_rows) == 1
    # Counts only: no column can hold a subject, an address or a body.
    for table in (UsageMailboxDay, UsageAgencyDay):
        assert {c.type.python_type for c in table.__table__.columns} <= {int, type(today)}
    # A second flush adds to the same rows.
    server.usage.on_login(HANG, "web", True)
    await server.usage.flush()
    async with server.store.read() as tx:
        again = await ReportsRepo(tx.session, server.store.dialect).agency_totals(today, today)
    assert again[ids[HANG].agency_id]["logins_web"] == 1
    assert again[ids[HANG].agency_id]["active_mailboxes"] == 1  # she was active already today


async def test_counters_survive_a_failed_write(
    server: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.usage.on_login(HANG, "pop3", True)

    async def broken(*_a: object) -> int:
        raise RuntimeError("database gone")

    monkeypatch.setattr(server.usage, "_write", broken)
    assert await server.usage.flush() == 0
    assert server.usage.pending() == 1 and server.usage.failures == 1
    monkeypatch.undo()
    assert await server.usage.flush() > 0
    assert server.usage.pending() == 0
