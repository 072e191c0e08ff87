"""One guard against password guessing for every door (SMTP AUTH, IMAP, POP3, web).

Failed logins are counted per account and per client address over a sliding window;
past the limits the account or the address is locked for a while, and every failure costs
a growing delay. Whatever the door, the same counters apply. The admin sees the locks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from govmail.config import AuthSettings
from govmail.directory.service import Directory
from govmail.ratelimit import WindowLimiter
from govmail.store.models import Mailbox

Protocol = Literal["smtp", "imap", "pop3", "web", "api"]


@dataclass(slots=True)
class LoginOutcome:
    mailbox: Mailbox | None
    locked: bool = False  # refused without checking the password

    @property
    def ok(self) -> bool:
        return self.mailbox is not None


@dataclass(slots=True)
class LockInfo:
    key: str
    kind: Literal["account", "address"]
    failures: int
    seconds_left: float


class LoginGuard:
    def __init__(
        self,
        settings: AuthSettings,
        clock: Callable[[], float] = time.monotonic,
        max_delay: float = 3.0,
    ) -> None:
        window = settings.lockout_minutes * 60.0
        self.by_account = WindowLimiter(settings.max_failures_per_account, window, clock)
        self.by_address = WindowLimiter(settings.max_failures_per_ip, window, clock)
        self.clock = clock
        self.window = window
        self.max_delay = max_delay
        self.stats: dict[tuple[str, str], int] = {}
        self.on_login: Callable[[str, Protocol, bool], None] | None = None

    def locked(self, account: str, address: str | None) -> bool:
        if self.by_account.count(account) >= self.by_account.limit:
            return True
        return bool(address) and self.by_address.count(address or "") >= self.by_address.limit

    def _record(self, protocol: Protocol, outcome: str) -> None:
        key = (protocol, outcome)
        self.stats[key] = self.stats.get(key, 0) + 1

    async def login(
        self,
        directory: Directory,
        account: str,
        password: str,
        address: str | None,
        protocol: Protocol,
    ) -> LoginOutcome:
        account = account.strip().lower()
        if self.locked(account, address):
            self._record(protocol, "locked")
            return LoginOutcome(None, locked=True)
        async with directory.reader() as ops:
            mailbox = await ops.authenticate(account, password)
        if mailbox is None:
            self.by_account.allow(account)
            if address:
                self.by_address.allow(address)
            self._record(protocol, "failure")
            failures = self.by_account.count(account)
            await asyncio.sleep(min(self.max_delay, 0.2 * failures))
            if self.on_login:
                self.on_login(account, protocol, False)
            return LoginOutcome(None)
        self._record(protocol, "success")
        if self.on_login:
            self.on_login(mailbox.address, protocol, True)
        return LoginOutcome(mailbox)

    def locks(self) -> list[LockInfo]:
        out: list[LockInfo] = []
        now = self.clock()
        for kind, limiter in (("account", self.by_account), ("address", self.by_address)):
            for key, q in list(limiter._events.items()):
                n = limiter.count(key)
                if n >= limiter.limit and q:
                    out.append(LockInfo(key, kind, n, max(0.0, q[0] + self.window - now)))  # type: ignore[arg-type]
        return out
