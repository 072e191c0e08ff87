"""Spam scoring through a real rspamd (Debian's rspamd 3.x binary) started on loopback with
its stock rules, our worker ports and no DNS."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.ops import support
from tests.ops.daemons import RSPAMD, Daemon, start_rspamd
from tests.ops.support import Rig, make_message, make_rig, messages_in, raw_of
from tests.support.ports import free_port

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.policy.base import Action
from govmail.policy.rspamd import RspamdCheck
from govmail.store.db import Store

sqlite_store = support.sqlite_store  # fixture

pytestmark = pytest.mark.skipif(not os.path.exists(RSPAMD), reason="rspamd is not installed")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, int]]:
    port = free_port()
    daemon = start_rspamd(tmp_path_factory.mktemp("rspamd"), port, free_port())
    try:
        yield daemon, port
    finally:
        daemon.stop()


@pytest.fixture
async def rig(
    sqlite_store: Store, settings: Settings, rspamd: tuple[Daemon, int]
) -> AsyncIterator[tuple[Rig, RspamdCheck]]:
    settings.spam.engine = "rspamd"
    settings.spam.rspamd_url = f"http://127.0.0.1:{rspamd[1]}"
    check = RspamdCheck(settings.spam, sqlite_store, "mail.mic.gov.vn")
    async for r in make_rig(sqlite_store, settings, [check]):
        yield r, check
    await check.client.close()


def env() -> Envelope:
    return Envelope("nguoigui@example.org", ["hangntm@mic.gov.vn"], "mx",
                    client_ip="192.0.2.44", helo="mail.example.org")


async def test_rspamd_scores_a_clean_message_and_it_is_delivered(
    rig: tuple[Rig, RspamdCheck],
) -> None:
    r, _check = rig
    result = await r.pipeline.deliver(env(), make_message())
    assert result.action == Action.TAG
    [m] = await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")
    raw = await raw_of(r.store, m)
    assert b"X-Spam-Action: " in raw and b"X-Spam-Score: " in raw
    assert b"X-Spam-Flag: NO" in raw


async def test_rspamd_rejects_gtube(rig: tuple[Rig, RspamdCheck]) -> None:
    r, _check = rig
    with pytest.raises(DeliveryRefused) as exc:
        await r.pipeline.deliver(env(), make_message("test", f"Body\r\n{GTUBE}\r\n"))
    assert exc.value.code == 550 and exc.value.check == "spam"
    assert await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX") == []


async def test_dead_rspamd_tempfails_or_tags(
    sqlite_store: Store, settings: Settings, tmp_path: Path
) -> None:
    settings.spam.engine = "rspamd"
    settings.spam.rspamd_url = f"http://127.0.0.1:{free_port()}"
    settings.spam.timeout_seconds = 2
    check = RspamdCheck(settings.spam, sqlite_store)
    async for r in make_rig(sqlite_store, settings, [check]):
        with pytest.raises(DeliveryRefused) as exc:
            await r.pipeline.deliver(env(), make_message())
        assert exc.value.code == 451
        settings.spam.on_failure = "tag"
        await r.pipeline.deliver(env(), make_message())
        [m] = await messages_in(r.store, "hangntm@mic.gov.vn", "INBOX")
        assert b"X-Spam-Status: unscanned" in await raw_of(r.store, m)
    await check.client.close()
