"""The home page: what needs doing, what happened, what is coming, who has gone quiet.

Every panel is bounded: it reads the few rows it shows through an index, and its counts are
index counts (the quiet stakeholders' ones stop at QUIET_COUNT_CAP a kind), so the page costs the
same number of statements, and about the same time, however large the database grows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import joinedload, selectinload

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityStatus,
    FollowUp,
    Interaction,
    Stakeholder,
    StakeholderKind,
    User,
)
from crm.services import follow_ups
from crm.services.reporting import side_by_side

QUIET_AFTER_DAYS = 90
QUIET_INFLUENCE = (5, 4)
# The quiet stakeholders are counted up to this many; more shows as "1000+".
QUIET_COUNT_CAP = 1000
# Follow-ups the dashboard's panel shows (overdue, today, this week).
SOON = 8


@dataclass(frozen=True)
class QuietStakeholder:
    stakeholder: Stakeholder
    last_contacted_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    # How many open follow-ups the user has in each group (crm.services.follow_ups.Due).
    due: dict[follow_ups.Due, int]
    # The first of them due by the end of the week, overdue first.
    soon: list[FollowUp]
    my_interactions: list[Interaction]
    team_interactions: list[Interaction]
    upcoming_activities: list[Activity]
    quiet: list[QuietStakeholder]
    quiet_total: int
    organisations: int
    people: int
    # True when there are more quiet stakeholders than `quiet_total` (the count stopped).
    quiet_capped: bool = False
    # The quiet ones of each kind: what the lists filtered with `?quiet=1` show.
    quiet_organisations: int = 0
    quiet_people: int = 0

    @property
    def open_follow_ups(self) -> int:
        return sum(self.due.values())


def quiet_conditions(*, today: date) -> tuple[sa.ColumnElement[bool], ...]:
    """The rule of "influential and quiet", as WHERE terms on `Stakeholder`: a live record of
    influence 4–5 whose stored last contact (`last_contacted_at`, crm.services.contact_dates)
    is more than QUIET_AFTER_DAYS before `today`, or that was never contacted. The dashboard's
    panel and the lists' `?quiet=1` filter both use it, so the list holds what the panel counts.
    """
    return (
        Stakeholder.deleted_at.is_(None),
        Stakeholder.influence.in_(QUIET_INFLUENCE),
        sa.or_(*_quiet_since(today)),
    )


def _quiet_since(today: date) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """The two ways to be quiet: never contacted; last contacted before the cutoff."""
    # Over 90 days, the hours between UTC and local midnight do not matter.
    cutoff = datetime.combine(today - timedelta(days=QUIET_AFTER_DAYS), time.min, tzinfo=UTC)
    return Stakeholder.last_contacted_at.is_(None), Stakeholder.last_contacted_at < cutoff


@dataclass(frozen=True)
class QuietPanel:
    """The first quiet stakeholders, and how many there are of each kind (each count stops at
    QUIET_COUNT_CAP + 1)."""

    items: list[QuietStakeholder]
    organisations: int
    people: int

    @property
    def total(self) -> int:
        return self.organisations + self.people

    @property
    def capped(self) -> bool:
        return max(self.organisations, self.people) > QUIET_COUNT_CAP


def quiet_panel(*, today: date, limit: int = 10) -> QuietPanel:
    """Influence 4–5, not contacted in 90 days (or never): most influential first, then the
    longest quiet (never contacted first), then by name. Trashed interactions are not
    contacts; confidential ones are.

    Two queries: the first `limit` of each influence level, never contacted and contacted
    long ago apart, each read in the order of ix_stakeholders_live_quiet (no sort of every
    quiet stakeholder: the index keeps NULL dates first on SQLite and last on PostgreSQL, so
    one ORDER BY with NULLS FIRST would match it on SQLite only); and one statement counting
    each kind over ix_stakeholders_live_quiet_kind, each count stopping after the cap. The
    lists' `?quiet=1` filter counts the same rows, without the cap.
    """
    quiet = quiet_conditions(today=today)
    firsts = [
        sa.select(Stakeholder.id)
        .where(Stakeholder.deleted_at.is_(None), Stakeholder.influence == level, since)
        .order_by(Stakeholder.last_contacted_at, Stakeholder.sort_name, Stakeholder.id)
        .limit(limit)
        .subquery()
        .select()
        for level in QUIET_INFLUENCE
        for since in _quiet_since(today)
    ]
    found = db.session.scalars(
        sa.select(Stakeholder)
        .where(Stakeholder.id.in_(sa.union_all(*firsts)))
        .order_by(
            Stakeholder.influence.desc(),
            Stakeholder.last_contacted_at.asc().nulls_first(),
            Stakeholder.sort_name,
            Stakeholder.id,
        )
        .limit(limit)
    ).all()

    def counted(kind: StakeholderKind) -> sa.ScalarSelect[int]:
        rows = (
            sa.select(Stakeholder.id)
            .where(Stakeholder.kind == kind, *quiet)
            .limit(QUIET_COUNT_CAP + 1)
            .subquery()
        )
        return sa.select(sa.func.count()).select_from(rows).scalar_subquery()

    organisations, people = db.session.execute(
        sa.select(counted(StakeholderKind.organisation), counted(StakeholderKind.person))
    ).one()
    return QuietPanel(
        [QuietStakeholder(s, s.last_contacted_at) for s in found], organisations or 0, people or 0
    )


def quiet_stakeholders(*, today: date, limit: int = 10) -> tuple[list[QuietStakeholder], int]:
    """`quiet_panel`'s stakeholders and their number (organisations and people together)."""
    panel = quiet_panel(today=today, limit=limit)
    return panel.items, panel.total


