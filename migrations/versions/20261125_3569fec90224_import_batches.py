"""Import batches: an uploaded file staged for its preview, then the report of the import.

A new table only, so no data to backfill. The parsed rows, the column mapping, the per-row
decisions, the preview and the result are JSON columns; `version` guards against one batch
being committed twice.

Revision ID: 3569fec90224
Revises: d40820d1f3ee
Create Date: 2026-11-25 01:02:39.723871

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '3569fec90224'
down_revision = 'd40820d1f3ee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('organisations', 'people', name='import_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('status', sa.Enum('staged', 'committed', 'discarded', name='import_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('on_duplicate', sa.Enum('skip', 'update', 'create', name='duplicate_action', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('decisions', sa.JSON(), nullable=False),
    sa.Column('preview', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_batches_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index('ix_import_batches_creator_created', ['created_by_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_import_batches_creator_created')

    op.drop_table('import_batches')
