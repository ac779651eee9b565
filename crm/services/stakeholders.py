"""Organisations and people: create, update, trash, affiliations, relationships, lists.

Every public function that writes is one unit of work: it checks permission for `actor`,
writes the records and their AuditEvents, and commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, can
from crm.extensions import db
from crm.models import (
    Affiliation,
    AuditAction,
    EngagementLevel,
    Organisation,
    OrgType,
    Person,
    RelationshipType,
    Stakeholder,
    StakeholderRelationship,
    Tag,
    User,
    utcnow,
)
from crm.services import audit, contact_details, duplicates, interactions, search
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.text import pinyin, sort_key

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Stakeholder)

COMMON_FIELDS = (
    "display_name",
    "chinese_name",
    "notes",
    "owner_id",
    "engagement_level",
    "influence",
    "interest",
)
ORGANISATION_FIELDS = (
    *COMMON_FIELDS,
    "org_type",
    "sector",
    "ownership",
    "size_band",
    "supply_chain_role",
    "province",
    "city",
    "address",
    "website",
    "parent_id",
)
PERSON_FIELDS = (
    *(f for f in COMMON_FIELDS if f != "display_name"),
    "family_name",
    "given_name",
    "gender",
    "job_title",
    "email",
    "phone",
    "wechat_id",
    "preferred_language",
    "consent",
    "consent_on",
    "consent_source",
)
# What the audit trail and the conflict page compare (tags included, as a list of names).
AUDITED = {
    Organisation: (*ORGANISATION_FIELDS, "tags"),
    Person: (*PERSON_FIELDS, "display_name", "tags"),
}


def _require(actor: User | None, permission: Permission) -> None:
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def fields_of(stakeholder: Stakeholder) -> tuple[str, ...]:
    return AUDITED[type(stakeholder)]  # type: ignore[index]


def state(stakeholder: Stakeholder) -> dict[str, Any]:
    """The audited fields as JSON-safe values: what History and the conflict page show."""
    values = audit.snapshot(stakeholder, (f for f in fields_of(stakeholder) if f != "tags"))
    values["tags"] = sorted(tag.name for tag in stakeholder.tags)
    return values


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def get(model: type[S], stakeholder_id: int, *, include_deleted: bool = False) -> S:
    """The live record with that id, or NotFound (also for records in the trash)."""
    found = db.session.get(model, stakeholder_id)
    if found is None or (found.deleted_at is not None and not include_deleted):
        raise NotFound(_("No such record."))
    return found


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


def organisations_listing(criteria: OrganisationCriteria) -> sa.Select[tuple[Organisation]]:
    """The organisations of the list page in its order, with owner and tags loaded: the
    list pages through it, the exports read all of it."""
    stmt = organisations_query(criteria).options(
        joinedload(Organisation.owner), selectinload(Organisation.tags)
    )
    column = ORGANISATION_SORTS.get(criteria.sort, Organisation.sort_name)
    return _ordered(stmt, column, descending=criteria.descending, tiebreak=Organisation.id)


def organisations_query(criteria: OrganisationCriteria) -> sa.Select[tuple[Organisation]]:
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


def people_query(criteria: PersonCriteria) -> sa.Select[tuple[Person]]:
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


def people_listing(criteria: PersonCriteria) -> sa.Select[tuple[Person]]:
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


def affiliations_of_organisation(organisation: Organisation) -> list[Affiliation]:
    stmt = (
        sa.select(Affiliation)
        .join(Affiliation.person)
        .where(
            Affiliation.organisation_id == organisation.id,
            Affiliation.deleted_at.is_(None),
            Person.deleted_at.is_(None),
        )
        .options(joinedload(Affiliation.person))
        .order_by(Affiliation.end_on.is_not(None), Person.sort_name)
    )
    return list(db.session.scalars(stmt))


def affiliations_of_person(person: Person) -> list[Affiliation]:
    stmt = (
        sa.select(Affiliation)
        .join(Affiliation.organisation)
        .where(
            Affiliation.person_id == person.id,
            Affiliation.deleted_at.is_(None),
            Organisation.deleted_at.is_(None),
        )
        .options(joinedload(Affiliation.organisation))
        .order_by(Affiliation.end_on.is_not(None), Affiliation.start_on.desc().nulls_last())
    )
    return list(db.session.scalars(stmt))


def current_organisation(person: Person) -> Organisation | None:
    for affiliation in affiliations_of_person(person):
        if affiliation.is_current:
            return affiliation.organisation
    return None


@dataclass(frozen=True)
class RelationshipView:
    """One relationship seen from a stakeholder: outgoing ("supplier to X") or incoming."""

    relationship: StakeholderRelationship
    other: Stakeholder
    outgoing: bool


def relationships_of(stakeholder: Stakeholder) -> list[RelationshipView]:
    """Relationships in both directions, live ends only, current ones first."""
    stmt = (
        sa.select(StakeholderRelationship)
        .where(
            sa.or_(
                StakeholderRelationship.source_id == stakeholder.id,
                StakeholderRelationship.target_id == stakeholder.id,
            ),
            StakeholderRelationship.deleted_at.is_(None),
        )
        .options(
            joinedload(StakeholderRelationship.source), joinedload(StakeholderRelationship.target)
        )
        .order_by(StakeholderRelationship.end_on.is_not(None), StakeholderRelationship.id)
    )
    views = []
    for rel in db.session.scalars(stmt):
        outgoing = rel.source_id == stakeholder.id
        other = rel.target if outgoing else rel.source
        if other.deleted_at is None:
            views.append(RelationshipView(rel, other, outgoing))
    return views


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


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _tags(names: Sequence[str]) -> list[Tag]:
    cleaned = sorted({n.strip()[:60] for n in names if n and n.strip()})
    if not cleaned:
        return []
    existing = {t.name: t for t in db.session.scalars(sa.select(Tag).where(Tag.name.in_(cleaned)))}
    tags = []
    for name in cleaned:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def _person_display_name(person: Person) -> str:
    family = (person.family_name or "").strip()
    given = (person.given_name or "").strip()
    if family and given:
        # Chinese names read family first, also in pinyin ("Wang Fang"); others given first.
        parts = [family, given] if person.chinese_name else [given, family]
        return " ".join(parts)
    return family or given or (person.chinese_name or "")


def derive(stakeholder: Stakeholder) -> None:
    """Fill the derived columns: pinyin, initials, display name of people, sort key."""
    if isinstance(stakeholder, Person):
        if stakeholder.email:
            stakeholder.email = contact_details.email_key(stakeholder.email)
        stakeholder.display_name = _person_display_name(stakeholder)
    stakeholder.name_pinyin, stakeholder.name_initials = pinyin(stakeholder.chinese_name)
    stakeholder.sort_name = sort_key(stakeholder.display_name, stakeholder.name_pinyin)
    duplicates.derive_keys(stakeholder)


def _check(stakeholder: Stakeholder) -> None:
    if not (stakeholder.display_name or "").strip():
        raise InvalidInput(_("A name is required."), field="display_name")
    if isinstance(stakeholder, Organisation) and stakeholder.parent_id is not None:
        if stakeholder.parent_id == stakeholder.id:
            raise InvalidInput(_("An organisation cannot be its own parent."), field="parent_id")
        parent = db.session.get(Organisation, stakeholder.parent_id)
        if parent is None or parent.deleted_at is not None:
            raise InvalidInput(_("Choose an existing organisation."), field="parent_id")
    if stakeholder.owner_id is not None:
        owner = db.session.get(User, stakeholder.owner_id)
        if owner is None or not owner.is_enabled:
            raise InvalidInput(_("Choose an active user."), field="owner_id")


def _apply(stakeholder: Stakeholder, data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = set(data) - set(allowed) - {"tags"}
    if unknown:
        raise InvalidInput(_("Unknown field: %(name)s", name=", ".join(sorted(unknown))))
    for name in allowed:
        if name in data:
            setattr(stakeholder, name, data[name])
    if "tags" in data:
        stakeholder.tags = _tags(data["tags"] or [])


def _insert(model: type[S], data: Mapping[str, Any], allowed: Sequence[str], actor: User) -> S:
    """Add a new record with its derived columns, search entry and audit event; flushes only.

    The building block of `_create` and of workflows that write many records in one
    transaction (crm.services.imports); the caller commits or rolls back.
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    stakeholder = model()
    stakeholder.created_by_id = actor.id
    stakeholder.engagement_level = EngagementLevel.unaware
    stakeholder.influence = 3
    stakeholder.interest = 3
    stakeholder.tags = []  # a new record has none: no query to find out when audited
    _apply(stakeholder, data, allowed)
    derive(stakeholder)
    _check(stakeholder)
    db.session.add(stakeholder)
    db.session.flush()
    search.insert(search.document_for(stakeholder))  # new: no entry to look up and replace
    audit.record(
        stakeholder,
        actor=actor,
        action=AuditAction.create,
        changes={k: [None, v] for k, v in state(stakeholder).items() if v not in (None, [], "")},
        summary=stakeholder.display_name,
    )
    return stakeholder


