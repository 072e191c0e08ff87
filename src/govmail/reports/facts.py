"""What administrators declare for the reports, each change written to the audit log:
the regular-use rule, the working-day corrections, whether mail is filtered for spam and
viruses (the installation's filter, or an agency's own system), and an agency's mail
regulation (quy chế: adopted or not, date, document number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from govmail.reports.calendar import default_holidays
from govmail.reports.indicators import RegularRule
from govmail.reports.report import ReportError, ReportSettings, report_settings
from govmail.store.repos.reports import ReportsRepo

if TYPE_CHECKING:
    from govmail.directory.base import Actor
    from govmail.store.db import Store
    from govmail.store.tx import Tx


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    working: bool
    note: str
    declared: bool  # an installation's correction (else a default holiday)


async def _audit(
    tx: Tx, actor: Actor, action: str, object_id: str, before: Any, after: Any
) -> None:
    await tx.audit.record(
        actor=actor.name,
        source=actor.source,
        remote_addr=actor.remote_addr,
        action=action,
        object_type="report",
        object_id=object_id[:320],
        before=before,
        after=after,
    )


async def current_settings(store: Store) -> ReportSettings:
    async with store.read() as tx:
        return await report_settings(ReportsRepo(tx.session, store.dialect))


async def set_rule(store: Store, actor: Actor, min_days: int, window: int) -> RegularRule:
    if not (1 <= window <= 366 and 1 <= min_days <= window):
        raise ReportError("bad_rule", min_days=min_days, window=window)
    rule = RegularRule(min_days, window)
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        before = await repo.setting("regular_rule")
        after = {"min_days": min_days, "window": window}
        await repo.set_setting("regular_rule", after)
        await _audit(tx, actor, "report.rule", "regular_rule", before, after)
    return rule


async def set_installation_filtering(
    store: Store, actor: Actor, spam: bool | None, virus: bool | None
) -> None:
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        before = await repo.setting("filtering")
        after = {"spam": spam, "virus": virus}
        await repo.set_setting("filtering", after)
        await _audit(tx, actor, "report.filtering", "installation", before, after)


async def set_agency_filtering(
    store: Store, actor: Actor, agency_id: int, spam: bool | None, virus: bool | None
) -> None:
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        old = (await repo.filter_facts()).get(agency_id)
        before = {"spam": old.spam_filter, "virus": old.virus_filter} if old else None
        await repo.set_filter_fact(agency_id, spam, virus, actor.name)
        await _audit(
            tx,
            actor,
            "report.filtering",
            f"agency:{agency_id}",
            before,
            {"spam": spam, "virus": virus},
        )


async def set_regulation(
    store: Store,
    actor: Actor,
    agency_id: int,
    adopted: bool,
    adopted_on: date | None,
    number: str | None,
) -> None:
    number = " ".join(number.split())[:60] if number else None
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        before, after = await repo.set_regulation(agency_id, adopted, adopted_on, number)

        def plain(r: Any) -> dict[str, Any] | None:
            if r is None:
                return None
            d = r.adopted_on.isoformat() if r.adopted_on else None
            return {"adopted": r.adopted, "date": d, "number": r.number}

        await _audit(
            tx, actor, "report.regulation", f"agency:{agency_id}", plain(before), plain(after)
        )


async def calendar_days(store: Store, year: int) -> list[CalendarDay]:
    """The days off of ``year`` (default holidays) and the declared corrections."""
    settings = await current_settings(store)
    declared = {d: w for d, w in settings.calendar.overrides.items() if d.year == year}
    async with store.read() as tx:
        notes = {
            c.day: c.note for c in await ReportsRepo(tx.session, store.dialect).calendar_days()
        }
    out = [
        CalendarDay(d, declared.get(d, False), notes.get(d, name), d in declared)
        for d, name in default_holidays(year).items()
    ]
    known = {c.day for c in out}
    out.extend(
        CalendarDay(d, w, notes.get(d, ""), True) for d, w in declared.items() if d not in known
    )
    return sorted(out, key=lambda c: c.day)


async def set_calendar_day(store: Store, actor: Actor, day: date, working: bool, note: str) -> None:
    async with store.write() as tx:
        repo = ReportsRepo(tx.session, store.dialect)
        await repo.set_calendar_day(day, working, note.strip()[:200])
        await _audit(
            tx, actor, "report.calendar", day.isoformat(), None, {"working": working, "note": note}
        )


async def remove_calendar_day(store: Store, actor: Actor, day: date) -> bool:
    async with store.write() as tx:
        removed = await ReportsRepo(tx.session, store.dialect).remove_calendar_day(day)
        if removed:
            await _audit(tx, actor, "report.calendar", day.isoformat(), {"declared": True}, None)
    return removed
