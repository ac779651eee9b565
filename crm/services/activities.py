"""Programme activities: trainings, forums, MoUs and research, their parties and participants.

Every public function that writes is one unit of work: it checks the actor's permission
(`EDIT_ACTIVITIES`, coordinators and up; `DELETE` to move to the trash), validates
everything before writing, writes the records, their audit events (on the activity) and
the activity's search document, and commits once. Invalid input raises InvalidInput with
the form field it belongs to and leaves nothing half-written.

`enrol` is the flush-only building block for adding people to an activity inside a larger
transaction: the form that adds existing people, the form that creates a person on the
spot, and the attendance-sheet import (crm.services.imports) all go through it.

Reach (`compute_reach`, `reach`) is defined in one place, below, and computed by a pure
function so that it can be tested on a known data set.
"""

from __future__ import annotations

import calendar as calendar_module
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, can
from crm.extensions import db
from crm.models import (
    LABELS,
    Activity,
    ActivityParty,
    ActivityStatus,
    ActivityType,
    Affiliation,
    AgreementStatus,
    AuditAction,
    Gender,
    Organisation,
    OrgType,
    Participation,
    ParticipationRole,
    ParticipationStatus,
    PartyRole,
    Person,
    Sector,
    Topic,
    User,
    utcnow,
)
from crm.services import audit, duplicates, search, stakeholders
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.text import pinyin

log = logging.getLogger(__name__)

FIELDS = (
    "type",
    "title",
    "title_zh",
    "status",
    "start_on",
    "end_on",
    "city",
    "sector",
    "description",
    "lead_id",
    "signed_on",
    "expires_on",
    "agreement_status",
    "publication",
)
HEADCOUNTS = ("unnamed_women", "unnamed_men", "unnamed_unspecified")
MOU_FIELDS = ("signed_on", "expires_on", "agreement_status")
MAX_DESCRIPTION = 20_000
MAX_HEADCOUNT = 100_000
EXPIRY_WARNING_DAYS = 90


def _require(actor: User | None, permission: Permission) -> None:
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def get(activity_id: int) -> Activity:
    """The live activity with that id, or NotFound (also for activities in the trash)."""
    found = db.session.get(Activity, activity_id)
    if found is None or found.deleted_at is not None:
        raise NotFound(_("No such activity."))
    return found


def state(activity: Activity) -> dict[str, Any]:
    """The audited fields as JSON-safe values: what History and the conflict page show."""
    values = audit.snapshot(activity, (*FIELDS, *HEADCOUNTS))
    values["topics"] = sorted(topic.name for topic in activity.topics)
    return values


# ---------------------------------------------------------------------------------------------
# Validation shared by create and update
# ---------------------------------------------------------------------------------------------


