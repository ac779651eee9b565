"""Indicator figures counted by the database: grouped, conditional counts per category.

`tally` counts one metric over several periods at once (a year's four quarters and the year,
say) in one statement, whatever the number of records: the rows of each record are grouped
into one row per record with a flag per period it counts in, and those flags are summed per
category. So what comes back is a few rows per category, never the records themselves. The
definitions are those of crm.services.reporting.indicators.figures, which keeps `items` as
the same rules written over loaded rows; the shared rules (what lives, who attended) are
those of crm.services.reporting.facts.

The building blocks (`attendance`, `officials`, `trained_enterprises`, `activity_rows`,
`engaged_links`) are the rows that make up each figure, as queries: the records behind a
figure (crm.services.reporting.indicators.sources) are listed from the same blocks, so a page
of records and the figure it opens cannot disagree. They join table by table, never through
a parenthesised (stakeholders JOIN people), which SQLite cannot flatten. Stakeholders engaged
are counted as the engagement report counts them: each live stakeholder once, with a probe
of its links in the period, under the sectors crm.services.sector_masks stores (which the
records behind that figure are filtered by too).

Periods of activities compare dates; periods of interactions compare stored UTC moments
with the bounds of the period's local days (crm.services.reporting.periods), which every
database does alike: a record's rows fall into stretches between the periods' bounds by a
CASE over those bounds, never by a database's date functions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    ActivityStatus,
    ActivityType,
    Gender,
    Interaction,
    Metric,
    Organisation,
    OrgType,
    Participation,
    ParticipationStatus,
    PartyRole,
    Person,
    Stakeholder,
    StakeholderKind,
    interaction_stakeholders,
)
from crm.services.reporting import facts
from crm.services.reporting.facts import PERSON, value_of
from crm.services.reporting.indicators.metrics import (
    MEN,
    NOT_STATED,
    OTHER,
    SECTOR,
    SEX,
    STAKEHOLDER_TYPE,
    SUPPORTED,
    WOMEN,
)
from crm.services.reporting.periods import Period, in_period

ACTIVITIES = Activity.__table__
PARTICIPATIONS = Participation.__table__
PARTIES = ActivityParty.__table__
STAKEHOLDERS = Stakeholder.__table__
PEOPLE = Person.__table__
ORGANISATIONS = Organisation.__table__
INTERACTIONS = Interaction.__table__
LINKS = interaction_stakeholders

# Named attendees by sex, as the definition maps genders (anything else: not stated).
SEX_CASE = (
    (Gender.female.value, WOMEN),
    (Gender.male.value, MEN),
    (Gender.other.value, OTHER),
)
# The unnamed headcounts of a training, by the sheet's sex.
HEADCOUNTS = (
    (WOMEN, ACTIVITIES.c.unnamed_women),
    (MEN, ACTIVITIES.c.unnamed_men),
    (NOT_STATED, ACTIVITIES.c.unnamed_unspecified),
)
TRAINING_METRICS = (
    Metric.enterprises_trained,
    Metric.officials_trained,
    Metric.participants_trained,
)
UNNAMED = "unnamed:"  # parts of unnamed headcounts: "unnamed:women" keyed by sector
# The part whose keys add up to a metric's named total: each record has one key there.
TOTAL_PART = {
    Metric.participants_trained: SEX,
    Metric.officials_trained: SEX,
    Metric.enterprises_trained: SECTOR,
    Metric.forums_held: SECTOR,
    Metric.mous_signed: SECTOR,
    Metric.research_published: SECTOR,
    Metric.stakeholders_engaged: STAKEHOLDER_TYPE,
}


# ---------------------------------------------------------------------------------------------
# The periods counted together
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Periods counted in one query (they may overlap), and the range that holds them."""

    periods: tuple[tuple[date, date], ...]
    timezone: str | ZoneInfo

    @property
    def first(self) -> date:
        return min(start for start, _end in self.periods)

    @property
    def last(self) -> date:
        return max(end for _start, end in self.periods)

    @property
    def whole(self) -> Period:
        return Period.of(self.first, self.last, self.timezone)

    def covers_all(self, k: int) -> bool:
        return self.periods[k] == (self.first, self.last)

    def on_days(self, day: Any, k: int) -> Any:
        """SQL: a date lies in period k."""
        start, end = self.periods[k]
        return sa.and_(day >= start, day <= end)

    def at_moments(self, moment: Any, k: int) -> Any:
        """SQL: a stored moment lies in the local days of period k."""
        return in_period(moment, Period.of(*self.periods[k], self.timezone))


