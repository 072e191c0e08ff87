"""A usage report for a period and a scope: the whole installation (the national report:
ministries and provinces ranked, as in Bảng 1–6) or one agency with its units.

``build_report`` reads the directory and the counters with a handful of grouped queries
(``load_period_data``), then everything else is computed in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from govmail.directory.names import ascii_fold
from govmail.i18n import t
from govmail.reports.calendar import WorkCalendar
from govmail.reports.indicators import (
    EXTRA_INDICATORS,
    INDICATORS,
    SEED_INDICATORS,
    Figure,
    PeriodData,
    Problem,
    RegularRule,
    SelfFigure,
    unit_figure,
)
from govmail.reports.periods import Period
from govmail.reports.tables import GROUP_KINDS, Subject, Table, group_of_kind, make_table
from govmail.store.models import utcnow
from govmail.store.models_reports import AGENCY_COUNTERS, LOGIN_COLUMNS
from govmail.store.repos.reports import ReportsRepo

if TYPE_CHECKING:
    from govmail.store.db import Store

Progress = Callable[[str], None]
STEPS = (
    "settings",
    "directory",
    "mailboxes",
    "regular",
    "counters",
    "facts",
    "self_reported",
    "tables",
)
GROUP_ORDER = ("ministries", "provinces", "other")
ALL_INDICATORS = (*SEED_INDICATORS, *EXTRA_INDICATORS)


class ReportError(Exception):
    """The report cannot be made at all (unknown agency, bad rule); nothing is printed."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(t(f"reports.error.{key}", **params))

    def message(self, lang: str) -> str:
        return t(f"reports.error.{self.key}", lang, **self.params)


@dataclass(frozen=True, slots=True)
class ReportSettings:
    rule: RegularRule
    filtering: tuple[bool | None, bool | None]
    calendar: WorkCalendar


@dataclass(slots=True)
class ActivityRow:
    subject: Subject
    values: dict[str, int | None]


@dataclass(slots=True)
class Report:
    period: Period
    lang: str
    rule: RegularRule
    scope_name: str | None  # None: the whole installation
    scope_code: str | None
    tables: list[Table]
    averages: dict[str, dict[str, tuple[float | None, int]]]  # indicator -> group -> (mean, n)
    activity: dict[str, list[ActivityRow]]  # group -> rows
    daily: dict[date, dict[str, int]]
    documents_by_type: list[tuple[str, str, int]]  # (type, channel, count)
    refusals_by_check: list[tuple[str, int]]
    problems: list[Problem]
    totals: dict[str, Figure]  # indicator -> figure for the whole scope
    window: list[date]
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def national(self) -> bool:
        return self.scope_name is None

    def title(self, lang: str | None = None) -> str:
        lang = lang or self.lang
        if self.scope_name is None:
            return t("reports.title.national", lang, period=self.period.title(lang))
        return t(
            "reports.title.agency", lang, agency=self.scope_name, period=self.period.title(lang)
        )

    def tables_of(self, indicator: str) -> list[Table]:
        return [tb for tb in self.tables if tb.indicator.key == indicator]

    def problem_lines(self, lang: str | None = None) -> list[str]:
        return [p.text(lang or self.lang) for p in self.problems]


# --------------------------------------------------------------------------- settings


async def report_settings(repo: ReportsRepo) -> ReportSettings:
    raw_rule = await repo.setting("regular_rule") or {}
    try:
        rule = RegularRule(int(raw_rule.get("min_days", 10)), int(raw_rule.get("window", 20)))
    except (TypeError, ValueError):
        rule = RegularRule()
    raw_f = await repo.setting("filtering") or {}
    filtering = (_opt_bool(raw_f.get("spam")), _opt_bool(raw_f.get("virus")))
    overrides = {d.day: d.working for d in await repo.calendar_days()}
    return ReportSettings(rule, filtering, WorkCalendar(overrides))


def _opt_bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


# --------------------------------------------------------------------------- loading


