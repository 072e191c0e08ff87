"""Spam scoring by rspamd through its HTTP API (``POST /checkv2`` on the normal worker),
used instead of the embedded check when ``spam.engine = "rspamd"``.

rspamd's action decides ("reject" refuses, "add header"/"rewrite subject" file in Junk);
govmail's own thresholds apply to rspamd's score as well, so an installation moving from
the embedded engine keeps its limits. Allow/block lists are applied before rspamd is
asked. When rspamd cannot answer, ``spam.on_failure`` decides: 451 or accept-and-tag.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from govmail.config import SpamSettings
from govmail.i18n import both
from govmail.policy.base import Action, MessageContext, Verdict
from govmail.policy.spam import Recorder, SenderLists, spam_headers
from govmail.store.db import Store

log = logging.getLogger("govmail.spam.rspamd")


class RspamdUnavailable(Exception):
    pass


class RspamdClient:
    def __init__(self, url: str, password: str = "", timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.password = password
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def check(self, raw: bytes, headers: list[tuple[str, str]]) -> dict[str, Any]:
        if self.password:
            headers = [*headers, ("Password", self.password)]
        try:
            r = await self._http().post(f"{self.url}/checkv2", content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise RspamdUnavailable(f"rspamd at {self.url}: {exc!r}") from exc
        if r.status_code != 200:
            raise RspamdUnavailable(f"rspamd at {self.url} answered HTTP {r.status_code}")
        try:
            data = r.json()
        except ValueError as exc:
            raise RspamdUnavailable(f"rspamd at {self.url} sent no JSON") from exc
        if not isinstance(data, dict) or "score" not in data or "action" not in data:
            raise RspamdUnavailable(f"rspamd at {self.url} sent an unexpected answer")
        return data


def request_headers(ctx: MessageContext, hostname: str) -> list[tuple[str, str]]:
    env = ctx.envelope
    h: list[tuple[str, str]] = [("From", env.mail_from or "<>"), ("Hostname", hostname)]
    if env.client_ip:
        h.append(("IP", env.client_ip))
    if env.helo:
        h.append(("Helo", env.helo))
    if env.auth_user:
        h.append(("User", env.auth_user))
    h.extend(("Rcpt", r) for r in env.rcpt_to)
    return h


class RspamdCheck:
    name = "spam"

    def __init__(
        self,
        settings: SpamSettings,
        store: Store | None = None,
        hostname: str = "localhost",
        client: RspamdClient | None = None,
        lists: SenderLists | None = None,
        record: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.hostname = hostname
        self.client = client or RspamdClient(
            settings.rspamd_url, settings.rspamd_password, settings.timeout_seconds
        )
        self.lists = lists if lists is not None else (SenderLists(store) if store else None)
        self.record = record

    def applies(self, ctx: MessageContext) -> bool:
        return self.settings.enabled and ctx.envelope.source == "mx"

    def _count(self, outcome: str) -> None:
        if self.record is not None:
            self.record("spam", outcome)

    async def check(self, ctx: MessageContext) -> Verdict:
        if self.lists is not None:
            listed = await self.lists.decide(ctx)
            if listed is not None:
                kind, address = listed
                self._count(f"{kind}list")
                if kind == "block":
                    return Verdict.refuse(
                        self.name, both("policy.spam.blocked", address=address), 550, "5.7.1",
                        spam="blocklist",
                    )
                return Verdict(Action.TAG, self.name,
                               headers=[("X-Spam-Status", "No, allowlisted")],
                               facts={"spam": "allowlist"})
        try:
            data = await self.client.check(ctx.raw, request_headers(ctx, self.hostname))
        except RspamdUnavailable as exc:
            log.warning("rspamd unavailable", extra={"error": str(exc),
                                                     "on_failure": self.settings.on_failure})
            self._count("unscanned")
            if self.settings.on_failure == "tempfail":
                return Verdict.tempfail(self.name, both("policy.spam.unavailable"),
                                        spam="unscanned")
            return Verdict(Action.TAG, self.name,
                           headers=[("X-Spam-Status", "unscanned")],
                           facts={"spam": "unscanned"})
        score = float(data.get("score", 0.0))
        action = str(data.get("action", "no action"))
        symbols = data.get("symbols") or {}
        rules = sorted(
            ((str(k), float(v.get("score", 0.0))) for k, v in symbols.items()
             if isinstance(v, dict) and v.get("score")),
            key=lambda kv: -abs(kv[1]),
        )[:20]
        headers = spam_headers(score, self.settings.junk_score, rules)
        headers.append(("X-Spam-Action", action))
        if action == "reject" or score >= self.settings.reject_score:
            self._count("reject")
            v = Verdict.refuse(
                self.name, both("policy.spam.rejected", score=f"{score:.1f}"), 550, "5.7.1",
                spam="reject",
            )
        elif action in ("add header", "rewrite subject") or score >= self.settings.junk_score:
            self._count("junk")
            v = Verdict(Action.JUNK, self.name, facts={"spam": "junk"})
            headers[0] = ("X-Spam-Flag", "YES")
        else:
            self._count("ham")
            v = Verdict(Action.TAG, self.name, facts={"spam": "ham"})
        v.headers = headers
        v.facts.update({"spam_score": round(score, 2), "rspamd_action": action})
        return v
