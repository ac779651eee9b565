"""The month calendar of activities: a Monday-to-Sunday grid with what is under way each day.

`build_month` lays out the grid from activities already loaded (no database access, so it
is tested without one); `month` loads the activities of one month's grid in one query.
`parse_month` falls back to the month of `today`: the programme's date, from
crm.services.clock.
"""

from __future__ import annotations

import calendar as calendar_module
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Activity


@dataclass(frozen=True)
class Day:
    on: date
    in_month: bool
    activities: tuple[Activity, ...]


@dataclass(frozen=True)
class Month:
    first: date
    weeks: tuple[tuple[Day, ...], ...]

    @property
    def previous(self) -> date:
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return (self.first + timedelta(days=32)).replace(day=1)

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"


def parse_month(text: str | None, *, today: date) -> date:
    """The first day of a month written 2026-03; this month for anything else."""
    try:
        year, month = (int(part) for part in (text or "").split("-", 1))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def build_month(first: date, activities: Iterable[Activity]) -> Month:
    """The month's grid, Monday to Sunday, each day with the activities under way then; an
    activity of several days appears on each of them. No database access."""
    grid = calendar_module.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    ordered = sorted(activities, key=lambda a: (a.start_on, a.title.lower(), a.id))
    weeks = tuple(
        tuple(
            Day(
                day,
                day.month == first.month,
                tuple(a for a in ordered if a.start_on <= day <= (a.end_on or a.start_on)),
            )
            for day in week
        )
        for week in grid
    )
    return Month(first, weeks)


def month(first: date) -> Month:
    """The calendar of one month (one query), days of the neighbouring months included."""
    grid = calendar_module.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start, end = grid[0][0], grid[-1][-1]
    stmt = sa.select(Activity).where(
        Activity.deleted_at.is_(None),
        Activity.start_on <= end,
        sa.func.coalesce(Activity.end_on, Activity.start_on) >= start,
    )
    return build_month(first, db.session.scalars(stmt.limit(2000)))
