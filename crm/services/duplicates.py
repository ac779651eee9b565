"""Finding records that describe the same real stakeholder.

The same enterprise arrives as "东莞和谐服装有限公司", "东莞和谐服装股份有限公司" and
"Dongguan Harmony Garments Co., Ltd."; the same person as 王芳 and "Wang Fang". Names are
reduced to keys (lower case, no spaces or punctuation, no legal suffixes) that are stored on
every record, so candidates are found with indexed equality, on creation and across the whole
database alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Organisation, Person, Stakeholder
from crm.services import contact_details
from crm.services.text import pinyin

# Longest first, so 股份有限公司 goes before 有限公司.
_ZH_SUFFIXES = sorted(
    ["股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团有限公司", "责任公司", "公司"],
    key=len,
    reverse=True,
)
_EN_SUFFIXES = re.compile(
    r"(\b(co|company|corp|corporation|inc|incorporated|ltd|limited|llc|plc|gmbh|group)\b\.?,?\s*)+$"
)
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).lower().strip()


def organisation_key(name: str | None) -> str | None:
    """ "Shenzhen Bright Electronics Co., Ltd." → "shenzhenbrightelectronics"."""
    if not name or not name.strip():
        return None
    text = _plain(name)
    text = re.sub(r"[（(][^)）]*[)）]\s*$", "", text).strip()  # a trailing "(Shenzhen)"
    previous = None
    while previous != text:
        previous = text
        text = _EN_SUFFIXES.sub("", text).strip(" ,.")
        for suffix in _ZH_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
    key = _NOT_WORD.sub("", text)
    return key[:200] or None


def person_key(
    chinese_name: str | None, family_name: str | None, given_name: str | None
) -> str | None:
    """Pinyin of the Chinese name, else family + given name: 王芳 and Wang Fang → "wangfang"."""
    full, _initials = pinyin(chinese_name)
    if full:
        return full.replace(" ", "")[:200]
    latin = _NOT_WORD.sub("", _plain(f"{family_name or ''}{given_name or ''}"))
    return latin[:200] or None


def chinese_key(name: str | None) -> str | None:
    if not name:
        return None
    key = _NOT_WORD.sub("", _plain(name))
    return key[:200] or None


# The phone rule lives in crm.services.contact_details; this name stays for the callers that
# still reach it here (the import pipeline, the demo generator) until they import it from there
# (issue #14).
phone_key = contact_details.phone_key


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
# Candidates for a new record
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    stakeholder: Stakeholder
    reasons: tuple[str, ...]  # email, phone, wechat, name, chinese_name


def _live(model: type[Stakeholder]) -> sa.Select[Any]:
    return sa.select(model).where(model.deleted_at.is_(None))


def candidates_for_organisation(
    data: Mapping[str, Any], *, exclude_id: int | None = None, limit: int = 10
) -> list[Candidate]:
    """Live organisations whose English or Chinese name reduces to the same key."""
    found: dict[int, tuple[Stakeholder, list[str]]] = {}
    checks = [
        ("name", organisation_key(data.get("display_name"))),
        ("chinese_name", organisation_key(data.get("chinese_name"))),
    ]
    for reason, key in checks:
        if not key:
            continue
        stmt = _live(Organisation).where(
            sa.or_(Organisation.match_key == key, Organisation.match_key_zh == key)
        )
        for org in db.session.scalars(stmt.limit(limit)):
            found.setdefault(org.id, (org, []))[1].append(reason)
    return _ranked(found, exclude_id, limit)


def candidates_for_person(
    data: Mapping[str, Any], *, exclude_id: int | None = None, limit: int = 10
) -> list[Candidate]:
    """Live people with the same email, phone, WeChat ID, or name in characters or pinyin."""
    found: dict[int, tuple[Stakeholder, list[str]]] = {}
    email = (data.get("email") or "").strip().lower() or None
    phone = phone_key(data.get("phone"))
    wechat = (data.get("wechat_id") or "").strip().lower() or None
    name = person_key(data.get("chinese_name"), data.get("family_name"), data.get("given_name"))
    zh = chinese_key(data.get("chinese_name"))
    checks = [
        ("email", email and Person.email == email),
        ("phone", phone and Person.phone_key == phone),
        ("wechat", wechat and sa.func.lower(Person.wechat_id) == wechat),
        ("chinese_name", zh and Person.match_key_zh == zh),
        ("name", name and Person.match_key == name),
    ]
    for reason, condition in checks:
        if condition is None:
            continue
        for person in db.session.scalars(_live(Person).where(condition).limit(limit)):
            found.setdefault(person.id, (person, []))[1].append(reason)
    return _ranked(found, exclude_id, limit)


def _ranked(
    found: dict[int, tuple[Stakeholder, list[str]]], exclude_id: int | None, limit: int
) -> list[Candidate]:
    strong = {"email", "phone", "wechat"}
    items = [
        Candidate(stakeholder, tuple(dict.fromkeys(reasons)))
        for sid, (stakeholder, reasons) in found.items()
        if sid != exclude_id
    ]
    items.sort(key=lambda c: (-len(strong & set(c.reasons)), -len(c.reasons), c.stakeholder.id))
    return items[:limit]


# ---------------------------------------------------------------------------------------------
# Likely pairs across the database
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    first: Stakeholder
    second: Stakeholder
    reason: str  # email, phone, wechat, name or chinese_name


def _groups(model: type[Stakeholder], column: Any, reason: str, limit: int) -> list[Pair]:
    keys = db.session.scalars(
        sa.select(column)
        .where(model.deleted_at.is_(None), column.is_not(None), column != "")
        .group_by(column)
        .having(sa.func.count() > 1)
        .order_by(column)
        .limit(limit)
    ).all()
    if not keys:
        return []
    rows = db.session.scalars(_live(model).where(column.in_(keys)).order_by(column, model.id)).all()
    pairs: list[Pair] = []
    by_key: dict[Any, list[Stakeholder]] = {}
    for row in rows:
        by_key.setdefault(getattr(row, column.key), []).append(row)
    for members in by_key.values():
        first = members[0]
        for other in members[1:20]:
            pairs.append(Pair(first, other, reason))
    return pairs


def likely_pairs(kind: str, *, limit: int = 200) -> list[Pair]:
    """Pairs of live records of one kind that share a key, strongest reasons first."""
    if kind == "organisation":
        sources = [
            (Organisation, Organisation.match_key_zh, "chinese_name"),
            (Organisation, Organisation.match_key, "name"),
        ]
    else:
        sources = [
            (Person, Person.email, "email"),
            (Person, Person.phone_key, "phone"),
            (Person, Person.wechat_id, "wechat"),
            (Person, Person.match_key_zh, "chinese_name"),
            (Person, Person.match_key, "name"),
        ]
    seen: set[tuple[int, int]] = set()
    pairs: list[Pair] = []
    for model, column, reason in sources:
        for pair in _groups(model, column, reason, limit):
            ids = (min(pair.first.id, pair.second.id), max(pair.first.id, pair.second.id))
            if ids not in seen:
                seen.add(ids)
                pairs.append(pair)
            if len(pairs) >= limit:
                return pairs
    return pairs
