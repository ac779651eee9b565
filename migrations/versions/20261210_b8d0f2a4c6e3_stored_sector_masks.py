"""Stored sector masks and link moments, for reports that read an index instead of every row.

The engagement report and the donor indicators worked out, on every request, each person's
sectors from their current positions and which stakeholders were contacted in the period from
every link of the period (about a second for a year at scale 1). Three derived columns now
hold those facts, kept by crm.services.sector_masks in the transaction of each write:

* `stakeholders.sector_mask`: one bit per sector (electronics 1, textile 2, both 4,
  cross-sector 8, as crm.services.sector_masks.SECTOR_BITS at this revision); an
  organisation's own sector, a person's the union of the live organisations where they hold
  a current, live position.
* `interaction_stakeholders.occurred_at`: the interaction's moment while it is live, NULL in
  the trash; indexed (stakeholder_id, occurred_at), which replaces the index of stakeholder_id
  alone (its prefix).
* `interactions.sector_mask`: the union of the masks of its live stakeholders.
  `ix_interactions_deleted_occurred` gains (channel, sector_mask), so that the monthly counts
  read the index alone.

Stakeholders get `(deleted_at, id, kind, influence, interest, engagement_level, sector_mask)`
(the reports' facts about everyone, in id order, off the index) and `(influence, interest, id)`
(the most influential not contacted, in order).

The columns are filled from the data by one set-based UPDATE each (UPDATE ... FROM an
aggregate: SQLite 3.33+, PostgreSQL), before their indexes exist; on SQLite, a database with
data then gets fresh statistics for the three tables. Downgrading drops the columns and
indexes and restores the two earlier indexes.

Revision ID: b8d0f2a4c6e3
Revises: a7c9e1f3b5d2
Create Date: 2026-12-10 14:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b8d0f2a4c6e3'
down_revision = 'a7c9e1f3b5d2'
branch_labels = None
depends_on = None

# crm.services.sector_masks.SECTOR_BITS at this revision.
BITS = {'electronics': 1, 'textile': 2, 'both': 4, 'cross_sector': 8}

stakeholders = sa.table(
    'stakeholders',
    sa.column('id', sa.Integer),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
    sa.column('sector_mask', sa.Integer),
)
organisations = sa.table('organisations', sa.column('id', sa.Integer), sa.column('sector', sa.String))
affiliations = sa.table(
    'affiliations',
    sa.column('person_id', sa.Integer),
    sa.column('organisation_id', sa.Integer),
    sa.column('end_on', sa.Date),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
)
interactions = sa.table(
    'interactions',
    sa.column('id', sa.Integer),
    sa.column('occurred_at', sa.DateTime(timezone=True)),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
    sa.column('sector_mask', sa.Integer),
)
links = sa.table(
    'interaction_stakeholders',
    sa.column('interaction_id', sa.Integer),
    sa.column('stakeholder_id', sa.Integer),
    sa.column('occurred_at', sa.DateTime(timezone=True)),
)


def _union(mask):
    """The union of a group's masks: the maximum of each bit, added up (no shared OR aggregate)."""
    total = None
    for bit in BITS.values():
        found = sa.func.max(mask.op('&')(bit))
        total = found if total is None else total + found
    return total


def _fill():
    """Every stored value from the data (crm.services.sector_masks.rebuild, as of this
    revision); the columns are new, so the rows without a value keep 0 or NULL."""
    op.execute(
        stakeholders.update()
        .where(stakeholders.c.id == organisations.c.id, organisations.c.sector.is_not(None))
        .values(sector_mask=sa.case(BITS, value=organisations.c.sector, else_=0))
    )
    employer = stakeholders.alias('employer')
    employed = (
        sa.select(affiliations.c.person_id.label('id'), _union(employer.c.sector_mask).label('mask'))
        .select_from(affiliations.join(employer, employer.c.id == affiliations.c.organisation_id))
        .where(
            affiliations.c.end_on.is_(None),
            affiliations.c.deleted_at.is_(None),
            employer.c.deleted_at.is_(None),
        )
        .group_by(affiliations.c.person_id)
        .subquery('employed')
    )
    op.execute(
        stakeholders.update()
        .where(stakeholders.c.id == employed.c.id, employed.c.mask != 0)
        .values(sector_mask=employed.c.mask)
    )
    op.execute(
        links.update()
        .where(interactions.c.id == links.c.interaction_id, interactions.c.deleted_at.is_(None))
        .values(occurred_at=interactions.c.occurred_at)
    )
    member = stakeholders.alias('member')
    found = (
        sa.select(links.c.interaction_id.label('id'), _union(member.c.sector_mask).label('mask'))
        .select_from(links.join(member, member.c.id == links.c.stakeholder_id))
        .where(member.c.deleted_at.is_(None))
        .group_by(links.c.interaction_id)
        .subquery('found')
    )
    op.execute(
        interactions.update()
        .where(interactions.c.id == found.c.id, found.c.mask != 0)
        .values(sector_mask=found.c.mask)
    )


def upgrade():
    # A plain default (not an expression): SQLite adds the column in place, no table rebuild.
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sector_mask', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sector_mask', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_index('ix_interactions_deleted_occurred')
    with op.batch_alter_table('interaction_stakeholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_interaction_stakeholders_stakeholder_id')
    _fill()
    op.create_index(
        'ix_interaction_stakeholders_stakeholder_occurred', 'interaction_stakeholders',
        ['stakeholder_id', 'occurred_at'], unique=False,
    )
    op.create_index(
        'ix_interactions_deleted_occurred', 'interactions',
        ['deleted_at', 'occurred_at', 'channel', 'sector_mask'], unique=False,
    )
    op.create_index(
        'ix_stakeholders_report_facts', 'stakeholders',
        ['deleted_at', 'id', 'kind', 'influence', 'interest', 'engagement_level', 'sector_mask'],
        unique=False,
    )
    op.create_index('ix_stakeholders_scores', 'stakeholders', ['influence', 'interest', 'id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.execute(sa.text('SELECT 1 FROM stakeholders LIMIT 1')).first():
        for table in ('stakeholders', 'interactions', 'interaction_stakeholders'):
            op.execute(f'ANALYZE {table}')


def downgrade():
    op.drop_index('ix_stakeholders_scores', table_name='stakeholders')
    op.drop_index('ix_stakeholders_report_facts', table_name='stakeholders')
    op.drop_index('ix_interactions_deleted_occurred', table_name='interactions')
    op.drop_index('ix_interaction_stakeholders_stakeholder_occurred', table_name='interaction_stakeholders')
    with op.batch_alter_table('interaction_stakeholders', schema=None) as batch_op:
        batch_op.drop_column('occurred_at')
        batch_op.create_index('ix_interaction_stakeholders_stakeholder_id', ['stakeholder_id'], unique=False)
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('sector_mask')
        batch_op.create_index('ix_interactions_deleted_occurred', ['deleted_at', 'occurred_at'], unique=False)
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_column('sector_mask')
