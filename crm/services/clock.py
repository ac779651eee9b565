"""The programme's clock: its time zone, the current moment, and "today" where it works.

Times are stored in UTC (crm.models). Dates that people speak of — "due today", a report's
month, an activity "this week" — are dates in the programme's time zone, so every caller
that needs one asks here instead of naming the zone itself. The zone is a single setting:
`PROGRAMME_TIMEZONE`, which the configuration hands to Flask-Babel as well.

`display` is the one rule for showing a date or a moment to a person: "1 Dec 2026" and a
24-hour clock in English (the programme writes British English), "2026年12月1日" in Chinese.
Numeric forms such as "12/1/26" are never shown: one reader takes them for another day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask_babel import get_locale

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


#: The named styles of `display`: (English, Chinese) patterns in Babel's notation.
STYLES: dict[str, tuple[str, str]] = {
    "date": ("d MMM y", "y年M月d日"),  # 1 Dec 2026
    "datetime": ("d MMM y, HH:mm", "y年M月d日 HH:mm"),  # 1 Dec 2026, 09:30
    "time": ("HH:mm", "HH:mm"),  # 09:30
    "day": ("d MMM", "M月d日"),  # 1 Dec: a day in a year already shown
    "weekday": ("EEE", "EEE"),  # Tue / 周二
    "month": ("MMM y", "y年M月"),  # Dec 2026
    "month_long": ("MMMM y", "y年M月"),  # December 2026: calendar headings
    "month_name": ("MMM", "M月"),  # Dec / 12月: chart axes
}
_TIMED = frozenset({"datetime", "time"})


def display(
    value: date | datetime | None,
    style: str = "date",
    *,
    locale: str | Locale | None = None,
    timezone: str | ZoneInfo | None = None,
) -> str:
    """`value` as a person reads it, in one of the `STYLES`; "" for None.

    The language is `locale`, or the current one (the request's, or a mail's under
    `force_locale`); anything but Chinese reads as English. A moment is shown in the
    programme's time zone (or `timezone`); a naive one is taken as UTC, as stored. Raises
    KeyError for an unknown style and TypeError for a time style given a plain date, so a
    caller cannot slip back to another format.
    """
    if value is None:
        return ""
    english, chinese = STYLES[style]
    language = Locale.parse(locale or get_locale() or "en").language
    pattern = chinese if language == "zh" else english
    babel_locale = "zh" if language == "zh" else "en"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return babel_dates.format_datetime(
            moment, pattern, tzinfo=zone(timezone), locale=babel_locale
        )
    if style in _TIMED:
        raise TypeError(f"a date has no time to show in the style {style!r}")
    return babel_dates.format_date(value, pattern, locale=babel_locale)
