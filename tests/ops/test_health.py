"""Monitoring: /healthz checks the store and greets every mail listener as a client
would (a listener that stops answering, or a port nobody listens on, makes it 503); a
real `govmail serve` writes JSON log lines and `govmail status` reads it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from govmail.app import App
from govmail.config import Settings
from govmail.ops import health
from tests.ops.support import started_app
from tests.support.ports import free_port
from tests.support.procs import govmail, start_server, write_config

LISTENERS = {"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"}


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    a = await started_app(settings)
    try:
        yield a
    finally:
        await a.stop()


async def healthz(app: App) -> tuple[int, dict[str, str]]:
    port = app.service("http").port  # type: ignore[attr-defined]
    async with httpx.AsyncClient() as c:
        r = await c.get(f"http://127.0.0.1:{port}/healthz")
    body = r.json()
    assert body["status"] == ("ok" if r.status_code == 200 else "fail")
    return r.status_code, body["checks"]


async def test_healthz_greets_every_listener(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    code, checks = await healthz(app)
    assert code == 200
    assert {"store", "http", "backup", "queue", *LISTENERS} <= set(checks)
    assert set(checks.values()) == {"ok"}
    # Probing is no event worth a warning (aiosmtpd's own "mail.log" is kept at ERROR by
    # configure_logging: it warns about our deliberate AUTH set-up on every connection).
    noisy = [r for r in caplog.records
             if r.levelno >= logging.WARNING and r.name != "mail.log"]
    assert noisy == []


async def test_a_listener_that_stops_answering_fails_healthz(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()  # accepts, never greets
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    # Short enough for a quick test, long enough for the real TLS listeners' handshakes
    # on a loaded machine (they are probed at the same time).
    monkeypatch.setattr(health, "PROBE_TIMEOUT", 2.0)
    imap, smtp = app.service("imap"), app.service("smtp")
    imap_port, smtp_port = imap.port, smtp.port  # type: ignore[attr-defined]
    try:
        imap.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        smtp.port = free_port()  # type: ignore[attr-defined]  # nothing listens there
        code, checks = await healthz(app)
    finally:
        imap.port, smtp.port = imap_port, smtp_port  # type: ignore[attr-defined]
        done.set()
        server.close()
    assert code == 503
    assert checks["imap"] == "down: 127.0.0.1: no greeting"
    assert checks["smtp"] == "down: 127.0.0.1: unreachable: ConnectionRefusedError"
    assert checks["imaps"] == checks["pop3s"] == checks["store"] == "ok"
    assert (await healthz(app))[0] == 200


async def test_a_closed_listener_and_a_failing_store_fail_healthz(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app.service("pop3").stop()
    code, checks = await healthz(app)
    assert code == 503 and checks["pop3"] == "down" and checks["pop3s"] == "ok"

    def broken(*_a: object, **_k: object) -> object:
        raise OSError("database is gone")

    monkeypatch.setattr(app.store, "read", broken)
    code, checks = await healthz(app)
    assert code == 503 and checks["store"] == "error: OSError"


def test_json_logs_and_status_of_a_running_server(tmp_path: Path) -> None:
    home = tmp_path / "srv"
    home.mkdir()
    ports = write_config(home)
    config = home / "govmail.toml"
    config.write_text(config.read_text().replace("[general]\n", '[general]\nlog_format = "json"\n'))
    proc = start_server(home, ports["http_port"])
    try:
        r = httpx.get(f"http://127.0.0.1:{ports['http_port']}/healthz", timeout=30)
        assert r.status_code == 200 and set(r.json()["checks"].values()) == {"ok"}
        status = json.loads(govmail(home, "status", "--json").stdout)
        assert status["server"] == "running"
        assert {k: status["services"][k] for k in LISTENERS} == dict.fromkeys(LISTENERS, "ok")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    lines = [json.loads(x) for x in (home / "server.log").read_text().splitlines() if x.strip()]
    assert lines, "the server wrote no log line"
    for line in lines:
        assert {"ts", "level", "logger", "msg", "host", "pid"} <= set(line), line
        assert line["pid"] == proc.pid and line["host"] == "localhost"
    started = {x["service"] for x in lines if x["msg"] == "service started"}
    assert LISTENERS | {"http", "backup"} <= started
    assert os.path.getsize(home / "server.log") > 0
