"""Donor indicators: the figures they track, computed for any period.

`compute`, `year_figures` and `years` give what the indicator pages show. The database
counts them (crm.services.reporting.indicators.tallies): one grouped statement per metric
for all the periods shown (a year's quarters and the year), however many indicators share
the metric and however many records count, so nothing but the counts comes back.
`items` and `figure` apply the same definitions to loaded rows, one Item per contribution:
the reference that the tests hold the database's counts to.

Definitions (tests/reports/test_indicators.py asserts each of them on a known data set):

* Period: from `start` to `end`, both days included. Activities count by their dates (no
  time of day); interactions by their local calendar day in the programme's time zone
  (crm.services.clock, unless told), as in the engagement report.
* Records in the trash never count: activities, people, organisations, interactions,
  stakeholders.
* Attendees follow the reach definition of crm.services.activities: named participants with
  status "attended", plus the activity's headcounts of attendees not registered by name.
  The queries for these facts, and for the stakeholders and interactions below, are the
  engagement report's (crm.services.reporting.facts).
* Trainings: live activities of type "training" with status "held" whose start date lies in
  the period. Planned and cancelled trainings have trained nobody (yet); webinars and
  awareness-raising events are not trainings.
* Enterprises trained: the distinct live organisations of type "enterprise" reached by those
  trainings: the organisation at the time of a named attendee, or a party with the role
  "participant" (hosts, partners, sponsors deliver the training; they are not trained). By
  sector: the enterprise's own sector ("No sector" when it has none).
* Government officials trained: the distinct named attendees of those trainings whose
  organisation at the time is a live organisation of type "government". By sex (their
  gender) and by sector (the training's sector).
* Participants trained: the distinct named attendees of those trainings, each person once
  in the period however many trainings they attended, plus the unnamed headcounts of every
  training, summed (nobody can tell whether two sign-in sheets name the same people). So a
  person who attended a training in January and one in May counts once in the year, and
  once in each of the two quarters. By sex: women, men, other, not stated (named people by
  the gender on their record; unnamed headcounts by the sheet's women / men / unspecified).
  By sector: the training's sector; a person who attended trainings of two sectors counts
  under both, and once in the total.
* Forums held: live activities of type "forum" with status "held" starting in the period.
* MoUs signed: live activities of type "mou" whose signing date (signed_on) lies in the
  period, whatever their agreement status is now (an MoU terminated later was still signed).
* Research outputs published: live activities of type "research" that are not cancelled and
  record a publication. The model keeps no publication date: a research output counts on its
  end date, or its start date when it has none.
* Forums, MoUs and research outputs by sector: the activity's sector.
* Stakeholders engaged: as in the engagement report, the distinct live stakeholders involved
  in at least one live interaction of the period. By stakeholder type (the organisation's
  type, or "person") and by sector (an organisation's sector; a person's are those of the
  organisations they currently work for, so they may count under two sectors, once in the
  total).
* A year's value is computed over the whole year, never summed from its quarters: people and
  organisations count once per period.
* Progress = the year's value / the year's target; none without a target (or a target of 0).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.models import Activity, ActivityStatus, ActivityType, Indicator, Metric, OrgType
from crm.services import clock
from crm.services.reporting import facts, side_by_side
from crm.services.reporting.facts import value_of
from crm.services.reporting.indicators import tallies
from crm.services.reporting.indicators.logframe import target_for
from crm.services.reporting.indicators.metrics import (
    ALWAYS_SHOWN,
    KEYS,
    MEN,
    NOT_STATED,
    SECTOR,
    SEX,
    SEX_OF_GENDER,
    STAKEHOLDER_TYPE,
    WOMEN,
)
from crm.services.reporting.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    Period,
    check_period,
    check_year,
    quarters,
    whole_year,
)

TRAINING_METRICS = (
    Metric.enterprises_trained,
    Metric.officials_trained,
    Metric.participants_trained,
)


@dataclass(frozen=True)
class Item:
    """One contribution to a figure on one day.

    `record` is what is counted, ("organisation" | "person" | "activity" | "stakeholder", id):
    the same record on several days or under several keys still counts once per period.
    A headcount of unnamed attendees has no record and adds `count` instead. `via` is the
    activity (or interaction) through which it counts.
    """

    day: date
    record: tuple[str, int] | None
    via: int
    keys: tuple[tuple[str, str], ...] = ()
    count: int = 1

    def key(self, dimension: str) -> str | None:
        return next((k for d, k in self.keys if d == dimension), None)


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    values: tuple[tuple[str, int], ...]  # every key of the dimension, in display order

    def of(self, key: str) -> int:
        return dict(self.values).get(key, 0)


@dataclass(frozen=True)
class Figure:
    """A figure over one period: the distinct records, plus headcounts, and breakdowns."""

    start: date
    end: date
    named: int
    unnamed: int
    breakdowns: tuple[Breakdown, ...] = ()

    @property
    def value(self) -> int:
        return self.named + self.unnamed

    def breakdown(self, dimension: str) -> Breakdown | None:
        return next((b for b in self.breakdowns if b.dimension == dimension), None)


# ---------------------------------------------------------------------------------------------
# Loading the contributions
# ---------------------------------------------------------------------------------------------


def _sex(gender: Any) -> str:
    return SEX_OF_GENDER.get(value_of(gender), NOT_STATED)


def _attendee_item(metric: Metric, row: Any, day: date, sector: str) -> Item | None:
    """What a named attendee of a training adds to `metric`, if anything."""
    activity_id, person_id, gender, org_id, org_type, org_sector = row
    if metric == Metric.participants_trained:
        keys: tuple[tuple[str, str], ...] = ((SEX, _sex(gender)), (SECTOR, sector))
        return Item(day, ("person", person_id), activity_id, keys)
    if metric == Metric.officials_trained:
        if org_id is not None and value_of(org_type) == OrgType.government:
            keys = ((SEX, _sex(gender)), (SECTOR, sector))
            return Item(day, ("person", person_id), activity_id, keys)
        return None
    if org_id is not None and value_of(org_type) == OrgType.enterprise:
        keys = ((SECTOR, value_of(org_sector)),)
        return Item(day, ("organisation", org_id), activity_id, keys)
    return None


def _headcount_items(trainings: Iterable[Any]) -> list[Item]:
    """The unnamed attendees of each training, by the sheet's sex."""
    found = []
    for row in trainings:
        for sex, count in (
            (WOMEN, row.unnamed_women),
            (MEN, row.unnamed_men),
            (NOT_STATED, row.unnamed_unspecified),
        ):
            if count:
                keys = ((SEX, sex), (SECTOR, value_of(row.sector)))
                found.append(Item(row.start_on, None, row.id, keys, count))
    return found