ONE: Any = sa.literal_column("1")
ZERO: Any = sa.literal_column("0")
ONE_DAY = timedelta(days=1)
MAX_BITS = 62  # the stretches a bit mask can tell apart (a signed 64-bit integer)
MASKS = 1 << len(facts.SECTORS)  # a set of sectors (facts.SECTOR_BITS) is a number below this


def _flags(span: Span, inside: Callable[[Any, int], Any], at: Any) -> list[Any]:
    """Per record (grouped): 1 when one of its rows lies in period k, else 0."""
    return [
        ONE.label(f"f{k}")
        if span.covers_all(k)
        else sa.func.max(sa.case((inside(at, k), ONE), else_=ZERO)).label(f"f{k}")
        for k in range(len(span.periods))
    ]


def _intervals(span: Span) -> list[tuple[date, date, int]]:
    """The stretches between the periods' bounds (first and last day), each with a bit of its
    own; 0 for a stretch that no period covers. A period is the union of its stretches."""
    bounds = sorted(
        {start for start, _end in span.periods} | {end + ONE_DAY for _start, end in span.periods}
    )
    found: list[tuple[date, date, int]] = []
    for start, after in itertools.pairwise(bounds):
        covered = any(s <= start and after - ONE_DAY <= e for s, e in span.periods)
        found.append((start, after - ONE_DAY, 1 << len(found) if covered else 0))
    return found


def _stretch_bucket(span: Span, at_moment: Any) -> Any:
    """SQL: the bit of the stretch (`_intervals`) a moment of the span lies in."""
    stretches = _intervals(span)
    cases = [
        (at_moment < Period.of(last, last, span.timezone).end_at, _number(bit))
        for _start, last, bit in stretches[:-1]
    ]
    final = _number(stretches[-1][2])
    return sa.case(*cases, else_=final) if cases else final


def _period_bits(span: Span) -> list[int]:
    """Per period, the bits of the stretches that make it up."""
    return [
        sum(bit for s, e, bit in _intervals(span) if start <= s and e <= end)
        for start, end in span.periods
    ]


def _number(value: int) -> Any:
    return sa.literal_column(str(int(value)), sa.BigInteger)


def _sums(span: Span, per: Any) -> list[Any]:
    return [sa.func.sum(per.c[f"f{k}"]).label(f"v{k}") for k in range(len(span.periods))]


def _text(column: Any) -> Any:
    """A key read back as plain text, whatever enum the column holds (parts share a column)."""
    return sa.type_coerce(column, sa.String)


def _part(name: str) -> Any:
    return sa.literal_column(f"'{name}'", sa.String).label("part")


def _counted(
    name: str, rows: Any, key: Any, span: Span, inside: Callable[[Any, int], Any]
) -> sa.Select[Any]:
    """One part of a tally: per key, how many distinct records of `rows` count in each
    period. `rows` has a `rec` and an `at` column; `key` is one of its columns."""
    per = (
        sa.select(rows.c.rec, _text(key).label("key"), *_flags(span, inside, rows.c.at))
        .group_by(rows.c.rec, key)
        .subquery(f"per_{name}")
    )
    return sa.select(_part(name), per.c.key, *_sums(span, per)).group_by(per.c.key)


# ---------------------------------------------------------------------------------------------
# The rows behind each figure
# ---------------------------------------------------------------------------------------------


def held_trainings(first: date, last: date) -> list[Any]:
    """SQL conditions: a live training with status "held" starting from `first` to `last`."""
    return [
        ACTIVITIES.c.type == ActivityType.training,
        ACTIVITIES.c.start_on >= first,
        ACTIVITIES.c.start_on <= last,
        ACTIVITIES.c.deleted_at.is_(None),
        ACTIVITIES.c.status == ActivityStatus.held,
    ]


def sex_of(gender: Any) -> Any:
    """SQL: the sex a named attendee counts under."""
    return sa.case(
        *((gender == value, sa.literal(sex)) for value, sex in SEX_CASE), else_=NOT_STATED
    )


