"""The operations features in a running App (SQLite, every listener on an ephemeral
loopback port): /metrics and its protection, /ops/locks and `govmail auth locks`,
/ops/status, the backup service in /healthz, spam headers on MX mail, and a message
with 10,000 recipients."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from govmail.app import App
from govmail.config import Settings
from govmail.ops.metrics import allowed
from govmail.store.repos.ops import OpsRepo
from tests.ops.support import make_message, started_app

PASSWORD = "mat-khau-du-dai"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    settings.auth.max_failures_per_account = 2
    settings.monitoring.metrics_token = "bi-mat-giam-sat"
    a = await started_app(settings, PASSWORD)
    try:
        yield a
    finally:
        await a.stop()


def url(app: App, path: str) -> str:
    return f"http://127.0.0.1:{app.service('http').port}{path}"  # type: ignore[attr-defined]


async def smtp_session(app: App, rcpts: int, body: bytes) -> list[bytes]:
    """One MX transaction with ``rcpts`` RCPT commands, pipelined; returns every reply."""
    port = app.service("smtp").port  # type: ignore[attr-defined]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies: list[bytes] = []

    async def reply() -> bytes:
        lines = []
        while True:
            line = await reader.readline()
            lines.append(line)
            if line[3:4] != b"-":
                return b"".join(lines)

    await reply()
    writer.write(b"EHLO mail.example.org\r\n")
    await reply()
    writer.write(b"MAIL FROM:<ai.do@example.org>\r\n")
    replies.append(await reply())
    writer.write(b"RCPT TO:<hangntm@mic.gov.vn>\r\n" * rcpts)
    await writer.drain()
    for _ in range(rcpts):
        replies.append(await reply())
    writer.write(b"DATA\r\n")
    replies.append(await reply())
    writer.write(body + b".\r\n")
    replies.append(await reply())
    writer.write(b"QUIT\r\n")
    writer.close()
    return replies


async def test_metrics_status_locks_and_a_ten_thousand_recipient_message(app: App) -> None:
    replies = await smtp_session(app, 10_000, make_message(to="hangntm@mic.gov.vn"))
    rcpt = replies[1:-2]
    limit = app.settings.limits.max_recipients
    assert sum(r.startswith(b"250") for r in rcpt) == limit
    assert all(r.startswith(b"452 4.5.3") for r in rcpt[limit:])
    assert replies[-1].startswith(b"250"), replies[-1]
    async with app.store.read() as tx:
        mb = await tx.directory.mailbox_by_address("hangntm@mic.gov.vn")
        inbox = await tx.mail.folder(mb.id, "INBOX")  # type: ignore[union-attr]
        [msg] = await tx.mail.messages(inbox.id)  # type: ignore[union-attr]
        raw = app.store.blobs.get_sync(await tx.mail.blob_sha_of(msg))
    assert b"X-Spam-Score:" in raw and b"Authentication-Results:" in raw

    # A user moves it to Junk over IMAP: the Bayes classifier learns it as spam.
    def imap_move() -> None:
        c = imaplib.IMAP4("127.0.0.1", app.service("imap").port)  # type: ignore[attr-defined]
        c.login("hangntm@mic.gov.vn", PASSWORD)
        c.select("INBOX")
        typ, data = c.uid("MOVE", "1", "Junk")
        assert typ == "OK", data
        c.logout()

    await asyncio.to_thread(imap_move)
    async with app.store.read() as tx:
        assert await OpsRepo(tx.session, app.store.dialect).bayes_counts() == (1, 0)

    for _ in range(2):
        out = await app.guard.login(app.directory, "hangntm@mic.gov.vn", "sai", "192.0.2.50",
                                    "imap")
        assert not out.ok
    assert (await app.guard.login(app.directory, "hangntm@mic.gov.vn", PASSWORD, "192.0.2.51",
                                  "smtp")).locked

    async with httpx.AsyncClient() as c:
        r = await c.get(url(app, "/metrics"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        assert 'govmail_messages_total{outcome="accepted",reason="",source="mx"} 1.0' in text
        assert 'govmail_filter_results_total{filter="spam",outcome="ham"} 1.0' in text
        assert 'govmail_logins_total{outcome="failure",protocol="imap"} 2.0' in text
        assert 'govmail_logins_total{outcome="success",protocol="imap"} 1.0' in text
        assert 'govmail_logins_total{outcome="locked",protocol="smtp"} 1.0' in text
        assert 'govmail_login_locks{kind="account"} 1.0' in text
        assert "govmail_delivery_seconds_count" in text
        assert 'govmail_queue_messages{status="queued"} 0.0' in text
        assert "govmail_backup_age_seconds -1.0" in text
        assert (await c.get(url(app, "/metrics"),
                            headers={"Authorization": "Bearer wrong"})).status_code == 403
        ok = await c.get(url(app, "/metrics"),
                         headers={"Authorization": "Bearer bi-mat-giam-sat"})
        assert ok.status_code == 200
        locks = (await c.get(url(app, "/ops/locks"))).json()
        assert [(x["kind"], x["key"]) for x in locks] == [("account", "hangntm@mic.gov.vn")]
        status = (await c.get(url(app, "/ops/status"))).json()
        assert status["messages"] == 1 and status["login_locks"] == 1
        assert status["bayes_learnt"] == "1 spam / 0 ham"
        assert status["services"]["backup"] == "ok"
        health = (await c.get(url(app, "/healthz"))).json()
        assert health["checks"]["backup"] == "ok"

    from typer.testing import CliRunner

    from govmail.cli.main import app as cli
    from govmail.cli.runtime import state

    cli_settings = app.settings.model_copy(deep=True)
    cli_settings.listeners.http_port = app.service("http").port  # type: ignore[attr-defined]
    state._settings = cli_settings
    try:
        res = await asyncio.to_thread(CliRunner().invoke, cli, ["auth", "locks", "--json"])
    finally:
        state._settings = None
    assert res.exit_code == 0, res.output
    assert '"key": "hangntm@mic.gov.vn"' in res.output


def test_metrics_access_rule() -> None:
    def req(host: str, auth: str = "") -> SimpleNamespace:
        return SimpleNamespace(client=SimpleNamespace(host=host),
                               headers={"authorization": auth} if auth else {})

    assert allowed(req("127.0.0.1"), "")  # type: ignore[arg-type]
    assert allowed(req("::1"), "")  # type: ignore[arg-type]
    assert allowed(req("::ffff:127.0.0.1"), "")  # type: ignore[arg-type]
    assert not allowed(req("192.0.2.9"), "")  # type: ignore[arg-type]
    assert not allowed(req("192.0.2.9", "Bearer x"), "")  # type: ignore[arg-type]
    assert allowed(req("192.0.2.9", "Bearer tok"), "tok")  # type: ignore[arg-type]
    assert not allowed(req("192.0.2.9", "Bearer tok2"), "tok")  # type: ignore[arg-type]


def test_json_log_lines_carry_host_pid_and_extras() -> None:
    import json
    import logging
    import os

    from govmail.logging_setup import JsonFormatter

    rec = logging.LogRecord("govmail.backup", logging.INFO, __file__, 1, "backup done", None,
                            None)
    rec.snapshot = "20261125T020000Z"
    line = json.loads(JsonFormatter("mail.mic.gov.vn").format(rec))
    assert line["host"] == "mail.mic.gov.vn" and line["pid"] == os.getpid()
    assert line["msg"] == "backup done" and line["snapshot"] == "20261125T020000Z"
    assert line["level"] == "info" and line["logger"] == "govmail.backup"
