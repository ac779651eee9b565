"""Finding records that describe the same real stakeholder: one matcher for every caller.

The same enterprise arrives as "东莞和谐服装有限公司", "东莞和谐服装股份有限公司",
"申洲国际集团控股有限公司" and "Dongguan Harmony Garments Co., Ltd."; the same person as 王芳,
"Wang Fang" and "Fang Wang". Names and contact details are reduced to keys that are stored on
every record (`derive_keys`), so candidates are found with indexed equality. The entry forms
(crm.services.stakeholders `create_*`), the participant quick-create, the import preview and
the attendance sheet (crm.services.imports.matching) all call `find`; `/duplicates` calls
`likely_pairs`. They share one set of keys and one set of verdicts:

- People are the same when they share an email, a phone number (E.164) or a WeChat ID, on the
  record or among its further contact details (crm.models.ContactDetail); or a name, in
  characters or in pinyin with the family and given names in either order. A match on the
  name alone is dropped when both sides name an employer and the employers differ: 王芳 at one
  factory is not 王芳 at another. A name match at the same employer says so ("organisation").
- Organisations are the same when their English or Chinese names reduce to the same key once
  case, spacing, punctuation, a trailing "(Shenzhen)", legal suffixes ("有限公司", "Co., Ltd.")
  and group words ("集团", "控股", "Group", "Holdings") are set aside.

Candidates are ranked strong reasons (email, phone, WeChat ID) first, then by the number of
reasons, then oldest record first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import Affiliation, ContactDetail, ContactKind, Organisation, Person, Stakeholder
from crm.services import contact_details
from crm.services.text import has_han, pinyin

# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------

# Longest first, so 股份有限公司 goes before 有限公司. Group words (集团, 控股) go too: 申洲国际
# and 申洲国际集团控股有限公司 are one enterprise group for the programme.
_ZH_SUFFIXES = sorted(
    [
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "股份公司",
        "集团有限公司",
        "责任公司",
        "公司",
        "集团",
        "控股",
        "股份",
    ],
    key=len,
    reverse=True,
)
_EN_SUFFIXES = re.compile(
    r"(\b(co|company|corp|corporation|inc|incorporated|ltd|limited|llc|plc|gmbh|group"
    r"|holding|holdings)\b\.?,?\s*)+$"
)
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Two-character family names: 欧阳娜娜 is Ouyang + Nana, not Ou + Yangnana.
_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 "  # noqa: SIM905
    "轩辕 令狐 钟离 端木 独孤 南宫 西门 百里 呼延 东郭 闻人 万俟 申屠".split()
)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).lower().strip()


def organisation_key(name: str | None) -> str | None:
    """ "Shenzhen Bright Electronics Co., Ltd." → "shenzhenbrightelectronics";
    "申洲国际集团控股有限公司" → "申洲国际"."""
    if not name or not name.strip():
        return None
    text = _plain(name)
    text = re.sub(r"[（(][^)）]*[)）]\s*$", "", text).strip()  # a trailing "(Shenzhen)"
    previous = None
    while previous != text:
        previous = text
        stripped = _EN_SUFFIXES.sub("", text).strip(" ,.")
        text = stripped or text  # "Group" alone stays a name
        for suffix in _ZH_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
    key = _NOT_WORD.sub("", text)
    return key[:200] or None


def _latin(text: str | None) -> str:
    return _NOT_WORD.sub("", _plain(text or ""))


def _name_parts(
    chinese_name: str | None, family_name: str | None, given_name: str | None
) -> list[str]:
    """The family and the given name in pinyin or Latin letters, as far as they can be told."""
    if has_han(chinese_name):
        full, _initials = pinyin(chinese_name)
        syllables = (full or "").split()
        han = _HAN.findall(unicodedata.normalize("NFKC", chinese_name or ""))
        if len(han) >= 2 and len(syllables) == len(han):
            surname = 2 if len(han) > 2 and "".join(han[:2]) in _COMPOUND_SURNAMES else 1
            return ["".join(syllables[:surname]), "".join(syllables[surname:])]
        return ["".join(syllables)]
    family, given = _latin(family_name), _latin(given_name)
    if family and given:
        return [family, given]
    words = _plain(family_name or given_name or "").split()
    if len(words) >= 2:  # "Wang Fang" typed into one field
        return [_latin(words[0]), _latin("".join(words[1:]))]
    return [family or given]


def person_key(
    chinese_name: str | None, family_name: str | None, given_name: str | None
) -> str | None:
    """The name in pinyin, family and given name in either order: 王芳, "Wang Fang" and
    family "Fang", given "Wang" all give "fangwang" (the two parts in alphabetical order)."""
    parts = sorted(p for p in _name_parts(chinese_name, family_name, given_name) if p)
    return "".join(parts)[:200] or None


def chinese_key(name: str | None) -> str | None:
    if not name:
        return None
    key = _NOT_WORD.sub("", _plain(name))
    return key[:200] or None


def derive_keys(stakeholder: Stakeholder) -> None:
    """Fill the match keys of a record from its names and contact details."""
    if isinstance(stakeholder, Person):
        stakeholder.match_key = person_key(
            stakeholder.chinese_name, stakeholder.family_name, stakeholder.given_name
        )
        stakeholder.match_key_zh = chinese_key(stakeholder.chinese_name)
        stakeholder.phone_key = contact_details.phone_key(stakeholder.phone)
    else:
        stakeholder.match_key = organisation_key(stakeholder.display_name)
        stakeholder.match_key_zh = organisation_key(stakeholder.chinese_name)


# ---------------------------------------------------------------------------------------------
# Candidates for new records, in batches
# ---------------------------------------------------------------------------------------------

STRONG = frozenset({"email", "phone", "wechat"})
NAMES = frozenset({"name", "chinese_name"})
_CHUNK = 500


@dataclass(frozen=True)
class Candidate:
    """An existing record the new one may describe, and why. People come with their
    positions loaded (`affiliations` and their organisations)."""

    stakeholder: Stakeholder
    reasons: tuple[str, ...]  # email, phone, wechat, chinese_name, name, organisation


@dataclass(frozen=True)
class Probe:
    """What is known of one record about to be written: its keys by reason and, for a person,
    the keys of the employer it names (for the name rule)."""

    kind: str  # "person" | "organisation"
    keys: Mapping[str, str]
    employer_keys: frozenset[str] = field(default_factory=frozenset)
    exclude_id: int | None = None


def person_probe(
    data: Mapping[str, Any],
    *,
    organisation: str | None = None,
    organisation_id: int | None = None,
    exclude_id: int | None = None,
) -> Probe:
    """The probe of a person's field values; `organisation` (a name, as an import row gives
    it) or `organisation_id` (as the participant form does) is the employer it names."""
    keys = {
        "email": contact_details.email_key(data.get("email")),
        "phone": contact_details.phone_key(data.get("phone")),
        "wechat": contact_details.wechat_key(data.get("wechat_id")),
        "chinese_name": chinese_key(data.get("chinese_name")),
        "name": person_key(
            data.get("chinese_name"), data.get("family_name"), data.get("given_name")
        ),
    }
    employer = {organisation_key(organisation)} if organisation else set()
    if organisation_id is not None:
        row = db.session.execute(
            sa.select(Organisation.match_key, Organisation.match_key_zh).where(
                Organisation.id == organisation_id
            )
        ).first()
        employer.update(row or ())
    return Probe(
        "person",
        {reason: key for reason, key in keys.items() if key},
        frozenset(k for k in employer if k),
        exclude_id,
    )


def organisation_probe(data: Mapping[str, Any], *, exclude_id: int | None = None) -> Probe:
    """The probe of an organisation's field values (its English and Chinese names)."""
    keys = {
        "name": organisation_key(data.get("display_name")),
        "chinese_name": organisation_key(data.get("chinese_name")),
    }
    return Probe("organisation", {r: k for r, k in keys.items() if k}, exclude_id=exclude_id)