def _create(model: type[S], data: Mapping[str, Any], allowed: Sequence[str], actor: User) -> S:
    stakeholder = _insert(model, data, allowed, actor)
    db.session.commit()
    log.info("created %s %s", stakeholder.__tablename__, stakeholder.id)
    return stakeholder


def create_organisation(data: Mapping[str, Any], *, actor: User) -> Organisation:
    """Create an organisation from plain field values and audit it. Raises InvalidInput."""
    return _create(Organisation, data, ORGANISATION_FIELDS, actor)


def create_person(data: Mapping[str, Any], *, actor: User) -> Person:
    """Create a person (display name derived from the name parts) and audit it."""
    return _create(Person, data, PERSON_FIELDS, actor)


def _change(stakeholder: Stakeholder, changes: Mapping[str, Any], *, actor: User) -> dict[str, Any]:
    """Apply field changes to a live record: derive, check, audit the diff, re-index.

    Never commits (the changes reach the database at the caller's commit or next flush), so
    `update` and workflows that change many records in one transaction (crm.services.imports)
    share it. Returns the audited diff; raises InvalidInput, leaving the rollback to the caller.
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    allowed = ORGANISATION_FIELDS if isinstance(stakeholder, Organisation) else PERSON_FIELDS
    before = state(stakeholder)
    # No flush until the commit: a query for tags or the owner would otherwise write the
    # row half-changed, and each flush bumps the version (one save must be one version).
    with db.session.no_autoflush:
        _apply(stakeholder, changes, allowed)
        derive(stakeholder)
        _check(stakeholder)
        after = state(stakeholder)
    changed = audit.diff(before, after)
    if changed:
        if "tags" in changed and len(changed) == 1:
            # Tags live in another table; bump the version so others see the change.
            stakeholder.updated_at = utcnow()
        audit.record(
            stakeholder,
            actor=actor,
            action=AuditAction.update,
            changes=changed,
            summary=stakeholder.display_name,
        )
    search.index(stakeholder)
    return changed


def update(stakeholder: S, changes: Mapping[str, Any], *, version: int, actor: User) -> S:
    """Apply field changes made on top of `version`; one audit event with the diff.

    Raises Conflict (and writes nothing) when the record was saved by someone else since
    `version` was read, InvalidInput for values the rules reject.
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if stakeholder.deleted_at is not None:
        raise NotFound(_("No such record."))
    if stakeholder.version != version:
        raise Conflict(
            _("Someone else saved this record while you were editing it."),
            current=state(stakeholder),
        )
    try:
        _change(stakeholder, changes, actor=actor)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(stakeholder)
        raise Conflict(
            _("Someone else saved this record while you were editing it."),
            current=state(stakeholder),
        ) from None
    except InvalidInput:
        db.session.rollback()
        raise
    return stakeholder


