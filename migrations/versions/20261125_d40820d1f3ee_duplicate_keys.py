"""Duplicate keys: normalised names and phone digits on every stakeholder, indexed.

Adding nullable columns needs no table rebuild on SQLite. Existing rows get their keys from
`flask crm reindex`, which derives them again for every record.

Revision ID: d40820d1f3ee
Revises: 243257964d54
Create Date: 2026-11-25 00:51:21.715061

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd40820d1f3ee'
down_revision = '243257964d54'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_key', sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_people_phone_key'), ['phone_key'], unique=False)

    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('match_key_zh', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_stakeholders_match_key'), ['match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_stakeholders_match_key_zh'), ['match_key_zh'], unique=False)


def downgrade():
    with op.batch_alter_table('stakeholders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stakeholders_match_key_zh'))
        batch_op.drop_index(batch_op.f('ix_stakeholders_match_key'))
        batch_op.drop_column('match_key_zh')
        batch_op.drop_column('match_key')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_phone_key'))
        batch_op.drop_column('phone_key')
