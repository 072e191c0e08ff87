"""Charts in the style of the national report's figures (Hình 1–10): for each indicator,
the average of the ministries beside the average of the provinces; for each table, the
agencies ranked in horizontal bars; and the daily activity over the period.

Drawn with matplotlib's object API (no pyplot, no global state: safe in a server) on the
Agg canvas, in DejaVu Sans, which matplotlib ships and which has every Vietnamese glyph.
SVG keeps the text as text (``svg.fonttype = none``), so titles stay searchable and
selectable; PNG is rendered at 110 dpi.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from matplotlib import rc_context
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure as MplFigure

from govmail.i18n import t
from govmail.reports.indicators import INDICATORS
from govmail.reports.report import Report
from govmail.reports.tables import Table, cell_text, format_percent

Format = Literal["png", "svg", "pdf"]
FONT = "DejaVu Sans"
RC: dict[str, Any] = {
    "font.family": FONT,
    "font.size": 9,
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
COLOURS = {
    "computed": "#1f5fa8",
    "self_reported": "#e08a1e",
    "ministries": "#1f5fa8",
    "provinces": "#c0392b",
    "units": "#1f5fa8",
    "other": "#7f8c8d",
}
_WRAP = 70


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart of a report: ``name`` is its file name stem (``fig1``, ``rank-3``…)."""

    name: str
    title: str
    draw: Callable[[], MplFigure]

    def render(self, fmt: Format = "png") -> bytes:
        with rc_context(cast(Any, RC)):
            fig = self.draw()
            buf = io.BytesIO()
            metadata = {"Date": None} if fmt == "svg" else None
            fig.savefig(buf, format=fmt, dpi=110, metadata=metadata, bbox_inches="tight")
        return buf.getvalue()


def _wrap(text: str, width: int = _WRAP) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return "\n".join(lines)


def class_chart(report: Report, indicator: str, number: int, lang: str) -> Chart:
    """Hình-style: the average of each class of agencies for one indicator."""
    ind = INDICATORS[indicator]
    title = t("reports.chart.figure", lang, number=number, title=ind.title(lang))

    def draw() -> MplFigure:
        groups = report.averages.get(indicator, {})
        labels, values, colours, counts = [], [], [], []
        for group, (mean, n) in groups.items():
            labels.append(_wrap(t(f"reports.group.{group}.short", lang), 22))
            values.append(mean if mean is not None else 0.0)
            colours.append(COLOURS.get(group, "#7f8c8d"))
            counts.append((mean, n))
        fig = MplFigure(figsize=(6.4, 3.6))
        ax = fig.add_subplot()
        bars = ax.bar(labels, values, color=colours, width=0.5)
        for bar, (mean, n) in zip(bars, counts, strict=True):
            label = (
                f"{format_percent(mean)}\n(n = {n})"
                if mean is not None
                else t("reports.cell.not_reported", lang)
            )
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                xytext=(0, 3),
                textcoords="offset points",
            )
        ax.set_ylim(0, 115)
        ax.set_ylabel(t("reports.chart.percent", lang))
        ax.set_title(_wrap(title, 60), fontsize=10, fontweight="bold")
        return fig

    return Chart(f"fig{number}", title, draw)


def ranking_chart(table: Table, lang: str) -> Chart:
    """The agencies of one table in horizontal bars, highest at the top."""
    title = table.title(lang)

    def draw() -> MplFigure:
        rows = [r for r in table.rows if r.figure.numeric]
        others = [r for r in table.rows if not r.figure.numeric]
        height = max(2.6, 0.24 * len(rows) + 1.6)
        fig = MplFigure(figsize=(7.6, height))
        ax = fig.add_subplot()
        names = [_wrap(r.subject.name, 48) for r in rows]
        values = [r.figure.value or 0.0 for r in rows]
        colours = [COLOURS[r.figure.status] for r in rows]
        positions = list(range(len(rows)))[::-1]
        ax.barh(positions, values, color=colours, height=0.7)
        ax.set_yticks(positions, names, fontsize=7.5)
        for y, r in zip(positions, rows, strict=True):
            ax.text(
                (r.figure.value or 0.0) + 1, y, cell_text(r.figure, lang), va="center", fontsize=7
            )
        ax.set_xlim(0, 112)
        ax.set_xlabel(t("reports.chart.percent", lang))
        ax.set_title(_wrap(title), fontsize=10, fontweight="bold", loc="left")
        notes = []
        if any(r.figure.status == "self_reported" for r in rows):
            notes.append(t("reports.chart.legend_self", lang))
        if others:
            notes.append(
                t("reports.chart.without_value", lang, count=len(others))
                + ": "
                + ", ".join(r.subject.name for r in others[:12])
                + ("…" if len(others) > 12 else "")
            )
        if not rows:
            ax.set_yticks([])
            ax.text(0.5, 0.5, t("reports.chart.no_data", lang), ha="center", transform=ax.transAxes)
        if notes:
            ax.annotate(
                _wrap(" ".join(notes), 110),
                xy=(0, 0),
                xycoords="axes fraction",
                xytext=(-40, -34),
                textcoords="offset points",
                fontsize=7,
                va="top",
            )
        return fig

    return Chart(f"rank-{table.number}", title, draw)


def daily_chart(report: Report, lang: str) -> Chart:
    title = t("reports.chart.daily", lang, period=report.period.title(lang))

    def draw() -> MplFigure:
        days = sorted(report.daily)
        fig = MplFigure(figsize=(7.6, 3.4))
        ax = fig.add_subplot()
        active = [report.daily[d].get("active_mailboxes", 0) for d in days]
        sent = [report.daily[d].get("sent", 0) for d in days]
        x = cast(Any, days)  # matplotlib takes dates; its stubs say numbers
        ax.plot(x, active, color=COLOURS["ministries"], label=t("reports.chart.active", lang))
        ax.plot(x, sent, color=COLOURS["provinces"], label=t("reports.chart.sent", lang))
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        ax.xaxis.set_major_formatter(DateFormatter("%d/%m"))
        ax.set_ylim(bottom=0)
        ax.set_title(_wrap(title), fontsize=10, fontweight="bold", loc="left")
        fig.autofmt_xdate()
        if not days:
            ax.text(0.5, 0.5, t("reports.chart.no_data", lang), ha="center", transform=ax.transAxes)
        return fig

    return Chart("daily", title, draw)


def report_charts(report: Report, lang: str | None = None) -> list[Chart]:
    """Every chart of a report: one per indicator (class averages; for a national report),
    one ranking per table, and the daily activity."""
    lang = lang or report.lang
    charts: list[Chart] = []
    if report.national:
        seen: list[str] = []
        for table in report.tables:
            if table.indicator.key not in seen:
                seen.append(table.indicator.key)
        for n, key in enumerate(seen, start=1):
            charts.append(class_chart(report, key, n, lang))
    charts.extend(ranking_chart(tb, lang) for tb in report.tables)
    charts.append(daily_chart(report, lang))
    return charts


def chart_by_name(report: Report, name: str, lang: str | None = None) -> Chart | None:
    for c in report_charts(report, lang):
        if c.name == name:
            return c
    return None
