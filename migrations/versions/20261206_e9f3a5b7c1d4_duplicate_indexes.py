"""Likely duplicates, stored: the pairs /duplicates pages through.

Finding every pair of records that the duplicate matcher flags takes seconds at a
programme's scale (the name rule compares the employers of everyone with a common name), so
the pairs are kept in `duplicate_pairs` (first and second record, kind, and the rank of the
strongest reason they share: email, phone, WeChat ID, Chinese name, name), by
crm.services.duplicates in the transaction of each write that can change them. The page
reads one page of them off `(kind, rank, first_id, second_id)`, showing each record next to
the oldest it may duplicate (`(second_id, first_id)`). Derived data without
foreign keys, like the search documents: a merge moves every row that points at a record,
and a pair is recomputed, never moved.

They are filled here from the data by two INSERT ... SELECT statements, the rule copied
rather than imported (crm.services.duplicates.rebuild as of this revision), so that this
script keeps doing what it did when the application's rules change.

Downgrading drops the table.

Revision ID: e9f3a5b7c1d4
Revises: d8e2f4a6b0c3
Create Date: 2026-12-06 23:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e9f3a5b7c1d4'
down_revision = 'd8e2f4a6b0c3'
branch_labels = None
depends_on = None

REASONS = ('email', 'phone', 'wechat', 'chinese_name', 'name')
CHINESE_NAME, NAME = 3, 4

stakeholders = sa.table(
    'stakeholders',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
    sa.column('match_key', sa.String),
    sa.column('match_key_zh', sa.String),
)
people = sa.table(
    'people',
    sa.column('id', sa.Integer),
    sa.column('email', sa.String),
    sa.column('phone_key', sa.String),
    sa.column('wechat_id', sa.String),
)
details = sa.table(
    'contact_details',
    sa.column('person_id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('value_key', sa.String),
)
affiliations = sa.table(
    'affiliations',
    sa.column('person_id', sa.Integer),
    sa.column('organisation_id', sa.Integer),
    sa.column('end_on', sa.Date),
    sa.column('deleted_at', sa.DateTime(timezone=True)),
)
pairs = sa.table(
    'duplicate_pairs',
    sa.column('first_id', sa.Integer),
    sa.column('second_id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('rank', sa.SmallInteger),
)


def _person_keys(reason):
    """(id, key) of every live person for one reason, further contact details included."""
    person = stakeholders.alias()
    live = [person.c.kind == 'person', person.c.deleted_at.is_(None)]
    if reason in ('chinese_name', 'name'):
        name = person.c.match_key_zh if reason == 'chinese_name' else person.c.match_key
        return sa.select(person.c.id, name.label('key')).where(*live, name != '').cte(f'{reason}_keys')
    own_people = people.alias()
    column = {
        'email': own_people.c.email,
        'phone': own_people.c.phone_key,
        'wechat': sa.func.lower(own_people.c.wechat_id),
    }[reason]
    own = (
        sa.select(own_people.c.id, column.label('key'))
        .join(person, person.c.id == own_people.c.id)
        .where(*live, column != '')
    )
    further = (
        sa.select(details.c.person_id, details.c.value_key)
        .join(person, person.c.id == details.c.person_id)
        .where(*live, details.c.kind == reason)
    )
    return sa.union_all(own, further).cte(f'{reason}_keys')


def _employer_keys_of_people():
    """(id, key) of the keys of every person's current live employers."""
    position, employer = affiliations.alias(), stakeholders.alias()
    joined = position.join(employer, employer.c.id == position.c.organisation_id)
    current = [
        position.c.end_on.is_(None),
        position.c.deleted_at.is_(None),
        employer.c.deleted_at.is_(None),
    ]
    return sa.union_all(
        *(
            sa.select(position.c.person_id.label('id'), key.label('key'))
            .select_from(joined)
            .where(*current, key != '')
            for key in (employer.c.match_key, employer.c.match_key_zh)
        )
    ).cte('employer_keys')


def _pair(first, second, rank):
    return first.label('first_id'), second.label('second_id'), sa.literal(rank).label('rank')