async def load_period_data(
    store: Store,
    period: Period,
    timezone: str,
    *,
    rule: RegularRule | None = None,
    progress: Progress | None = None,
    configured_filtering: tuple[bool | None, bool | None] = (None, None),
) -> PeriodData:
    step = progress or (lambda _s: None)
    async with store.read() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        settings = await report_settings(repo)
        rule = rule or settings.rule
        step("settings")
        at = period.end_instant(timezone)
        agencies: dict[int, Any] = {}
        # Every active agency: its creation in govmail is not its founding (self-reported
        # figures of earlier years belong to agencies entered later).
        for a in await repo.agency_rows():
            if a.active:
                agencies[a.id] = a
        children: dict[int | None, list[int]] = {}
        for a in agencies.values():
            parent = a.parent_id if a.parent_id in agencies else None
            children.setdefault(parent, []).append(a.id)
        step("directory")
        mailboxes = await repo.person_mailbox_counts(at)
        step("mailboxes")
        window = settings.calendar.last_working_days(period.end, rule.window)
        regular = await repo.regular_user_counts(window, rule.min_days, at)
        step("regular")
        totals = await repo.agency_totals(period.start, period.end)
        details = await repo.detail_totals(period.start, period.end)
        step("counters")
        regulations = await repo.regulations()
        facts = await repo.filter_facts()
        filters = {aid: (f.spam_filter, f.virus_filter) for aid, f in facts.items()}
        moves = await repo.agency_moves(period.start_instant(timezone))
        step("facts")
        self_rows = await repo.self_figures_within(period.start, period.end)
        step("self_reported")
    # What an administrator declared wins; else what this installation runs (settings).
    inst_spam, inst_virus = (
        declared if declared is not None else configured
        for declared, configured in zip(settings.filtering, configured_filtering, strict=True)
    )
    # Verdicts recorded in the period show that the filter runs, whatever was declared.
    if inst_spam is None and any(v.get("spam", 0) for v in totals.values()):
        inst_spam = True
    if inst_virus is None and any(v.get("virus", 0) for v in totals.values()):
        inst_virus = True
    seen: set[tuple[str, str]] = set()
    selfs: list[SelfFigure] = []
    for r in self_rows:  # latest period first: keep the first per agency and indicator
        if (r.indicator, r.agency_key) in seen or r.indicator not in INDICATORS:
            continue
        seen.add((r.indicator, r.agency_key))
        selfs.append(
            SelfFigure(
                r.indicator,
                r.agency_id,
                r.agency_key,
                r.agency_name,
                r.agency_class,
                r.status,
                r.value,
                r.text,
                r.note,
                r.source,
                r.source_row,
            )
        )
    return PeriodData(
        start=period.start,
        end=period.end,
        rule=rule,
        window=window,
        agencies=agencies,
        children=children,
        mailboxes=mailboxes,
        regular=regular,
        totals=totals,
        details=details,
        regulations=regulations,
        filters=filters,
        installation_filtering=(inst_spam, inst_virus),
        self_figures=selfs,
        moves=moves,
    )


# --------------------------------------------------------------------------- assembling


def _activity(data: PeriodData, subject: Subject) -> ActivityRow:
    ids = subject.ids
    values: dict[str, int | None] = {c: data.sum(ids, c) for c in AGENCY_COUNTERS}
    heads = [data.agencies[a].headcount for a in ids]
    values["headcount"] = (
        sum(h for h in heads if h is not None) if heads and None not in heads else None
    )
    values["mailboxes"] = sum(data.mailboxes.get(a, 0) for a in ids)
    values["regular_users"] = sum(data.regular.get(a, 0) for a in ids)
    values["logins"] = sum(
        data.sum(ids, c)
        for c in ("logins_imap", "logins_pop3", "logins_web", "logins_smtp", "logins_api")
    )
    return ActivityRow(subject, values)


def _self_index(data: PeriodData) -> dict[tuple[str, str], SelfFigure]:
    out: dict[tuple[str, str], SelfFigure] = {}
    for s in data.self_figures:
        key = f"a:{s.agency_id}" if s.agency_id is not None else s.agency_key
        out.setdefault((s.indicator, key), s)
    return out


