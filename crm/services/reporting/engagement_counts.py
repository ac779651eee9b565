"""The engagement report's figures about stakeholders and interactions, counted by the
database in one statement.

crm.services.reporting.engagement_report defines each figure. `stakeholder_figures` counts
them over the values that crm.services.sector_masks stores (each stakeholder's and
interaction's sectors, each link's moment), as a UNION ALL of parts: every relevant
stakeholder once, in id order, as one number per stakeholder (type, influence, interest,
level, engaged in the period, sectors), counted per number and added up again into the map
and the groups that give the totals by type and by sector and coverage; the interactions of
each month, counted per channel and sectors off an index; and the high-influence
stakeholders not contacted, as listed. Each part reads one index in the order it needs, and
every count groups by a single integer, the cheapest key to sort by. The rules it shares
with the donor indicators (who is live, a stakeholder's type and sectors, who was contacted)
are the SQL building blocks of crm.services.reporting.facts.

Months are told apart by the UTC instants at which the period's local months begin: a range
of the index per month, or, with a type filter, `month_index` (a balanced CASE: a row makes a
handful of comparisons).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache
from itertools import pairwise
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Channel,
    Interaction,
    Stakeholder,
    StakeholderKind,
    UTCDateTime,
    interaction_stakeholders,
)
from crm.services import consent, sector_masks
from crm.services.reporting import facts
from crm.services.reporting.facts import LEVEL_CODES, SECTORS
from crm.services.reporting.periods import Period, in_period

CHANNELS = tuple(c.value for c in Channel)
CHANNEL_CODES = {c: n for n, c in enumerate(CHANNELS)}
_SCALE = 5  # influence and interest run from 1 to 5

_interactions = Interaction.__table__
_links = interaction_stakeholders
_stakeholders = Stakeholder.__table__


def month_index(moment: Any, period: Period) -> sa.ColumnElement[int]:
    """SQL: the position in `period.months` of the local month a stored moment (of the
    period) falls in, by comparing it with the UTC instants at which those months begin."""
    starts = [
        datetime.combine(month, time.min, tzinfo=period.zone).astimezone(UTC)
        for month in period.months[1:]
    ]

    def between(first: int, last: int) -> sa.ColumnElement[int]:
        if first == last:
            return sa.literal(first, sa.Integer)
        middle = (first + last + 1) // 2
        return sa.case(
            (moment < starts[middle - 1], between(first, middle - 1)),
            else_=between(middle, last),
        )

    return between(0, len(period.months) - 1)


# The parts of the statement, each row tagged with its part.
GRID, REACH, MONTHS, MISSED = range(4)
# A set of sectors (facts.SECTOR_BITS) is a number below this.
_MASKS = 1 << len(SECTORS)
# The columns of every part (a part fills those it needs; the others are NULL).
_INTS = ("key", "n", "mask", "type_code", "influence", "interest", "level")


def _nulls() -> dict[str, Any]:
    """Typed NULLs: PostgreSQL settles a UNION's column types arm by arm."""
    return {
        **{name: sa.cast(sa.null(), sa.BigInteger) for name in _INTS},
        "name": sa.cast(sa.null(), sa.String),
        "chinese_name": sa.cast(sa.null(), sa.String),
        "last_contacted_at": sa.cast(sa.null(), UTCDateTime()),
    }


def _part(part: int, **values: Any) -> sa.Select[Any]:
    columns = _nulls() | values
    return sa.select(
        sa.literal(part, sa.Integer).label("part"), *(v.label(k) for k, v in columns.items())
    )


def _number(value: int) -> Any:
    return sa.literal(value, sa.Integer)


# SQL statements kept for the reports last asked for (they hold no data, only their bounds):
# SQLAlchemy's statements are immutable and safe to run from several threads at once.
cache_statements = lru_cache(maxsize=32)