def _name_pairs(keys, employers, rank):
    """Pairs that share the name and an employer key, or of whom one has no employer."""
    at = (
        sa.select(keys.c.id, keys.c.key, employers.c.key.label('employer'))
        .join(employers, employers.c.id == keys.c.id)
        .cte(f'{keys.name}_at')
    )
    one, other = at.alias(), at.alias()
    same_employer = sa.select(*_pair(one.c.id, other.c.id, rank)).join(
        other,
        sa.and_(other.c.key == one.c.key, other.c.employer == one.c.employer, other.c.id > one.c.id),
    )
    alone = (
        sa.select(keys.c.id, keys.c.key)
        .where(keys.c.id.not_in(sa.select(employers.c.id)))
        .distinct()
        .subquery()
    )
    anyone = keys.alias()
    older = alone.c.id < anyone.c.id
    without_employer = sa.select(
        *_pair(
            sa.case((older, alone.c.id), else_=anyone.c.id),
            sa.case((older, anyone.c.id), else_=alone.c.id),
            rank,
        )
    ).join(anyone, sa.and_(anyone.c.key == alone.c.key, anyone.c.id != alone.c.id))
    return [same_employer, without_employer]


def _person_pairs():
    employers = _employer_keys_of_people()
    selects = []
    for rank, reason in enumerate(REASONS):
        keys = _person_keys(reason)
        if reason in ('chinese_name', 'name'):
            selects += _name_pairs(keys, employers, rank)
            continue
        one, other = keys.alias(), keys.alias()
        selects.append(
            sa.select(*_pair(one.c.id, other.c.id, rank)).join(
                other, sa.and_(other.c.key == one.c.key, other.c.id > one.c.id)
            )
        )
    return sa.union_all(*selects)


def _organisation_pairs():
    organisation = stakeholders.alias()
    live = [organisation.c.kind == 'organisation', organisation.c.deleted_at.is_(None)]
    keys = sa.union_all(
        *(
            sa.select(organisation.c.id, column.label('key'), sa.literal(is_zh).label('zh'))
            .where(*live, column != '')
            for column, is_zh in ((organisation.c.match_key, 0), (organisation.c.match_key_zh, 1))
        )
    ).cte('organisation_keys')
    one, other = keys.alias(), keys.alias()
    both_zh = sa.and_(one.c.zh == 1, other.c.zh == 1)
    return sa.select(
        one.c.id.label('first_id'),
        other.c.id.label('second_id'),
        sa.case((both_zh, CHINESE_NAME), else_=NAME).label('rank'),
    ).join(other, sa.and_(other.c.key == one.c.key, other.c.id > one.c.id))


def _fill():
    for kind, found in (('person', _person_pairs()), ('organisation', _organisation_pairs())):
        found = found.subquery()
        op.execute(
            pairs.insert().from_select(
                ['first_id', 'second_id', 'kind', 'rank'],
                sa.select(
                    found.c.first_id, found.c.second_id, sa.literal(kind), sa.func.min(found.c.rank)
                ).group_by(found.c.first_id, found.c.second_id),
            )
        )


def upgrade():
    op.create_table('duplicate_pairs',
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('organisation', 'person', name='stakeholder_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('rank', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint('first_id < second_id', name=op.f('ck_duplicate_pairs_first_before_second')),
    sa.CheckConstraint('rank BETWEEN 0 AND 4', name=op.f('ck_duplicate_pairs_rank_range')),
    sa.PrimaryKeyConstraint('first_id', 'second_id', name=op.f('pk_duplicate_pairs'))
    )
    _fill()
    with op.batch_alter_table('duplicate_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_pairs_kind_rank', ['kind', 'rank', 'first_id', 'second_id'], unique=False)
        batch_op.create_index('ix_duplicate_pairs_second_first', ['second_id', 'first_id'], unique=False)


def downgrade():
    with op.batch_alter_table('duplicate_pairs', schema=None) as batch_op:
        batch_op.drop_index('ix_duplicate_pairs_second_first')
        batch_op.drop_index('ix_duplicate_pairs_kind_rank')

    op.drop_table('duplicate_pairs')
