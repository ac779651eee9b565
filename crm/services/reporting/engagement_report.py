"""The engagement report: how the programme reached its stakeholders in a period.

`engagement(start, end, sector=, stakeholder_type=)` computes every figure of the report page
from the database in a fixed number of queries, and `tables(report)`
(crm.services.reporting.engagement_tables) turns it into the titled tables that the page shows
and the exports write, so a file always holds what the page shows. The facts it shares with
the donor indicators (stakeholders, interactions, attendees) come from
crm.services.reporting.facts.

Definitions (the tests in tests/reports/ assert each of them on a known data set):

* Period: from `start` to `end`, both days included, in the programme's local calendar
  (its time zone, crm.services.clock, unless told): an interaction at 23:30 local time on the
  last day is in, one at 00:10 on the day after is not. At most ten years; the end may not
  precede the start.
* Records in the trash never count: stakeholders, interactions, follow-ups, activities,
  participants' people and organisations.
* A stakeholder's type is its organisation type, or "person". Its sectors are the
  organisation's sector; a person's are the sectors of the organisations they currently work
  for (open positions), so a person may have two, or none. "No sector" stands for none.
* Filters: a sector and a stakeholder type select the stakeholders that have them (sector
  by equality: "textile" does not include "electronics and textile"). Those are the
  *relevant* stakeholders; without filters every live stakeholder is relevant.
* Interactions: the live interactions of the period that involve at least one relevant
  stakeholder (without filters, every live interaction of the period). Counted per local
  calendar month, by channel, and by sector: an interaction counts once under each sector of
  its relevant stakeholders ("No sector" when they have none), so the sector columns may add
  up to more than the total.
* Stakeholders engaged: relevant stakeholders involved in at least one of those interactions,
  against all relevant stakeholders; by type and by sector (a person working in two sectors
  counts in both rows, once in the overall row).
* Coverage: relevant stakeholders of influence 4 or 5, and the share of them engaged in the
  period; the others are listed, most influential first, with their last contact ever.
* Engagement levels: relevant stakeholders per level now. Moves come from the audit trail:
  a stakeholder whose level at the end of its last change in the period ranks above its level
  before its first change in the period moved up; below, moved down; the same, neither.
* Follow-ups, per assignee: created = created in the period; completed = marked done in the
  period; completion rate = the share of those created in the period (cancelled ones left
  out) that were done by the end of the period; median days = the median number of calendar
  days from creation to completion of those completed in the period; overdue now = open and
  due before today. With filters, only follow-ups about a relevant stakeholder count.
* Activities (the sector filter applies to an activity's own sector; the type filter does
  not apply): activities held = status "held" and starting in the period. Participants are
  counted per activity as crm.services.activities defines reach (each named person once per
  activity, plus the sign-in sheet headcounts), then summed over the activities. Distinct
  named participants count each person once over the period. Organisations reached and
  government officials reached are distinct over the period. MoUs: signed in the period
  (signed_on); active and expiring (within 90 days) on the period's last day, or today when
  that is earlier.
* Stakeholder map: relevant stakeholders by influence × interest, with their levels.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from crm.i18n import gettext as _
from crm.models import ActivityType, Gender, OrgType
from crm.services import activities, clock
from crm.services.errors import InvalidInput
from crm.services.reporting import engagement_counts, facts, side_by_side
from crm.services.reporting import engagement_queries as queries
from crm.services.reporting.facts import (
    LEVELS,
    NO_SECTOR,
    RANK,
    SECTORS,
    TYPES,
    StakeholderFacts,
)
from crm.services.reporting.periods import Period, check_period

log = logging.getLogger(__name__)

HIGH_INFLUENCE = 4
SCALE = range(1, 6)


# ---------------------------------------------------------------------------------------------
# The report's data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    month: date
    counts: tuple[int, ...]  # aligned with the report's `channels` or `sectors`
    total: int


@dataclass(frozen=True)
class Reached:
    key: str  # a type, a sector, or "" for the overall row
    engaged: int
    total: int

    @property
    def share(self) -> float | None:
        return self.engaged / self.total if self.total else None


@dataclass(frozen=True)
class Listed:
    """A stakeholder named in a list of the report."""

    facts: StakeholderFacts
    last_contacted_at: datetime | None = None


@dataclass(frozen=True)
class Coverage:
    total: int
    contacted: int
    not_contacted: tuple[Listed, ...]  # most influential first; possibly cut at a limit
    not_contacted_total: int

    @property
    def share(self) -> float | None:
        return self.contacted / self.total if self.total else None


@dataclass(frozen=True)
class LevelMove:
    stakeholder: StakeholderFacts
    before: str
    after: str
    changed_at: datetime

    @property
    def is_up(self) -> bool:
        return RANK[self.after] > RANK[self.before]


@dataclass(frozen=True)
class Levels:
    now: tuple[tuple[str, int], ...]
    moves: tuple[LevelMove, ...]  # up first, then by name; possibly cut at a limit
    moved_up: int
    moved_down: int

    @property
    def total(self) -> int:
        return sum(n for _level, n in self.now)

    @property
    def moves_total(self) -> int:
        return self.moved_up + self.moved_down


@dataclass(frozen=True)
class FollowUpRow:
    user_id: int | None  # None for the total row
    name: str
    created: int
    completed: int
    created_counted: int  # created in the period and not cancelled
    created_done: int  # ... of which done by the end of the period
    median_days: float | None
    overdue: int

    @property
    def completion_rate(self) -> float | None:
        return self.created_done / self.created_counted if self.created_counted else None


@dataclass(frozen=True)
class ActivityFigures:
    held: tuple[tuple[str, int], ...]  # (activity type, held)
    named_women: int
    named_men: int
    named_other: int
    named_undisclosed: int
    unnamed_women: int
    unnamed_men: int
    unnamed_unspecified: int
    distinct_named: int
    organisations: int
    organisations_by_type: tuple[tuple[str, int], ...]
    organisations_by_sector: tuple[tuple[str, int], ...]
    officials: int
    officials_women: int
    mous_signed: int
    mous_active: int
    mous_expiring: int
    mous_as_of: date

    @property
    def held_total(self) -> int:
        return sum(n for _type, n in self.held)

    @property
    def women(self) -> int:
        return self.named_women + self.unnamed_women

    @property
    def men(self) -> int:
        return self.named_men + self.unnamed_men

    @property
    def not_stated(self) -> int:
        return self.named_undisclosed + self.unnamed_unspecified

    @property
    def named(self) -> int:
        return self.named_women + self.named_men + self.named_other + self.named_undisclosed

    @property
    def unnamed(self) -> int:
        return self.unnamed_women + self.unnamed_men + self.unnamed_unspecified

    @property
    def participants(self) -> int:
        return self.named + self.unnamed

    @property
    def share_of_women(self) -> float | None:
        return self.women / self.participants if self.participants else None


@dataclass(frozen=True)
class MapCell:
    influence: int
    interest: int
    organisations: int
    people: int
    levels: tuple[tuple[str, int], ...]  # every level, in order, with its count

    @property
    def total(self) -> int:
        return self.organisations + self.people

    @property
    def main_level(self) -> str | None:
        """The most common level in the cell (the higher one on a tie)."""
        best = max(self.levels, key=lambda pair: (pair[1], RANK[pair[0]]))
        return best[0] if best[1] else None


@dataclass(frozen=True)
class EngagementReport:
    period: Period
    sector: str | None
    stakeholder_type: str | None
    today: date
    interactions: int
    channels: tuple[str, ...]  # the channels used in the period, in enum order
    by_channel: tuple[MonthRow, ...]
    sectors: tuple[str, ...]  # the sectors met in the period ("" = no sector)
    by_sector: tuple[MonthRow, ...]
    engaged: Reached
    engaged_by_type: tuple[Reached, ...]
    engaged_by_sector: tuple[Reached, ...]
    coverage: Coverage
    levels: Levels
    follow_ups: tuple[FollowUpRow, ...]
    follow_ups_total: FollowUpRow
    activities: ActivityFigures
    grid: tuple[MapCell, ...]  # influence 5 → 1, then interest 1 → 5

    @property
    def is_empty(self) -> bool:
        """Nothing happened in the period (current states like levels may still show)."""
        return (
            self.interactions == 0
            and self.follow_ups_total.created == 0
            and self.follow_ups_total.completed == 0
            and self.activities.held_total == 0
            and self.activities.mous_signed == 0
            and not self.levels.moves
        )

    def cell(self, influence: int, interest: int) -> MapCell:
        return next(c for c in self.grid if (c.influence, c.interest) == (influence, interest))


# ---------------------------------------------------------------------------------------------
# Computing it: the database counts (crm.services.reporting.engagement_counts and
# engagement_queries), this module lays the counts out as the report's figures.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Monthly:
    """The interactions counted per month, by channel and by sector."""

    total: int
    channels: tuple[str, ...]
    by_channel: tuple[MonthRow, ...]
    sectors: tuple[str, ...]
    by_sector: tuple[MonthRow, ...]


def _monthly(period: Period, counts: Sequence[engagement_counts.MonthCount]) -> _Monthly:
    by_channel: Counter[tuple[int, str]] = Counter()
    by_sector: Counter[tuple[int, str]] = Counter()
    totals: Counter[int] = Counter()
    for count in counts:
        by_channel[(count.month, count.channel)] += count.interactions
        totals[count.month] += count.interactions
        for sector, n in count.by_sector.items():
            by_sector[(count.month, sector)] += n
    channels = tuple(
        c for c in engagement_counts.CHANNELS if any(by_channel[(m, c)] for m in totals)
    )
    sectors = facts.ordered_sectors(s for (_m, s), n in by_sector.items() if n)

    def month_rows(keys: Sequence[str], found: Counter[tuple[int, str]]) -> tuple[MonthRow, ...]:
        return tuple(
            MonthRow(month, tuple(found[(n, k)] for k in keys), totals[n])
            for n, month in enumerate(period.months)
        )

    return _Monthly(
        total=sum(totals.values()),
        channels=channels,
        by_channel=month_rows(channels, by_channel),
        sectors=sectors,
        by_sector=month_rows(sectors, by_sector),
    )


@dataclass(frozen=True)
class _Reach:
    """Relevant stakeholders engaged against all of them: overall, by type and by sector,
    and the high-influence ones (coverage)."""

    engaged: Reached
    by_type: tuple[Reached, ...]
    by_sector: tuple[Reached, ...]
    high: int
    high_engaged: int


def _reach(groups: Sequence[engagement_counts.GroupCount]) -> _Reach:
    engaged: Counter[tuple[str, str]] = Counter()  # (what, which): ("type", "ngo"), ...
    total: Counter[tuple[str, str]] = Counter()
    for group in groups:
        sizes = {("", ""): group.total, ("type", group.type): group.total}
        sizes |= {("sector", s): n for s, n in group.by_sector.items()}
        sizes |= {("high", ""): group.total if group.high else 0}
        total.update(sizes)
        if group.engaged:
            engaged.update(sizes)

    def rows(what: str, keys: Iterable[str]) -> tuple[Reached, ...]:
        return tuple(
            Reached(k, engaged[(what, k)], total[(what, k)]) for k in keys if total[(what, k)]
        )

    return _Reach(
        engaged=Reached("", engaged[("", "")], total[("", "")]),
        by_type=rows("type", TYPES),
        by_sector=rows("sector", (*SECTORS, NO_SECTOR)),
        high=total[("high", "")],
        high_engaged=engaged[("high", "")],
    )


def _grid(found: dict[tuple[bool, int, int, str], int]) -> tuple[MapCell, ...]:
    def count(is_person: bool, influence: int, interest: int) -> int:
        return sum(found.get((is_person, influence, interest, level), 0) for level in LEVELS)

    return tuple(
        MapCell(
            influence,
            interest,
            count(False, influence, interest),
            count(True, influence, interest),
            tuple(
                (level, sum(found.get((p, influence, interest, level), 0) for p in (False, True)))
                for level in LEVELS
            ),
        )
        for influence in reversed(SCALE)
        for interest in SCALE
    )


def _levels(grid: tuple[MapCell, ...], moves: queries.Moves) -> Levels:
    counts: Counter[str] = Counter()
    for cell in grid:
        counts.update(dict(cell.levels))
    return Levels(
        now=tuple((level, counts[level]) for level in LEVELS),
        moves=tuple(
            LevelMove(m.stakeholder, m.before, m.after, m.changed_at) for m in moves.listed
        ),
        moved_up=moves.up,
        moved_down=moves.down,
    )


def _follow_up_row(counts: queries.FollowUpCounts, name: str | None = None) -> FollowUpRow:
    return FollowUpRow(
        user_id=counts.user_id,
        name=counts.name if name is None else name,
        created=counts.created,
        completed=counts.completed,
        created_counted=counts.created_counted,
        created_done=counts.created_done,
        median_days=counts.median_days,
        overdue=counts.overdue,
    )


_FollowUpCounts = tuple[list[queries.FollowUpCounts], queries.FollowUpCounts]


def _follow_ups(counts: _FollowUpCounts) -> tuple[tuple[FollowUpRow, ...], FollowUpRow]:
    per_user, total = counts
    rows = sorted((_follow_up_row(c) for c in per_user), key=lambda r: (r.name.lower(), r.user_id))
    return tuple(rows), _follow_up_row(total, _("All assignees"))


def _mous(counts: queries.ActivityCounts, as_of: date) -> tuple[int, int]:
    """MoUs active and expiring on `as_of`, as crm.services.activities judges them."""
    active = expiring = 0
    for agreement_status, expires_on, n in counts.mous:
        status = activities.mou_status(agreement_status, expires_on, today=as_of)
        if status in (activities.MouStatus.active, activities.MouStatus.expiring):
            active += n
        if status == activities.MouStatus.expiring:
            expiring += n
    return active, expiring


def _activities(counts: queries.ActivityCounts, as_of: date) -> ActivityFigures:
    named: Counter[str] = Counter()
    officials: Counter[str] = Counter()
    for gender in counts.named:  # a gender not given counts as undisclosed
        named[gender or Gender.undisclosed] += counts.named[gender]
        officials[gender or Gender.undisclosed] += counts.officials[gender]
    by_type: Counter[str] = Counter()
    by_sector: Counter[str] = Counter()
    for (org_type, org_sector), n in counts.organisations.items():
        by_type[org_type] += n
        by_sector[org_sector or NO_SECTOR] += n
    active, expiring = _mous(counts, as_of)
    return ActivityFigures(
        held=tuple(
            (t.value, counts.held[t.value]) for t in ActivityType if counts.held.get(t.value)
        ),
        named_women=named[Gender.female],
        named_men=named[Gender.male],
        named_other=named[Gender.other],
        named_undisclosed=named[Gender.undisclosed],
        unnamed_women=counts.unnamed[0],
        unnamed_men=counts.unnamed[1],
        unnamed_unspecified=counts.unnamed[2],
        distinct_named=counts.distinct_named,
        organisations=sum(counts.organisations.values()),
        organisations_by_type=tuple(
            (t.value, by_type[t.value]) for t in OrgType if by_type[t.value]
        ),
        organisations_by_sector=tuple((s, by_sector[s]) for s in facts.ordered_sectors(by_sector)),
        officials=sum(officials.values()),
        officials_women=officials[Gender.female],
        mous_signed=counts.mous_signed,
        mous_active=active,
        mous_expiring=expiring,
        mous_as_of=as_of,
    )


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _check_filters(sector: str | None, stakeholder_type: str | None) -> None:
    if sector and sector not in SECTORS:
        raise InvalidInput(_("Unknown sector."), field="sector")
    if stakeholder_type and stakeholder_type not in TYPES:
        raise InvalidInput(_("Unknown stakeholder type."), field="type")


@dataclass(frozen=True)
class _Counts:
    """What the database counted for a report, before it is laid out."""

    figures: engagement_counts.StakeholderFigures
    moves: queries.Moves
    follow_ups: _FollowUpCounts
    activities: queries.ActivityCounts


def _count(
    period: Period,
    *,
    sector: str | None,
    stakeholder_type: str | None,
    today: date,
    not_contacted_limit: int | None,
    level_moves_limit: int | None,
    side_by_side_in: Flask | None,
) -> _Counts:
    """The report's four statements: the stakeholder figures, then the level moves, the
    follow-ups and the activities; the two groups side by side with `side_by_side_in`."""

    def counted() -> engagement_counts.StakeholderFigures:
        return engagement_counts.stakeholder_figures(
            period,
            sector=sector,
            stakeholder_type=stakeholder_type,
            high_influence=HIGH_INFLUENCE,
            missed_limit=not_contacted_limit,
        )

    def the_rest() -> tuple[queries.Moves, _FollowUpCounts, queries.ActivityCounts]:
        return (
            queries.level_moves(
                period, sector=sector, stakeholder_type=stakeholder_type, limit=level_moves_limit
            ),
            queries.follow_ups(
                period, today=today, sector=sector, stakeholder_type=stakeholder_type
            ),
            queries.activity_counts(period, sector=sector, as_of=min(period.end, today)),
        )

    if side_by_side_in is not None:
        figures, rest = side_by_side.run(side_by_side_in, counted, the_rest)
    else:
        figures, rest = counted(), the_rest()
    return _Counts(figures, *rest)


def engagement(
    period_start: date,
    period_end: date,
    *,
    sector: str | None = None,
    stakeholder_type: str | None = None,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
    today: date | None = None,
    not_contacted_limit: int | None = None,
    level_moves_limit: int | None = None,
    side_by_side_in: Flask | None = None,
) -> EngagementReport:
    """The engagement report of a period (see the module's definitions); read-only.

    Raises InvalidInput for a period that ends before it starts or spans more than ten
    years, and for an unknown sector or stakeholder type (views check those first and tell
    the user). `today` decides "overdue now" and the MoUs in force; it defaults to today in
    `timezone`. `not_contacted_limit` and `level_moves_limit` cut the lists of high-influence
    stakeholders not contacted and of level moves (the page shows the first ones, exports
    all of them); their totals are always exact. The database counts every figure, in a
    fixed number of statements whatever the volume of data. With `side_by_side_in` (the
    application) it counts the stakeholder figures and the rest side by side on two
    connections (crm.services.reporting.side_by_side): for callers whose session holds no
    uncommitted writes, such as a page or an API request.
    """
    check_period(period_start, period_end)
    _check_filters(sector, stakeholder_type)
    period = Period.of(period_start, period_end, timezone)
    today = today or clock.today(period.zone)
    sector = sector or None
    stakeholder_type = stakeholder_type or None

    counts = _count(
        period,
        sector=sector,
        stakeholder_type=stakeholder_type,
        today=today,
        not_contacted_limit=not_contacted_limit,
        level_moves_limit=level_moves_limit,
        side_by_side_in=side_by_side_in,
    )
    figures = counts.figures
    monthly = _monthly(period, figures.months)
    reach = _reach(figures.groups)
    grid = _grid(figures.grid)
    per_assignee, all_assignees = _follow_ups(counts.follow_ups)
    report = EngagementReport(
        period=period,
        sector=sector,
        stakeholder_type=stakeholder_type,
        today=today,
        interactions=monthly.total,
        channels=monthly.channels,
        by_channel=monthly.by_channel,
        sectors=monthly.sectors,
        by_sector=monthly.by_sector,
        engaged=reach.engaged,
        engaged_by_type=reach.by_type,
        engaged_by_sector=reach.by_sector,
        coverage=Coverage(
            total=reach.high,
            contacted=reach.high_engaged,
            not_contacted=tuple(Listed(m.facts, m.last_contacted_at) for m in figures.missed),
            not_contacted_total=reach.high - reach.high_engaged,
        ),
        levels=_levels(grid, counts.moves),
        follow_ups=per_assignee,
        follow_ups_total=all_assignees,
        activities=_activities(counts.activities, min(period.end, today)),
        grid=grid,
    )
    log.info(
        "engagement report %s–%s sector=%s type=%s: %d interactions",
        period.start,
        period.end,
        sector,
        stakeholder_type,
        report.interactions,
    )
    return report
