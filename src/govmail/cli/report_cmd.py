"""govmail report …: usage reports, exports, self-reported figures and report facts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from govmail.cli.output import console, emit, fail, ok
from govmail.cli.runtime import Runtime, cli_actor, run, state
from govmail.directory.errors import DirectoryError
from govmail.i18n import t
from govmail.reports import facts
from govmail.reports.headcounts import HeadcountResult, import_headcounts
from govmail.reports.indicators import INDICATORS
from govmail.reports.periods import Period, PeriodError, last_complete_quarter, parse_period
from govmail.reports.report import (
    ALL_INDICATORS,
    STEPS,
    Report,
    ReportError,
    build_report,
    find_agency_id,
)
from govmail.reports.selfreport import ImportIssue, ImportResult, import_figures, parse_group
from govmail.reports.tables import cell_text, note_text, source_text
from govmail.reports.tabular import TableFileError
from govmail.store.repos.reports import ReportsRepo

app = typer.Typer(
    help="Báo cáo tình hình sử dụng / usage reports, exports, self-reported figures.",
    no_args_is_help=True,
)
calendar_app = typer.Typer(help="Ngày làm việc / working-day corrections.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")

JSON = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
PERIOD = Annotated[
    str | None,
    typer.Option(
        "--period",
        "-p",
        help="2025, 2025-H1, 2025-Q3, 2025-07 or 2025-07-01..2025-09-30 "
        "(default: the last complete quarter)",
    ),
]
LANG = Annotated[str, typer.Option("--lang", help="vi or en")]
FORMATS = ("xlsx", "csv", "html", "pdf", "png", "svg")


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (ReportError, TableFileError, PeriodError, DirectoryError) as exc:
        fail(str(exc))
        raise typer.Exit(1) from None


def _period(text: str | None) -> Period:
    if text:
        return parse_period(text)
    today = datetime.now(ZoneInfo(state.settings.general.timezone)).date()
    return last_complete_quarter(today)


def _indicators(names: list[str] | None) -> list[str]:
    if not names:
        return list(ALL_INDICATORS)
    unknown = [n for n in names if n not in INDICATORS]
    if unknown:
        raise typer.BadParameter(", ".join(INDICATORS), param_hint="--indicator")
    return names


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )


def _make(
    agency: str | None,
    period: Period,
    lang: str,
    indicators: list[str],
    quiet: bool,
    extra_steps: int = 0,
    after: Callable[[Report, Callable[[str], None]], Any] | None = None,
) -> tuple[Report, Any]:
    async def go(rt: Runtime) -> tuple[Report, Any]:
        with _progress(quiet) as bar:
            task = bar.add_task(t("cli.report.computing"), total=len(STEPS) + extra_steps)

            def step(name: str) -> None:
                bar.update(task, advance=1, description=f"{t('cli.report.computing')} {name}")

            report = await build_report(
                rt.store,
                period,
                timezone=rt.settings.general.timezone,
                agency=agency,
                lang=lang,
                indicators=indicators,
                progress=step,
                settings=rt.settings,
            )
            out = after(report, step) if after else None
        return report, out

    return run(go)


def _print(report: Report, lang: str, full: bool) -> None:
    console.print(f"[bold]{report.title(lang)}[/bold]")
    for tb in report.tables:
        table = RichTable(title=tb.title(lang), title_justify="left", show_lines=False)
        table.add_column(t("reports.col.rank", lang), justify="right")
        table.add_column(t("reports.col.stt", lang), justify="right")
        table.add_column(tb.name_header(lang))
        table.add_column(tb.indicator.short(lang), justify="right")
        table.add_column(t("reports.col.source", lang))
        table.add_column(t("reports.col.note", lang), overflow="fold")
        for r in tb.rows:
            note = note_text(r.figure, lang)
            table.add_row(
                str(r.rank or ""),
                str(r.stt),
                r.subject.name,
                cell_text(r.figure, lang),
                source_text(r.figure, lang),
                note if full or len(note) < 80 else note[:77] + "…",
            )
        console.print(table)
        avg = format_average(tb, lang)
        console.print(f"  {avg}")
        if tb.total is not None:
            console.print(
                "  "
                + t(
                    "reports.total", lang, agency=report.scope_name, value=cell_text(tb.total, lang)
                )
            )
    if report.problems:
        console.print(f"[bold]{t('reports.problems.title', lang)}[/bold]")
        for line in report.problem_lines(lang):
            console.print(f"  • {line}")


def format_average(tb: Any, lang: str) -> str:
    from govmail.reports.tables import format_percent

    if tb.average is None:
        return t("reports.average_none", lang)
    return t("reports.average", lang, value=format_percent(tb.average), count=tb.average_n)


def _show(
    agency: str | None,
    period_text: str | None,
    lang: str,
    indicator: list[str] | None,
    as_json: bool,
    full: bool,
) -> None:
    with _errors():
        period = _period(period_text)
        report, _ = _make(agency, period, lang, _indicators(indicator), as_json)
    if as_json:
        from govmail.reports.exports import to_dict

        json.dump(to_dict(report, lang), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        _print(report, lang, full)


INDICATOR_OPT = Annotated[
    list[str] | None,
    typer.Option("--indicator", "-i", help="Only these indicators: " + ", ".join(INDICATORS)),
]
FULL = Annotated[bool, typer.Option("--full", help="Do not shorten the notes.")]


@app.command("national")
def national(
    period: PERIOD = None,
    lang: LANG = "vi",
    indicator: INDICATOR_OPT = None,
    as_json: JSON = False,
    full: FULL = False,
) -> None:
    """The national report: ministries and provinces ranked (Bảng 1–6 and more)."""
    _show(None, period, lang, indicator, as_json, full)


@app.command("agency")
def agency_(
    code: Annotated[str, typer.Argument(help="Agency code, id or exact name")],
    period: PERIOD = None,
    lang: LANG = "vi",
    indicator: INDICATOR_OPT = None,
    as_json: JSON = False,
    full: FULL = False,
) -> None:
    """One agency with its units: its own staff and each unit ranked."""
    _show(code, period, lang, indicator, as_json, full)


@app.command("export")
def export(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="File to write (a directory for png/svg)")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="xlsx, csv, html, pdf, png, svg (default: from --out)"),
    ] = None,
    agency: Annotated[
        str | None,
        typer.Option("--agency", "-a", help="One agency with its units (default: national)"),
    ] = None,
    period: PERIOD = None,
    lang: LANG = "vi",
    indicator: INDICATOR_OPT = None,
    table: Annotated[
        int | None, typer.Option("--table", help="CSV: only table N, in the report's shape")
    ] = None,
) -> None:
    """Write a report: XLSX (one sheet per table), CSV, printable HTML, PDF, or the charts."""
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise typer.BadParameter(", ".join(FORMATS), param_hint="--format")

    def write(report: Report, step: Callable[[str], None]) -> int:
        # matplotlib, Jinja2 and openpyxl are loaded only by the commands that draw or write.
        from govmail.reports.charts import report_charts
        from govmail.reports.exports import table_csv, to_csv, to_html, to_pdf, to_xlsx

        tz = state.settings.general.timezone
        if fmt == "xlsx":
            out.write_bytes(to_xlsx(report, lang, tz))
        elif fmt == "csv":
            if table is not None:
                chosen = [tb for tb in report.tables if tb.number == table]
                if not chosen:
                    raise ReportError("unknown_table", number=table)
                out.write_text(table_csv(chosen[0], lang), encoding="utf-8-sig")
            else:
                out.write_text(to_csv(report, lang), encoding="utf-8-sig")
        elif fmt == "html":
            out.write_text(to_html(report, lang, timezone=tz, progress=step), encoding="utf-8")
        elif fmt == "pdf":
            out.write_bytes(to_pdf(report, lang, timezone=tz, progress=step))
        else:
            out.mkdir(parents=True, exist_ok=True)
            for c in report_charts(report, lang):
                (out / f"{c.name}.{fmt}").write_bytes(c.render(fmt))  # type: ignore[arg-type]
                step(c.name)
        return 1

    with _errors():
        p = _period(period)
        inds = _indicators(indicator)
        charts = 0 if fmt in ("xlsx", "csv") else len(inds) * 3 + 7
        if fmt == "pdf":
            charts += len(inds) * 3
        _make(agency, p, lang, inds, False, charts, write)
    ok(t("cli.report.written", path=str(out)))


def _issues(issues: list[ImportIssue], lang: str, same_kind: int = 10) -> None:
    """Every error; warnings of one kind up to ``same_kind``, then their count."""
    shown: dict[str, int] = {}
    for i in issues:
        if i.severity == "warning":
            shown[i.key] = shown.get(i.key, 0) + 1
            if shown[i.key] > same_kind:
                continue
        colour = "red" if i.severity == "error" else "yellow"
        mark = "✗" if i.severity == "error" else "!"
        console.print(f"[{colour}]{mark}[/{colour}] {i.text(lang)}")
    for n in shown.values():
        if n > same_kind:
            more = t("cli.report.more_warnings", lang, count=n - same_kind)
            console.print(f"[yellow]![/yellow] {more}")


def _issue_json(i: ImportIssue) -> dict[str, Any]:
    return {
        "severity": i.severity,
        "key": i.key,
        "sheet": i.sheet,
        "row": i.row,
        "text": i.text(),
        **{k: v for k, v in i.params.items() if isinstance(v, str | int | float)},
    }


@app.command("import")
def import_(
    path: Path,
    period: Annotated[
        str, typer.Option("--period", "-p", help="The period the figures are for (2011, 2025-Q1…)")
    ],
    indicator: Annotated[
        str | None,
        typer.Option("--indicator", "-i", help="For a file whose value column is not recognised"),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option("--class", help="ministries or provinces, when the file does not say"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file only")] = False,
    lang: LANG = "vi",
    as_json: JSON = False,
) -> None:
    """Import figures self-reported by agencies (XLSX or CSV, e.g. the national report's tables)."""
    with _errors():
        p = parse_period(period)
        g = parse_group(group) if group else None
        if group and g is None:
            raise typer.BadParameter("ministries, provinces", param_hint="--class")
        if indicator and indicator not in INDICATORS:
            raise typer.BadParameter(", ".join(INDICATORS), param_hint="--indicator")

        async def go(rt: Runtime) -> ImportResult:
            return await import_figures(
                rt.store,
                path,
                p,
                indicator=indicator,
                group=g,
                dry_run=dry_run,
                actor=cli_actor().name,
            )

        result = run(go)
    if as_json:
        json.dump(
            {
                "applied": result.applied,
                "added": result.added,
                "replaced": result.replaced,
                "figures": [
                    {
                        "sheet": f.sheet,
                        "row": f.row,
                        "agency": f.agency_name,
                        "agency_id": f.agency_id,
                        "class": f.group,
                        "indicator": f.indicator,
                        "status": f.status,
                        "value": f.value,
                        "text": f.text,
                    }
                    for f in result.figures
                ],
                "issues": [_issue_json(i) for i in result.issues],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        _issues(result.issues, lang)
        ok(
            t(
                "cli.report.imported" if result.applied else "cli.report.checked",
                lang,
                figures=len(result.figures),
                added=result.added,
                replaced=result.replaced,
                errors=len(result.errors),
            )
        )
    if result.errors:
        raise typer.Exit(3)


@app.command("imported")
def imported(as_json: JSON = False) -> None:
    """Self-reported figures held, by period and indicator."""

    async def go(rt: Runtime) -> list[tuple[date, date, str, int]]:
        async with rt.store.read() as tx:
            return await ReportsRepo(tx.session, rt.store.dialect).self_figure_periods()

    rows = run(go)
    emit(
        (
            {"start": a.isoformat(), "end": b.isoformat(), "indicator": i, "figures": n}
            for a, b, i, n in rows
        ),
        [("start", "Từ"), ("end", "Đến"), ("indicator", "Chỉ tiêu"), ("figures", "Số liệu")],
        as_json=as_json,
    )


@app.command("forget")
def forget(
    period: Annotated[str, typer.Option("--period", "-p", help="The period of the figures")],
    indicator: Annotated[str | None, typer.Option("--indicator", "-i")] = None,
) -> None:
    """Delete self-reported figures of a period (one indicator or all)."""
    with _errors():
        p = parse_period(period)

        async def go(rt: Runtime) -> int:
            async with rt.store.write() as tx:
                n = await ReportsRepo(tx.session, rt.store.dialect).delete_self_figures(
                    p.start, p.end, indicator
                )
                await tx.audit.record(
                    actor=cli_actor().name,
                    action="report.forget",
                    object_type="report",
                    object_id=f"{p.label}:{indicator or '*'}",
                    after={"deleted": n},
                )
            return n

        n = run(go)
    ok(t("cli.report.forgotten", count=n))


@app.command("headcounts")
def headcounts(
    path: Path,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file only")] = False,
    lang: LANG = "vi",
) -> None:
    """Set staff headcounts (biên chế) from an HR table: agency code or name, headcount."""
    with _errors():

        async def go(rt: Runtime) -> HeadcountResult:
            return await import_headcounts(rt.directory, path, actor=cli_actor(), dry_run=dry_run)

        result = run(go)
    _issues(result.issues, lang)
    for name, old, new in result.changes:
        console.print(f"  {name}: {'—' if old is None else old} → {new}")
    ok(
        t(
            "cli.report.headcounts" if result.applied else "cli.report.headcounts_checked",
            lang,
            changed=len(result.changes),
            unchanged=result.unchanged,
            errors=len(result.errors),
        )
    )
    if result.errors:
        raise typer.Exit(3)


def _on_off(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("on", "yes", "true", "1", "co", "có"):
        return True
    if v in ("off", "no", "false", "0", "khong", "không"):
        return False
    if v in ("unknown", "?", "none"):
        return None
    raise typer.BadParameter("on, off or unknown", param_hint=name)


@app.command("regulation")
def regulation(
    agency: Annotated[str, typer.Argument(help="Agency code, id or exact name")],
    adopted: Annotated[
        bool, typer.Option("--adopted/--not-adopted", help="Has the agency adopted its quy chế?")
    ] = True,
    on: Annotated[
        str | None, typer.Option("--date", help="Date of the decision, YYYY-MM-DD or DD/MM/YYYY")
    ] = None,
    number: Annotated[
        str | None, typer.Option("--number", help="Number and symbol, e.g. 12/QĐ-UBND")
    ] = None,
) -> None:
    """Record an agency's regulation on the use of e-mail (quy chế)."""
    day = _date(on, "--date") if on else None

    async def go(rt: Runtime) -> None:
        aid = await find_agency_id(rt.store, agency)
        await facts.set_regulation(rt.store, cli_actor(), aid, adopted, day, number)

    with _errors():
        run(go)
    ok(t("cli.report.saved"))


@app.command("filtering")
def filtering(
    spam: Annotated[str | None, typer.Option("--spam", help="on, off or unknown")] = None,
    virus: Annotated[str | None, typer.Option("--virus", help="on, off or unknown")] = None,
    agency: Annotated[
        str | None,
        typer.Option(
            "--agency",
            "-a",
            help="An agency with a mail system of its own (default: this installation)",
        ),
    ] = None,
) -> None:
    """Declare whether mail is filtered for spam and viruses (this installation, or an agency)."""
    s, v = _on_off(spam, "--spam"), _on_off(virus, "--virus")

    async def go(rt: Runtime) -> None:
        if agency:
            aid = await find_agency_id(rt.store, agency)
            await facts.set_agency_filtering(rt.store, cli_actor(), aid, s, v)
        else:
            await facts.set_installation_filtering(rt.store, cli_actor(), s, v)

    with _errors():
        run(go)
    ok(t("cli.report.saved"))


@app.command("rule")
def rule(
    min_days: Annotated[
        int | None, typer.Option("--min-days", help="Active on at least this many days…")
    ] = None,
    window: Annotated[
        int | None, typer.Option("--window", help="…of the last this many working days")
    ] = None,
    as_json: JSON = False,
) -> None:
    """Show or set the regular-use rule (default: 10 of the last 20 working days)."""

    async def go(rt: Runtime) -> tuple[int, int]:
        current = (await facts.current_settings(rt.store)).rule
        if min_days is None and window is None:
            return current.min_days, current.window
        r = await facts.set_rule(
            rt.store, cli_actor(), min_days or current.min_days, window or current.window
        )
        return r.min_days, r.window

    with _errors():
        m, w = run(go)
    if as_json:
        json.dump({"min_days": m, "window": w}, sys.stdout)
        sys.stdout.write("\n")
    else:
        console.print(t("cli.report.rule", min_days=m, window=w))


def _date(text: str, name: str) -> date:
    text = text.strip()
    try:
        if "/" in text:
            d, m, y = (int(x) for x in text.split("/"))
            return date(y, m, d)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD or DD/MM/YYYY", param_hint=name) from None


@calendar_app.command("list")
def calendar_list(
    year: Annotated[int | None, typer.Option("--year", help="Default: this year")] = None,
    as_json: JSON = False,
) -> None:
    """Days off of a year (default Vietnamese holidays) and the declared corrections."""
    y = year or date.today().year

    async def go(rt: Runtime) -> list[facts.CalendarDay]:
        return await facts.calendar_days(rt.store, y)

    days = run(go)
    emit(
        (
            {
                "day": c.day.isoformat(),
                "weekday": c.day.strftime("%a"),
                "working": c.working,
                "note": c.note,
                "declared": c.declared,
            }
            for c in days
        ),
        [
            ("day", "Ngày"),
            ("weekday", ""),
            ("working", "Làm việc"),
            ("note", "Ghi chú"),
            ("declared", "Khai báo"),
        ],
        as_json=as_json,
    )


@calendar_app.command("add")
def calendar_add(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD or DD/MM/YYYY")],
    working: Annotated[
        bool, typer.Option("--working/--off", help="A working day (làm bù) or a day off")
    ] = False,
    note: Annotated[str, typer.Option("--note", help="Why, e.g. the decision's number")] = "",
) -> None:
    """Declare a day off or a working day that the default calendar does not know."""
    d = _date(day, "DAY")

    async def go(rt: Runtime) -> None:
        await facts.set_calendar_day(rt.store, cli_actor(), d, working, note)

    run(go)
    ok(t("cli.report.saved"))


@calendar_app.command("remove")
def calendar_remove(day: Annotated[str, typer.Argument(help="YYYY-MM-DD or DD/MM/YYYY")]) -> None:
    """Remove a declared correction (the default rules apply again to that day)."""
    d = _date(day, "DAY")

    async def go(rt: Runtime) -> bool:
        return await facts.remove_calendar_day(rt.store, cli_actor(), d)

    if not run(go):
        fail(t("cli.report.no_such_day", day=d.isoformat()))
        raise typer.Exit(1)
    ok(t("cli.report.saved"))
