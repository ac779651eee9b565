"""The people on an activity's list: who was invited, registered, attended or did not show.

`enrol` is the flush-only building block for adding people to an activity inside a larger
transaction: the form that adds existing people (`add_participants`), the form that creates
a person on the spot (`create_participant`), and the attendance-sheet import
(crm.services.imports) all go through it. Each participation keeps the person's organisation
at the time, which is what reach counts (crm.services.activities.reach).

The public writers check `EDIT_ACTIVITIES`, write one audit event on the activity and commit
once; `for_person` and `for_organisation` show activities from a stakeholder's page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from crm.access import Permission
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    ActivityParty,
    Affiliation,
    AuditAction,
    Organisation,
    Participation,
    ParticipationRole,
    ParticipationStatus,
    Person,
    User,
)
from crm.services import audit, duplicates, stakeholders
from crm.services.activities._checks import choice, require, require_live
from crm.services.errors import InvalidInput, LikelyDuplicate, NotFound

PERSON_ON_THE_SPOT = ("family_name", "given_name", "chinese_name", "gender", "job_title")
PERSON_CONTACT = ("email", "phone", "wechat_id")


def current_organisations(person_ids: Sequence[int]) -> dict[int, int]:
    """Each person's current employer (open position at a live organisation; the latest
    started when there are several), in one query."""
    if not person_ids:
        return {}
    stmt = (
        sa.select(Affiliation.person_id, Affiliation.organisation_id)
        .join(Organisation, Organisation.id == Affiliation.organisation_id)
        .where(
            Affiliation.person_id.in_(list(person_ids)),
            Affiliation.end_on.is_(None),
            Affiliation.deleted_at.is_(None),
            Organisation.deleted_at.is_(None),
        )
        .order_by(
            Affiliation.person_id, Affiliation.start_on.desc().nulls_last(), Affiliation.id.desc()
        )
    )
    found: dict[int, int] = {}
    for person_id, organisation_id in db.session.execute(stmt):
        found.setdefault(person_id, organisation_id)
    return found


def _names(people: Iterable[Person]) -> list[str]:
    return [p.display_name for p in people]


def _status(value: Any, field: str = "status") -> ParticipationStatus:
    found = choice(ParticipationStatus, value, field, _("Choose a status."))
    if found is None:
        raise InvalidInput(_("Choose a status."), field=field)
    return found


def _role(value: Any, field: str = "role") -> ParticipationRole:
    found = choice(ParticipationRole, value, field, _("Choose a role."))
    if found is None:
        raise InvalidInput(_("Choose a role."), field=field)
    return found


# ---------------------------------------------------------------------------------------------
# Enrol: the building block
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """What `enrol` did: participations added, and existing ones whose status it set."""

    added: tuple[Participation, ...]
    updated: tuple[Participation, ...]


def enrol(
    activity: Activity,
    people: Sequence[Person],
    *,
    status: Any = ParticipationStatus.invited,
    role: Any = ParticipationRole.participant,
    actor: User,
    organisation_ids: Mapping[int, int | None] | None = None,
    existing: str = "reject",
) -> Enrolment:
    """Add people to the activity in the current transaction; flushes, never commits.

    Each participation keeps the person's organisation at the time: `organisation_ids`
    (person id → organisation id) when the caller knows it (an attendance sheet names it),
    else their current employer. A person already on the list raises InvalidInput on
    `people` (`existing="reject"`) or gets the new status (`existing="update"`, for
    attendance sheets that confirm who came), and the organisation from `organisation_ids`
    if theirs was not known. One audit event on the activity.
    """
    require(actor, Permission.EDIT_ACTIVITIES)
    require_live(activity)
    status, role = _status(status), _role(role)
    if existing not in ("reject", "update"):
        raise ValueError(f"existing must be 'reject' or 'update', not {existing!r}")
    unique = list({p.id: p for p in people}.values())
    if not unique:
        raise InvalidInput(_("Choose at least one person."), field="people")
    already = _listed(activity, [p.id for p in unique])
    if already and existing != "update":
        names = ", ".join(_names(p for p in unique if p.id in already))
        raise InvalidInput(
            _("Already on the list of participants: %(names)s.", names=names), field="people"
        )
    added, updated = _add_or_update(
        activity, unique, already, status=status, role=role, known=dict(organisation_ids or {})
    )
    _record_enrolment(activity, unique, already, added, updated, status=status, actor=actor)
    db.session.flush()
    return Enrolment(tuple(added), tuple(updated))


def _listed(activity: Activity, person_ids: Sequence[int]) -> dict[int, Participation]:
    """The participations these people already have in the activity, by person id."""
    return {
        p.person_id: p
        for p in db.session.scalars(
            sa.select(Participation).where(
                Participation.activity_id == activity.id, Participation.person_id.in_(person_ids)
            )
        )
    }


def _add_or_update(
    activity: Activity,
    people: Sequence[Person],
    already: Mapping[int, Participation],
    *,
    status: ParticipationStatus,
    role: ParticipationRole,
    known: Mapping[int, int | None],
) -> tuple[list[Participation], list[Participation]]:
    """Add a participation for each new person; give those already listed the status (and
    their organisation at the time when it was not known). Returns (added, updated)."""
    current = current_organisations([p.id for p in people if p.id not in known])
    added: list[Participation] = []
    updated: list[Participation] = []
    for person in people:
        if person.id in already:
            participation = already[person.id]
            changed = participation.status != status
            participation.status = status
            if participation.organisation_id is None and known.get(person.id):
                # Their organisation at the time was not known when they were listed.
                participation.organisation_id = known[person.id]
                changed = True
            if changed:
                updated.append(participation)
            continue
        participation = Participation(
            activity_id=activity.id,
            person_id=person.id,
            organisation_id=known.get(person.id, current.get(person.id)),
            status=status,
            role=role,
        )
        db.session.add(participation)
        added.append(participation)
    return added, updated


def _record_enrolment(
    activity: Activity,
    people: Sequence[Person],
    already: Mapping[int, Participation],
    added: Sequence[Participation],
    updated: Sequence[Participation],
    *,
    status: ParticipationStatus,
    actor: User,
) -> None:
    """One audit event on the activity naming who was added and whose status was set."""
    changes: dict[str, list[Any]] = {}
    if added:
        changes["participants_added"] = [None, _names(p for p in people if p.id not in already)]
        changes["status"] = [None, status.value]
    if updated:
        by_id = {p.id: p for p in people}
        changes["participants"] = [None, _names(by_id[p.person_id] for p in updated)]
        changes["status"] = [None, status.value]
    if changes:
        audit.record(
            activity,
            actor=actor,
            action=AuditAction.update,
            changes=changes,
            summary=activity.title,
        )


# ---------------------------------------------------------------------------------------------
# Add, create, change and remove participants
# ---------------------------------------------------------------------------------------------


def _live_people(person_ids: Sequence[Any]) -> list[Person]:
    wanted = list(dict.fromkeys(i for i in person_ids if i))
    if not wanted:
        raise InvalidInput(_("Choose at least one person."), field="people")
    if any(not isinstance(i, int) for i in wanted):
        raise InvalidInput(_("Choose people from the list."), field="people")
    found = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Person).where(Person.id.in_(wanted), Person.deleted_at.is_(None))
        )
    }
    if len(found) != len(wanted):
        raise InvalidInput(
            _("A chosen person no longer exists; remove them and try again."), field="people"
        )
    return [found[i] for i in wanted]


def add_participants(
    activity: Activity,
    person_ids: Sequence[int],
    *,
    status: Any = ParticipationStatus.invited,
    role: Any = ParticipationRole.participant,
    actor: User,
) -> list[Participation]:
    """Add existing people with one status and role; commits. Someone already on the list,
    or an unknown person, raises InvalidInput on `people` and adds no one."""
    require(actor, Permission.EDIT_ACTIVITIES)
    try:
        people = _live_people(person_ids)
        result = enrol(activity, people, status=status, role=role, actor=actor)
        db.session.commit()
    except (InvalidInput, NotFound):
        db.session.rollback()
        raise
    return list(result.added)


def create_participant(
    activity: Activity,
    data: Mapping[str, Any],
    *,
    organisation_id: int | None = None,
    status: Any = ParticipationStatus.invited,
    role: Any = ParticipationRole.participant,
    allow_duplicates: bool = False,
    actor: User,
) -> Participation:
    """Create a person and add them to the activity in one transaction.

    The person is created exactly as on the people page (derived names, search entry, audit
    event); with `organisation_id` they also get a current position there, which becomes
    their organisation at the time. Unless `allow_duplicates`, a person who looks already
    recorded (same email, phone, WeChat ID or name) raises InvalidInput naming them. Needs
    both EDIT_ACTIVITIES and EDIT_STAKEHOLDERS (coordinators and up).
    """
    require(actor, Permission.EDIT_ACTIVITIES)
    require(actor, Permission.EDIT_STAKEHOLDERS)
    require_live(activity)
    _status(status)
    _role(role)
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id and (organisation is None or organisation.deleted_at is not None):
        raise InvalidInput(_("Choose an existing organisation."), field="organisation_id")
    values = {k: data.get(k) for k in (*PERSON_ON_THE_SPOT, *PERSON_CONTACT) if k in data}
    if not any(values.get(k) for k in ("family_name", "given_name", "chinese_name")):
        raise InvalidInput(
            _("Give a family name, a given name or a Chinese name."), field="family_name"
        )
    if not allow_duplicates:
        probe = duplicates.person_probe(values, organisation_id=organisation_id)
        found = duplicates.find([probe], limit=3)[0]
        if found:
            names = ", ".join(c.stakeholder.display_name for c in found)
            raise LikelyDuplicate(
                _(
                    "This person may already be recorded: %(names)s. Add them with the search "
                    "above, or tick “Create anyway”.",
                    names=names,
                ),
                candidates=found,
            )
    try:
        person = stakeholders.insert(Person, values, stakeholders.PERSON_FIELDS, actor)
        if organisation is not None:
            stakeholders.attach(
                person,
                organisation,
                title=values.get("job_title"),
                start_on=None,
                end_on=None,
                actor=actor,
            )
        result = enrol(
            activity,
            [person],
            status=status,
            role=role,
            actor=actor,
            organisation_ids={person.id: organisation.id if organisation else None},
        )
        duplicates.refresh([person.id])
        db.session.commit()
    except (InvalidInput, NotFound):
        db.session.rollback()
        raise
    return result.added[0]


def change_participants(
    activity: Activity,
    participation_ids: Sequence[Any],
    *,
    status: Any = None,
    role: Any = None,
    actor: User,
) -> int:
    """Set the status and/or role of several participants at once; commits. Returns how many
    changed. Ids must all belong to the activity (InvalidInput on `ids` otherwise)."""
    require(actor, Permission.EDIT_ACTIVITIES)
    require_live(activity)
    wanted = list(dict.fromkeys(i for i in participation_ids if i))
    if not wanted:
        raise InvalidInput(_("Tick at least one participant."), field="ids")
    if any(not isinstance(i, int) for i in wanted):
        raise InvalidInput(_("Tick participants from the list."), field="ids")
    new_status = choice(ParticipationStatus, status, "status", _("Choose a status."))
    new_role = choice(ParticipationRole, role, "role", _("Choose a role."))
    if new_status is None and new_role is None:
        raise InvalidInput(_("Choose a status or a role to set."), field="status")
    rows = list(
        db.session.scalars(
            sa.select(Participation)
            .where(Participation.id.in_(wanted), Participation.activity_id == activity.id)
            .options(joinedload(Participation.person))
        )
    )
    if len(rows) != len(wanted):
        raise InvalidInput(
            _("A ticked participant is no longer on the list; reload the page."), field="ids"
        )
    changed: list[Participation] = []
    for row in rows:
        before = (row.status, row.role)
        if new_status is not None:
            row.status = new_status
        if new_role is not None:
            row.role = new_role
        if (row.status, row.role) != before:
            changed.append(row)
    if changed:
        changes: dict[str, list[Any]] = {
            "participants": [None, sorted(_names(r.person for r in changed))]
        }
        if new_status is not None:
            changes["status"] = [None, new_status.value]
        if new_role is not None:
            changes["role"] = [None, new_role.value]
        audit.record(
            activity,
            actor=actor,
            action=AuditAction.update,
            changes=changes,
            summary=activity.title,
        )
    db.session.commit()
    return len(changed)


def get_participation(activity: Activity, participation_id: int) -> Participation:
    found = db.session.get(Participation, participation_id)
    if found is None or found.activity_id != activity.id:
        raise NotFound(_("This person is not on the list of participants."))
    return found


def remove_participant(participation: Participation, *, actor: User) -> None:
    """Take a person off the activity's list (the person record stays)."""
    require(actor, Permission.EDIT_ACTIVITIES)
    activity = participation.activity
    audit.record(
        activity,
        actor=actor,
        action=AuditAction.update,
        changes={"participants_removed": [[participation.person.display_name], None]},
        summary=activity.title,
    )
    db.session.delete(participation)
    db.session.commit()


