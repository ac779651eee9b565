"""Retention: personal data kept no longer than needed.

A person is past retention when nothing has happened with them for `years` years
(configuration RETENTION_YEARS, default 3). Their last activity is the latest of:

* the last interaction with them (the stored `last_contacted_at`: live interactions only),
* an activity they are listed in (its end, else its start) or a change to that listing,
* a follow-up about them (its due date, or its last change),
* a change to their record itself (`updated_at`).

Erased people and people an administrator exempted (with a reason) are never due. A run
anonymises everyone due with the erasure of crm.services.personal_data.erasure; run again, it
finds no one (erased people are not due), so it is safe to run daily: the worker does
(crm.jobs), and `flask crm retention [--dry-run]` does it by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    AuditAction,
    AuditEvent,
    FollowUp,
    Participation,
    Person,
    User,
    utcnow,
)
from crm.services import audit, paging
from crm.services.errors import InvalidInput, PermissionDenied
from crm.services.personal_data import erasure

log = logging.getLogger(__name__)

MIN_YEARS = 1
MAX_YEARS = 50
MAX_REASON = 300

# What a person's last activity was (`Due.last_kind`).
RECORD, INTERACTION, ACTIVITY, FOLLOW_UP = "record", "interaction", "activity", "follow_up"


@dataclass(frozen=True)
class Due:
    """A person past retention, and why: their last activity and what it was."""

    person_id: int
    name: str
    last_activity_on: date
    last_kind: str


@dataclass(frozen=True)
class RunReport:
    years: int
    cutoff: datetime
    erased: tuple[int, ...]


def check_years(years: Any) -> int:
    """The retention period as a whole number of years; InvalidInput for anything else (a
    negative, zero or absurd period would erase people who are still needed)."""
    try:
        value = int(str(years).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not MIN_YEARS <= value <= MAX_YEARS:
        raise InvalidInput(
            _(
                "The retention period must be a whole number of years from %(low)d to %(high)d.",
                low=MIN_YEARS,
                high=MAX_YEARS,
            )
        )
    return value


def cutoff_of(years: int, *, now: datetime) -> datetime:
    """The moment before which nothing may have happened for a person to be due."""
    year = now.year - check_years(years)
    try:
        return now.replace(year=year)
    except ValueError:  # 29 February
        return now.replace(year=year, day=28)


def _last_participation() -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.max(sa.func.coalesce(Activity.end_on, Activity.start_on)))
        .join(Participation, Participation.activity_id == Activity.id)
        .where(Participation.person_id == Person.id)
        .scalar_subquery()
    )


def _due_conditions(cutoff: datetime) -> list[sa.ColumnElement[bool]]:
    day = cutoff.date()
    recent_participation = sa.exists().where(
        Participation.person_id == Person.id,
        Activity.id == Participation.activity_id,
        sa.or_(
            sa.func.coalesce(Activity.end_on, Activity.start_on) >= day,
            Participation.updated_at >= cutoff,
        ),
    )
    recent_follow_up = sa.exists().where(
        FollowUp.stakeholder_id == Person.id,
        sa.or_(FollowUp.due_on >= day, FollowUp.updated_at >= cutoff),
    )
    return [
        Person.erased_at.is_(None),
        Person.retention_exempt_at.is_(None),
        Person.updated_at < cutoff,
        sa.or_(Person.last_contacted_at.is_(None), Person.last_contacted_at < cutoff),
        ~recent_participation,
        ~recent_follow_up,
    ]


def _rows(cutoff: datetime) -> sa.Select[Any]:
    last_follow_up = (
        sa.select(sa.func.max(FollowUp.due_on))
        .where(FollowUp.stakeholder_id == Person.id)
        .scalar_subquery()
    )
    return (
        sa.select(
            Person.id,
            Person.display_name,
            Person.updated_at,
            Person.last_contacted_at,
            _last_participation(),
            last_follow_up,
        )
        .where(*_due_conditions(cutoff))
        # Oldest record first, off ix_stakeholders_kind_updated: only records unchanged since
        # the cutoff can be due, and walking them in that order reads no others.
        .order_by(Person.updated_at, Person.id)
    )


def _due(row: Any) -> Due:
    person_id, name, updated_at, contacted_at, attended_on, follow_up_on = row
    found = [(updated_at.date(), RECORD)]
    if contacted_at is not None:
        found.append((contacted_at.date(), INTERACTION))
    if attended_on is not None:
        found.append((attended_on, ACTIVITY))
    if follow_up_on is not None:
        found.append((follow_up_on, FOLLOW_UP))
    day, kind = max(found)
    return Due(person_id, name, day, kind)


def due(*, years: int, now: datetime) -> list[Due]:
    """Everyone past retention, by id; read-only. InvalidInput for a bad period."""
    return [_due(row) for row in db.session.execute(_rows(cutoff_of(years, now=now)))]


def due_page(*, years: int, now: datetime, page: int = 1, per_page: int = 50) -> Pagination:
    """One page of `due` (the administrators' page): a count and the page's rows."""
    cutoff = cutoff_of(years, now=now)
    total = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Person).where(*_due_conditions(cutoff))
        )
        or 0
    )
    page = paging.page_within(page, total=total, per_page=per_page)
    found: list[Due] = []
    if total:  # nobody due: no need to walk the index for a page of them
        rows = db.session.execute(_rows(cutoff).limit(per_page).offset((page - 1) * per_page))
        found = [_due(r) for r in rows]
    return paging.read_page(found, page=page, per_page=per_page, total=total)


def run(*, years: int, now: datetime, actor: User | None = None) -> RunReport:
    """Erase everyone past retention (see the module); commits once. Idempotent: a second
    run finds no one. Records one retention event when it erased anyone. InvalidInput for a
    bad period. `actor` is None when the worker runs it."""
    cutoff = cutoff_of(years, now=now)
    ids = list(db.session.scalars(sa.select(Person.id).where(*_due_conditions(cutoff))))
    summary = f"retention: no activity for {years} years"
    for person_id in ids:
        person = db.session.get(Person, person_id)
        assert person is not None
        erasure.anonymise(person, actor=actor, summary=summary)
    if ids:
        db.session.add(
            AuditEvent(
                actor_id=actor.id if actor is not None else None,
                action=AuditAction.retention,
                entity_type="retention",
                entity_id=0,
                summary=f"retention run: {len(ids)} people erased",
                changes={
                    "years": [None, years],
                    "cutoff": [None, audit.json_value(cutoff)],
                    "erased": [None, ids],
                },
            )
        )
    db.session.commit()
    log.info("retention (%d years): %d people erased", years, len(ids))
    return RunReport(years, cutoff, tuple(ids))


def exempt(person: Person, *, reason: str, actor: User) -> Person:
    """Keep a person out of retention, with the reason (recorded on the person and in the
    audit trail); commits once. Administrators (Permission.MANAGE_PERSONAL_DATA). Raises
    PermissionDenied, InvalidInput without a reason, or for an erased person."""
    if not can(actor, Permission.MANAGE_PERSONAL_DATA):
        raise PermissionDenied(_("You do not have permission to do that."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for keeping this person's data."), field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            _("Keep the reason under %(count)d characters.", count=MAX_REASON), field="reason"
        )
    if person.erased_at is not None:
        raise InvalidInput(_("This person's personal data have already been erased."))
    before = person.retention_exempt_reason
    person.retention_exempt_reason = reason
    person.retention_exempt_by_id = actor.id
    person.retention_exempt_at = utcnow()
    audit.record(
        person,
        actor=actor,
        action=AuditAction.retention,
        summary="exempted from retention",
        changes={"retention_exempt_reason": [before, reason]},
    )
    db.session.commit()
    return person