def _training_items(metric: Metric, start: date, end: date) -> list[Item]:
    trainings = facts.held_activities(start, end, activity_type=ActivityType.training)
    day_of = {row.id: row.start_on for row in trainings}
    sector_of = {row.id: value_of(row.sector) for row in trainings}
    found: list[Item] = []
    for row in facts.attendees(list(day_of)):
        item = _attendee_item(metric, row, day_of[row.activity_id], sector_of[row.activity_id])
        if item is not None:
            found.append(item)
    if metric == Metric.enterprises_trained:
        for activity_id, org_id, org_type, org_sector in facts.participant_parties(list(day_of)):
            if value_of(org_type) == OrgType.enterprise:
                keys = ((SECTOR, value_of(org_sector)),)
                found.append(Item(day_of[activity_id], ("organisation", org_id), activity_id, keys))
    if metric == Metric.participants_trained:
        found.extend(_headcount_items(trainings))
    return found


def _activity_items(metric: Metric, start: date, end: date) -> list[Item]:
    if metric == Metric.forums_held:
        rows = [
            (row.id, row.start_on, row.sector)
            for row in facts.held_activities(start, end, activity_type=ActivityType.forum)
        ]
    else:
        day: sa.SQLColumnExpression[date | None]
        if metric == Metric.mous_signed:
            day = Activity.signed_on
            conditions = [Activity.type == ActivityType.mou]
        else:
            day = sa.func.coalesce(Activity.end_on, Activity.start_on)
            conditions = [
                Activity.type == ActivityType.research,
                Activity.status != ActivityStatus.cancelled,
                Activity.publication.is_not(None),
                sa.func.length(sa.func.trim(Activity.publication)) > 0,
            ]
        stmt = sa.select(Activity.id, day, Activity.sector).where(
            Activity.deleted_at.is_(None), day >= start, day <= end, *conditions
        )
        rows = list(db.session.execute(stmt))
    return [
        Item(on, ("activity", activity_id), activity_id, ((SECTOR, value_of(sector)),))
        for activity_id, on, sector in rows
    ]


