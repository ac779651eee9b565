"""An index for retention: records unchanged since a moment, live or in the trash.

`ix_stakeholders_updated` (updated_at, id) over every stakeholder: the retention page and
`crm retention` look for people whose record has not changed since the cutoff, oldest first
(crm.services.personal_data.retention); without it each run read every person. The lists'
own `ix_stakeholders_live_updated` covers live records only.

Revision ID: e2a4c6e8f0b3
Revises: d1f3a5c7e9b2
Create Date: 2026-12-07 06:25:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2a4c6e8f0b3'
down_revision = 'd1f3a5c7e9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.create_index('ix_stakeholders_updated', ['updated_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index('ix_stakeholders_updated')
