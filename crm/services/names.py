"""People's names: which part of a full name is the family name, and which order shows it.

One rule for every way a name enters (people imports and sign-in sheets in CSV or XLSX,
vCards, Google and Outlook contact files, crm.services.imports and crm.services.contacts)
and for the order a person's name is shown in (crm.services.stakeholders):

* A Chinese name reads family name first, in characters (周小红) and in pinyin ("Zhou
  Xiaohong"). Other names keep the order their file states: "Anna Schmidt" is given Anna,
  family Schmidt; "Schmidt, Anna" (with a comma) names the family first.
* A Latin name is taken as the pinyin of a Chinese name when every word of it spells pinyin
  syllables (`is_pinyin`, over the syllables pypinyin knows) and its first or last word is a
  common Chinese surname (`is_surname`: Wang, Zhou, Ouyang, Zhuge…). That word is the family
  name, at whichever end it stands, so "Xiaohong Zhou", as Western files write it, is family
  Zhou, given Xiaohong.
* When both ends are surnames ("Wang Fang": 方 Fang is a surname too) and nothing else tells,
  the first word is the family name: a Chinese name in pinyin is written family name first
  (GB/T 28039-2011, passports, Chinese sign-in sheets), so that is the order a file most
  likely follows; the import preview shows the result before anything is written.
* Stronger evidence comes first. The characters of the same name, when the file gives them
  (李明 beside "Ming Li"): the word that spells the pinyin of their surname is the family
  name. Then a word written in capitals among words that are not ("Xiaohong ZHOU"), the way
  passports and conference lists mark a family name.
* Separate family and given columns (and a vCard's N) are taken as their headers say, except
  when the characters show them swapped, or when they hold a pinyin name whose only surname
  stands in the given column ("First Name: Zhou, Last Name: Xiaohong"). A whole name typed
  into one of them ("Zhou Xiaohong" as the first name, the last name empty) is split by the
  rule above when it reads as a Chinese name in pinyin.

`shows_family_first` tells the display rule when a name reads family first: a Chinese name in
characters, or a family name that is a Chinese surname with a given name in pinyin that is
not also a common Western given name (so "Li Lei" shows as such, "Anna Li" stays "Anna Li").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin import pinyin as pinyin_readings
from pypinyin.pinyin_dict import pinyin_dict

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Runs of Han characters, with the middle dot of transcribed names (阿依古丽·买买提).
_HAN_RUN = re.compile(f"[{_HAN}]+(?:[·•・][{_HAN}]+)*")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_DOTS = re.compile("[·•・]")
_WHITESPACE = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")
_JOINERS = re.compile(r"['’‘`\-‐‑]")

# The common surnames: the hundred most frequent (2020 census) and others met in the
# programme's provinces. Each is read as a surname (单 Shan, 曾 Zeng), see _SURNAME_READINGS.
_SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩邓冯曹彭曾肖萧田董潘袁蔡蒋余于"
    "杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏傅付方邹熊白孟秦邱侯江尹薛闫阎段雷龙"
    "黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施洪辛柯庄樊齐翟殷葛岳单解区仇"
    "查盖朴乐缪温骆倪詹甘凌麦梅简祝游卓蒲涂牛关包左邢裴聂鲁章管焦颜俞兰景鲍连宁尚芦伍"
)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 "  # noqa: SIM905
    "轩辕 令狐 钟离 端木 独孤 南宫 西门 百里 呼延 东郭 闻人 万俟 申屠 澹台".split()
)
# Surnames whose reading is not a lone character's most common one.
_SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "区": "ou",
    "仇": "qiu",
    "查": "zha",
    "盖": "ge",
    "朴": "piao",
    "乐": "yue",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "长孙": "zhangsun",
}
# Western given names that also spell pinyin: with a Chinese surname they are still shown given
# name first ("Lisa Wang"), the way their bearers write them.
_WESTERN_GIVEN = frozenset(
    "aida alan alice alina amanda amelia ana angela angelina anita anna anne annie ben "  # noqa: SIM905
    "bianca cecilia dana diana elena eli elisa hanna helen helena henri julia julian karen "
    "ken lea lena leo liana linda lisa luca lucia maria marie marina mario mia mina mona "
    "nadia nina paola pia rena ruben sean susan tanya tina wanda".split()
)
# Passports spell 吕 and 女 with yu (Lyu, Nyu), others with u (Lu).
_EXTRA_SYLLABLES = ("lyu", "nyu", "lyue", "nyue")


@dataclass(frozen=True)
class Name:
    """A person's name as import rows carry it: family and given name in Latin letters, and
    the name in characters ("" for each part that is missing)."""

    family: str
    given: str
    chinese: str


# --- Pinyin -----------------------------------------------------------------------------------


def _plain(word: str) -> str:
    """Lower case without tone marks, ü as v, apostrophes and hyphens dropped ("Lǚ" → "lv")."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    decomposed = decomposed.replace("u\u0308", "v")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _JOINERS.sub("", stripped)


