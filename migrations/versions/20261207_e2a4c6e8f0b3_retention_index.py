"""Indexes for personal data: retention, consent filters, erased people.

`ix_stakeholders_updated` (updated_at, id) over every stakeholder: the retention page and
`crm retention` look for people whose record has not changed since the cutoff, oldest first
(crm.services.personal_data.retention); without it each run read every person. The lists'
own `ix_stakeholders_live_updated` covers live records only.

`ix_people_consent`, `ix_people_consent_reports`, `ix_people_consent_publication`: the people
list filtered on a rare consent status counts off them instead of reading every person.
`ix_people_erased` (partial, erased people only): the lists leave those few out, and count
them off this index.

Revision ID: e2a4c6e8f0b3
Revises: d1f3a5c7e9b2
Create Date: 2026-12-07 06:25:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e2a4c6e8f0b3'
down_revision = 'd1f3a5c7e9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index('ix_stakeholders_updated', ['updated_at', 'id'], unique=False)
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index('ix_people_consent', ['consent'], unique=False)
        batch_op.create_index('ix_people_consent_reports', ['consent_reports'], unique=False)
        batch_op.create_index('ix_people_consent_publication', ['consent_publication'], unique=False)
        batch_op.create_index(
            'ix_people_erased',
            ['id'],
            unique=False,
            sqlite_where=sa.text('erased_at IS NOT NULL'),
            postgresql_where=sa.text('erased_at IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index('ix_people_erased')
        batch_op.drop_index('ix_people_consent_publication')
        batch_op.drop_index('ix_people_consent_reports')
        batch_op.drop_index('ix_people_consent')
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index('ix_stakeholders_updated')
