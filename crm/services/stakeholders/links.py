"""Links between stakeholders: positions of people at organisations (affiliations) and
relationships between any two records, read from either end and written with an audit
event on both.

`attach` is the flush-only building block for a new position: `add_affiliation` wraps it in
one unit of work, and workflows that write many records in one transaction
(crm.services.imports, participant quick-create) call it directly and commit themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from crm.access import Permission
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Affiliation,
    AuditAction,
    Organisation,
    Person,
    RelationshipType,
    Stakeholder,
    StakeholderRelationship,
    User,
)
from crm.services import audit, duplicates
from crm.services.errors import InvalidInput, NotFound
from crm.services.stakeholders.records import _require

# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def affiliations_of_organisation(organisation: Organisation) -> list[Affiliation]:
    stmt = (
        sa.select(Affiliation)
        .join(Affiliation.person)
        .where(
            Affiliation.organisation_id == organisation.id,
            Affiliation.deleted_at.is_(None),
            Person.deleted_at.is_(None),
        )
        # Filled from the inner join above: a joined load would add `LEFT OUTER JOIN
        # (stakeholders JOIN people)`, which SQLite cannot flatten (it reads every person).
        .options(contains_eager(Affiliation.person))
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
        .options(contains_eager(Affiliation.organisation))
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


# ---------------------------------------------------------------------------------------------
# Writing
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
    affiliation = attach(
        person, organisation, title=title, start_on=start_on, end_on=end_on, actor=actor
    )
    duplicates.refresh([person.id])  # a name is compared by employer
    db.session.commit()
    return affiliation


def attach(
    person: Person,
    organisation: Organisation,
    *,
    title: str | None,
    start_on: date | None,
    end_on: date | None,
    actor: User,
) -> Affiliation:
    """Add a position of `person` at `organisation`, audited on both records.

    Flush-only (it adds the rows to the session); the caller commits. It checks nothing: the
    caller has checked the actor's permission, that both records are live and that the dates
    are in order (as `add_affiliation` does).
    """
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
    duplicates.refresh([person.id])  # a name is compared by employer
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
