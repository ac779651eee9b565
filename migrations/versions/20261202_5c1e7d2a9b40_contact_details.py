"""Further contact details: emails, phones and WeChat IDs a person has besides the main ones.

A new table only; no existing row changes. Merging two records of one person keeps the
contact detail that was not chosen here (crm.services.merge). Downgrading drops the table and
with it those further details.

Revision ID: 5c1e7d2a9b40
Revises: 7a41c2e9b0d3
Create Date: 2026-12-02 17:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5c1e7d2a9b40'
down_revision = '7a41c2e9b0d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contact_details',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('email', 'phone', 'wechat', name='contact_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('value_key', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_contact_details_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_contact_details_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_details')),
    sa.UniqueConstraint('person_id', 'kind', 'value_key', name='uq_contact_detail')
    )
    with op.batch_alter_table('contact_details', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_details_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_details_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_contact_details_kind_value_key', ['kind', 'value_key'], unique=False)


def downgrade():
    with op.batch_alter_table('contact_details', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_details_kind_value_key')
        batch_op.drop_index(batch_op.f('ix_contact_details_person_id'))
        batch_op.drop_index(batch_op.f('ix_contact_details_created_by_id'))

    op.drop_table('contact_details')
