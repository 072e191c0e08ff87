"""Agencies' weekly work schedules (lịch công tác tuần) on the web.

| route | who | what |
|---|---|---|
| ``GET /lich-cong-tac/<code>?week=YYYY-Www`` | anyone | the week's schedule (default: this week) |
| ``GET /lich-cong-tac/<code>.ics`` | anyone | iCalendar feed for calendar subscriptions |
| ``GET /lich-cong-tac/<code>/sua?week=&entry=`` | clerk / admin | the week with edit forms |
| ``POST /lich-cong-tac/<code>/sua`` | clerk / admin | add an entry |
| ``POST /lich-cong-tac/<code>/sua/<id>`` | clerk / admin | change an entry |
| ``POST /lich-cong-tac/<code>/sua/<id>/xoa`` | clerk / admin | delete an entry |

``<code>`` is the agency's code (mã định danh, e.g. ``000.00.00.G14``). "Clerk / admin":
a clerk handler of the agency's mailbox, an agency_admin of it or of a parent agency, an
installation_admin (``documents.schedule.may_edit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.responses import Response

from govmail.documents.schedule import (
    EntryInput,
    ScheduleError,
    Week,
    WorkSchedules,
    entry_input,
)
from govmail.store.models import Agency
from govmail.store.models_documents_extra import ScheduleEntry
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
FORM_FIELDS = ("day", "start", "end", "content", "participants", "location", "host")


def _service(w: WebRequest) -> WorkSchedules:
    svc = w.state.extras.get("work_schedules")
    if not isinstance(svc, WorkSchedules):
        svc = WorkSchedules(w.core.store, w.core.settings.general.timezone)
        w.state.extras["work_schedules"] = svc
    return svc


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    time: str
    lines: list[str]
    participants: str
    location: str
    host: str


@dataclass(frozen=True, slots=True)
class DayRows:
    label: str
    iso: str
    entries: list[EntryRow]


def _day_label(w: WebRequest, day: date) -> str:
    return f"{w.t(f'documents.weekday.{day.isoweekday()}')}, {day:%d/%m/%Y}"


def _row(w: WebRequest, e: ScheduleEntry) -> EntryRow:
    if e.start_time and e.end_time:
        when = f"{e.start_time}–{e.end_time}"
    else:
        when = e.start_time or w.t("web.schedule.all_day")
    return EntryRow(e.id, when, e.content.split("\n"), e.participants, e.location, e.host)


def _days(w: WebRequest, week: Week, entries: list[ScheduleEntry]) -> list[DayRows]:
    return [
        DayRows(
            _day_label(w, day),
            day.isoformat(),
            [_row(w, e) for e in entries if e.day == day],
        )
        for day in week.days
    ]


def _week(w: WebRequest, svc: WorkSchedules) -> Week:
    text = w.query("week")
    return Week.parse(text) if text else Week.of(svc.today())


async def _agency(w: WebRequest, svc: WorkSchedules) -> Agency | None:
    return await svc.agency(str(w.params["code"]))


def _context(
    w: WebRequest, agency: Agency, week: Week, entries: list[ScheduleEntry]
) -> dict[str, Any]:
    return {
        "agency": agency,
        "week": week,
        "week_text": w.t(
            "web.schedule.week",
            number=week.number,
            year=week.year,
            first=f"{week.first:%d/%m/%Y}",
            last=f"{week.last:%d/%m/%Y}",
        ),
        "prev_week": week.shift(-1).label,
        "next_week": week.shift(1).label,
        "days": _days(w, week, entries),
        "empty": not entries,
        "base": f"/lich-cong-tac/{agency.code}",
        "feed_url": str(w.request.base_url).rstrip("/") + f"/lich-cong-tac/{agency.code}.ics",
    }


@router.get("/lich-cong-tac/{code}.ics", auth=False)
async def feed(w: WebRequest) -> Response:
    svc = _service(w)
    agency = await _agency(w, svc)
    if agency is None or not agency.code:
        return w.error(404, "web.schedule.no_agency", code=w.params["code"])
    body = await svc.feed(
        agency,
        calendar_name=w.t("web.schedule.calendar_name", agency=agency.name),
        labels={
            "participants": w.t("web.schedule.col_participants"),
            "host": w.t("web.schedule.col_host"),
        },
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "cache-control": "public, max-age=300",
            "content-disposition": f'inline; filename="lich-cong-tac-{agency.code}.ics"',
        },
    )


@router.get("/lich-cong-tac/{code}", auth=False)
async def week_page(w: WebRequest) -> Response:
    svc = _service(w)
    agency = await _agency(w, svc)
    if agency is None or not agency.code:
        return w.error(404, "web.schedule.no_agency", code=w.params["code"])
    try:
        week = _week(w, svc)
    except ScheduleError as exc:
        return w.error(400, exc.key, **exc.params)
    entries = await svc.week(agency, week)
    ctx = _context(w, agency, week, entries)
    ctx["can_edit"] = await svc.can_edit(w.verified_user, agency)
    return w.render("schedule/week.html", ctx)


def _form_values(w: WebRequest) -> dict[str, str]:
    return {k: w.form_str(k) for k in FORM_FIELDS}


def _entry_values(e: ScheduleEntry) -> dict[str, str]:
    return {
        "day": e.day.isoformat(),
        "start": e.start_time or "",
        "end": e.end_time or "",
        "content": e.content,
        "participants": e.participants,
        "location": e.location,
        "host": e.host,
    }


async def _editor_page(
    w: WebRequest,
    svc: WorkSchedules,
    agency: Agency,
    week: Week,
    *,
    editing: int | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    entries = await svc.week(agency, week)
    ctx = _context(w, agency, week, entries)
    if values is None:
        values = {k: "" for k in FORM_FIELDS}
        values["day"] = max(week.first, min(svc.today(), week.last)).isoformat()
        if editing is not None:
            found = next((e for e in entries if e.id == editing), None)
            if found is None:
                try:
                    found = await svc.entry(agency, editing)
                except ScheduleError:
                    found = None
            if found is None:
                editing = None
            else:
                values = _entry_values(found)
    ctx.update({"editing": editing, "values": values, "error": error})
    return w.render("schedule/edit.html", ctx, status=status)


async def _editable(w: WebRequest) -> tuple[WorkSchedules, Agency] | Response:
    svc = _service(w)
    agency = await _agency(w, svc)
    if agency is None or not agency.code:
        return w.error(404, "web.schedule.no_agency", code=w.params["code"])
    if not await svc.can_edit(w.verified_user, agency):
        return w.error(403, "web.schedule.forbidden")
    return svc, agency


@router.get("/lich-cong-tac/{code}/sua")
async def edit_page(w: WebRequest) -> Response:
    found = await _editable(w)
    if isinstance(found, Response):
        return found
    svc, agency = found
    try:
        week = _week(w, svc)
    except ScheduleError as exc:
        return w.error(400, exc.key, **exc.params)
    entry_id = w.query_int("entry", 0, 0)
    return await _editor_page(w, svc, agency, week, editing=entry_id or None)


def _parse_form(w: WebRequest) -> EntryInput:
    return entry_input(**{k: w.form_str(k) for k in FORM_FIELDS})


async def _save(w: WebRequest, entry_id: int | None) -> Response:
    found = await _editable(w)
    if isinstance(found, Response):
        return found
    svc, agency = found
    assert w.verified_user is not None
    try:
        data = _parse_form(w)
        if entry_id is None:
            await svc.add(agency, data, editor=w.verified_user, actor=w.actor())
        else:
            await svc.update(agency, entry_id, data, editor=w.verified_user, actor=w.actor())
    except ScheduleError as exc:
        try:
            week = Week.of(date.fromisoformat(w.form_str("day")))
        except ValueError:
            week = Week.of(svc.today())
        return await _editor_page(
            w,
            svc,
            agency,
            week,
            editing=entry_id,
            values=_form_values(w),
            error=w.t(exc.key, **exc.params),
            status=404 if exc.key == "documents.schedule.not_found" else 400,
        )
    return w.redirect(
        f"/lich-cong-tac/{agency.code}/sua?week={Week.of(data.day).label}", flash="schedule_saved"
    )


@router.post("/lich-cong-tac/{code}/sua")
async def add_entry(w: WebRequest) -> Response:
    return await _save(w, None)


@router.post("/lich-cong-tac/{code}/sua/{entry_id:int}")
async def update_entry(w: WebRequest) -> Response:
    return await _save(w, int(w.params["entry_id"]))


@router.post("/lich-cong-tac/{code}/sua/{entry_id:int}/xoa")
async def delete_entry(w: WebRequest) -> Response:
    found = await _editable(w)
    if isinstance(found, Response):
        return found
    svc, agency = found
    assert w.verified_user is not None
    try:
        row = await svc.delete(
            agency, int(w.params["entry_id"]), editor=w.verified_user, actor=w.actor()
        )
    except ScheduleError as exc:
        return w.error(404, exc.key, **exc.params)
    return w.redirect(
        f"/lich-cong-tac/{agency.code}/sua?week={Week.of(row.day).label}", flash="schedule_deleted"
    )
