"""Stored contact dates, and indexes for every sort of the stakeholder lists.

`stakeholders.last_contacted_at` (the latest live interaction with the record) and
`stakeholders.next_follow_up_on` (the earliest due date of its open live follow-ups) were
computed per row on every list page; they are now stored, kept by crm.services.contact_dates
in the transaction of each write that can change them, and filled here from the data: one
UPDATE per column joined to an aggregate per stakeholder (UPDATE ... FROM: SQLite 3.33+,
PostgreSQL), which both engines plan as one pass over the links, with or without statistics
(correlated subqueries per stakeholder are planned as a scan of every interaction each when
PostgreSQL has no statistics yet).

The lists sort by (column, id) after `kind = ...` over live records, so each sort gets a
partial index `(kind, column, id) WHERE deleted_at IS NULL` (PostgreSQL orders by an index
only after equalities, and `deleted_at IS NULL` is not one to it); it replaces
`ix_stakeholders_kind_deleted_name`. The dashboard's quiet stakeholders get
`(influence, last_contacted_at, sort_name, id)`, and the records in the trash
`(kind, id) WHERE deleted_at IS NOT NULL` (live counts per organisation type are "all less
these", read off indexes alone). Interactions get `(activity_id, occurred_at)`
(the activity page walked every live interaction without it) and
`(logged_by_id, deleted_at, occurred_at)` (someone's own log, newest first); they replace the
single-column indexes of those foreign keys. Live follow-ups get
`(assignee_id, status, completed_at, due_on) WHERE deleted_at IS NULL`, from which My and Team
follow-ups count by due date and by completion without reading a row.

On SQLite, a database with data gets fresh statistics for the three tables whose indexes
changed (ANALYZE): without them the planner may walk a list's index instead of starting from
a short filter. An empty database is left without, as before.

Downgrading drops the columns and indexes and restores the earlier ones.

Revision ID: c7d1e3f5a9b2
Revises: 9e4f1a6c2d57
Create Date: 2026-12-06 23:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c7d1e3f5a9b2'
down_revision = '9e4f1a6c2d57'
branch_labels = None
depends_on = None

LIVE = 'deleted_at IS NULL'
# (index name suffix, column), as crm.models.LIVE_SORTS at this revision.
LIVE_SORTS = (
    ('name', 'sort_name'),
    ('pinyin', 'name_pinyin'),
    ('engagement', 'engagement_level'),
    ('influence', 'influence'),
    ('updated', 'updated_at'),
    ('last_contact', 'last_contacted_at'),
    ('next_follow_up', 'next_follow_up_on'),
)

stakeholders = sa.table(
    'stakeholders',
    sa.column('id', sa.Integer),
    sa.column('last_contacted_at', sa.DateTime(timezone=True)),
    sa.column('next_follow_up_on', sa.Date),
)
interactions = sa.table(
    'interactions',
    sa.column('id', sa.Integer),
    sa.column('occurred_at', sa.DateTime(timezone=True)),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
)
links = sa.table(
    'interaction_stakeholders',
    sa.column('interaction_id', sa.Integer),
    sa.column('stakeholder_id', sa.Integer),
)
follow_ups = sa.table(
    'follow_ups',
    sa.column('stakeholder_id', sa.Integer),
    sa.column('due_on', sa.Date),
    sa.column('status', sa.String),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
)


def _fill():
    """Every stakeholder's dates from the data (crm.services.contact_dates.rebuild, as of this
    revision): an aggregate per stakeholder, written by an UPDATE joined to it (UPDATE ...
    FROM, on SQLite 3.33+ and PostgreSQL); the columns are new, so rows without one stay NULL.
    `(deleted_at IS NULL) = true` keeps SQLite from walking every live interaction through an
    index and probing its links."""
    latest = (
        sa.select(links.c.stakeholder_id.label('id'), sa.func.max(interactions.c.occurred_at).label('value'))
        .select_from(links.join(interactions, interactions.c.id == links.c.interaction_id))
        .where(interactions.c.deleted_at.is_(None).self_group() == sa.true())
        .group_by(links.c.stakeholder_id)
        .subquery('latest_contact')
    )
    soonest = (
        sa.select(follow_ups.c.stakeholder_id.label('id'), sa.func.min(follow_ups.c.due_on).label('value'))
        .where(
            follow_ups.c.stakeholder_id.is_not(None),
            follow_ups.c.status == 'open',
            follow_ups.c.deleted_at.is_(None),
        )
        .group_by(follow_ups.c.stakeholder_id)
        .subquery('next_follow_up')
    )
    op.execute(
        stakeholders.update()
        .where(stakeholders.c.id == latest.c.id)
        .values(last_contacted_at=latest.c.value)
    )
    op.execute(
        stakeholders.update()
        .where(stakeholders.c.id == soonest.c.id)
        .values(next_follow_up_on=soonest.c.value)
    )


def upgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_contacted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_follow_up_on', sa.Date(), nullable=True))
        batch_op.drop_index('ix_stakeholders_kind_deleted_name')
    _fill()
    for name, column in LIVE_SORTS:
        op.create_index(
            f'ix_stakeholders_live_{name}', 'stakeholders', ['kind', column, 'id'], unique=False,
            sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE),
        )
    op.create_index(
        'ix_stakeholders_trashed', 'stakeholders', ['kind', 'id'], unique=False,
        sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'),
    )
    op.create_index(
        'ix_stakeholders_live_quiet', 'stakeholders',
        ['influence', 'last_contacted_at', 'sort_name', 'id'], unique=False,
        sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE),
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_activity_id')
        batch_op.drop_index('ix_interactions_logged_by_id')
        batch_op.create_index(
            'ix_interactions_activity_occurred', ['activity_id', 'occurred_at'], unique=False,
            sqlite_where=sa.text('activity_id IS NOT NULL'),
            postgresql_where=sa.text('activity_id IS NOT NULL'),
        )
        batch_op.create_index('ix_interactions_logger_deleted_occurred', ['logged_by_id', 'deleted_at', 'occurred_at'], unique=False)
    op.create_index(
        'ix_follow_ups_live_assignee_status', 'follow_ups',
        ['assignee_id', 'status', 'completed_at', 'due_on'], unique=False,
        sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE),
    )
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.execute(sa.text('SELECT 1 FROM stakeholders LIMIT 1')).first():
        for table in ('stakeholders', 'interactions', 'follow_ups'):
            op.execute(f'ANALYZE {table}')


def downgrade():
    op.drop_index('ix_follow_ups_live_assignee_status', table_name='follow_ups')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_logger_deleted_occurred')
        batch_op.drop_index('ix_interactions_activity_occurred')
        batch_op.create_index('ix_interactions_logged_by_id', ['logged_by_id'], unique=False)
        batch_op.create_index('ix_interactions_activity_id', ['activity_id'], unique=False)
    op.drop_index('ix_stakeholders_live_quiet', table_name='stakeholders')
    op.drop_index('ix_stakeholders_trashed', table_name='stakeholders')
    for name, _column in reversed(LIVE_SORTS):
        op.drop_index(f'ix_stakeholders_live_{name}', table_name='stakeholders')
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index('ix_stakeholders_kind_deleted_name', ['kind', 'deleted_at', 'sort_name'], unique=False)
        batch_op.drop_column('next_follow_up_on')
        batch_op.drop_column('last_contacted_at')
