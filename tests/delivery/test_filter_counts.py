"""Spam and virus verdicts of the policy chain land in the usage counters: once per
recipient agency, for a message filed in Junk or refused by the spam check and for one the
virus check found infected (a fake clamd answering for the EICAR string); the report then
shows them in the agencies' activity."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from tests.ops.support import Rig, make_message, make_rig

from govmail.config import Settings
from govmail.delivery.envelope import Envelope
from govmail.delivery.pipeline import DeliveryRefused
from govmail.policy.clamav import ScanResult, VirusCheck
from govmail.policy.spam import SpamCheck
from govmail.reports.periods import Period
from govmail.reports.report import build_report
from govmail.reports.usage import UsageRecorder
from govmail.store.db import Store

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SPAMMY = make_message(
    "TRÚNG THƯỞNG LỚN!!! NHẬN QUÀ NGAY",
    "Chúc mừng bạn đã trúng thưởng 500 triệu. Nhận quà tặng miễn phí, vay tiền lãi suất thấp, "
    "giải ngân trong ngày. Click here: http://203.0.113.9/nhan-thuong và http://bit.ly/abc",
    sender="khuyenmai@spam.example",
)
INFECTED = make_message(
    "Hồ sơ", "Xem tệp đính kèm.", attachments=[("hoso.com", EICAR, "application/octet-stream")]
)
HANG, DUC, TAM = "hangntm@mic.gov.vn", "ductv@mic.gov.vn", "tamlv@phuyen.gov.vn"


class FakeClamd:
    """Answers as clamd does: the EICAR string in any decoded part is a virus."""

    async def scan(self, raw: bytes) -> ScanResult:
        parts = email.message_from_bytes(raw).walk()
        infected = any(EICAR in (p.get_payload(decode=True) or b"") for p in parts)
        return ScanResult(infected, "Eicar-Test-Signature" if infected else None)


@pytest.fixture
async def rig(store: Store, db_settings: Settings) -> AsyncIterator[tuple[Rig, UsageRecorder]]:
    db_settings.antivirus.enabled = True
    checks = [
        VirusCheck(db_settings.antivirus, client=FakeClamd()),  # type: ignore[arg-type]
        SpamCheck(db_settings.spam, store),
    ]
    usage = UsageRecorder(store, db_settings.general.timezone)
    async for r in make_rig(store, db_settings, checks):
        r.pipeline.on_verdicts = usage.filter_verdicts
        yield r, usage


def mx(*rcpts: str) -> Envelope:
    return Envelope("nguoigui@example.org", list(rcpts), "mx", client_ip="192.0.2.10")


async def test_spam_and_viruses_are_counted_per_recipient_agency(
    rig: tuple[Rig, UsageRecorder],
) -> None:
    r, usage = rig
    await r.pipeline.deliver(mx(HANG, DUC), SPAMMY)  # to Junk: one agency
    with pytest.raises(DeliveryRefused):
        await r.pipeline.deliver(mx(HANG, TAM), INFECTED)  # refused: two agencies
    await r.pipeline.deliver(mx(TAM), make_message())  # clean: nothing
    r.settings.spam.reject_score = 6.0
    with pytest.raises(DeliveryRefused):
        await r.pipeline.deliver(mx(TAM), SPAMMY)  # refused as spam
    await usage.flush()

    today = datetime.now(usage.tz).date()
    report = await build_report(
        r.store,
        Period(today, today, today.isoformat()),
        timezone=r.settings.general.timezone,
        indicators=("filtering_share",),
        with_daily=False,
    )
    activity = {
        a.subject.name: (a.values["spam"], a.values["virus"])
        for rows in report.activity.values()
        for a in rows
    }
    assert activity["Bộ Thông tin và Truyền thông"] == (1, 1)
    assert activity["Ủy ban nhân dân tỉnh Phú Yên"] == (1, 1)