def find(probes: Sequence[Probe], *, limit: int = 10) -> list[list[Candidate]]:
    """The live records each probe may describe, best first, at most `limit` each.

    A constant number of queries whatever the number of probes (keys go in batches of 500), so
    an import preview of 5,000 rows costs what one form does, times ten.
    """
    people = _person_hits([p for p in probes if p.kind == "person"])
    organisations = _organisation_hits([p for p in probes if p.kind == "organisation"])
    results = []
    for probe in probes:
        if probe.kind == "person":
            results.append(_person_verdicts(probe, *people)[:limit])
        else:
            results.append(_organisation_verdicts(probe, organisations)[:limit])
    return results


def candidates_for_person(
    data: Mapping[str, Any], *, exclude_id: int | None = None, limit: int = 10
) -> list[Candidate]:
    """Live people a person with these field values may duplicate (the entry form)."""
    return find([person_probe(data, exclude_id=exclude_id)], limit=limit)[0]


def candidates_for_organisation(
    data: Mapping[str, Any], *, exclude_id: int | None = None, limit: int = 10
) -> list[Candidate]:
    """Live organisations whose English or Chinese name reduces to the same key."""
    return find([organisation_probe(data, exclude_id=exclude_id)], limit=limit)[0]


_Key = TypeVar("_Key", str, int)


