"""A small synthetic organisation with known answers for the first quarter of 2025.

- Bộ A (ministry, headcount 10, 8 people) with Vụ A1 (headcount 10, 5 people):
  mailbox share 13/20 = 65 %; 4 people active on >= 10 of the last 20 working days and
  one on 9 days: regular use 4/20 = 20 %; documents 6 electronic, 2 paper, 2 both: 80 %;
  4 arrivals, 2 registered within a working day: 50 %; quy chế adopted by Bộ A only: 50 %.
  One more person of Bộ A was archived in February: not counted.
- Tỉnh B (province, headcount 4, 3 people) with Sở B1 (no headcount, 2 people):
  not computed, missing headcount of Sở B1.
- Tỉnh C (province, headcount 2, 3 people): headcount smaller than mailboxes.
- Tỉnh D (province, no mailbox): not on govmail, "Chưa báo cáo" unless self-reported.

Every agency and mailbox is back-dated to 2024 (they are created today, after the period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from govmail.config import Settings
from govmail.directory.service import Directory
from govmail.reports import events
from govmail.reports.events import Channel
from govmail.reports.periods import Period, quarter
from govmail.reports.usage import UsageRecorder
from govmail.store.db import Store
from govmail.store.models import Agency, Mailbox
from govmail.store.repos.reports import ReportsRepo

Q1 = quarter(2025, 1)
# The last 20 working days of Q1 2025: 4–31 March (no holiday in March 2025).
WINDOW = [date(2025, 3, d) for d in range(4, 32) if date(2025, 3, d).weekday() < 5]
BACK = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Org:
    store: Store
    directory: Directory
    settings: Settings
    recorder: UsageRecorder
    period: Period
    people: dict[str, list[str]]  # agency code -> addresses


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 31, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def on(self, d: date) -> None:
        self.now = datetime(d.year, d.month, d.day, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội


async def build_org(store: Store, settings: Settings) -> Org:
    directory = Directory(store, settings)
    people: dict[str, list[str]] = {}
    async with directory.ops() as ops:
        await ops.add_domain("a.gov.vn")
        await ops.add_domain("b.gov.vn")
        await ops.add_domain("c.gov.vn")
        await ops.add_domain("d.gov.vn")
        specs = [
            ("Bộ A", "BA", "ministry", "000.00.00.G01", None, "a.gov.vn", 10, 8),
            ("Vụ A1", "VA1", "unit", "000.00.01.G01", "000.00.00.G01", None, 10, 5),
            ("Ủy ban nhân dân tỉnh B", "UBND", "province", "000.00.00.H01", None, "b.gov.vn", 4, 3),
            ("Sở B1", "SB1", "department", "000.00.01.H01", "000.00.00.H01", None, None, 2),
            ("Ủy ban nhân dân tỉnh C", "UBND", "province", "000.00.00.H02", None, "c.gov.vn", 2, 3),
            (
                "Ủy ban nhân dân tỉnh D",
                "UBND",
                "province",
                "000.00.00.H03",
                None,
                "d.gov.vn",
                30,
                0,
            ),
        ]
        for name, short, kind, code, parent, domain, headcount, n in specs:
            await ops.add_agency(
                name=name,
                short_name=short,
                kind=kind,
                code=code,
                parent=parent,
                domain=domain,
                headcount=headcount,
                place=name.rsplit(" ", 1)[-1] if kind == "province" else None,
            )
            people[code] = []
            for i in range(n):
                m = await ops.add_mailbox(full_name=f"Nguyễn Văn {short}{i}", agency=code)
                people[code].append(m.address)
        gone = await ops.add_mailbox(full_name="Trần Thị Nghỉ", agency="000.00.00.G01")
        await ops.add_mailbox(
            full_name="Văn thư Bộ A", agency="000.00.00.G01", kind="agency", local_part="vanthu"
        )
    async with store.write() as tx:
        await tx.session.execute(update(Agency).values(created_at=BACK))
        await tx.session.execute(update(Mailbox).values(created_at=BACK))
        await tx.session.execute(
            update(Mailbox)
            .where(Mailbox.address == gone.address)
            .values(status="archived", archived_at=datetime(2025, 2, 10, tzinfo=UTC))
        )
    clock = Clock()
    rec = UsageRecorder(store, settings.general.timezone, clock=clock)
    a = people["000.00.00.G01"] + people["000.00.01.G01"]
    # Four regular users (10, 12, 20 and 15 active days in the window), one just below (9).
    for address, days in zip(a, (10, 12, 20, 15, 9), strict=False):
        for d in WINDOW[:days]:
            clock.on(d)
            rec.on_login(address, "imap", True)
    # Activity before the window does not make anyone regular.
    for d in range(6, 31):
        day = date(2025, 1, d)
        if day.weekday() < 5:
            clock.on(day)
            rec.on_login(a[5], "web", True)
    clock.on(date(2025, 3, 12))
    rec.on_login(a[6], "imap", False)  # a failed login is not activity
    rec.on_login("nobody@a.gov.vn", "imap", False)  # an unknown account is not kept
    bo_a = await agency_id(store, "000.00.00.G01")
    tz = ZoneInfo(settings.general.timezone)
    async with store.write() as tx:  # the registers' counters, as the documents layer writes them
        channels: tuple[tuple[Channel, int], ...] = (("electronic", 6), ("paper", 2), ("both", 2))
        for channel, n in channels:
            for _ in range(n):
                await events.document_channel(tx, bo_a, date(2025, 2, 3), "Công văn", None, channel)
        arrived = datetime(2025, 3, 7, 2, 0, tzinfo=UTC)  # Friday morning
        await events.arrival(tx, bo_a, arrived, tz, registered=True)  # at once: on time
        for registered in (
            datetime(2025, 3, 10, 2, 0, tzinfo=UTC),  # Monday: on time
            datetime(2025, 3, 11, 2, 0, tzinfo=UTC),  # Tuesday: late
        ):
            await events.registration(tx, bo_a, arrived, registered, tz, count_arrival=True)
        await events.arrival(tx, bo_a, arrived, tz)  # never registered
    rec.record_filter_verdict(bo_a, "spam", date(2025, 3, 3))
    rec.policy_refused("classified", bo_a, date(2025, 3, 3))
    await rec.flush()
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        await repo.set_regulation(bo_a, True, date(2025, 2, 1), "12/QĐ-BA")
        await repo.set_setting("filtering", {"spam": True, "virus": True})
    return Org(store, directory, settings, rec, Q1, people)


async def agency_id(store: Store, code: str) -> int:
    async with store.read() as tx:
        a = await tx.directory.agency_by_code(code)
    assert a is not None
    return a.id


@pytest.fixture
async def org(store: Store, db_settings: Settings) -> Org:
    return await build_org(store, db_settings)
