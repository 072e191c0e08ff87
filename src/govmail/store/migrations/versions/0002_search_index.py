"""search: folded header columns and the full-text index over blob text

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(
            sa.Column("subject_fold", sa.String(1000), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("from_fold", sa.String(1000), nullable=False, server_default=""))
        batch.add_column(sa.Column("to_fold", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("cc_fold", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Trigram tokens give substring semantics (RFC 3501 SEARCH) on the folded text.
        op.execute(
            "CREATE VIRTUAL TABLE blob_fts USING fts5("
            "text, content='blob_text', content_rowid='blob_id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER blob_text_ai AFTER INSERT ON blob_text BEGIN "
            "INSERT INTO blob_fts(rowid, text) VALUES (new.blob_id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER blob_text_ad AFTER DELETE ON blob_text BEGIN "
            "INSERT INTO blob_fts(blob_fts, rowid, text) VALUES ('delete', old.blob_id, old.text); END"
        )
        op.execute("INSERT INTO blob_fts(rowid, text) SELECT blob_id, text FROM blob_text")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_blob_text_trgm ON blob_text USING gin (text gin_trgm_ops)")
        op.execute(
            "CREATE INDEX ix_message_subject_trgm ON message USING gin (subject_fold gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS blob_text_ad")
        op.execute("DROP TRIGGER IF EXISTS blob_text_ai")
        op.execute("DROP TABLE IF EXISTS blob_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_message_subject_trgm")
        op.execute("DROP INDEX IF EXISTS ix_blob_text_trgm")
    with op.batch_alter_table("message") as batch:
        for col in ("cc_fold", "to_fold", "from_fold", "subject_fold"):
            batch.drop_column(col)
