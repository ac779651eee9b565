"""Periods: the stretches of local calendar days that reports and indicators cover.

A period runs from `start` to `end`, both days included, in the programme's local calendar
(crm.services.clock): an interaction at 23:30 local time on the last day is in, one at 00:10
on the day after is not. At most ten years; the end may not precede the start; every date
lies between 1990 and 2100, the years the programme can have records for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.i18n import gettext as _
from crm.services import clock
from crm.services.errors import InvalidInput

MAX_YEARS = 10
# The years a report may cover (as the activity pages): far from the limits of `date`.
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)
FIRST_YEAR, LAST_YEAR = FIRST_DAY.year, LAST_DAY.year


def add_years(day: date, years: int) -> date:
    """The same day `years` later (28 February for a 29 February that does not exist)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_period(start: date, end: date) -> None:
    """Raise InvalidInput when the end precedes the start, the period exceeds ten years, or
    a date lies outside the years the programme can have records for."""
    if not (FIRST_DAY <= start <= LAST_DAY and FIRST_DAY <= end <= LAST_DAY):
        raise InvalidInput(
            _(
                "Choose dates between %(first)d and %(last)d.",
                first=FIRST_DAY.year,
                last=LAST_DAY.year,
            ),
            field="start",
        )
    if end < start:
        raise InvalidInput(_("The end date is before the start date."), field="end")
    if end > add_years(start, MAX_YEARS):
        raise InvalidInput(
            _("Choose a period of at most %(years)d years.", years=MAX_YEARS), field="end"
        )


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            _("Choose a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            field="year",
        )


@dataclass(frozen=True)
class Period:
    """Local calendar days from `start` to `end`, both included."""

    start: date
    end: date
    timezone: str = clock.PROGRAMME_TIMEZONE

    @classmethod
    def of(cls, start: date, end: date, timezone: str | ZoneInfo | None = None) -> Period:
        """The period in the named zone (a name or a ZoneInfo; the programme's by default)."""
        return cls(start, end, str(clock.zone(timezone).key))

    @property
    def zone(self) -> ZoneInfo:
        return clock.zone(self.timezone)

    @property
    def start_at(self) -> datetime:
        """The first instant of the period, in UTC."""
        return datetime.combine(self.start, time.min, tzinfo=self.zone).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive bound), in UTC."""
        day_after = self.end + timedelta(days=1)
        return datetime.combine(day_after, time.min, tzinfo=self.zone).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        return clock.local_date(moment, self.zone)

    def contains(self, moment: datetime | None) -> TypeGuard[datetime]:
        return moment is not None and self.start_at <= moment < self.end_at

    @property
    def months(self) -> tuple[date, ...]:
        """The first day of every calendar month the period touches."""
        months = []
        month = self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return tuple(months)


def in_period(column: Any, period: Period) -> Any:
    """SQL: a stored (UTC) moment lies in the period's local days."""
    return sa.and_(column >= period.start_at, column < period.end_at)


def quarter_of(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = (first + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    return first, last


def quarters(year: int) -> tuple[tuple[date, date], ...]:
    """The first and last day of each quarter of `year`."""
    return tuple(quarter_of(date(year, month, 1)) for month in (1, 4, 7, 10))


def whole_year(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    start: date
    end: date


def presets(today: date) -> list[Preset]:
    """Common periods, for the links above the report form."""
    this_start, this_end = quarter_of(today)
    last_start, last_end = quarter_of(this_start - timedelta(days=1))
    return [
        Preset("this_quarter", _("This quarter"), this_start, this_end),
        Preset("last_quarter", _("Last quarter"), last_start, last_end),
        Preset("this_year", _("This year"), *whole_year(today.year)),
        Preset("last_year", _("Last year"), *whole_year(today.year - 1)),
        Preset(
            "last_12_months",
            _("Last 12 months"),
            add_years(today, -1) + timedelta(days=1),
            today,
        ),
    ]
