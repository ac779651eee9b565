"""Figures for the home page."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.models import AuditEvent, Organisation, Person


@dataclass(frozen=True)
class Summary:
    organisations: int
    people: int
    recent_changes: list[AuditEvent]


def summary(*, recent: int = 10) -> Summary:
    """Live stakeholder counts and the latest changes to organisations and people."""
    organisations = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Organisation)
        .where(Organisation.deleted_at.is_(None))
    )
    people = db.session.scalar(
        sa.select(sa.func.count()).select_from(Person).where(Person.deleted_at.is_(None))
    )
    changes = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type.in_(("organisations", "people")))
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(recent)
    )
    return Summary(organisations or 0, people or 0, list(changes))
