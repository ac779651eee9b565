"""Merging two records of the same stakeholder into one.

The survivor takes the field values the user chose, every link of the other record
(interactions, participations, follow-ups, positions, relationships, activity parties, tags,
child organisations) moves to the survivor, and the other record goes to the trash with an
audit event on both. Links that would become duplicates (both records attended the same
training) are kept once; a relationship between the two records themselves is dropped, since
it would point at itself. One transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.access import Permission, can
from crm.extensions import db
from crm.models import (
    ActivityParty,
    Affiliation,
    AuditAction,
    FollowUp,
    Organisation,
    Participation,
    Person,
    Stakeholder,
    StakeholderRelationship,
    User,
    interaction_stakeholders,
    stakeholder_tags,
    utcnow,
)
from crm.services import audit, search, stakeholders
from crm.services.errors import Conflict, InvalidInput, PermissionDenied

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeReport:
    """What moved from the merged record to the survivor."""

    survivor_id: int
    merged_id: int
    fields_taken: tuple[str, ...]
    moved: Mapping[str, int]


def mergeable_fields(stakeholder: Stakeholder) -> tuple[str, ...]:
    if isinstance(stakeholder, Person):
        return stakeholders.PERSON_FIELDS
    return stakeholders.ORGANISATION_FIELDS


def merge(
    survivor: Stakeholder,
    other: Stakeholder,
    *,
    take: Mapping[str, str] | None = None,
    versions: tuple[int, int] | None = None,
    actor: User,
) -> MergeReport:
    """Merge `other` into `survivor`; `take[field] == "other"` copies that field's value.

    Raises PermissionDenied (coordinators and up merge), InvalidInput for records of different
    kinds or a record merged with itself, Conflict when either record changed since `versions`
    were read. Commits once.
    """
    if not can(actor, Permission.MERGE):
        raise PermissionDenied(_("You do not have permission to do that."))
    if survivor.id == other.id:
        raise InvalidInput(_("Choose two different records."))
    if type(survivor) is not type(other):
        raise InvalidInput(_("Only two organisations or two people can be merged."))
    if survivor.deleted_at is not None or other.deleted_at is not None:
        raise InvalidInput(_("A record in the trash cannot be merged."))
    if versions is not None and versions != (survivor.version, other.version):
        raise Conflict(_("One of the records changed while you were comparing them."))

    fields = mergeable_fields(survivor)
    taken = tuple(f for f in fields if (take or {}).get(f) == "other")
    before = stakeholders.state(survivor)
    for name in taken:
        setattr(survivor, name, getattr(other, name))
    if isinstance(survivor, Organisation) and survivor.parent_id == other.id:
        survivor.parent_id = other.parent_id if other.parent_id != survivor.id else None

    moved = _move_links(survivor.id, other.id, is_person=isinstance(survivor, Person))
    db.session.expire(
        survivor, ["tags", "affiliations"] if isinstance(survivor, Person) else ["tags"]
    )
    stakeholders.derive(survivor)
    survivor.updated_at = utcnow()
    other.deleted_at = utcnow()
    db.session.flush()

    changes: dict[str, Any] = audit.diff(before, stakeholders.state(survivor))
    changes["merged_from"] = [None, f"#{other.id} {other.display_name}"]
    audit.record(
        survivor,
        actor=actor,
        action=AuditAction.merge,
        changes=changes,
        summary=survivor.display_name,
    )
    audit.record(
        other,
        actor=actor,
        action=AuditAction.merge,
        changes={"merged_into": [None, f"#{survivor.id} {survivor.display_name}"]},
        summary=other.display_name,
    )
    search.index(survivor)
    search.index(other)  # removes it: it is in the trash now
    db.session.commit()
    log.info("merged stakeholder %s into %s", other.id, survivor.id)
    return MergeReport(survivor.id, other.id, taken, moved)


def _move_links(keep: int, gone: int, *, is_person: bool) -> dict[str, int]:
    """Re-point every row that references `gone` at `keep`, dropping would-be duplicates."""
    moved: dict[str, int] = {}
    execute = db.session.execute

    def count(result: Any) -> int:
        return int(result.rowcount or 0)

    # Tags and interactions: association rows keyed by (x, stakeholder).
    for table, other_col in (
        (stakeholder_tags, "tag_id"),
        (interaction_stakeholders, "interaction_id"),
    ):
        shared = sa.select(table.c[other_col]).where(table.c.stakeholder_id == keep)
        execute(
            sa.delete(table).where(table.c.stakeholder_id == gone, table.c[other_col].in_(shared))
        )
        moved[table.name] = count(
            execute(
                sa.update(table).where(table.c.stakeholder_id == gone).values(stakeholder_id=keep)
            )
        )

    moved["follow_ups"] = count(
        execute(
            sa.update(FollowUp).where(FollowUp.stakeholder_id == gone).values(stakeholder_id=keep)
        )
    )

    # Relationships: drop those between the two, then re-point both ends.
    execute(
        sa.delete(StakeholderRelationship).where(
            sa.or_(
                sa.and_(
                    StakeholderRelationship.source_id == gone,
                    StakeholderRelationship.target_id == keep,
                ),
                sa.and_(
                    StakeholderRelationship.source_id == keep,
                    StakeholderRelationship.target_id == gone,
                ),
            )
        )
    )
    moved["relationships"] = count(
        execute(
            sa.update(StakeholderRelationship)
            .where(StakeholderRelationship.source_id == gone)
            .values(source_id=keep)
        )
    ) + count(
        execute(
            sa.update(StakeholderRelationship)
            .where(StakeholderRelationship.target_id == gone)
            .values(target_id=keep)
        )
    )

    if is_person:
        moved["affiliations"] = count(
            execute(
                sa.update(Affiliation).where(Affiliation.person_id == gone).values(person_id=keep)
            )
        )
        # One participation per person and activity: the survivor's wins.
        taken = sa.select(Participation.activity_id).where(Participation.person_id == keep)
        execute(
            sa.delete(Participation).where(
                Participation.person_id == gone, Participation.activity_id.in_(taken)
            )
        )
        moved["participations"] = count(
            execute(
                sa.update(Participation)
                .where(Participation.person_id == gone)
                .values(person_id=keep)
            )
        )
    else:
        moved["affiliations"] = count(
            execute(
                sa.update(Affiliation)
                .where(Affiliation.organisation_id == gone)
                .values(organisation_id=keep)
            )
        )
        moved["participations"] = count(
            execute(
                sa.update(Participation)
                .where(Participation.organisation_id == gone)
                .values(organisation_id=keep)
            )
        )
        party = sa.select(ActivityParty.activity_id, ActivityParty.role).where(
            ActivityParty.organisation_id == keep
        )
        execute(
            sa.delete(ActivityParty).where(
                ActivityParty.organisation_id == gone,
                sa.tuple_(ActivityParty.activity_id, ActivityParty.role).in_(party),
            )
        )
        moved["activity_parties"] = count(
            execute(
                sa.update(ActivityParty)
                .where(ActivityParty.organisation_id == gone)
                .values(organisation_id=keep)
            )
        )
        moved["child_organisations"] = count(
            execute(
                sa.update(Organisation)
                .where(Organisation.parent_id == gone, Organisation.id != keep)
                .values(parent_id=keep)
            )
        )
    return moved


def preview(survivor: Stakeholder, other: Stakeholder) -> list[tuple[str, Any, Any]]:
    """(field, survivor's value, other's value) for every mergeable field, JSON-safe."""
    return [
        (name, audit.json_value(getattr(survivor, name)), audit.json_value(getattr(other, name)))
        for name in mergeable_fields(survivor)
    ]
