"""Follow-ups: the team's to-do list, assigned to one another, linked to who and what.

Each public function that writes is one transaction with its audit event. Mail to a new
assignee goes out after the commit (a mail server that is down never undoes the work).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, Role, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    AuditAction,
    Editable,
    FollowUp,
    FollowUpStatus,
    Interaction,
    Priority,
    Stakeholder,
    User,
    interaction_stakeholders,
    utcnow,
)
from crm.services import audit, clock, contact_dates, lifecycle, mail, paging
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

FIELDS = (
    "title",
    "details",
    "due_on",
    "priority",
    "assignee_id",
    "stakeholder_id",
    "interaction_id",
    "activity_id",
)
AUDITED = (*FIELDS, "status", "completion_note")


def _require(actor: User | None, permission: Permission) -> None:
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def get(follow_up_id: int) -> FollowUp:
    found = db.session.get(FollowUp, follow_up_id)
    if found is None or found.deleted_at is not None:
        raise NotFound(_("No such follow-up."))
    return found


def about(stakeholder_id: int) -> sa.ColumnElement[bool]:
    """The follow-ups about a stakeholder: linked to it, or to an interaction with it and to no
    stakeholder in particular (logged for "all of them": crm.services.interactions)."""
    links = interaction_stakeholders
    # Ids from two indexed lookups (its follow-ups; those of its interactions): an OR of the
    # two led SQLite to read every live follow-up instead. "No stakeholder" is written so that
    # SQLite cannot answer it from the stakeholder index (every follow-up about nobody) but
    # follows the record's interaction links; PostgreSQL folds it back into the plain test.
    own = sa.select(FollowUp.id).where(FollowUp.stakeholder_id == stakeholder_id)
    shared = (
        sa.select(FollowUp.id)
        .join(links, links.c.interaction_id == FollowUp.interaction_id)
        .where(
            links.c.stakeholder_id == stakeholder_id,
            FollowUp.stakeholder_id.is_(None).self_group() == sa.true(),
        )
    )
    return FollowUp.id.in_(sa.union_all(own, shared))


def _contacts(follow_up: FollowUp) -> list[int | None]:
    """The stakeholders whose next follow-up date this one counts for: its own, or those of
    its interaction when it is about all of them."""
    if follow_up.stakeholder_id is not None or follow_up.interaction_id is None:
        return [follow_up.stakeholder_id]
    return list(contact_dates.of_interaction(follow_up.interaction_id))


# ---------------------------------------------------------------------------------------------
# Checks shared by create and update
# ---------------------------------------------------------------------------------------------


def _check_links(data: Mapping[str, Any]) -> None:
    """Every linked record must exist and be live; the assignee must be able to sign in."""
    title = (data.get("title") or "").strip()
    if not title:
        raise InvalidInput(_("A follow-up needs a title."), field="title")
    if not isinstance(data.get("due_on"), date):
        raise InvalidInput(_("A follow-up needs a due date."), field="due_on")
    assignee = db.session.get(User, data.get("assignee_id") or 0)
    if assignee is None or not assignee.is_enabled:
        raise InvalidInput(_("Assign it to an active user."), field="assignee_id")
    if assignee.role == Role.viewer:
        raise InvalidInput(_("Viewers cannot work on follow-ups."), field="assignee_id")
    linked_models: tuple[tuple[str, type[Editable]], ...] = (
        ("stakeholder_id", Stakeholder),
        ("interaction_id", Interaction),
        ("activity_id", Activity),
    )
    for name, model in linked_models:
        value = data.get(name)
        if value is None:
            continue
        linked = db.session.get(model, value)
        if linked is None or linked.deleted_at is not None:
            raise InvalidInput(_("This record no longer exists."), field=name)
    if data.get("priority") is not None and data["priority"] not in {p.value for p in Priority}:
        raise InvalidInput(_("Unknown priority."), field="priority")


def add(data: Mapping[str, Any], *, actor: User) -> FollowUp:
    """Create a follow-up in the current transaction (flush only; the caller commits)."""
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    _check_links(data)
    follow_up = FollowUp(
        title=data["title"].strip(),
        details=(data.get("details") or None),
        due_on=data["due_on"],
        priority=Priority(data.get("priority") or Priority.normal),
        status=FollowUpStatus.open,
        assignee_id=data["assignee_id"],
        stakeholder_id=data.get("stakeholder_id"),
        interaction_id=data.get("interaction_id"),
        activity_id=data.get("activity_id"),
        created_by_id=actor.id,
    )
    db.session.add(follow_up)
    db.session.flush()
    contact_dates.refresh(_contacts(follow_up))
    audit.record(
        follow_up,
        actor=actor,
        action=AuditAction.create,
        changes={
            k: [None, v]
            for k, v in audit.snapshot(follow_up, AUDITED).items()
            if v not in (None, "")
        },
        summary=follow_up.title,
    )
    return follow_up


def notify_assignee(follow_up: FollowUp, *, actor: User, settings: mail.Settings | None) -> None:
    """Email the assignee about a follow-up someone else gave them (after the commit)."""
    if settings is None or follow_up.assignee_id == actor.id:
        return
    assignee = follow_up.assignee
    subject = _("New follow-up for you: %(title)s", title=follow_up.title)
    body = _(
        "%(actor)s assigned you a follow-up.\n\n%(title)s\nDue: %(due)s\nPriority: %(priority)s"
        "\n\n%(details)s",
        actor=actor.name,
        title=follow_up.title,
        due=clock.display(follow_up.due_on),
        priority=follow_up.priority.value,
        details=follow_up.details or "",
    )
    try:
        mail.send(settings, to=[assignee.email], subject=subject, body=body)
    except mail.MailError:
        log.warning("could not email assignee of follow-up %s", follow_up.id)


def create(
    data: Mapping[str, Any], *, actor: User, mail_settings: mail.Settings | None = None
) -> FollowUp:
    """Create and assign a follow-up; the assignee is emailed when it is someone else."""
    follow_up = add(data, actor=actor)
    db.session.commit()
    notify_assignee(follow_up, actor=actor, settings=mail_settings)
    return follow_up


def check_may_change(follow_up: FollowUp, actor: User) -> None:
    """Raise PermissionDenied unless `actor` may change it: members their own follow-ups and
    those they created; coordinators and up, any."""
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if can(actor, Permission.EDIT_ACTIVITIES):
        return
    if actor.id not in (follow_up.assignee_id, follow_up.created_by_id):
        raise PermissionDenied(
            _("Only the assignee, the creator or a coordinator can change this follow-up.")
        )


def _save(
    follow_up: FollowUp, before: dict[str, Any], *, actor: User, contacts: Sequence[int | None]
) -> None:
    """Audit and commit a change; `contacts` are the stakeholders whose next follow-up date it
    may move (the follow-up's, before and after)."""
    changed = audit.diff(before, audit.snapshot(follow_up, AUDITED))
    if changed:
        audit.record(
            follow_up,
            actor=actor,
            action=AuditAction.update,
            changes=changed,
            summary=follow_up.title,
        )
    try:
        contact_dates.refresh([*contacts, *_contacts(follow_up)])
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_("Someone else changed this follow-up; reload and try again.")) from None


