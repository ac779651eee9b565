"""Personal data (issue #11) and API tokens (issue #12): the schema both build on.

- `consent_records`: each statement of a person's consent to one purpose (programme
  communication, reports for the donors and headquarters, photographs and publication), with
  its date, source and who recorded it. The person's current status stays on `people`:
  `consent` (communication, as before) and the new `consent_reports`, `consent_publication`.
  Each person whose communication consent was known gets one history row carrying it (the
  typed source goes into the note).
- `cross_border_transfers`: one row per person and year named in an export "for headquarters".
- `people.erased_at` (personal data erased, the row kept for the figures) and the retention
  exemption (`retention_exempt_reason`, `_by_id`, `_at`).
- `api_tokens.prefix` and `api_tokens.read_only`.
- `audit_events.action` may also be access, erase, consent or retention.

Downgrading drops these; the audit events of the new kinds are deleted first.

Revision ID: d1f3a5c7e9b2
Revises: c9e1a3b5d7f4
Create Date: 2026-12-07 05:14:09

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1f3a5c7e9b2'
down_revision = 'c9e1a3b5d7f4'
branch_labels = None
depends_on = None

OLD_ACTIONS = ('create', 'update', 'delete', 'restore', 'purge', 'merge', 'export')
NEW_ACTIONS = OLD_ACTIONS + ('access', 'erase', 'consent', 'retention')
ACTION_CHECK = 'ck_audit_events_audit_action'


def _action(values):
    return sa.Enum(*values, name='audit_action', native_enum=False, create_constraint=True, length=16)


def _change_actions(old, new):
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('audit_events', recreate='always') as batch_op:
            batch_op.alter_column('action', existing_type=_action(old), type_=_action(new), existing_nullable=False)
    else:
        op.drop_constraint(op.f(ACTION_CHECK), 'audit_events', type_='check')
        allowed = ', '.join(f"'{value}'" for value in new)
        op.create_check_constraint(op.f(ACTION_CHECK), 'audit_events', sa.text(f'action IN ({allowed})'))


def upgrade():
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('communication', 'reports', 'publication', name='consent_purpose', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('given', 'withdrawn', 'unknown', name='consent_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('stated_on', sa.Date(), nullable=True),
    sa.Column('source', sa.Enum('sign_in_sheet', 'email', 'verbal', 'web_form', 'import', 'other', name='consent_source', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_consent_records_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_consent_records_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index('ix_consent_records_person_purpose', ['person_id', 'purpose', 'recorded_at'], unique=False)

    op.create_table('cross_border_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('audit_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_event_id'], ['audit_events.id'], name=op.f('fk_cross_border_transfers_audit_event_id_audit_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_cross_border_transfers_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cross_border_transfers')),
    sa.UniqueConstraint('person_id', 'year', name='uq_cross_border_person_year')
    )
    with op.batch_alter_table('cross_border_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cross_border_transfers_year'), ['year'], unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prefix', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('read_only', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_reports', sa.Enum('given', 'withdrawn', 'unknown', name='consent_reports', native_enum=False, create_constraint=True, length=16), nullable=False, server_default='unknown'))
        batch_op.add_column(sa.Column('consent_publication', sa.Enum('given', 'withdrawn', 'unknown', name='consent_publication', native_enum=False, create_constraint=True, length=16), nullable=False, server_default='unknown'))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retention_exempt_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('retention_exempt_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retention_exempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_people_retention_exempt_by_id_users'), 'users', ['retention_exempt_by_id'], ['id'], ondelete='SET NULL')

    # Server defaults only filled the existing rows: the application sets these itself.
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('prefix', server_default=None)
        batch_op.alter_column('read_only', server_default=None)
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.alter_column('consent_reports', server_default=None)
        batch_op.alter_column('consent_publication', server_default=None)

    op.execute(sa.text(
        "INSERT INTO consent_records (person_id, purpose, status, stated_on, source, note, recorded_at) "
        "SELECT p.id, 'communication', p.consent, p.consent_on, 'other', p.consent_source, s.updated_at "
        "FROM people p JOIN stakeholders s ON s.id = p.id WHERE p.consent <> 'unknown'"
    ))
    _change_actions(OLD_ACTIONS, NEW_ACTIONS)


def downgrade():
    op.execute(sa.text(
        "DELETE FROM audit_events WHERE action IN ('access', 'erase', 'consent', 'retention')"
    ))
    _change_actions(NEW_ACTIONS, OLD_ACTIONS)
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_people_retention_exempt_by_id_users'), type_='foreignkey')
        batch_op.drop_column('retention_exempt_at')
        batch_op.drop_column('retention_exempt_by_id')
        batch_op.drop_column('retention_exempt_reason')
        batch_op.drop_column('erased_at')
        batch_op.drop_constraint(op.f('ck_people_consent_publication'), type_='check')
        batch_op.drop_constraint(op.f('ck_people_consent_reports'), type_='check')
        batch_op.drop_column('consent_publication')
        batch_op.drop_column('consent_reports')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('read_only')
        batch_op.drop_column('prefix')

    with op.batch_alter_table('cross_border_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cross_border_transfers_year'))

    op.drop_table('cross_border_transfers')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_person_purpose')

    op.drop_table('consent_records')
