"""Finding organisations and people: the list pages' criteria and queries, and the small
lookups forms and filters need (names by id, tags, provinces, pickers).

Only live records are listed; what is in the trash is found through crm.services.trash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased, joinedload, selectinload

from crm.extensions import db
from crm.models import Affiliation, Organisation, OrgType, Person, Stakeholder, Tag
from crm.services import contact_details, interactions


@dataclass(frozen=True)
class OrganisationCriteria:
    q: str = ""
    org_type: str = ""
    sector: str = ""
    province: str = ""
    tag: str = ""
    engagement_level: str = ""
    owner_id: int | None = None
    sort: str = "name"
    descending: bool = False
    influence: int | None = None
    interest: int | None = None


@dataclass(frozen=True)
class PersonCriteria:
    q: str = ""
    organisation_id: int | None = None
    gender: str = ""
    tag: str = ""
    engagement_level: str = ""
    owner_id: int | None = None
    sort: str = "name"
    descending: bool = False
    influence: int | None = None
    interest: int | None = None
    sector: str = ""  # of an organisation they currently work for


ORGANISATION_SORTS: dict[str, Any] = {
    "name": Organisation.sort_name,
    "chinese": Organisation.name_pinyin,
    "type": Organisation.org_type,
    "sector": Organisation.sector,
    "province": Organisation.province,
    "engagement": Organisation.engagement_level,
    "influence": Organisation.influence,
    "updated": Organisation.updated_at,
    "last_contact": interactions.last_contact_column(Organisation),
    "next_follow_up": interactions.next_follow_up_column(Organisation),
}
PERSON_SORTS: dict[str, Any] = {
    "name": Person.sort_name,
    "chinese": Person.name_pinyin,
    "title": Person.job_title,
    "email": Person.email,
    "engagement": Person.engagement_level,
    "influence": Person.influence,
    "updated": Person.updated_at,
    "last_contact": interactions.last_contact_column(Person),
    "next_follow_up": interactions.next_follow_up_column(Person),
}


def _text_filter(model: type[Stakeholder], q: str) -> sa.ColumnElement[bool]:
    like = f"%{_escape_like(q.lower())}%"
    squashed = f"%{_escape_like(q.lower().replace(' ', ''))}%"
    return sa.or_(
        sa.func.lower(model.display_name).like(like, escape="\\"),
        model.chinese_name.like(f"%{_escape_like(q)}%", escape="\\"),
        model.name_pinyin.like(like, escape="\\"),
        sa.func.replace(model.name_pinyin, " ", "").like(squashed, escape="\\"),
        model.name_initials.like(squashed, escape="\\"),
    )


def _digits_of(column: Any) -> Any:
    """The column with the punctuation a phone number may be typed with removed, in SQL."""
    for char in contact_details.PHONE_PUNCTUATION:
        column = sa.func.replace(column, char, "")
    return column


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ordered(stmt: sa.Select[Any], column: Any, *, descending: bool, tiebreak: Any) -> Any:
    direction = column.desc() if descending else column.asc()
    return stmt.order_by(direction.nulls_last(), tiebreak)


def list_organisations(
    criteria: OrganisationCriteria, *, page: int = 1, per_page: int = 50
) -> Pagination:
    """A page of live organisations matching the criteria, with owner and tags loaded."""
    stmt = organisations_listing(criteria)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)


def organisations_listing(criteria: OrganisationCriteria) -> sa.Select[Organisation]:
    """The organisations of the list page in its order, with owner and tags loaded: the
    list pages through it, the exports read all of it."""
    stmt = organisations_query(criteria).options(
        joinedload(Organisation.owner), selectinload(Organisation.tags)
    )
    column = ORGANISATION_SORTS.get(criteria.sort, Organisation.sort_name)
    return _ordered(stmt, column, descending=criteria.descending, tiebreak=Organisation.id)


def organisations_query(criteria: OrganisationCriteria) -> sa.Select[Organisation]:
    """Live organisations matching the criteria, without order or loading options."""
    stmt = sa.select(Organisation).where(Organisation.deleted_at.is_(None))
    if criteria.influence:
        stmt = stmt.where(Organisation.influence == criteria.influence)
    if criteria.interest:
        stmt = stmt.where(Organisation.interest == criteria.interest)
    if criteria.q:
        stmt = stmt.where(_text_filter(Organisation, criteria.q))
    if criteria.org_type:
        stmt = stmt.where(Organisation.org_type == criteria.org_type)
    if criteria.sector:
        stmt = stmt.where(Organisation.sector == criteria.sector)
    if criteria.province:
        stmt = stmt.where(Organisation.province == criteria.province)
    if criteria.engagement_level:
        stmt = stmt.where(Organisation.engagement_level == criteria.engagement_level)
    if criteria.owner_id:
        stmt = stmt.where(Organisation.owner_id == criteria.owner_id)
    if criteria.tag:
        stmt = stmt.where(Organisation.tags.any(Tag.name == criteria.tag))
    return stmt


def people_query(criteria: PersonCriteria) -> sa.Select[Person]:
    """Live people matching the criteria: the filters of the people list, without order or
    loading options, so the list page and the exports select exactly the same people."""
    stmt = sa.select(Person).where(Person.deleted_at.is_(None))
    if criteria.q:
        q = criteria.q.lower()
        conditions = [
            _text_filter(Person, criteria.q),
            Person.email.like(f"%{_escape_like(q)}%", escape="\\"),
            Person.phone.like(f"%{_escape_like(q)}%", escape="\\"),
            sa.func.lower(Person.wechat_id).like(f"%{_escape_like(q)}%", escape="\\"),
        ]
        digits = contact_details.phone_digits(q)
        if digits:
            # Phones are stored as typed ("+86 138 0013 8000"); match the digits alone too.
            conditions.append(_digits_of(Person.phone).like(f"%{digits}%"))
        key = contact_details.phone_key(q)
        if key:  # a whole number, however either side typed it ("0086…" finds "138…")
            conditions.append(Person.phone_key == key)
        stmt = stmt.where(sa.or_(*conditions))
    if criteria.organisation_id:
        stmt = stmt.where(
            Person.affiliations.any(
                sa.and_(
                    Affiliation.organisation_id == criteria.organisation_id,
                    Affiliation.end_on.is_(None),
                    Affiliation.deleted_at.is_(None),
                )
            )
        )
    if criteria.gender:
        stmt = stmt.where(Person.gender == criteria.gender)
    if criteria.influence:
        stmt = stmt.where(Person.influence == criteria.influence)
    if criteria.interest:
        stmt = stmt.where(Person.interest == criteria.interest)
    if criteria.sector:
        # The organisation needs an alias: it is a stakeholder, like the person outside.
        employer = aliased(Organisation, flat=True)
        stmt = stmt.where(
            Person.id.in_(
                sa.select(Affiliation.person_id)
                .join(employer, employer.id == Affiliation.organisation_id)
                .where(
                    Affiliation.end_on.is_(None),
                    Affiliation.deleted_at.is_(None),
                    employer.deleted_at.is_(None),
                    employer.sector == criteria.sector,
                )
            )
        )
    if criteria.engagement_level:
        stmt = stmt.where(Person.engagement_level == criteria.engagement_level)
    if criteria.owner_id:
        stmt = stmt.where(Person.owner_id == criteria.owner_id)
    if criteria.tag:
        stmt = stmt.where(Person.tags.any(Tag.name == criteria.tag))
    return stmt


def list_people(criteria: PersonCriteria, *, page: int = 1, per_page: int = 50) -> Pagination:
    """A page of live people matching the criteria, with current employers loaded."""
    stmt = people_listing(criteria)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)


def people_listing(criteria: PersonCriteria) -> sa.Select[Person]:
    """The people of the list page in its order, with owner, tags and positions loaded."""
    stmt = people_query(criteria).options(
        joinedload(Person.owner),
        selectinload(Person.tags),
        selectinload(Person.affiliations).joinedload(Affiliation.organisation),
    )
    column = PERSON_SORTS.get(criteria.sort, Person.sort_name)
    return _ordered(stmt, column, descending=criteria.descending, tiebreak=Person.id)


@dataclass(frozen=True)
class Contact:
    """When a listed stakeholder was last contacted and their next open follow-up is due."""

    last_contacted_at: datetime | None
    next_follow_up_on: date | None


def contacts_for(stakeholder_ids: Sequence[int]) -> dict[int, Contact]:
    """Last contact and next follow-up of a page of stakeholders: two grouped queries."""
    last = interactions.last_contacted(stakeholder_ids)
    upcoming = interactions.next_follow_up(stakeholder_ids)
    return {sid: Contact(last.get(sid), upcoming.get(sid)) for sid in stakeholder_ids}


def provinces() -> list[str]:
    """Provinces in use, for the organisation filter."""
    stmt = (
        sa.select(Organisation.province)
        .where(Organisation.province.is_not(None), Organisation.deleted_at.is_(None))
        .distinct()
        .order_by(Organisation.province)
    )
    return [p for p in db.session.scalars(stmt) if p]


def display_name_of(stakeholder_id: int | None) -> str | None:
    """The name of a live stakeholder, for showing a chosen id in a filter."""
    if stakeholder_id is None:
        return None
    return db.session.scalar(
        sa.select(Stakeholder.display_name).where(
            Stakeholder.id == stakeholder_id, Stakeholder.deleted_at.is_(None)
        )
    )


def display_names(stakeholder_ids: Sequence[int]) -> dict[int, str]:
    """Names of live stakeholders by id (one query), for showing chosen ids in a form."""
    if not stakeholder_ids:
        return {}
    stmt = sa.select(Stakeholder.id, Stakeholder.display_name, Stakeholder.chinese_name).where(
        Stakeholder.id.in_(list(stakeholder_ids)), Stakeholder.deleted_at.is_(None)
    )
    return {
        row.id: f"{row.display_name} {row.chinese_name}" if row.chinese_name else row.display_name
        for row in db.session.execute(stmt)
    }


def tag_names() -> list[str]:
    return list(db.session.scalars(sa.select(Tag.name).order_by(Tag.name)))


def organisation_choices() -> list[tuple[int, str]]:
    """(id, label) of every live organisation, for small pickers."""
    stmt = (
        sa.select(Organisation.id, Organisation.display_name, Organisation.chinese_name)
        .where(Organisation.deleted_at.is_(None))
        .order_by(Organisation.sort_name)
    )
    return [
        (row.id, f"{row.display_name} {row.chinese_name}" if row.chinese_name else row.display_name)
        for row in db.session.execute(stmt)
    ]


def stakeholder_choices(exclude_id: int | None = None) -> list[tuple[int, str]]:
    stmt = (
        sa.select(Stakeholder.id, Stakeholder.display_name, Stakeholder.chinese_name)
        .where(Stakeholder.deleted_at.is_(None))
        .order_by(Stakeholder.sort_name)
    )
    return [
        (row.id, f"{row.display_name} {row.chinese_name}" if row.chinese_name else row.display_name)
        for row in db.session.execute(stmt)
        if row.id != exclude_id
    ]


def organisation_type_counts() -> dict[str, int]:
    """Live organisations per type, for the list's filter badges (one grouped query)."""
    stmt = (
        sa.select(Organisation.org_type, sa.func.count())
        .where(Organisation.deleted_at.is_(None))
        .group_by(Organisation.org_type)
    )
    return {str(OrgType(t).value): n for t, n in db.session.execute(stmt)}
