"""The programme's clock: its time zone, the current moment, and "today" where it works.

Times are stored in UTC (crm.models). Dates that people speak of — "due today", a report's
month, an activity "this week" — are dates in the programme's time zone, so every caller
that needs one asks here instead of naming the zone itself. The zone is a single setting:
`PROGRAMME_TIMEZONE`, which the configuration hands to Flask-Babel as well.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

PROGRAMME_TIMEZONE = "Asia/Shanghai"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone(timezone: str | ZoneInfo | None = None) -> ZoneInfo:
    """The named zone, or the programme's when none is named."""
    if isinstance(timezone, ZoneInfo):
        return timezone
    return _zone(str(timezone) if timezone else PROGRAMME_TIMEZONE)


def now() -> datetime:
    """The current moment, timezone-aware in UTC."""
    return datetime.now(UTC)


def today(timezone: str | ZoneInfo | None = None) -> date:
    """Today's date in the programme's time zone (or the one named)."""
    return now().astimezone(zone(timezone)).date()


def local_date(moment: datetime, timezone: str | ZoneInfo | None = None) -> date:
    """The calendar date of a stored (UTC) moment in the programme's time zone."""
    return moment.astimezone(zone(timezone)).date()
