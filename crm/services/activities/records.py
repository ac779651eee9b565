"""The activity records themselves: their fields and rules, their lifecycle, lists and search.

Every public function that writes is one unit of work: it checks the actor's permission
(`EDIT_ACTIVITIES`, coordinators and up; `DELETE` to move to the trash; `MANAGE_TRASH` to
restore or purge), validates everything before writing, writes the record, its audit event
and its search document, and commits once. Invalid input raises InvalidInput with the form
field it belongs to and leaves nothing half-written.

The list page, its filters and the exports read activities through `filtered`/`listing`;
the search index learns about activities through `document` and `register_index`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    AgreementStatus,
    AuditAction,
    Sector,
    Topic,
    User,
    utcnow,
)
from crm.services import audit, lifecycle, search
from crm.services.activities._checks import choice, require, require_live
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


def _mou_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """An MoU's dates and the status of its agreement: it expires after the day it was
    signed, and one signed (or since expired or terminated) says when."""
    values: dict[str, Any] = {}
    values["signed_on"] = _date(data.get("signed_on"), "signed_on")
    values["expires_on"] = _date(data.get("expires_on"), "expires_on")
    values["agreement_status"] = (
        choice(
            AgreementStatus,
            data.get("agreement_status"),
            "agreement_status",
            _("Choose the status of the agreement."),
        )
        or AgreementStatus.draft
    )
    signed, expires = values["signed_on"], values["expires_on"]
    if signed is not None and expires is not None and expires <= signed:
        raise InvalidInput(_("An MoU must expire after the day it was signed."), field="expires_on")
    if signed is None and values["agreement_status"] in (
        AgreementStatus.signed,
        AgreementStatus.expired,
        AgreementStatus.terminated,
    ):
        raise InvalidInput(_("Give the date the MoU was signed."), field="signed_on")
    return values


def _validated(data: Mapping[str, Any], *, current: Activity | None) -> dict[str, Any]:
    """Clean values of every field (enums, stripped text, dates), or InvalidInput.

    Fields that belong to another type are cleared: MoU dates and status for anything but
    an MoU, the publication for anything but research.
    """
    values: dict[str, Any] = {}
    values["type"] = choice(ActivityType, data.get("type"), "type", _("Choose a type."))
    if values["type"] is None:
        raise InvalidInput(_("Choose a type."), field="type")
    values["title"] = _text(data.get("title"), "title", 200)
    if not values["title"]:
        raise InvalidInput(_("A title is required."), field="title")
    values["title_zh"] = _text(data.get("title_zh"), "title_zh", 200)
    values["status"] = (
        choice(ActivityStatus, data.get("status"), "status", _("Choose a status."))
        or ActivityStatus.planned
    )
    values["start_on"] = _date(data.get("start_on"), "start_on")
    if values["start_on"] is None:
        raise InvalidInput(_("Give the start date."), field="start_on")
    values["end_on"] = _date(data.get("end_on"), "end_on")
    if values["end_on"] is not None and values["end_on"] < values["start_on"]:
        raise InvalidInput(_("The end date must not be before the start date."), field="end_on")
    values["city"] = _text(data.get("city"), "city", 80)
    values["sector"] = choice(Sector, data.get("sector"), "sector", _("Choose a sector."))
    values["description"] = _text(data.get("description"), "description", MAX_DESCRIPTION)
    lead_id = data.get("lead_id")
    if lead_id not in (None, ""):
        lead = db.session.get(User, lead_id) if isinstance(lead_id, int) else None
        if lead is None or not lead.is_enabled:
            raise InvalidInput(_("Choose an active user."), field="lead_id")
    values["lead_id"] = lead_id or None

    if values["type"] == ActivityType.mou:
        values.update(_mou_values(data))
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
    require(actor, Permission.EDIT_ACTIVITIES)
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
    require(actor, Permission.EDIT_ACTIVITIES)
    require_live(activity)
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


LIFECYCLE = lifecycle.Lifecycle(
    summary=lambda activity: activity.title,
    search_kind=lambda _activity: "activity",
    reindex=lambda activity: index(activity),
    missing=lambda: _("No such activity."),
)


def delete(activity: Activity, *, actor: User) -> None:
    """Move an activity to the trash: it leaves lists, the calendar and search; its parties,
    participants and linked interactions are kept. NotFound when it is there already."""
    lifecycle.delete(activity, LIFECYCLE, actor=actor)


def restore(activity: Activity, *, actor: User) -> None:
    """Take an activity out of the trash: it is back in lists, the calendar and search, with
    the parties and participants it had. Administrators; InvalidInput for a live activity."""
    lifecycle.restore(activity, LIFECYCLE, actor=actor)


def purge(activity: Activity, *, actor: User) -> None:
    """Delete a trashed activity for good (administrators); the audit trail keeps a purge event.

    The database deletes its parties, participants and topic links with it (ON DELETE
    CASCADE); interactions and follow-ups that mention it stay, unlinked (SET NULL). Raises
    InvalidInput for a live activity.
    """
    lifecycle.purge(activity, LIFECYCLE, actor=actor)


# ---------------------------------------------------------------------------------------------
# Trash: restore and purge (administrators)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Lists and their filters
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
    through it, the exports (crm.services.reporting.exports) read all of it."""
    column = SORTS.get(criteria.sort, Activity.start_on)
    direction = column.desc() if criteria.descending else column.asc()
    return (
        filtered(criteria)
        .options(selectinload(Activity.topics), joinedload(Activity.lead))
        .order_by(direction.nulls_last(), Activity.id.desc())
    )


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
        *search.pinyin_words(activity.title_zh),
        *search.words(activity.city),
    ]
    subtitle = [activity.start_on.isoformat(), activity.title_zh, activity.city]
    return search.Document(
        entity_type="activity",
        entity_id=activity.id,
        title=activity.title[:300],
        subtitle=" · ".join(s for s in subtitle if s)[:300],
        keys=search.name_keys(activity.title, activity.title_zh, joined, initials),
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


def _rebuild_index(add: Callable[[search.Document], None]) -> None:
    stmt = sa.select(Activity).where(Activity.deleted_at.is_(None)).execution_options(yield_per=500)
    for activity in db.session.scalars(stmt):
        add(document(activity))


def register_index() -> None:
    """Make search.rebuild() include activities (idempotent)."""
    search.register_indexer(_rebuild_index)


register_index()