def _engaged_items(start: date, end: date, timezone: str | ZoneInfo) -> list[Item]:
    period = Period.of(start, end, timezone)
    stakeholders = facts.stakeholder_facts()
    found = []
    for interaction_id, stakeholder_id, occurred_at in facts.interaction_links(period):
        stakeholder = stakeholders.get(stakeholder_id)
        if stakeholder is None:  # in the trash
            continue
        day = period.local_date(occurred_at)
        for sector in sorted(stakeholder.sectors):
            keys = ((STAKEHOLDER_TYPE, stakeholder.type), (SECTOR, sector))
            found.append(Item(day, ("stakeholder", stakeholder_id), interaction_id, keys))
    return found


def items(
    metric: Metric | str,
    start: date,
    end: date,
    *,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
) -> list[Item]:
    """Every contribution to `metric` from `start` to `end` (both included); read-only.

    One Item per contribution, loaded into memory: the definitions applied to plain rows,
    which the tests hold the database's counts (`counted`) to. Pages use `counted`: this
    grows with the records of the period.
    """
    metric = Metric(metric)
    if metric in TRAINING_METRICS:
        return _training_items(metric, start, end)
    if metric == Metric.stakeholders_engaged:
        return _engaged_items(start, end, timezone)
    return _activity_items(metric, start, end)


# ---------------------------------------------------------------------------------------------
# Counting them
# ---------------------------------------------------------------------------------------------


def matching(found: Iterable[Item], dimension: str | None, key: str | None) -> list[Item]:
    """The items under one key of a breakdown (all of them without a dimension)."""
    if dimension is None:
        return list(found)
    return [i for i in found if i.key(dimension) == key]


def _breakdown(inside: Sequence[Item], dimension: str) -> Breakdown:
    records: defaultdict[str, set[tuple[str, int]]] = defaultdict(set)
    extra: Counter[str] = Counter()
    for i in inside:
        key = i.key(dimension)
        if key is None:
            continue
        if i.record is None:
            extra[key] += i.count
        else:
            records[key].add(i.record)
    return Breakdown(dimension, tuple((k, len(records[k]) + extra[k]) for k in KEYS[dimension]))


def figure(
    loaded: Iterable[Item],
    start: date,
    end: date,
    *,
    dimensions: Sequence[str] = (),
) -> Figure:
    """The figure of the period from `start` to `end` (both included) out of loaded items."""
    inside = [i for i in loaded if start <= i.day <= end]
    named = {i.record for i in inside if i.record is not None}
    unnamed = sum(i.count for i in inside if i.record is None)
    breakdowns = tuple(_breakdown(inside, dimension) for dimension in dimensions)
    return Figure(start, end, len(named), unnamed, breakdowns)


def compute(
    metric: Metric | str,
    start: date,
    end: date,
    *,
    dimensions: Sequence[str] = (),
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
) -> Figure:
    """One figure over any period, counted by the database; InvalidInput for a period the
    reports refuse."""
    check_period(start, end)
    (found,) = counted(metric, [(start, end)], dimensions=dimensions, timezone=timezone)
    return found


def counted(
    metric: Metric | str,
    periods: Sequence[tuple[date, date]],
    *,
    dimensions: Sequence[str] = (),
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
) -> list[Figure]:
    """The figure of each period (they may overlap), with the breakdowns in `dimensions`,
    counted in one statement; read-only. The periods are not checked."""
    wanted = [d for d in dimensions if d in KEYS]
    found = tallies.tally(metric, periods, timezone=timezone, dimensions=wanted)
    return [
        Figure(
            start,
            end,
            found.named(k),
            found.unnamed(k),
            tuple(
                Breakdown(d, tuple((key, found.of(d, key, k)) for key in KEYS[d])) for d in wanted
            ),
        )
        for k, (start, end) in enumerate(periods)
    ]


# ---------------------------------------------------------------------------------------------
# Years and quarters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearFigures:
    """An indicator's figures in one year: each quarter and the whole year."""

    indicator: Indicator
    year: int
    quarters: tuple[Figure, ...]
    total: Figure
    target: Decimal | None
    today: date

    @property
    def progress(self) -> float | None:
        if self.target is None or self.target <= 0:
            return None
        return self.total.value / float(self.target)

    def has_started(self, figure: Figure) -> bool:
        """False for a period that begins after today: its value means nothing yet."""
        return figure.start <= self.today

    @property
    def periods(self) -> tuple[Figure, ...]:
        return (*self.quarters, self.total)

    def shown_keys(self, dimension: str) -> tuple[str, ...]:
        """The keys of a breakdown worth a column: those with a value in the year, plus
        women and men for sex."""
        found = self.total.breakdown(dimension)
        always = ALWAYS_SHOWN.get(dimension, ())
        return tuple(
            k for k in KEYS[dimension] if k in always or (found is not None and found.of(k))
        )


