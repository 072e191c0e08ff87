"""Queries of the usage reports: batched counter upserts for the recorder, and the few
grouped reads a report needs (one query per kind of figure, never one per agency)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import Agency, AuditEntry, Mailbox, utcnow
from govmail.store.models_reports import (
    AGENCY_COUNTERS,
    LOGIN_COLUMNS,
    MAILBOX_COUNTERS,
    ReportAgencyFact,
    ReportCalendarDay,
    ReportSelfFigure,
    ReportSetting,
    UsageAgencyDay,
    UsageDetailDay,
    UsageMailboxDay,
)

_CHUNK = 500  # rows per multi-row statement (SQLite allows 32766 bound parameters)


@dataclass(frozen=True, slots=True)
class AgencyRow:
    id: int
    parent_id: int | None
    path: str
    kind: str
    name: str
    short_name: str
    code: str | None
    place: str | None
    headcount: int | None
    headcount_updated_at: datetime | None
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Regulation:
    adopted: bool
    adopted_on: date | None
    number: str | None


@dataclass(frozen=True, slots=True)
class AgencyMove:
    agency_id: int
    at: datetime
    old_parent_id: int | None
    new_parent_id: int | None


def _agency_profile() -> Any:
    """The admin console's ``AgencyProfile`` model, which holds the quy chế facts (imported
    here, not at module level: the reports work without the console's tables)."""
    try:
        from govmail.store.models_api import AgencyProfile
    except ImportError:
        return None
    return AgencyProfile


def _active_expr(t: Any) -> Any:
    """A mailbox-day counts as active when the person logged in or sent something."""
    total = t.c.sent
    for col in LOGIN_COLUMNS:
        total = total + t.c[col]
    return total > 0


class ReportsRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    async def _upsert_add(
        self, table: Any, keys: Sequence[str], counters: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows; where the key exists, add the counters to the stored ones."""
        for i in range(0, len(rows), _CHUNK):
            chunk = rows[i : i + _CHUNK]
            ins = self._insert(table).values(chunk)
            used = [c for c in counters if c in chunk[0]]
            stmt = ins.on_conflict_do_update(
                index_elements=list(keys),
                set_={c: table.c[c] + ins.excluded[c] for c in used},
            )
            await self.s.execute(stmt)

    # -- the recorder's writes ------------------------------------------------------------
    async def add_mailbox_days(self, rows: list[dict[str, Any]]) -> None:
        """rows: day, mailbox_id, agency_id and any of the mailbox counters (same keys in
        every row)."""
        if rows:
            t = UsageMailboxDay.__table__
            await self._upsert_add(t, ("day", "mailbox_id"), MAILBOX_COUNTERS, rows)

    async def add_agency_days(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            t = UsageAgencyDay.__table__
            await self._upsert_add(t, ("day", "agency_id"), AGENCY_COUNTERS, rows)

    async def add_detail_days(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            t = UsageDetailDay.__table__
            await self._upsert_add(t, ("day", "agency_id", "metric", "detail"), ("count",), rows)

    async def add_agency_counts(
        self,
        agency_id: int,
        day: date,
        counts: Mapping[str, int],
        details: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        """Add ``counts`` (counter -> n, negative to take back) to one agency-day row, and
        ``details`` ((metric, detail) -> n) to its breakdowns: the counters written in the
        transaction of the event they count (documents issued, arrivals, registrations)."""
        unknown = set(counts) - set(AGENCY_COUNTERS)
        if unknown:
            raise ValueError(f"not agency counters: {sorted(unknown)}")
        row = {"day": day, "agency_id": agency_id, **dict.fromkeys(AGENCY_COUNTERS, 0)}
        row.update(counts)
        await self.add_agency_days([row])
        await self.add_detail_days(
            [
                {"day": day, "agency_id": agency_id, "metric": m, "detail": d, "count": n}
                for (m, d), n in (details or {}).items()
            ]
        )

    async def active_mailboxes_on(self, day: date, mailbox_ids: Iterable[int]) -> set[int]:
        """Which of these mailboxes already have an active row for ``day``."""
        t = UsageMailboxDay.__table__
        ids = list(mailbox_ids)
        out: set[int] = set()
        for i in range(0, len(ids), _CHUNK):
            q = select(t.c.mailbox_id).where(
                t.c.day == day, t.c.mailbox_id.in_(ids[i : i + _CHUNK]), _active_expr(t)
            )
            out.update((await self.s.scalars(q)).all())
        return out

    async def mailboxes_by_address(
        self, addresses: Iterable[str]
    ) -> dict[str, tuple[int, int | None]]:
        addrs = sorted({a.lower() for a in addresses})
        out: dict[str, tuple[int, int | None]] = {}
        for i in range(0, len(addrs), _CHUNK):
            q = select(Mailbox.address, Mailbox.id, Mailbox.agency_id).where(
                Mailbox.address.in_(addrs[i : i + _CHUNK])
            )
            for address, mid, aid in (await self.s.execute(q)).all():
                out[address] = (mid, aid)
        return out

    async def agencies_of_mailboxes(self, mailbox_ids: Iterable[int]) -> dict[int, int | None]:
        ids = sorted(set(mailbox_ids))
        out: dict[int, int | None] = {}
        for i in range(0, len(ids), _CHUNK):
            q = select(Mailbox.id, Mailbox.agency_id).where(Mailbox.id.in_(ids[i : i + _CHUNK]))
            out.update({mid: aid for mid, aid in (await self.s.execute(q)).all()})
        return out

    # -- the directory as the reports see it -------------------------------------------
    async def agency_rows(self) -> list[AgencyRow]:
        q = select(
            Agency.id,
            Agency.parent_id,
            Agency.path,
            Agency.kind,
            Agency.name,
            Agency.short_name,
            Agency.code,
            Agency.place,
            Agency.staff_headcount.label("headcount"),
            Agency.headcount_updated_at,
            Agency.active,
            Agency.created_at,
        )
        return [AgencyRow(**r._mapping) for r in (await self.s.execute(q)).all()]

    def _alive_at(self, at: datetime) -> Any:
        return and_(
            Mailbox.kind == "person",
            Mailbox.created_at <= at,
            or_(Mailbox.archived_at.is_(None), Mailbox.archived_at > at),
        )

    async def person_mailbox_counts(self, at: datetime) -> dict[int, int]:
        """Person mailboxes that existed at ``at`` (created, not yet archived), per agency."""
        q = (
            select(Mailbox.agency_id, func.count())
            .where(self._alive_at(at), Mailbox.agency_id.is_not(None))
            .group_by(Mailbox.agency_id)
        )
        return {int(aid or 0): int(n) for aid, n in (await self.s.execute(q)).all()}

    async def regular_user_counts(
        self, days: Sequence[date], min_days: int, at: datetime
    ) -> dict[int, int]:
        """Person mailboxes (alive at ``at``) active on at least ``min_days`` of ``days``,
        per agency (the mailbox's agency at ``at``). One grouped query."""
        if not days:
            return {}
        t = UsageMailboxDay.__table__
        active = (
            select(t.c.mailbox_id)
            .where(t.c.day >= min(days), t.c.day <= max(days), t.c.day.in_(list(days)))
            .where(_active_expr(t))
            .group_by(t.c.mailbox_id)
            .having(func.count() >= min_days)
            .subquery()
        )
        q = (
            select(Mailbox.agency_id, func.count())
            .join(active, active.c.mailbox_id == Mailbox.id)
            .where(self._alive_at(at), Mailbox.agency_id.is_not(None))
            .group_by(Mailbox.agency_id)
        )
        return {int(aid or 0): int(n) for aid, n in (await self.s.execute(q)).all()}

    async def agency_totals(self, start: date, end: date) -> dict[int, dict[str, int]]:
        """Every agency counter summed over ``start``..``end`` (both included), per agency."""
        t = UsageAgencyDay.__table__
        cols = [func.sum(t.c[c]).label(c) for c in AGENCY_COUNTERS]
        q = (
            select(t.c.agency_id, *cols)
            .where(t.c.day >= start, t.c.day <= end)
            .group_by(t.c.agency_id)
        )
        out: dict[int, dict[str, int]] = {}
        for row in (await self.s.execute(q)).mappings():
            out[int(row["agency_id"])] = {c: int(row[c] or 0) for c in AGENCY_COUNTERS}
        return out

    async def daily_totals(
        self, start: date, end: date, agency_ids: Sequence[int] | None = None
    ) -> dict[date, dict[str, int]]:
        """Counters per day over ``start``..``end``, summed over ``agency_ids`` (all when None)."""
        t = UsageAgencyDay.__table__
        names = ("sent", "received", "active_mailboxes", *LOGIN_COLUMNS)
        q = select(t.c.day, *[func.sum(t.c[c]).label(c) for c in names]).where(
            t.c.day >= start, t.c.day <= end
        )
        if agency_ids is not None:
            q = q.where(t.c.agency_id.in_(list(agency_ids)))
        q = q.group_by(t.c.day).order_by(t.c.day)
        return {
            row["day"]: {c: int(row[c] or 0) for c in names}
            for row in (await self.s.execute(q)).mappings()
        }

    async def detail_totals(self, start: date, end: date) -> list[tuple[int, str, str, int]]:
        t = UsageDetailDay.__table__
        q = (
            select(t.c.agency_id, t.c.metric, t.c.detail, func.sum(t.c.count))
            .where(t.c.day >= start, t.c.day <= end)
            .group_by(t.c.agency_id, t.c.metric, t.c.detail)
        )
        return [(int(a), m, d, int(n or 0)) for a, m, d, n in (await self.s.execute(q)).all()]

    async def agency_moves(self, since: datetime) -> list[AgencyMove]:
        """Agencies moved in the tree since ``since`` (from the audit log)."""
        q = (
            select(AuditEntry.at, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.action == "agency.move", AuditEntry.at >= since)
            .order_by(AuditEntry.at)
        )
        out: list[AgencyMove] = []
        for at, before, after in (await self.s.execute(q)).all():
            before, after = before or {}, after or {}
            aid = after.get("id") or before.get("id")
            if aid is None:
                continue
            out.append(AgencyMove(int(aid), at, before.get("parent_id"), after.get("parent_id")))
        return out

    # -- facts --------------------------------------------------------------------------
    async def regulations(self) -> dict[int, Regulation]:
        """Each agency's mail regulation (quy chế), from the admin console's agency profile."""
        AgencyProfile = _agency_profile()
        if AgencyProfile is None:
            return {}
        q = select(
            AgencyProfile.agency_id,
            AgencyProfile.regulation_adopted,
            AgencyProfile.regulation_date,
            AgencyProfile.regulation_number,
        )
        return {
            aid: Regulation(bool(adopted), d, number)
            for aid, adopted, d, number in (await self.s.execute(q)).all()
        }

    async def set_regulation(
        self, agency_id: int, adopted: bool, adopted_on: date | None, number: str | None
    ) -> tuple[Regulation | None, Regulation]:
        AgencyProfile = _agency_profile()
        if AgencyProfile is None:
            raise RuntimeError("the agency_profile table (admin console) is not installed")
        row = await self.s.get(AgencyProfile, agency_id)
        before = (
            Regulation(row.regulation_adopted, row.regulation_date, row.regulation_number)
            if row is not None
            else None
        )
        if row is None:
            row = AgencyProfile(agency_id=agency_id)
            self.s.add(row)
        row.regulation_adopted = adopted
        row.regulation_date = adopted_on
        row.regulation_number = number
        row.updated_at = utcnow()
        await self.s.flush()
        return before, Regulation(adopted, adopted_on, number)

    async def filter_facts(self) -> dict[int, ReportAgencyFact]:
        rows = (await self.s.scalars(select(ReportAgencyFact))).all()
        return {r.agency_id: r for r in rows}

    async def set_filter_fact(
        self, agency_id: int, spam: bool | None, virus: bool | None, by: str
    ) -> ReportAgencyFact:
        row = await self.s.get(ReportAgencyFact, agency_id)
        if row is None:
            row = ReportAgencyFact(agency_id=agency_id)
            self.s.add(row)
        row.spam_filter = spam
        row.virus_filter = virus
        row.updated_by = by
        row.updated_at = utcnow()
        await self.s.flush()
        return row

    # -- self-reported figures ----------------------------------------------------------
    async def self_figures_within(self, start: date, end: date) -> list[ReportSelfFigure]:
        """Figures whose period lies within ``start``..``end``, latest periods first."""
        q = (
            select(ReportSelfFigure)
            .where(ReportSelfFigure.period_start >= start, ReportSelfFigure.period_end <= end)
            .order_by(ReportSelfFigure.period_end.desc(), ReportSelfFigure.source_row)
        )
        return list((await self.s.scalars(q)).all())

    async def self_figure_periods(self) -> list[tuple[date, date, str, int]]:
        q = (
            select(
                ReportSelfFigure.period_start,
                ReportSelfFigure.period_end,
                ReportSelfFigure.indicator,
                func.count(),
            )
            .group_by(
                ReportSelfFigure.period_start,
                ReportSelfFigure.period_end,
                ReportSelfFigure.indicator,
            )
            .order_by(ReportSelfFigure.period_end.desc(), ReportSelfFigure.indicator)
        )
        return [(a, b, i, int(n)) for a, b, i, n in (await self.s.execute(q)).all()]

    async def put_self_figures(self, rows: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
        """Store figures, replacing the one of the same period, indicator and agency.
        Returns (added, replaced)."""
        added = replaced = 0
        for r in rows:
            old = await self.s.scalar(
                select(ReportSelfFigure).where(
                    ReportSelfFigure.period_start == r["period_start"],
                    ReportSelfFigure.period_end == r["period_end"],
                    ReportSelfFigure.indicator == r["indicator"],
                    ReportSelfFigure.agency_key == r["agency_key"],
                )
            )
            if old is None:
                self.s.add(ReportSelfFigure(**r))
                added += 1
            else:
                for k, v in r.items():
                    setattr(old, k, v)
                old.imported_at = utcnow()
                replaced += 1
        await self.s.flush()
        return added, replaced

    async def delete_self_figures(
        self, start: date, end: date, indicator: str | None = None
    ) -> int:
        q = delete(ReportSelfFigure).where(
            ReportSelfFigure.period_start == start, ReportSelfFigure.period_end == end
        )
        if indicator:
            q = q.where(ReportSelfFigure.indicator == indicator)
        res = await self.s.execute(q)
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- calendar and settings ------------------------------------------------------------
    async def calendar_days(self) -> list[ReportCalendarDay]:
        q = select(ReportCalendarDay).order_by(ReportCalendarDay.day)
        return list((await self.s.scalars(q)).all())

    async def set_calendar_day(self, day: date, working: bool, note: str) -> None:
        row = await self.s.get(ReportCalendarDay, day)
        if row is None:
            self.s.add(ReportCalendarDay(day=day, working=working, note=note))
        else:
            row.working, row.note = working, note
        await self.s.flush()

    async def remove_calendar_day(self, day: date) -> bool:
        res = await self.s.execute(delete(ReportCalendarDay).where(ReportCalendarDay.day == day))
        return bool(res.rowcount)  # type: ignore[attr-defined]

    async def setting(self, key: str) -> dict[str, Any] | None:
        row = await self.s.get(ReportSetting, key)
        return dict(row.value) if row is not None else None

    async def set_setting(self, key: str, value: dict[str, Any]) -> None:
        row = await self.s.get(ReportSetting, key)
        if row is None:
            self.s.add(ReportSetting(key=key, value=value))
        else:
            row.value = value
            row.updated_at = utcnow()
        await self.s.flush()
