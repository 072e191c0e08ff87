"""search: texts are indexed off the delivery path; ``fts_pending`` lists those not yet in
the SQLite full-text index (``store/search_index.py``)

Revision ID: 0013
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL's trigram index is kept up to date by the database itself
    op.execute("CREATE TABLE fts_pending (blob_id INTEGER PRIMARY KEY)")
    op.execute("DROP TRIGGER IF EXISTS blob_text_ai")
    op.execute("DROP TRIGGER IF EXISTS blob_text_ad")
    op.execute(
        "CREATE TRIGGER blob_text_ai AFTER INSERT ON blob_text BEGIN "
        "INSERT OR IGNORE INTO fts_pending (blob_id) VALUES (new.blob_id); END"
    )
    # A text still pending is not in the index: telling FTS5 to delete it would corrupt
    # the index (an external-content table trusts the values it is given).
    op.execute(
        "CREATE TRIGGER blob_text_ad AFTER DELETE ON blob_text BEGIN "
        "INSERT INTO blob_fts (blob_fts, rowid, text) SELECT 'delete', old.blob_id, old.text"
        " WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE blob_id = old.blob_id); "
        "DELETE FROM fts_pending WHERE blob_id = old.blob_id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO blob_fts (rowid, text) SELECT blob_id, text FROM blob_text"
        " WHERE blob_id IN (SELECT blob_id FROM fts_pending)"
    )
    op.execute("DROP TRIGGER IF EXISTS blob_text_ai")
    op.execute("DROP TRIGGER IF EXISTS blob_text_ad")
    op.execute("DROP TABLE fts_pending")
    op.execute(
        "CREATE TRIGGER blob_text_ai AFTER INSERT ON blob_text BEGIN "
        "INSERT INTO blob_fts(rowid, text) VALUES (new.blob_id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER blob_text_ad AFTER DELETE ON blob_text BEGIN "
        "INSERT INTO blob_fts(blob_fts, rowid, text) VALUES ('delete', old.blob_id, old.text); END"
    )