def _chunks(values: Iterable[_Key]) -> Iterator[list[_Key]]:
    """The distinct non-empty values, sorted, in lists short enough for one IN (...)."""
    items = sorted({v for v in values if v})
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _person_columns() -> dict[str, Any]:
    return {
        "email": Person.email,
        "phone": Person.phone_key,
        "wechat": sa.func.lower(Person.wechat_id),
        "chinese_name": Person.match_key_zh,
        "name": Person.match_key,
    }


_DETAIL_KINDS = {
    "email": ContactKind.email,
    "phone": ContactKind.phone,
    "wechat": ContactKind.wechat,
}

Hits = dict[str, dict[str, set[int]]]  # reason → key → ids of live records


def _person_hits(probes: Sequence[Probe]) -> tuple[Hits, dict[int, Person]]:
    """Ids of live people by reason and key, and those people with their positions."""
    hits: Hits = {reason: {} for reason in _person_columns()}
    if not probes:
        return hits, {}
    for reason, column in _person_columns().items():
        for chunk in _chunks(p.keys.get(reason, "") for p in probes):
            stmt = sa.select(Person.id, column).where(
                Person.deleted_at.is_(None), column.in_(chunk)
            )
            for person_id, key in db.session.execute(stmt):
                hits[reason].setdefault(key, set()).add(person_id)
    for reason, kind in _DETAIL_KINDS.items():
        for chunk in _chunks(p.keys.get(reason, "") for p in probes):
            stmt = (
                sa.select(ContactDetail.person_id, ContactDetail.value_key)
                .join(Person, Person.id == ContactDetail.person_id)
                .where(
                    Person.deleted_at.is_(None),
                    ContactDetail.kind == kind,
                    ContactDetail.value_key.in_(chunk),
                )
            )
            for person_id, key in db.session.execute(stmt):
                hits[reason].setdefault(key, set()).add(person_id)
    ids = {i for by_key in hits.values() for found in by_key.values() for i in found}
    return hits, _people_with_positions(ids)


def _people_with_positions(ids: Iterable[int]) -> dict[int, Person]:
    people: dict[int, Person] = {}
    for chunk in _chunks(ids):
        stmt = (
            sa.select(Person)
            .where(Person.id.in_(chunk))
            .options(selectinload(Person.affiliations).joinedload(Affiliation.organisation))
        )
        people.update({p.id: p for p in db.session.scalars(stmt)})
    return people


def current_employers(person: Person) -> list[Organisation]:
    """The live organisations where the person holds a current post (positions loaded)."""
    return [
        a.organisation
        for a in person.affiliations
        if a.end_on is None and a.deleted_at is None and a.organisation.deleted_at is None
    ]


def _employer_keys(person: Person) -> set[str]:
    return {
        key for org in current_employers(person) for key in (org.match_key, org.match_key_zh) if key
    }


def _person_verdicts(probe: Probe, hits: Hits, people: Mapping[int, Person]) -> list[Candidate]:
    found: dict[int, list[str]] = {}
    for reason in _person_columns():
        key = probe.keys.get(reason)
        for person_id in sorted(hits[reason].get(key or "", ())):
            if person_id == probe.exclude_id:
                continue
            reasons = [reason]
            employers = _employer_keys(people[person_id]) if reason in NAMES else set()
            if employers and probe.employer_keys:
                if not employers & probe.employer_keys:
                    continue  # the same name at another employer: another person
                reasons.append("organisation")
            found.setdefault(person_id, []).extend(reasons)
    return _ranked({pid: (people[pid], reasons) for pid, reasons in found.items()})


def _organisation_hits(probes: Sequence[Probe]) -> dict[str, list[Organisation]]:
    by_key: dict[str, list[Organisation]] = {}
    for chunk in _chunks(k for p in probes for k in p.keys.values()):
        stmt = sa.select(Organisation).where(
            Organisation.deleted_at.is_(None),
            sa.or_(Organisation.match_key.in_(chunk), Organisation.match_key_zh.in_(chunk)),
        )
        for org in db.session.scalars(stmt):
            for key in {org.match_key, org.match_key_zh}:
                if key:
                    by_key.setdefault(key, []).append(org)
    return by_key


def _organisation_verdicts(
    probe: Probe, by_key: Mapping[str, list[Organisation]]
) -> list[Candidate]:
    found: dict[int, tuple[Stakeholder, list[str]]] = {}
    for reason, key in probe.keys.items():
        for org in by_key.get(key, []):
            if org.id != probe.exclude_id:
                found.setdefault(org.id, (org, []))[1].append(reason)
    return _ranked(found)


