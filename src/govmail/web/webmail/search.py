"""Searching mail (the same folded, diacritic-insensitive matching as IMAP SEARCH TEXT)
and recipient suggestions from the directory."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from starlette.responses import JSONResponse, Response

from govmail.mail.textfold import fold, query_terms
from govmail.store.db import Store
from govmail.store.repos.webmail import WebRepo
from govmail.web.routing import WebRequest, WebRouter
from govmail.web.webmail.common import PAGE_SIZE, accessible_mailboxes, folder_label, sidebar

router = WebRouter()
MAX_TERMS = 8


@router.get("/search")
async def search(w: WebRequest) -> Response:
    user = w.verified_user
    assert user is not None
    q = w.query("q").strip()[:200]
    terms = query_terms(q)[:MAX_TERMS]
    page = w.query_int("page", 1, lo=1)
    async with w.core.store.read() as tx:
        boxes = await accessible_mailboxes(w, tx)
        mailbox_id = w.query_int("mb", user.id)
        if mailbox_id not in boxes:
            mailbox_id = user.id
        folders = await tx.mail.folders_of(mailbox_id)
        by_id = {f.id: f for f in folders}
        only = w.query_int("folder", 0)
        scope = [only] if only in by_id else list(by_id)
        repo = WebRepo(tx.session, w.core.store.dialect)
        conditions = [repo.text_condition(t) for t in terms]
        total = await repo.count_messages(scope, conditions) if terms else 0
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(page, pages)
        messages = (
            await repo.listing(scope, conditions, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            if terms
            else []
        )
        side = await sidebar(w, tx, mailbox_id, None)
    labels = {fid: folder_label(w, f) for fid, f in by_id.items()}
    return w.render(
        "mail/search.html",
        {
            "q": q,
            "terms": terms,
            "messages": messages,
            "labels": labels,
            "total": total,
            "page": page,
            "pages": pages,
            "folders": side,
            "mailboxes": list(boxes.values()),
            "mailbox": boxes[mailbox_id],
            "only": only if only in by_id else 0,
        },
    )


@dataclass(frozen=True, slots=True)
class Entry:
    address: str
    name: str
    position: str | None
    kind: str
    folded: str


class DirectoryIndex:
    """Every listed address in memory, folded once, refreshed every ``ttl`` seconds: a
    suggestion costs no query, and "hang" finds "Nguyễn Thị Minh Hằng"."""

    def __init__(self, store: Store, ttl: float = 60.0) -> None:
        self.store = store
        self.ttl = ttl
        self.entries: list[Entry] = []
        self.loaded_at = -math.inf
        self._lock = asyncio.Lock()

    async def refresh(self, force: bool = False) -> None:
        async with self._lock:
            if not force and time.monotonic() - self.loaded_at < self.ttl:
                return
            async with self.store.read() as tx:
                rows = await WebRepo(tx.session, self.store.dialect).directory_entries()
            self.entries = [Entry(a, n, p, k, fold(f"{n} {a} {p or ''}")) for a, n, p, k in rows]
            self.loaded_at = time.monotonic()

    async def suggest(self, query: str, limit: int = 10) -> list[Entry]:
        await self.refresh()
        terms = fold(query).split()
        if not terms:
            return []
        scored: list[tuple[int, str, Entry]] = []
        for e in self.entries:
            if all(t in e.folded for t in terms):
                words = e.folded.split()
                starts = sum(any(w.startswith(t) for w in words) for t in terms)
                scored.append((-starts, e.address, e))
        scored.sort(key=lambda x: (x[0], x[1]))
        return [e for _s, _a, e in scored[:limit]]


def directory_index(w: WebRequest) -> DirectoryIndex:
    index = w.state.extras.get("directory_index")
    if index is None:
        index = w.state.extras["directory_index"] = DirectoryIndex(w.core.store)
    return index  # type: ignore[no-any-return]


@router.get("/contacts/suggest")
async def suggest(w: WebRequest) -> Response:
    q = w.query("q").strip()[:100]
    found = await directory_index(w).suggest(q) if len(q) >= 2 else []
    return JSONResponse(
        [
            {"address": e.address, "name": e.name, "position": e.position, "kind": e.kind}
            for e in found
        ]
    )
