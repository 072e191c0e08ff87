"""Figures self-reported by agencies that are not on govmail (or not yet), imported from
XLSX or CSV tables such as the national report's appendix, and kept for one period.

A table has a header row (title rows above it are skipped) naming its columns:

- the agency: "Tên …", "Cơ quan", "Tỉnh, thành phố …", "agency" (required);
- optionally its code ("Mã", "Mã định danh", "code"), its class ("Loại": Bộ / Tỉnh),
  a note ("Ghi chú"), the rank or serial number ("STT", "Xếp hạng": ignored);
- one or more indicator columns, recognised by their heading ("Tỷ lệ CBCC được cung cấp
  hộp thư…" is ``mailbox_share``) or by the indicator's id; with a single unrecognised
  value column, the indicator given on the command line.

The table ends at its first empty row. Values are percentages: "91.6%", "91,6", 91.6,
or an XLSX cell formatted as a percentage (0.916). Yes/no indicators also take
"Có"/"Không". A few phrases of the national report are kept as they are, ranked after
the numbers ("Chưa có hệ thống thư điện tử", "Còn hạn chế", "Rất thấp"); "Chưa báo cáo"
marks an agency that did not report. Anything else in a value cell, a percentage above
100 %, a negative one, an agency named twice, an unknown code: the row is reported
(sheet, row, agency, what is wrong) and not imported.

Agencies are matched to the directory by code, then by name (case, diacritics, the "Bộ",
"Tỉnh", "TP" prefixes and remarks in parentheses ignored; the spellings of the national
report, typos included, are known). An agency not in the directory is kept under its
written name, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from govmail.directory import demo_data
from govmail.directory.demo_data import name_key
from govmail.i18n import t
from govmail.reports.indicators import INDICATORS
from govmail.reports.periods import Period
from govmail.reports.tables import GROUP_KINDS, group_of_kind
from govmail.reports.tabular import Cell, Sheet, TableFileError, fold, read_tables
from govmail.store.repos.reports import AgencyRow, ReportsRepo

if TYPE_CHECKING:
    from govmail.store.db import Store

Severity = Literal["error", "warning"]
_STT = {"stt", "tt", "so tt", "so thu tu", "xep hang", "hang", "rank", "no", "thu tu"}
_CODE = {"ma", "ma co quan", "ma dinh danh", "ma don vi", "code", "agency code"}
_CLASS = {"loai", "khoi", "class", "group", "kind", "loai co quan", "nhom"}
_NOTE = {"ghi chu", "note", "notes", "chu thich"}
_NAME_EXACT = {"co quan", "don vi", "co quan don vi", "agency", "name", "ten", "dia phuong"}
_INDICATOR_STARTS = ("ty le", "uoc luong", "share", "percent")
# Checked in this order: the more specific headings first.
_HEADER_ORDER = (
    "on_time_registration_share",
    "filtering_share",
    "regulation_share",
    "regular_use_share",
    "mailbox_share",
    "electronic_document_share",
)
NOT_REPORTED = {
    "chua bao cao",
    "not reported",
    "khong bao cao",
    "chua co so lieu",
    "khong tinh duoc",
    "not computed",
}
QUALITATIVE = {
    "chua co he thong thu dien tu",
    "con han che",
    "rat thap",
    "thap",
    "khong dang ke",
    "dang xay dung",
    "dang thu nghiem",
}
YES = {"co", "x", "yes", "true", "1", "da ban hanh", "da co", "dat"}
NO = {"khong", "no", "false", "0", "chua", "chua ban hanh", "chua co"}
_NUMBER = re.compile(r"^([+-]?\d+(?:[.,]\d+)?)\s*%?$")


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """A row (or the file) that could not be used, or a caveat about it."""

    key: str  # under reports.import.
    params: dict[str, Any]
    severity: Severity = "error"
    sheet: str | None = None
    row: int | None = None

    def text(self, lang: str | None = None) -> str:
        where = ""
        if self.row is not None:
            where = t("reports.import.where", lang, sheet=self.sheet or "", row=self.row) + " "
        return where + t(f"reports.import.{self.key}", lang, **self.params)


@dataclass(slots=True)
class ParsedFigure:
    sheet: str
    row: int
    order: int
    agency_name: str
    code: str | None
    group: str | None
    indicator: str
    status: str  # value | qualitative | not_reported
    value: float | None
    text: str | None
    note: str | None
    agency_id: int | None = None
    agency_key: str = ""


@dataclass(slots=True)
class ImportResult:
    figures: list[ParsedFigure] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    added: int = 0
    replaced: int = 0
    applied: bool = False

    @property
    def errors(self) -> list[ImportIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ImportIssue]:
        return [i for i in self.issues if i.severity == "warning"]


def parse_group(text: str) -> str | None:
    f = fold(text)
    if not f:
        return None
    if f in GROUP_KINDS:
        return f
    words = f.split()
    if f in ("ministry", "bo nganh", "trung uong") or words[0] == "bo" or "ministr" in f:
        return "ministries"
    if f in ("province", "dia phuong") or words[0] in ("tinh", "thanh") or "provinc" in f:
        return "provinces"
    return None


def _indicator_of_header(h: str) -> str | None:
    if h.replace(" ", "_") in INDICATORS:
        return h.replace(" ", "_")
    if not h.startswith(_INDICATOR_STARTS):
        return None
    words = set(h.split())
    joined = f" {h} "
    for key in _HEADER_ORDER:
        for group in INDICATORS[key].header_words:
            if all(f" {w} " in joined for w in group) or (len(group) == 1 and group[0] in words):
                return key
    return None


@dataclass(slots=True)
class _Layout:
    header_row: int
    name: int
    code: int | None = None
    group: int | None = None
    note: int | None = None
    values: dict[int, str] = field(default_factory=dict)  # column -> indicator
    sheet_group: str | None = None


def _layout(sheet: Sheet, indicator: str | None) -> _Layout | None:
    for r, row in enumerate(sheet.rows[:15]):
        heads = [fold(c.text) for c in row]
        name_col = None
        for i, h in enumerate(heads):
            if _indicator_of_header(h) or h.startswith(_INDICATOR_STARTS):
                continue
            if h in _NAME_EXACT or h.startswith(("ten ", "tinh thanh pho", "co quan ")):
                name_col = i
                break
        if name_col is None:
            continue
        lay = _Layout(r, name_col, sheet_group=parse_group(heads[name_col].removeprefix("ten ")))
        unknown: list[int] = []
        for i, h in enumerate(heads):
            if i == name_col or not h:
                continue
            if h in _STT:
                continue
            if h in _CODE:
                lay.code = i
            elif h in _CLASS:
                lay.group = i
            elif h in _NOTE:
                lay.note = i
            elif (key := _indicator_of_header(h)) is not None:
                lay.values[i] = key
            else:
                unknown.append(i)
        if indicator is not None:
            if len(lay.values) + len(unknown) == 1:
                lay.values = {(list(lay.values) or unknown)[0]: indicator}
            elif not lay.values and unknown:
                lay.values = {unknown[0]: indicator}
        return lay
    return None


def parse_value(cell: Cell, indicator: str) -> tuple[str, float | None, str | None] | str:
    """(status, value, text) or the key of the problem (reports.import.<key>)."""
    v = cell.value
    yes_no = INDICATORS[indicator].yes_no
    if isinstance(v, bool):
        return ("value", 100.0 if v else 0.0, None) if yes_no else "bad_number"
    if isinstance(v, int | float):
        value = float(v) * (100.0 if cell.percent_format else 1.0)
    else:
        raw = cell.text
        if not raw:
            return "empty"
        f = fold(raw)
        if f in NOT_REPORTED:
            return ("not_reported", None, raw)
        if f in QUALITATIVE:
            return ("qualitative", None, raw)
        if yes_no and f in YES:
            return ("value", 100.0, None)
        if yes_no and f in NO:
            return ("value", 0.0, None)
        m = _NUMBER.match(raw.replace(" ", ""))
        if m is None:
            return "bad_number"
        value = float(m.group(1).replace(",", "."))
    if value != value or value < 0:  # NaN or negative
        return "negative"
    if value > 100.0 + 1e-9:
        return "over_100"
    return ("value", value, None)


def parse_tables(
    sheets: Sequence[Sheet], *, indicator: str | None = None, group: str | None = None
) -> tuple[list[ParsedFigure], list[ImportIssue]]:
    """Figures of every sheet that has a table, and the problems met (no I/O)."""
    if indicator is not None and indicator not in INDICATORS:
        raise TableFileError("unknown_indicator", indicator=indicator, known=", ".join(INDICATORS))
    figures: list[ParsedFigure] = []
    issues: list[ImportIssue] = []
    order = 0
    tables = 0
    for sheet in sheets:
        lay = _layout(sheet, indicator)
        if lay is None:
            if any(c.text for row in sheet.rows for c in row):
                issues.append(ImportIssue("no_header", {"sheet": sheet.name}, "warning"))
            continue
        if not lay.values:
            issues.append(ImportIssue("no_indicator", {"sheet": sheet.name}, "warning"))
            continue
        tables += 1
        seen_data = False
        for r in range(lay.header_row + 1, len(sheet.rows)):
            row = sheet.rows[r]
            rowno = r + 1

            def cell(i: int | None, row: list[Cell] = row) -> Cell:
                return row[i] if i is not None and i < len(row) else Cell(None)

            name = cell(lay.name).text
            if not any(c.text for c in row):
                if seen_data:
                    break  # a table ends at its first empty row (footnotes follow)
                continue
            seen_data = True
            if not name:
                issues.append(ImportIssue("no_name", {}, sheet=sheet.name, row=rowno))
                continue
            row_group = group
            if lay.group is not None and cell(lay.group).text:
                row_group = parse_group(cell(lay.group).text)
                if row_group is None:
                    issues.append(
                        ImportIssue(
                            "bad_class",
                            {"agency": name, "value": cell(lay.group).text},
                            sheet=sheet.name,
                            row=rowno,
                        )
                    )
                    continue
            row_group = row_group or lay.sheet_group
            code = cell(lay.code).text.upper() or None
            note = cell(lay.note).text or None
            for col, ind in lay.values.items():
                parsed = parse_value(cell(col), ind)
                if isinstance(parsed, str):
                    severity: Severity = "warning" if parsed == "empty" else "error"
                    issues.append(
                        ImportIssue(
                            f"value_{parsed}",
                            {
                                "agency": name,
                                "value": cell(col).text,
                                "indicator": INDICATORS[ind].short_vi,
                            },
                            severity,
                            sheet.name,
                            rowno,
                        )
                    )
                    continue
                status, value, text = parsed
                order += 1
                figures.append(
                    ParsedFigure(
                        sheet.name,
                        rowno,
                        order,
                        name,
                        code,
                        row_group,
                        ind,
                        status,
                        value,
                        text,
                        note,
                    )
                )
    if tables == 0:
        raise TableFileError("no_table")
    return figures, issues


# --------------------------------------------------------------------------- matching


@dataclass
class AgencyIndex:
    by_code: dict[str, AgencyRow]
    by_key: dict[str, list[AgencyRow]]
    by_id: dict[int, AgencyRow]

    @classmethod
    def of(cls, rows: Sequence[AgencyRow]) -> AgencyIndex:
        by_code = {a.code: a for a in rows if a.code}
        by_key: dict[str, list[AgencyRow]] = {}
        for a in rows:
            if not a.active:
                continue
            keys = {name_key(a.name)}
            if a.short_name and fold(a.short_name) not in ("ubnd", "vp", "van phong"):
                keys.add(name_key(a.short_name))
            if a.place and a.kind == "province":
                keys.add(name_key(a.place))
            for k in keys - {""}:
                by_key.setdefault(k, []).append(a)
        return cls(by_code, by_key, {a.id: a for a in rows})

    def find(self, name: str, group: str | None) -> AgencyRow | None:
        hits = self.by_key.get(name_key(name), [])
        if len(hits) > 1:  # prefer the top-level agency of the expected class
            top = [a for a in hits if a.parent_id is None]
            if group:
                top = [a for a in top if group_of_kind(a.kind) == group] or top
            hits = top
        if len(hits) == 1:
            return hits[0]
        seed = demo_data.find_by_name(name)
        if seed is not None and seed.code in self.by_code:
            return self.by_code[seed.code]
        return None


def resolve(
    figures: list[ParsedFigure], agencies: Sequence[AgencyRow]
) -> tuple[list[ParsedFigure], list[ImportIssue]]:
    """Match each figure to a directory agency, set its key and class; drop duplicates."""
    index = AgencyIndex.of(agencies)
    issues: list[ImportIssue] = []
    kept: list[ParsedFigure] = []
    not_found: set[tuple[str, int]] = set()
    for f in figures:
        a = None
        if f.code:
            a = index.by_code.get(f.code)
            if a is None:
                issues.append(
                    ImportIssue(
                        "unknown_code",
                        {"agency": f.agency_name, "code": f.code},
                        sheet=f.sheet,
                        row=f.row,
                    )
                )
                continue
        else:
            a = index.find(f.agency_name, f.group)
        if a is not None:
            f.agency_id = a.id
            f.agency_key = f"a:{a.id}"
            kind_group = group_of_kind(a.kind)
            if f.group and f.group != kind_group and kind_group != "other":
                issues.append(
                    ImportIssue(
                        "class_mismatch",
                        {"agency": f.agency_name, "given": f.group, "actual": kind_group},
                        "warning",
                        f.sheet,
                        f.row,
                    )
                )
            f.group = kind_group if kind_group != "other" else (f.group or "other")
        else:
            f.agency_key = "n:" + (name_key(f.agency_name) or f.agency_name.lower())
            f.group = f.group or "other"
            if (f.agency_name, f.row) not in not_found:
                not_found.add((f.agency_name, f.row))
                issues.append(
                    ImportIssue(
                        "not_in_directory", {"agency": f.agency_name}, "warning", f.sheet, f.row
                    )
                )
        kept.append(f)
    seen: dict[tuple[str, str], ParsedFigure] = {}
    duplicated: set[int] = set()
    for f in kept:
        k = (f.indicator, f.agency_key)
        first = seen.get(k)
        if first is None:
            seen[k] = f
            continue
        for dup, other in ((first, f), (f, first)):
            if id(dup) not in duplicated:
                duplicated.add(id(dup))
                issues.append(
                    ImportIssue(
                        "duplicate",
                        {
                            "agency": dup.agency_name,
                            "other_row": other.row,
                            "other_sheet": other.sheet,
                            "indicator": INDICATORS[f.indicator].short_vi,
                        },
                        sheet=dup.sheet,
                        row=dup.row,
                    )
                )
    return [f for f in kept if id(f) not in duplicated], issues


# --------------------------------------------------------------------------- importing


async def import_figures(
    store: Store,
    path: Path,
    period: Period,
    *,
    indicator: str | None = None,
    group: str | None = None,
    dry_run: bool = False,
    actor: str = "cli",
    source_name: str | None = None,
    audit_source: str = "cli",
    remote_addr: str | None = None,
) -> ImportResult:
    """Read ``path``, match its agencies, and (unless ``dry_run``) store its figures for
    ``period``, replacing earlier figures of the same period, indicator and agency.
    Raises TableFileError when the file as a whole is unusable."""
    sheets = read_tables(path)
    figures, issues = parse_tables(sheets, indicator=indicator, group=group)
    async with store.read() as tx:
        agencies = await ReportsRepo(tx.session, store.dialect).agency_rows()
    figures, more = resolve(figures, agencies)
    result = ImportResult(figures, [*issues, *more])
    if dry_run or not figures:
        return result
    source = source_name or path.name
    rows = [
        {
            "period_start": period.start,
            "period_end": period.end,
            "indicator": f.indicator,
            "agency_key": f.agency_key,
            "agency_id": f.agency_id,
            "agency_name": f.agency_name[:300],
            "agency_class": f.group or "other",
            "status": f.status,
            "value": f.value,
            "text": (f.text or None) and f.text[:300],
            "note": (f.note or None) and f.note[:500],
            "source": source[:300],
            "source_row": f.order,
        }
        for f in figures
    ]
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        result.added, result.replaced = await repo.put_self_figures(rows)
        await tx.audit.record(
            actor=actor,
            source=audit_source,
            remote_addr=remote_addr,
            action="report.import",
            object_type="report",
            object_id=f"{period.label}:{source}"[:320],
            after={"figures": len(rows), "added": result.added, "replaced": result.replaced},
        )
    result.applied = True
    return result
