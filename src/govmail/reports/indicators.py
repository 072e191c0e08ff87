"""The indicators of the usage reports, each with its exact definition, and how a figure
is computed for a set of agencies (an agency with its subordinate units, or one agency on
its own) from the data loaded for a period.

Every indicator is a share, in percent, of a numerator over a denominator (docs/reports.md
gives the same definitions for readers). A figure is one of:

- ``computed``: from govmail's own records; numerator and denominator are given;
- ``self_reported``: a number the agency reported itself (imported file);
- ``qualitative``: the agency reported a recognised phrase instead of a number
  ("Chưa có hệ thống thư điện tử");
- ``not_computed``: the agency is on govmail but the figure cannot be computed honestly
  (missing or impossible headcount, nothing recorded); ``problems`` say why;
- ``not_reported``: no record and no self-reported figure ("Chưa báo cáo").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from govmail.i18n import t
from govmail.store.repos.reports import AgencyMove, AgencyRow, Regulation

Status = Literal["computed", "self_reported", "qualitative", "not_computed", "not_reported"]
NUMERIC: tuple[Status, ...] = ("computed", "self_reported")


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    title_vi: str  # the table title, in the words of the national report where it has one
    title_en: str
    column_vi: str  # the value column's heading
    column_en: str
    short_vi: str  # for charts and narrow columns
    short_en: str
    numerator_vi: str
    numerator_en: str
    denominator_vi: str
    denominator_en: str
    period_vi: str
    period_en: str
    yes_no: bool = False  # self-reported per agency as yes/no (100 % / 0 %)
    # Folded words that identify this indicator in an imported table's header.
    header_words: tuple[tuple[str, ...], ...] = ()

    def title(self, lang: str) -> str:
        return self.title_vi if lang == "vi" else self.title_en

    def column(self, lang: str) -> str:
        return self.column_vi if lang == "vi" else self.column_en

    def short(self, lang: str) -> str:
        return self.short_vi if lang == "vi" else self.short_en


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator(
            "mailbox_share",
            "Tỷ lệ cán bộ, công chức được cung cấp hộp thư điện tử sử dụng trong công việc",
            "Share of staff provided with an official mailbox",
            "Tỷ lệ CBCC được cung cấp hộp thư điện tử sử dụng trong công việc",
            "Share of staff with an official mailbox",
            "CBCC có hộp thư",
            "Staff with a mailbox",
            "số hộp thư cá nhân tồn tại vào cuối kỳ (đã tạo, chưa lưu trữ), kể cả hộp thư "
            "đang tạm khóa",
            "personal mailboxes existing at the end of the period (created, not archived), "
            "suspended ones included",
            "biên chế (số CBCC) khai báo của các cơ quan, đơn vị",
            "the declared staff headcount of the agencies",
            "thời điểm cuối kỳ",
            "the end of the period",
            header_words=(("hop", "thu"),),
        ),
        Indicator(
            "regular_use_share",
            "Tỷ lệ cán bộ, công chức thường xuyên sử dụng thư điện tử trong công việc",
            "Share of staff who use e-mail regularly at work",
            "Tỷ lệ CBCC thường xuyên sử dụng thư điện tử trong công việc",
            "Share of staff using e-mail regularly",
            "CBCC dùng thường xuyên",
            "Regular users",
            "số hộp thư cá nhân (tồn tại vào cuối kỳ) có hoạt động — đăng nhập qua IMAP, "
            "POP3, web, API hoặc gửi thư — trong ít nhất {min_days} của {window} ngày làm "
            "việc cuối kỳ",
            "personal mailboxes (existing at the end of the period) active — a login through "
            "IMAP, POP3, the web or the API, or a message sent — on at least {min_days} of "
            "the last {window} working days of the period",
            "biên chế (số CBCC) khai báo của các cơ quan, đơn vị",
            "the declared staff headcount of the agencies",
            "{window} ngày làm việc cuối kỳ",
            "the last {window} working days of the period",
            header_words=(("thuong", "xuyen"), ("regular",)),
        ),
        Indicator(
            "electronic_document_share",
            "Tỷ lệ văn bản được trao đổi qua hệ thống thư điện tử",
            "Share of official documents exchanged by e-mail",
            "Tỷ lệ văn bản được trao đổi qua hệ thống thư điện tử",
            "Share of documents exchanged electronically",
            "Văn bản điện tử",
            "Electronic documents",
            "số văn bản phát hành trong kỳ được gửi điện tử (chỉ điện tử, hoặc cả điện tử và giấy)",
            "documents issued in the period sent electronically (electronic only, or both "
            "electronic and paper)",
            "tổng số văn bản phát hành trong kỳ (vào sổ văn bản đi)",
            "all documents issued in the period (outgoing register)",
            "cả kỳ",
            "the whole period",
            header_words=(("van", "ban"), ("document",)),
        ),
        Indicator(
            "on_time_registration_share",
            "Tỷ lệ văn bản đến được vào sổ trong một ngày làm việc",
            "Share of incoming documents registered within one working day",
            "Tỷ lệ văn bản đến được vào sổ trong một ngày làm việc",
            "Registered within one working day",
            "Vào sổ đúng hạn",
            "Registered on time",
            "số văn bản đến trong kỳ được vào sổ chậm nhất vào ngày làm việc kế tiếp ngày đến",
            "documents arrived in the period registered no later than the working day after "
            "their arrival",
            "số văn bản đến trong kỳ",
            "documents arrived in the period",
            "cả kỳ (theo ngày đến)",
            "the whole period (by arrival day)",
            header_words=(("vao", "so"), ("registered",)),
        ),
        Indicator(
            "filtering_share",
            "Tỷ lệ cơ quan, đơn vị có lọc thư rác và virus cho hệ thống thư điện tử",
            "Share of agencies with spam and virus filtering",
            "Tỷ lệ cơ quan, đơn vị có lọc thư rác và virus",
            "Agencies with spam and virus filtering",
            "Lọc thư rác, virus",
            "Spam and virus filtering",
            "số cơ quan, đơn vị có cả lọc thư rác và quét virus",
            "agencies whose mail is filtered for both spam and viruses",
            "số cơ quan, đơn vị",
            "agencies",
            "thời điểm cuối kỳ",
            "the end of the period",
            yes_no=True,
            header_words=(("thu", "rac"), ("virus",), ("spam",)),
        ),
        Indicator(
            "regulation_share",
            "Tỷ lệ cơ quan, đơn vị đã ban hành quy chế sử dụng hệ thống thư điện tử",
            "Share of agencies that adopted a regulation on the use of e-mail",
            "Tỷ lệ cơ quan, đơn vị đã ban hành quy chế",
            "Agencies with an e-mail regulation",
            "Quy chế thư điện tử",
            "E-mail regulation",
            "số cơ quan, đơn vị đã ban hành quy chế sử dụng hệ thống thư điện tử, ngày ban "
            "hành không muộn hơn cuối kỳ",
            "agencies that adopted their regulation on the use of e-mail, dated no later than "
            "the end of the period",
            "số cơ quan, đơn vị",
            "agencies",
            "thời điểm cuối kỳ",
            "the end of the period",
            yes_no=True,
            header_words=(("quy", "che"), ("regulation",)),
        ),
    )
}
SEED_INDICATORS = ("mailbox_share", "regular_use_share", "electronic_document_share")
EXTRA_INDICATORS = ("on_time_registration_share", "filtering_share", "regulation_share")


@dataclass(frozen=True, slots=True)
class RegularRule:
    """A person uses mail regularly when active on at least ``min_days`` of the last
    ``window`` working days of the period."""

    min_days: int = 10
    window: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.window <= 366:
            raise ValueError("window must be between 1 and 366 working days")
        if not 1 <= self.min_days <= self.window:
            raise ValueError("min_days must be between 1 and window")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a report could not do, or a caveat, naming the agency or the row."""

    key: str  # i18n key under reports.problem.
    params: dict[str, Any] = field(default_factory=dict)
    severity: Literal["error", "warning"] = "error"

    def text(self, lang: str) -> str:
        return t(f"reports.problem.{self.key}", lang, **self.params)


