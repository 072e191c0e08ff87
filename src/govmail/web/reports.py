"""Usage reports in the browser (/admin/reports) and over the API (/api/v1/reports).

An installation administrator sees the national report and any agency's; an agency
administrator sees the agencies of its subtree (others: 403, audited). Charts are served
as SVG (or PNG) from the report just computed, which is kept a minute per period, scope
and language so that the page's dozen charts do not compute it a dozen times.
API: a token with ``directory:read`` reads reports (a token bound to an agency: that
agency's subtree only); ``directory:write`` without an agency imports self-reported
figures.
"""

from __future__ import annotations

import tempfile
import time
import urllib.parse
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from govmail.reports import facts
from govmail.reports.indicators import INDICATORS
from govmail.reports.periods import (
    Period,
    PeriodError,
    current_quarter,
    last_complete_quarter,
    parse_period,
    quarter,
)
from govmail.reports.report import Report, ReportError, build_report
from govmail.reports.selfreport import import_figures, parse_group
from govmail.reports.tables import cell_text, note_text, source_text
from govmail.reports.tabular import TableFileError
from govmail.store.models import Agency
from govmail.web.admin.common import ADMIN_ROLES, nav_items, refuse, scope
from govmail.web.admin.scope import OutOfScope, Scope
from govmail.web.api.base import ApiRequest, ApiRouter, ok
from govmail.web.api.problems import ApiProblem
from govmail.web.routing import WebRequest, WebRouter

router = WebRouter()
api = ApiRouter()
CACHE_SECONDS = 60.0
CACHE_ENTRIES = 16
EXPORTS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
CHART_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# The chart is our own drawing; its <style> element needs inline styles, nothing else.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'"
UPLOAD_TYPES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


def _today(core: Any) -> date:
    return datetime.now(ZoneInfo(core.settings.general.timezone)).date()


def period_choices(today: date) -> list[str]:
    """Suggestions for the period field: recent quarters, this year and the last."""
    out: list[str] = []
    q = current_quarter(today)
    y, n = q.start.year, (q.start.month - 1) // 3 + 1
    for _ in range(8):
        out.append(quarter(y, n).label)
        y, n = (y - 1, 4) if n == 1 else (y, n - 1)
    out.extend([str(today.year), str(today.year - 1)])
    return out


async def _agency(core: Any, code: str) -> Agency | None:
    async with core.store.read() as tx:
        repo = tx.directory
        a = await repo.agency_by_code(code.strip().upper())
        if a is None and code.strip().isdigit():
            a = await repo.agency_by_id(int(code.strip()))
    return a


async def _cached_report(
    state_extras: dict[str, Any], core: Any, period: Period, agency_id: int | None, lang: str
) -> Report:
    cache: dict[tuple[str, int | None, str], tuple[float, Report]] = state_extras.setdefault(
        "reports_cache", {}
    )
    key = (period.label, agency_id, lang)
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    report = await build_report(
        core.store,
        period,
        timezone=core.settings.general.timezone,
        agency=agency_id,
        lang=lang,
        settings=core.settings,
    )
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[key] = (now, report)
    return report


def _forget_reports(state_extras: dict[str, Any]) -> None:
    state_extras.pop("reports_cache", None)


# --------------------------------------------------------------------------- the page


class _Target:
    def __init__(self, period: Period, agency: Agency | None, error: str | None) -> None:
        self.period = period
        self.agency = agency
        self.error = error

    def query(self, **extra: str) -> str:
        params = {"period": self.period.label, **extra}
        if self.agency is not None:
            params["agency"] = self.agency.code or str(self.agency.id)
        return urllib.parse.urlencode(params)


async def _target(w: WebRequest, sc: Scope) -> _Target | Response:
    error = None
    try:
        period = parse_period(w.query("period")) if w.query("period") else None
    except PeriodError as exc:
        period, error = None, str(exc)
    period = period or last_complete_quarter(_today(w.core))
    code = w.query("agency").strip()
    agency = None
    if code:
        agency = await _agency(w.core, code)
        if agency is None:
            return w.error(404, "web.reports.no_agency")
    elif not sc.everything:
        agency = sc.roots[0] if sc.roots else None
        if agency is None:
            return await refuse(w, OutOfScope("report.view", "report", "national"))
    if agency is not None and not sc.covers(agency):
        return await refuse(w, OutOfScope("report.view", "agency", agency.code or str(agency.id)))
    return _Target(period, agency, error)


async def _render(w: WebRequest, template: str, ctx: dict[str, Any], status: int = 200) -> Response:
    sc = await scope(w)
    nav = nav_items(w, sc)
    base = {"nav": nav, "everything": sc.everything, "roots": sc.roots, "error": None}
    return w.render(template, {**base, **ctx}, status=status)