def live_counts() -> dict[StakeholderKind, int]:
    """Live organisations and people: one statement, a count per kind, each over an index
    of live records of that kind (a GROUP BY would read every row)."""
    kinds = list(StakeholderKind)
    row = db.session.execute(
        sa.select(
            *(
                sa.select(sa.func.count())
                .select_from(Stakeholder.__table__)
                .where(Stakeholder.kind == kind, Stakeholder.deleted_at.is_(None))
                .scalar_subquery()
                for kind in kinds
            )
        )
    ).one()
    return dict(zip(kinds, row, strict=True))


def recent_interactions(
    user: User, *, team: int = 10, mine: int = 5
) -> tuple[list[Interaction], list[Interaction]]:
    """The team's latest live interactions and `user`'s own: the ids of both in one query
    (each read off an index, newest first), the interactions and what they show in three."""
    newest = (Interaction.occurred_at.desc(), Interaction.id.desc())
    live = Interaction.deleted_at.is_(None)
    ids = sa.union_all(
        sa.select(Interaction.id).where(live).order_by(*newest).limit(team).subquery().select(),
        sa.select(Interaction.id)
        .where(Interaction.logged_by_id == user.id, live)
        .order_by(*newest)
        .limit(mine)
        .subquery()
        .select(),
    )
    found = db.session.scalars(
        sa.select(Interaction)
        .where(Interaction.id.in_(ids))
        .options(
            selectinload(Interaction.stakeholders),
            selectinload(Interaction.staff),
            joinedload(Interaction.logged_by),
        )
        .order_by(*newest)
    ).all()
    # The team's newest are the newest of the union: the user's own that are not among them
    # are older than all of them.
    return list(found[:team]), [i for i in found if i.logged_by_id == user.id][:mine]


def dashboard(user: User, *, today: date, side_by_side_in: Flask | None = None) -> Dashboard:
    """Everything the home page shows, in a fixed number of queries. With `side_by_side_in`
    (the application), the counts of live organisations and people, which read an index
    entry per record (the longest statement on PostgreSQL), run beside the rest on a second
    connection (crm.services.reporting.side_by_side): for a request, which has written
    nothing."""
    if side_by_side_in is not None:
        board, counts = side_by_side.run(
            side_by_side_in, lambda: _dashboard(user, today=today), live_counts
        )
    else:
        board, counts = _dashboard(user, today=today), live_counts()
    return dataclasses.replace(
        board,
        organisations=counts.get(StakeholderKind.organisation, 0),
        people=counts.get(StakeholderKind.person, 0),
    )


def _dashboard(user: User, *, today: date) -> Dashboard:
    """The dashboard but for the counts of live records (zero here)."""
    team, mine = recent_interactions(user)
    upcoming = db.session.scalars(
        sa.select(Activity)
        .where(
            Activity.deleted_at.is_(None),
            Activity.status != ActivityStatus.cancelled,
            # Not over yet: coalesce(end_on, start_on) >= today, written as two ranges of
            # indexes (an activity ends on or after its start: CHECK end_after_start).
            sa.or_(Activity.end_on >= today, Activity.start_on >= today),
            Activity.start_on <= today + timedelta(days=60),
        )
        .order_by(Activity.start_on)
        .limit(8)
    ).all()
    quiet = quiet_panel(today=today)
    return Dashboard(
        due=follow_ups.due_counts(user, today=today),
        soon=follow_ups.due_soon(user, today=today, limit=SOON),
        my_interactions=mine,
        team_interactions=team,
        upcoming_activities=list(upcoming),
        quiet=quiet.items,
        quiet_organisations=min(quiet.organisations, QUIET_COUNT_CAP),
        quiet_people=min(quiet.people, QUIET_COUNT_CAP),
        quiet_total=min(quiet.organisations, QUIET_COUNT_CAP) + min(quiet.people, QUIET_COUNT_CAP),
        quiet_capped=quiet.capped,
        organisations=0,
        people=0,
    )