@cache
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin gives a character, ü spelled v and u; the
    interjections without a vowel (m, ng, hm) are left out, no name is spelled with them."""
    found: set[str] = set(_EXTRA_SYLLABLES)
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            syllable = _plain(reading)
            if re.search("[aeiouv]", syllable):
                found.add(syllable)
                found.add(syllable.replace("v", "u"))
    return frozenset(found)


@lru_cache(maxsize=4096)
def is_pinyin(word: str) -> bool:
    """True when `word` is a run of pinyin syllables ("Xiaohong", "Ou-yang", "Lǚ", "Xi'an")."""
    letters = _plain(word)
    if not letters or not letters.isascii() or not letters.isalpha():
        return False
    syllables = _syllables()
    # Ends of the prefixes that split into syllables; a syllable has at most six letters.
    reachable = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        reachable[end] = any(
            reachable[start] and letters[start:end] in syllables
            for start in range(max(0, end - 6), end)
        )
    return reachable[-1]


@cache
def _surnames() -> frozenset[str]:
    """The common surnames in pinyin, ü spelled v, u and yu (吕: lv, lu, lyu)."""
    found: set[str] = set()
    for surname in (*_SINGLE_SURNAMES, *COMPOUND_SURNAMES):
        reading = _plain(_SURNAME_READINGS.get(surname) or "".join(lazy_pinyin(surname)))
        found |= {reading, reading.replace("v", "u"), reading.replace("v", "yu")}
    return frozenset(found)


def is_surname(word: str) -> bool:
    """True when `word` is a common Chinese surname in pinyin ("Wang", "ouyang", "Lü")."""
    return "".join(_plain(word).split()) in _surnames()


def _is_western_given(word: str) -> bool:
    return _plain(word) in _WESTERN_GIVEN


# --- Evidence from the characters ------------------------------------------------------------


def _char_readings(chars: str) -> list[set[str]]:
    """Every reading of each character, ü as v, u and yu."""
    out = []
    for readings in pinyin_readings(chars, style=Style.NORMAL, heteronym=True, errors="ignore"):
        spelled: set[str] = set()
        for reading in readings:
            plain = _plain(reading)
            spelled |= {plain, plain.replace("v", "u"), plain.replace("v", "yu")}
        out.append(spelled)
    return out


def _spells(letters: str, readings: list[set[str]]) -> bool:
    """True when `letters` is one reading of each character, in order."""
    ends = {0}
    for options in readings:
        ends = {end + len(r) for end in ends for r in options if letters.startswith(r, end)}
        if not ends:
            return False
    return len(letters) in ends


def _surname_chars(chinese: str) -> tuple[str, str] | None:
    """(surname, given name) of a name in characters; None when it cannot be told."""
    han = "".join(_HAN_CHAR.findall(unicodedata.normalize("NFKC", chinese)))
    if _DOTS.search(chinese) or len(han) < 2 or len(han) > 5:
        return None  # a transcribed name (阿依古丽·买买提) has no Chinese surname
    cut = 2 if len(han) > 2 and han[:2] in COMPOUND_SURNAMES else 1
    return han[:cut], han[cut:]


def _surname_spellings(surname: str) -> set[str]:
    """Every spelling of a surname in characters: its surname reading, and each reading of
    its characters (曾 → zeng, ceng; 欧阳 → ouyang)."""
    spellings = {""}
    for options in _char_readings(surname):
        spellings = {s + r for s in spellings for r in options}
    special = _SURNAME_READINGS.get(surname)
    return spellings | ({special} if special else set())


def _family_end_by_characters(words: list[str], chinese: str) -> str | None:
    """Which end of `words` ("first" or "last") spells the surname of `chinese`; None when
    the characters tell nothing about these words."""
    parts = _surname_chars(chinese)
    if parts is None:
        return None
    surname, given = parts
    surnames = _surname_spellings(surname)
    given_readings = _char_readings(given)
    plain = ["".join(_plain(w).split()) for w in words]
    if _spells("".join(plain[1:]), given_readings) and plain[0] in surnames:
        return "first"  # also when both orders spell it (李莉 Li Li): the file's order
    if _spells("".join(plain[:-1]), given_readings) and plain[-1] in surnames:
        return "last"
    # The Latin name is not the pinyin of the characters (an English given name, "Lisa Wang"
    # for 王丽莎): the surname alone may still be there.
    if plain[0] in surnames:
        return "first"
    if plain[-1] in surnames:
        return "last"
    return None


# --- Splitting and ordering -------------------------------------------------------------------


def _family_end(words: list[str], chinese: str) -> str | None:
    """Which end of a Latin name of two or more words is the family name: "first", "last",
    or None when it is not a Chinese name and the file's own convention applies."""
    if chinese:
        end = _family_end_by_characters(words, chinese)
        if end is not None:
            return end
    capitals = [i for i, w in enumerate(words) if len(w) > 1 and w.isalpha() and w.isupper()]
    if len(capitals) == 1 and capitals[0] in (0, len(words) - 1):
        return "first" if capitals[0] == 0 else "last"
    if len(words) > 3 or not all(is_pinyin(w) for w in words):
        return None
    if is_surname(words[0]):
        return "first"
    if is_surname(words[-1]):
        return "last"
    return None


