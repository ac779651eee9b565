"""Name keys for one matcher: people's names in either order, organisations without group words.

`stakeholders.match_key` of a person was the pinyin of the Chinese name, else family + given
name, so 王芳 ("wangfang") never met a record whose family and given names were typed the other
way round ("fangwang"). It is now the family and the given name, in pinyin or Latin letters, in
alphabetical order ("fangwang" for both). An organisation's `match_key` and `match_key_zh` now
also drop the group words 集团 and 控股 and "Group"/"Holding(s)", so 申洲国际 and
申洲国际集团控股有限公司 share a key. No column changes: every stakeholder's keys are derived
again (trashed records too), 500 rows at a time by id, writing only the keys that change.

The rules are copied here (from crm.services.duplicates as of this revision) rather than
imported, so that this script keeps doing what it did when the application's rules change.
Downgrading derives the keys by the earlier rules.

Revision ID: 9e4f1a6c2d57
Revises: 832b3b8243b8
Create Date: 2026-12-02 18:30:00

"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op
from pypinyin import Style, lazy_pinyin

# revision identifiers, used by Alembic.
revision = '9e4f1a6c2d57'
down_revision = '832b3b8243b8'
branch_labels = None
depends_on = None

BATCH = 500

stakeholders = sa.table(
    'stakeholders',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('display_name', sa.String),
    sa.column('chinese_name', sa.String),
    sa.column('match_key', sa.String),
    sa.column('match_key_zh', sa.String),
)
people = sa.table(
    'people',
    sa.column('id', sa.Integer),
    sa.column('family_name', sa.String),
    sa.column('given_name', sa.String),
)

_HAN = re.compile(r'[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]')
_WORD = re.compile(r'[a-z0-9]+')
_NOT_WORD = re.compile(r'[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+')
_OLD_ZH = ['股份有限公司', '有限责任公司', '有限公司', '股份公司', '集团有限公司', '责任公司', '公司']
_NEW_ZH = _OLD_ZH + ['集团', '控股', '股份']
_OLD_EN = r'co|company|corp|corporation|inc|incorporated|ltd|limited|llc|plc|gmbh|group'
_NEW_EN = _OLD_EN + r'|holding|holdings'
_COMPOUND = frozenset(
    '欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 独孤 '
    '南宫 西门 百里 呼延 东郭 闻人 万俟 申屠'.split()
)


def _plain(text):
    decomposed = unicodedata.normalize('NFKD', text)
    stripped = ''.join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize('NFKC', stripped).lower().strip()


def _pinyin(text):
    """Toneless syllables, Latin runs kept as lower-case words (crm.services.text.pinyin)."""
    if not text or not _HAN.search(text):
        return []
    pieces = lazy_pinyin(
        unicodedata.normalize('NFKC', text), style=Style.NORMAL, errors=lambda c: ['\x00' + c]
    )
    words = []
    for piece in pieces:
        if piece.startswith('\x00'):
            words += _WORD.findall(piece[1:].lower())
        elif piece.strip():
            words.append(piece.strip().lower())
    return words


def organisation_key(name, new=True):
    if not name or not name.strip():
        return None
    suffixes = sorted(_NEW_ZH if new else _OLD_ZH, key=len, reverse=True)
    english = re.compile(rf'(\b({_NEW_EN if new else _OLD_EN})\b\.?,?\s*)+$')
    text = re.sub(r'[（(][^)）]*[)）]\s*$', '', _plain(name)).strip()
    previous = None
    while previous != text:
        previous = text
        stripped = english.sub('', text).strip(' ,.')
        text = (stripped or text) if new else stripped
        for suffix in suffixes:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
    return _NOT_WORD.sub('', text)[:200] or None


def _latin(text):
    return _NOT_WORD.sub('', _plain(text or ''))


def person_key(chinese_name, family_name, given_name, new=True):
    syllables = _pinyin(chinese_name)
    if not new:
        if syllables:
            return ''.join(syllables)[:200]
        return _latin(f"{family_name or ''}{given_name or ''}")[:200] or None
    if syllables:
        han = _HAN.findall(unicodedata.normalize('NFKC', chinese_name))
        if len(han) >= 2 and len(syllables) == len(han):
            surname = 2 if len(han) > 2 and ''.join(han[:2]) in _COMPOUND else 1
            parts = [''.join(syllables[:surname]), ''.join(syllables[surname:])]
        else:
            parts = [''.join(syllables)]
    elif _latin(family_name) and _latin(given_name):
        parts = [_latin(family_name), _latin(given_name)]
    else:
        words = _plain(family_name or given_name or '').split()
        if len(words) >= 2:
            parts = [_latin(words[0]), _latin(''.join(words[1:]))]
        else:
            parts = [_latin(family_name) or _latin(given_name)]
    return ''.join(sorted(p for p in parts if p))[:200] or None


def _rederive(new):
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                stakeholders.c.id,
                stakeholders.c.kind,
                stakeholders.c.display_name,
                stakeholders.c.chinese_name,
                stakeholders.c.match_key,
                stakeholders.c.match_key_zh,
                people.c.family_name,
                people.c.given_name,
            )
            .select_from(stakeholders.outerjoin(people, people.c.id == stakeholders.c.id))
            .where(stakeholders.c.id > last)
            .order_by(stakeholders.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            if row.kind == 'person':
                keys = (person_key(row.chinese_name, row.family_name, row.given_name, new), row.match_key_zh)
            else:
                keys = (organisation_key(row.display_name, new), organisation_key(row.chinese_name, new))
            if keys != (row.match_key, row.match_key_zh):
                bind.execute(
                    stakeholders.update()
                    .where(stakeholders.c.id == row.id)
                    .values(match_key=keys[0], match_key_zh=keys[1])
                )
        last = rows[-1].id


def upgrade():
    _rederive(new=True)


def downgrade():
    _rederive(new=False)
