"""A report written out: XLSX (one sheet per table, then averages, activity, breakdowns,
problems and definitions), CSV (every table in one long list, or one table in the shape of
the national report), a printable HTML page with the charts inline as SVG, and PDF.

PDF is drawn by matplotlib (its PDF backend, fonts embedded as TrueType): the same charts
as the HTML, and the tables as text pages. No browser or extra package is needed; the
HTML page is the one to print when a nicer layout matters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from govmail.i18n import t
from govmail.reports.charts import RC, Chart, report_charts
from govmail.reports.indicators import INDICATORS, Figure
from govmail.reports.report import Report
from govmail.reports.tables import Table, cell_text, format_percent, note_text, source_text

TEMPLATES = Path(__file__).with_name("templates")
ACTIVITY_COLUMNS = (
    "headcount",
    "mailboxes",
    "regular_users",
    "logins",
    "logins_imap",
    "logins_pop3",
    "logins_web",
    "logins_smtp",
    "logins_api",
    "failed_logins",
    "sent",
    "received",
    "active_mailboxes",
    "docs_electronic",
    "docs_paper",
    "docs_both",
    "arrivals",
    "arrivals_registered",
    "arrivals_on_time",
    "spam",
    "virus",
    "refused",
)
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _rule_line(report: Report, lang: str) -> str:
    w = report.window
    return t(
        "reports.rule",
        lang,
        min_days=report.rule.min_days,
        window=report.rule.window,
        first=w[0].strftime("%d/%m/%Y") if w else "—",
        last=w[-1].strftime("%d/%m/%Y") if w else "—",
    )


def _generated(report: Report, lang: str, timezone: str) -> str:
    at = report.generated_at.astimezone(ZoneInfo(timezone)).strftime("%d/%m/%Y %H:%M")
    return t("reports.generated", lang, at=at)


def table_header(table: Table, lang: str) -> list[str]:
    return [
        t("reports.col.rank", lang),
        t("reports.col.stt", lang),
        table.name_header(lang),
        t("reports.col.code", lang),
        table.indicator.column(lang),
        t("reports.col.source", lang),
        t("reports.col.note", lang),
    ]


def _average_line(table: Table, lang: str) -> str:
    if table.average is None:
        return t("reports.average_none", lang)
    return t("reports.average", lang, value=format_percent(table.average), count=table.average_n)


def _definition(indicator: str, report: Report, lang: str) -> tuple[str, str, str, str]:
    ind = INDICATORS[indicator]
    params = {"min_days": report.rule.min_days, "window": report.rule.window}
    vi = lang == "vi"
    return (
        ind.title(lang),
        (ind.numerator_vi if vi else ind.numerator_en).format(**params),
        (ind.denominator_vi if vi else ind.denominator_en).format(**params),
        (ind.period_vi if vi else ind.period_en).format(**params),
    )


def _indicators_of(report: Report) -> list[str]:
    out: list[str] = []
    for tb in report.tables:
        if tb.indicator.key not in out:
            out.append(tb.indicator.key)
    return out


# --------------------------------------------------------------------------- XLSX


def to_xlsx(report: Report, lang: str | None = None, timezone: str = "Asia/Ho_Chi_Minh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    lang = lang or report.lang
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE6F0")
    used: set[str] = set()

    def sheet(title: str):  # type: ignore[no-untyped-def]
        name = title.translate(_BAD_SHEET_CHARS).strip()[:31] or "Sheet"
        base, n = name, 2
        while name in used:
            suffix = f" ({n})"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        used.add(name)
        return wb.create_sheet(name)

    def header(ws, row: int, values: list[str]) -> None:  # type: ignore[no-untyped-def]
        for col, v in enumerate(values, start=1):
            c = ws.cell(row=row, column=col, value=v)
            c.font = bold
            c.fill = head_fill
            c.alignment = Alignment(wrap_text=True, vertical="top")

    for table in report.tables:
        ws = sheet(t("reports.col.table", lang) + f" {table.number}")
        ws.cell(row=1, column=1, value=table.title(lang)).font = Font(bold=True, size=12)
        ws.cell(row=2, column=1, value=t(f"reports.group.{table.group}.section", lang))
        header(ws, 3, table_header(table, lang))
        r = 4
        for row in table.rows:
            fig = row.figure
            ws.cell(row=r, column=1, value=row.rank)
            ws.cell(row=r, column=2, value=row.stt)
            ws.cell(row=r, column=3, value=row.subject.name)
            ws.cell(row=r, column=4, value=row.subject.code)
            if fig.numeric:
                c = ws.cell(row=r, column=5, value=round((fig.value or 0.0) / 100.0, 4))
                c.number_format = "0.0%"
            else:
                ws.cell(row=r, column=5, value=cell_text(fig, lang))
            ws.cell(row=r, column=6, value=source_text(fig, lang))
            ws.cell(row=r, column=7, value=note_text(fig, lang) or None)
            r += 1
        r += 1  # the table ends at the empty row: what follows is a footnote
        ws.cell(row=r, column=3, value=_average_line(table, lang)).font = bold
        if table.total is not None:
            r += 1
            ws.cell(
                row=r,
                column=3,
                value=t(
                    "reports.total",
                    lang,
                    agency=report.scope_name or "",
                    value=cell_text(table.total, lang),
                ),
            )
        for col, width in zip("ABCDEFG", (9, 6, 48, 16, 22, 14, 60), strict=True):
            ws.column_dimensions[col].width = width
        ws.freeze_panes = "A4"

    ws = sheet(t("reports.sheet.averages", lang))
    header(
        ws,
        1,
        [
            t("reports.col.indicator", lang),
            t("reports.col.group", lang),
            t("reports.col.average", lang),
            t("reports.col.count", lang),
        ],
    )
    r = 2
    for ind, groups in report.averages.items():
        for group, (mean, n) in groups.items():
            ws.cell(row=r, column=1, value=INDICATORS[ind].title(lang))
            # The short class names ("Tỉnh, TP"): a row here must not look like a header
            # ("Tỉnh, thành phố …") to ``report import``, which skips this sheet.
            ws.cell(row=r, column=2, value=t(f"reports.group.{group}.tiny", lang))
            ws.cell(row=r, column=3, value=round(mean, 1) if mean is not None else None)
            ws.cell(row=r, column=4, value=n)
            r += 1
    ws.column_dimensions["A"].width = 70
    ws.column_dimensions["B"].width = 40

    for group, rows in report.activity.items():
        ws = sheet(t("reports.sheet.activity", lang, group=t(f"reports.group.{group}.tiny", lang)))
        header(
            ws,
            1,
            [
                t(f"reports.group.{group}.header", lang),
                t("reports.col.code", lang),
                *[t(f"reports.activity.{c}", lang) for c in ACTIVITY_COLUMNS],
            ],
        )
        for i, arow in enumerate(rows, start=2):
            ws.cell(row=i, column=1, value=arow.subject.name)
            ws.cell(row=i, column=2, value=arow.subject.code)
            for j, c in enumerate(ACTIVITY_COLUMNS, start=3):
                ws.cell(row=i, column=j, value=arow.values.get(c))
        ws.column_dimensions["A"].width = 48
        for j in range(3, 3 + len(ACTIVITY_COLUMNS)):
            ws.column_dimensions[get_column_letter(j)].width = 12

    ws = sheet(t("reports.sheet.daily", lang))
    day_columns = (
        "active_mailboxes",
        "sent",
        "received",
        "logins_imap",
        "logins_pop3",
        "logins_web",
    )
    header(
        ws,
        1,
        [t("reports.daily.day", lang), *[t(f"reports.activity.{c}", lang) for c in day_columns]],
    )
    for i, (d, values) in enumerate(sorted(report.daily.items()), start=2):
        ws.cell(row=i, column=1, value=d).number_format = "dd/mm/yyyy"
        for j, c in enumerate(day_columns, start=2):
            ws.cell(row=i, column=j, value=values.get(c, 0))

    ws = sheet(t("reports.sheet.breakdown", lang))
    header(
        ws,
        1,
        [
            t("reports.breakdown.type", lang),
            t("reports.breakdown.channel", lang),
            t("reports.breakdown.count", lang),
        ],
    )
    for i, (kind, channel, n) in enumerate(report.documents_by_type, start=2):
        ws.cell(row=i, column=1, value=kind)
        ws.cell(row=i, column=2, value=_channel(channel, lang))
        ws.cell(row=i, column=3, value=n)
    r = len(report.documents_by_type) + 3
    header(ws, r, [t("reports.breakdown.check", lang), "", t("reports.breakdown.count", lang)])
    for i, (check, n) in enumerate(report.refusals_by_check, start=r + 1):
        ws.cell(row=i, column=1, value=check)
        ws.cell(row=i, column=3, value=n)

    ws = sheet(t("reports.sheet.problems", lang))
    ws.cell(row=1, column=1, value=report.title(lang)).font = Font(bold=True, size=12)
    ws.cell(row=2, column=1, value=_rule_line(report, lang))
    ws.cell(row=3, column=1, value=_generated(report, lang, timezone))
    lines = report.problem_lines(lang) or [t("reports.problems.none", lang)]
    for i, line in enumerate(lines, start=5):
        ws.cell(row=i, column=1, value=line)
    ws.column_dimensions["A"].width = 140

    ws = sheet(t("reports.sheet.definitions", lang))
    header(
        ws,
        1,
        [
            t("reports.col.indicator", lang),
            t("reports.definitions.numerator", lang),
            t("reports.definitions.denominator", lang),
            t("reports.definitions.period", lang),
        ],
    )
    for i, ind in enumerate(_indicators_of(report), start=2):
        for j, v in enumerate(_definition(ind, report, lang), start=1):
            ws.cell(row=i, column=j, value=v).alignment = Alignment(wrap_text=True, vertical="top")
    for col, width in zip("ABCD", (50, 60, 45, 30), strict=True):
        ws.column_dimensions[col].width = width

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _channel(channel: str, lang: str) -> str:
    return (
        t(f"reports.channel.{channel}", lang)
        if channel in ("electronic", "paper", "both")
        else channel
    )


# --------------------------------------------------------------------------- CSV


def to_csv(report: Report, lang: str | None = None) -> str:
    """Every table as one list: table, indicator, group, rank, serial, agency, code, value
    (a number, percent), status, source, notes."""
    lang = lang or report.lang
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(
        [
            t("reports.col.table", lang),
            t("reports.col.indicator", lang),
            t("reports.col.group", lang),
            t("reports.col.rank", lang),
            t("reports.col.stt", lang),
            t("reports.group.units.header", lang),
            t("reports.col.code", lang),
            t("reports.col.value", lang),
            t("reports.col.status", lang),
            t("reports.col.source", lang),
            t("reports.col.note", lang),
        ]
    )
    for table in report.tables:
        for row in table.rows:
            fig = row.figure
            w.writerow(
                [
                    table.number,
                    table.indicator.key,
                    table.group,
                    row.rank or "",
                    row.stt,
                    row.subject.name,
                    row.subject.code or "",
                    f"{fig.value:.2f}" if fig.numeric and fig.value is not None else "",
                    _status(fig, lang),
                    source_text(fig, lang),
                    note_text(fig, lang),
                ]
            )
    return out.getvalue()


def table_csv(table: Table, lang: str) -> str:
    """One table in the shape of the national report (STT, agency, value as shown), which
    ``govmail report import`` reads back."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([t("reports.col.stt", lang), table.name_header(lang), table.indicator.column(lang)])
    for row in table.rows:
        w.writerow([row.stt, row.subject.name, cell_text(row.figure, lang)])
    return out.getvalue()