@dataclass(slots=True)
class Figure:
    indicator: str
    status: Status
    value: float | None = None  # percent
    numerator: int | None = None
    denominator: int | None = None
    text: str | None = None  # the qualitative phrase, as reported
    note: str | None = None
    source: str | None = None  # file of a self-reported figure
    problems: list[Problem] = field(default_factory=list)

    @property
    def numeric(self) -> bool:
        return self.status in NUMERIC and self.value is not None


@dataclass
class SelfFigure:
    """A self-reported figure as the report uses it."""

    indicator: str
    agency_id: int | None
    agency_key: str
    agency_name: str
    agency_class: str
    status: str  # value | qualitative | not_reported
    value: float | None
    text: str | None
    note: str | None
    source: str
    order: int


@dataclass
class PeriodData:
    """Everything one report reads, loaded once (see report.load_period_data)."""

    start: date
    end: date
    rule: RegularRule
    window: list[date]
    agencies: dict[int, AgencyRow]
    children: dict[int | None, list[int]]
    mailboxes: dict[int, int]
    regular: dict[int, int]
    totals: dict[int, dict[str, int]]
    details: list[tuple[int, str, str, int]]
    regulations: dict[int, Regulation]
    filters: dict[int, tuple[bool | None, bool | None]]
    installation_filtering: tuple[bool | None, bool | None]
    self_figures: list[SelfFigure]
    moves: list[AgencyMove]

    def subtree(self, agency_id: int) -> list[int]:
        """The agency and its active units."""
        out: list[int] = []
        stack = [agency_id]
        while stack:
            aid = stack.pop()
            if aid in self.agencies:
                out.append(aid)
                stack.extend(self.children.get(aid, ()))
        return out

    def sum(self, ids: Iterable[int], counter: str) -> int:
        return sum(self.totals.get(a, {}).get(counter, 0) for a in ids)

    def name(self, agency_id: int) -> str:
        a = self.agencies.get(agency_id)
        return a.name if a else f"#{agency_id}"


