"""The one delivery path. Every door hands messages to ``Pipeline.deliver``:

parse once -> policy checks -> resolve recipients (directory) -> store (blob once, one row
per recipient folder, group-committed and durable) -> notify -> outbound queue.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from govmail.config import Settings
from govmail.delivery.committer import (
    GroupCommitter,
    LocalCopy,
    RemoteBatch,
    StoreJob,
    StoreResult,
)
from govmail.delivery.envelope import Envelope
from govmail.delivery.events import FolderChange, MailEvents
from govmail.delivery.received import received_field
from govmail.directory.resolve import Resolved, normalize_address, resolve_outside_tx
from govmail.directory.service import Directory
from govmail.i18n import both
from govmail.mail.parsed import ParsedMessage, parse_message
from govmail.mail.prepend import format_fields, prepend_fields
from govmail.mail.searchfields import header_folds
from govmail.policy.base import Action, ChainResult, MessageContext, PolicyCheck, run_chain
from govmail.policy.sender_auth import strip_authentication_results
from govmail.store.blobs import BlobStoreFull

log = logging.getLogger("govmail.delivery")
RCPT_CACHE_SECONDS = 5.0

Signer = Callable[[bytes, str], Awaitable[bytes | None]]
# Per-mailbox filing rules: given the local copies, may change each copy's folder/flags.
Router = Callable[[list[LocalCopy], ParsedMessage, Envelope], Awaitable[list[LocalCopy]]]
# Called after a delivery is durable (vacation replies, receipts, statistics); errors are
# logged, never propagated to the sender.
AfterDelivery = Callable[[Envelope, ParsedMessage, "DeliveryResult"], Awaitable[None]]


@dataclass(slots=True)
class RecipientStatus:
    address: str
    ok: bool
    code: int = 250
    enhanced: str = "2.0.0"
    reason: str = ""


@dataclass
class DeliveryRefused(Exception):
    """The whole message is refused (or must be retried: ``temporary``)."""

    code: int
    enhanced: str
    reason: str
    check: str = ""

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def __str__(self) -> str:
        return f"{self.code} {self.enhanced} {self.reason}"


@dataclass(slots=True)
class DeliveryResult:
    queue_id: str
    recipients: list[RecipientStatus]
    stored: StoreResult | None = None
    action: Action = Action.ACCEPT
    policy: ChainResult | None = None
    message_id: str | None = None
    junk: bool = False

    @property
    def accepted(self) -> list[str]:
        return [r.address for r in self.recipients if r.ok]

    @property
    def refused(self) -> list[RecipientStatus]:
        return [r for r in self.recipients if not r.ok]


@dataclass(slots=True)
class _Plan:
    copies: list[LocalCopy] = field(default_factory=list)
    remote: dict[str, list[str]] = field(default_factory=dict)
    statuses: list[RecipientStatus] = field(default_factory=list)
    agency_ids: set[int] = field(default_factory=set)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        committer: GroupCommitter,
        events: MailEvents,
        checks: Sequence[PolicyCheck] = (),
        *,
        signer: Signer | None = None,
        on_queued: Callable[[], None] | None = None,
        routers: Sequence[Router] = (),
        after_delivery: Sequence[AfterDelivery] = (),
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.committer = committer
        self.events = events
        self.checks = list(checks)
        self.signer = signer
        self.on_queued = on_queued
        self.routers = list(routers)
        # Told of every message a policy check refused (usage statistics).
        self.on_refused: Callable[[str, Envelope, set[int]], None] | None = None
        # Told of the verdicts of every message the chain did not put off (refused or
        # accepted), with its recipients' agencies (usage statistics: spam, viruses).
        self.on_verdicts: Callable[[Envelope, ChainResult, set[int]], None] | None = None
        self.after_delivery = list(after_delivery)
        self._background: set[asyncio.Task[None]] = set()
        self.hostname = settings.general.hostname
        self._local_domains: set[str] | None = None
        self._domains_read_at = 0.0
        self._rcpt_cache: dict[
            tuple[str, bool], tuple[int, float, tuple[RecipientStatus, Resolved, set[int]]]
        ] = {}

    # -- what the doors ask before DATA ----------------------------------------------------
    async def local_domains(self, refresh: bool = False) -> set[str]:
        """The hosted domains, re-read at most every two seconds (domains change rarely)."""
        now = time.monotonic()
        if self._local_domains is None or refresh or now - self._domains_read_at > 2.0:
            async with self.directory.reader() as ops:
                self._local_domains = await ops.repo.domain_names()
            self._domains_read_at = now
        return self._local_domains

    async def check_recipient(self, env: Envelope, address: str) -> RecipientStatus:
        """The RCPT-time decision for one recipient (the same rules ``deliver`` applies)."""
        status, _r, _agencies = (await self._resolve_many(env, [address]))[0]
        return status

    async def _resolve_many(
        self, env: Envelope, addresses: Sequence[str]
    ) -> list[tuple[RecipientStatus, Resolved, set[int]]]:
        """Resolution of each address with its RCPT status and the agencies it reaches.

        Answers are cached for a few seconds (RCPT then DATA, and the same recipients
        again and again under load); any directory change made in this process empties
        the cache at once, and changes made elsewhere (the CLI) show within the TTL.
        """
        now = time.monotonic()
        gen = self.directory.generation
        out: list[tuple[RecipientStatus, Resolved, set[int]] | None] = []
        missing: list[int] = []
        for i, a in enumerate(addresses):
            key = (normalize_address(a), env.authenticated or env.source == "system")
            hit = self._rcpt_cache.get(key)
            if hit is not None and hit[0] == gen and hit[1] > now:
                out.append(hit[2])
            else:
                out.append(None)
                missing.append(i)
        if missing:
            domains = await self.local_domains()
            for i in missing:
                r = await resolve_outside_tx(self.directory, addresses[i], domains)
                status = self._status_for(env, r)
                agencies = {m.agency_id for m in r.mailboxes if m.agency_id is not None}
                entry = (status, r, agencies)
                out[i] = entry
                if status.code != 452:  # quota answers must be fresh
                    if len(self._rcpt_cache) > 50_000:
                        self._rcpt_cache.clear()
                    key = (
                        normalize_address(addresses[i]),
                        env.authenticated or env.source == "system",
                    )
                    self._rcpt_cache[key] = (gen, now + RCPT_CACHE_SECONDS, entry)
        return [e for e in out if e is not None]

    @staticmethod
    def _status_for(env: Envelope, r: Resolved) -> RecipientStatus:
        if r.kind == "unknown":
            return RecipientStatus(
                r.address,
                False,
                550,
                "5.1.1",
                both("delivery.unknown_recipient", address=r.address),
            )
        if r.kind == "disabled":
            return RecipientStatus(
                r.address,
                False,
                550,
                "5.2.1",
                both("delivery.disabled_recipient", address=r.address),
            )
        if r.kind == "remote" and not (env.authenticated or env.source == "system"):
            return RecipientStatus(
                r.address, False, 554, "5.7.1", both("delivery.relay_denied", address=r.address)
            )
        if r.kind == "local" and len(r.mailboxes) == 1 and r.via != "group":
            m = r.mailboxes[0]
            if m.quota_bytes and m.used_bytes >= m.quota_bytes:
                return RecipientStatus(
                    r.address, False, 452, "4.2.2", both("delivery.over_quota", address=r.address)
                )
        return RecipientStatus(r.address, True)

    # -- the path ----------------------------------------------------------------------
    async def deliver(
        self,
        env: Envelope,
        raw: bytes,
        *,
        parsed: ParsedMessage | None = None,
        save_sent_copy: bool = True,
    ) -> DeliveryResult:
        """Deliver ``raw`` to every recipient of ``env``; returns once it is durable.

        Raises DeliveryRefused when the message as a whole is refused or must be retried.
        Recipients refused one by one are reported in the result.
        """
        limit = self.settings.limits.max_message_size
        if len(raw) > limit:
            raise DeliveryRefused(
                552, "5.3.4", both("delivery.too_big", size=len(raw), limit=limit)
            )
        queue_id = secrets.token_hex(8)
        if env.source == "mx" and parsed is None:
            # Results claimed under our own name by the sender are forged (RFC 8601 §5).
            raw = strip_authentication_results(raw, self.hostname)
        parsed = parsed or parse_message(raw)
        plan = await self._plan(env)
        if not plan.copies and not plan.remote:
            first = plan.statuses[0] if plan.statuses else None
            if first is not None and len(plan.statuses) == 1:
                raise DeliveryRefused(first.code, first.enhanced, first.reason, "recipients")
            raise DeliveryRefused(554, "5.5.1", both("delivery.no_recipients"), "recipients")

        ctx = MessageContext(env, raw, parsed, recipient_agency_ids=plan.agency_ids)
        chain = await run_chain(self.checks, ctx)
        # A temporary failure is retried by the sender: its verdicts come again then.
        if self.on_verdicts is not None and chain.action != Action.TEMPFAIL:
            self.on_verdicts(env, chain, plan.agency_ids)
        if chain.action in (Action.REFUSE, Action.TEMPFAIL):
            v = chain.final
            log.info(
                "refused by policy",
                extra={
                    "queue_id": queue_id,
                    "check": v.check,
                    "code": v.code,
                    "source": env.source,
                },
            )
            if self.on_refused is not None and chain.action == Action.REFUSE:
                self.on_refused(v.check, env, plan.agency_ids)
            raise DeliveryRefused(v.code, v.enhanced, v.reason, v.check)
        junk = chain.action == Action.JUNK

        fields = [received_field(env, self.hostname, queue_id), *chain.headers]
        block = format_fields(fields)
        final = block + raw
        meta = prepend_fields(parsed.to_dict(), block)
        dkim_domain = None
        if self.signer is not None and env.authenticated and parsed.from_addr:
            dkim_domain = parsed.from_addr.rsplit("@", 1)[-1].lower()
            sig = await self.signer(final, dkim_domain)
            if sig:
                final = sig + final
                meta = prepend_fields(meta, sig)
            else:
                dkim_domain = None
        search_text = meta.pop("text_for_search", "") or ""

        copies = plan.copies
        for route in self.routers:
            copies = await route(copies, parsed, env)
        if junk:
            copies = [
                LocalCopy(c.mailbox_id, "\\Junk" if c.folder == "INBOX" else c.folder, c.flags)
                for c in copies
            ]
        if save_sent_copy and env.authenticated:
            async with self.directory.reader() as ops:
                sender = await ops.repo.mailbox_by_address(env.auth_user or "")
            if sender is not None:
                copies = [*copies, LocalCopy(sender.id, "\\Sent", ("\\Seen",))]

        job = StoreJob(
            raw=final,
            meta=meta,
            search_text=search_text,
            internal_date=env.received_at,
            copies=copies,
            remote=[RemoteBatch(d, rcpts) for d, rcpts in plan.remote.items()],
            mail_from=env.mail_from,
            queue_lifetime=timedelta(hours=self.settings.queue.max_lifetime_hours),
            dkim_domain=dkim_domain,
            subject=parsed.subject or "",
            from_addr=parsed.from_addr or "",
            sent_date=parsed.date,
            message_id=parsed.message_id,
            has_attachments=parsed.has_attachments,
            folds=header_folds(meta),
        )
        try:
            stored = await self.committer.submit(job)
        except BlobStoreFull as exc:
            raise DeliveryRefused(452, "4.3.1", both("delivery.storage_full")) from exc
        except Exception as exc:
            log.exception("storing failed", extra={"queue_id": queue_id})
            raise DeliveryRefused(451, "4.3.0", both("delivery.storage_error")) from exc

        for c in stored.copies:
            self.events.publish(FolderChange(c.folder_id, "new", c.uid))
        if stored.outbound_ids and self.on_queued is not None:
            self.on_queued()
        log.info(
            "delivered",
            extra={
                "queue_id": queue_id,
                "source": env.source,
                "size": len(final),
                "local": len(stored.copies),
                "remote": len(stored.outbound_ids),
                "junk": junk,
            },
        )
        result = DeliveryResult(
            queue_id, plan.statuses, stored, chain.action, chain, parsed.message_id, junk
        )
        for hook in self.after_delivery:
            task = asyncio.create_task(self._after(hook, env, parsed, result))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return result

    async def _after(
        self, hook: AfterDelivery, env: Envelope, parsed: ParsedMessage, result: DeliveryResult
    ) -> None:
        try:
            await hook(env, parsed, result)
        except Exception:
            log.exception("after-delivery hook failed", extra={"queue_id": result.queue_id})

    async def wait_background(self) -> None:
        """Wait for the after-delivery work started so far (shutdown, tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def _plan(self, env: Envelope) -> _Plan:
        plan = _Plan()
        seen_mailboxes: set[int] = set()
        for status, r, agencies in await self._resolve_many(env, env.rcpt_to):
            plan.statuses.append(status)
            if not status.ok:
                continue
            for mid in r.mailbox_ids:
                if mid not in seen_mailboxes:
                    seen_mailboxes.add(mid)
                    plan.copies.append(LocalCopy(mid))
            plan.agency_ids |= agencies
            for addr in r.remote:  # direct remote recipients were checked above
                dom = addr.rsplit("@", 1)[1]
                lst = plan.remote.setdefault(dom, [])
                if addr not in lst:
                    lst.append(addr)
        return plan
