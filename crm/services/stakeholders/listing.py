"""Finding organisations and people: the list pages' criteria and queries, and the small
lookups forms and filters need (names by id, tags, pickers), and the organisations whose
province no rule could read.

Only live records are listed; what is in the trash is found through crm.services.trash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased, joinedload, selectinload

from crm import provinces as province_list
from crm.extensions import db
from crm.models import (
    Affiliation,
    Consent,
    ConsentPurpose,
    Organisation,
    OrgType,
    Person,
    Stakeholder,
    StakeholderKind,
    Tag,
)
from crm.services import consent, contact_details, overview, paging


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
    # Influential and quiet as of this day (the dashboard's panel, crm.services.overview).
    quiet_on: date | None = None


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
    # Influential and quiet as of this day (the dashboard's panel, crm.services.overview).
    quiet_on: date | None = None
    # Current consent status (crm.models.Consent) to each purpose; "" for any.
    consent_communication: str = ""
    consent_reports: str = ""
    consent_publication: str = ""

    def consent_filters(self) -> dict[ConsentPurpose, str]:
        """The purposes filtered on, with the status asked for."""
        asked = {
            ConsentPurpose.communication: self.consent_communication,
            ConsentPurpose.reports: self.consent_reports,
            ConsentPurpose.publication: self.consent_publication,
        }
        return {purpose: status for purpose, status in asked.items() if status}


# The sorts of each list: a column of `stakeholders` (ordered by an index of live records,
# ix_stakeholders_live_*), of `organisations` or of `people` (by that column's own index).
ORGANISATION_SORTS: dict[str, Any] = {
    "name": Stakeholder.sort_name,
    "chinese": Stakeholder.name_pinyin,
    "type": Organisation.org_type,
    "sector": Organisation.sector,
    "province": Organisation.province,
    "engagement": Stakeholder.engagement_level,
    "influence": Stakeholder.influence,
    "updated": Stakeholder.updated_at,
    "last_contact": Stakeholder.last_contacted_at,
    "next_follow_up": Stakeholder.next_follow_up_on,
}
PERSON_SORTS: dict[str, Any] = {
    "name": Stakeholder.sort_name,
    "chinese": Stakeholder.name_pinyin,
    "title": Person.job_title,
    "email": Person.email,
    "engagement": Stakeholder.engagement_level,
    "influence": Stakeholder.influence,
    "updated": Stakeholder.updated_at,
    "last_contact": Stakeholder.last_contacted_at,
    "next_follow_up": Stakeholder.next_follow_up_on,
}


# What each list shows besides the record. Positions and their organisations load in
# queries of their own: a joined load of an organisation is `LEFT OUTER JOIN (stakeholders
# JOIN organisations)`, which SQLite cannot flatten and answers by reading every one.
ORGANISATION_LOADING = (joinedload(Organisation.owner), selectinload(Organisation.tags))
PERSON_LOADING = (
    joinedload(Person.owner),
    selectinload(Person.tags),
    selectinload(Person.affiliations).selectinload(Affiliation.organisation),
)


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


def _ordered(stmt: sa.Select[Any], sort: Any, *, descending: bool) -> Any:
    """ORDER BY the sort column, then the id of the same table in the same direction, so
    that an index of that table, (kind, column, id) or (column, rowid), gives the order and a
    page deep in the list is read off it rather than sorted. Empty values come last either
    way (SQLite reads them off the index too)."""
    column = sort.expression
    order = column.desc() if descending else column.asc()
    if column.nullable:
        order = order.nulls_last()
    tiebreak = column.table.c.id
    return stmt.order_by(order, tiebreak.desc() if descending else tiebreak.asc())


def _page(
    model: type[Stakeholder],
    conditions: Sequence[sa.ColumnElement[bool]],
    *,
    filters_own_table: bool,
    sort: Any,
    descending: bool,
    options: Sequence[Any],
    page: int,
    per_page: int,
) -> Pagination:
    """A page of a stakeholder list as crm.services.paging reads one: the count, over
    `stakeholders` (joined to the kind's own table only when a filter needs it); the page's
    ids, in the order of an index of live records; the records with those ids."""
    own = cast(sa.Table, model.__table__)
    stakeholders = cast(sa.Table, Stakeholder.__table__)
    joined = stakeholders.join(own, own.c.id == stakeholders.c.id)
    counted = joined if filters_own_table else stakeholders
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted).where(*conditions))
    page = paging.page_within(page, total=total or 0, per_page=per_page)
    sorted_by_own = sort.expression.table is own
    ids = (
        _ordered(
            sa.select(stakeholders.c.id)
            .select_from(joined if filters_own_table or sorted_by_own else stakeholders)
            .where(*conditions),
            sort,
            descending=descending,
        )
        .limit(per_page)
        .offset((page - 1) * per_page)
        .correlate(None)
    )
    items = db.session.scalars(
        _ordered(
            sa.select(model).where(Stakeholder.id.in_(ids)).options(*options),
            sort,
            descending=descending,
        )
    ).all()
    return paging.read_page(items, page=page, per_page=per_page, total=total or 0)


def list_organisations(
    criteria: OrganisationCriteria, *, page: int = 1, per_page: int = 50
) -> Pagination:
    """A page of live organisations matching the criteria, with owner and tags loaded."""
    conditions, on_organisations = _organisation_conditions(criteria)
    return _page(
        Organisation,
        conditions,
        filters_own_table=on_organisations,
        sort=ORGANISATION_SORTS.get(criteria.sort, Stakeholder.sort_name),
        descending=criteria.descending,
        options=ORGANISATION_LOADING,
        page=page,
        per_page=per_page,
    )


def organisations_listing(criteria: OrganisationCriteria) -> sa.Select[Organisation]:
    """The organisations of the list page in its order, with owner and tags loaded: the
    list pages through it, the exports read all of it."""
    stmt = organisations_query(criteria).options(*ORGANISATION_LOADING)
    column = ORGANISATION_SORTS.get(criteria.sort, Stakeholder.sort_name)
    return _ordered(stmt, column, descending=criteria.descending)


def organisations_query(criteria: OrganisationCriteria) -> sa.Select[Organisation]:
    """Live organisations matching the criteria, without order or loading options."""
    conditions, _on_organisations = _organisation_conditions(criteria)
    return sa.select(Organisation).where(*conditions)


def _organisation_conditions(
    criteria: OrganisationCriteria,
) -> tuple[list[sa.ColumnElement[bool]], bool]:
    """The WHERE terms of the organisation list, and whether any is on `organisations` (the
    count joins that table only then)."""
    conditions: list[sa.ColumnElement[bool]] = [
        Stakeholder.kind == StakeholderKind.organisation,
        Stakeholder.deleted_at.is_(None),
    ]
    if criteria.influence:
        conditions.append(Stakeholder.influence == criteria.influence)
    if criteria.interest:
        conditions.append(Stakeholder.interest == criteria.interest)
    if criteria.q:
        conditions.append(_text_filter(Stakeholder, criteria.q))
    if criteria.engagement_level:
        conditions.append(Stakeholder.engagement_level == criteria.engagement_level)
    if criteria.owner_id:
        conditions.append(Stakeholder.owner_id == criteria.owner_id)
    if criteria.tag:
        conditions.append(Stakeholder.tags.any(Tag.name == criteria.tag))
    if criteria.quiet_on:
        conditions.extend(overview.quiet_conditions(today=criteria.quiet_on))
    own = []
    if criteria.org_type:
        own.append(Organisation.org_type == criteria.org_type)
    if criteria.sector:
        own.append(Organisation.sector == criteria.sector)
    if criteria.province:
        own.append(Organisation.province == criteria.province)
    return conditions + own, bool(own)


def people_query(criteria: PersonCriteria) -> sa.Select[Person]:
    """Live people matching the criteria: the filters of the people list, without order or
    loading options, so the list page and the exports select exactly the same people."""
    conditions, _on_people = _person_conditions(criteria)
    return sa.select(Person).where(*conditions)


_ERASED = cast(sa.Table, Person.__table__).alias("erased_person")
# The ids of erased people, read off the partial index ix_people_erased (a handful).
_ERASED_IDS = sa.select(_ERASED.c.id).where(_ERASED.c.erased_at.is_not(None))


def _person_conditions(criteria: PersonCriteria) -> tuple[list[sa.ColumnElement[bool]], bool]:
    """The WHERE terms of the people list, and whether any is on `people` (the count joins
    that table only then)."""
    conditions: list[sa.ColumnElement[bool]] = [
        Stakeholder.kind == StakeholderKind.person,
        Stakeholder.deleted_at.is_(None),
        # Erased people (crm.services.personal_data) stay for the figures, not for the list:
        # their few ids are read once and each row is looked up among them, so the count
        # need not join `people` (probing it per row took 100 ms at 60,000 people).
        Stakeholder.id.not_in(_ERASED_IDS),
    ]
    own: list[sa.ColumnElement[bool]] = []
    if criteria.q:
        q = criteria.q.lower()
        matches = [
            _text_filter(Stakeholder, criteria.q),
            Person.email.like(f"%{_escape_like(q)}%", escape="\\"),
            Person.phone.like(f"%{_escape_like(q)}%", escape="\\"),
            sa.func.lower(Person.wechat_id).like(f"%{_escape_like(q)}%", escape="\\"),
        ]
        digits = contact_details.phone_digits(q)
        if digits:
            # Phones are stored as typed ("+86 138 0013 8000"); match the digits alone too.
            matches.append(_digits_of(Person.phone).like(f"%{digits}%"))
        key = contact_details.phone_key(q)
        if key:  # a whole number, however either side typed it ("0086…" finds "138…")
            matches.append(Person.phone_key == key)
        own.append(sa.or_(*matches))
    if criteria.organisation_id:
        # The organisation's current staff, found from its positions (an index), not by
        # probing the positions of every person.
        conditions.append(
            Stakeholder.id.in_(
                sa.select(Affiliation.person_id).where(
                    Affiliation.organisation_id == criteria.organisation_id,
                    Affiliation.end_on.is_(None),
                    Affiliation.deleted_at.is_(None),
                )
            )
        )
    if criteria.gender:
        own.append(Person.gender == criteria.gender)
    for purpose, status in criteria.consent_filters().items():
        own.append(consent.status_is(purpose, Consent(status)))
    if criteria.influence:
        conditions.append(Stakeholder.influence == criteria.influence)
    if criteria.interest:
        conditions.append(Stakeholder.interest == criteria.interest)
    if criteria.sector:
        # The organisation needs an alias: it is a stakeholder, like the person outside.
        employer = aliased(Organisation, flat=True)
        conditions.append(
            Stakeholder.id.in_(
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
        conditions.append(Stakeholder.engagement_level == criteria.engagement_level)
    if criteria.owner_id:
        conditions.append(Stakeholder.owner_id == criteria.owner_id)
    if criteria.tag:
        conditions.append(Stakeholder.tags.any(Tag.name == criteria.tag))
    if criteria.quiet_on:
        conditions.extend(overview.quiet_conditions(today=criteria.quiet_on))
    return conditions + own, bool(own)


def list_people(criteria: PersonCriteria, *, page: int = 1, per_page: int = 50) -> Pagination:
    """A page of live people matching the criteria, with current employers loaded."""
    conditions, on_people = _person_conditions(criteria)
    return _page(
        Person,
        conditions,
        filters_own_table=on_people,
        sort=PERSON_SORTS.get(criteria.sort, Stakeholder.sort_name),
        descending=criteria.descending,
        options=PERSON_LOADING,
        page=page,
        per_page=per_page,
    )


def people_listing(criteria: PersonCriteria) -> sa.Select[Person]:
    """The people of the list page in its order, with owner, tags and positions loaded: the
    list pages through it, the exports read all of it."""
    stmt = people_query(criteria).options(*PERSON_LOADING)
    column = PERSON_SORTS.get(criteria.sort, Stakeholder.sort_name)
    return _ordered(stmt, column, descending=criteria.descending)


def unknown_provinces(*, page: int = 1, per_page: int = 50) -> Pagination:
    """Live organisations whose province is text that names none of crm.provinces (kept as
    typed by the migration to codes, or by an import), by that text: for an administrator
    to correct. Read off ix_organisations_province: every value but the 34 codes."""
    unknown = (
        Organisation.province.is_not(None),
        Organisation.province.not_in(list(province_list.BY_CODE)),
        Organisation.deleted_at.is_(None),
    )
    total = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Organisation).where(*unknown)) or 0
    )
    page = paging.page_within(page, total=total, per_page=per_page)
    items = db.session.scalars(
        sa.select(Organisation)
        .where(*unknown)
        .order_by(Organisation.province, Organisation.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return paging.read_page(items, page=page, per_page=per_page, total=total)


def display_name_of(stakeholder_id: int | None) -> str | None:
    """The name of a live stakeholder, for showing a chosen id in a filter."""
    if stakeholder_id is None:
        return None
    return db.session.scalar(
        sa.select(Stakeholder.display_name).where(
            Stakeholder.id == stakeholder_id, Stakeholder.deleted_at.is_(None)
        )
    )


def display_names(stakeholder_ids: Sequence[int], *, chinese_first: bool = False) -> dict[int, str]:
    """Names of live stakeholders by id (one query), for showing chosen ids in a form or a
    picker: both names, the Chinese one first when `chinese_first` (a Chinese interface):
    "Wang Fang 王芳", or "王芳 Wang Fang"."""
    if not stakeholder_ids:
        return {}
    stmt = sa.select(Stakeholder.id, Stakeholder.display_name, Stakeholder.chinese_name).where(
        Stakeholder.id.in_(list(stakeholder_ids)), Stakeholder.deleted_at.is_(None)
    )
    return {
        row.id: bilingual_name(row.display_name, row.chinese_name, chinese_first=chinese_first)
        for row in db.session.execute(stmt)
    }


def bilingual_name(display_name: str, chinese_name: str | None, *, chinese_first: bool) -> str:
    """A record's name and its Chinese name, once each, in the reader's order."""
    if not chinese_name or chinese_name == display_name:
        return display_name
    return f"{chinese_name} {display_name}" if chinese_first else f"{display_name} {chinese_name}"


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
    """Live organisations per type, for the list's filter badges.

    One statement, two grouped counts: every organisation per type, read off
    ix_organisations_org_type alone, less those in the trash, found through
    ix_stakeholders_trashed. Counting the live ones directly would look up every
    organisation's `deleted_at`.
    """
    org = cast(sa.Table, Organisation.__table__)
    stakeholders = cast(sa.Table, Stakeholder.__table__)
    every = sa.select(org.c.org_type, sa.func.count().label("n")).group_by(org.c.org_type)
    trashed = (
        sa.select(org.c.org_type, (-sa.func.count()).label("n"))
        .select_from(stakeholders.join(org, org.c.id == stakeholders.c.id))
        .where(
            stakeholders.c.kind == StakeholderKind.organisation,
            stakeholders.c.deleted_at.is_not(None),
        )
        .group_by(org.c.org_type)
    )
    counts: dict[str, int] = {}
    for org_type, n in db.session.execute(sa.union_all(every, trashed)):
        key = str(OrgType(org_type).value)
        counts[key] = counts.get(key, 0) + n
    return {key: n for key, n in counts.items() if n}