@router.get("/admin/reports", roles=ADMIN_ROLES)
async def reports_page(w: WebRequest) -> Response:
    sc = await scope(w)
    target = await _target(w, sc)
    if isinstance(target, Response):
        return target
    try:
        report = await _cached_report(
            w.state.extras,
            w.core,
            target.period,
            target.agency.id if target.agency else None,
            w.lang,
        )
    except ReportError as exc:
        return w.error(400, "web.reports.failed", detail=str(exc))
    from govmail.reports.charts import report_charts

    charts = [(c.name, c.title) for c in report_charts(report, w.lang)]
    units = []
    if target.agency is not None or sc.everything:
        async with w.core.store.read() as tx:
            root = target.agency
            kids = await tx.directory.children(root.id if root else None)
        units = [a for a in kids if a.active]
    return await _render(
        w,
        "reports/index.html",
        {
            "report": report,
            "target": target,
            "charts": charts,
            "units": units,
            "periods": period_choices(_today(w.core)),
            "exports": list(EXPORTS),
            "cell_text": cell_text,
            "note_text": note_text,
            "source_text": source_text,
            "parent": await _parent_link(w, sc, target.period, target.agency),
            "period_error": target.error,
        },
    )


async def _parent_link(
    w: WebRequest, sc: Scope, period: Period, agency: Agency | None
) -> dict[str, str] | None:
    """The report one level up (the parent agency's, or the national one), if visible."""
    if agency is None:
        return None
    query = {"period": period.label}
    if agency.parent_id is None:
        if not sc.everything:
            return None
        return {
            "url": "/admin/reports?" + urllib.parse.urlencode(query),
            "name": w.t("web.reports.national"),
        }
    async with w.core.store.read() as tx:
        parent = await tx.directory.agency_by_id(agency.parent_id)
    if parent is None or not sc.covers(parent):
        return None
    query["agency"] = parent.code or str(parent.id)
    return {"url": "/admin/reports?" + urllib.parse.urlencode(query), "name": parent.name}


@router.get("/admin/reports/chart/{name}", roles=ADMIN_ROLES)
async def chart(w: WebRequest) -> Response:
    name, _, fmt = str(w.params["name"]).rpartition(".")
    if fmt not in CHART_TYPES:
        return w.error(404, "web.error.not_found")
    sc = await scope(w)
    target = await _target(w, sc)
    if isinstance(target, Response):
        return target
    report = await _cached_report(
        w.state.extras, w.core, target.period, target.agency.id if target.agency else None, w.lang
    )
    from govmail.reports.charts import chart_by_name

    c = chart_by_name(report, name, w.lang)
    if c is None:
        return w.error(404, "web.error.not_found")
    body = c.render(fmt)  # type: ignore[arg-type]
    return Response(
        body,
        media_type=CHART_TYPES[fmt],
        headers={"content-security-policy": CHART_CSP, "cache-control": "private, max-age=60"},
    )


def _filename(report: Report, fmt: str) -> str:
    scope_part = report.scope_code or ("quoc-gia" if report.national else "co-quan")
    return f"bao-cao-{scope_part}-{report.period.label}.{fmt}"


def export_response(report: Report, fmt: str, lang: str, timezone: str) -> Response:
    from govmail.reports.exports import to_csv, to_html, to_pdf, to_xlsx

    body: bytes
    if fmt == "xlsx":
        body = to_xlsx(report, lang, timezone)
    elif fmt == "csv":
        body = ("\ufeff" + to_csv(report, lang)).encode("utf-8")
    elif fmt == "html":
        body = to_html(report, lang, timezone=timezone).encode("utf-8")
    else:
        body = to_pdf(report, lang, timezone=timezone)
    headers = {"content-disposition": f'attachment; filename="{_filename(report, fmt)}"'}
    if fmt == "html":  # a document of its own: inline SVG charts and a <style> element
        headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return Response(body, media_type=EXPORTS[fmt], headers=headers)


@router.get("/admin/reports/export/{fmt}", roles=ADMIN_ROLES)
async def export(w: WebRequest) -> Response:
    fmt = str(w.params["fmt"])
    if fmt not in EXPORTS:
        return w.error(404, "web.error.not_found")
    sc = await scope(w)
    target = await _target(w, sc)
    if isinstance(target, Response):
        return target
    report = await _cached_report(
        w.state.extras, w.core, target.period, target.agency.id if target.agency else None, w.lang
    )
    return export_response(report, fmt, w.lang, w.core.settings.general.timezone)


# --------------------------------------------------------------------------- import


