"""Counters of the document registers, written in the transaction that writes the entry.

Documents are issued, sent and registered from the CLI, the web and the API as well as in
the server, each its own process: a count kept in one process's memory would be lost by
the others. Written with the register entry, a count is committed exactly when the entry
is, and rolled back with it.

- Outgoing register (sổ văn bản đi): a document counts once, on its issue date, in the
  channel it went by — ``electronic`` (sent by govmail), ``paper`` (recorded by the clerk)
  or ``both``. It is counted when its first channel is known and moved when the second
  one is (``document_channel``); a document neither sent nor recorded on paper is not
  counted yet.
- Incoming register (sổ văn bản đến): ``arrivals`` on the arrival day (local), then
  ``arrivals_registered`` and, within one working day, ``arrivals_on_time`` on that same
  day (``arrival``, ``registration``).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from govmail.reports.calendar import WorkCalendar
from govmail.store.repos.reports import ReportsRepo

if TYPE_CHECKING:
    from govmail.store.tx import Tx

Channel = Literal["electronic", "paper", "both"]


def channel_of(electronic: bool, paper: bool) -> Channel | None:
    """How a document went out: None while it has gone by neither way."""
    if electronic:
        return "both" if paper else "electronic"
    return "paper" if paper else None


def _repo(tx: Tx) -> ReportsRepo:
    return ReportsRepo(tx.session, tx.store.dialect)


async def document_channel(
    tx: Tx,
    agency_id: int,
    issued_on: date,
    doc_type: str,
    before: Channel | None,
    after: Channel | None,
) -> None:
    """A document of ``agency_id`` issued on ``issued_on`` went from channel ``before``
    to ``after`` (None: not counted): its count moves, so it is counted once."""
    if before == after:
        return
    kind = (doc_type or "khac").strip().lower()[:60]
    counts: Counter[str] = Counter()
    details: Counter[tuple[str, str]] = Counter()
    for channel, n in ((before, -1), (after, 1)):
        if channel is not None:
            counts[f"docs_{channel}"] += n
            details[("doc", f"{kind}:{channel}")] += n
    await _repo(tx).add_agency_counts(agency_id, issued_on, counts, details)


async def arrival(
    tx: Tx, agency_id: int, arrived_at: datetime, tz: ZoneInfo, *, registered: bool = False
) -> None:
    """A document arrived for ``agency_id``; ``registered``: registered at that moment
    (automatic registration: on time)."""
    counts = {"arrivals": 1}
    if registered:
        counts |= {"arrivals_registered": 1, "arrivals_on_time": 1}
    await _repo(tx).add_agency_counts(agency_id, _local_day(arrived_at, tz), counts)


async def registration(
    tx: Tx,
    agency_id: int,
    arrived_at: datetime,
    registered_at: datetime,
    tz: ZoneInfo,
    *,
    count_arrival: bool,
) -> None:
    """A document that arrived at ``arrived_at`` registered by the clerk at
    ``registered_at``, counted on its arrival day; ``count_arrival``: its arrival was not
    counted when it came (plain mail, known to be a document only now)."""
    repo = _repo(tx)
    day = _local_day(arrived_at, tz)
    calendar = WorkCalendar({d.day: d.working for d in await repo.calendar_days()})
    on_time = calendar.within_working_days(day, _local_day(registered_at, tz), 1)
    counts = {"arrivals_registered": 1, "arrivals_on_time": int(on_time)}
    if count_arrival:
        counts["arrivals"] = 1
    await repo.add_agency_counts(agency_id, day, counts)


def _local_day(at: datetime, tz: ZoneInfo) -> date:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the register counters; use aware UTC")
    return at.astimezone(tz).date()
