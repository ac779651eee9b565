"""The record of access to personal data: the audit events administrators review.

Exports with personal data (action "export": who, when, what, the filters, how many rows),
subject-access exports ("access"), erasures ("erase"), retention runs and exemptions
("retention") and consent changes ("consent"), filtered by user, action and period, newest
first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.models import AuditAction, AuditEvent, User

ACTIONS = (
    AuditAction.export,
    AuditAction.access,
    AuditAction.erase,
    AuditAction.retention,
    AuditAction.consent,
)


@dataclass(frozen=True)
class Criteria:
    user_id: int | None = None
    action: str = ""  # one of ACTIONS, or "" for all of them
    start: date | None = None  # local days, both included
    end: date | None = None


def _moment(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def listing(criteria: Criteria, *, zone: ZoneInfo) -> sa.Select[Any]:
    """The events of `criteria`, newest first, with their actors loaded."""
    actions = [a for a in ACTIONS if a.value == criteria.action] or list(ACTIONS)
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_(actions))
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    if criteria.user_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == criteria.user_id)
    if criteria.start is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= _moment(criteria.start, zone))
    if criteria.end is not None:
        stmt = stmt.where(AuditEvent.occurred_at < _moment(criteria.end + timedelta(days=1), zone))
    return stmt


def events(criteria: Criteria, *, zone: ZoneInfo, page: int = 1, per_page: int = 50) -> Pagination:
    return db.paginate(listing(criteria, zone=zone), page=page, per_page=per_page, error_out=False)


def every(criteria: Criteria, *, zone: ZoneInfo, batch: int = 1000) -> Iterator[AuditEvent]:
    """All the events of `criteria`, read in batches (the CSV file)."""
    stmt = listing(criteria, zone=zone).execution_options(yield_per=batch)
    yield from db.session.scalars(stmt)


def user_choices() -> list[tuple[int, str]]:
    """Every account, by name, for the filter (former staff included)."""
    return [(u.id, u.name) for u in db.session.scalars(sa.select(User).order_by(User.name))]