def _dedupe(problems: Sequence[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for p in problems:
        k = (p.key, repr(sorted(p.params.items())))
        if k not in seen:
            seen.add(k)
            out.append(p)
    return out


def _move_problems(data: PeriodData, scope_ids: set[int] | None) -> list[Problem]:
    out: list[Problem] = []
    for m in data.moves:
        if m.agency_id not in data.agencies:
            continue
        if (
            scope_ids is not None
            and m.agency_id not in scope_ids
            and not ({m.old_parent_id, m.new_parent_id} & scope_ids)
        ):
            continue
        out.append(
            Problem(
                "agency_moved",
                {
                    "agency": data.name(m.agency_id),
                    "old": data.name(m.old_parent_id) if m.old_parent_id else "—",
                    "new": data.name(m.new_parent_id) if m.new_parent_id else "—",
                    "date": m.at.strftime("%d/%m/%Y"),
                },
                "warning",
            )
        )
    return out


def _breakdowns(
    data: PeriodData, ids: set[int] | None
) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
    docs: dict[tuple[str, str], int] = {}
    refusals: dict[str, int] = {}
    for aid, metric, detail, n in data.details:
        if ids is not None and aid not in ids:
            continue
        if metric == "doc":
            kind, _, channel = detail.rpartition(":")
            docs[(kind, channel)] = docs.get((kind, channel), 0) + n
        elif metric == "refused":
            refusals[detail] = refusals.get(detail, 0) + n
    return (
        sorted(((k, c, n) for (k, c), n in docs.items()), key=lambda x: (-x[2], x[0], x[1])),
        sorted(refusals.items(), key=lambda x: (-x[1], x[0])),
    )


def national_report(
    data: PeriodData,
    period: Period,
    lang: str = "vi",
    indicators: Sequence[str] = ALL_INDICATORS,
    daily: dict[date, dict[str, int]] | None = None,
) -> Report:
    """Top-level agencies ranked in their class (ministries, provinces, others), each
    counted with all its units, plus agencies known only from self-reported figures."""
    selfs = _self_index(data)
    subjects: dict[str, list[Subject]] = {g: [] for g in GROUP_ORDER}
    known_keys: set[str] = set()
    for aid in data.children.get(None, []):
        a = data.agencies[aid]
        group = group_of_kind(a.kind)
        subjects[group].append(
            Subject(f"a:{aid}", a.name, group, aid, a.code, None, tuple(data.subtree(aid)))
        )
        known_keys.add(f"a:{aid}")
    for s in data.self_figures:
        # Figures of agencies outside the directory, or of units below the top level.
        key = f"a:{s.agency_id}" if s.agency_id is not None else s.agency_key
        if key in known_keys:
            continue
        group = s.agency_class if s.agency_class in GROUP_KINDS else "other"
        if s.agency_id is not None and s.agency_id in data.agencies:
            continue  # a unit inside some top-level agency: shown in that agency's report
        known_keys.add(key)
        subjects[group].append(Subject(key, s.agency_name, group, s.agency_id, None, s.order, ()))
    for group in GROUP_ORDER:
        # Keep the file's order among ties for agencies that only self-reported.
        subjects[group] = [_with_order(sub, selfs) for sub in subjects[group]]
    tables: list[Table] = []
    problems: list[Problem] = []
    averages: dict[str, dict[str, tuple[float | None, int]]] = {}
    number = 0
    groups = [g for g in GROUP_ORDER if subjects[g]]
    ordered = [ind for ind in indicators if ind in SEED_INDICATORS] + [
        ind for ind in indicators if ind not in SEED_INDICATORS
    ]
    # Bảng 1–3: ministries, 4–6: provinces (as in the national report), then the others.
    blocks: list[tuple[str, list[str]]] = []
    seed = [i for i in ordered if i in SEED_INDICATORS]
    extra = [i for i in ordered if i not in SEED_INDICATORS]
    for g in groups:
        blocks.append((g, seed))
    for g in groups:
        blocks.append((g, extra))
    for group, inds in blocks:
        for ind in inds:
            number += 1
            items = []
            for sub in subjects[group]:
                fig = unit_figure(
                    data,
                    ind,
                    list(sub.ids),
                    sub.name,
                    sub.agency_id,
                    selfs.get((ind, sub.key)),
                )
                problems.extend(fig.problems)
                items.append((sub, fig))
            table = make_table(number, INDICATORS[ind], group, items)
            tables.append(table)
            averages.setdefault(ind, {})[group] = (table.average, table.average_n)
    all_ids = list(data.agencies)
    totals = {
        ind: unit_figure(data, ind, all_ids, t("reports.scope.installation", lang), None, None)
        for ind in indicators
    }
    activity = {g: [_activity(data, s) for s in subjects[g] if s.ids] for g in groups}
    docs, refusals = _breakdowns(data, None)
    problems.extend(_move_problems(data, None))
    return Report(
        period=period,
        lang=lang,
        rule=data.rule,
        scope_name=None,
        scope_code=None,
        tables=tables,
        averages=averages,
        activity=activity,
        daily=daily or {},
        documents_by_type=docs,
        refusals_by_check=refusals,
        problems=_dedupe(problems),
        totals=totals,
        window=data.window,
    )


def _with_order(sub: Subject, selfs: dict[tuple[str, str], SelfFigure]) -> Subject:
    if sub.order is not None:
        return sub
    orders = [s.order for (_i, k), s in selfs.items() if k == sub.key]
    if not orders:
        return sub
    return Subject(sub.key, sub.name, sub.group, sub.agency_id, sub.code, min(orders), sub.ids)


def agency_report(
    data: PeriodData,
    agency_id: int,
    period: Period,
    lang: str = "vi",
    indicators: Sequence[str] = ALL_INDICATORS,
    daily: dict[date, dict[str, int]] | None = None,
) -> Report:
    """One agency with its units: a row for the agency's own staff (without its units) and
    a row for each direct unit counted with all of its own units."""
    if agency_id not in data.agencies:
        raise ReportError("unknown_agency", agency=str(agency_id))
    top = data.agencies[agency_id]
    selfs = _self_index(data)
    own_name = t("reports.scope.own", lang, agency=top.name)
    subjects = [
        Subject(f"own:{agency_id}", own_name, "units", agency_id, top.code, None, (agency_id,))
    ]
    for cid in sorted(
        data.children.get(agency_id, []), key=lambda c: ascii_fold(data.agencies[c].name)
    ):
        c = data.agencies[cid]
        subjects.append(
            Subject(f"a:{cid}", c.name, "units", cid, c.code, None, tuple(data.subtree(cid)))
        )
    tables: list[Table] = []
    problems: list[Problem] = []
    averages: dict[str, dict[str, tuple[float | None, int]]] = {}
    subtree = data.subtree(agency_id)
    totals: dict[str, Figure] = {}
    for number, ind in enumerate(indicators, start=1):
        items = []
        for sub in subjects:
            fig = unit_figure(
                data, ind, list(sub.ids), sub.name, sub.agency_id, selfs.get((ind, sub.key))
            )
            problems.extend(fig.problems)
            items.append((sub, fig))
        table = make_table(number, INDICATORS[ind], "units", items)
        total = unit_figure(
            data, ind, subtree, top.name, agency_id, selfs.get((ind, f"a:{agency_id}"))
        )
        table.total = total
        totals[ind] = total
        tables.append(table)
        averages[ind] = {"units": (table.average, table.average_n)}
    scope = set(subtree)
    docs, refusals = _breakdowns(data, scope)
    problems.extend(_move_problems(data, scope))
    return Report(
        period=period,
        lang=lang,
        rule=data.rule,
        scope_name=top.name,
        scope_code=top.code,
        tables=tables,
        averages=averages,
        activity={"units": [_activity(data, s) for s in subjects]},
        daily=daily or {},
        documents_by_type=docs,
        refusals_by_check=refusals,
        problems=_dedupe(problems),
        totals=totals,
        window=data.window,
    )


def configured_filtering(settings: Any) -> tuple[bool | None, bool | None]:
    """(spam, virus) filtering of this installation according to its settings."""
    if settings is None:
        return (None, None)
    spam = getattr(getattr(settings, "spam", None), "enabled", None)
    virus = getattr(getattr(settings, "antivirus", None), "enabled", None)
    return (spam if isinstance(spam, bool) else None, virus if isinstance(virus, bool) else None)


async def find_agency_id(store: Store, ref: str) -> int:
    """An agency by code, id or exact name (as the CLI accepts them)."""
    async with store.read() as tx:
        repo = tx.directory
        a = await repo.agency_by_code(ref.strip().upper())
        if a is None and ref.strip().isdigit():
            a = await repo.agency_by_id(int(ref))
        if a is None:
            found = await repo.agencies_by_name(ref.strip())
            a = found[0] if len(found) == 1 else None
    if a is None:
        raise ReportError("unknown_agency", agency=ref)
    return a.id


async def build_report(
    store: Store,
    period: Period,
    *,
    timezone: str = "Asia/Ho_Chi_Minh",
    agency: str | int | None = None,
    lang: str = "vi",
    rule: RegularRule | None = None,
    indicators: Sequence[str] = ALL_INDICATORS,
    progress: Progress | None = None,
    with_daily: bool = True,
    settings: Any = None,
) -> Report:
    """The report for ``period``: national (``agency`` None) or for one agency's subtree
    (code, id or exact name). ``settings`` (the installation's) tell whether its own spam
    and virus filters run, when no administrator declared it."""
    unknown = [i for i in indicators if i not in INDICATORS]
    if unknown:
        raise ReportError(
            "unknown_indicator", indicator=", ".join(unknown), known=", ".join(INDICATORS)
        )
    agency_id = None
    if agency is not None:
        agency_id = agency if isinstance(agency, int) else await find_agency_id(store, agency)
    data = await load_period_data(
        store,
        period,
        timezone,
        rule=rule,
        progress=progress,
        configured_filtering=configured_filtering(settings),
    )
    daily: dict[date, dict[str, int]] = {}
    if with_daily:
        async with store.read() as tx:
            repo = ReportsRepo(tx.session, store.dialect)
            ids = data.subtree(agency_id) if agency_id is not None else None
            daily = await repo.daily_totals(period.start, period.end, ids)
        names = ("sent", "received", "active_mailboxes", *LOGIN_COLUMNS)
        d = period.start
        while d <= period.end:  # days without any event are zeros, not gaps
            daily.setdefault(d, dict.fromkeys(names, 0))
            d += timedelta(days=1)
        daily = dict(sorted(daily.items()))
    if agency_id is None:
        report = national_report(data, period, lang, indicators, daily)
    else:
        report = agency_report(data, agency_id, period, lang, indicators, daily)
    if progress:
        progress("tables")
    return report