def _enum(enum: type[StrEnum], value: Any, field: str, message: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(message, field=field) from None


def _text(value: Any, field: str, max_length: int) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else value
    if text in (None, ""):
        return None
    if not isinstance(text, str):
        raise InvalidInput(_("Enter text."), field=field)
    if len(text) > max_length:
        raise InvalidInput(_("At most %(n)d characters.", n=max_length), field=field)
    return text


def _date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        raise InvalidInput(_("Give a date such as 2026-03-04."), field=field)
    return value


def _headcount(value: Any, field: str) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(_("Give a whole number."), field=field)
    if value < 0:
        raise InvalidInput(_("A headcount cannot be negative."), field=field)
    if value > MAX_HEADCOUNT:
        raise InvalidInput(_("At most %(n)d.", n=MAX_HEADCOUNT), field=field)
    return value


def _topics(ids: Iterable[Any], current: Sequence[Topic]) -> list[Topic]:
    """Chosen topics: active ones, or inactive ones the activity already has."""
    wanted = list(dict.fromkeys(i for i in ids if i))
    if not wanted:
        return []
    if any(not isinstance(i, int) for i in wanted):
        raise InvalidInput(_("Choose topics from the list."), field="topic_ids")
    found = {t.id: t for t in db.session.scalars(sa.select(Topic).where(Topic.id.in_(wanted)))}
    kept = {t.id for t in current}
    for topic_id in wanted:
        topic = found.get(topic_id)
        if topic is None or (not topic.is_active and topic_id not in kept):
            raise InvalidInput(
                _("A chosen topic is no longer offered; remove it and try again."),
                field="topic_ids",
            )
    return [found[i] for i in wanted]


def _validated(data: Mapping[str, Any], *, current: Activity | None) -> dict[str, Any]:
    """Clean values of every field (enums, stripped text, dates), or InvalidInput.

    Fields that belong to another type are cleared: MoU dates and status for anything but
    an MoU, the publication for anything but research.
    """
    values: dict[str, Any] = {}
    values["type"] = _enum(ActivityType, data.get("type"), "type", _("Choose a type."))
    if values["type"] is None:
        raise InvalidInput(_("Choose a type."), field="type")
    values["title"] = _text(data.get("title"), "title", 200)
    if not values["title"]:
        raise InvalidInput(_("A title is required."), field="title")
    values["title_zh"] = _text(data.get("title_zh"), "title_zh", 200)
    values["status"] = (
        _enum(ActivityStatus, data.get("status"), "status", _("Choose a status."))
        or ActivityStatus.planned
    )
    values["start_on"] = _date(data.get("start_on"), "start_on")
    if values["start_on"] is None:
        raise InvalidInput(_("Give the start date."), field="start_on")
    values["end_on"] = _date(data.get("end_on"), "end_on")
    if values["end_on"] is not None and values["end_on"] < values["start_on"]:
        raise InvalidInput(_("The end date must not be before the start date."), field="end_on")
    values["city"] = _text(data.get("city"), "city", 80)
    values["sector"] = _enum(Sector, data.get("sector"), "sector", _("Choose a sector."))
    values["description"] = _text(data.get("description"), "description", MAX_DESCRIPTION)
    lead_id = data.get("lead_id")
    if lead_id not in (None, ""):
        lead = db.session.get(User, lead_id) if isinstance(lead_id, int) else None
        if lead is None or not lead.is_enabled:
            raise InvalidInput(_("Choose an active user."), field="lead_id")
    values["lead_id"] = lead_id or None

    if values["type"] == ActivityType.mou:
        values["signed_on"] = _date(data.get("signed_on"), "signed_on")
        values["expires_on"] = _date(data.get("expires_on"), "expires_on")
        values["agreement_status"] = (
            _enum(
                AgreementStatus,
                data.get("agreement_status"),
                "agreement_status",
                _("Choose the status of the agreement."),
            )
            or AgreementStatus.draft
        )
        signed, expires = values["signed_on"], values["expires_on"]
        if signed is not None and expires is not None and expires <= signed:
            raise InvalidInput(
                _("An MoU must expire after the day it was signed."), field="expires_on"
            )
        if signed is None and values["agreement_status"] in (
            AgreementStatus.signed,
            AgreementStatus.expired,
            AgreementStatus.terminated,
        ):
            raise InvalidInput(_("Give the date the MoU was signed."), field="signed_on")
    else:
        values.update(dict.fromkeys(MOU_FIELDS))
    values["publication"] = (
        _text(data.get("publication"), "publication", 500)
        if values["type"] == ActivityType.research
        else None
    )
    for name in HEADCOUNTS:
        values[name] = _headcount(data.get(name), name)
    if "topic_ids" in data:
        values["topics"] = _topics(data["topic_ids"] or [], current.topics if current else [])
    return values


def _assign(activity: Activity, values: Mapping[str, Any]) -> None:
    for name in (*FIELDS, *HEADCOUNTS):
        setattr(activity, name, values[name])
    if "topics" in values:
        activity.topics = values["topics"]
    activity.title_pinyin = pinyin(activity.title_zh)[0]


# ---------------------------------------------------------------------------------------------
# Create, update, delete
# ---------------------------------------------------------------------------------------------


def create(data: Mapping[str, Any], *, actor: User) -> Activity:
    """Create an activity from plain values (`topic_ids` for its topics); audited, indexed.

    Coordinators and up. Raises InvalidInput (nothing written) for values the rules reject.
    """
    _require(actor, Permission.EDIT_ACTIVITIES)
    values = _validated(data, current=None)
    try:
        activity = Activity(created_by_id=actor.id)
        _assign(activity, values)
        db.session.add(activity)
        db.session.flush()
        audit.record(
            activity,
            actor=actor,
            action=AuditAction.create,
            changes={
                k: [None, v] for k, v in state(activity).items() if v not in (None, "", [], 0)
            },
            summary=activity.title,
        )
        index(activity)
        db.session.commit()
    except (InvalidInput, PermissionDenied):
        db.session.rollback()
        raise
    log.info("created activity %s", activity.id)
    return activity


def _stale(activity: Activity) -> Conflict:
    return Conflict(
        _("Someone else saved this activity while you were editing it."), current=state(activity)
    )


def update(
    activity: Activity, changes: Mapping[str, Any], *, version: int, actor: User
) -> Activity:
    """Apply changes made on top of `version`; one audit event with the diff.

    Raises Conflict (nothing written) when someone saved the activity since `version` was
    read, InvalidInput for values the rules reject. Headcounts of unnamed attendees are
    fields of the activity and change through here too.
    """
    _require(actor, Permission.EDIT_ACTIVITIES)
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))
    if activity.version != version:
        raise _stale(activity)
    merged = {**{name: getattr(activity, name) for name in (*FIELDS, *HEADCOUNTS)}, **changes}
    values = _validated(merged, current=activity)
    before = state(activity)
    try:
        # No flush before the commit: one save must be one version.
        with db.session.no_autoflush:
            _assign(activity, values)
            after = state(activity)
        changed = audit.diff(before, after)
        if changed:
            if set(changed) == {"topics"}:
                # Topics live in another table; bump the version so others see the change.
                activity.updated_at = utcnow()
            audit.record(
                activity,
                actor=actor,
                action=AuditAction.update,
                changes=changed,
                summary=activity.title,
            )
        index(activity)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(activity)
        raise _stale(activity) from None
    except InvalidInput:
        db.session.rollback()
        raise
    return activity


