"""Jobs: what a user sees of work done by the background worker (an import, later an export).

A new table only, so no data to backfill. Progress while a job runs is kept in the job
queue's storage, not here; `progress_done`/`progress_total` keep the last counts.

Revision ID: d8e2f4a6b0c3
Revises: c7d1e3f5a9b2
Create Date: 2026-12-06 23:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd8e2f4a6b0c3'
down_revision = 'c7d1e3f5a9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('import', 'export', name='job_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='job_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('progress_done >= 0', name=op.f('ck_jobs_progress_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_jobs_created_by_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_creator_created', ['created_by_id', 'created_at'], unique=False)
        batch_op.create_index('ix_jobs_subject_created', ['subject', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_subject_created')
        batch_op.drop_index('ix_jobs_creator_created')

    op.drop_table('jobs')
