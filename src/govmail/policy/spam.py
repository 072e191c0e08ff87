"""Spam scoring of mail from the Internet (the embedded default; rspamd.py is the other).

The score is the sum of header and content rules, of the SPF/DKIM/DMARC results that
SenderAuthCheck left in ``ctx.facts``, and of the Bayesian classifier's opinion once it is
trained. It is written into ``X-Spam-Score``/``X-Spam-Status``/``X-Spam-Flag``; from
``spam.junk_score`` the message goes to Junk, from ``spam.reject_score`` it is refused at
SMTP time. Per-agency (and installation-wide) allow and block lists, on the envelope sender
and the From address, are applied first: "block" refuses, "allow" skips the scoring.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from govmail.config import SpamSettings
from govmail.i18n import both
from govmail.mail.headers import decode_header_value
from govmail.policy.base import Action, MessageContext, Verdict
from govmail.policy.bayes import BayesClassifier, tokens_of
from govmail.store.db import Store
from govmail.store.repos.ops import OpsRepo

log = logging.getLogger("govmail.spam")

Recorder = Callable[[str, str], None]  # (kind, outcome), e.g. ("spam", "junk")
LIST_CACHE_SECONDS = 10.0

# Folded (no diacritics, lower case) phrases common in Vietnamese and English spam.
SPAM_PHRASES = (
    "trung thuong", "nhan thuong", "qua tang mien phi", "vay tien", "vay von nhanh",
    "lai suat thap", "giai ngan trong ngay", "kiem tien online", "thu nhap thu dong",
    "co hoi dau tu", "loi nhuan cao", "cam ket loi nhuan", "khuyen mai soc", "giam gia soc",
    "ca do", "soi keo", "nha cai", "casino", "bitcoin", "tien dien tu", "xac minh tai khoan",
    "tai khoan cua ban bi khoa", "click here", "act now", "free money", "you have won",
    "lottery", "winner", "viagra", "100% free", "risk-free", "wire transfer",
    "claim your prize", "limited time offer", "verify your account",
)  # fmt: skip
SHORTENERS = frozenset(
    {"bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "cutt.ly", "rb.gy",
     "shorturl.at", "tiny.cc"}
)  # fmt: skip
_URL = re.compile(rb"(?i)https?://([a-z0-9.\-\[\]:]{1,260})")
_IP_HOST = re.compile(r"^\[?\d{1,3}(\.\d{1,3}){3}\]?(:\d+)?$")
_EMAIL_IN_NAME = re.compile(r"[\w.+-]+@([\w-]+\.)+[\w-]+")


@dataclass(slots=True)
class Score:
    total: float = 0.0
    rules: list[tuple[str, float]] = field(default_factory=list)

    def add(self, rule: str, points: float) -> None:
        if points:
            self.total += points
            self.rules.append((rule, points))


def _header(ctx: MessageContext, name: str) -> str | None:
    name = name.lower()
    for f in ctx.parsed.headers:
        if f.name == name:
            value = ctx.raw[f.offset : f.offset + f.length].decode("utf-8", "replace")
            value = value.split(":", 1)[1] if ":" in value else value
            return " ".join(value.split())
    return None


def header_rules(ctx: MessageContext, score: Score, now: datetime) -> None:
    p = ctx.parsed
    names = {f.name for f in p.headers}
    if "date" not in names:
        score.add("MISSING_DATE", 1.0)
    elif p.date is not None:
        if p.date - now > timedelta(days=1):
            score.add("DATE_IN_FUTURE", 1.5)
        elif now - p.date > timedelta(days=30):
            score.add("DATE_IN_PAST", 1.0)
    if "message-id" not in names:
        score.add("MISSING_MID", 1.0)
    if "to" not in names and "cc" not in names:
        score.add("MISSING_TO", 0.5)
    subject = p.subject or ""
    if not subject.strip():
        score.add("EMPTY_SUBJECT", 0.5)
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 10 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score.add("SUBJECT_ALL_CAPS", 1.5)
    if "!!!" in subject or "$$$" in subject:
        score.add("SUBJECT_EXCLAIM", 1.0)
    display = p.from_display or ""
    m = _EMAIL_IN_NAME.search(display)
    if m and p.from_addr and m.group(0).lower() != p.from_addr.lower():
        score.add("FROM_NAME_OTHER_ADDRESS", 2.5)
    reply_to = _header(ctx, "reply-to")
    if reply_to and p.from_addr and "@" in p.from_addr:
        from_dom = p.from_addr.rsplit("@", 1)[1].lower()
        rt = decode_header_value(reply_to).lower()
        if "@" in rt and from_dom not in rt:
            score.add("REPLYTO_OTHER_DOMAIN", 0.5)


def content_rules(ctx: MessageContext, score: Score) -> None:
    p = ctx.parsed
    text = p.text_for_search or ""
    hits = sum(1 for phrase in SPAM_PHRASES if phrase in text)
    if hits:
        score.add("SPAM_PHRASES", min(4.0, 1.0 * hits))
    # Links in the raw source (plain bodies) and in the decoded text (base64, QP bodies).
    head = ctx.raw[:262144]
    found: set[bytes] = set()
    if b"://" in head:
        found |= set(_URL.findall(head))
    if "://" in text:
        found |= set(_URL.findall(text.encode()))
    hosts = [h.decode("latin-1").lower().strip("[]") for h in found]
    if any(_IP_HOST.match(h) for h in hosts):
        score.add("URL_IP_ADDRESS", 2.0)
    if any(h.split(":")[0] in SHORTENERS for h in hosts):
        score.add("URL_SHORTENER", 1.0)
    if len(hosts) > 15:
        score.add("MANY_URLS", 1.0)
    only_html = p.body.type == "text" and p.body.subtype == "html"
    if p.body.subtype == "alternative" and all(c.subtype == "html" for c in p.body.parts):
        only_html = True
    if only_html:
        score.add("HTML_ONLY", 0.8)


_AUTH_POINTS = {
    "spf": {"fail": 3.0, "softfail": 1.0, "none": 0.3, "permerror": 0.5, "pass": -0.5},
    "dkim": {"fail": 1.5, "pass": -1.0},
    "dmarc": {"fail": 3.0, "pass": -1.0},
}


def auth_rules(ctx: MessageContext, score: Score) -> None:
    for key, table in _AUTH_POINTS.items():
        result = ctx.facts.get(key)
        if isinstance(result, str) and result in table:
            score.add(f"{key.upper()}_{result.upper()}", table[result])


def bayes_points(probability: float | None) -> float:
    if probability is None:
        return 0.0
    for threshold, points in ((0.99, 4.5), (0.95, 3.0), (0.8, 1.5)):
        if probability >= threshold:
            return points
    for threshold, points in ((0.01, -3.0), (0.05, -1.5), (0.2, -0.5)):
        if probability <= threshold:
            return points
    return 0.0


def matches(pattern: str, address: str) -> bool:
    pattern, address = pattern.lower(), address.lower()
    if pattern.startswith("@"):
        dom = address.rsplit("@", 1)[-1]
        return dom == pattern[1:] or dom.endswith("." + pattern[1:])
    return address == pattern


class SenderLists:
    """Allow/block entries for a set of agencies, cached for a few seconds."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[frozenset[int], tuple[float, list[tuple[str, str]]]] = {}

    def invalidate(self) -> None:
        self._cache.clear()

    async def entries(self, agency_ids: Iterable[int]) -> list[tuple[str, str]]:
        key = frozenset(agency_ids)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.store.read() as tx:
            rows = await OpsRepo(tx.session, self.store.dialect).spam_entries(key)
        value = [(r.kind, r.pattern) for r in rows]
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[key] = (now + LIST_CACHE_SECONDS, value)
        return value

    async def decide(self, ctx: MessageContext) -> tuple[str, str] | None:
        """('block' | 'allow', the matching address), block first; None: no entry."""
        entries = await self.entries(ctx.recipient_agency_ids)
        if not entries:
            return None
        senders = [a for a in (ctx.envelope.mail_from, ctx.parsed.from_addr) if a]
        for wanted in ("block", "allow"):
            for kind, pattern in entries:
                if kind != wanted:
                    continue
                for s in senders:
                    if matches(pattern, s):
                        return kind, s
        return None