def delete(activity: Activity, *, actor: User) -> None:
    """Move an activity to the trash: it leaves lists, the calendar and search; its parties,
    participants and linked interactions are kept."""
    _require(actor, Permission.DELETE)
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))
    activity.deleted_at = utcnow()
    audit.record(activity, actor=actor, action=AuditAction.delete, summary=activity.title)
    index(activity)
    db.session.commit()
    log.info("activity %s moved to the trash", activity.id)


# ---------------------------------------------------------------------------------------------
# Parties: organisations with a role
# ---------------------------------------------------------------------------------------------


def _party_text(organisation: Organisation, role: PartyRole) -> str:
    return f"{LABELS.get(role, role.value)}: {organisation.display_name}"


def add_party(
    activity: Activity, *, organisation_id: int | None, role: Any, actor: User
) -> ActivityParty:
    """Link an organisation to the activity with a role (host, signatory, ...).

    The same organisation may hold several roles, but each role once: a repeat raises
    InvalidInput on `organisation_id` (never an IntegrityError).
    """
    _require(actor, Permission.EDIT_ACTIVITIES)
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.deleted_at is not None:
        raise InvalidInput(_("Choose an existing organisation."), field="organisation_id")
    party_role = _enum(PartyRole, role, "role", _("Choose a role."))
    if party_role is None:
        raise InvalidInput(_("Choose a role."), field="role")
    message = _(
        "%(name)s already has the role “%(role)s” in this activity.",
        name=organisation.display_name,
        role=str(LABELS.get(party_role)),
    )
    exists = db.session.scalar(
        sa.select(ActivityParty.id).where(
            ActivityParty.activity_id == activity.id,
            ActivityParty.organisation_id == organisation.id,
            ActivityParty.role == party_role,
        )
    )
    if exists is not None:
        raise InvalidInput(message, field="organisation_id")
    party = ActivityParty(activity_id=activity.id, organisation_id=organisation.id, role=party_role)
    try:
        db.session.add(party)
        db.session.flush()
    except IntegrityError:
        # Someone added the same party between the check and the insert.
        db.session.rollback()
        raise InvalidInput(message, field="organisation_id") from None
    audit.record(
        activity,
        actor=actor,
        action=AuditAction.update,
        changes={"parties_added": [None, _party_text(organisation, party_role)]},
        summary=activity.title,
    )
    db.session.commit()
    return party


def get_party(activity: Activity, party_id: int) -> ActivityParty:
    party = db.session.get(ActivityParty, party_id)
    if party is None or party.activity_id != activity.id:
        raise NotFound(_("This organisation is not a party to the activity."))
    return party


