"""An index on the end date of activities.

The dashboard's upcoming activities are those not over yet (ending, or starting if they last a
day, on or after today) and starting within 60 days. Without this index PostgreSQL read every
activity ever held to find the few not over (3,000 at scale 1, 1.5 ms, growing with the
programme's years); with it, two short index ranges.

Revision ID: f3b5d7e9a1c4
Revises: e2a4c6e8f0b3
Create Date: 2026-12-07 17:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3b5d7e9a1c4'
down_revision = 'e2a4c6e8f0b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_end_on', ['end_on'], unique=False)


def downgrade():
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_end_on')