def update(
    follow_up: FollowUp,
    changes: Mapping[str, Any],
    *,
    version: int,
    actor: User,
    mail_settings: mail.Settings | None = None,
) -> FollowUp:
    """Edit a follow-up made on top of `version`; a new assignee is emailed."""
    check_may_change(follow_up, actor)
    if follow_up.version != version:
        raise Conflict(_("Someone else changed this follow-up; reload and try again."))
    merged = {**audit.snapshot(follow_up, FIELDS), **changes}
    merged["due_on"] = changes.get("due_on", follow_up.due_on)
    _check_links(merged)
    before = audit.snapshot(follow_up, AUDITED)
    old_assignee, old_contacts = follow_up.assignee_id, _contacts(follow_up)
    for name in FIELDS:
        if name in changes:
            setattr(follow_up, name, changes[name])
    _save(follow_up, before, actor=actor, contacts=old_contacts)
    if follow_up.assignee_id != old_assignee:
        notify_assignee(follow_up, actor=actor, settings=mail_settings)
    return follow_up


def complete(follow_up: FollowUp, *, note: str | None, actor: User) -> FollowUp:
    """Mark done with an optional note; records who and when."""
    check_may_change(follow_up, actor)
    if follow_up.status != FollowUpStatus.open:
        raise InvalidInput(_("Only an open follow-up can be completed."))
    before = audit.snapshot(follow_up, AUDITED)
    follow_up.status = FollowUpStatus.done
    follow_up.completed_at = utcnow()
    follow_up.completed_by_id = actor.id
    follow_up.completion_note = (note or "").strip() or None
    _save(follow_up, before, actor=actor, contacts=())
    return follow_up