def remove_party(party: ActivityParty, *, actor: User) -> None:
    """Unlink an organisation from the activity (the organisation itself stays)."""
    _require(actor, Permission.EDIT_ACTIVITIES)
    activity = party.activity
    audit.record(
        activity,
        actor=actor,
        action=AuditAction.update,
        changes={"parties_removed": [_party_text(party.organisation, party.role), None]},
        summary=activity.title,
    )
    db.session.delete(party)
    db.session.commit()


def parties(activity: Activity) -> list[ActivityParty]:
    """The activity's parties with live organisations, by role then name."""
    order = sa.case({role.value: n for n, role in enumerate(PartyRole)}, value=ActivityParty.role)
    stmt = (
        sa.select(ActivityParty)
        .join(Organisation, Organisation.id == ActivityParty.organisation_id)
        .where(ActivityParty.activity_id == activity.id, Organisation.deleted_at.is_(None))
        .options(joinedload(ActivityParty.organisation))
        .order_by(order, Organisation.sort_name)
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Participants
# ---------------------------------------------------------------------------------------------


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
    found = _enum(ParticipationStatus, value, field, _("Choose a status."))
    if found is None:
        raise InvalidInput(_("Choose a status."), field=field)
    return found


def _role(value: Any, field: str = "role") -> ParticipationRole:
    found = _enum(ParticipationRole, value, field, _("Choose a role."))
    if found is None:
        raise InvalidInput(_("Choose a role."), field=field)
    return found


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
    _require(actor, Permission.EDIT_ACTIVITIES)
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))
    status, role = _status(status), _role(role)
    if existing not in ("reject", "update"):
        raise ValueError(f"existing must be 'reject' or 'update', not {existing!r}")
    unique = list({p.id: p for p in people}.values())
    if not unique:
        raise InvalidInput(_("Choose at least one person."), field="people")
    ids = [p.id for p in unique]
    already = {
        p.person_id: p
        for p in db.session.scalars(
            sa.select(Participation).where(
                Participation.activity_id == activity.id, Participation.person_id.in_(ids)
            )
        )
    }
    if already and existing != "update":
        names = ", ".join(_names(p for p in unique if p.id in already))
        raise InvalidInput(
            _("Already on the list of participants: %(names)s.", names=names), field="people"
        )
    known = dict(organisation_ids or {})
    current = current_organisations([i for i in ids if i not in known])
    added: list[Participation] = []
    updated: list[Participation] = []
    for person in unique:
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
    changes: dict[str, list[Any]] = {}
    if added:
        changes["participants_added"] = [None, _names(p for p in unique if p.id not in already)]
        changes["status"] = [None, status.value]
    if updated:
        by_id = {p.id: p for p in unique}
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
    db.session.flush()
    return Enrolment(tuple(added), tuple(updated))


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
    _require(actor, Permission.EDIT_ACTIVITIES)
    try:
        people = _live_people(person_ids)
        result = enrol(activity, people, status=status, role=role, actor=actor)
        db.session.commit()
    except (InvalidInput, NotFound):
        db.session.rollback()
        raise
    return list(result.added)


PERSON_ON_THE_SPOT = ("family_name", "given_name", "chinese_name", "gender", "job_title")
PERSON_CONTACT = ("email", "phone")


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
    _require(actor, Permission.EDIT_ACTIVITIES)
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))
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
        found = duplicates.candidates_for_person(values, limit=3)
        if found:
            names = ", ".join(c.stakeholder.display_name for c in found)
            raise InvalidInput(
                _(
                    "This person may already be recorded: %(names)s. Add them with the search "
                    "above, or tick “Create anyway”.",
                    names=names,
                )
            )
    try:
        person = stakeholders._insert(Person, values, stakeholders.PERSON_FIELDS, actor)
        if organisation is not None:
            stakeholders._attach(
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
    _require(actor, Permission.EDIT_ACTIVITIES)
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))
    wanted = list(dict.fromkeys(i for i in participation_ids if i))
    if not wanted:
        raise InvalidInput(_("Tick at least one participant."), field="ids")
    if any(not isinstance(i, int) for i in wanted):
        raise InvalidInput(_("Tick participants from the list."), field="ids")
    new_status = _enum(ParticipationStatus, status, "status", _("Choose a status."))
    new_role = _enum(ParticipationRole, role, "role", _("Choose a role."))
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
    _require(actor, Permission.EDIT_ACTIVITIES)
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