def _share(num: int, den: int) -> float:
    return 100.0 * num / den


def _headcount_problems(data: PeriodData, ids: Sequence[int]) -> list[Problem]:
    problems: list[Problem] = []
    for aid in ids:
        a = data.agencies[aid]
        n = data.mailboxes.get(aid, 0)
        if a.headcount is None:
            problems.append(Problem("missing_headcount", {"agency": a.name, "mailboxes": n}))
        elif n > a.headcount:
            problems.append(
                Problem(
                    "headcount_below_mailboxes",
                    {"agency": a.name, "headcount": a.headcount, "mailboxes": n},
                )
            )
    return problems


def on_govmail(data: PeriodData, ids: Sequence[int]) -> bool:
    """An agency is on govmail when it (or one of its units) has a personal mailbox."""
    return any(data.mailboxes.get(a, 0) for a in ids)


def staff_figure(data: PeriodData, indicator: str, ids: Sequence[int], label: str) -> Figure:
    """mailbox_share / regular_use_share over ``ids``."""
    problems = _headcount_problems(data, ids)
    if problems:
        return Figure(indicator, "not_computed", problems=problems)
    den = sum(data.agencies[a].headcount or 0 for a in ids)
    source = data.mailboxes if indicator == "mailbox_share" else data.regular
    num = sum(source.get(a, 0) for a in ids)
    if den == 0:
        return Figure(
            indicator, "not_computed", problems=[Problem("headcount_zero", {"agency": label})]
        )
    return Figure(indicator, "computed", _share(num, den), num, den)


def document_figure(data: PeriodData, ids: Sequence[int], label: str) -> Figure:
    e, p, b = (data.sum(ids, c) for c in ("docs_electronic", "docs_paper", "docs_both"))
    den = e + p + b
    if den == 0:
        return Figure(
            "electronic_document_share",
            "not_computed",
            problems=[Problem("no_documents", {"agency": label})],
        )
    return Figure("electronic_document_share", "computed", _share(e + b, den), e + b, den)


def registration_figure(data: PeriodData, ids: Sequence[int], label: str) -> Figure:
    den = data.sum(ids, "arrivals")
    num = min(data.sum(ids, "arrivals_on_time"), den)
    if den == 0:
        return Figure(
            "on_time_registration_share",
            "not_computed",
            problems=[Problem("no_arrivals", {"agency": label})],
        )
    return Figure("on_time_registration_share", "computed", _share(num, den), num, den)


