"""The home page: what needs doing, what happened, what is coming, who has gone quiet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityStatus,
    Interaction,
    Organisation,
    Person,
    Stakeholder,
    User,
    UTCDateTime,
    interaction_stakeholders,
)
from crm.services import follow_ups, interactions

QUIET_AFTER_DAYS = 90


@dataclass(frozen=True)
class QuietStakeholder:
    stakeholder: Stakeholder
    last_contacted_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    agenda: follow_ups.Agenda
    my_interactions: list[Interaction]
    team_interactions: list[Interaction]
    upcoming_activities: list[Activity]
    quiet: list[QuietStakeholder]
    quiet_total: int
    organisations: int
    people: int


def _count(model: type[Stakeholder]) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.deleted_at.is_(None))
        )
        or 0
    )


def quiet_stakeholders(*, today: date, limit: int = 10) -> tuple[list[QuietStakeholder], int]:
    """Influence 4–5, not contacted in 90 days (or never): most influential first, then the
    longest quiet. Trashed interactions are not contacts; confidential ones are.

    One query: the total comes with the rows, as a window count over every quiet stakeholder.
    """
    # Over 90 days, the hours between UTC and local midnight do not matter.
    cutoff = datetime.combine(today - timedelta(days=QUIET_AFTER_DAYS), time.min, tzinfo=UTC)
    recent = (
        sa.select(interaction_stakeholders.c.stakeholder_id)
        .join(Interaction, Interaction.id == interaction_stakeholders.c.interaction_id)
        .where(Interaction.deleted_at.is_(None), Interaction.occurred_at >= cutoff)
    )
    # Labelled, so that ORDER BY names the column instead of running the subquery again.
    last = interactions.last_contact_column(Stakeholder).label("last_contacted_at")
    rows = db.session.execute(
        sa.select(Stakeholder, last, sa.func.count().over().label("quiet_total"))
        .where(
            Stakeholder.deleted_at.is_(None),
            Stakeholder.influence >= 4,
            Stakeholder.id.not_in(recent),
        )
        .order_by(Stakeholder.influence.desc(), last.asc().nulls_first(), Stakeholder.sort_name)
        .limit(limit)
    ).all()
    convert = UTCDateTime().process_result_value
    quiet = [QuietStakeholder(s, convert(when, db.engine.dialect)) for s, when, _total in rows]
    return quiet, rows[0].quiet_total if rows else 0


def dashboard(user: User, *, today: date) -> Dashboard:
    """Everything the home page shows, in a fixed number of queries."""
    team = db.session.scalars(
        sa.select(Interaction)
        .where(Interaction.deleted_at.is_(None))
        .options(
            selectinload(Interaction.stakeholders),
            selectinload(Interaction.staff),
            joinedload(Interaction.logged_by),
        )
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(10)
    ).all()
    mine = db.session.scalars(
        sa.select(Interaction)
        .where(Interaction.deleted_at.is_(None), Interaction.logged_by_id == user.id)
        .options(
            selectinload(Interaction.stakeholders),
            selectinload(Interaction.staff),
            joinedload(Interaction.logged_by),
        )
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(5)
    ).all()
    upcoming = db.session.scalars(
        sa.select(Activity)
        .where(
            Activity.deleted_at.is_(None),
            Activity.status != ActivityStatus.cancelled,
            sa.func.coalesce(Activity.end_on, Activity.start_on) >= today,
            Activity.start_on <= today + timedelta(days=60),
        )
        .order_by(Activity.start_on)
        .limit(8)
    ).all()
    quiet, quiet_total = quiet_stakeholders(today=today)
    return Dashboard(
        agenda=follow_ups.agenda(user, today=today, limit=50),
        my_interactions=list(mine),
        team_interactions=list(team),
        upcoming_activities=list(upcoming),
        quiet=quiet,
        quiet_total=quiet_total,
        organisations=_count(Organisation),
        people=_count(Person),
    )