def attendance(first: date, last: date) -> sa.Select[Any]:
    """Named attendees of the trainings held from `first` to `last`: `rec` (the person),
    `at` (the training's day), `activity_id`, `training_sector`, `sex`, and their
    organisation at the time when it is live (`org_id`, `org_type`, `org_sector`).

    Joined table by table (never a parenthesised join), so that every database starts from
    the period's trainings, found by the (type, start_on) index."""
    person = STAKEHOLDERS.alias("attendee")
    employer = STAKEHOLDERS.alias("employer")
    return (
        sa.select(
            PARTICIPATIONS.c.person_id.label("rec"),
            ACTIVITIES.c.start_on.label("at"),
            ACTIVITIES.c.id.label("activity_id"),
            ACTIVITIES.c.sector.label("training_sector"),
            sex_of(PEOPLE.c.gender).label("sex"),
            ORGANISATIONS.c.id.label("org_id"),
            ORGANISATIONS.c.org_type.label("org_type"),
            ORGANISATIONS.c.sector.label("org_sector"),
        )
        .select_from(ACTIVITIES)
        .join(
            PARTICIPATIONS,
            sa.and_(
                PARTICIPATIONS.c.activity_id == ACTIVITIES.c.id,
                PARTICIPATIONS.c.status == ParticipationStatus.attended,
            ),
        )
        .join(
            person,
            sa.and_(person.c.id == PARTICIPATIONS.c.person_id, person.c.deleted_at.is_(None)),
        )
        .join(PEOPLE, PEOPLE.c.id == PARTICIPATIONS.c.person_id)
        .outerjoin(
            employer,
            sa.and_(
                employer.c.id == PARTICIPATIONS.c.organisation_id,
                employer.c.deleted_at.is_(None),
            ),
        )
        .outerjoin(ORGANISATIONS, ORGANISATIONS.c.id == employer.c.id)
        .where(*held_trainings(first, last))
    )


def officials(first: date, last: date) -> sa.Select[Any]:
    """The attendees whose organisation at the time is a live government body."""
    return attendance(first, last).where(ORGANISATIONS.c.org_type == OrgType.government)


def trained_enterprises(first: date, last: date) -> sa.Select[Any]:
    """Live enterprises reached by the trainings: `rec` (the enterprise), `at`, `activity_id`,
    `org_sector`; from a named attendee's organisation at the time, or a participating
    party. One row per enterprise and way it counts (UNION ALL: a record may repeat)."""
    named = attendance(first, last).subquery("named")
    through_people = sa.select(
        named.c.org_id.label("rec"),
        named.c.at,
        named.c.activity_id,
        named.c.org_sector,
    ).where(named.c.org_type == OrgType.enterprise)
    live = STAKEHOLDERS.alias("party")
    through_parties = (
        sa.select(
            PARTIES.c.organisation_id.label("rec"),
            ACTIVITIES.c.start_on.label("at"),
            ACTIVITIES.c.id.label("activity_id"),
            ORGANISATIONS.c.sector.label("org_sector"),
        )
        .select_from(ACTIVITIES)
        .join(
            PARTIES,
            sa.and_(
                PARTIES.c.activity_id == ACTIVITIES.c.id,
                PARTIES.c.role == PartyRole.participant,
            ),
        )
        .join(live, sa.and_(live.c.id == PARTIES.c.organisation_id, live.c.deleted_at.is_(None)))
        .join(ORGANISATIONS, ORGANISATIONS.c.id == PARTIES.c.organisation_id)
        .where(*held_trainings(first, last), ORGANISATIONS.c.org_type == OrgType.enterprise)
    )
    return sa.union_all(through_people, through_parties)  # type: ignore[return-value]


def activity_rows(metric: Metric, first: date, last: date) -> sa.Select[Any]:
    """The forums, MoUs or research outputs counted from `first` to `last`: `rec` (the
    activity), `at` (the day it counts on), `sector`, `title`, `title_zh`, `type`."""
    day: Any
    if metric == Metric.forums_held:
        day = ACTIVITIES.c.start_on
        conditions = [
            ACTIVITIES.c.type == ActivityType.forum,
            ACTIVITIES.c.status == ActivityStatus.held,
        ]
    elif metric == Metric.mous_signed:
        day = ACTIVITIES.c.signed_on
        conditions = [ACTIVITIES.c.type == ActivityType.mou]
    else:
        day = sa.func.coalesce(ACTIVITIES.c.end_on, ACTIVITIES.c.start_on)
        conditions = [
            ACTIVITIES.c.type == ActivityType.research,
            ACTIVITIES.c.status != ActivityStatus.cancelled,
            ACTIVITIES.c.publication.is_not(None),
            sa.func.length(sa.func.trim(ACTIVITIES.c.publication)) > 0,
        ]
    return sa.select(
        ACTIVITIES.c.id.label("rec"),
        day.label("at"),
        ACTIVITIES.c.sector,
        ACTIVITIES.c.title,
        ACTIVITIES.c.title_zh,
        ACTIVITIES.c.type,
    ).where(ACTIVITIES.c.deleted_at.is_(None), day >= first, day <= last, *conditions)


