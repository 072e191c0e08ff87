"""Search inside a folder without reading message files.

Terms arrive already folded (``mail.textfold.fold``: lower-case, no diacritics, đ -> d),
so "cong van" finds "Công văn". Body text is matched through the full-text index over
``blob_text`` (SQLite FTS5 with trigram tokens, PostgreSQL pg_trgm): substring semantics,
as RFC 3501 asks, for terms of three characters or more; shorter terms scan the folded
text in the database, still without touching message files.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Integer, and_, column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from govmail.store.models import BlobText, Message

HEADER_COLUMNS = {
    "subject": Message.subject_fold,
    "from": Message.from_fold,
    "to": Message.to_fold,
    "cc": Message.cc_fold,
}


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SearchRepo:
    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.s = session
        self.dialect = dialect

    def header_condition(self, field: str, term: str) -> ColumnElement[bool]:
        return HEADER_COLUMNS[field].like(like_pattern(term), escape="\\")

    def body_condition(self, term: str) -> ColumnElement[bool]:
        """Condition on Message: its blob's folded text contains ``term``."""
        if self.dialect == "sqlite" and len(term) >= 3:
            quoted = '"' + term.replace('"', '""') + '"'
            sub = text("SELECT rowid FROM blob_fts WHERE blob_fts MATCH :q").bindparams(q=quoted)
            return Message.blob_id.in_(sub.columns(column("rowid", Integer)))
        sub2 = select(BlobText.blob_id).where(BlobText.text.like(like_pattern(term), escape="\\"))
        return Message.blob_id.in_(sub2)

    async def uids(self, folder_id: int, conditions: Sequence[ColumnElement[bool]]) -> list[int]:
        q = select(Message.uid).where(and_(Message.folder_id == folder_id, *conditions))
        return list((await self.s.scalars(q.order_by(Message.uid))).all())

    async def text(self, folder_id: int, term: str) -> list[int]:
        """UIDs whose headers or body contain ``term`` (IMAP TEXT)."""
        cond = or_(
            self.body_condition(term), *(self.header_condition(f, term) for f in HEADER_COLUMNS)
        )
        return await self.uids(folder_id, [cond])