def reopen(follow_up: FollowUp, *, actor: User) -> FollowUp:
    check_may_change(follow_up, actor)
    if follow_up.status == FollowUpStatus.open:
        raise InvalidInput(_("This follow-up is already open."))
    before = audit.snapshot(follow_up, AUDITED)
    follow_up.status = FollowUpStatus.open
    follow_up.completed_at = None
    follow_up.completed_by_id = None
    _save(follow_up, before, actor=actor, contacts=())
    return follow_up


def cancel(follow_up: FollowUp, *, actor: User) -> FollowUp:
    check_may_change(follow_up, actor)
    if follow_up.status != FollowUpStatus.open:
        raise InvalidInput(_("Only an open follow-up can be cancelled."))
    before = audit.snapshot(follow_up, AUDITED)
    follow_up.status = FollowUpStatus.cancelled
    _save(follow_up, before, actor=actor, contacts=())
    return follow_up


def reassign(
    follow_up: FollowUp,
    *,
    assignee_id: int,
    actor: User,
    mail_settings: mail.Settings | None = None,
) -> FollowUp:
    """Give a follow-up to someone else; they are emailed."""
    return update(
        follow_up,
        {"assignee_id": assignee_id},
        version=follow_up.version,
        actor=actor,
        mail_settings=mail_settings,
    )


LIFECYCLE = lifecycle.Lifecycle(
    summary=lambda follow_up: follow_up.title,
    contacts_of=lambda follow_up: _contacts(follow_up),
)


def delete(follow_up: FollowUp, *, actor: User) -> None:
    """Move a follow-up to the trash (coordinators and up; the interface cancels instead).
    NotFound when it is there already."""
    lifecycle.delete(follow_up, LIFECYCLE, actor=actor)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


PRIORITY_RANK = sa.case(
    (FollowUp.priority == Priority.high, 0), (FollowUp.priority == Priority.normal, 1), else_=2
)


def _loaded() -> sa.Select[Any]:
    return (
        sa.select(FollowUp)
        .where(FollowUp.deleted_at.is_(None))
        .options(
            joinedload(FollowUp.assignee),
            joinedload(FollowUp.stakeholder),
            joinedload(FollowUp.activity),
            joinedload(FollowUp.creator),
        )
    )


class Due(StrEnum):
    """The groups of someone's open follow-ups, by due date."""

    overdue = "overdue"
    today = "today"
    this_week = "this_week"  # tomorrow to seven days ahead
    later = "later"


def _due_in(group: Due, today: date) -> sa.ColumnElement[bool]:
    week_end = today + timedelta(days=7)
    return {
        Due.overdue: FollowUp.due_on < today,
        Due.today: FollowUp.due_on == today,
        Due.this_week: sa.and_(FollowUp.due_on > today, FollowUp.due_on <= week_end),
        Due.later: FollowUp.due_on > week_end,
    }[group]


def _open_of(assignee_id: Any) -> tuple[sa.ColumnElement[bool], ...]:
    """The live open follow-ups of an assignee (an id, or a column to correlate with).

    `completed_at IS NULL` holds for every open follow-up (CHECK completed_only_when_done);
    saying it lets the counts and groups read ranges of ix_follow_ups_live_assignee_status
    (assignee, status, completed_at, due date) and no row.
    """
    return (
        FollowUp.assignee_id == assignee_id,
        FollowUp.status == FollowUpStatus.open,
        FollowUp.completed_at.is_(None),
        FollowUp.deleted_at.is_(None),
    )


