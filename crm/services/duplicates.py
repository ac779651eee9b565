"""Finding records that describe the same real stakeholder: one matcher for every caller.

The same enterprise arrives as "东莞和谐服装有限公司", "东莞和谐服装股份有限公司",
"申洲国际集团控股有限公司" and "Dongguan Harmony Garments Co., Ltd."; the same person as 王芳,
"Wang Fang" and "Fang Wang". Names and contact details are reduced to keys that are stored on
every record (`derive_keys`), so candidates are found with indexed equality. The entry forms
(crm.services.stakeholders `create_*`), the participant quick-create, the import preview and
the attendance sheet (crm.services.imports.matching) all call `find`; `/duplicates` pages
through the pairs it flags (`likely_pairs`). They share one set of keys and one set of verdicts:

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

Finding every pair in the database takes seconds (the name rule joins every person with a
common name to their employers), so the pairs are stored (crm.models.DuplicatePair) like the
search index: every write that can change a record's pairs calls `refresh` for it before its
commit (creating, editing, trashing, restoring or merging records; positions started or
ended), `refresh` asks `find`, and `rebuild` computes them all in SQL (`flask crm reindex`,
the generator). /duplicates then reads one page of them off an index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, selectinload

from crm.extensions import db
from crm.models import (
    Affiliation,
    ContactDetail,
    ContactKind,
    DuplicatePair,
    Organisation,
    Person,
    Stakeholder,
    StakeholderKind,
)
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


def find(probes: Sequence[Probe], *, limit: int | None = 10) -> list[list[Candidate]]:
    """The live records each probe may describe, best first, at most `limit` each (None: all).

    A constant number of queries whatever the number of probes (keys go in batches of 500), so
    an import preview of 5,000 rows costs what one form does, times ten.
    """
    hits = _person_hits([p for p in probes if p.kind == "person"])
    people = _people_with_positions(_hit_ids(hits))
    employers = {person_id: _employer_keys(person) for person_id, person in people.items()}
    by_key = _organisation_hits([p for p in probes if p.kind == "organisation"])
    organisations = _organisations({i for rows in by_key.values() for i, _k, _zh in rows})
    records: dict[int, Stakeholder] = {**people, **organisations}
    results = []
    for probe in probes:
        if probe.kind == "person":
            matches = _person_matches(probe, hits, employers)
        else:
            matches = _organisation_matches(probe, by_key)
        found = {i: (records[i], reasons) for i, reasons in matches.items()}
        results.append(_ranked(found)[:limit])
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


def _person_hits(probes: Sequence[Probe]) -> Hits:
    """Ids of live people by reason and key."""
    hits: Hits = {reason: {} for reason in _person_columns()}
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
    return hits


def _hit_ids(hits: Hits) -> set[int]:
    return {i for by_key in hits.values() for found in by_key.values() for i in found}


def _people_with_positions(ids: Iterable[int]) -> dict[int, Person]:
    """People with their positions and employers."""
    people: dict[int, Person] = {}
    for chunk in _chunks(ids):
        # Employers by a second IN query: a joined load would add `LEFT OUTER JOIN
        # (stakeholders JOIN organisations)`, which SQLite answers by reading every one.
        stmt = (
            sa.select(Person)
            .where(Person.id.in_(chunk))
            .options(selectinload(Person.affiliations).selectinload(Affiliation.organisation))
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


def _employers_of(ids: Iterable[int]) -> dict[int, set[str]]:
    """The keys of the current live employers of these people (`_employer_keys`), read as
    rows rather than records: `refresh` asks for thousands at once."""
    position, employer = _affiliations, _stakeholders
    found: dict[int, set[str]] = {}
    for chunk in _chunks(ids):
        stmt = (
            sa.select(position.c.person_id, employer.c.match_key, employer.c.match_key_zh)
            .join(employer, employer.c.id == position.c.organisation_id)
            .where(
                position.c.person_id.in_(chunk),
                position.c.end_on.is_(None),
                position.c.deleted_at.is_(None),
                employer.c.deleted_at.is_(None),
            )
        )
        for person_id, *keys in db.session.execute(stmt):
            found.setdefault(person_id, set()).update(k for k in keys if k)
    return found


def _person_matches(
    probe: Probe, hits: Hits, employers: Mapping[int, set[str]]
) -> dict[int, list[str]]:
    """The people a person probe matches, with the reasons: the name rule of the module."""
    found: dict[int, list[str]] = {}
    for reason in _person_columns():
        key = probe.keys.get(reason)
        for person_id in sorted(hits[reason].get(key or "", ())):
            if person_id == probe.exclude_id:
                continue
            reasons = [reason]
            theirs = employers.get(person_id, set()) if reason in NAMES else set()
            if theirs and probe.employer_keys:
                if not theirs & probe.employer_keys:
                    continue  # the same name at another employer: another person
                reasons.append("organisation")
            found.setdefault(person_id, []).extend(reasons)
    return found


# (id, match_key, match_key_zh) of a live organisation
OrganisationKeys = tuple[int, str | None, str | None]


def _organisation_hits(probes: Sequence[Probe]) -> dict[str, list[OrganisationKeys]]:
    by_key: dict[str, list[OrganisationKeys]] = {}
    for chunk in _chunks(k for p in probes for k in p.keys.values()):
        stmt = sa.select(Organisation.id, Organisation.match_key, Organisation.match_key_zh).where(
            Organisation.deleted_at.is_(None),
            sa.or_(Organisation.match_key.in_(chunk), Organisation.match_key_zh.in_(chunk)),
        )
        for org_id, name_key, chinese_key in db.session.execute(stmt):
            for key in {name_key, chinese_key}:
                if key:
                    by_key.setdefault(key, []).append((org_id, name_key, chinese_key))
    return by_key


def _organisation_matches(
    probe: Probe, by_key: Mapping[str, list[OrganisationKeys]]
) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for reason, key in probe.keys.items():
        for org_id, _name, _chinese in by_key.get(key, []):
            if org_id != probe.exclude_id:
                found.setdefault(org_id, []).append(reason)
    return found


def _organisations(ids: Iterable[int]) -> dict[int, Organisation]:
    found: dict[int, Organisation] = {}
    for chunk in _chunks(ids):
        stmt = sa.select(Organisation).where(Organisation.id.in_(chunk))
        found.update({o.id: o for o in db.session.scalars(stmt)})
    return found


def _ranked(found: Mapping[int, tuple[Stakeholder, list[str]]]) -> list[Candidate]:
    items = [
        Candidate(stakeholder, tuple(dict.fromkeys(reasons)))
        for stakeholder, reasons in found.values()
    ]
    items.sort(key=lambda c: (-len(STRONG & set(c.reasons)), -len(c.reasons), c.stakeholder.id))
    return items


# ---------------------------------------------------------------------------------------------
# Likely pairs across the database: stored, kept by every write, paged by /duplicates
# ---------------------------------------------------------------------------------------------

# The reasons of a stored pair, strongest first: DuplicatePair.rank is the index here.
REASONS = ("email", "phone", "wechat", "chinese_name", "name")
_CHINESE_NAME, _NAME = REASONS.index("chinese_name"), REASONS.index("name")

# The tables of the models (typed as any FromClause by SQLAlchemy; a plain model has a Table).
_stakeholders = cast(sa.Table, Stakeholder.__table__)
_people = cast(sa.Table, Person.__table__)
_details = cast(sa.Table, ContactDetail.__table__)
_affiliations = cast(sa.Table, Affiliation.__table__)
_pairs = cast(sa.Table, DuplicatePair.__table__)

Cursor = tuple[int, int, int]  # (rank, first_id, second_id) of the last pair shown


@dataclass(frozen=True)
class Pair:
    first: Stakeholder  # the older record
    second: Stakeholder
    reason: str  # email, phone, wechat, chinese_name or name


@dataclass(frozen=True)
class PairPage:
    pairs: list[Pair]
    # Where the next page starts (`likely_pairs(after=...)`); None on the last page.
    next_after: Cursor | None


def likely_pairs(kind: str, *, after: Cursor | None = None, limit: int = 50) -> PairPage:
    """One page of the live pairs of one kind that `find` flags, strongest reason first, then
    the older records; `after` is the `next_after` of the page before.

    A record is shown next to the oldest record it may duplicate, not next to every one: three
    people with one phone number make two pairs with the first of them (merging both into it
    leaves one record), not three. A weaker reason still shows another partner.

    Reads the stored pairs over their index: one statement whatever the size of the
    database, and the same cost for the last page as for the first (keyset paging).
    """
    first, second = aliased(Stakeholder, name="first"), aliased(Stakeholder, name="second")
    pair, older, oldest = DuplicatePair, aliased(DuplicatePair), aliased(Stakeholder)
    stmt = (
        sa.select(pair.rank, first, second)
        .join(first, first.id == pair.first_id)
        .join(second, second.id == pair.second_id)
        .where(
            pair.kind == StakeholderKind(kind),
            first.deleted_at.is_(None),
            second.deleted_at.is_(None),
            ~sa.exists()
            .where(
                older.second_id == pair.second_id,
                older.first_id < pair.first_id,
                older.rank <= pair.rank,
                oldest.id == older.first_id,
                oldest.deleted_at.is_(None),
            )
            .correlate(pair),
        )
        .order_by(pair.rank, pair.first_id, pair.second_id)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(sa.tuple_(pair.rank, pair.first_id, pair.second_id) > sa.tuple_(*after))
    rows = db.session.execute(stmt).all()
    pairs = [Pair(a, b, REASONS[rank]) for rank, a, b in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return PairPage(pairs, (last[0], last[1].id, last[2].id) if last else None)


def refresh(stakeholder_ids: Iterable[int | None]) -> None:
    """Make the stored pairs of these stakeholders true again after a write that may change
    them: created, edited, trashed or restored, merged, given or relieved of a position
    (a person's name is compared by employer). For an organisation, also the pairs of the
    people who work there. Flushes only; the caller commits.

    The pairs are those `find` flags, by the same hits and verdicts, so /duplicates and the
    entry forms agree. About fifteen statements for up to 500 records, a dozen more for each
    further 500, reading rows rather than records: an import refreshes its whole file at
    once. On PostgreSQL two transactions that edit both records of a pair at once may each
    miss the other's change; `rebuild` sets such a pair right.
    """
    ids = {i for i in stakeholder_ids if i}
    if not ids:
        return
    organisations = _organisation_keys(ids)
    ids |= _staff(organisations)
    for chunk in _chunks(ids):
        db.session.execute(
            sa.delete(_pairs).where(
                sa.or_(_pairs.c.first_id.in_(chunk), _pairs.c.second_id.in_(chunk))
            )
        )
    people = _stored_person_probes(ids)
    hits = _person_hits(people)
    employers = _employers_of(_hit_ids(hits))
    found: dict[tuple[int, int], tuple[StakeholderKind, int]] = {}

    def pair(owner: int, other: int, kind: StakeholderKind, rank: int) -> None:
        key = (min(owner, other), max(owner, other))
        if key not in found or rank < found[key][1]:
            found[key] = (kind, rank)

    for probe in people:
        for other, reasons in _person_matches(probe, hits, employers).items():
            rank = min(REASONS.index(r) for r in reasons if r in REASONS)
            pair(probe.exclude_id or 0, other, StakeholderKind.person, rank)
    probes = [
        Probe(
            "organisation",
            {r: k for r, k in (("name", name), ("chinese_name", zh)) if k},
            exclude_id=i,
        )
        for i, name, zh in organisations.values()
    ]
    by_key = _organisation_hits(probes)
    others = {row[0]: row for rows in by_key.values() for row in rows}
    for probe in probes:
        owner = probe.exclude_id or 0
        for other in _organisation_matches(probe, by_key):
            # The Chinese name when both Chinese names have one key: the same from either side.
            chinese = organisations[owner][2]
            rank = _CHINESE_NAME if chinese and chinese == others[other][2] else _NAME
            pair(owner, other, StakeholderKind.organisation, rank)
    _write(
        {"first_id": a, "second_id": b, "kind": kind.value, "rank": rank}
        for (a, b), (kind, rank) in found.items()
    )


def _organisation_keys(ids: Iterable[int]) -> dict[int, OrganisationKeys]:
    """The keys of the live organisations among these ids."""
    found: dict[int, OrganisationKeys] = {}
    for chunk in _chunks(ids):
        stmt = sa.select(Organisation.id, Organisation.match_key, Organisation.match_key_zh).where(
            Organisation.id.in_(chunk), Organisation.deleted_at.is_(None)
        )
        found.update({row[0]: (row[0], row[1], row[2]) for row in db.session.execute(stmt)})
    return found


def _staff(organisations: Iterable[int]) -> set[int]:
    """The people who hold a current position at these organisations (live or not: a
    trashed employer no longer counts for their names)."""
    staff: set[int] = set()
    for chunk in _chunks(organisations):
        stmt = sa.select(Affiliation.person_id).where(
            Affiliation.organisation_id.in_(chunk),
            Affiliation.end_on.is_(None),
            Affiliation.deleted_at.is_(None),
        )
        staff.update(db.session.scalars(stmt))
    return staff


def _stored_person_probes(ids: Iterable[int]) -> list[Probe]:
    """The probes of the live people among these ids, from their stored keys: one with the
    keys of the record, one for each further contact detail (`exclude_id` is the person)."""
    rows: list[tuple[Any, ...]] = []
    details: dict[int, list[tuple[str, str]]] = {}
    for chunk in _chunks(ids):
        rows += db.session.execute(
            sa.select(
                Person.id,
                Person.email,
                Person.phone_key,
                sa.func.lower(Person.wechat_id),  # as matching compares them
                Person.match_key_zh,
                Person.match_key,
            ).where(Person.id.in_(chunk), Person.deleted_at.is_(None))
        ).all()
        stmt = sa.select(_details.c.person_id, _details.c.kind, _details.c.value_key).where(
            _details.c.person_id.in_(chunk)
        )
        for person_id, kind, key in db.session.execute(stmt):
            details.setdefault(person_id, []).append((str(kind), key))
    employers = _employers_of(row[0] for row in rows)
    probes = []
    for person_id, *keys in rows:
        theirs = frozenset(employers.get(person_id, ()))
        own = {r: k for r, k in zip(_person_columns(), keys, strict=True) if k}
        probes.append(Probe("person", own, theirs, person_id))
        for reason, key in details.get(person_id, ()):
            probes.append(Probe("person", {reason: key}, theirs, person_id))
    return probes


def _write(rows: Iterable[dict[str, Any]]) -> None:
    """Insert pairs; a pair another transaction has just written takes this rank."""
    values = list(rows)
    if not values:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(_pairs)
    stmt = insert.on_conflict_do_update(
        index_elements=[_pairs.c.first_id, _pairs.c.second_id],
        set_={"rank": insert.excluded.rank},
    )
    db.session.execute(stmt, values)


def rebuild() -> int:
    """Compute the pairs of every record again, in SQL (`flask crm reindex`, the generator,
    after writes that skip the services); commits. Returns how many.

    The same verdicts as `refresh`, for everyone at once: seconds for 80,000 records.
    """
    db.session.execute(sa.delete(_pairs))
    for kind, pairs in (
        (StakeholderKind.person, _person_pairs()),
        (StakeholderKind.organisation, _organisation_pairs()),
    ):
        found = pairs.subquery()
        db.session.execute(
            sa.insert(_pairs).from_select(
                ["first_id", "second_id", "kind", "rank"],
                sa.select(
                    found.c.first_id,
                    found.c.second_id,
                    sa.literal(kind.value),
                    sa.func.min(found.c.rank),
                ).group_by(found.c.first_id, found.c.second_id),
            )
        )
    count = db.session.scalar(sa.select(sa.func.count()).select_from(_pairs)) or 0
    db.session.commit()
    return count


def _person_keys(reason: str) -> sa.CTE:
    """(id, key) of every live person for one reason, further contact details included."""
    person = _stakeholders.alias()
    live = [person.c.kind == StakeholderKind.person.value, person.c.deleted_at.is_(None)]
    if reason in NAMES:
        name = person.c.match_key_zh if reason == "chinese_name" else person.c.match_key
        rows = sa.select(person.c.id, name.label("key")).where(*live, name != "")
        return rows.cte(f"{reason}_keys")
    people = _people.alias()
    column: sa.ColumnElement[Any] = {
        "email": people.c.email,
        "phone": people.c.phone_key,
        "wechat": sa.func.lower(people.c.wechat_id),
    }[reason]
    own = (
        sa.select(people.c.id, column.label("key"))
        .join(person, person.c.id == people.c.id)
        .where(*live, column != "")
    )
    details = (
        sa.select(_details.c.person_id, _details.c.value_key)
        .join(person, person.c.id == _details.c.person_id)
        .where(*live, _details.c.kind == reason)
    )
    return sa.union_all(own, details).cte(f"{reason}_keys")


def _employer_keys_of_people() -> sa.CTE:
    """(id, key) of the keys of every person's current live employers (`_employer_keys`)."""
    position, employer = _affiliations.alias(), _stakeholders.alias()
    joined = position.join(employer, employer.c.id == position.c.organisation_id)
    current = [
        position.c.end_on.is_(None),
        position.c.deleted_at.is_(None),
        employer.c.deleted_at.is_(None),
    ]
    return sa.union_all(
        *(
            sa.select(position.c.person_id.label("id"), key.label("key"))
            .select_from(joined)
            .where(*current, key != "")
            for key in (employer.c.match_key, employer.c.match_key_zh)
        )
    ).cte("employer_keys")


def _person_pairs() -> sa.CompoundSelect:
    """(first_id, second_id, rank) of every pair of live people that share a key; for a name,
    people with an employer key in common, or one of them without an employer (the name
    rule of `find`, grouped by employer rather than tested pair by pair: common names make
    hundreds of thousands of pairs)."""
    employers = _employer_keys_of_people()
    selects: list[sa.Select[Any]] = []
    for rank, reason in enumerate(REASONS):
        keys = _person_keys(reason)
        if reason in NAMES:
            selects += _name_pairs(keys, employers, rank)
            continue
        one, other = keys.alias(), keys.alias()
        selects.append(
            sa.select(*_pair(one.c.id, other.c.id, rank)).join(
                other, sa.and_(other.c.key == one.c.key, other.c.id > one.c.id)
            )
        )
    return sa.union_all(*selects)


def _pair(first: Any, second: Any, rank: Any) -> tuple[sa.Label[Any], ...]:
    return first.label("first_id"), second.label("second_id"), sa.literal(rank).label("rank")


def _name_pairs(keys: sa.CTE, employers: sa.CTE, rank: int) -> list[sa.Select[Any]]:
    """Pairs that share the name of `keys` and an employer key, or of whom one has no
    employer."""
    at = (
        sa.select(keys.c.id, keys.c.key, employers.c.key.label("employer"))
        .join(employers, employers.c.id == keys.c.id)
        .cte(f"{keys.name}_at")
    )
    one, other = at.alias(), at.alias()
    same_employer = sa.select(*_pair(one.c.id, other.c.id, rank)).join(
        other,
        sa.and_(
            other.c.key == one.c.key, other.c.employer == one.c.employer, other.c.id > one.c.id
        ),
    )
    # DISTINCT keeps SQLite from folding this into the join (which would then test every
    # pair of namesakes for an employer): the few people without one are found first.
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


def _organisation_pairs() -> sa.Select[Any]:
    """(first_id, second_id, rank) of every pair of live organisations whose names share a key
    in either column: the Chinese name when both Chinese names do."""
    organisation = _stakeholders.alias()
    live = [
        organisation.c.kind == StakeholderKind.organisation.value,
        organisation.c.deleted_at.is_(None),
    ]
    keys = sa.union_all(
        *(
            sa.select(organisation.c.id, column.label("key"), sa.literal(is_zh).label("zh")).where(
                *live, column != ""
            )
            for column, is_zh in ((organisation.c.match_key, 0), (organisation.c.match_key_zh, 1))
        )
    ).cte("organisation_keys")
    one, other = keys.alias(), keys.alias()
    both_zh = sa.and_(one.c.zh == 1, other.c.zh == 1)
    return sa.select(
        one.c.id.label("first_id"),
        other.c.id.label("second_id"),
        sa.case((both_zh, _CHINESE_NAME), else_=_NAME).label("rank"),
    ).join(other, sa.and_(other.c.key == one.c.key, other.c.id > one.c.id))
