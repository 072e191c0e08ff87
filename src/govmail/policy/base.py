"""The policy interface: one small check, one signature (context in, verdict out).

A check looks at a message on its way through the pipeline and answers with a
``Verdict``: accept it, tag it (headers to add, a spam score), file it in Junk, refuse it
with a reason the sender will read, or fail temporarily (the sender retries). The chain
runs the checks in order; the first refusal or temporary failure ends it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from govmail.delivery.envelope import Envelope
    from govmail.mail.parsed import ParsedMessage


class Action(enum.IntEnum):
    # Ordered by severity: the chain keeps the most severe outcome.
    ACCEPT = 0
    TAG = 1
    JUNK = 2
    TEMPFAIL = 3
    REFUSE = 4


@dataclass(slots=True)
class Verdict:
    action: Action = Action.ACCEPT
    check: str = ""
    # SMTP reply for REFUSE / TEMPFAIL, e.g. (550, "5.7.1"); the door maps it to its protocol.
    code: int = 250
    enhanced: str = "2.0.0"
    # Reason shown to the sender (bilingual where it reaches people).
    reason: str = ""
    # Header fields to prepend to the stored message, e.g. ("Authentication-Results", "...").
    headers: list[tuple[str, str]] = field(default_factory=list)
    score: float = 0.0
    # Machine-readable facts for later checks, logs and metrics (e.g. {"spf": "pass"}).
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def accept(cls, check: str = "", **facts: Any) -> Verdict:
        return cls(Action.ACCEPT, check, facts=dict(facts))

    @classmethod
    def refuse(cls, check: str, reason: str, code: int = 550, enhanced: str = "5.7.1",
               **facts: Any) -> Verdict:
        return cls(Action.REFUSE, check, code, enhanced, reason, facts=dict(facts))

    @classmethod
    def tempfail(cls, check: str, reason: str, code: int = 451, enhanced: str = "4.7.1",
                 **facts: Any) -> Verdict:
        return cls(Action.TEMPFAIL, check, code, enhanced, reason, facts=dict(facts))


@dataclass(slots=True)
class MessageContext:
    """What a check may look at. ``facts`` collects the facts of earlier checks."""

    envelope: Envelope
    raw: bytes
    parsed: ParsedMessage
    # Local recipients' agencies (ids), filled once recipients are resolved.
    recipient_agency_ids: set[int] = field(default_factory=set)
    sender_agency_id: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


class PolicyCheck(Protocol):
    name: str

    def applies(self, ctx: MessageContext) -> bool:
        """Whether this check runs for this message (e.g. only for mail from the Internet)."""
        ...

    async def check(self, ctx: MessageContext) -> Verdict: ...


@dataclass(slots=True)
class ChainResult:
    action: Action
    verdicts: list[Verdict]
    headers: list[tuple[str, str]]
    score: float

    @property
    def final(self) -> Verdict:
        worst = max(self.verdicts, key=lambda v: v.action, default=Verdict())
        return worst


async def run_chain(checks: list[PolicyCheck], ctx: MessageContext) -> ChainResult:
    verdicts: list[Verdict] = []
    headers: list[tuple[str, str]] = []
    score = 0.0
    action = Action.ACCEPT
    for c in checks:
        if not c.applies(ctx):
            continue
        v = await c.check(ctx)
        v.check = v.check or c.name
        verdicts.append(v)
        ctx.facts.update(v.facts)
        headers.extend(v.headers)
        score += v.score
        action = max(action, v.action)
        if v.action in (Action.REFUSE, Action.TEMPFAIL):
            break
    return ChainResult(action, verdicts, headers, score)