def delete(stakeholder: Stakeholder, *, actor: User) -> None:
    """Move a stakeholder to the trash: it disappears from lists and search, links are kept."""
    _require(actor, Permission.DELETE)
    if stakeholder.deleted_at is not None:
        raise NotFound(_("No such record."))
    stakeholder.deleted_at = utcnow()
    audit.record(
        stakeholder, actor=actor, action=AuditAction.delete, summary=stakeholder.display_name
    )
    search.index(stakeholder)
    db.session.commit()


def restore(stakeholder: Stakeholder, *, actor: User) -> None:
    """Take a stakeholder out of the trash (administrators)."""
    _require(actor, Permission.MANAGE_TRASH)
    if stakeholder.deleted_at is None:
        raise InvalidInput(_("This record is not in the trash."))
    stakeholder.deleted_at = None
    audit.record(
        stakeholder, actor=actor, action=AuditAction.restore, summary=stakeholder.display_name
    )
    search.index(stakeholder)
    db.session.commit()


def purge(stakeholder: Stakeholder, *, actor: User) -> None:
    """Delete a trashed stakeholder for good, with its links (administrators)."""
    _require(actor, Permission.MANAGE_TRASH)
    if stakeholder.deleted_at is None:
        raise InvalidInput(_("Only records in the trash can be purged."))
    audit.record(
        stakeholder, actor=actor, action=AuditAction.purge, summary=stakeholder.display_name
    )
    db.session.delete(stakeholder)
    search.remove("person" if isinstance(stakeholder, Person) else "organisation", stakeholder.id)
    db.session.commit()