@router.get("/admin/reports/import", roles=ADMIN_ROLES)
async def import_form(w: WebRequest) -> Response:
    sc = await scope(w)
    if not sc.everything:
        return await refuse(w, OutOfScope("report.import", "report", "self-reported"))
    ctx = {
        "result": None,
        "failure": None,
        "indicators": INDICATORS,
        "periods": period_choices(_today(w.core)),
    }
    return await _render(w, "reports/import.html", ctx)


@router.post("/admin/reports/import", roles=ADMIN_ROLES)
async def import_post(w: WebRequest) -> Response:
    sc = await scope(w)
    if not sc.everything:
        return await refuse(w, OutOfScope("report.import", "report", "self-reported"))
    ctx: dict[str, Any] = {
        "result": None,
        "failure": None,
        "indicators": INDICATORS,
        "periods": period_choices(_today(w.core)),
    }
    files = w.form_files("file")
    indicator = w.form_str("indicator") or None
    group_text = w.form_str("class")
    try:
        period = parse_period(w.form_str("period"))
        if not files:
            raise ReportError("no_file")
        if indicator is not None and indicator not in INDICATORS:
            raise ReportError("unknown_indicator", indicator=indicator, known=", ".join(INDICATORS))
        group = parse_group(group_text) if group_text else None
        upload = files[0]
        suffix = Path(upload.filename or "").suffix.lower()
        data = await upload.read()
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"upload{suffix}"
            path.write_bytes(data)
            result = await import_figures(
                w.core.store,
                path,
                period,
                indicator=indicator,
                group=group,
                dry_run=w.form_str("mode") != "apply",
                actor=w.actor().name,
                source_name=Path(upload.filename or "upload").name,
                audit_source="web",
                remote_addr=w.client_ip,
            )
    except (ReportError, PeriodError, TableFileError) as exc:
        return await _render(w, "reports/import.html", {**ctx, "failure": str(exc)}, status=400)
    if result.applied:
        _forget_reports(w.state.extras)
    ctx.update(result=result, filename=files[0].filename, period=period)
    return await _render(w, "reports/import.html", ctx)


# --------------------------------------------------------------------------- settings


@router.get("/admin/reports/settings", roles=ADMIN_ROLES)
async def settings_page(w: WebRequest) -> Response:
    return await _settings_page(w)


async def _settings_page(w: WebRequest, failure: str | None = None, status: int = 200) -> Response:
    sc = await scope(w)
    if not sc.everything:
        return await refuse(w, OutOfScope("report.settings", "report", "settings"))
    current = await facts.current_settings(w.core.store)
    year = w.query_int("year", _today(w.core).year, 2000, 2100)
    days = await facts.calendar_days(w.core.store, year)
    return await _render(
        w,
        "reports/settings.html",
        {"current": current, "days": days, "year": year, "failure": failure},
        status=status,
    )


def _tri(value: str) -> bool | None:
    return {"on": True, "off": False}.get(value)


@router.post("/admin/reports/settings", roles=ADMIN_ROLES)
async def settings_post(w: WebRequest) -> Response:
    sc = await scope(w)
    if not sc.everything:
        return await refuse(w, OutOfScope("report.settings", "report", "settings"))
    try:
        min_days, window = int(w.form_str("min_days")), int(w.form_str("window"))
        await facts.set_rule(w.core.store, w.actor(), min_days, window)
    except ValueError:
        return await _settings_page(w, failure=w.t("web.reports.bad_number"), status=400)
    except ReportError as exc:
        return await _settings_page(w, failure=str(exc), status=400)
    await facts.set_installation_filtering(
        w.core.store, w.actor(), _tri(w.form_str("spam")), _tri(w.form_str("virus"))
    )
    _forget_reports(w.state.extras)
    return w.redirect("/admin/reports/settings", flash="reports_saved")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@router.post("/admin/reports/calendar", roles=ADMIN_ROLES)
async def calendar_post(w: WebRequest) -> Response:
    sc = await scope(w)
    if not sc.everything:
        return await refuse(w, OutOfScope("report.calendar", "report", "calendar"))
    day = _day(w.form_str("day"))
    if day is None:
        return await _settings_page(w, failure=w.t("web.reports.bad_day"), status=400)
    if w.form_str("action") == "remove":
        await facts.remove_calendar_day(w.core.store, w.actor(), day)
    else:
        working = w.form_str("working") == "1"
        await facts.set_calendar_day(w.core.store, w.actor(), day, working, w.form_str("note"))
    _forget_reports(w.state.extras)
    return w.redirect(f"/admin/reports/settings?year={day.year}", flash="reports_saved")


# --------------------------------------------------------------------------- API


