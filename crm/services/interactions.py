"""The outreach log: meetings, calls, WeChat exchanges, visits, with the follow-ups they lead to.

Logging an interaction and its follow-ups is one transaction: if a follow-up is rejected,
the interaction is not saved either. A confidential interaction shows its summary and outcome
only to its author, the staff present, managers and administrators; everyone else sees that
it took place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, Role, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    AuditAction,
    Channel,
    Direction,
    FollowUp,
    Interaction,
    Organisation,
    Stakeholder,
    User,
    interaction_stakeholders,
    label,
    utcnow,
)
from crm.services import audit, contact_dates, follow_ups, lifecycle, mail, search
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

MAX_SUMMARY = 20_000
FIELDS = (
    "occurred_at",
    "channel",
    "direction",
    "subject",
    "summary",
    "outcome",
    "activity_id",
    "is_confidential",
)


def get(interaction_id: int) -> Interaction:
    found = db.session.get(Interaction, interaction_id)
    if found is None or found.deleted_at is not None:
        raise NotFound(_("No such interaction."))
    return found


def can_see_details(interaction: Interaction, user: User | None) -> bool:
    """Whether `user` may read the summary and outcome (always, unless confidential)."""
    if not interaction.is_confidential:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.manager, Role.admin) or user.id == interaction.logged_by_id:
        return True
    return any(member.id == user.id for member in interaction.staff)


def can_edit(interaction: Interaction, user: User | None) -> bool:
    """The author may edit their log; coordinators and up may edit any."""
    if not can(user, Permission.EDIT_STAKEHOLDERS):
        return False
    assert user is not None
    return can(user, Permission.EDIT_ACTIVITIES) or user.id == interaction.logged_by_id


def _stakeholders(ids: Iterable[int]) -> list[Stakeholder]:
    wanted = list(dict.fromkeys(i for i in ids if i))
    if not wanted:
        raise InvalidInput(_("Choose at least one stakeholder."), field="stakeholder_ids")
    found = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Stakeholder).where(
                Stakeholder.id.in_(wanted), Stakeholder.deleted_at.is_(None)
            )
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InvalidInput(
            _("A chosen stakeholder no longer exists; remove it and try again."),
            field="stakeholder_ids",
        )
    return [found[i] for i in wanted]


def _staff(ids: Iterable[int]) -> list[User]:
    wanted = list(dict.fromkeys(i for i in ids if i))
    if not wanted:
        return []
    found = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))}
    if any(i not in found or not found[i].is_enabled for i in wanted):
        raise InvalidInput(_("Choose active colleagues only."), field="staff_ids")
    return [found[i] for i in wanted]


def _about(interaction: Interaction, stakeholder_id: int | None, n: int) -> int | None:
    """The stakeholder the n-th follow-up of a new interaction is about.

    One of the interaction's stakeholders, or None for all of them: the follow-up is then
    linked to the interaction alone, and every one of its stakeholders shows it (on the
    timeline, in its follow-ups, in its next follow-up date: crm.services.follow_ups.about).
    With a single stakeholder, "all of them" is that one. Never a silent choice among several.
    """
    ids = [s.id for s in interaction.stakeholders]
    if stakeholder_id is None:
        return ids[0] if len(ids) == 1 else None
    if stakeholder_id not in ids:
        raise InvalidInput(
            _("Choose one of the interaction's stakeholders, or all of them."),
            field=f"follow_ups-{n}-stakeholder_id",
        )
    return stakeholder_id


def _check(data: Mapping[str, Any]) -> None:
    if not isinstance(data.get("occurred_at"), datetime) or data["occurred_at"].tzinfo is None:
        raise InvalidInput(_("Give the date and time."), field="occurred_at")
    if not (data.get("subject") or "").strip():
        raise InvalidInput(_("A subject is required."), field="subject")
    if data.get("channel") not in {c.value for c in Channel}:
        raise InvalidInput(_("Choose a channel."), field="channel")
    for name in ("summary", "outcome"):
        if len(data.get(name) or "") > MAX_SUMMARY:
            raise InvalidInput(_("At most %(n)d characters.", n=MAX_SUMMARY), field=name)
    activity_id = data.get("activity_id")
    if activity_id is not None:
        activity = db.session.get(Activity, activity_id)
        if activity is None or activity.deleted_at is not None:
            raise InvalidInput(_("This activity no longer exists."), field="activity_id")


def _snapshot(interaction: Interaction) -> dict[str, Any]:
    values = audit.snapshot(interaction, FIELDS)
    values["stakeholders"] = sorted(s.display_name for s in interaction.stakeholders)
    values["staff"] = sorted(u.name for u in interaction.staff)
    if interaction.is_confidential:
        # The audit trail is readable by everyone who can read the record: no secret text.
        values["summary"] = values["outcome"] = "***" if interaction.summary else None
    return values


def log_interaction(
    data: Mapping[str, Any],
    *,
    follow_ups_data: Sequence[Mapping[str, Any]] = (),
    actor: User,
    mail_settings: mail.Settings | None = None,
) -> Interaction:
    """Record an interaction and its follow-ups in one transaction; assignees are emailed.

    Raises InvalidInput (field names: the interaction's, or `follow_ups-<n>-<field>` for the
    n-th follow-up) and writes nothing when any part is invalid.
    """
    if not can(actor, Permission.EDIT_STAKEHOLDERS):
        raise PermissionDenied(_("You do not have permission to do that."))
    _check(data)
    try:
        interaction = Interaction(
            occurred_at=data["occurred_at"],
            channel=Channel(data["channel"]),
            direction=Direction(data.get("direction") or Direction.outbound),
            subject=data["subject"].strip(),
            summary=data.get("summary") or None,
            outcome=data.get("outcome") or None,
            activity_id=data.get("activity_id"),
            is_confidential=bool(data.get("is_confidential")),
            logged_by_id=actor.id,
            created_by_id=actor.id,
        )
        interaction.stakeholders = _stakeholders(data.get("stakeholder_ids") or [])
        interaction.staff = _staff(data.get("staff_ids") or [])
        db.session.add(interaction)
        db.session.flush()
        audit.record(
            interaction,
            actor=actor,
            action=AuditAction.create,
            changes={
                k: [None, v]
                for k, v in _snapshot(interaction).items()
                if v not in (None, "", [], False)
            },
            summary=interaction.subject,
        )
        created: list[FollowUp] = []
        for n, item in enumerate(follow_ups_data):
            linked = {
                **item,
                "interaction_id": interaction.id,
                "activity_id": item.get("activity_id") or interaction.activity_id,
                "stakeholder_id": _about(interaction, item.get("stakeholder_id"), n),
            }
            try:
                created.append(follow_ups.add(linked, actor=actor))
            except InvalidInput as err:
                err.field = f"follow_ups-{n}-{err.field}" if err.field else None
                raise
        index(interaction)
        contact_dates.refresh(s.id for s in interaction.stakeholders)
        db.session.commit()
    except (InvalidInput, PermissionDenied):
        db.session.rollback()
        raise
    for follow_up in created:
        follow_ups.notify_assignee(follow_up, actor=actor, settings=mail_settings)
    log.info("logged interaction %s with %d follow-ups", interaction.id, len(created))
    return interaction


def update(
    interaction: Interaction, changes: Mapping[str, Any], *, version: int, actor: User
) -> Interaction:
    """Edit an interaction saved at `version` (author, or coordinator and up)."""
    if not can_edit(interaction, actor):
        raise PermissionDenied(_("Only the author or a coordinator can edit this interaction."))
    if interaction.version != version:
        raise Conflict(
            _("Someone else saved this interaction while you were editing it."),
            current=_snapshot(interaction),
        )
    merged = {**audit.snapshot(interaction, FIELDS), **changes}
    merged["occurred_at"] = changes.get("occurred_at", interaction.occurred_at)
    merged["channel"] = str(merged["channel"])
    _check(merged)
    before = _snapshot(interaction)
    # Moving the date or the people touches the contact dates of those before and after.
    contacts = {s.id for s in interaction.stakeholders}
    try:
        for name in FIELDS:
            if name in changes:
                setattr(interaction, name, changes[name])
        if "stakeholder_ids" in changes:
            interaction.stakeholders = _stakeholders(changes["stakeholder_ids"] or [])
        if "staff_ids" in changes:
            interaction.staff = _staff(changes["staff_ids"] or [])
        changed = audit.diff(before, _snapshot(interaction))
        if changed:
            interaction.updated_at = utcnow()
            audit.record(
                interaction,
                actor=actor,
                action=AuditAction.update,
                changes=changed,
                summary=interaction.subject,
            )
        index(interaction)
        linked = {s.id for s in interaction.stakeholders}
        if "occurred_at" in changed or linked != contacts:
            contact_dates.refresh(contacts | linked)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(
            _("Someone else saved this interaction while you were editing it."),
            current=_snapshot(interaction),
        ) from None
    except InvalidInput:
        db.session.rollback()
        raise
    return interaction


LIFECYCLE = lifecycle.Lifecycle(
    summary=lambda interaction: interaction.subject,
    search_kind=lambda _interaction: "interaction",
    reindex=lambda interaction: index(interaction),
    may_delete=lambda interaction, actor: can_edit(interaction, actor),
    refused=lambda: _("Only the author or a coordinator can delete this interaction."),
    contacts_of=lambda interaction: contact_dates.of_interaction(interaction.id),
)


def delete(interaction: Interaction, *, actor: User) -> None:
    """Move to the trash (author, or coordinator and up); its follow-ups stay. NotFound when
    it is in the trash already."""
    lifecycle.delete(interaction, LIFECYCLE, actor=actor)


def restore(interaction: Interaction, *, actor: User) -> None:
    """Take an interaction out of the trash: back in the log, timelines, last-contact dates
    and search. Administrators; InvalidInput for a live interaction."""
    lifecycle.restore(interaction, LIFECYCLE, actor=actor)


def purge(interaction: Interaction, *, actor: User) -> None:
    """Delete a trashed interaction for good (administrators); the audit trail keeps a purge
    event. Its links to stakeholders and staff go with it; follow-ups it led to stay, unlinked
    (ON DELETE SET NULL). Raises InvalidInput for a live interaction."""
    lifecycle.purge(interaction, LIFECYCLE, actor=actor)


# ---------------------------------------------------------------------------------------------
# Search index
# ---------------------------------------------------------------------------------------------


def document(interaction: Interaction) -> search.Document:
    """Subject and summary are searchable unless confidential: then only the names around it."""
    names = [(s.display_name, s.chinese_name) for s in interaction.stakeholders]
    return _document(
        interaction.id,
        interaction.occurred_at,
        interaction.is_confidential,
        interaction.channel,
        interaction.subject,
        interaction.summary,
        interaction.outcome,
        names,
    )


def _document(
    interaction_id: int,
    occurred_at: datetime,
    is_confidential: bool,
    channel: Channel,
    subject: str,
    summary: str | None,
    outcome: str | None,
    stakeholder_names: Sequence[tuple[str, str | None]],
) -> search.Document:
    names = [display for display, _chinese in stakeholder_names] + [
        chinese for _display, chinese in stakeholder_names if chinese
    ]
    when = occurred_at.date().isoformat()
    if is_confidential:
        title = _("Confidential %(channel)s", channel=label(channel))
        parts = [*search.words(" ".join(names))]
    else:
        title = subject
        parts = [
            *search.words(subject),
            *search.words(summary),
            *search.words(outcome),
            *search.words(" ".join(names)),
        ]
    return search.Document(
        entity_type="interaction",
        entity_id=interaction_id,
        title=title[:300],
        subtitle=f"{when} · {', '.join(names)}"[:300],
        keys="",
        terms=" ".join(dict.fromkeys(parts)),
    )


def index(interaction: Interaction) -> None:
    db.session.flush()
    if interaction.deleted_at is not None:
        search.remove("interaction", interaction.id)
    else:
        search.store(document(interaction))


def _rebuild_index(add: Callable[[search.Document], None], *, batch: int = 2000) -> None:
    """Every live interaction's entry, read as plain rows in batches by id: loading 300,000
    interactions as objects with their stakeholders took most of a rebuild's time."""
    link = interaction_stakeholders.c
    last = 0
    while True:
        rows = db.session.execute(
            sa.select(
                Interaction.id,
                Interaction.occurred_at,
                Interaction.is_confidential,
                Interaction.channel,
                Interaction.subject,
                Interaction.summary,
                Interaction.outcome,
            )
            .where(Interaction.deleted_at.is_(None), Interaction.id > last)
            .order_by(Interaction.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        names: dict[int, list[tuple[str, str | None]]] = {}
        for interaction_id, display, chinese in db.session.execute(
            sa.select(link.interaction_id, Stakeholder.display_name, Stakeholder.chinese_name)
            .join(Stakeholder, Stakeholder.id == link.stakeholder_id)
            .where(link.interaction_id.between(rows[0].id, rows[-1].id))
            .order_by(link.interaction_id, link.stakeholder_id)
        ):
            names.setdefault(interaction_id, []).append((display, chinese))
        for row in rows:
            add(_document(*row, names.get(row.id, [])))
        last = rows[-1].id


def register_index() -> None:
    """Make search.rebuild() include interactions (idempotent)."""
    search.register_indexer(_rebuild_index)


register_index()


# ---------------------------------------------------------------------------------------------
# Lists and timeline
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criteria:
    start: date | None = None
    end: date | None = None
    channel: str = ""
    stakeholder_id: int | None = None
    stakeholder_kind: str = ""  # organisation or person
    org_type: str = ""
    sector: str = ""
    logged_by_id: int | None = None
    activity_id: int | None = None
    sort: str = "when"
    descending: bool = True


SORTS: dict[str, Any] = {
    "when": Interaction.occurred_at,
    "subject": Interaction.subject,
    "channel": Interaction.channel,
}


def _involving(condition: Any) -> Any:
    """Interactions with at least one live stakeholder matching `condition`."""
    return Interaction.id.in_(
        sa.select(interaction_stakeholders.c.interaction_id)
        .join(Stakeholder, Stakeholder.id == interaction_stakeholders.c.stakeholder_id)
        .where(Stakeholder.deleted_at.is_(None), condition)
    )


def filtered(criteria: Criteria) -> sa.Select[Any]:
    stmt = sa.select(Interaction).where(Interaction.deleted_at.is_(None))
    if criteria.start:
        stmt = stmt.where(Interaction.occurred_at >= _day_start(criteria.start))
    if criteria.end:
        stmt = stmt.where(Interaction.occurred_at < _day_start(criteria.end, plus_days=1))
    if criteria.channel:
        stmt = stmt.where(Interaction.channel == criteria.channel)
    if criteria.logged_by_id:
        stmt = stmt.where(Interaction.logged_by_id == criteria.logged_by_id)
    if criteria.activity_id:
        stmt = stmt.where(Interaction.activity_id == criteria.activity_id)
    if criteria.stakeholder_id:
        stmt = stmt.where(_involving(Stakeholder.id == criteria.stakeholder_id))
    if criteria.stakeholder_kind:
        stmt = stmt.where(_involving(Stakeholder.kind == criteria.stakeholder_kind))
    if criteria.org_type or criteria.sector:
        conditions = []
        if criteria.org_type:
            conditions.append(Organisation.org_type == criteria.org_type)
        if criteria.sector:
            conditions.append(Organisation.sector == criteria.sector)
        stmt = stmt.where(
            Interaction.id.in_(
                sa.select(interaction_stakeholders.c.interaction_id)
                .join(Organisation, Organisation.id == interaction_stakeholders.c.stakeholder_id)
                .where(Organisation.deleted_at.is_(None), *conditions)
            )
        )
    return stmt


def _day_start(day: date, *, plus_days: int = 0) -> datetime:
    """Midnight in the programme's time zone, as UTC: date filters follow the local calendar."""
    from datetime import timedelta

    from crm.services import clock

    local = datetime.combine(
        day + timedelta(days=plus_days), datetime.min.time(), tzinfo=clock.zone()
    )
    return local


def list_interactions(criteria: Criteria, *, page: int = 1, per_page: int = 50) -> Pagination:
    return db.paginate(listing(criteria), page=page, per_page=per_page, error_out=False, count=True)


def listing(criteria: Criteria) -> sa.Select[Any]:
    """The interactions of the list page in its order, with the people around them loaded:
    the list pages through it, the exports read all of it."""
    column = SORTS.get(criteria.sort, Interaction.occurred_at)
    return (
        filtered(criteria)
        .options(
            selectinload(Interaction.stakeholders),
            selectinload(Interaction.staff),
            joinedload(Interaction.logged_by),
            joinedload(Interaction.activity),
        )
        .order_by(column.desc() if criteria.descending else column.asc(), Interaction.id.desc())
    )


def for_stakeholder(stakeholder_id: int, *, limit: int) -> list[Interaction]:
    stmt = (
        filtered(Criteria(stakeholder_id=stakeholder_id))
        .options(
            selectinload(Interaction.stakeholders),
            selectinload(Interaction.staff),
            joinedload(Interaction.logged_by),
        )
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def recent(*, logged_by_id: int | None = None, limit: int = 10) -> list[Interaction]:
    return list_interactions(Criteria(logged_by_id=logged_by_id), per_page=limit).items
