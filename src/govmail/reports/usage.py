"""The usage recorder: counts what the reports need, cheaply, and never message content.

Every event is one dictionary increment in memory, keyed by (mailbox or agency, local day,
counter); the background service ``usage`` writes the sums every ``interval`` seconds
and at shutdown, as upserts that add to the day's rows (``usage_mailbox_day``,
``usage_agency_day``, ``usage_detail_day``). A failed write keeps the sums in memory for
the next attempt. Addresses are resolved to mailbox ids at write time, in one query.

Events and who sends them:

- logins: ``on_login(address, protocol, ok)``, set as ``LoginGuard.on_login``;
- messages sent and received: ``after_delivery``, a ``Pipeline.after_delivery`` hook
  (sent: one per authenticated submission, for the sender; received: one per stored copy,
  the sender's own Sent copy excepted);
- spam and virus verdicts: ``filter_verdicts``, set as ``Pipeline.on_verdicts``;
- policy refusals: ``message_refused`` (from the pipeline) or ``policy_refused``.

Documents issued and arrivals in the registers are not counted here but in the
transaction that writes the register entry (``reports.events``): the CLI, the web and the
API write the registers from processes of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from govmail.services import wait_event
from govmail.store.models import utcnow
from govmail.store.models_reports import AGENCY_COUNTERS, MAILBOX_COUNTERS
from govmail.store.repos.reports import ReportsRepo

if TYPE_CHECKING:
    from govmail.delivery.envelope import Envelope
    from govmail.delivery.pipeline import DeliveryResult
    from govmail.mail.parsed import ParsedMessage
    from govmail.policy.base import ChainResult
    from govmail.store.db import Store

log = logging.getLogger("govmail.reports.usage")

FilterKind = Literal["spam", "virus"]
_LOGIN_COLUMN = {
    "imap": "logins_imap",
    "pop3": "logins_pop3",
    "web": "logins_web",
    "smtp": "logins_smtp",
    "submission": "logins_smtp",
    "api": "logins_api",
}
_SPAM_OUTCOMES = frozenset({"junk", "reject", "blocklist"})  # the spam checks' "spam" fact
_ACTIVE_COUNTERS = (*(c for c in MAILBOX_COUNTERS if c.startswith("logins_")), "sent")
DEFAULT_INTERVAL = 10.0


class UsageRecorder:
    """The service ``usage``: in-memory counters and their periodic flush."""

    name = "usage"

    def __init__(
        self,
        store: Store,
        timezone: str = "Asia/Ho_Chi_Minh",
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.tz = ZoneInfo(timezone)
        self.interval = interval
        self.clock = clock
        self._by_address: Counter[tuple[str, date, str]] = Counter()
        self._by_mailbox: Counter[tuple[int, date, str]] = Counter()
        self._by_agency: Counter[tuple[int, date, str]] = Counter()
        self._detail: Counter[tuple[int, date, str, str]] = Counter()
        # Authenticated deliveries whose sender's mailbox id was not known yet:
        # (day, sender address, mailbox ids of the stored copies).
        self._pending_sent: list[tuple[date, str, tuple[int, ...]]] = []
        self._refused_by_address: Counter[tuple[str, date, str]] = Counter()
        # Refused messages from outside, when only their recipients' addresses are known.
        self._refused_for: list[tuple[date, str, tuple[str, ...]]] = []
        self._ids: dict[str, int] = {}  # address -> mailbox id, learnt at flush time
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self.failures = 0
        self.last_flush: datetime | None = None

    # -- time ----------------------------------------------------------------------------
    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    def local_day(self, at: datetime) -> date:
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the usage recorder; use aware UTC")
        return at.astimezone(self.tz).date()

    # -- events (hot path: no I/O) -------------------------------------------------------
    def on_login(self, address: str, protocol: str, ok: bool) -> None:
        """``LoginGuard.on_login``: one login (or failed attempt) through a door."""
        column = _LOGIN_COLUMN.get(protocol, "logins_web") if ok else "failed_logins"
        self._by_address[(address.lower(), self.today(), column)] += 1

    async def after_delivery(
        self, env: Envelope, parsed: ParsedMessage, result: DeliveryResult
    ) -> None:
        """``Pipeline.after_delivery``: count the message sent and the copies received."""
        day = self.local_day(env.received_at)
        copies = tuple(c.mailbox_id for c in result.stored.copies) if result.stored else ()
        if env.authenticated and env.auth_user:
            sender = env.auth_user.lower()
            self._by_address[(sender, day, "sent")] += 1
            sender_id = self._ids.get(sender)
            if sender_id is None:
                self._pending_sent.append((day, sender, copies))
                return
            copies = _without_one(copies, sender_id)
        for mid in copies:
            self._by_mailbox[(mid, day, "received")] += 1

    def filter_verdicts(
        self, env: Envelope, chain: ChainResult, recipient_agency_ids: Iterable[int]
    ) -> None:
        """``Pipeline.on_verdicts``: a message the spam check filed in Junk or refused
        (score or block list) counts as spam, one the virus check found infected as a
        virus, once for each agency it was addressed to."""
        kinds: set[FilterKind] = set()
        for v in chain.verdicts:
            if v.facts.get("spam") in _SPAM_OUTCOMES:
                kinds.add("spam")
            if v.facts.get("virus") == "infected":
                kinds.add("virus")
        if not kinds:
            return
        day = self.local_day(env.received_at)
        for aid in set(recipient_agency_ids):
            for kind in kinds:
                self.record_filter_verdict(aid, kind, day)

    def record_filter_verdict(
        self, agency_id: int, kind: FilterKind, day: date | None = None
    ) -> None:
        """A message for ``agency_id`` classified as spam or carrying a virus."""
        if kind not in ("spam", "virus"):
            raise ValueError(f"kind must be 'spam' or 'virus', not {kind!r}")
        self._by_agency[(agency_id, day or self.today(), kind)] += 1

    def policy_refused(
        self, check_name: str, agency_id: int | None, day: date | None = None
    ) -> None:
        """A message refused by the policy check ``check_name``; ``agency_id`` is the
        sender's agency (None: a sender from outside, not counted per agency)."""
        if agency_id is None:
            return
        day = day or self.today()
        self._by_agency[(agency_id, day, "refused")] += 1
        self._detail[(agency_id, day, "refused", (check_name or "?")[:100])] += 1

    def message_refused(
        self, check_name: str, env: Envelope, recipient_agency_ids: Iterable[int] = ()
    ) -> None:
        """A whole message refused by a policy check: counted for the sender's agency when
        the sender is one of ours (authenticated), else once for each agency the message
        was addressed to — ``recipient_agency_ids`` (what the pipeline's plan knows), or,
        when not given, the agencies of the envelope's recipient mailboxes (looked up at
        write time)."""
        day = self.local_day(env.received_at)
        check = (check_name or "?")[:100]
        if env.authenticated and env.auth_user:
            self._refused_by_address[(env.auth_user.lower(), day, check)] += 1
            return
        ids = set(recipient_agency_ids)
        if not ids:
            self._refused_for.append((day, check, tuple(a.lower() for a in env.rcpt_to)))
        for aid in ids:
            self.policy_refused(check, aid, day)

    def pending(self) -> int:
        """Counters waiting to be written."""
        return (
            len(self._by_address)
            + len(self._by_mailbox)
            + len(self._by_agency)
            + len(self._detail)
            + len(self._pending_sent)
            + len(self._refused_by_address)
            + len(self._refused_for)
        )

    # -- the service ---------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        await self.flush()

    def healthy(self) -> bool:
        return self._task is not None and not self._task.done() and self.failures < 3

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, self.interval)
            self._wake.clear()
            await self.flush()

    def flush_soon(self) -> None:
        self._wake.set()

    async def flush(self) -> int:
        """Write every counter gathered so far; returns the number of rows upserted."""
        async with self._flush_lock:
            if not self.pending():
                return 0
            taken = (
                self._by_address,
                self._by_mailbox,
                self._by_agency,
                self._detail,
                self._pending_sent,
                self._refused_by_address,
                self._refused_for,
            )
            self._by_address, self._by_mailbox = Counter(), Counter()
            self._by_agency, self._detail = Counter(), Counter()
            self._pending_sent = []
            self._refused_by_address = Counter()
            self._refused_for = []
            try:
                n = await self._write(*taken)
            except Exception:
                self.failures += 1
                log.exception("usage counters not written; kept for the next attempt")
                self._by_address.update(taken[0])
                self._by_mailbox.update(taken[1])
                self._by_agency.update(taken[2])
                self._detail.update(taken[3])
                self._pending_sent[:0] = taken[4]
                self._refused_by_address.update(taken[5])
                self._refused_for[:0] = taken[6]
                return 0
            self.failures = 0
            self.last_flush = self.clock()
            return n

    async def _write(
        self,
        by_address: Counter[tuple[str, date, str]],
        by_mailbox: Counter[tuple[int, date, str]],
        by_agency: Counter[tuple[int, date, str]],
        detail: Counter[tuple[int, date, str, str]],
        pending_sent: list[tuple[date, str, tuple[int, ...]]],
        refused_by_address: Counter[tuple[str, date, str]],
        refused_for: list[tuple[date, str, tuple[str, ...]]],
    ) -> int:
        by_agency, detail = Counter(by_agency), Counter(detail)
        async with self.store.write() as tx:
            repo = ReportsRepo(tx.session, self.store.dialect)
            addresses = (
                {a for a, _d, _c in by_address}
                | {a for _d, a, _c in pending_sent}
                | {a for a, _d, _c in refused_by_address}
                | {a for _d, _c, rcpts in refused_for for a in rcpts}
            )
            known = await repo.mailboxes_by_address(addresses) if addresses else {}
            for address, (mid, _aid) in known.items():
                self._ids[address] = mid
            if len(self._ids) > 200_000:
                self._ids.clear()
            agency_of = {mid: aid for mid, aid in known.values()}
            for (address, day, check), n in refused_by_address.items():
                hit = known.get(address)
                if hit is not None and hit[1] is not None:
                    by_agency[(hit[1], day, "refused")] += n
                    detail[(hit[1], day, "refused", check)] += n
            for day, check, rcpts in refused_for:
                for aid in {known[a][1] for a in rcpts if a in known} - {None}:
                    by_agency[(aid, day, "refused")] += 1
                    detail[(aid, day, "refused", check)] += 1

            per_mailbox: Counter[tuple[int, date, str]] = Counter(by_mailbox)
            for (address, day, column), n in by_address.items():
                hit = known.get(address)
                if hit is not None:  # unknown accounts (failed guesses) are not kept
                    per_mailbox[(hit[0], day, column)] += n
            for day, sender, copies in pending_sent:
                hit = known.get(sender)
                for mid in _without_one(copies, hit[0]) if hit else copies:
                    per_mailbox[(mid, day, "received")] += 1
            missing = {mid for mid, _d, _c in per_mailbox} - set(agency_of)
            if missing:
                agency_of.update(await repo.agencies_of_mailboxes(missing))

            rows: dict[tuple[date, int], dict[str, Any]] = {}
            for (mid, day, column), n in per_mailbox.items():
                row = rows.get((day, mid))
                if row is None:
                    row = rows[(day, mid)] = {
                        "day": day,
                        "mailbox_id": mid,
                        "agency_id": agency_of.get(mid),
                        **dict.fromkeys(MAILBOX_COUNTERS, 0),
                    }
                row[column] = int(row[column]) + n

            agency_rows: dict[tuple[date, int], dict[str, Any]] = {}

            def agency_row(day: date, aid: int) -> dict[str, Any]:
                row = agency_rows.get((day, aid))
                if row is None:
                    row = agency_rows[(day, aid)] = {
                        "day": day,
                        "agency_id": aid,
                        **dict.fromkeys(AGENCY_COUNTERS, 0),
                    }
                return row

            # Mailboxes becoming active on a day for the first time add to the agency's
            # count of active mailboxes.
            active_now: dict[date, set[int]] = {}
            for (day, mid), row in rows.items():
                if any(row[c] for c in _ACTIVE_COUNTERS):
                    active_now.setdefault(day, set()).add(mid)
            for day, mids in active_now.items():
                already = await repo.active_mailboxes_on(day, mids)
                for mid in mids - already:
                    aid = agency_of.get(mid)
                    if aid is not None:
                        r = agency_row(day, aid)
                        r["active_mailboxes"] = int(r["active_mailboxes"]) + 1

            for (day, _mid), row in rows.items():
                owner = row["agency_id"]
                if owner is None:
                    continue
                r = agency_row(day, int(owner))
                for c in MAILBOX_COUNTERS:
                    r[c] = int(r[c]) + int(row[c])
            for (aid, day, column), n in by_agency.items():
                r = agency_row(day, aid)
                r[column] = int(r[column]) + n

            detail_rows = [
                {"day": day, "agency_id": aid, "metric": metric, "detail": d, "count": n}
                for (aid, day, metric, d), n in detail.items()
            ]
            await repo.add_mailbox_days(list(rows.values()))
            await repo.add_agency_days(list(agency_rows.values()))
            await repo.add_detail_days(detail_rows)
            return len(rows) + len(agency_rows) + len(detail_rows)


def _without_one(copies: tuple[int, ...], mailbox_id: int) -> tuple[int, ...]:
    """The copies minus one copy in ``mailbox_id`` (the sender's Sent copy), if any."""
    if mailbox_id not in copies:
        return copies
    i = copies.index(mailbox_id)
    return copies[:i] + copies[i + 1 :]