def split_latin(text: str, *, chinese: str | None = None) -> tuple[str, str]:
    """(family, given) of a full name in Latin letters, by the module's rule.

    "Zhou Xiaohong" and "Xiaohong Zhou" → ("Zhou", "Xiaohong"); "Anna Schmidt" → ("Schmidt",
    "Anna"); "Schmidt, Anna" → ("Schmidt", "Anna"); a single word is the family name.
    `chinese` is the same name in characters, when known.
    """
    text = _WHITESPACE.sub(" ", text).strip(" ,;")
    if "," in text:
        family, given = (p.strip() for p in text.split(",", 1))
        return family, given
    words = text.split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    end = _family_end(words, chinese or "")
    if end == "first":
        return words[0], " ".join(words[1:])
    return words[-1], " ".join(words[:-1])  # the family name last, as Western names put it


def split_full_name(text: str, *, chinese: str | None = None) -> Name:
    """A full name as one cell holds it: "王芳", "Wang Fang", "Fang Wang" or both, "王芳 Wang
    Fang". The characters are the Chinese name (`chinese`, from another column, is the
    evidence when the cell has none); the Latin part is split by `split_latin`.

    A name with digits and no other Latin letters ("人员12", "王芳2") is one name, kept whole.
    """
    han = "".join(_HAN_RUN.findall(text))
    latin = _WHITESPACE.sub(" ", _HAN_RUN.sub(" ", text)).strip(" ,;/()（）")
    if not _LETTER.search(latin):
        return Name("", "", text.strip() if han else "")
    family, given = split_latin(latin, chinese=han or chinese)
    return Name(family, given, han)


def order_parts(family: str, given: str, *, chinese: str | None = None) -> tuple[str, str]:
    """(family, given) from separate family and given fields, put right where the fields are
    clearly swapped for a Chinese name, and a whole name in one field split (module rule)."""
    family, given = family.strip(), given.strip()
    if bool(family) != bool(given):
        whole = family or given
        if _HAN_CHAR.search(whole) or len(whole.split()) < 2:
            return family, given
        words = whole.split()
        end = _family_end(words, chinese or "")
        if end is None:
            return family, given  # "de Vries" in the family field stays as it is
        return split_latin(whole, chinese=chinese)
    if not family or _HAN_CHAR.search(family + given):
        return family, given
    words = [*family.split(), *given.split()]
    if chinese:
        by_characters = _family_end_by_characters([family, given], chinese)
        if by_characters is not None:
            return (family, given) if by_characters == "first" else (given, family)
    if all(is_pinyin(w) for w in words) and is_surname(given) and not is_surname(family):
        return given, family
    return family, given


def shows_family_first(family: str | None, given: str | None, chinese: str | None) -> bool:
    """True when a person's name reads family name first: it has characters, or it is a
    Chinese name in pinyin (a Chinese surname, and a given name in pinyin that is not also a
    common Western given name)."""
    if chinese and chinese.strip():
        return True
    if not family or not given:
        return False
    words = given.split()
    return (
        is_surname(family)
        and all(is_pinyin(w) for w in words)
        and not any(_is_western_given(w) for w in words)
    )