def _ranked(found: Mapping[int, tuple[Stakeholder, list[str]]]) -> list[Candidate]:
    items = [
        Candidate(stakeholder, tuple(dict.fromkeys(reasons)))
        for stakeholder, reasons in found.values()
    ]
    items.sort(key=lambda c: (-len(STRONG & set(c.reasons)), -len(c.reasons), c.stakeholder.id))
    return items


# ---------------------------------------------------------------------------------------------
# Likely pairs across the database
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    first: Stakeholder
    second: Stakeholder
    reason: str  # email, phone, wechat, name or chinese_name


def _keyed(reason: str) -> sa.Subquery:
    """(id, key) of every live person for one reason, further contact details included."""
    column = _person_columns()[reason]
    rows: sa.Select[Any] = sa.select(Person.id.label("id"), column.label("key")).where(
        Person.deleted_at.is_(None), column.is_not(None), column != ""
    )
    if reason in _DETAIL_KINDS:
        details = (
            sa.select(ContactDetail.person_id.label("id"), ContactDetail.value_key.label("key"))
            .join(Person, Person.id == ContactDetail.person_id)
            .where(Person.deleted_at.is_(None), ContactDetail.kind == _DETAIL_KINDS[reason])
        )
        return sa.union(rows, details).subquery()
    return rows.subquery()


def _person_groups(reason: str, limit: int) -> list[list[int]]:
    return _groups(_keyed(reason), limit)


def _groups(keyed: sa.Subquery, limit: int) -> list[list[int]]:
    """The ids that share each key of an (id, key) subquery, for keys held by two or more."""
    keys = db.session.scalars(
        sa.select(keyed.c.key)
        .group_by(keyed.c.key)
        .having(sa.func.count(sa.distinct(keyed.c.id)) > 1)
        .order_by(keyed.c.key)
        .limit(limit)
    ).all()
    groups: dict[str, list[int]] = {}
    for chunk in _chunks(keys):
        stmt = sa.select(keyed.c.key, keyed.c.id).where(keyed.c.key.in_(chunk))
        for key, record_id in db.session.execute(stmt.order_by(keyed.c.key, keyed.c.id)):
            members = groups.setdefault(key, [])
            if record_id not in members:
                members.append(record_id)
    return list(groups.values())


def _organisation_groups(columns: Sequence[Any], limit: int) -> list[list[int]]:
    """Ids of live organisations sharing a key in any of `columns` (an English name may
    reduce to the key of another's Chinese name: `find` compares across both)."""
    keyed = sa.union(
        *(
            sa.select(Organisation.id.label("id"), column.label("key")).where(
                Organisation.deleted_at.is_(None), column.is_not(None), column != ""
            )
            for column in columns
        )
    ).subquery()
    return _groups(keyed, limit)


def likely_pairs(kind: str, *, limit: int = 200) -> list[Pair]:
    """Pairs of live records of one kind that `find` would flag, strongest reasons first."""
    if kind == "organisation":
        sources = [
            ("chinese_name", _organisation_groups([Organisation.match_key_zh], limit)),
            (
                "name",
                _organisation_groups([Organisation.match_key, Organisation.match_key_zh], limit),
            ),
        ]
    else:
        sources = [
            (reason, _person_groups(reason, limit))
            for reason in ("email", "phone", "wechat", "chinese_name", "name")
        ]
    ids = {i for _reason, groups in sources for members in groups for i in members}
    records = _records(kind, ids)
    seen: set[tuple[int, int]] = set()
    pairs: list[Pair] = []
    for reason, groups in sources:
        for members in groups:
            first = records[members[0]]
            for other_id in members[1:20]:
                other = records[other_id]
                pair = (min(first.id, other.id), max(first.id, other.id))
                if pair in seen or not _same(first, other, reason):
                    continue
                seen.add(pair)
                pairs.append(Pair(first, other, reason))
                if len(pairs) >= limit:
                    return pairs
    return pairs


def _records(kind: str, ids: Iterable[int]) -> dict[int, Stakeholder]:
    if kind != "organisation":
        return dict(_people_with_positions(ids))
    found: dict[int, Stakeholder] = {}
    for chunk in _chunks(ids):
        stmt = sa.select(Organisation).where(Organisation.id.in_(chunk))
        found.update({o.id: o for o in db.session.scalars(stmt)})
    return found


def _same(first: Stakeholder, second: Stakeholder, reason: str) -> bool:
    """The name rule of `find`, for two existing people: a shared name is no duplicate when
    both hold posts and at no common employer."""
    if reason not in NAMES or not isinstance(first, Person) or not isinstance(second, Person):
        return True
    mine, theirs = _employer_keys(first), _employer_keys(second)
    return not (mine and theirs) or bool(mine & theirs)