def _counted(part: int, key: Any, rows: sa.Select[Any]) -> sa.Select[Any]:
    """A part that counts the rows of `rows` per `key` (a number worked out per row). The key
    is worked out in a subquery that neither database merges into the count (OFFSET 0), so
    that only the key is sorted to be grouped: merged, SQLite would carry every column the
    key is made of through its sorter, and work the key out again per group."""
    keyed = rows.add_columns(key.label("key")).offset(0).subquery(f"keyed_{part}")
    return _part(part, key=keyed.c.key, n=sa.func.count()).group_by(keyed.c.key)


@dataclass(frozen=True)
class MonthCount:
    month: int  # position in period.months
    channel: str
    interactions: int
    by_sector: dict[str, int]  # "" = no sector


@dataclass(frozen=True)
class GroupCount:
    """Relevant stakeholders of a type, high-influence or not, engaged or not."""

    type: str
    high: bool
    engaged: bool
    total: int
    by_sector: dict[str, int]


@dataclass(frozen=True)
class Missed:
    """A high-influence stakeholder not contacted in the period, as listed."""

    facts: facts.StakeholderFacts
    last_contacted_at: datetime | None


@dataclass(frozen=True)
class StakeholderFigures:
    grid: dict[tuple[bool, int, int, str], int]  # (is a person, influence, interest, level)
    groups: tuple[GroupCount, ...]
    months: tuple[MonthCount, ...]
    missed: tuple[Missed, ...]  # most influential first, cut at the limit


