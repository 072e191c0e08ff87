"""Weekly work schedules: ISO weeks and entry validation, who may edit, the public page
per agency and week, the iCalendar feed (parsed back with icalendar), the edit forms
through a running server (web test fixtures), and the audit trail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from tests.web.conftest import (
    DUC,
    HANG,
    TAM,
    WebClient,
    password_hash,
    start_server,
)

from govmail.app import App
from govmail.config import Settings
from govmail.documents.schedule import (
    ScheduleError,
    Week,
    WorkSchedules,
    build_feed,
    entry_input,
    may_edit,
)
from govmail.store.models import AdminRole, Agency
from govmail.store.models_documents_extra import ScheduleEntry

LAN = "lanpt@mic.gov.vn"  # the Ministry's clerk (văn thư)
G14, H45 = "000.00.00.G14", "000.00.00.H45"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


# -- pure ---------------------------------------------------------------------------------


def test_iso_weeks() -> None:
    w = Week.parse("2025-W10")
    assert (w.first, w.last) == (date(2025, 3, 3), date(2025, 3, 9))
    assert w.label == "2025-W10" and len(w.days) == 7
    assert Week.parse("2024-W52").shift(1).label == "2025-W01"
    assert Week.parse("2025-W01").shift(-1).label == "2024-W52"
    assert Week.parse("2026-W53").first == date(2026, 12, 28)  # a 53-week year
    assert Week.of(date(2025, 1, 1)).label == "2025-W01"
    assert Week.of(date(2024, 12, 30)).label == "2025-W01"
    for bad in ("2025-W54", "2025-W00", "2025-10", "W10", "2025-w10", "2025-W1", ""):
        with pytest.raises(ScheduleError):
            Week.parse(bad)


def test_entry_validation() -> None:
    e = entry_input(
        day="2025-03-05",
        start="08:00:00",
        end="10:30",
        content="  Họp giao ban\r\nchuẩn bị báo cáo ",
        participants="Lãnh đạo Bộ",
    )
    assert (e.day, e.start_time, e.end_time) == (date(2025, 3, 5), "08:00", "10:30")
    assert e.content == "Họp giao ban\nchuẩn bị báo cáo"
    whole_day = entry_input(day="2025-03-06", content="Đi công tác Phú Yên")
    assert whole_day.start_time is None and whole_day.end_time is None
    cases = {
        "documents.schedule.bad_day": {"day": "05/03/2025"},
        "documents.schedule.bad_time": {"start": "8h"},
        "documents.schedule.end_before_start": {"start": "10:00", "end": "09:00"},
        "documents.schedule.end_without_start": {"end": "09:00"},
        "documents.schedule.no_content": {"content": "   "},
        "documents.schedule.too_long": {"host": "x" * 201},
    }
    for key, override in cases.items():
        args = {"day": "2025-03-05", "content": "Họp", **override}
        with pytest.raises(ScheduleError) as err:
            entry_input(**args)
        assert err.value.key == key


def test_who_may_edit() -> None:
    ministry = Agency(id=5, path="/1/5/", name="Bộ", short_name="B", kind="ministry")

    def role(name: str, agency_id: int | None) -> AdminRole:
        return AdminRole(mailbox_id=1, role=name, agency_id=agency_id)

    assert may_edit(ministry, [], {5})  # the clerk
    assert not may_edit(ministry, [], {6})  # another agency's clerk
    assert may_edit(ministry, [role("agency_admin", 5)], set())
    assert may_edit(ministry, [role("agency_admin", 1)], set())  # admin of a parent
    assert not may_edit(ministry, [role("agency_admin", 15)], set())  # "/15/" is not "/5/"
    assert not may_edit(ministry, [role("agency_admin", 7)], set())  # a sibling
    assert may_edit(ministry, [role("installation_admin", None)], set())
    assert not may_edit(ministry, [], set())


def test_the_feed_is_valid_icalendar() -> None:
    stamp = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)

    def entry(**kw: object) -> ScheduleEntry:
        base: dict[str, object] = {
            "agency_id": 1,
            "participants": "",
            "location": "",
            "host": "",
            "sequence": 0,
            "created_at": stamp,
            "updated_at": stamp,
            "created_by": "x",
        }
        return ScheduleEntry(**{**base, **kw})

    feed = build_feed(
        "Bộ Thông tin và Truyền thông",
        [
            entry(
                uid="a@lich",
                day=date(2025, 3, 5),
                start_time="08:00",
                end_time="10:00",
                content="Họp giao ban\nchi tiết",
                participants="Lãnh đạo Bộ",
                location="Phòng 301",
                host="Bộ trưởng",
                sequence=2,
            ),
            entry(
                uid="b@lich",
                day=date(2025, 3, 6),
                start_time=None,
                end_time=None,
                content="Đi công tác Phú Yên",
            ),
            entry(
                uid="c@lich",
                day=date(2025, 3, 7),
                start_time="14:00",
                end_time=None,
                content="Tiếp khách",
            ),
        ],
        timezone="Asia/Ho_Chi_Minh",
        calendar_name="Lịch công tác – Bộ Thông tin và Truyền thông",
        labels={"participants": "Thành phần", "host": "Chủ trì"},
    )
    cal = Calendar.from_ical(feed)
    assert str(cal["method"]) == "PUBLISH"
    assert str(cal["x-wr-calname"]) == "Lịch công tác – Bộ Thông tin và Truyền thông"
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    timed, all_day, open_ended = cal.walk("VEVENT")
    assert timed["dtstart"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert timed.decoded("dtstart") == datetime(2025, 3, 5, 1, 0, tzinfo=UTC)
    assert timed.decoded("dtend") == datetime(2025, 3, 5, 3, 0, tzinfo=UTC)
    assert str(timed["summary"]) == "Họp giao ban"
    description = str(timed["description"])
    assert "chi tiết" in description and "Thành phần: Lãnh đạo Bộ" in description
    assert "Chủ trì: Bộ trưởng" in description
    assert str(timed["location"]) == "Phòng 301" and int(timed["sequence"]) == 2
    assert all_day.decoded("dtstart") == date(2025, 3, 6)
    assert all_day.decoded("dtend") == date(2025, 3, 7)
    assert "dtend" not in open_ended


# -- through the web ------------------------------------------------------------------------


@pytest.fixture
async def site(db_settings: Settings) -> AsyncIterator[App]:
    app = await start_server(db_settings)
    async with app.directory.ops() as ops:
        lan = await ops.add_mailbox(full_name="Phạm Thị Lan", agency=G14)
        lan.password_hash = password_hash()
        await ops.add_handler("vanthu@mic.gov.vn", LAN, is_clerk=True)
        await ops.grant_role(TAM, "agency_admin", H45)
    try:
        yield app
    finally:
        await app.pipeline.wait_background()
        await app.stop()


async def client(app: App, who: str | None = None) -> WebClient:
    c = WebClient(app)
    if who is not None:
        r = await c.login(who)
        assert r.status_code == 200, r.text
    return c


def week_of(day: date) -> str:
    return Week.of(day).label


@sqlite_only
async def test_the_clerk_edits_and_everyone_reads(site: App) -> None:
    lan, anon = await client(site, LAN), await client(site)
    try:
        day = date(2025, 3, 5)
        r = await lan.get(f"/lich-cong-tac/{G14}/sua?week=2025-W10")
        assert r.status_code == 200 and "Thêm lịch" in r.text
        r = await lan.post_form(
            f"/lich-cong-tac/{G14}/sua",
            {
                "day": day.isoformat(),
                "start": "08:00",
                "end": "10:00",
                "content": "Họp giao ban <tuần>\nChuẩn bị báo cáo",
                "participants": "Lãnh đạo các Cục, Vụ",
                "location": "Phòng 301",
                "host": "Bộ trưởng",
            },
        )
        assert r.status_code == 303
        assert (
            r.headers["location"] == f"/lich-cong-tac/{G14}/sua?week=2025-W10&flash=schedule_saved"
        )
        r = await lan.post_form(
            f"/lich-cong-tac/{G14}/sua",
            {"day": "2025-03-07", "content": "Đi công tác tỉnh Phú Yên", "host": "Thứ trưởng"},
        )
        assert r.status_code == 303

        # The public page, for anyone, in Vietnamese and escaped.
        r = await anon.get(f"/lich-cong-tac/{G14}?week=2025-W10")
        assert r.status_code == 200
        page = r.text
        assert "Bộ Thông tin và Truyền thông" in page
        assert "Họp giao ban &lt;tuần&gt;<br>Chuẩn bị báo cáo" in page
        assert "08:00–10:00" in page and "Cả ngày" in page
        assert page.index("Thứ Tư, 05/03/2025") < page.index("Họp giao ban")
        assert page.index("Thứ Sáu, 07/03/2025") < page.index("Đi công tác tỉnh Phú Yên")
        assert "Sửa lịch công tác" not in page  # no edit link for visitors
        assert f"/lich-cong-tac/{G14}.ics" in page
        assert "?week=2025-W09" in page and "?week=2025-W11" in page
        r = await anon.get(f"/lich-cong-tac/{G14}?week=2025-W11")
        assert "Chưa có lịch công tác trong tuần này." in r.text
        r = await anon.get(f"/lich-cong-tac/{G14}?week=2025-W10&lang=en")
        assert "Wednesday, 05/03/2025" in r.text and "All day" in r.text
        r = await lan.get(f"/lich-cong-tac/{G14}?week=2025-W10")
        assert "Sửa lịch công tác" in r.text  # the clerk sees the edit link

        # The feed.
        r = await anon.get(f"/lich-cong-tac/{G14}.ics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/calendar")
        cal = Calendar.from_ical(r.content)
        events = sorted(cal.walk("VEVENT"), key=lambda e: str(e.decoded("dtstart")))
        # Entries far in the past are not in the feed (8 weeks back); these are.
        in_window = Week.of(datetime.now(UTC).date()).first - timedelta(weeks=8) <= day
        assert len(events) == (2 if in_window else 0)

        # Change an entry: its SEQUENCE goes up; then delete it.
        async with site.store.read() as tx:
            from govmail.store.repos.documents_extra import DocumentsExtraRepo

            repo = DocumentsExtraRepo(tx.session, site.store.dialect)
            agency = await tx.directory.agency_by_code(G14)
            assert agency is not None
            rows = await repo.schedule_entries(agency.id, date(2025, 3, 3), date(2025, 3, 9))
        meeting = next(e for e in rows if e.start_time == "08:00")
        r = await lan.get(f"/lich-cong-tac/{G14}/sua?week=2025-W10&entry={meeting.id}")
        assert 'value="Phòng 301"' in r.text and f"/sua/{meeting.id}" in r.text
        r = await lan.post_form(
            f"/lich-cong-tac/{G14}/sua/{meeting.id}",
            {
                "day": "2025-03-05",
                "start": "09:00",
                "end": "11:00",
                "content": "Họp giao ban",
                "location": "Phòng 302",
            },
        )
        assert r.status_code == 303
        r = await anon.get(f"/lich-cong-tac/{G14}?week=2025-W10")
        assert "09:00–11:00" in r.text and "Phòng 302" in r.text and "Phòng 301" not in r.text
        r = await lan.post_form(f"/lich-cong-tac/{G14}/sua/{meeting.id}/xoa", {})
        assert r.status_code == 303 and r.headers["location"].endswith("flash=schedule_deleted")
        r = await anon.get(f"/lich-cong-tac/{G14}?week=2025-W10")
        assert "Họp giao ban" not in r.text and "Đi công tác tỉnh Phú Yên" in r.text

        async with site.store.read() as tx:
            trail = await tx.audit.search(object_type="schedule_entry")
        assert [(a.action, a.actor, a.source) for a in reversed(trail)] == [
            ("schedule.add", LAN, "web"),
            ("schedule.add", LAN, "web"),
            ("schedule.update", LAN, "web"),
            ("schedule.delete", LAN, "web"),
        ]
        update = next(a for a in trail if a.action == "schedule.update")
        assert update.before is not None and update.after is not None
        assert (update.before["start_time"], update.after["start_time"]) == ("08:00", "09:00")
    finally:
        await lan.close()
        await anon.close()


@sqlite_only
async def test_the_feed_lists_upcoming_entries(site: App) -> None:
    lan, anon = await client(site, LAN), await client(site)
    try:
        soon = datetime.now(UTC).date() + timedelta(days=3)
        r = await lan.post_form(
            f"/lich-cong-tac/{G14}/sua",
            {"day": soon.isoformat(), "start": "14:00", "content": "Tiếp đoàn công tác"},
        )
        assert r.status_code == 303
        r = await anon.get(f"/lich-cong-tac/{G14}.ics")
        cal = Calendar.from_ical(r.content)
        [ev] = cal.walk("VEVENT")
        assert str(ev["summary"]) == "Tiếp đoàn công tác"
        assert ev.decoded("dtstart").date() == soon
        assert "Bộ Thông tin và Truyền thông" in str(cal["x-wr-calname"])
        # Another agency's feed is empty, an unknown agency is a 404.
        r = await anon.get(f"/lich-cong-tac/{H45}.ics")
        assert r.status_code == 200 and Calendar.from_ical(r.content).walk("VEVENT") == []
        r = await anon.get("/lich-cong-tac/000.00.00.X99.ics")
        assert r.status_code == 404
    finally:
        await lan.close()
        await anon.close()


@sqlite_only
async def test_only_the_agency_clerk_or_admin_may_edit(site: App) -> None:
    form = {"day": "2025-03-05", "content": "Họp"}
    hang, tam, anon = await client(site, HANG), await client(site, TAM), await client(site)
    duc = await client(site, DUC)
    try:
        # Hằng handles the agency mailbox but is not its clerk; Đức has no role.
        for person in (hang, duc):
            r = await person.get(f"/lich-cong-tac/{G14}/sua")
            assert r.status_code == 403
            r = await person.post_form(f"/lich-cong-tac/{G14}/sua", form)
            assert r.status_code == 403
        # Tám administers Phú Yên: its schedule yes, the Ministry's no.
        r = await tam.get(f"/lich-cong-tac/{G14}/sua")
        assert r.status_code == 403
        r = await tam.get(f"/lich-cong-tac/{H45}/sua")
        assert r.status_code == 200
        r = await tam.post_form(f"/lich-cong-tac/{H45}/sua", form)
        assert r.status_code == 303
        # Visitors are sent to the login page; a POST without a session does nothing.
        r = await anon.get(f"/lich-cong-tac/{G14}/sua")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        r = await anon.http.post(f"/lich-cong-tac/{G14}/sua", data=form)
        assert r.status_code in (401, 403)
        async with site.store.read() as tx:
            trail = await tx.audit.search(object_type="schedule_entry")
        assert [a.actor for a in trail] == [TAM]
        # An entry of Phú Yên cannot be changed through the Ministry's address.
        async with site.store.read() as tx:
            from govmail.store.repos.documents_extra import DocumentsExtraRepo

            agency = await tx.directory.agency_by_code(H45)
            assert agency is not None
            [row] = await DocumentsExtraRepo(tx.session, site.store.dialect).schedule_entries(
                agency.id, date(2025, 3, 3), date(2025, 3, 9)
            )
        lan = await client(site, LAN)
        try:
            r = await lan.post_form(f"/lich-cong-tac/{G14}/sua/{row.id}/xoa", {})
            assert r.status_code == 404
            r = await lan.post_form(f"/lich-cong-tac/{G14}/sua/{row.id}", form)
            assert r.status_code == 404
        finally:
            await lan.close()
    finally:
        for c in (hang, tam, anon, duc):
            await c.close()


@sqlite_only
async def test_bad_input_is_answered_in_the_page(site: App) -> None:
    lan, anon = await client(site, LAN), await client(site)
    try:
        r = await lan.post_form(
            f"/lich-cong-tac/{G14}/sua",
            {"day": "2025-03-05", "start": "10:00", "end": "09:00", "content": "Họp muộn"},
        )
        assert r.status_code == 400
        assert "Giờ kết thúc phải sau giờ bắt đầu." in r.text
        assert "Họp muộn" in r.text  # the form keeps what was typed
        r = await anon.get(f"/lich-cong-tac/{G14}?week=2025-W99")
        assert r.status_code == 400 and "2025-W99" in r.text
        r = await anon.get("/lich-cong-tac/000.00.00.X99")
        assert r.status_code == 404 and "000.00.00.X99" in r.text
        assert re.search(r"<h1>Lịch công tác tuần", (await anon.get(f"/lich-cong-tac/{G14}")).text)
    finally:
        await lan.close()
        await anon.close()


async def test_the_service_on_both_backends(store: object, db_settings: Settings) -> None:
    from govmail.directory.base import Actor
    from govmail.directory.service import Directory
    from govmail.store.db import Store

    assert isinstance(store, Store)
    d = Directory(store, db_settings)
    async with d.ops() as ops:
        await ops.add_domain("mic.gov.vn")
        agency = await ops.add_agency(
            name="Bộ Thông tin và Truyền thông",
            short_name="BTTTT",
            kind="ministry",
            code=G14,
            domain="mic.gov.vn",
        )
        await ops.add_mailbox(
            full_name="Văn thư Bộ", agency=G14, kind="agency", local_part="vanthu"
        )
        clerk = await ops.add_mailbox(full_name="Phạm Thị Lan", agency=G14)
        other = await ops.add_mailbox(full_name="Trần Văn Đức", agency=G14)
        await ops.add_handler("vanthu@mic.gov.vn", clerk.address, is_clerk=True)
    svc = WorkSchedules(store)
    actor = Actor(clerk.address, "web", None)
    assert await svc.can_edit(clerk, agency) and not await svc.can_edit(other, agency)
    for day, start, text in [
        ("2025-03-05", "14:00", "Chiều"),
        ("2025-03-05", "", "Cả ngày"),
        ("2025-03-05", "08:00", "Sáng"),
        ("2025-03-10", "08:00", "Tuần sau"),
    ]:
        await svc.add(
            agency, entry_input(day=day, start=start, content=text), editor=clerk, actor=actor
        )
    rows = await svc.week(agency, Week.parse("2025-W10"))
    assert [r.content for r in rows] == ["Cả ngày", "Sáng", "Chiều"]  # whole day first
    with pytest.raises(ScheduleError) as err:
        await svc.add(agency, entry_input(day="2025-03-05", content="x"), editor=other, actor=actor)
    assert err.value.key == "documents.schedule.forbidden"
    changed = await svc.update(
        agency,
        rows[0].id,
        entry_input(day="2025-03-06", content="Đổi ngày"),
        editor=clerk,
        actor=actor,
    )
    assert changed.sequence == 1 and changed.day == date(2025, 3, 6)
    feed = Calendar.from_ical(
        await svc.feed(
            agency,
            calendar_name="L",
            labels={"participants": "P", "host": "H"},
            now=datetime(2025, 3, 1, tzinfo=UTC),
        )
    )
    assert len(feed.walk("VEVENT")) == 4