# Within a group: soonest first, then the most pressing.
AGENDA_ORDER = (FollowUp.due_on, PRIORITY_RANK, FollowUp.id)


@dataclass(frozen=True)
class Agenda:
    """Open follow-ups of one person by when they are due: the first few of each group and
    how many each group holds (`counts`, keyed by Due)."""

    overdue: list[FollowUp] = field(default_factory=list)
    today: list[FollowUp] = field(default_factory=list)
    this_week: list[FollowUp] = field(default_factory=list)
    later: list[FollowUp] = field(default_factory=list)
    counts: dict[Due, int] = field(default_factory=dict)

    def items(self, group: Due) -> list[FollowUp]:
        return {
            Due.overdue: self.overdue,
            Due.today: self.today,
            Due.this_week: self.this_week,
            Due.later: self.later,
        }[group]

    def count(self, group: Due) -> int:
        return self.counts.get(group, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def due_counts(user: User, *, today: date) -> dict[Due, int]:
    """How many open follow-ups `user` has in each group: one aggregate query over the
    (assignee, status, due date) index."""
    row = db.session.execute(
        sa.select(*(sa.func.count().filter(_due_in(group, today)) for group in Due)).where(
            *_open_of(user.id)
        )
    ).one()
    return {group: int(n or 0) for group, n in zip(Due, row, strict=True)}


def agenda(user: User, *, today: date, per_group: int = 25) -> Agenda:
    """A user's open follow-ups: overdue, due today, within seven days, later; at most
    `per_group` of each (the page offers the rest of a group through `due_page`), with every
    group's count. Two queries, however many follow-ups there are."""
    firsts = [
        sa.select(FollowUp.id)
        .where(*_open_of(user.id), _due_in(group, today))
        .order_by(*AGENDA_ORDER)
        .limit(per_group)
        .subquery()
        .select()
        for group in Due
    ]
    found = db.session.scalars(
        _loaded().where(FollowUp.id.in_(sa.union_all(*firsts))).order_by(*AGENDA_ORDER)
    ).all()
    groups = Agenda(counts=due_counts(user, today=today))
    week_end = today + timedelta(days=7)
    for follow_up in found:
        if follow_up.due_on < today:
            groups.overdue.append(follow_up)
        elif follow_up.due_on == today:
            groups.today.append(follow_up)
        elif follow_up.due_on <= week_end:
            groups.this_week.append(follow_up)
        else:
            groups.later.append(follow_up)
    return groups


def due_soon(user: User, *, today: date, limit: int) -> list[FollowUp]:
    """The first `limit` of a user's open follow-ups due by the end of the week (overdue,
    today, the next seven days), in agenda order: one range of the (assignee, status, due
    date) index, and only the follow-ups shown are loaded (the dashboard's panel)."""
    ids = (
        sa.select(FollowUp.id)
        .where(*_open_of(user.id), FollowUp.due_on <= today + timedelta(days=7))
        .order_by(*AGENDA_ORDER)
        .limit(limit)
    )
    return list(
        db.session.scalars(_loaded().where(FollowUp.id.in_(ids)).order_by(*AGENDA_ORDER)).all()
    )


def due_page(
    user: User, group: Due, *, today: date, page: int = 1, per_page: int = 50
) -> Pagination:
    """One group of a user's open follow-ups, a page at a time ("show all" on My
    follow-ups), read as crm.services.paging reads a page. A page past the end gives the
    last page."""
    total = due_counts(user, today=today)[group]
    page = paging.page_within(page, total=total, per_page=per_page)
    ids = (
        sa.select(FollowUp.id)
        .where(*_open_of(user.id), _due_in(group, today))
        .order_by(*AGENDA_ORDER)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = db.session.scalars(_loaded().where(FollowUp.id.in_(ids)).order_by(*AGENDA_ORDER)).all()
    return paging.read_page(items, page=page, per_page=per_page, total=total)


@dataclass(frozen=True)
class Criteria:
    status: str = "open"
    assignee_id: int | None = None
    stakeholder_id: int | None = None
    activity_id: int | None = None
    overdue_only: bool = False
    sort: str = "due"
    descending: bool = False


SORTS: dict[str, Any] = {
    "due": FollowUp.due_on,
    "title": FollowUp.title,
    "priority": PRIORITY_RANK,
    "created": FollowUp.created_at,
}


def search(criteria: Criteria, *, today: date, page: int = 1, per_page: int = 50) -> Pagination:
    """Follow-ups matching the criteria, for the list and the team view."""
    stmt = listing(criteria, today=today)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=True)


def listing(criteria: Criteria, *, today: date) -> sa.Select[Any]:
    """The follow-ups of the list page in its order, people and records around them loaded:
    the list pages through it, the exports read all of it."""
    stmt = _loaded()
    if criteria.status in {s.value for s in FollowUpStatus}:
        stmt = stmt.where(FollowUp.status == criteria.status)
    if criteria.assignee_id:
        stmt = stmt.where(FollowUp.assignee_id == criteria.assignee_id)
    if criteria.stakeholder_id:
        stmt = stmt.where(about(criteria.stakeholder_id))
    if criteria.activity_id:
        stmt = stmt.where(FollowUp.activity_id == criteria.activity_id)
    if criteria.overdue_only:
        stmt = stmt.where(FollowUp.status == FollowUpStatus.open, FollowUp.due_on < today)
    column = SORTS.get(criteria.sort, FollowUp.due_on)
    return stmt.order_by(column.desc() if criteria.descending else column.asc(), FollowUp.id)


@dataclass(frozen=True)
class TeamRow:
    user: User
    open: int
    overdue: int
    due_this_week: int
    done_last_30_days: int


def team(*, today: date) -> list[TeamRow]:
    """Per active user: open, overdue, due within a week, done in the last 30 days.

    Each figure is a count over a range of ix_follow_ups_live_assignee_status for that user
    (open ones by due date, done ones by completion): no follow-up row is read.
    """

    def counted(*conditions: sa.ColumnElement[bool]) -> Any:
        return sa.func.coalesce(
            sa.select(sa.func.count())
            .select_from(FollowUp)
            .where(*conditions)
            .correlate(User)
            .scalar_subquery(),
            0,
        )

    stmt = (
        sa.select(
            User,
            counted(*_open_of(User.id)),
            counted(*_open_of(User.id), _due_in(Due.overdue, today)),
            counted(
                *_open_of(User.id),
                FollowUp.due_on >= today,
                FollowUp.due_on <= today + timedelta(days=7),
            ),
            counted(
                FollowUp.assignee_id == User.id,
                FollowUp.status == FollowUpStatus.done,
                FollowUp.completed_at >= utcnow() - timedelta(days=30),
                FollowUp.deleted_at.is_(None),
            ),
        )
        .where(User.is_enabled, User.role != Role.viewer)
        .order_by(User.name)
    )
    return [TeamRow(*row) for row in db.session.execute(stmt)]


def assignee_choices() -> list[tuple[int, str]]:
    """Active users who can work on follow-ups."""
    stmt = (
        sa.select(User.id, User.name)
        .where(User.is_enabled, User.role != Role.viewer)
        .order_by(User.name)
    )
    return [(row.id, row.name) for row in db.session.execute(stmt)]


def for_stakeholder(stakeholder_id: int, *, limit: int = 200) -> Sequence[FollowUp]:
    stmt = (
        _loaded()
        .where(about(stakeholder_id))
        .order_by(FollowUp.status != FollowUpStatus.open, FollowUp.due_on)
        .limit(limit)
    )
    return db.session.scalars(stmt).all()


def for_interaction(interaction_id: int) -> Sequence[FollowUp]:
    stmt = _loaded().where(FollowUp.interaction_id == interaction_id).order_by(FollowUp.due_on)
    return db.session.scalars(stmt).all()
