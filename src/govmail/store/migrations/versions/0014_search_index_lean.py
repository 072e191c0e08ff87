"""search: the SQLite full-text index keeps which texts hold each trigram, not where
(FTS5 ``detail=none``); a search checks the few texts it finds (``repos/search.py``)

Positions made the index several times as large and indexing twice as slow, for phrase queries
that a check of the candidate texts answers as well. The new index starts empty: every
text is pending again and indexed in the background (``store/search_index.py``); search
stays exact meanwhile by scanning pending texts.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(detail: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL's trigram index is the database's own
    # The delete trigger (migration 0013) names the table and is unchanged: it tells the
    # new table about texts that are indexed, and only those.
    op.execute("DROP TABLE blob_fts")
    op.execute(
        "CREATE VIRTUAL TABLE blob_fts USING fts5(text, content='blob_text',"
        f" content_rowid='blob_id', tokenize='trigram'{detail})"
    )
    op.execute("DELETE FROM fts_pending")
    op.execute("INSERT INTO fts_pending (blob_id) SELECT blob_id FROM blob_text")


def upgrade() -> None:
    _recreate(", detail='none'")


def downgrade() -> None:
    _recreate("")