def _status(fig: Figure, lang: str) -> str:
    return t(f"reports.status.{fig.status}", lang)


# --------------------------------------------------------------------------- HTML


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["t"] = t
    env.globals["format_percent"] = format_percent
    env.globals["cell_text"] = cell_text
    env.globals["source_text"] = source_text
    env.globals["note_text"] = note_text
    return env


def _svg_inline(svg: bytes) -> Markup:
    """Our own matplotlib SVG, without its XML prologue and DOCTYPE, for inlining."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    return Markup(text[start:] if start >= 0 else text)  # generated by matplotlib


def to_html(
    report: Report,
    lang: str | None = None,
    *,
    timezone: str = "Asia/Ho_Chi_Minh",
    charts: bool = True,
    progress: Callable[[str], None] | None = None,
) -> str:
    lang = lang or report.lang
    rendered: list[tuple[Chart, Markup]] = []
    if charts:
        for c in report_charts(report, lang):
            rendered.append((c, _svg_inline(c.render("svg"))))
            if progress:
                progress(c.name)
    by_table = {c.name: svg for c, svg in rendered}
    class_charts = [(c, svg) for c, svg in rendered if c.name.startswith("fig")]
    daily = by_table.get("daily")
    return (
        _env()
        .get_template("report.html")
        .render(
            report=report,
            lang=lang,
            title=report.title(lang),
            rule_line=_rule_line(report, lang),
            generated=_generated(report, lang, timezone),
            class_charts=class_charts,
            rank_charts=by_table,
            daily_chart=daily,
            definitions=[_definition(i, report, lang) for i in _indicators_of(report)],
            activity_columns=ACTIVITY_COLUMNS,
            average_line=lambda tb: _average_line(tb, lang),
            channel=lambda c: _channel(c, lang),
            status=lambda f: _status(f, lang),
            table_header=lambda tb: table_header(tb, lang),
        )
    )


# --------------------------------------------------------------------------- PDF


def to_pdf(
    report: Report,
    lang: str | None = None,
    *,
    timezone: str = "Asia/Ho_Chi_Minh",
    progress: Callable[[str], None] | None = None,
) -> bytes:
    from matplotlib import rc_context
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure as MplFigure

    lang = lang or report.lang
    buf = io.BytesIO()
    a4 = (8.27, 11.69)
    with (
        rc_context(cast(Any, RC)),
        PdfPages(buf, metadata={"Title": report.title(lang), "Creator": "govmail"}) as pdf,
    ):
        page = MplFigure(figsize=a4)
        y = _text_block(page, 0.93, report.title(lang), size=14, bold=True, width=70)
        y = _text_block(page, y - 0.02, _rule_line(report, lang), size=9, width=100)
        y = _text_block(page, y - 0.01, _generated(report, lang, timezone), size=9, width=100)
        y -= 0.03
        y = _text_block(page, y, t("reports.problems.title", lang), size=11, bold=True)
        lines = report.problem_lines(lang) or [t("reports.problems.none", lang)]
        for line in lines[:40]:
            y = _text_block(page, y - 0.004, "• " + line, size=8, width=115)
            if y < 0.06:
                break
        if len(lines) > 40:
            _text_block(page, y - 0.004, f"… (+{len(lines) - 40})", size=8)
        pdf.savefig(page)

        for table in report.tables:
            for chunk_start in range(0, max(1, len(table.rows)), 48):
                page = MplFigure(figsize=a4)
                _table_page(page, table, lang, chunk_start, chunk_start + 48)
                pdf.savefig(page)
            if progress:
                progress(f"table-{table.number}")
        for c in report_charts(report, lang):
            pdf.savefig(c.draw(), bbox_inches="tight")
            if progress:
                progress(c.name)
    return buf.getvalue()


def _text_block(
    page: object, y: float, text: str, *, size: float = 9, bold: bool = False, width: int = 90
) -> float:
    from govmail.reports.charts import _wrap

    wrapped = _wrap(text, width)
    n = wrapped.count("\n") + 1
    page.text(  # type: ignore[attr-defined]
        0.07, y, wrapped, fontsize=size, fontweight="bold" if bold else "normal", va="top"
    )
    return y - n * size * 1.45 / 72 / 11.69


def _table_page(page: object, table: Table, lang: str, start: int, end: int) -> None:
    y = _text_block(page, 0.95, table.title(lang), size=11, bold=True, width=80)
    y -= 0.012
    cols = (0.06, 0.15, 0.20, 0.63, 0.80)
    heads = [
        t("reports.col.rank", lang),
        t("reports.col.stt", lang),
        table.name_header(lang),
        table.indicator.short(lang),
        t("reports.col.source", lang),
    ]
    for x, h in zip(cols, heads, strict=True):
        page.text(x, y, _clip(h, 52), fontsize=7.5, fontweight="bold", va="top")  # type: ignore[attr-defined]
    y -= 0.02
    for row in table.rows[start:end]:
        values = [
            str(row.rank or ""),
            str(row.stt),
            _clip(row.subject.name, 62),
            cell_text(row.figure, lang),
            source_text(row.figure, lang),
        ]
        for x, v in zip(cols, values, strict=True):
            page.text(x, y, _clip(v, 62), fontsize=7.5, va="top")  # type: ignore[attr-defined]
        y -= 0.0165
    if end >= len(table.rows):
        _text_block(page, y - 0.01, _average_line(table, lang), size=8, bold=True, width=110)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def write_export(
    report: Report, path: Path, fmt: str, lang: str | None = None, **kw: object
) -> None:
    """Write ``report`` to ``path`` as xlsx, csv, html or pdf."""
    if fmt == "xlsx":
        path.write_bytes(to_xlsx(report, lang, **kw))  # type: ignore[arg-type]
    elif fmt == "csv":
        path.write_text(to_csv(report, lang), encoding="utf-8-sig")
    elif fmt == "html":
        path.write_text(to_html(report, lang, **kw), encoding="utf-8")  # type: ignore[arg-type]
    elif fmt == "pdf":
        path.write_bytes(to_pdf(report, lang, **kw))  # type: ignore[arg-type]
    else:
        raise ValueError(f"unknown export format {fmt!r}")


# --------------------------------------------------------------------------- JSON


def to_dict(report: Report, lang: str | None = None) -> dict[str, object]:
    """The report as JSON-friendly data (the API and ``--json``)."""
    lang = lang or report.lang

    def figure(fig: Figure) -> dict[str, object]:
        return {
            "status": fig.status,
            "value": round(fig.value, 4) if fig.value is not None else None,
            "numerator": fig.numerator,
            "denominator": fig.denominator,
            "text": cell_text(fig, lang),
            "note": fig.note,
            "source": fig.source,
            "problems": [p.text(lang) for p in fig.problems],
        }

    return {
        "title": report.title(lang),
        "period": {
            "label": report.period.label,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
        },
        "scope": {"name": report.scope_name, "code": report.scope_code},
        "rule": {
            "min_days": report.rule.min_days,
            "window": report.rule.window,
            "days": [d.isoformat() for d in report.window],
        },
        "tables": [
            {
                "number": tb.number,
                "key": tb.key,
                "indicator": tb.indicator.key,
                "group": tb.group,
                "title": tb.title(lang),
                "average": round(tb.average, 4) if tb.average is not None else None,
                "average_n": tb.average_n,
                "total": figure(tb.total) if tb.total is not None else None,
                "rows": [
                    {
                        "rank": r.rank,
                        "stt": r.stt,
                        "agency": r.subject.name,
                        "code": r.subject.code,
                        "agency_id": r.subject.agency_id,
                        **figure(r.figure),
                    }
                    for r in tb.rows
                ],
            }
            for tb in report.tables
        ],
        "activity": {
            group: [{"agency": a.subject.name, "code": a.subject.code, **a.values} for a in rows]
            for group, rows in report.activity.items()
        },
        "daily": [{"day": d.isoformat(), **v} for d, v in sorted(report.daily.items())],
        "documents_by_type": [
            {"type": k, "channel": c, "count": n} for k, c, n in report.documents_by_type
        ],
        "refusals_by_check": [{"check": c, "count": n} for c, n in report.refusals_by_check],
        "problems": [
            {"key": p.key, "severity": p.severity, "text": p.text(lang)} for p in report.problems
        ],
        "generated_at": report.generated_at.isoformat(),
    }
