"""Virus scanning with a real clamd (Debian's clamav-daemon binary) started on a Unix
socket with a test signature database holding the EICAR signature."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.ops import support
from tests.ops.daemons import CLAMD, EICAR, start_clamd
from tests.ops.support import (
    Rig,
    make_message,
    make_rig,
    messages_in,
    raw_of,
)

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.policy.base import Action
from govmail.policy.clamav import ClamdClient, ClamdUnavailable, VirusCheck
from govmail.store.db import Store

sqlite_store = support.sqlite_store  # fixture

pytestmark = pytest.mark.skipif(not os.path.exists(CLAMD), reason="clamd is not installed")


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    daemon, sock = start_clamd(tmp_path_factory.mktemp("clamd"))
    try:
        yield sock
    finally:
        daemon.stop()


@pytest.fixture
async def rig(
    sqlite_store: Store, settings: Settings, clamd_socket: Path
) -> AsyncIterator[tuple[Rig, VirusCheck]]:
    settings.antivirus.enabled = True
    settings.antivirus.clamd_socket = str(clamd_socket)
    check = VirusCheck(settings.antivirus)
    async for r in make_rig(sqlite_store, settings, [check]):
        yield r, check


def env() -> Envelope:
    return Envelope("someone@example.org", ["hangntm@mic.gov.vn"], "mx", client_ip="192.0.2.7")


INFECTED = make_message("Hồ sơ", "Xem tệp đính kèm.", attachments=[
    ("hoso.com", EICAR, "application/octet-stream")])
CLEAN = make_message("Hồ sơ", "Xem tệp đính kèm.", attachments=[
    ("baocao.pdf", b"%PDF-1.4\n% a clean file\n", "application/pdf")])


async def test_eicar_attachment_is_refused_and_clean_one_passes(
    rig: tuple[Rig, VirusCheck],
) -> None:
    r, check = rig
    assert await check.client.ping()
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(), INFECTED)
    assert exc.value.code == 554 and exc.value.check == "antivirus"
    assert "Govmail-Test-EICAR" in exc.value.reason
    assert "mã độc" in exc.value.reason and "malware" in exc.value.reason
    assert await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX") == []
    await r.pipeline.deliver(env(), CLEAN)
    [m] = await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")
    assert b"X-Virus-Status: clean" in await raw_of(r.store, m)


async def test_outgoing_mail_is_scanned_too(rig: tuple[Rig, VirusCheck]) -> None:
    r, _check = rig
    sub = Envelope("hangntm@mic.gov.vn", ["ductv@mic.gov.vn"], "submission",
                   auth_user="hangntm@mic.gov.vn")
    raw = INFECTED.replace(b"someone", b"hang")
    with pytest.raises(DeliveryRefused):
        await r.pipeline.deliver(sub, raw)


async def test_eicar_inside_a_forwarded_message_is_found(rig: tuple[Rig, VirusCheck]) -> None:
    _r, check = rig
    inner = INFECTED.decode()
    outer = ("From: a@example.org\r\nTo: b@example.org\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=OUT\r\n\r\n--OUT\r\n"
             "Content-Type: message/rfc822\r\n\r\n" + inner + "\r\n--OUT--\r\n").encode()
    result = await check.client.scan(outer)
    assert result.infected


async def test_dead_clamd_tempfails_or_tags_never_passes_silently(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    settings.antivirus.enabled = True
    settings.antivirus.clamd_socket = str(tmp_path / "nobody-listens.sock")
    settings.antivirus.timeout_seconds = 2
    check = VirusCheck(settings.antivirus)
    async for r in make_rig(sqlite_store, settings, [check]):
        with pytest.raises(DeliveryRefused) as exc:
            await r.pipeline.deliver(env(), CLEAN)
        assert exc.value.code == 451 and exc.value.temporary
        settings.antivirus.on_failure = "tag"
        result = await r.pipeline.deliver(env(), CLEAN)
        assert result.action == Action.TAG
        [m] = await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")
        assert b"X-Virus-Status: unscanned" in await raw_of(r.store, m)


async def test_clamd_over_tcp_that_hangs_times_out(tmp_path: Path) -> None:
    import asyncio

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = ClamdClient(host="127.0.0.1", port=port, timeout=0.5)
        with pytest.raises(ClamdUnavailable, match="did not answer"):
            await client.scan(b"x")
    finally:
        server.close()