def spam_headers(total: float, junk_at: float, rules: list[tuple[str, float]]) -> list[
    tuple[str, str]
]:
    flag = total >= junk_at
    tests = ",".join(f"{r}={p:g}" for r, p in rules) or "none"
    return [
        ("X-Spam-Flag", "YES" if flag else "NO"),
        ("X-Spam-Score", f"{total:.1f}"),
        (
            "X-Spam-Status",
            f"{'Yes' if flag else 'No'}, score={total:.1f} required={junk_at:.1f} tests={tests}",
        ),
    ]


def verdict_for(
    name: str, total: float, settings: SpamSettings, headers: list[tuple[str, str]],
    **facts: object,
) -> Verdict:
    if total >= settings.reject_score:
        v = Verdict.refuse(name, both("policy.spam.rejected", score=f"{total:.1f}"), 550, "5.7.1")
        v.facts.update(facts)
        v.facts["spam"] = "reject"
    elif total >= settings.junk_score:
        v = Verdict(Action.JUNK, name, facts={**facts, "spam": "junk"})
    else:
        v = Verdict(Action.TAG, name, facts={**facts, "spam": "ham"})
    v.headers = headers
    v.facts["spam_score"] = round(total, 2)
    return v


class SpamCheck:
    """The embedded spam check. ``record`` (optional) counts outcomes for the metrics."""

    name = "spam"

    def __init__(
        self,
        settings: SpamSettings,
        store: Store,
        bayes: BayesClassifier | None = None,
        lists: SenderLists | None = None,
        record: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bayes = bayes or BayesClassifier(store, settings.bayes_min_messages)
        self.lists = lists or SenderLists(store)
        self.record = record

    def applies(self, ctx: MessageContext) -> bool:
        return self.settings.enabled and ctx.envelope.source == "mx"

    def _count(self, outcome: str) -> None:
        if self.record is not None:
            self.record("spam", outcome)

    async def check(self, ctx: MessageContext) -> Verdict:
        listed = await self.lists.decide(ctx)
        if listed is not None:
            kind, address = listed
            self._count(f"{kind}list")
            if kind == "block":
                return Verdict.refuse(
                    self.name, both("policy.spam.blocked", address=address), 550, "5.7.1",
                    spam="blocklist",
                )
            return Verdict(
                Action.TAG,
                self.name,
                headers=[("X-Spam-Flag", "NO"), ("X-Spam-Status", "No, allowlisted")],
                facts={"spam": "allowlist"},
            )
        score = Score()
        header_rules(ctx, score, datetime.now(UTC))
        content_rules(ctx, score)
        auth_rules(ctx, score)
        probability: float | None = None
        try:
            probability = await self.bayes.probability(tokens_of(ctx.parsed, ctx.raw))
        except Exception:
            log.exception("bayes classifier unavailable; scoring without it")
        if probability is not None:
            score.add("BAYES", bayes_points(probability))
        headers = spam_headers(score.total, self.settings.junk_score, score.rules)
        v = verdict_for(
            self.name, score.total, self.settings, headers,
            bayes=None if probability is None else round(probability, 4),
        )
        self._count(v.facts["spam"])
        return v