def _dimensions(indicator: Indicator) -> list[str]:
    return [d for d in indicator.disaggregations or [] if d in KEYS]


def _year_periods(year: int) -> list[tuple[date, date]]:
    return [*quarters(year), whole_year(year)]


def _year_figures(
    indicator: Indicator, year: int, found: Sequence[Figure], today: date
) -> YearFigures:
    """An indicator's view of its metric's figures (quarters, then the year): only the
    breakdowns it asks for."""
    dimensions = _dimensions(indicator)

    def own(f: Figure) -> Figure:
        kept = tuple(b for d in dimensions for b in f.breakdowns if b.dimension == d)
        return Figure(f.start, f.end, f.named, f.unnamed, kept)

    return YearFigures(
        indicator=indicator,
        year=year,
        quarters=tuple(own(f) for f in found[:4]),
        total=own(found[4]),
        target=target_for(indicator, year),
        today=today,
    )


def year_figures(
    indicators: Sequence[Indicator],
    year: int,
    *,
    today: date,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
    side_by_side_in: Flask | None = None,
) -> list[YearFigures]:
    """The figures of each indicator in `year`, by quarter and for the year; read-only.

    Each metric is counted once, in one statement, however many indicators share it. With
    `side_by_side_in` (the application), stakeholders engaged (the longest: it looks at every
    stakeholder) is counted beside the other metrics, on a second connection
    (crm.services.reporting.side_by_side): for callers whose session holds no uncommitted
    writes, such as a page or an API request.
    """
    check_year(year)
    wanted: dict[Metric, list[str]] = {}
    for indicator in indicators:
        dimensions = wanted.setdefault(Metric(indicator.metric), [])
        dimensions += [d for d in _dimensions(indicator) if d not in dimensions]
    # The longest first: it runs here while the others run beside it.
    metrics = sorted(wanted, key=lambda metric: metric != Metric.stakeholders_engaged)

    def count(metric: Metric) -> list[Figure]:
        return counted(metric, _year_periods(year), dimensions=wanted[metric], timezone=timezone)

    if side_by_side_in is not None and len(metrics) > 1:
        first, rest = side_by_side.run(
            side_by_side_in,
            lambda: count(metrics[0]),
            lambda: [count(metric) for metric in metrics[1:]],
        )
        results = [first, *rest]
    else:
        results = [count(metric) for metric in metrics]
    found = dict(zip(metrics, results, strict=True))
    return [
        _year_figures(indicator, year, found[Metric(indicator.metric)], today)
        for indicator in indicators
    ]


@dataclass(frozen=True)
class YearRow:
    year: int
    target: Decimal | None
    figure: Figure
    has_started: bool

    @property
    def progress(self) -> float | None:
        if self.target is None or self.target <= 0:
            return None
        return self.figure.value / float(self.target)


def _wanted_years(indicator: Indicator, also: Iterable[int]) -> list[int]:
    wanted = sorted({t.year for t in indicator.targets} | set(also))
    return [y for y in wanted if FIRST_YEAR <= y <= LAST_YEAR]


def _year_rows(
    indicator: Indicator, wanted: Sequence[int], found: Sequence[Figure], today: date
) -> list[YearRow]:
    return [
        YearRow(year, target_for(indicator, year), f, date(year, 1, 1) <= today)
        for year, f in zip(wanted, found, strict=True)
    ]


def years(
    indicator: Indicator,
    *,
    today: date,
    also: Iterable[int] = (),
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
) -> list[YearRow]:
    """One row per year that has a target (plus the years in `also`): target, value over the
    whole year, progress. The years are counted in one statement."""
    wanted = _wanted_years(indicator, also)
    if not wanted:
        return []
    periods = [whole_year(y) for y in wanted]
    found = counted(indicator.metric, periods, timezone=timezone)
    return _year_rows(indicator, wanted, found, today)


def overview(
    indicator: Indicator,
    year: int,
    *,
    today: date,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
) -> tuple[YearFigures, list[YearRow]]:
    """An indicator's page: its figures in `year` (as `year_figures`) and its row for every
    year with a target and for `year` (as `years`), counted together in one statement."""
    check_year(year)
    wanted = _wanted_years(indicator, [year])
    periods = [*_year_periods(year), *(whole_year(y) for y in wanted)]
    found = counted(indicator.metric, periods, dimensions=_dimensions(indicator), timezone=timezone)
    rows = _year_rows(indicator, wanted, [_bare(f) for f in found[5:]], today)
    return _year_figures(indicator, year, found[:5], today), rows


def _bare(found: Figure) -> Figure:
    return Figure(found.start, found.end, found.named, found.unnamed)
