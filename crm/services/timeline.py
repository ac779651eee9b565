"""One stream per stakeholder: interactions, activities, follow-ups and changes, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    AuditEvent,
    FollowUp,
    Interaction,
    Participation,
    ParticipationStatus,
    PartyRole,
    Person,
    Stakeholder,
    interaction_stakeholders,
)
from crm.services.follow_ups import about as follow_ups_about


@dataclass(frozen=True)
class Entry:
    kind: str  # interaction, activity, follow_up, change
    at: datetime
    item: Any  # the Interaction, Activity, FollowUp or AuditEvent
    role: str | None = None  # for activities: the party role or the participation status


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    page: int
    has_next: bool


def _midnight(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def timeline(stakeholder: Stakeholder, *, page: int = 1, per_page: int = 25) -> Page:
    """A page of the merged stream. Each source is read newest first, at most as far as the
    page needs, so page N costs four queries whatever the history's length."""
    need = page * per_page + 1
    interactions = db.session.scalars(
        sa.select(Interaction)
        .join(interaction_stakeholders, interaction_stakeholders.c.interaction_id == Interaction.id)
        .where(
            interaction_stakeholders.c.stakeholder_id == stakeholder.id,
            Interaction.deleted_at.is_(None),
        )
        .options(
            selectinload(Interaction.stakeholders),
            joinedload(Interaction.logged_by),
            selectinload(Interaction.staff),
        )
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(need)
    ).all()
    entries = [Entry("interaction", i.occurred_at, i) for i in interactions]

    rows: Sequence[sa.Row[Activity, ParticipationStatus | PartyRole]]
    if isinstance(stakeholder, Person):
        rows = db.session.execute(
            sa.select(Activity, Participation.status)
            .join(Participation, Participation.activity_id == Activity.id)
            .where(Participation.person_id == stakeholder.id, Activity.deleted_at.is_(None))
            .order_by(Activity.start_on.desc())
            .limit(need)
        ).all()
    else:
        rows = db.session.execute(
            sa.select(Activity, ActivityParty.role)
            .join(ActivityParty, ActivityParty.activity_id == Activity.id)
            .where(ActivityParty.organisation_id == stakeholder.id, Activity.deleted_at.is_(None))
            .order_by(Activity.start_on.desc())
            .limit(need)
        ).all()
    entries += [Entry("activity", _midnight(a.start_on), a, str(role)) for a, role in rows]

    follow_ups = db.session.scalars(
        sa.select(FollowUp)
        .where(follow_ups_about(stakeholder.id), FollowUp.deleted_at.is_(None))
        .options(joinedload(FollowUp.assignee))
        .order_by(FollowUp.created_at.desc())
        .limit(need)
    ).all()
    entries += [Entry("follow_up", f.created_at, f) for f in follow_ups]

    changes = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.entity_type == stakeholder.__tablename__,
            AuditEvent.entity_id == stakeholder.id,
        )
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(need)
    ).all()
    entries += [Entry("change", e.occurred_at, e) for e in changes]

    entries.sort(key=lambda e: e.at, reverse=True)
    start = (page - 1) * per_page
    return Page(entries[start : start + per_page], page, len(entries) > start + per_page)
