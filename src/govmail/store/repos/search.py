"""Search inside a folder without reading message files.

Terms arrive already folded (``mail.textfold.fold``: lower-case, no diacritics, đ -> d),
so "cong van" finds "Công văn". Body text is matched through the full-text index over
``blob_text`` (SQLite FTS5 with trigram tokens, PostgreSQL pg_trgm): substring semantics,
as RFC 3501 asks, for terms of three characters or more; shorter terms scan the folded
text in the database, still without touching message files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    column,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import BlobText, Message
from govmail.store.search_index import PENDING

# Trigrams of one search term asked of the full-text index (SQLite).
MAX_TRIGRAMS = 12

HEADER_COLUMNS = {
    "subject": Message.subject_fold,
    "from": Message.from_fold,
    "to": Message.to_fold,
    "cc": Message.cc_fold,
}


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def trigram_query(term: str) -> str:
    """An FTS5 query for texts holding every trigram of ``term`` (three characters or
    more), each quoted as a string of its own; a long term is represented by at most
    ``MAX_TRIGRAMS`` of them, spread over it, as the candidates are checked anyway."""
    grams = list(dict.fromkeys(term[i : i + 3] for i in range(len(term) - 2)))
    if len(grams) > MAX_TRIGRAMS:
        last = len(grams) - 1
        grams = [grams[round(k * last / (MAX_TRIGRAMS - 1))] for k in range(MAX_TRIGRAMS)]
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


class SearchRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    def header_condition(self, field: str, term: str) -> ColumnElement[bool]:
        return HEADER_COLUMNS[field].like(like_pattern(term), escape="\\")

    def body_condition(self, term: str) -> ColumnElement[bool]:
        """Condition on Message: its blob's folded text contains ``term``. Parameters are
        anonymous, so several terms can share one statement."""
        if self.dialect == "sqlite" and len(term) >= 3:
            # The index knows which texts hold each trigram of the term, not where
            # (migration 0014): texts holding them all are candidates, and their own
            # text is checked. Texts not indexed yet (store/search_index.py) are few and
            # checked the same way. instr, as SQLite refuses LIKE patterns over 50,000
            # bytes; both sides are folded.
            indexed = (
                select(column("rowid", Integer))
                .select_from(table("blob_fts"))
                .where(column("blob_fts").op("MATCH")(bindparam(None, trigram_query(term))))
            )
            pending = select(column("blob_id", Integer)).select_from(table(PENDING))
            holds = (
                select(BlobText.blob_id)
                .where(
                    BlobText.blob_id == Message.blob_id,
                    func.instr(BlobText.text, bindparam(None, term)) > 0,
                )
                .exists()
            )
            return and_(or_(Message.blob_id.in_(indexed), Message.blob_id.in_(pending)), holds)
        contains = BlobText.text.like(bindparam(None, like_pattern(term)), escape="\\")
        return Message.blob_id.in_(select(BlobText.blob_id).where(contains))

    async def uids(self, folder_id: int, conditions: Sequence[ColumnElement[bool]]) -> list[int]:
        q = select(Message.uid).where(and_(Message.folder_id == folder_id, *conditions))
        return list((await self.s.scalars(q.order_by(Message.uid))).all())

    async def text(self, folder_id: int, term: str) -> list[int]:
        """UIDs whose headers or body contain ``term`` (IMAP TEXT)."""
        cond = or_(
            self.body_condition(term), *(self.header_condition(f, term) for f in HEADER_COLUMNS)
        )
        return await self.uids(folder_id, [cond])

    # -- IMAP SEARCH -----------------------------------------------------------------------
    # Building blocks the IMAP door combines into one condition per SEARCH; the door never
    # sees SQL, only these opaque conditions.

    def imap_true(self) -> ColumnElement[bool]:
        return true()

    def imap_false(self) -> ColumnElement[bool]:
        return false()

    def imap_and(self, conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        return and_(true(), *conditions) if not conditions else and_(*conditions)

    def imap_or(self, conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        return or_(false(), *conditions) if not conditions else or_(*conditions)

    def imap_not(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return not_(condition)

    def imap_flag(self, name: str, present: bool = True) -> ColumnElement[bool]:
        """``name``: seen, answered, flagged, deleted or draft."""
        column = IMAP_FLAG_COLUMNS[name]
        return column.is_(True) if present else column.is_(False)

    def imap_keyword(self, keyword: str, present: bool = True) -> ColumnElement[bool]:
        padded = func.lower(literal(" ") + Message.keywords + literal(" "))
        cond = padded.like(like_pattern(f" {keyword.lower()} "), escape="\\")
        return cond if present else not_(cond)

    def imap_uids_in(self, ranges: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
        """UID within one of the inclusive ``ranges``."""
        if not ranges:
            return false()
        if len(ranges) > 200:
            return Message.uid.in_([u for a, b in ranges for u in range(a, b + 1)])
        return or_(*(Message.uid.between(a, b) if a != b else Message.uid == a for a, b in ranges))

    def imap_internal_date(
        self, since: datetime | None = None, before: datetime | None = None
    ) -> ColumnElement[bool]:
        """``since <= internal_date < before`` (either bound may be left open)."""
        return _between(Message.internal_date, since, before)

    def imap_sent_date(
        self, since: datetime | None = None, before: datetime | None = None
    ) -> ColumnElement[bool]:
        return and_(Message.sent_date.is_not(None), _between(Message.sent_date, since, before))

    def imap_size(
        self, larger: int | None = None, smaller: int | None = None
    ) -> ColumnElement[bool]:
        conds: list[ColumnElement[bool]] = []
        if larger is not None:
            conds.append(Message.size > larger)
        if smaller is not None:
            conds.append(Message.size < smaller)
        return and_(*conds) if conds else true()

    def imap_modseq_at_least(self, modseq: int) -> ColumnElement[bool]:
        return Message.modseq >= modseq

    def imap_message_id(self, term: str) -> ColumnElement[bool]:
        return func.lower(func.coalesce(Message.message_id_header, "")).like(
            like_pattern(term.lower()), escape="\\"
        )

    async def imap_search(
        self, folder_id: int, condition: ColumnElement[bool], max_uid: int
    ) -> list[tuple[int, int]]:
        """(uid, modseq) of the messages up to ``max_uid`` matching ``condition``."""
        q = (
            select(Message.uid, Message.modseq)
            .where(Message.folder_id == folder_id, Message.uid <= max_uid, condition)
            .order_by(Message.uid)
        )
        return [(int(u), int(m)) for u, m in (await self.s.execute(q)).all()]


IMAP_FLAG_COLUMNS = {
    "seen": Message.seen,
    "answered": Message.answered,
    "flagged": Message.flagged,
    "deleted": Message.deleted,
    "draft": Message.draft,
}


def _between(column: Any, since: datetime | None, before: datetime | None) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = []
    if since is not None:
        conds.append(column >= since)
    if before is not None:
        conds.append(column < before)
    return and_(*conds) if conds else true()
