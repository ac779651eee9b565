"""iCalendar files: a user's personal feed of follow-ups and upcoming activities.

Calendar apps poll a secret URL without signing in, so the feed is found by an unguessable
token that the user can replace or revoke from their profile. Follow-ups become all-day
events on their due date (VTODO is ignored by most calendar apps).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, timedelta

import icalendar
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import Activity, ActivityStatus, FollowUp, FollowUpStatus, User, label, utcnow
from crm.services import clock
from crm.services.errors import PermissionDenied
from crm.services.text import clean_text

PRODID = "-//RBC Stakeholder Tracker//crm//EN"
_NAMESPACE = uuid.UUID("6f1c2f0e-8a51-4f7e-9d43-0c9a3b2f6c11")


def uid(kind: str, record_id: int) -> str:
    """A stable UID, so calendar apps update an event instead of duplicating it."""
    return f"{uuid.uuid5(_NAMESPACE, f'{kind}:{record_id}')}@crm"


def rotate_token(user: User, *, actor: User) -> str:
    """Give `user` a new secret feed URL; the old one stops working at once."""
    if actor.id != user.id:
        raise PermissionDenied(_("You can only change your own calendar link."))
    user.calendar_token = secrets.token_urlsafe(32)
    db.session.commit()
    return user.calendar_token


def revoke_token(user: User, *, actor: User) -> None:
    if actor.id != user.id:
        raise PermissionDenied(_("You can only change your own calendar link."))
    user.calendar_token = None
    db.session.commit()


def user_for_token(token: str) -> User | None:
    """The enabled user whose feed this token opens, else None."""
    # Tokens are URL-safe base64; anything else (a NUL byte, say) is refused before the
    # database sees it, since PostgreSQL rejects such strings with an error.
    if not token or len(token) > 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        return None
    user = db.session.scalar(sa.select(User).where(User.calendar_token == token))
    if (
        user is None
        or not user.is_enabled
        or not secrets.compare_digest(user.calendar_token or "", token)
    ):
        return None
    return user


def _calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", clean_text(name))
    cal.add("x-wr-timezone", clock.PROGRAMME_TIMEZONE)
    return cal


def activity_event(activity: Activity) -> icalendar.Event:
    """An all-day event spanning the activity's dates."""
    event = icalendar.Event()
    event.add("uid", uid("activity", activity.id))
    event.add("dtstamp", utcnow())
    title = activity.title if not activity.title_zh else f"{activity.title} / {activity.title_zh}"
    event.add("summary", clean_text(f"{label(activity.type)}: {title}"))
    event.add("dtstart", activity.start_on)
    event.add("dtend", (activity.end_on or activity.start_on) + timedelta(days=1))
    if activity.city:
        event.add("location", clean_text(activity.city))
    if activity.description:
        event.add("description", clean_text(activity.description, multiline=True))
    event.add("status", "CANCELLED" if activity.status == ActivityStatus.cancelled else "CONFIRMED")
    event.add("categories", [label(activity.type)])
    return event


def follow_up_event(follow_up: FollowUp) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid("follow-up", follow_up.id))
    event.add("dtstamp", utcnow())
    event.add("summary", clean_text(_("Follow-up: %(title)s", title=follow_up.title)))
    event.add("dtstart", follow_up.due_on)
    event.add("dtend", follow_up.due_on + timedelta(days=1))
    about = follow_up.stakeholder.display_name if follow_up.stakeholder else ""
    details = "\n".join(p for p in (about, follow_up.details or "") if p)
    event.add("description", clean_text(details, multiline=True))
    event.add("priority", {"high": 1, "normal": 5, "low": 9}[follow_up.priority.value])
    event.add("transp", "TRANSPARENT")
    return event


def personal_feed(user: User, *, today: date, horizon_days: int = 365) -> bytes:
    """The user's open follow-ups and the programme's activities from a month ago on."""
    cal = _calendar(_("RBC programme: %(name)s", name=user.name))
    follow_ups = db.session.scalars(
        sa.select(FollowUp)
        .where(
            FollowUp.assignee_id == user.id,
            FollowUp.status == FollowUpStatus.open,
            FollowUp.deleted_at.is_(None),
        )
        .options(joinedload(FollowUp.stakeholder))
        .order_by(FollowUp.due_on)
        .limit(1000)
    )
    for follow_up in follow_ups:
        cal.add_component(follow_up_event(follow_up))
    activities = db.session.scalars(
        sa.select(Activity)
        .where(
            Activity.deleted_at.is_(None),
            Activity.start_on >= today - timedelta(days=30),
            Activity.start_on <= today + timedelta(days=horizon_days),
        )
        .order_by(Activity.start_on)
        .limit(1000)
    )
    for activity in activities:
        cal.add_component(activity_event(activity))
    return cal.to_ical()


def activity_file(activity: Activity) -> bytes:
    """One activity as an .ics file to download and open in a calendar app."""
    cal = _calendar(activity.title)
    cal.add_component(activity_event(activity))
    return cal.to_ical()


def activities_feed(*, today: date, horizon_days: int = 365) -> bytes:
    """Every live activity still to come or under way (cancelled ones marked CANCELLED, so a
    calendar that imported them earlier removes them), up to `horizon_days` ahead."""
    cal = _calendar(_("RBC programme activities"))
    activities = db.session.scalars(
        sa.select(Activity)
        .where(
            Activity.deleted_at.is_(None),
            sa.func.coalesce(Activity.end_on, Activity.start_on) >= today,
            Activity.start_on <= today + timedelta(days=horizon_days),
        )
        .order_by(Activity.start_on, Activity.id)
        .limit(1000)
    )
    for activity in activities:
        cal.add_component(activity_event(activity))
    return cal.to_ical()