def _stakeholders_parts(period: Period, relevant: Any, high: int) -> list[sa.Select[Any]]:
    """Every relevant stakeholder's type, scores, level, sectors and whether it was contacted
    in the period, as one number, counted per number; those counts, added up again, are the
    map (is a person, influence, interest, level) and the groups (type, high-influence or
    not, engaged or not, sectors) that the totals by type and by sector and coverage come
    from. The number is worked out row by row in id order (a probe of the stakeholder's
    links each, which walks their index forwards) before the rows are sorted to be counted:
    one integer is the cheapest key to sort by. Only the few rows of the map and the groups
    come back (a row per number would be thousands, for Python to build and collect)."""
    r = relevant.c
    engaged = sa.case((facts.contacted_in(r.id, period), 1), else_=0)
    scores = (r.type_code * _SCALE + r.influence - 1) * _SCALE + r.interest - 1
    key = ((scores * len(LEVEL_CODES) + r.level_code) * 2 + engaged) * _MASKS + r.mask
    keyed = sa.select(key.label("key")).select_from(relevant).offset(0).subquery("keyed")
    counted = (
        sa.select(keyed.c.key, sa.func.count().label("n"))
        .group_by(keyed.c.key)
        .cte("counted")
        .prefix_with("MATERIALIZED")
    )
    number = counted.c.key
    # The number's parts, as `key` puts them together (integer division).
    scores_and_level = number // (2 * _MASKS)
    cells = _SCALE * _SCALE * len(LEVEL_CODES)
    type_code = scores_and_level // cells
    influence = (scores_and_level // (_SCALE * len(LEVEL_CODES))) % _SCALE + 1
    is_person = sa.case((type_code == facts.TYPE_CODES[facts.PERSON], 1), else_=0)
    grid_key = is_person * cells + scores_and_level % cells
    is_high = sa.case((influence >= high, 1), else_=0)
    group_key = ((type_code * 2 + is_high) * 2 + (number // _MASKS) % 2) * _MASKS + number % _MASKS
    return [
        _part(part, key=key_of, n=sa.func.sum(counted.c.n)).group_by(key_of)
        for part, key_of in ((GRID, grid_key), (REACH, group_key))
    ]


def _month_starts(period: Period) -> list[datetime]:
    """The UTC instants at which the period and each of its later local months begin, and
    the one at which it ends."""
    starts = [
        datetime.combine(month, time.min, tzinfo=period.zone).astimezone(UTC)
        for month in period.months[1:]
    ]
    return [period.start_at, *starts, period.end_at]


def _months_parts(
    period: Period, relevant: Any, sector: str | None, stakeholder_type: str | None
) -> list[sa.Select[Any]]:
    """The interactions of the period per month, channel and the sectors they count under
    (their relevant stakeholders'), as one number each, counted per number.

    Without a type filter, an interaction's stored mask says which sectors its live
    stakeholders have, and so whether it involves a relevant one: each month is a range of
    ix_interactions_deleted_occurred, read off the index alone (one arm per month: comparing
    every row with the months' bounds cost more than the reading). A type filter needs the
    relevant stakeholders themselves: `_months_by_links`."""
    if stakeholder_type:
        return [_months_by_links(period, relevant)]
    it = _interactions
    channel = sa.case(CHANNEL_CODES, value=it.c.channel)
    mask = _number(facts.SECTOR_BITS[sector]) if sector else it.c.sector_mask
    arms = []
    for month, (start, end) in enumerate(pairwise(_month_starts(period))):
        key = (_number(month * len(CHANNELS)) + channel) * _MASKS + mask
        rows = sa.select().where(
            it.c.deleted_at.is_(None),
            it.c.occurred_at >= start,
            it.c.occurred_at < end,
            facts.has_sector(it.c.sector_mask, sector) if sector else sa.true(),
        )
        arms.append(_counted(MONTHS, key, rows))
    return arms


def _months_by_links(period: Period, relevant: Any) -> sa.Select[Any]:
    """With a type filter: the interactions of the period that involve a relevant
    stakeholder, found from those stakeholders' links of the period, with the union of their
    sectors; then counted per month, channel and sectors."""
    link = _links.alias("relevant_link")
    per_interaction = (
        sa.select(link.c.interaction_id, sector_masks.union_of(relevant.c.mask).label("mask"))
        .join(relevant, relevant.c.id == link.c.stakeholder_id)
        .where(in_period(link.c.occurred_at, period))
        .group_by(link.c.interaction_id)
        .subquery("per_interaction")
    )
    it = _interactions
    month = month_index(it.c.occurred_at, period)
    key = (month * len(CHANNELS) + sa.case(CHANNEL_CODES, value=it.c.channel)) * _MASKS + (
        per_interaction.c.mask
    )
    joined = per_interaction.join(it, it.c.id == per_interaction.c.interaction_id)
    return _counted(MONTHS, key, sa.select().select_from(joined))


def _missed_part(
    period: Period,
    sector: str | None,
    stakeholder_type: str | None,
    high: int,
    limit: int | None,
) -> sa.Select[Any]:
    """The high-influence relevant stakeholders not contacted in the period, most influential
    first, then by name, cut at `limit`: read in (influence, interest) order off
    ix_stakeholders_scores, the first groups give the first rows. Their sectors (all of
    them, whatever the filter) and last contact are read for the rows kept only."""
    st = _stakeholders
    order = (st.c.influence.desc(), st.c.interest.desc(), sa.func.lower(st.c.display_name), st.c.id)
    kept = (
        facts.relevant_rows(sector=sector, stakeholder_type=stakeholder_type)
        .add_columns(
            st.c.display_name,
            consent.reported_name(st.c.display_name, st.c.id).label("shown_name"),
            consent.reported_detail(st.c.chinese_name, st.c.id).label("chinese_name"),
            st.c.sector_mask.label("sectors"),
        )
        .where(st.c.influence >= high, ~facts.contacted_in(st.c.id, period))
        .order_by(*order)
        .limit(limit)
        .subquery("missed")
    )
    m = kept.c
    rank = sa.func.row_number().over(
        order_by=(m.influence.desc(), m.interest.desc(), sa.func.lower(m.display_name), m.id)
    )
    return _part(
        MISSED,
        key=rank,
        n=m.id,
        type_code=m.type_code,
        influence=m.influence,
        interest=m.interest,
        level=m.level_code,
        mask=m.sectors,
        name=m.shown_name,
        chinese_name=m.chinese_name,
        last_contacted_at=facts.last_contact(m.id),
    )


@cache_statements
def _statement(
    period: Period,
    sector: str | None,
    stakeholder_type: str | None,
    high_influence: int,
    missed_limit: int | None,
) -> sa.CompoundSelect[Any]:
    """The statement of `stakeholder_figures`, built once per report asked for: its
    thousands of expression objects (a dozen months) cost more to build, and to collect
    afterwards, than the database takes to plan it."""
    relevant = facts.relevant_rows(sector=sector, stakeholder_type=stakeholder_type).subquery(
        "relevant"
    )
    return sa.union_all(
        *_stakeholders_parts(period, relevant, high_influence),
        *_months_parts(period, relevant, sector, stakeholder_type),
        _missed_part(period, sector, stakeholder_type, high_influence, missed_limit),
    )


def stakeholder_figures(
    period: Period,
    *,
    sector: str | None,
    stakeholder_type: str | None,
    high_influence: int,
    missed_limit: int | None,
) -> StakeholderFigures:
    """The figures about stakeholders and interactions, in one statement (see the module)."""
    stmt = _statement(period, sector, stakeholder_type, high_influence, missed_limit)
    rows = db.session.execute(stmt).mappings().all()
    return StakeholderFigures(
        grid=_grid(r for r in rows if r["part"] == GRID),
        groups=_groups(r for r in rows if r["part"] == REACH),
        months=_month_counts(r for r in rows if r["part"] == MONTHS),
        missed=tuple(
            _missed(r) for r in sorted((r for r in rows if r["part"] == MISSED), key=_key)
        ),
    )


def _key(row: Any) -> int:
    return int(row["key"])


def _by_sector(counts: Counter[int]) -> dict[str, int]:
    """Per sector (and "" for none), the count of the masks that include it."""
    found = {
        s: sum(n for mask, n in counts.items() if mask & bit)
        for s, bit in facts.SECTOR_BITS.items()
    }
    return found | {facts.NO_SECTOR: counts.get(0, 0)}


def _grid(rows: Iterable[Any]) -> dict[tuple[bool, int, int, str], int]:
    """The map's cells: (is a person, influence, interest, level) → relevant stakeholders."""
    found = {}
    for row in rows:
        rest, level = divmod(_key(row), len(LEVEL_CODES))
        rest, interest = divmod(rest, _SCALE)
        is_person, influence = divmod(rest, _SCALE)
        found[(bool(is_person), influence + 1, interest + 1, facts.LEVELS[level])] = int(row["n"])
    return found


def _groups(rows: Iterable[Any]) -> tuple[GroupCount, ...]:
    """The relevant stakeholders per type, high-influence or not, engaged or not, with their
    sectors."""
    groups: dict[tuple[str, bool, bool], Counter[int]] = {}
    for row in rows:
        rest, mask = divmod(_key(row), _MASKS)
        rest, engaged = divmod(rest, 2)
        type_code, high = divmod(rest, 2)
        masks = groups.setdefault((facts.TYPES[type_code], bool(high), bool(engaged)), Counter())
        masks[mask] += int(row["n"])
    return tuple(
        GroupCount(type_, high, engaged, sum(masks.values()), _by_sector(masks))
        for (type_, high, engaged), masks in groups.items()
    )


def _month_counts(rows: Iterable[Any]) -> tuple[MonthCount, ...]:
    found: dict[tuple[int, int], Counter[int]] = {}
    for row in rows:
        rest, mask = divmod(_key(row), _MASKS)
        found.setdefault(divmod(rest, len(CHANNELS)), Counter())[mask] += int(row["n"])
    return tuple(
        MonthCount(month, CHANNELS[channel], sum(masks.values()), _by_sector(masks))
        for (month, channel), masks in sorted(found.items())
    )


def _missed(row: Any) -> Missed:
    is_person = facts.TYPES[row["type_code"]] == facts.PERSON
    kind = StakeholderKind.person if is_person else StakeholderKind.organisation
    found = facts.StakeholderFacts(
        id=row["n"],
        kind=kind.value,
        type=facts.TYPES[row["type_code"]],
        sectors=facts.sectors_of_mask(int(row["mask"] or 0)),
        influence=row["influence"],
        interest=row["interest"],
        level=facts.LEVELS[row["level"]],
        name=consent.name_or_anonymous(row["name"]),
        chinese_name=row["chinese_name"],
    )
    return Missed(found, row["last_contacted_at"])
