"""Search index: one document per live record, indexed by each engine's full-text search.

SQLite gets an FTS5 table kept in step by triggers; PostgreSQL a GIN index over
to_tsvector('simple', terms). The statements are copied from crm.services.search as they were
when this migration was written. Existing records are indexed by `flask crm reindex`.

Revision ID: 243257964d54
Revises: d5d54c18e46c
Create Date: 2026-11-25 00:48:22.445966

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '243257964d54'
down_revision = 'd5d54c18e46c'
branch_labels = None
depends_on = None

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "terms, content='search_documents', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS search_documents_au",
    "DROP TRIGGER IF EXISTS search_documents_ad",
    "DROP TRIGGER IF EXISTS search_documents_ai",
    "DROP TABLE IF EXISTS search_fts",
)
POSTGRES_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents "
    "USING gin (to_tsvector('simple', terms))",
)


def upgrade():
    op.create_table('search_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('subtitle', sa.String(length=300), nullable=False),
    sa.Column('keys', sa.String(length=1000), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_documents')),
    sa.UniqueConstraint('entity_type', 'entity_id', name='uq_search_documents_entity')
    )
    statements = SQLITE_DDL if op.get_bind().dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_documents_tsv")
    op.drop_table('search_documents')
