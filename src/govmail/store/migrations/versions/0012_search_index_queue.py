"""search: SQLite indexes new blob text after the delivery, not inside it

The trigram index costs about half of the pages a delivery transaction writes and a
quarter of its time. A new ``blob_text`` row now only queues its id in
``blob_fts_pending``; the group committer indexes the queue in batches right after each
delivery batch. Searches match queued texts directly, so results never lag. PostgreSQL's
GIN index (with its own pending list) is unchanged.

Revision ID: 0012
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE blob_fts_pending (blob_id INTEGER NOT NULL PRIMARY KEY)")
    op.execute("DROP TRIGGER IF EXISTS blob_text_ai")
    op.execute("DROP TRIGGER IF EXISTS blob_text_ad")
    op.execute(
        "CREATE TRIGGER blob_text_ai AFTER INSERT ON blob_text BEGIN "
        "INSERT OR IGNORE INTO blob_fts_pending(blob_id) VALUES (new.blob_id); END"
    )
    # An external-content FTS5 index must only be told to delete what it holds.
    op.execute(
        "CREATE TRIGGER blob_text_ad AFTER DELETE ON blob_text BEGIN "
        "INSERT INTO blob_fts(blob_fts, rowid, text) SELECT 'delete', old.blob_id, old.text "
        "WHERE NOT EXISTS (SELECT 1 FROM blob_fts_pending WHERE blob_id = old.blob_id); "
        "DELETE FROM blob_fts_pending WHERE blob_id = old.blob_id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO blob_fts(rowid, text) SELECT t.blob_id, t.text FROM blob_text t "
        "JOIN blob_fts_pending p ON p.blob_id = t.blob_id"
    )
    op.execute("DROP TRIGGER IF EXISTS blob_text_ai")
    op.execute("DROP TRIGGER IF EXISTS blob_text_ad")
    op.execute("DROP TABLE blob_fts_pending")
    op.execute(
        "CREATE TRIGGER blob_text_ai AFTER INSERT ON blob_text BEGIN "
        "INSERT INTO blob_fts(rowid, text) VALUES (new.blob_id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER blob_text_ad AFTER DELETE ON blob_text BEGIN "
        "INSERT INTO blob_fts(blob_fts, rowid, text) VALUES ('delete', old.blob_id, old.text); END"
    )