async def _api_target(a: ApiRequest) -> tuple[Period, int | None]:
    try:
        period = parse_period(a.query("period")) if a.query("period") else None
    except PeriodError as exc:
        raise ApiProblem(400, "bad_parameter", detail=str(exc)) from None
    period = period or last_complete_quarter(_today(a.core))
    code = a.query("agency").strip()
    if not code:
        a.scope.require_everything("report.view", "report", "national")
        return period, None
    agency = await _agency(a.core, code)
    if agency is None:
        raise ApiProblem(
            404, "not_found", detail=ReportError("unknown_agency", agency=code).message(a.lang)
        )
    a.scope.require(agency, "report.view")
    return period, agency.id


@api.get("/reports", needs="directory:read")
async def api_report(a: ApiRequest) -> Response:
    """?period=2025-Q1&agency=CODE&format=json|xlsx|csv|html|pdf&indicator=…"""
    period, agency_id = await _api_target(a)
    fmt = a.query("format", "json")
    if fmt != "json" and fmt not in EXPORTS:
        raise ApiProblem(400, "bad_parameter", name="format")
    indicators = a.request.query_params.getlist("indicator") or list(INDICATORS)
    try:
        report = await build_report(
            a.core.store,
            period,
            timezone=a.core.settings.general.timezone,
            agency=agency_id,
            lang=a.lang,
            indicators=indicators,
            settings=a.core.settings,
        )
    except ReportError as exc:
        raise ApiProblem(400, "bad_parameter", detail=exc.message(a.lang)) from None
    if fmt != "json":
        return export_response(report, fmt, a.lang, a.core.settings.general.timezone)
    from govmail.reports.exports import to_dict

    return ok(to_dict(report, a.lang))


@api.post("/reports/self-reported", needs="directory:write")
async def api_import(a: ApiRequest) -> Response:
    """The body is the CSV or XLSX file; ?period=2011&indicator=&class=&dry_run=1"""
    a.scope.require_everything("report.import", "report", "self-reported")
    ctype = a.request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = UPLOAD_TYPES.get(ctype)
    if suffix is None:
        raise ApiProblem(415, "bad_parameter", detail=", ".join(UPLOAD_TYPES))
    try:
        period = parse_period(a.query("period"))
    except PeriodError as exc:
        raise ApiProblem(400, "bad_parameter", detail=str(exc)) from None
    indicator = a.query("indicator") or None
    if indicator is not None and indicator not in INDICATORS:
        raise ApiProblem(400, "bad_parameter", name="indicator")
    group = parse_group(a.query("class")) if a.query("class") else None
    body = await a.request.body()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"upload{suffix}"
        path.write_bytes(body)
        try:
            result = await import_figures(
                a.core.store,
                path,
                period,
                indicator=indicator,
                group=group,
                dry_run=a.query("dry_run") in ("1", "true", "yes"),
                actor=a.actor().name,
                source_name=a.query("name") or f"api{suffix}",
                audit_source="api",
                remote_addr=a.client_ip,
            )
        except TableFileError as exc:
            raise ApiProblem(400, "bad_parameter", detail=str(exc)) from None
    if result.applied:
        _forget_reports(a.state.extras)
    return ok(
        {
            "applied": result.applied,
            "added": result.added,
            "replaced": result.replaced,
            "figures": len(result.figures),
            "issues": [
                {
                    "severity": i.severity,
                    "key": i.key,
                    "sheet": i.sheet,
                    "row": i.row,
                    "text": i.text(a.lang),
                }
                for i in result.issues
            ],
        },
        status=200 if not result.errors else 422,
    )


router.routes.extend(api.routes)


def _openapi_paths() -> dict[str, Any]:
    """The OpenAPI description of these routes, to merge into ``web.api.openapi.PATHS``."""
    from govmail.web.api.openapi import STR, json_body, op, query

    period = query("period", STR, "2025, 2025-H1, 2025-Q3, 2025-07 or 2025-07-01..2025-09-30")
    upload = op(
        "Import self-reported figures",
        "directory:write",
        json_body({"type": "object"}, "The figures found and the problems, row by row"),
        tag="reports",
        params=[
            {**period, "required": True},
            query("indicator", STR, "For a file whose value column is not recognised"),
            query("class", STR, "ministries or provinces"),
            query("dry_run", STR, "1: check only"),
            query("name", STR, "The file's name, as recorded"),
        ],
    )
    upload["requestBody"] = {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in UPLOAD_TYPES},
    }
    return {
        "/reports": {
            "get": op(
                "Get a usage report",
                "directory:read",
                json_body({"type": "object"}, "The report (or the file asked for with format)"),
                tag="reports",
                params=[
                    period,
                    query("agency", STR, "Agency code or id (default: the national report)"),
                    query("format", STR, "json (default), xlsx, csv, html or pdf"),
                    query("indicator", STR, "Only this indicator (repeatable)"),
                ],
            )
        },
        "/reports/self-reported": {"post": upload},
    }


OPENAPI_PATHS = _openapi_paths()