def filtering_state(data: PeriodData, agency_id: int) -> bool | None:
    """Both spam and virus filtering on for this agency (None: not known)."""
    spam, virus = data.filters.get(agency_id, (None, None))
    inst_spam, inst_virus = data.installation_filtering
    spam = inst_spam if spam is None else spam
    virus = inst_virus if virus is None else virus
    if spam is False or virus is False:
        return False
    if spam is None or virus is None:
        return None
    return True


def filtering_figure(data: PeriodData, ids: Sequence[int], label: str) -> Figure:
    states = [filtering_state(data, a) for a in ids]
    unknown = [data.name(a) for a, s in zip(ids, states, strict=True) if s is None]
    if unknown:
        shown = ", ".join(unknown[:5]) + ("…" if len(unknown) > 5 else "")
        return Figure(
            "filtering_share",
            "not_computed",
            problems=[
                Problem(
                    "filtering_unknown", {"agency": label, "agencies": shown, "count": len(unknown)}
                )
            ],
        )
    num = sum(1 for s in states if s)
    return Figure("filtering_share", "computed", _share(num, len(ids)), num, len(ids))


def regulation_adopted(data: PeriodData, agency_id: int) -> Regulation | None:
    r = data.regulations.get(agency_id)
    if r is None or not r.adopted or (r.adopted_on is not None and r.adopted_on > data.end):
        return None
    return r


def regulation_figure(data: PeriodData, ids: Sequence[int], top: int | None) -> Figure:
    num = sum(1 for a in ids if regulation_adopted(data, a) is not None)
    fig = Figure("regulation_share", "computed", _share(num, len(ids)), num, len(ids))
    if top is not None:
        r = regulation_adopted(data, top)
        if r is not None:
            parts = [
                p
                for p in (r.number, r.adopted_on.strftime("%d/%m/%Y") if r.adopted_on else None)
                if p
            ]
            fig.note = ", ".join(parts) or None
    return fig


def compute(
    data: PeriodData, indicator: str, ids: Sequence[int], label: str, top: int | None
) -> Figure:
    """The figure of ``indicator`` for the agencies ``ids`` (named ``label`` in problems;
    ``top`` is the agency whose own facts annotate the figure)."""
    if indicator in ("mailbox_share", "regular_use_share"):
        return staff_figure(data, indicator, ids, label)
    if indicator == "electronic_document_share":
        return document_figure(data, ids, label)
    if indicator == "on_time_registration_share":
        return registration_figure(data, ids, label)
    if indicator == "filtering_share":
        return filtering_figure(data, ids, label)
    if indicator == "regulation_share":
        return regulation_figure(data, ids, top)
    raise KeyError(indicator)


def from_self_report(s: SelfFigure) -> Figure:
    ind = INDICATORS[s.indicator]
    if s.status == "value":
        note = s.note
        return Figure(ind.key, "self_reported", s.value, note=note, source=s.source)
    if s.status == "qualitative":
        return Figure(ind.key, "qualitative", text=s.text, note=s.note, source=s.source)
    return Figure(ind.key, "not_reported", note=s.note, source=s.source)


def unit_figure(
    data: PeriodData,
    indicator: str,
    ids: Sequence[int],
    label: str,
    top: int | None,
    self_figure: SelfFigure | None,
) -> Figure:
    """Computed when the agency is on govmail and the figure can be computed; else the
    agency's self-reported figure (with the reasons the computed one failed); else
    "not computed" (on govmail) or "not reported"."""
    if ids and on_govmail(data, ids):
        fig = compute(data, indicator, ids, label, top)
        if fig.status == "computed":
            return fig
        if self_figure is not None:
            fallback = from_self_report(self_figure)
            fallback.problems = [
                *fig.problems,
                Problem("self_reported_used", {"agency": label}, "warning"),
            ]
            return fallback
        return fig
    if self_figure is not None:
        return from_self_report(self_figure)
    if ids and indicator == "regulation_share" and regulation_adopted(data, ids[0]):
        return compute(data, indicator, ids, label, top)
    return Figure(indicator, "not_reported")
