"""Per-mailbox filing rules, applied by the pipeline as a router (``Pipeline.routers``).

A rule says: when a field of an arriving message contains a text, do an action. Texts
are compared folded (``mail.textfold.fold``), so "cong van" matches "Công văn" exactly as
search does. Rules run in their order; the first that matches decides. Only copies bound
for the INBOX are filed: a Sent copy, an explicit folder (APPEND, drafts) or Junk stay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from govmail.delivery.committer import LocalCopy
from govmail.delivery.envelope import Envelope
from govmail.mail.parsed import ParsedMessage
from govmail.mail.textfold import fold
from govmail.store.db import Store
from govmail.store.repos.webmail import WebRepo

log = logging.getLogger("govmail.delivery.filters")

FIELDS = ("from", "to", "subject", "text")
ACTIONS = ("move", "read", "flag", "trash")


@dataclass(frozen=True, slots=True)
class Rule:
    field: str
    value: str  # folded
    action: str
    folder_id: int | None = None


def message_texts(parsed: ParsedMessage) -> dict[str, str]:
    """The folded text of each field a rule may look at."""
    from_text = " ".join(x for x in (parsed.from_display, parsed.from_addr) if x)
    return {
        "from": fold(from_text),
        "to": fold(" ".join([*parsed.to_addrs, *parsed.cc_addrs])),
        "subject": fold(parsed.subject or ""),
        "text": parsed.text_for_search or "",
    }


def matching_rule(rules: Sequence[Rule], texts: dict[str, str]) -> Rule | None:
    for rule in rules:
        if rule.value and rule.value in texts.get(rule.field, ""):
            return rule
    return None


def apply_rule(copy: LocalCopy, rule: Rule) -> LocalCopy:
    if rule.action == "move" and rule.folder_id is not None:
        return LocalCopy(copy.mailbox_id, copy.folder, copy.flags, rule.folder_id)
    if rule.action == "trash":
        return LocalCopy(copy.mailbox_id, "\\Trash", copy.flags)
    extra = {"read": "\\Seen", "flag": "\\Flagged"}.get(rule.action)
    if extra and extra not in copy.flags:
        return LocalCopy(copy.mailbox_id, copy.folder, (*copy.flags, extra), copy.folder_id)
    return copy


CACHE_SECONDS = 30.0


class MailFilters:
    """The router: reads the rules of the recipient mailboxes and files each copy.

    Rules are cached per mailbox (most mailboxes have none, and the hot path must not
    query for them on every message); the web settings pages call ``invalidate`` when a
    user changes their rules, and the cache expires anyway after ``CACHE_SECONDS``.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[int, tuple[float, list[Rule]]] = {}

    def invalidate(self, mailbox_id: int | None = None) -> None:
        if mailbox_id is None:
            self._cache.clear()
        else:
            self._cache.pop(mailbox_id, None)

    async def rules(self, mailbox_ids: list[int]) -> dict[int, list[Rule]]:
        now = time.monotonic()
        out: dict[int, list[Rule]] = {}
        missing: list[int] = []
        for mid in mailbox_ids:
            hit = self._cache.get(mid)
            if hit is not None and hit[0] > now:
                out[mid] = hit[1]
            else:
                missing.append(mid)
        if missing:
            async with self.store.read() as tx:
                stored = await WebRepo(tx.session, self.store.dialect).enabled_filters(missing)
            if len(self._cache) > 100_000:
                self._cache.clear()
            for mid in missing:
                rules = [
                    Rule(r.field, fold(r.value), r.action, r.folder_id) for r in stored.get(mid, ())
                ]
                self._cache[mid] = (now + CACHE_SECONDS, rules)
                out[mid] = rules
        return out

    async def __call__(
        self, copies: list[LocalCopy], parsed: ParsedMessage, env: Envelope
    ) -> list[LocalCopy]:
        candidates = [c.mailbox_id for c in copies if c.folder == "INBOX" and c.folder_id is None]
        if not candidates:
            return copies
        stored = await self.rules(candidates)
        if not any(stored.values()):
            return copies
        texts = message_texts(parsed)
        out: list[LocalCopy] = []
        for c in copies:
            rules = (
                stored.get(c.mailbox_id) if c.folder == "INBOX" and c.folder_id is None else None
            )
            rule = matching_rule(rules, texts) if rules else None
            out.append(apply_rule(c, rule) if rule else c)
        return out