def engaged_links(period: Period) -> sa.Select[Any]:
    """(rec: the stakeholder, at: the moment, interaction_id) of every stakeholder linked to
    a live interaction of the period; the stakeholder may be in the trash (join the live
    ones). The (deleted_at, occurred_at) index finds the period's interactions."""
    return (
        sa.select(
            LINKS.c.stakeholder_id.label("rec"),
            INTERACTIONS.c.occurred_at.label("at"),
            LINKS.c.interaction_id,
        )
        .select_from(INTERACTIONS)
        .join(LINKS, LINKS.c.interaction_id == INTERACTIONS.c.id)
        .where(INTERACTIONS.c.deleted_at.is_(None), in_period(INTERACTIONS.c.occurred_at, period))
    )


def stakeholder_type(kind: Any, org_type: Any) -> Any:
    """SQL: a stakeholder's type, its organisation type or "person"."""
    return sa.case((kind == StakeholderKind.person, sa.literal(PERSON)), else_=_text(org_type))


# ---------------------------------------------------------------------------------------------
# Tallies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """A metric counted over several periods: `parts[part][key][k]` is the number of distinct
    records under that key in period k (or, for the parts "unnamed:<sex>", the headcounts of
    that sex, keyed by the training's sector)."""

    metric: Metric
    periods: tuple[tuple[date, date], ...]
    parts: dict[str, dict[str, list[int]]]

    def _sum(self, part: str, k: int) -> int:
        return sum(values[k] for values in self.parts.get(part, {}).values())

    def named(self, k: int) -> int:
        return self._sum(TOTAL_PART[self.metric], k)

    def unnamed(self, k: int) -> int:
        return sum(self._sum(UNNAMED + sex, k) for sex, _column in HEADCOUNTS)

    def of(self, dimension: str, key: str, k: int) -> int:
        """Named records under the key, plus the headcounts that fall under it."""
        found = self.parts.get(dimension, {}).get(key, [0] * len(self.periods))[k]
        if dimension == SEX:
            found += self._sum(UNNAMED + key, k)
        elif dimension == SECTOR:
            found += sum(
                self.parts.get(UNNAMED + sex, {}).get(key, [0] * len(self.periods))[k]
                for sex, _column in HEADCOUNTS
            )
        return found


def _headcount_parts(span: Span) -> list[sa.Select[Any]]:
    """The unnamed attendees of the period's trainings, per sheet sex and training sector."""
    return [
        sa.select(
            _part(UNNAMED + sex),
            _text(ACTIVITIES.c.sector).label("key"),
            *(
                sa.func.sum(
                    sa.case((span.on_days(ACTIVITIES.c.start_on, k), column), else_=0)
                ).label(f"v{k}")
                for k in range(len(span.periods))
            ),
        )
        .where(*held_trainings(span.first, span.last))
        .group_by(ACTIVITIES.c.sector)
        for sex, column in HEADCOUNTS
    ]


def _training_parts(metric: Metric, span: Span, dimensions: Sequence[str]) -> list[Any]:
    first, last = span.first, span.last
    if metric == Metric.enterprises_trained:
        reached = trained_enterprises(first, last).subquery("rows")
        return [_counted(SECTOR, reached, reached.c.org_sector, span, span.on_days)]
    chosen = attendance if metric == Metric.participants_trained else officials
    rows = chosen(first, last).cte("attendees")
    parts = [_counted(SEX, rows, rows.c.sex, span, span.on_days)]
    if SECTOR in dimensions:
        parts.append(_counted(SECTOR, rows, rows.c.training_sector, span, span.on_days))
    if metric == Metric.participants_trained:
        parts += _headcount_parts(span)
    return parts


def _engaged(span: Span, dimensions: Sequence[str]) -> dict[str, dict[str, list[int]]]:
    """Stakeholders engaged: every live stakeholder once, in id order (the report's
    `facts.relevant_rows`), with one probe of its links in the span, which walks their index
    forwards: the stretches of the span it has a contact in, as a bit mask (NULL for none).
    Grouped by type and sectors (one number) and that mask, which Python spreads over the
    periods and the sectors."""
    live = facts.relevant_rows().subquery("live")
    r = live.c
    link = LINKS.alias("engaged_link")
    near = [link.c.stakeholder_id == r.id, in_period(link.c.occurred_at, span.whole)]
    key = (r.type_code * _number(MASKS) + r.mask).label("key")
    every = all(span.covers_all(k) for k in range(len(span.periods)))
    if not every and len(_intervals(span)) > MAX_BITS:
        return _spread(span, dimensions, _engaged_per_period(span, live, key))
    if every:
        stretches: Any = sa.case((sa.exists(sa.select(ONE).where(*near)), ONE))
        bits = [1] * len(span.periods)
    else:
        bucket = _stretch_bucket(span, link.c.occurred_at)
        stretches = sa.select(sa.func.sum(sa.distinct(bucket))).where(*near).scalar_subquery()
        bits = _period_bits(span)
    # Worked out per stakeholder in a subquery neither database merges into the count (OFFSET
    # 0): merged, SQLite would sort every column they are made of and work them out again.
    per = (
        sa.select(key, sa.cast(stretches, sa.BigInteger).label("stretches"))
        .select_from(live)
        .offset(0)
        .subquery("per_stakeholder")
    )
    stmt = sa.select(per.c.key, per.c.stretches, sa.func.count()).group_by(
        per.c.key, per.c.stretches
    )
    counted = []
    for number, found, n in db.session.execute(stmt):
        if found is not None:
            values = [
                int(n) if int(found) & b or span.covers_all(k) else 0 for k, b in enumerate(bits)
            ]
            counted.append((int(number), values))
    return _spread(span, dimensions, counted)


def _engaged_per_period(span: Span, live: Any, key: Any) -> list[tuple[int, list[int]]]:
    """As `_engaged`, for more periods than a mask can tell apart: a probe per period, and
    one over the span (a type or sector counts, if only with zeros, when someone of it was
    contacted in the span)."""
    link = LINKS.alias("engaged_link")
    moments = [
        *(lambda at, k=k: span.at_moments(at, k) for k in range(len(span.periods))),
        lambda at: in_period(at, span.whole),
    ]
    flags = [
        sa.case(
            (
                sa.exists(
                    sa.select(ONE).where(
                        link.c.stakeholder_id == live.c.id, within(link.c.occurred_at)
                    )
                ),
                ONE,
            ),
            else_=ZERO,
        ).label(f"f{n}")
        for n, within in enumerate(moments)
    ]
    per = sa.select(key, *flags).select_from(live).offset(0).subquery("per_stakeholder")
    sums = [sa.func.sum(per.c[f"f{n}"]) for n in range(len(moments))]
    stmt = sa.select(per.c.key, *sums).group_by(per.c.key)
    return [
        (int(number), [int(v or 0) for v in values])
        for number, *values, in_span in db.session.execute(stmt)
        if in_span
    ]


def _spread(
    span: Span, dimensions: Sequence[str], counted: Sequence[tuple[int, list[int]]]
) -> dict[str, dict[str, list[int]]]:
    """Counts per (type and sectors) number, per period, as the type and sector parts: a
    stakeholder with two sectors counts under both."""
    found: dict[str, dict[str, list[int]]] = {STAKEHOLDER_TYPE: {}}
    if SECTOR in dimensions:
        found[SECTOR] = {}
    for number, values in counted:
        type_code, mask = divmod(number, MASKS)
        keys = {STAKEHOLDER_TYPE: [facts.TYPES[type_code]], SECTOR: facts.sectors_of_mask(mask)}
        for part, counts_of in found.items():
            for one in keys[part]:
                counts = counts_of.setdefault(one, [0] * len(span.periods))
                for k, value in enumerate(values):
                    counts[k] += value
    return found


def tally(
    metric: Metric | str,
    periods: Sequence[tuple[date, date]],
    *,
    timezone: str | ZoneInfo,
    dimensions: Sequence[str] | None = None,
) -> Tally:
    """Count `metric` in each of `periods` (they may overlap) in one statement; read-only.

    Counts the total and the breakdowns in `dimensions` (every breakdown the metric gives
    when None; a breakdown the metric cannot give counts nothing). The periods are not
    checked here: figures.compute and the pages check them.
    """
    metric = Metric(metric)
    span = Span(tuple((start, end) for start, end in periods), timezone)
    wanted = SUPPORTED[metric] if dimensions is None else tuple(dimensions)
    if metric == Metric.stakeholders_engaged:
        return Tally(metric, span.periods, _engaged(span, wanted))
    if metric in TRAINING_METRICS:
        parts = _training_parts(metric, span, wanted)
    else:
        rows = activity_rows(metric, span.first, span.last).subquery("rows")
        parts = [_counted(SECTOR, rows, rows.c.sector, span, span.on_days)]
    found: dict[str, dict[str, list[int]]] = {}
    stmt: Any = sa.union_all(*parts) if len(parts) > 1 else parts[0]
    for row in db.session.execute(stmt):
        name, key, *values = row
        counts = found.setdefault(name, {}).setdefault(value_of(key), [0] * len(span.periods))
        for k, value in enumerate(values):
            counts[k] += int(value or 0)
    return Tally(metric, span.periods, found)
