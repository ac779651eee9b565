"""Attendance imports: an import batch may hold an activity's sign-in sheet.

Only the CHECK constraint of `import_batches.kind` changes (a new value, "attendance"); no
data moves. SQLite cannot alter a constraint, so batch mode rebuilds the table there (with
foreign keys off, see env.py); PostgreSQL drops and recreates the constraint in place.
Downgrading deletes the batches of sign-in sheets, which the older code cannot read (their
people and attendances stay).

Revision ID: 7a41c2e9b0d3
Revises: 3569fec90224
Create Date: 2026-11-25 03:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '7a41c2e9b0d3'
down_revision = '3569fec90224'
branch_labels = None
depends_on = None

OLD = ('organisations', 'people')
NEW = ('organisations', 'people', 'attendance')
NAME = 'ck_import_batches_import_kind'


def _kind(values):
    return sa.Enum(*values, name='import_kind', native_enum=False, create_constraint=True, length=24)


def _change(old, new):
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('import_batches', recreate='always') as batch_op:
            batch_op.alter_column('kind', existing_type=_kind(old), type_=_kind(new), existing_nullable=False)
    else:
        op.drop_constraint(op.f(NAME), 'import_batches', type_='check')
        allowed = ', '.join(f"'{value}'" for value in new)
        op.create_check_constraint(op.f(NAME), 'import_batches', sa.text(f'kind IN ({allowed})'))


def upgrade():
    _change(OLD, NEW)


def downgrade():
    op.execute(sa.text("DELETE FROM import_batches WHERE kind = 'attendance'"))
    _change(NEW, OLD)