def participants(activity: Activity) -> list[Participation]:
    """The activity's participants (people not in the trash) with their organisation at the
    time, by name."""
    stmt = (
        sa.select(Participation)
        .join(Person, Person.id == Participation.person_id)
        .where(Participation.activity_id == activity.id, Person.deleted_at.is_(None))
        .options(joinedload(Participation.person), joinedload(Participation.organisation))
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


# ---------------------------------------------------------------------------------------------
# Reach
# ---------------------------------------------------------------------------------------------
#
# Definition (what the activity page, reports and donor indicators count):
#
# * Attendees are the named participants with status "attended" who are not in the trash,
#   plus the activity's headcounts of attendees not registered by name.
# * By sex: a named attendee counts by the gender on their record (female → women, male →
#   men, other → other, undisclosed → not stated); unnamed headcounts add women, men and
#   not stated. The total is all of these together.
# * Share of women = women / total attendees. Attendees of unknown sex stay in the
#   denominator, so the share is never overstated. None when nobody attended.
# * Organisations reached = the distinct live organisations that are either the
#   organisation at the time of a named attendee, or a party with the role "participant".
#   Hosts, co-organisers, partners, sponsors and signatories deliver, fund or sign the
#   activity: they are not counted as reached. Unnamed attendees have no organisation.
# * By type and by sector: those organisations counted by their type and their sector
#   ("" when the organisation has no sector).
# * Government officials = named attendees whose organisation at the time is of type
#   "government" (also counted among women).
# * The activity's status does not enter: a planned activity has simply not recorded any
#   attendance yet.


@dataclass(frozen=True)
class OrgFacts:
    id: int
    org_type: str
    sector: str | None


@dataclass(frozen=True)
class Attendee:
    person_id: int
    gender: str
    organisation: OrgFacts | None = None


@dataclass(frozen=True)
class Headcounts:
    women: int = 0
    men: int = 0
    unspecified: int = 0

    @property
    def total(self) -> int:
        return self.women + self.men + self.unspecified


@dataclass(frozen=True)
class Reach:
    named_women: int
    named_men: int
    named_other: int
    named_undisclosed: int
    unnamed: Headcounts
    organisations: int
    by_type: tuple[tuple[str, int], ...]
    by_sector: tuple[tuple[str, int], ...]
    officials: int
    officials_women: int

    @property
    def named(self) -> int:
        return self.named_women + self.named_men + self.named_other + self.named_undisclosed

    @property
    def women(self) -> int:
        return self.named_women + self.unnamed.women

    @property
    def men(self) -> int:
        return self.named_men + self.unnamed.men

    @property
    def other(self) -> int:
        return self.named_other

    @property
    def not_stated(self) -> int:
        return self.named_undisclosed + self.unnamed.unspecified

    @property
    def total(self) -> int:
        return self.named + self.unnamed.total

    @property
    def share_of_women(self) -> float | None:
        return self.women / self.total if self.total else None

    def of_type(self, org_type: str) -> int:
        return dict(self.by_type).get(org_type, 0)


def compute_reach(
    attendees: Iterable[Attendee],
    headcounts: Headcounts,
    participant_parties: Iterable[OrgFacts] = (),
) -> Reach:
    """Reach from plain facts (see the definition above); no database access."""
    people = {a.person_id: a for a in attendees}.values()
    sexes = Counter(a.gender for a in people)
    organisations = {a.organisation.id: a.organisation for a in people if a.organisation}
    for party in participant_parties:
        organisations.setdefault(party.id, party)
    types = Counter(o.org_type for o in organisations.values())
    sectors = Counter(o.sector or "" for o in organisations.values())
    type_order = [t.value for t in OrgType]
    sector_order = [s.value for s in Sector] + [""]
    officials = [
        a for a in people if a.organisation and a.organisation.org_type == OrgType.government
    ]
    return Reach(
        named_women=sexes[Gender.female],
        named_men=sexes[Gender.male],
        named_other=sexes[Gender.other],
        named_undisclosed=sexes[Gender.undisclosed],
        unnamed=headcounts,
        organisations=len(organisations),
        by_type=tuple((t, types[t]) for t in type_order if types[t]),
        by_sector=tuple((s, sectors[s]) for s in sector_order if sectors[s]),
        officials=len(officials),
        officials_women=sum(1 for a in officials if a.gender == Gender.female),
    )


def _facts(organisation_id: int | None, org_type: Any, sector: Any) -> OrgFacts | None:
    if organisation_id is None or org_type is None:
        return None
    return OrgFacts(organisation_id, str(org_type), str(sector) if sector else None)


def reach(activity: Activity) -> Reach:
    """The activity's reach from the database (two queries)."""
    # People and organisations are both stakeholders: the organisation needs an alias.
    org = aliased(Organisation, flat=True)
    attended = db.session.execute(
        sa.select(Participation.person_id, Person.gender, org.id, org.org_type, org.sector)
        .join(Person, Person.id == Participation.person_id)
        .outerjoin(org, sa.and_(org.id == Participation.organisation_id, org.deleted_at.is_(None)))
        .where(
            Participation.activity_id == activity.id,
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
    ).all()
    attendees = [
        Attendee(person_id, str(gender), _facts(org_id, org_type, sector))
        for person_id, gender, org_id, org_type, sector in attended
    ]
    party_rows = db.session.execute(
        sa.select(Organisation.id, Organisation.org_type, Organisation.sector)
        .join(ActivityParty, ActivityParty.organisation_id == Organisation.id)
        .where(
            ActivityParty.activity_id == activity.id,
            ActivityParty.role == PartyRole.participant,
            Organisation.deleted_at.is_(None),
        )
    ).all()
    party_facts = [f for f in (_facts(*row) for row in party_rows) if f is not None]
    headcounts = Headcounts(
        activity.unnamed_women or 0, activity.unnamed_men or 0, activity.unnamed_unspecified or 0
    )
    return compute_reach(attendees, headcounts, party_facts)


# ---------------------------------------------------------------------------------------------
# MoUs
# ---------------------------------------------------------------------------------------------


class MouStatus(StrEnum):
    """Where an MoU stands on a given day (computed, not stored)."""

    pending = "pending"  # draft or negotiating
    active = "active"
    expiring = "expiring"  # in force, expires within EXPIRY_WARNING_DAYS (today included)
    expired = "expired"
    terminated = "terminated"


LABELS.add(
    [
        (MouStatus.pending, _l("Not yet signed")),
        (MouStatus.active, _l("Active")),
        (MouStatus.expiring, _l("Expiring soon")),
        (MouStatus.expired, _l("Expired")),
        (MouStatus.terminated, _l("Terminated")),
    ]
)


def mou_status(agreement_status: Any, expires_on: date | None, *, today: date) -> MouStatus:
    """An MoU is in force until the end of its `expires_on` day; "expiring" from 90 days
    before (expires_on - today <= 90) to that day; "expired" from the day after, or when its
    status says so."""
    status = AgreementStatus(agreement_status or AgreementStatus.draft)
    if status in (AgreementStatus.draft, AgreementStatus.negotiating):
        return MouStatus.pending
    if status == AgreementStatus.terminated:
        return MouStatus.terminated
    if status == AgreementStatus.expired or (expires_on is not None and expires_on < today):
        return MouStatus.expired
    if expires_on is not None and (expires_on - today).days <= EXPIRY_WARNING_DAYS:
        return MouStatus.expiring
    return MouStatus.active


@dataclass(frozen=True)
class MouRow:
    activity: Activity
    status: MouStatus
    days_left: int | None
    signatories: tuple[Organisation, ...]


@dataclass(frozen=True)
class MouBoard:
    rows: tuple[MouRow, ...]

    def bucket(self, status: MouStatus | str) -> list[MouRow]:
        return [r for r in self.rows if r.status == status]

    def counts(self) -> dict[str, int]:
        found = Counter(r.status.value for r in self.rows)
        return {s.value: found[s.value] for s in MouStatus}


def mou_board(*, today: date) -> MouBoard:
    """Every live MoU with its computed status and signatory parties (two queries); the
    soonest to expire first."""
    stmt = (
        sa.select(Activity)
        .where(Activity.type == ActivityType.mou, Activity.deleted_at.is_(None))
        .options(selectinload(Activity.parties).joinedload(ActivityParty.organisation))
        .order_by(Activity.expires_on.asc().nulls_last(), Activity.start_on, Activity.id)
    )
    rows = []
    for activity in db.session.scalars(stmt):
        status = mou_status(activity.agreement_status, activity.expires_on, today=today)
        days_left = (activity.expires_on - today).days if activity.expires_on else None
        signatories = tuple(
            p.organisation
            for p in activity.parties
            if p.role == PartyRole.signatory and p.organisation.deleted_at is None
        )
        rows.append(MouRow(activity, status, days_left, signatories))
    return MouBoard(tuple(rows))


# ---------------------------------------------------------------------------------------------
# Lists and the month calendar
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criteria:
    q: str = ""
    type: str = ""
    status: str = ""
    sector: str = ""
    topic_id: int | None = None
    year: int | None = None
    city: str = ""
    sort: str = "start"
    descending: bool = True


SORTS: dict[str, Any] = {
    "start": Activity.start_on,
    "title": sa.func.lower(Activity.title),
    "type": Activity.type,
    "status": Activity.status,
    "city": Activity.city,
}


def filtered(criteria: Criteria) -> sa.Select[Any]:
    """Live activities matching the criteria, without order or loading options."""
    stmt = sa.select(Activity).where(Activity.deleted_at.is_(None))
    if criteria.q:
        ids = search.matching_ids(criteria.q, "activity")
        if ids is not None:
            stmt = stmt.where(Activity.id.in_(ids))
    if criteria.type:
        stmt = stmt.where(Activity.type == criteria.type)
    if criteria.status:
        stmt = stmt.where(Activity.status == criteria.status)
    if criteria.sector:
        stmt = stmt.where(Activity.sector == criteria.sector)
    if criteria.topic_id:
        stmt = stmt.where(Activity.topics.any(Topic.id == criteria.topic_id))
    if criteria.year:
        stmt = stmt.where(
            Activity.start_on >= date(criteria.year, 1, 1),
            Activity.start_on < date(criteria.year + 1, 1, 1),
        )
    if criteria.city:
        stmt = stmt.where(sa.func.lower(Activity.city) == criteria.city.lower())
    return stmt


def list_activities(criteria: Criteria, *, page: int = 1, per_page: int = 50) -> Pagination:
    """A page of live activities with topics and lead loaded (a fixed number of queries)."""
    stmt = listing(criteria)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)


def listing(criteria: Criteria) -> sa.Select[Any]:
    """The activities of the list page in its order, topics and lead loaded: the list pages
    through it, the exports (crm.services.exports) read all of it."""
    column = SORTS.get(criteria.sort, Activity.start_on)
    direction = column.desc() if criteria.descending else column.asc()
    return (
        filtered(criteria)
        .options(selectinload(Activity.topics), joinedload(Activity.lead))
        .order_by(direction.nulls_last(), Activity.id.desc())
    )


def attended_counts(activity_ids: Sequence[int]) -> dict[int, int]:
    """Named attendees (people not in the trash) per activity, in one grouped query."""
    if not activity_ids:
        return {}
    stmt = (
        sa.select(Participation.activity_id, sa.func.count())
        .join(Person, Person.id == Participation.person_id)
        .where(
            Participation.activity_id.in_(list(activity_ids)),
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
        .group_by(Participation.activity_id)
    )
    return {activity_id: count for activity_id, count in db.session.execute(stmt)}


def cities() -> list[str]:
    """Cities of live activities, for the list's filter."""
    stmt = (
        sa.select(Activity.city)
        .where(Activity.city.is_not(None), Activity.deleted_at.is_(None))
        .distinct()
        .order_by(Activity.city)
    )
    return [c for c in db.session.scalars(stmt) if c]


def years() -> list[int]:
    """Years from the first to the last activity, newest first, for the list's filter."""
    first, last = db.session.execute(
        sa.select(sa.func.min(Activity.start_on), sa.func.max(Activity.start_on)).where(
            Activity.deleted_at.is_(None)
        )
    ).one()
    if first is None:
        return []
    return list(range(last.year, first.year - 1, -1))


@dataclass(frozen=True)
class Day:
    on: date
    in_month: bool
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class Month:
    first: date
    weeks: tuple[tuple[Day, ...], ...]

    @property
    def previous(self) -> date:
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return (self.first + timedelta(days=32)).replace(day=1)

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"


def parse_month(text: str | None, *, today: date) -> date:
    """The first day of a month written 2026-03; this month for anything else."""
    try:
        year, month = (int(part) for part in (text or "").split("-", 1))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def build_month(first: date, activities: Iterable[Activity]) -> Month:
    """The month's grid, Monday to Sunday, each day with the activities under way then; an
    activity of several days appears on each of them. No database access."""
    grid = calendar_module.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    ordered = sorted(activities, key=lambda a: (a.start_on, a.title.lower(), a.id))
    weeks = tuple(
        tuple(
            Day(
                day,
                day.month == first.month,
                tuple(a for a in ordered if a.start_on <= day <= (a.end_on or a.start_on)),
            )
            for day in week
        )
        for week in grid
    )
    return Month(first, weeks)


def month(first: date) -> Month:
    """The calendar of one month (one query), days of the neighbouring months included."""
    grid = calendar_module.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start, end = grid[0][0], grid[-1][-1]
    stmt = sa.select(Activity).where(
        Activity.deleted_at.is_(None),
        Activity.start_on <= end,
        sa.func.coalesce(Activity.end_on, Activity.start_on) >= start,
    )
    return build_month(first, db.session.scalars(stmt.limit(2000)))


# ---------------------------------------------------------------------------------------------
# Search index
# ---------------------------------------------------------------------------------------------


def document(activity: Activity) -> search.Document:
    """Title in English and Chinese, pinyin of the Chinese title, city."""
    full, initials = pinyin(activity.title_zh)
    joined = full.replace(" ", "") if full else None
    parts = [
        *search.words(activity.title),
        *search.words(activity.title_zh),
        *search._pinyin_words(activity.title_zh),
        *search.words(activity.city),
    ]
    subtitle = [activity.start_on.isoformat(), activity.title_zh, activity.city]
    return search.Document(
        entity_type="activity",
        entity_id=activity.id,
        title=activity.title[:300],
        subtitle=" · ".join(s for s in subtitle if s)[:300],
        keys=search._keys(activity.title, activity.title_zh, joined, initials),
        # Not de-duplicated: a title repeats characters (行业, 职业), and phrases need them all.
        terms=" ".join(p for p in parts if p),
    )


def index(activity: Activity) -> None:
    """Bring the activity's search entry up to date (flushes); trashed ones have none."""
    db.session.flush()
    if activity.deleted_at is not None:
        search.remove("activity", activity.id)
    else:
        search.store(document(activity))


def _rebuild_index() -> int:
    count = 0
    stmt = sa.select(Activity).where(Activity.deleted_at.is_(None)).execution_options(yield_per=500)
    for activity in db.session.scalars(stmt):
        search.insert(document(activity))
        count += 1
    return count


def register_index() -> None:
    """Make search.rebuild() include activities (idempotent)."""
    search.register_indexer(_rebuild_index)


register_index()


# ---------------------------------------------------------------------------------------------
# Trash: restore and purge (administrators)
# ---------------------------------------------------------------------------------------------


def restore(activity: Activity, *, actor: User) -> None:
    """Take an activity out of the trash: it is back in lists, the calendar and search, with
    the parties and participants it had. Administrators; InvalidInput for a live activity."""
    _require(actor, Permission.MANAGE_TRASH)
    if activity.deleted_at is None:
        raise InvalidInput(_("This record is not in the trash."))
    activity.deleted_at = None
    audit.record(activity, actor=actor, action=AuditAction.restore, summary=activity.title)
    index(activity)
    db.session.commit()
    log.info("activity %s restored from the trash", activity.id)


def purge(activity: Activity, *, actor: User) -> None:
    """Delete a trashed activity for good (administrators); the audit trail keeps a purge event.

    The database deletes its parties, participants and topic links with it (ON DELETE
    CASCADE); interactions and follow-ups that mention it stay, unlinked (SET NULL). Raises
    InvalidInput for a live activity.
    """
    _require(actor, Permission.MANAGE_TRASH)
    if activity.deleted_at is None:
        raise InvalidInput(_("Only records in the trash can be purged."))
    activity_id = activity.id
    audit.record(activity, actor=actor, action=AuditAction.purge, summary=activity.title)
    search.remove("activity", activity_id)
    # A bulk DELETE leaves the cascades above to the database: an ORM delete would try to
    # load and unlink the participants and parties, which their mappings do not allow.
    db.session.execute(sa.delete(Activity).where(Activity.id == activity_id))
    db.session.commit()
    log.info("activity %s purged", activity_id)
