"""Ranked tables in the shape of the national report's appendix (Bảng 1–6): one row per
agency with its rank, its value, and "Chưa báo cáo" for agencies without data.

Order: agencies with a number, highest first; then those that reported a phrase instead
of a number; then figures that could not be computed; then agencies that did not report.
Equal values share a rank (1, 1, 1, 4 …; compared as shown, to one decimal) while the
serial number (STT) counts on; among equal values the order of the imported file is kept,
else the alphabetical order of the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from govmail.directory.names import ascii_fold
from govmail.i18n import t
from govmail.reports.indicators import Figure, Indicator

GROUP_KINDS: dict[str, tuple[str, ...]] = {
    "ministries": ("ministry", "government_agency"),
    "provinces": ("province",),
}


def group_of_kind(kind: str) -> str:
    for group, kinds in GROUP_KINDS.items():
        if kind in kinds:
            return group
    return "other"


@dataclass(frozen=True, slots=True)
class Subject:
    """What a row is about: an agency with its units, an agency on its own, or an agency
    known only by the name written in a self-reported file."""

    key: str  # "a:<agency id>", "own:<agency id>" or "n:<folded name>"
    name: str
    group: str  # ministries | provinces | other | units
    agency_id: int | None = None
    code: str | None = None
    order: int | None = None  # position in an imported file, to keep its order among ties
    ids: tuple[int, ...] = ()  # the agencies counted


@dataclass(slots=True)
class Row:
    stt: int
    rank: int | None
    subject: Subject
    figure: Figure


@dataclass(slots=True)
class Table:
    number: int
    indicator: Indicator
    group: str
    rows: list[Row]
    average: float | None = None
    average_n: int = 0
    total: Figure | None = None  # the whole scope, for agency reports
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.indicator.key}.{self.group}"

    def title(self, lang: str) -> str:
        return t("reports.table.title", lang, number=self.number, title=self.indicator.title(lang))

    def name_header(self, lang: str) -> str:
        return t(f"reports.group.{self.group}.header", lang)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.figure.status] = out.get(r.figure.status, 0) + 1
        return out


def format_percent(value: float) -> str:
    """As in the national report: "100%", "91.6%" (one decimal at most, a point)."""
    v = round(value, 1)
    return f"{v:.0f}%" if v == int(v) else f"{v:.1f}%"


def cell_text(fig: Figure, lang: str) -> str:
    if fig.numeric:
        return format_percent(fig.value or 0.0)
    if fig.status == "qualitative":
        return fig.text or ""
    if fig.status == "not_computed":
        return t("reports.cell.not_computed", lang)
    return t("reports.cell.not_reported", lang)


def source_text(fig: Figure, lang: str) -> str:
    if fig.status == "computed":
        return t("reports.source.computed", lang)
    if fig.status in ("self_reported", "qualitative") or fig.source:
        return t("reports.source.self_reported", lang)
    return ""


def note_text(fig: Figure, lang: str) -> str:
    parts: list[str] = []
    if fig.status == "computed" and fig.numerator is not None:
        parts.append(f"{fig.numerator}/{fig.denominator}")
    if fig.note:
        parts.append(fig.note)
    parts.extend(p.text(lang) for p in fig.problems)
    return "; ".join(parts)


_BUCKET = {"computed": 0, "self_reported": 0, "qualitative": 1, "not_computed": 2}


def _sort_key(subject: Subject, fig: Figure) -> tuple[int, float, int, str]:
    bucket = 0 if fig.numeric else _BUCKET.get(fig.status, 3)
    value = -round(fig.value or 0.0, 1) if fig.numeric else 0.0
    order = subject.order if subject.order is not None else 1 << 30
    return (bucket, value, order, ascii_fold(subject.name))


def rank_rows(items: Sequence[tuple[Subject, Figure]]) -> list[Row]:
    ordered = sorted(items, key=lambda sf: _sort_key(*sf))
    rows: list[Row] = []
    rank = 0
    previous: float | None = None
    for i, (subject, fig) in enumerate(ordered, start=1):
        if fig.numeric:
            shown = round(fig.value or 0.0, 1)
            if shown != previous:
                rank, previous = i, shown
            rows.append(Row(i, rank, subject, fig))
        else:
            rows.append(Row(i, None, subject, fig))
    return rows


def make_table(
    number: int, indicator: Indicator, group: str, items: Sequence[tuple[Subject, Figure]]
) -> Table:
    rows = rank_rows(items)
    values = [r.figure.value for r in rows if r.figure.numeric and r.figure.value is not None]
    average = sum(values) / len(values) if values else None
    return Table(number, indicator, group, rows, average, len(values))