def refresh_derived(*, batch: int = 500) -> int:
    """Derive pinyin, sort and duplicate keys again for every record (after an upgrade that
    adds a derived column, or a change of the rules); commits. Returns how many."""
    count = 0
    stmt = sa.select(Stakeholder).execution_options(yield_per=batch)
    for stakeholder in db.session.scalars(stmt):
        derive(stakeholder)
        count += 1
    db.session.commit()
    return count


# ---------------------------------------------------------------------------------------------
# Affiliations and relationships
# ---------------------------------------------------------------------------------------------


def _dates_in_order(start_on: date | None, end_on: date | None) -> None:
    if start_on and end_on and end_on < start_on:
        raise InvalidInput(_("The end date must not be before the start date."), field="end_on")


def add_affiliation(
    person: Person,
    *,
    organisation_id: int,
    title: str | None,
    start_on: date | None,
    end_on: date | None,
    actor: User,
) -> Affiliation:
    """Record a position of `person` at an organisation; audited on both records."""
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if person.deleted_at is not None:
        raise NotFound(_("No such record."))
    # A form gives None for an id it could not read; session.get(None) only warns.
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.deleted_at is not None:
        raise InvalidInput(_("Choose an existing organisation."), field="organisation_id")
    _dates_in_order(start_on, end_on)
    affiliation = _attach(
        person, organisation, title=title, start_on=start_on, end_on=end_on, actor=actor
    )
    db.session.commit()
    return affiliation


def _attach(
    person: Person,
    organisation: Organisation,
    *,
    title: str | None,
    start_on: date | None,
    end_on: date | None,
    actor: User,
) -> Affiliation:
    """Add a position, audited on both records; never commits (see `add_affiliation`)."""
    affiliation = Affiliation(
        person=person,
        organisation=organisation,
        title=title or None,
        start_on=start_on,
        end_on=end_on,
        created_by_id=actor.id,
    )
    db.session.add(affiliation)
    text = _affiliation_text(affiliation)
    audit.record(
        person,
        actor=actor,
        action=AuditAction.update,
        changes={"affiliation": [None, text]},
        summary=person.display_name,
    )
    audit.record(
        organisation,
        actor=actor,
        action=AuditAction.update,
        changes={"people": [None, _person_text(affiliation)]},
        summary=organisation.display_name,
    )
    return affiliation


def _affiliation_text(affiliation: Affiliation) -> str:
    title = f"{affiliation.title}, " if affiliation.title else ""
    return f"{title}{affiliation.organisation.display_name}"


