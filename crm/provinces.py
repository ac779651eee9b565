"""China's 34 provincial-level divisions: the fixed list an organisation's province is chosen
from, stored as a stable code ("beijing", "guangdong") and shown in the reader's language.

23 provinces (Taiwan among them), 5 autonomous regions, 4 municipalities and 2 special
administrative regions, in the order of the national division codes (GB/T 2260), which is the
order Chinese readers expect; English readers get them alphabetically.

`code_for` is the one rule that reads a province typed by hand, used by the migration that
turned the old free-text values into codes, by imports and by every write of an organisation
(crm.services.stakeholders.derive): English or pinyin with or without "Province", "Shi",
"Sheng", "City" and the like, Chinese with or without 省, 市, 自治区 or 特别行政区, in any case
and spacing. Text it cannot read is kept as it was typed, and an administrator sees such
records listed (/admin/provinces) to correct them.

No query, no request: plain data, safe to import anywhere (services, forms, migrations).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Division(StrEnum):
    province = "province"
    autonomous_region = "autonomous_region"
    municipality = "municipality"
    sar = "sar"


@dataclass(frozen=True)
class Province:
    code: str
    english: str
    chinese: str
    division: Division
    # Other names it is written as: older spellings, pinyin, full official names, traditional
    # characters. Suffixes (省, "Province"…) need not be listed: `code_for` drops them.
    aliases: tuple[str, ...] = ()

    def name(self, language: str) -> str:
        """The name in a language: Chinese for "zh" (and "zh_Hans"…), English otherwise."""
        return self.chinese if language.split("_")[0].split("-")[0] == "zh" else self.english


P, AR, M, SAR = Division.province, Division.autonomous_region, Division.municipality, Division.sar

# In the order of GB/T 2260 (11 Beijing … 65 Xinjiang, then 71 Taiwan, 81 Hong Kong, 82 Macao).
PROVINCES: tuple[Province, ...] = (
    Province("beijing", "Beijing", "北京", M, ("Peking",)),
    Province("tianjin", "Tianjin", "天津", M, ("Tientsin",)),
    Province("hebei", "Hebei", "河北", P),
    Province("shanxi", "Shanxi", "山西", P),
    Province(
        "inner_mongolia",
        "Inner Mongolia",
        "内蒙古",
        AR,
        ("Nei Mongol", "Neimenggu", "Nei Menggu", "Neimongol", "內蒙古"),
    ),
    Province("liaoning", "Liaoning", "辽宁", P, ("遼寧",)),
    Province("jilin", "Jilin", "吉林", P),
    Province("heilongjiang", "Heilongjiang", "黑龙江", P, ("黑龍江",)),
    Province("shanghai", "Shanghai", "上海", M),
    Province("jiangsu", "Jiangsu", "江苏", P, ("江蘇",)),
    Province("zhejiang", "Zhejiang", "浙江", P, ("Chekiang",)),
    Province("anhui", "Anhui", "安徽", P),
    Province("fujian", "Fujian", "福建", P, ("Fukien",)),
    Province("jiangxi", "Jiangxi", "江西", P),
    Province("shandong", "Shandong", "山东", P, ("山東",)),
    Province("henan", "Henan", "河南", P),
    Province("hubei", "Hubei", "湖北", P),
    Province("hunan", "Hunan", "湖南", P),
    Province("guangdong", "Guangdong", "广东", P, ("Canton", "廣東")),
    Province(
        "guangxi",
        "Guangxi",
        "广西",
        AR,
        ("Guangxi Zhuang", "广西壮族", "廣西", "廣西壯族"),
    ),
    Province("hainan", "Hainan", "海南", P),
    Province("chongqing", "Chongqing", "重庆", M, ("Chungking", "重慶")),
    Province("sichuan", "Sichuan", "四川", P, ("Szechuan", "Szechwan")),
    Province("guizhou", "Guizhou", "贵州", P, ("貴州",)),
    Province("yunnan", "Yunnan", "云南", P, ("雲南",)),
    Province("tibet", "Tibet", "西藏", AR, ("Xizang",)),
    Province("shaanxi", "Shaanxi", "陕西", P, ("陝西",)),
    Province("gansu", "Gansu", "甘肃", P, ("甘肅",)),
    Province("qinghai", "Qinghai", "青海", P),
    Province("ningxia", "Ningxia", "宁夏", AR, ("Ningxia Hui", "宁夏回族", "寧夏", "寧夏回族")),
    Province(
        "xinjiang",
        "Xinjiang",
        "新疆",
        AR,
        ("Xinjiang Uyghur", "Xinjiang Uygur", "Xinjiang Uighur", "新疆维吾尔", "新疆維吾爾"),
    ),
    Province("taiwan", "Taiwan", "台湾", P, ("臺灣", "台灣", "臺湾")),
    Province("hong_kong", "Hong Kong", "香港", SAR, ("Hongkong", "Xianggang", "HK", "HKSAR")),
    Province("macao", "Macao", "澳门", SAR, ("Macau", "Aomen", "澳門", "Macao SAR")),
)

BY_CODE: dict[str, Province] = {p.code: p for p in PROVINCES}
# The longest value any province column holds: a code, or free text kept as it was typed.
MAX_LENGTH = 60

# Words around a Latin name that say what kind of division it is: "Guangdong Province",
# "Beijing Shi", "Province of Sichuan", "Guangxi Zhuang Autonomous Region", "Hong Kong SAR".
_LATIN_AFFIXES = re.compile(
    r"\b(?:province|prov|sheng|shi|city|municipality|municipal|of|the|prc|china|"
    r"autonomous|region|zizhiqu|special|administrative|sar)\b"
)
# Chinese suffixes, longest first: "广西壮族自治区", "香港特别行政区", "广东省", "北京市".
_CHINESE_SUFFIXES = ("特别行政区", "特別行政區", "自治区", "自治區", "省", "市")


def _latin_key(text: str) -> str:
    """Lower case, accents and tone marks gone (Shǎnxī), no punctuation or spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[^0-9a-z\u3400-\u9fff]+", " ", plain)
    plain = _LATIN_AFFIXES.sub(" ", plain)
    return plain.replace(" ", "")


