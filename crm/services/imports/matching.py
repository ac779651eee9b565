"""Matching rows against existing records and each other: the duplicate candidates of a preview.

`find_organisations` and `find_people` return the candidates of every row in batched queries,
with the keys of crm.services.duplicates (people: same email, phone or WeChat ID, or the same
name unless both sides name different organisations; organisations: same normalised name),
strong reasons first (`_ranked`). `organisation_keys` and `person_keys` are the keys that make
two rows of one file the same record. `REASON_LABELS` names the reasons for the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.models import Affiliation, Organisation, Person, Stakeholder, label
from crm.services import duplicates
from crm.services.imports.rows import Built, Match

_CHUNK = 500

REASON_LABELS: dict[str, Any] = {
    "email": _l("same email"),
    "phone": _l("same phone"),
    "wechat": _l("same WeChat ID"),
    "name": _l("same name"),
    "chinese_name": _l("same Chinese name"),
    "organisation": _l("same organisation"),
    "file": _l("repeats an earlier row"),
}
_STRONG = frozenset({"email", "phone", "wechat"})


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """The distinct non-empty values, sorted, in lists short enough for one IN (...) query."""
    items = sorted({v for v in values if v})
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _ranked(found: dict[int, tuple[str, str, list[str]]]) -> list[Match]:
    """Candidates in the order of crm.services.duplicates: strong reasons first."""
    matches = [
        Match(sid, None, name, detail, tuple(dict.fromkeys(reasons)))
        for sid, (name, detail, reasons) in found.items()
    ]
    matches.sort(key=lambda m: (-len(_STRONG & set(m.reasons)), -len(m.reasons), m.id))
    return matches[:5]


def name_of(stakeholder: Stakeholder) -> str:
    """A record as the preview and the report name it: its name, and its Chinese name too."""
    if stakeholder.chinese_name and stakeholder.chinese_name != stakeholder.display_name:
        return f"{stakeholder.display_name} {stakeholder.chinese_name}"
    return stakeholder.display_name


# --- Organisations ----------------------------------------------------------------------------


def organisation_keys(item: Built) -> set[str]:
    keys = {
        duplicates.organisation_key(item.data.get("display_name")),
        duplicates.organisation_key(item.data.get("chinese_name")),
    }
    return {f"org:{k}" for k in keys if k}


def find_organisations(built: Sequence[Built]) -> list[list[Match]]:
    keys = [
        [
            ("name", duplicates.organisation_key(b.data.get("display_name"))),
            ("chinese_name", duplicates.organisation_key(b.data.get("chinese_name"))),
        ]
        for b in built
    ]
    by_key: dict[str, list[Organisation]] = {}
    for chunk in chunks(k for row in keys for _r, k in row):
        stmt = sa.select(Organisation).where(
            Organisation.deleted_at.is_(None),
            sa.or_(Organisation.match_key.in_(chunk), Organisation.match_key_zh.in_(chunk)),
        )
        for org in db.session.scalars(stmt):
            for key in {org.match_key, org.match_key_zh}:
                if key:
                    by_key.setdefault(key, []).append(org)
    results = []
    for row in keys:
        found: dict[int, tuple[str, str, list[str]]] = {}
        for reason, key in row:
            for org in by_key.get(key or "", []):
                detail = " · ".join(p for p in (label(org.org_type), org.city) if p)
                found.setdefault(org.id, (name_of(org), detail, []))[2].append(reason)
        results.append(_ranked(found))
    return results


# --- People -----------------------------------------------------------------------------------


def person_keys(item: Built) -> set[str]:
    data = item.data
    name = duplicates.person_key(
        data.get("chinese_name"), data.get("family_name"), data.get("given_name")
    )
    organisation = duplicates.organisation_key(item.extra.get("organisation")) or ""
    keys = {
        f"email:{data['email']}" if data.get("email") else None,
        f"phone:{duplicates.phone_key(data.get('phone'))}"
        if duplicates.phone_key(data.get("phone"))
        else None,
        f"wechat:{data['wechat_id'].lower()}" if data.get("wechat_id") else None,
        f"name:{name}@{organisation}" if name else None,
    }
    return {k for k in keys if k}


def find_people(built: Sequence[Built]) -> list[list[Match]]:
    """The candidates of crm.services.duplicates.candidates_for_person, in batched queries.

    A match on the name alone is dropped when the row and the record both name an
    organisation and the two differ: 王芳 at one factory is not 王芳 at another. A name match
    at the same organisation says so ("same organisation").
    """
    wanted = []
    for b in built:
        d = b.data
        wanted.append(
            {
                "email": (d.get("email") or "").lower() or None,
                "phone": duplicates.phone_key(d.get("phone")),
                "wechat": (d.get("wechat_id") or "").lower() or None,
                "chinese_name": duplicates.chinese_key(d.get("chinese_name")),
                "name": duplicates.person_key(
                    d.get("chinese_name"), d.get("family_name"), d.get("given_name")
                ),
                "organisation": duplicates.organisation_key(b.extra.get("organisation")),
            }
        )
    columns = {
        "email": Person.email,
        "phone": Person.phone_key,
        "wechat": sa.func.lower(Person.wechat_id),
        "chinese_name": Person.match_key_zh,
        "name": Person.match_key,
    }
    hits: dict[str, dict[str, set[int]]] = {reason: {} for reason in columns}
    for reason, column in columns.items():
        for chunk in chunks(w[reason] for w in wanted):
            stmt = sa.select(Person.id, column.label("key")).where(
                Person.deleted_at.is_(None), column.in_(chunk)
            )
            for person_id, key in db.session.execute(stmt):
                hits[reason].setdefault(key, set()).add(person_id)
    ids = {i for by_key in hits.values() for found in by_key.values() for i in found}
    people: dict[int, Person] = {}
    for chunk in chunks(ids):
        stmt = (
            sa.select(Person)
            .where(Person.id.in_(chunk))
            .options(selectinload(Person.affiliations).joinedload(Affiliation.organisation))
        )
        people.update({p.id: p for p in db.session.scalars(stmt)})
    employers = {pid: _current_employers(person) for pid, person in people.items()}
    results = []
    for want in wanted:
        found: dict[int, tuple[str, str, list[str]]] = {}
        for reason in columns:
            for person_id in sorted(hits[reason].get(want[reason] or "", ())):
                person = people[person_id]
                orgs = employers[person_id]
                if reason in ("name", "chinese_name") and want["organisation"] and orgs:
                    if want["organisation"] not in {k for _n, keys in orgs for k in keys}:
                        continue
                    reasons = [reason, "organisation"]
                else:
                    reasons = [reason]
                detail = " · ".join(p for p in (person.email, *(n for n, _k in orgs)) if p)
                found.setdefault(person_id, (name_of(person), detail, []))[2].extend(reasons)
        results.append(_ranked(found))
    return results


def _current_employers(person: Person) -> list[tuple[str, set[str]]]:
    """(name, match keys) of the live organisations where the person holds a current post."""
    employers = []
    for affiliation in person.affiliations:
        org = affiliation.organisation
        if affiliation.end_on is None and affiliation.deleted_at is None and org.deleted_at is None:
            employers.append(
                (org.display_name, {k for k in (org.match_key, org.match_key_zh) if k})
            )
    return employers