# ---------------------------------------------------------------------------------------------
# Reading: the list, and activities seen from a stakeholder
# ---------------------------------------------------------------------------------------------


def participants(activity: Activity) -> list[Participation]:
    """The activity's participants (people not in the trash) with their organisation at the
    time, by name."""
    stmt = (
        sa.select(Participation)
        .join(Person, Person.id == Participation.person_id)
        .where(Participation.activity_id == activity.id, Person.deleted_at.is_(None))
        # The person comes with the join above; the organisations in one more statement: a
        # joined load of (stakeholders JOIN organisations) made SQLite materialise every
        # organisation (0.5 s at 20,000 organisations).
        .options(contains_eager(Participation.person), selectinload(Participation.organisation))
        .order_by(Person.sort_name, Participation.id)
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class PersonActivity:
    """An activity seen from a stakeholder page: the role and status it had there."""

    activity: Activity
    role: str
    status: str | None = None


def for_person(person: Person, *, limit: int = 20) -> list[PersonActivity]:
    """The live activities a person is listed in, newest first, with role and status."""
    stmt = (
        sa.select(Activity, Participation.role, Participation.status)
        .join(Participation, Participation.activity_id == Activity.id)
        .where(Participation.person_id == person.id, Activity.deleted_at.is_(None))
        .order_by(Activity.start_on.desc(), Activity.id.desc())
        .limit(limit)
    )
    return [
        PersonActivity(a, str(role), str(status)) for a, role, status in db.session.execute(stmt)
    ]


def for_organisation(organisation: Organisation, *, limit: int = 20) -> list[PersonActivity]:
    """The live activities an organisation is a party to, newest first, one row per role."""
    stmt = (
        sa.select(Activity, ActivityParty.role)
        .join(ActivityParty, ActivityParty.activity_id == Activity.id)
        .where(ActivityParty.organisation_id == organisation.id, Activity.deleted_at.is_(None))
        .order_by(Activity.start_on.desc(), Activity.id.desc())
        .limit(limit)
    )
    return [PersonActivity(a, str(role)) for a, role in db.session.execute(stmt)]
