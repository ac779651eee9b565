"""PostgreSQL: the search vector stored beside the terms, so matching never recomputes it.

The GIN index was on the expression to_tsvector('simple', terms). When the planner preferred
another index (the entity type), it computed to_tsvector for every candidate row: 140 ms for
an English word found in a few hundred of 20,000 documents. A stored generated column makes
that filter a comparison of stored values whatever plan is chosen. SQLite keeps its FTS5 table
and is not touched.

Revision ID: f1a2b3c4d5e6
Revises: e9f3a5b7c1d4
Create Date: 2026-12-06
"""

from alembic import op

revision = "f1a2b3c4d5e6"
down_revision = "e9f3a5b7c1d4"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS terms_tsv tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_search_documents_terms_tsv ON search_documents "
        "USING gin (terms_tsv)"
    )
    op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents "
        "USING gin (to_tsvector('simple', terms))"
    )
    op.execute("DROP INDEX IF EXISTS ix_search_documents_terms_tsv")
    op.execute("ALTER TABLE search_documents DROP COLUMN IF EXISTS terms_tsv")
