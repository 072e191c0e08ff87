"""In-process notifications of mailbox changes (new mail, flags, expunges).

IMAP IDLE sessions, the webmail and hooks subscribe to folders; the pipeline and the IMAP
commands publish. Subscribers get an asyncio.Queue; a slow subscriber only loses the
oldest notifications (it re-reads the folder state anyway), never blocks a publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class FolderChange:
    folder_id: int
    kind: Literal["new", "flags", "expunge", "deleted"]
    uid: int | None = None
    origin: object | None = None  # the session that made the change, so it can skip its own


class MailEvents:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subs: dict[int, set[asyncio.Queue[FolderChange]]] = defaultdict(set)
        self._size = queue_size

    def subscribe(self, folder_id: int) -> asyncio.Queue[FolderChange]:
        q: asyncio.Queue[FolderChange] = asyncio.Queue(self._size)
        self._subs[folder_id].add(q)
        return q

    def unsubscribe(self, folder_id: int, q: asyncio.Queue[FolderChange]) -> None:
        subs = self._subs.get(folder_id)
        if subs is not None:
            subs.discard(q)
            if not subs:
                del self._subs[folder_id]

    @contextlib.contextmanager
    def watching(self, folder_id: int) -> Iterator[asyncio.Queue[FolderChange]]:
        q = self.subscribe(folder_id)
        try:
            yield q
        finally:
            self.unsubscribe(folder_id, q)

    def publish(self, change: FolderChange) -> None:
        for q in list(self._subs.get(change.folder_id, ())):
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(change)

    def subscriber_count(self, folder_id: int) -> int:
        return len(self._subs.get(folder_id, ()))