def _person_text(affiliation: Affiliation) -> str:
    title = f": {affiliation.title}" if affiliation.title else ""
    return f"{affiliation.person.display_name}{title}"


def end_affiliation(affiliation: Affiliation, *, end_on: date, actor: User) -> Affiliation:
    """Close a current position on `end_on`; both records keep it in their history."""
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if affiliation.end_on is not None:
        raise InvalidInput(_("This position has already ended."), field="end_on")
    _dates_in_order(affiliation.start_on, end_on)
    affiliation.end_on = end_on
    person, organisation = affiliation.person, affiliation.organisation
    audit.record(
        person,
        actor=actor,
        action=AuditAction.update,
        changes={"affiliation_ended": [_affiliation_text(affiliation), end_on.isoformat()]},
        summary=person.display_name,
    )
    audit.record(
        organisation,
        actor=actor,
        action=AuditAction.update,
        changes={"people_ended": [_person_text(affiliation), end_on.isoformat()]},
        summary=organisation.display_name,
    )
    db.session.commit()
    return affiliation


def add_relationship(
    source: Stakeholder,
    *,
    target_id: int,
    type: RelationshipType,
    start_on: date | None = None,
    end_on: date | None = None,
    note: str | None = None,
    actor: User,
) -> StakeholderRelationship:
    """Link `source` to another stakeholder, audited on both; a record cannot relate to itself."""
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if source.deleted_at is not None:
        raise NotFound(_("No such record."))
    if target_id == source.id:
        raise InvalidInput(_("A record cannot have a relationship with itself."), field="target_id")
    # A form gives None for an id it could not read; session.get(None) only warns.
    target = db.session.get(Stakeholder, target_id) if target_id else None
    if target is None or target.deleted_at is not None:
        raise InvalidInput(_("Choose an existing stakeholder."), field="target_id")
    try:
        type = RelationshipType(type)
    except ValueError:
        raise InvalidInput(_("Choose a type of relationship."), field="type") from None
    _dates_in_order(start_on, end_on)
    rel = StakeholderRelationship(
        source=source,
        target=target,
        type=type,
        start_on=start_on,
        end_on=end_on,
        note=note or None,
        created_by_id=actor.id,
    )
    db.session.add(rel)
    _record_relationship(rel, actor=actor)
    db.session.commit()
    return rel


def end_relationship(
    rel: StakeholderRelationship, *, end_on: date, actor: User
) -> StakeholderRelationship:
    """Mark a relationship as ended on `end_on`; it stays in the record's history."""
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if rel.end_on is not None:
        raise InvalidInput(_("This relationship has already ended."), field="end_on")
    _dates_in_order(rel.start_on, end_on)
    rel.end_on = end_on
    _record_relationship(rel, actor=actor, ended_on=end_on)
    db.session.commit()
    return rel


def _record_relationship(
    rel: StakeholderRelationship, *, actor: User, ended_on: date | None = None
) -> None:
    """Audit a new or ended relationship on both ends, so both histories show it.

    The source reads "supplier_to X"; the target reads "Y supplier_to" (the inverse).
    """
    kind = RelationshipType(rel.type).value
    name = "relationship" if ended_on is None else "relationship_ended"
    for entity, field, text in (
        (rel.source, name, f"{kind} {rel.target.display_name}"),
        (rel.target, f"inverse_{name}", f"{rel.source.display_name} {kind}"),
    ):
        change = [None, text] if ended_on is None else [text, ended_on.isoformat()]
        audit.record(
            entity,
            actor=actor,
            action=AuditAction.update,
            changes={field: change},
            summary=entity.display_name,
        )


def organisation_type_counts() -> dict[str, int]:
    """Live organisations per type, for the list's filter badges (one grouped query)."""
    stmt = (
        sa.select(Organisation.org_type, sa.func.count())
        .where(Organisation.deleted_at.is_(None))
        .group_by(Organisation.org_type)
    )
    return {str(OrgType(t).value): n for t, n in db.session.execute(stmt)}
