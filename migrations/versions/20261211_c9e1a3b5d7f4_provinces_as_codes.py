"""Provinces as codes of a fixed list, and an index for the lists of influential, quiet records.

`organisations.province` held whatever was typed ("Guangdong", "广东省", "guangdong province").
It now holds the code of one of China's 34 provincial-level divisions ("guangdong"), chosen from
a list (crm.provinces). Each distinct stored value is read by the rule of crm.provinces as of
this revision, copied below so that this migration keeps doing what it did when the list or
the rule change later: English or pinyin with or without "Province", "Shi", "Sheng", "City"
and the like; Chinese with or without 省, 市, 自治区 or 特别行政区; any case and spacing. A value
no rule reads is kept as it was typed (an administrator sees those at /admin/provinces); a
value of spaces only becomes NULL.

Downgrading writes each code back as the division's English name ("Guangdong"): what was
typed before is not kept.

`ix_stakeholders_live_quiet_kind` (kind, influence, last_contacted_at, deleted_at, id), over
live records: the organisation and people lists filtered to the dashboard's "influential and
quiet" (`?quiet=1`) count off it, and so do the dashboard's counts of each kind. `deleted_at`
(always NULL there) lets SQLite see that the index covers those counts.

Revision ID: c9e1a3b5d7f4
Revises: b8d0f2a4c6e3
Create Date: 2026-12-11 10:00:00

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c9e1a3b5d7f4'
down_revision = 'b8d0f2a4c6e3'
branch_labels = None
depends_on = None

LIVE = 'deleted_at IS NULL'

# crm.provinces.PROVINCES at this revision: (code, English, Chinese, other names).
PROVINCES = (
    ('beijing', 'Beijing', '北京', ('Peking',)),
    ('tianjin', 'Tianjin', '天津', ('Tientsin',)),
    ('hebei', 'Hebei', '河北', ()),
    ('shanxi', 'Shanxi', '山西', ()),
    ('inner_mongolia', 'Inner Mongolia', '内蒙古',
     ('Nei Mongol', 'Neimenggu', 'Nei Menggu', 'Neimongol', '內蒙古')),
    ('liaoning', 'Liaoning', '辽宁', ('遼寧',)),
    ('jilin', 'Jilin', '吉林', ()),
    ('heilongjiang', 'Heilongjiang', '黑龙江', ('黑龍江',)),
    ('shanghai', 'Shanghai', '上海', ()),
    ('jiangsu', 'Jiangsu', '江苏', ('江蘇',)),
    ('zhejiang', 'Zhejiang', '浙江', ('Chekiang',)),
    ('anhui', 'Anhui', '安徽', ()),
    ('fujian', 'Fujian', '福建', ('Fukien',)),
    ('jiangxi', 'Jiangxi', '江西', ()),
    ('shandong', 'Shandong', '山东', ('山東',)),
    ('henan', 'Henan', '河南', ()),
    ('hubei', 'Hubei', '湖北', ()),
    ('hunan', 'Hunan', '湖南', ()),
    ('guangdong', 'Guangdong', '广东', ('Canton', '廣東')),
    ('guangxi', 'Guangxi', '广西', ('Guangxi Zhuang', '广西壮族', '廣西', '廣西壯族')),
    ('hainan', 'Hainan', '海南', ()),
    ('chongqing', 'Chongqing', '重庆', ('Chungking', '重慶')),
    ('sichuan', 'Sichuan', '四川', ('Szechuan', 'Szechwan')),
    ('guizhou', 'Guizhou', '贵州', ('貴州',)),
    ('yunnan', 'Yunnan', '云南', ('雲南',)),
    ('tibet', 'Tibet', '西藏', ('Xizang',)),
    ('shaanxi', 'Shaanxi', '陕西', ('陝西',)),
    ('gansu', 'Gansu', '甘肃', ('甘肅',)),
    ('qinghai', 'Qinghai', '青海', ()),
    ('ningxia', 'Ningxia', '宁夏', ('Ningxia Hui', '宁夏回族', '寧夏', '寧夏回族')),
    ('xinjiang', 'Xinjiang', '新疆',
     ('Xinjiang Uyghur', 'Xinjiang Uygur', 'Xinjiang Uighur', '新疆维吾尔', '新疆維吾爾')),
    ('taiwan', 'Taiwan', '台湾', ('臺灣', '台灣', '臺湾')),
    ('hong_kong', 'Hong Kong', '香港', ('Hongkong', 'Xianggang', 'HK', 'HKSAR')),
    ('macao', 'Macao', '澳门', ('Macau', 'Aomen', '澳門', 'Macao SAR')),
)
MAX_LENGTH = 60

# crm.provinces' reading of a typed name at this revision.
_LATIN_AFFIXES = re.compile(
    r'\b(?:province|prov|sheng|shi|city|municipality|municipal|of|the|prc|china|'
    r'autonomous|region|zizhiqu|special|administrative|sar)\b'
)
_CHINESE_SUFFIXES = ('特别行政区', '特別行政區', '自治区', '自治區', '省', '市')
_TONED = {'shǎnxī': 'shaanxi', 'shǎnxi': 'shaanxi', 'shanxī': 'shanxi', 'shānxī': 'shanxi'}


def _latin_key(text):
    decomposed = unicodedata.normalize('NFKD', text.casefold())
    plain = ''.join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r'[^0-9a-z\u3400-\u9fff]+', ' ', plain)
    return _LATIN_AFFIXES.sub(' ', plain).replace(' ', '')


def _chinese_key(text):
    key = re.sub(r'\s+', '', unicodedata.normalize('NFKC', text))
    for suffix in _CHINESE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def _keys():
    keys = {}
    for code, english, chinese, aliases in PROVINCES:
        for name in (code, english, chinese, *aliases):
            for key in (_latin_key(name), _chinese_key(name)):
                if key:
                    keys.setdefault(key, code)
    return keys


KEYS = _keys()


def code_for(text):
    """The code of the province `text` names, or None."""
    if not text or not text.strip():
        return None
    toned = unicodedata.normalize('NFC', text.strip().casefold())
    for spelling, code in _TONED.items():
        if toned == spelling or toned.startswith(spelling + ' '):
            return code
    chinese = _chinese_key(text)
    if chinese in KEYS:
        return KEYS[chinese]
    latin = _latin_key(text)
    return KEYS.get(latin) if latin else None


def stored(text):
    """What the column holds for a value: its code, else the text (trimmed), None if blank."""
    if text is None or not text.strip():
        return None
    return code_for(text) or text.strip()[:MAX_LENGTH]


organisations = sa.table(
    'organisations', sa.column('id', sa.Integer), sa.column('province', sa.String(60))
)


def _rewrite(new_value):
    """Rewrite each distinct stored province as `new_value` gives it: one UPDATE per distinct
    value that changes (a few dozen), each over ix_organisations_province."""
    bind = op.get_bind()
    found = bind.execute(
        sa.select(organisations.c.province).where(organisations.c.province.is_not(None)).distinct()
    ).scalars().all()
    for old in found:
        new = new_value(old)
        if new != old:
            bind.execute(
                organisations.update()
                .where(organisations.c.province == old)
                .values(province=new)
            )


def upgrade():
    _rewrite(stored)
    op.create_index(
        'ix_stakeholders_live_quiet_kind', 'stakeholders',
        ['kind', 'influence', 'last_contacted_at', 'deleted_at', 'id'], unique=False,
        sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE),
    )


def downgrade():
    op.drop_index(
        'ix_stakeholders_live_quiet_kind', table_name='stakeholders',
        sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE),
    )
    english = {code: name for code, name, _chinese, _aliases in PROVINCES}
    _rewrite(lambda value: english.get(value, value))
