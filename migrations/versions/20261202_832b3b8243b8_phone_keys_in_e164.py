"""Phone keys in E.164: `people.phone_key` holds "+8613812345678" instead of digits.

The key used to be the phone's digits without a leading 0086 or 86 ("13812345678"). It is
now the number's E.164 form as crm.services.contact_details derives it (phonenumbers, region
CN), and NULL for a phone that has none: a local number without its area code, a service
number, text that is not a phone number. No column changes. Every row's key is derived again
from `people.phone` (trashed people too), 500 rows at a time by id, writing only the keys that
change.

The rule is copied here rather than imported, so that this script keeps doing what it did
when the application's rule changes later. Downgrading derives the digits keys again.

Revision ID: 832b3b8243b8
Revises: 5c1e7d2a9b40
Create Date: 2026-12-02 17:50:00

"""
import re
import unicodedata

import phonenumbers
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '832b3b8243b8'
down_revision = '5c1e7d2a9b40'
branch_labels = None
depends_on = None

BATCH = 500

people = sa.table(
    'people',
    sa.column('id', sa.Integer),
    sa.column('phone', sa.String),
    sa.column('phone_key', sa.String),
)

# crm.services.contact_details as of this revision: what a phone may be typed with, and its
# E.164 form when phonenumbers knows the number as valid.
_TYPED = re.compile(r'^\+?[0-9 ()\-]{5,40}$')
_SCHEME = re.compile(r'^(?:tel|mailto):(?://)?', re.IGNORECASE)


def e164_key(phone):
    if not phone:
        return None
    typed = unicodedata.normalize('NFKC', phone).strip()
    if _SCHEME.match(typed):
        typed = _SCHEME.sub('', typed).strip()
    if len(typed) > 40 or not _TYPED.match(typed):
        return None
    try:
        number = phonenumbers.parse(typed, 'CN')
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# crm.services.duplicates.phone_key before this revision.
def digits_key(phone):
    digits = re.sub(r'\D', '', phone or '')
    if digits.startswith('0086'):
        digits = digits[4:]
    elif digits.startswith('86') and len(digits) > 11:
        digits = digits[2:]
    return digits[:40] if len(digits) >= 6 else None


def _rekey(key_of):
    conn = op.get_bind()
    update = (
        sa.update(people)
        .where(people.c.id == sa.bindparam('person_id'))
        .values(phone_key=sa.bindparam('new_key'))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(people.c.id, people.c.phone, people.c.phone_key)
            .where(people.c.id > last)
            .order_by(people.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        changed = [
            {'person_id': row.id, 'new_key': key}
            for row in rows
            if (key := key_of(row.phone)) != row.phone_key
        ]
        if changed:
            conn.execute(update, changed)
        last = rows[-1].id


def upgrade():
    _rekey(e164_key)


def downgrade():
    _rekey(digits_key)