def _chinese_key(text: str) -> str:
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    for suffix in _CHINESE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key


def _keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for province in PROVINCES:
        for name in (province.code, province.english, province.chinese, *province.aliases):
            for key in (_latin_key(name), _chinese_key(name)):
                if key:
                    keys.setdefault(key, province.code)
    return keys


_KEYS = _keys()


# Pinyin with tone marks tells 陕西 (Shǎnxī) from 山西 (Shānxī); without them both read shanxi,
# which is 山西 (陕西 is spelt Shaanxi for that reason).
_TONED = {"shǎnxī": "shaanxi", "shǎnxi": "shaanxi", "shanxī": "shanxi", "shānxī": "shanxi"}


def code_for(text: str | None) -> str | None:
    """The code of the province `text` names, or None when it names none (or is empty).

    "Guangdong", "guangdong province", "GUANGDONG SHENG", "Guǎngdōng", "广东", "广东省",
    "guangdong" all give "guangdong"; "广西壮族自治区" and "Guangxi Zhuang Autonomous Region"
    give "guangxi"; "Shaanxi" and "Shanxi" stay apart, as do 陕西 and 山西.
    """
    if not text or not text.strip():
        return None
    toned = unicodedata.normalize("NFC", text.strip().casefold())
    for spelling, code in _TONED.items():
        if toned == spelling or toned.startswith(spelling + " "):
            return code
    chinese = _chinese_key(text)
    if chinese in _KEYS:
        return _KEYS[chinese]
    latin = _latin_key(text)
    return _KEYS.get(latin) if latin else None


def normalised(text: str | None) -> str | None:
    """What a province column stores for `text`: the code when it names a province, else the
    text itself, trimmed (kept for an administrator to correct), or None when empty."""
    if text is None or not text.strip():
        return None
    return code_for(text) or text.strip()[:MAX_LENGTH]


def is_known(value: str | None) -> bool:
    return value in BY_CODE


def name_of(value: str | None, language: str) -> str:
    """A stored value as a reader sees it: a code by its name in `language` ("Guangdong" or
    "广东"), anything else (text no rule could read) as it was typed, "" for None."""
    if not value:
        return ""
    province = BY_CODE.get(value)
    return province.name(language) if province is not None else value


def namer(language: str) -> Callable[[str | None], str | None]:
    """`name_of` for a whole export at once: None stays None (an empty cell)."""
    names = {p.code: p.name(language) for p in PROVINCES}

    def shown(value: str | None) -> str | None:
        return None if value is None else names.get(value, value)

    return shown


def ordered(language: str) -> list[Province]:
    """The provinces in the order a reader of `language` looks for them: the national order
    in Chinese, alphabetical in English."""
    if language.split("_")[0].split("-")[0] == "zh":
        return list(PROVINCES)
    return sorted(PROVINCES, key=lambda p: p.english)


def choices(language: str) -> list[tuple[str, str]]:
    """(code, name in `language`) of every province, in that reader's order."""
    return [(p.code, p.name(language)) for p in ordered(language)]
