"""Subject access: everything the system holds about one person, for them to see.

`collect` gathers it as plain values (the readable page, its printable variant and the JSON
file all show the same) and records the export in the audit trail (action "access"). It
holds only what is about the person: the other people and organisations in their
interactions, the staff who logged them and the authors of their audit events are left out.
Confidential interaction summaries are included, since they are about the person; that is
why only coordinators and up may export (Permission.EXPORT_PERSONAL), and every export is
audited. Records in the trash that are about the person are included (they are still held)
and say so.

No attachments are stored yet; the export has an empty list for them, so that a reader (and
a later version that adds them) finds the place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    Affiliation,
    AuditAction,
    AuditEvent,
    ConsentRecord,
    ContactDetail,
    FollowUp,
    Interaction,
    Organisation,
    Participation,
    Person,
    StakeholderRelationship,
    User,
    interaction_stakeholders,
)
from crm.services import audit, follow_ups
from crm.services.errors import InvalidInput, PermissionDenied

log = logging.getLogger(__name__)

# The formats an export is recorded under.
FORMATS = ("page", "print", "json")
# The person's own fields, in the order the export lists them (the person form's fields,
# crm.services.stakeholders.PERSON_FIELDS, but the staff member who owns the record; that
# module imports this package, so the list is written out here).
PROFILE_FIELDS = (
    "display_name",
    "family_name",
    "given_name",
    "chinese_name",
    "name_pinyin",
    "gender",
    "job_title",
    "email",
    "phone",
    "wechat_id",
    "preferred_language",
    "consent",
    "consent_on",
    "consent_source",
    "consent_reports",
    "consent_publication",
    "engagement_level",
    "influence",
    "interest",
    "notes",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Consent:
    purpose: str
    status: str
    stated_on: date | None
    source: str
    note: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class ContactEntry:
    kind: str
    value: str
    source: str | None
    created_at: datetime


@dataclass(frozen=True)
class Position:
    organisation: str
    title: str | None
    start_on: date | None
    end_on: date | None
    in_trash: bool


@dataclass(frozen=True)
class Link:
    """A relationship of the person's record with an organisation (links with other people
    are about them too, and are left out)."""

    type: str
    organisation: str
    outgoing: bool
    start_on: date | None
    end_on: date | None
    note: str | None


@dataclass(frozen=True)
class Attendance:
    activity: str
    activity_type: str
    start_on: date
    end_on: date | None
    status: str
    role: str
    organisation: str | None  # their organisation at the time


@dataclass(frozen=True)
class InteractionEntry:
    occurred_at: datetime
    channel: str
    direction: str
    subject: str
    summary: str | None
    outcome: str | None
    is_confidential: bool
    activity: str | None
    in_trash: bool


@dataclass(frozen=True)
class FollowUpEntry:
    title: str
    details: str | None
    due_on: date
    status: str
    priority: str
    completed_at: datetime | None
    completion_note: str | None
    in_trash: bool


@dataclass(frozen=True)
class HistoryEntry:
    occurred_at: datetime
    action: str
    summary: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class SubjectAccess:
    """What the system holds about one person, as plain values."""

    person_id: int
    generated_at: datetime
    is_erased: bool
    profile: tuple[tuple[str, Any], ...]  # (field, value) in PROFILE_FIELDS order
    tags: tuple[str, ...]
    contact_details: tuple[ContactEntry, ...]
    consents: tuple[Consent, ...]
    positions: tuple[Position, ...]
    relationships: tuple[Link, ...]
    participations: tuple[Attendance, ...]
    interactions: tuple[InteractionEntry, ...]
    follow_ups: tuple[FollowUpEntry, ...]
    attachments: tuple[str, ...]
    history: tuple[HistoryEntry, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "contact_details": len(self.contact_details),
            "consents": len(self.consents),
            "positions": len(self.positions),
            "participations": len(self.participations),
            "interactions": len(self.interactions),
            "follow_ups": len(self.follow_ups),
            "history": len(self.history),
        }


def may_export(actor: User | None) -> bool:
    return can(actor, Permission.EXPORT_PERSONAL)


def collect(person: Person, *, actor: User, fmt: str, now: datetime) -> SubjectAccess:
    """Everything held about `person`, recorded as a subject-access export; commits once.

    Coordinators and up (Permission.EXPORT_PERSONAL). Raises PermissionDenied, InvalidInput
    for a person in the trash (restore them first) and for an unknown format. A fixed number
    of statements however much is held.
    """
    if not may_export(actor):
        raise PermissionDenied(_("You do not have permission to export personal data."))
    if person.deleted_at is not None:
        raise InvalidInput(_("This person is in the trash: restore them to export their data."))
    if fmt not in FORMATS:
        raise InvalidInput(_("Unknown format."))
    found = SubjectAccess(
        person_id=person.id,
        generated_at=now,
        is_erased=person.erased_at is not None,
        profile=tuple((f, getattr(person, f)) for f in PROFILE_FIELDS),
        tags=tuple(tag.name for tag in person.tags),
        contact_details=_contact_details(person.id),
        consents=_consents(person.id),
        positions=_positions(person.id),
        relationships=_relationships(person.id),
        participations=_participations(person.id),
        interactions=_interactions(person.id),
        follow_ups=_follow_ups(person.id),
        attachments=(),
        history=_history(person.id),
    )
    audit.record(
        person,
        actor=actor,
        action=AuditAction.access,
        summary=f"subject access export ({fmt})",
        changes={"format": [None, fmt], "rows": [None, sum(found.counts.values())]},
    )
    db.session.commit()
    log.info("user %s exported the data of person %s (%s)", actor.id, person.id, fmt)
    return found


def _contact_details(person_id: int) -> tuple[ContactEntry, ...]:
    stmt = (
        sa.select(ContactDetail)
        .where(ContactDetail.person_id == person_id)
        .order_by(ContactDetail.id)
    )
    return tuple(
        ContactEntry(str(d.kind), d.value, d.source, d.created_at) for d in db.session.scalars(stmt)
    )


def _consents(person_id: int) -> tuple[Consent, ...]:
    stmt = (
        sa.select(ConsentRecord)
        .where(ConsentRecord.person_id == person_id)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    )
    return tuple(
        Consent(str(c.purpose), str(c.status), c.stated_on, str(c.source), c.note, c.recorded_at)
        for c in db.session.scalars(stmt)
    )


def _positions(person_id: int) -> tuple[Position, ...]:
    stmt = (
        sa.select(Affiliation, Organisation.display_name)
        .join(Organisation, Organisation.id == Affiliation.organisation_id)
        .where(Affiliation.person_id == person_id)
        .order_by(Affiliation.start_on.desc().nulls_last(), Affiliation.id)
    )
    return tuple(
        Position(name, a.title, a.start_on, a.end_on, a.deleted_at is not None)
        for a, name in db.session.execute(stmt)
    )


def _relationships(person_id: int) -> tuple[Link, ...]:
    rel = StakeholderRelationship
    other = sa.case((rel.source_id == person_id, rel.target_id), else_=rel.source_id)
    stmt = (
        sa.select(rel, Organisation.display_name)
        .join(Organisation, Organisation.id == other)
        .where(sa.or_(rel.source_id == person_id, rel.target_id == person_id))
        .order_by(rel.id)
    )
    return tuple(
        Link(str(r.type), name, r.source_id == person_id, r.start_on, r.end_on, r.note)
        for r, name in db.session.execute(stmt)
    )


def _participations(person_id: int) -> tuple[Attendance, ...]:
    stmt = (
        sa.select(
            Activity.title,
            Activity.type,
            Activity.start_on,
            Activity.end_on,
            Participation.status,
            Participation.role,
            Organisation.display_name,
        )
        .join(Activity, Activity.id == Participation.activity_id)
        .outerjoin(Organisation, Organisation.id == Participation.organisation_id)
        .where(Participation.person_id == person_id)
        .order_by(Activity.start_on.desc(), Activity.id)
    )
    return tuple(
        Attendance(title, str(kind), start, end, str(status), str(role), org)
        for title, kind, start, end, status, role, org in db.session.execute(stmt)
    )


def _interactions(person_id: int) -> tuple[InteractionEntry, ...]:
    stmt = (
        sa.select(Interaction)
        .join(
            interaction_stakeholders,
            interaction_stakeholders.c.interaction_id == Interaction.id,
        )
        .where(interaction_stakeholders.c.stakeholder_id == person_id)
        .options(joinedload(Interaction.activity))
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
    )
    return tuple(
        InteractionEntry(
            i.occurred_at,
            str(i.channel),
            str(i.direction),
            i.subject,
            i.summary,
            i.outcome,
            i.is_confidential,
            i.activity.title if i.activity else None,
            i.deleted_at is not None,
        )
        for i in db.session.scalars(stmt)
    )


def _follow_ups(person_id: int) -> tuple[FollowUpEntry, ...]:
    stmt = (
        sa.select(FollowUp)
        .where(follow_ups.about(person_id))
        .order_by(FollowUp.due_on.desc(), FollowUp.id)
    )
    return tuple(
        FollowUpEntry(
            f.title,
            f.details,
            f.due_on,
            str(f.status),
            str(f.priority),
            f.completed_at,
            f.completion_note,
            f.deleted_at is not None,
        )
        for f in db.session.scalars(stmt)
    )


def _history(person_id: int) -> tuple[HistoryEntry, ...]:
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "people", AuditEvent.entity_id == person_id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return tuple(
        HistoryEntry(e.occurred_at, str(e.action), e.summary, dict(e.changes or {}))
        for e in db.session.scalars(stmt)
    )
