"""In-process rate limits: sliding-window counters and concurrent-connection counts."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class WindowLimiter:
    """At most ``limit`` events per ``window`` seconds for each key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._events[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def allow(self, key: str) -> bool:
        """Count one event for ``key`` if it fits; False (not counted) if over the limit."""
        now = self.clock()
        q = self._trim(key, now)
        if len(q) >= self.limit:
            return False
        q.append(now)
        if len(self._events) > 100_000:
            self._gc(now)
        return True

    def count(self, key: str) -> int:
        return len(self._trim(key, self.clock()))

    def _gc(self, now: float) -> None:
        for k in [k for k, q in self._events.items() if not q or q[-1] <= now - self.window]:
            del self._events[k]


class ConnectionCounter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = defaultdict(int)

    def acquire(self, key: str) -> bool:
        if self._open[key] >= self.limit:
            return False
        self._open[key] += 1
        return True

    def release(self, key: str) -> None:
        n = self._open.get(key, 0) - 1
        if n <= 0:
            self._open.pop(key, None)
        else:
            self._open[key] = n

    def current(self, key: str) -> int:
        return self._open.get(key, 0)
