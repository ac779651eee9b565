"""The records behind an indicator's figure: what a reader opens to check a number.

`records` lists the organisations, people, stakeholders or activities that make up a figure
over a period (optionally under one category of a breakdown), each with the activities or
interactions through which it counts, plus the unnamed headcounts. Entries and headcounts
add up to the figure exactly.

The database groups and orders the records (from the rows that make up each figure,
crm.services.reporting.indicators.tallies), so a page costs a few statements whatever the
figure: it holds `per_page` records and at most `MAX_HEADCOUNTS` sign-in sheets, while the
figure, its split into named and unnamed, and the number of records stay exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import Indicator, Metric
from crm.services import clock, consent
from crm.services.errors import InvalidInput
from crm.services.reporting import facts
from crm.services.reporting.facts import type_label, value_of
from crm.services.reporting.indicators import tallies
from crm.services.reporting.indicators.figures import Figure
from crm.services.reporting.indicators.metrics import (
    ACTIVITY_METRICS,
    KEYS,
    MEN,
    NOT_STATED,
    SECTOR,
    SEX,
    STAKEHOLDER_TYPE,
    SUPPORTED,
    WOMEN,
    key_label,
)
from crm.services.reporting.periods import Period, check_period

PER_PAGE = 100
MAX_PER_PAGE = 500
MAX_PAGE = 100_000
MAX_HEADCOUNTS = 100  # sign-in sheets listed; their total always counts them all


@dataclass(frozen=True)
class Via:
    """An activity or interaction through which a record counts."""

    kind: str  # "activity" | "interaction"
    id: int
    day: date
    title: str = ""
    title_zh: str | None = None
    type: str = ""


@dataclass(frozen=True)
class Entry:
    """One record that counts: an organisation, a person, a stakeholder or an activity."""

    kind: str  # "organisation" | "person" | "activity"
    id: int
    display_name: str  # an activity's title
    chinese_name: str | None
    detail: str  # sex, sector or type: the category it counts under
    day: date  # the first day it counts in the period (an MoU's signing date, ...)
    via: tuple[Via, ...] = ()  # the activities it counts through (interactions: counted only)
    via_count: int = 0  # how many activities or interactions it counts through
    last_day: date | None = None  # the day of the last of them


@dataclass(frozen=True)
class Headcount:
    """The unnamed attendees of one activity that count."""

    activity: Via
    women: int
    men: int
    not_stated: int

    @property
    def total(self) -> int:
        return self.women + self.men + self.not_stated


@dataclass(frozen=True)
class Paging:
    """Which page of the records is shown: what the pager macro reads."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return min(self.page - 1, self.pages) if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def first(self) -> int:
        return min(self.total, (self.page - 1) * self.per_page + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    def iter_pages(
        self,
        *,
        left_edge: int = 2,
        left_current: int = 2,
        right_current: int = 4,
        right_edge: int = 2,
    ) -> Iterator[int | None]:
        """Page numbers around the current one and at both ends; None for a gap."""
        shown = sorted(
            {n for n in range(1, min(left_edge, self.pages) + 1)}
            | {
                n
                for n in range(self.page - left_current, self.page + right_current + 1)
                if 1 <= n <= self.pages
            }
            | {n for n in range(self.pages - right_edge + 1, self.pages + 1) if n >= 1}
        )
        previous = 0
        for number in shown:
            if number > previous + 1:
                yield None
            yield number
            previous = number


@dataclass(frozen=True)
class Records:
    indicator: Indicator
    start: date
    end: date
    dimension: str | None
    key: str | None
    figure: Figure
    entries: tuple[Entry, ...]  # the records of the page shown
    headcounts: tuple[Headcount, ...] = field(default_factory=tuple)  # the first sheets
    paging: Paging | None = None
    sheets: int = 0  # how many sign-in sheets count, listed or not

    @property
    def unnamed(self) -> int:
        return self.figure.unnamed


def _check_breakdown(metric: Metric, dimension: str | None, key: str | None) -> None:
    if dimension is None:
        return
    if dimension not in SUPPORTED[metric]:
        raise InvalidInput(_("This figure has no such breakdown."), field="dimension")
    if key not in KEYS[dimension]:
        raise InvalidInput(_("Unknown category of the breakdown."), field="key")


def _is(column: Any, key: str) -> Any:
    """SQL: a category column holds the key ("" is none)."""
    return column.is_(None) if key == "" else column == key


def _paged(
    grouped: sa.Select[Any], order: Sequence[str], page: int, per_page: int
) -> tuple[list[Any], int]:
    """One page of the grouped rows in `order` (names of its columns), and how many rows
    there are in all (one statement; a second only for a page past the end)."""
    rows = grouped.subquery("grouped")
    stmt = (
        sa.select(rows, sa.func.count().over().label("total_rows"))
        .order_by(*(rows.c[name] for name in order))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    found = list(db.session.execute(stmt))
    if found:
        return found, int(found[0].total_rows)
    if page == 1:
        return [], 0
    return [], int(db.session.scalar(sa.select(sa.func.count()).select_from(rows)) or 0)


def _names(rows: Any) -> sa.Select[Any]:
    """The records grouped in `rows` (a `rec` per stakeholder) with their names."""
    st = tallies.STAKEHOLDERS
    return (
        sa.select(
            rows,
            st.c.kind,
            consent.reported_name(st.c.display_name, rows.c.rec).label("display_name"),
            consent.reported_detail(st.c.chinese_name, rows.c.rec).label("chinese_name"),
            st.c.sort_name,
        )
        .select_from(rows)
        .join(st, st.c.id == rows.c.rec)
    )


# ---------------------------------------------------------------------------------------------
# Forums, MoUs, research outputs
# ---------------------------------------------------------------------------------------------


def _activity_entries(
    metric: Metric, start: date, end: date, key: str | None, page: int, per_page: int
) -> tuple[list[Entry], int]:
    rows = tallies.activity_rows(metric, start, end)
    if key is not None:
        rows = rows.where(_is(tallies.ACTIVITIES.c.sector, key))
    listed = rows.add_columns(
        tallies.ACTIVITIES.c.start_on, sa.func.lower(tallies.ACTIVITIES.c.title).label("sort")
    )
    found, total = _paged(listed, ("at", "sort", "rec"), page, per_page)
    entries = []
    for row in found:
        via = Via("activity", row.rec, row.start_on, row.title, row.title_zh, value_of(row.type))
        detail = key_label(SECTOR, value_of(row.sector))
        entries.append(
            Entry("activity", row.rec, row.title, row.title_zh, detail, row.at, (via,), 1, row.at)
        )
    return entries, total


# ---------------------------------------------------------------------------------------------
# People and enterprises trained
# ---------------------------------------------------------------------------------------------


def _trained_rows(
    metric: Metric, start: date, end: date, dimension: str | None, key: str | None
) -> tuple[Any, Any, list[Any]]:
    """The rows of the figure (a subquery), the column of the category each record is shown
    under (sex, or an enterprise's sector), and the condition of the chosen key."""
    if metric == Metric.enterprises_trained:
        rows = tallies.trained_enterprises(start, end).subquery("rows")
        shown, keyed = rows.c.org_sector, {SECTOR: rows.c.org_sector}
    else:
        chosen = tallies.attendance if metric == Metric.participants_trained else tallies.officials
        rows = chosen(start, end).subquery("rows")
        shown, keyed = rows.c.sex, {SEX: rows.c.sex, SECTOR: rows.c.training_sector}
    if dimension is None or key is None:
        return rows, shown, []
    return rows, shown, [_is(keyed[dimension], key)]


def _trained_entries(
    metric: Metric,
    start: date,
    end: date,
    dimension: str | None,
    key: str | None,
    page: int,
    per_page: int,
) -> tuple[list[Entry], int]:
    rows, category, where = _trained_rows(metric, start, end, dimension, key)
    per = (
        sa.select(
            rows.c.rec,
            sa.func.min(rows.c.at).label("first_day"),
            sa.func.max(rows.c.at).label("last_day"),
            sa.func.count(sa.distinct(rows.c.activity_id)).label("vias"),
            sa.func.max(category).label("category"),
        )
        .where(*where)
        .group_by(rows.c.rec)
        .subquery("per")
    )
    found, total = _paged(_names(per), ("first_day", "sort_name", "rec"), page, per_page)
    vias = _trainings_of([row.rec for row in found], rows, where)
    dimension_shown = SECTOR if metric == Metric.enterprises_trained else SEX
    entries = [
        Entry(
            value_of(row.kind),
            row.rec,
            consent.name_or_anonymous(row.display_name),
            row.chinese_name,
            key_label(dimension_shown, value_of(row.category) or _default(dimension_shown)),
            row.first_day,
            tuple(vias.get(row.rec, ())),
            row.vias,
            row.last_day,
        )
        for row in found
    ]
    return entries, total


def _default(dimension: str) -> str:
    return NOT_STATED if dimension == SEX else ""


def _trainings_of(records: Sequence[int], rows: Any, where: list[Any]) -> dict[int, list[Via]]:
    """The trainings through which each record of the page counts, by day."""
    if not records:
        return {}
    act = tallies.ACTIVITIES
    stmt = (
        sa.select(rows.c.rec, act.c.id, act.c.start_on, act.c.title, act.c.title_zh, act.c.type)
        .select_from(rows)
        .join(act, act.c.id == rows.c.activity_id)
        .where(rows.c.rec.in_(list(records)), *where)
        .distinct()
        .order_by(act.c.start_on, act.c.id)
    )
    found: defaultdict[int, list[Via]] = defaultdict(list)
    for rec, aid, day, title, title_zh, kind in db.session.execute(stmt):
        found[rec].append(Via("activity", aid, day, title, title_zh, value_of(kind)))
    return found


def _headcounts(
    start: date, end: date, dimension: str | None, key: str | None
) -> tuple[tuple[Headcount, ...], int, int]:
    """The first sign-in sheets of the period's trainings that count (under the key), how
    many sheets count, and how many unnamed attendees they add in all."""
    act = tallies.ACTIVITIES
    zero: Any = sa.literal_column("0")
    counts = [
        column if dimension != SEX or key == sex else zero
        for sex, column in ((WOMEN, act.c.unnamed_women), (MEN, act.c.unnamed_men))
    ]
    counts.append(act.c.unnamed_unspecified if dimension != SEX or key == NOT_STATED else zero)
    women, men, not_stated = counts
    total = women + men + not_stated
    conditions = [*tallies.held_trainings(start, end), total > 0]
    if dimension == SECTOR and key is not None:
        conditions.append(_is(act.c.sector, key))
    stmt = (
        sa.select(
            act.c.id,
            act.c.start_on,
            act.c.title,
            act.c.title_zh,
            act.c.type,
            women.label("women"),
            men.label("men"),
            not_stated.label("not_stated"),
            sa.func.count().over().label("sheets"),
            sa.func.sum(total).over().label("unnamed"),
        )
        .where(*conditions)
        .order_by(act.c.start_on, act.c.id)
        .limit(MAX_HEADCOUNTS)
    )
    found = list(db.session.execute(stmt))
    if not found:
        return (), 0, 0
    sheets = tuple(
        Headcount(
            Via("activity", r.id, r.start_on, r.title, r.title_zh, value_of(r.type)),
            int(r.women),
            int(r.men),
            int(r.not_stated),
        )
        for r in found
    )
    return sheets, int(found[0].sheets), int(found[0].unnamed)


# ---------------------------------------------------------------------------------------------
# Stakeholders engaged
# ---------------------------------------------------------------------------------------------


def _engaged_entries(
    start: date,
    end: date,
    dimension: str | None,
    key: str | None,
    timezone: str | ZoneInfo,
    page: int,
    per_page: int,
) -> tuple[list[Entry], int]:
    links = tallies.engaged_links(Period.of(start, end, timezone)).subquery("links")
    per = (
        sa.select(
            links.c.rec,
            sa.func.min(links.c.at).label("first_at"),
            sa.func.max(links.c.at).label("last_at"),
            sa.func.count().label("vias"),
        )
        .group_by(links.c.rec)
        .subquery("per")
    )
    st, org = tallies.STAKEHOLDERS, tallies.ORGANISATIONS
    kind = tallies.stakeholder_type(st.c.kind, org.c.org_type)
    listed = (
        _names(per)
        .add_columns(kind.label("type"))
        .outerjoin(org, org.c.id == per.c.rec)
        .where(st.c.deleted_at.is_(None))
    )
    if dimension == STAKEHOLDER_TYPE and key is not None:
        listed = listed.where(kind == key)
    elif dimension == SECTOR and key is not None:
        listed = listed.where(_in_sector(st.c.sector_mask, key))
    found, total = _paged(listed, ("first_at", "sort_name", "rec"), page, per_page)
    entries = [
        Entry(
            value_of(row.kind),
            row.rec,
            consent.name_or_anonymous(row.display_name),
            row.chinese_name,
            type_label(value_of(row.type)),
            clock.local_date(row.first_at, timezone),
            (),
            row.vias,
            clock.local_date(row.last_at, timezone),
        )
        for row in found
    ]
    return entries, total


def _in_sector(mask: Any, key: str) -> Any:
    """SQL: a stakeholder counts under the sector: one of those stored in its mask (its own,
    for an organisation; its current employers', for a person), or "" for none."""
    return facts.has_sector(mask, key) if key else mask == 0


# ---------------------------------------------------------------------------------------------
# The records behind a figure
# ---------------------------------------------------------------------------------------------


def records(
    indicator: Indicator,
    start: date,
    end: date,
    *,
    dimension: str | None = None,
    key: str | None = None,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Records:
    """The records that make up the indicator's figure from `start` to `end` (both included),
    optionally only those under one key of a breakdown (women, textile, enterprise...): one
    page of them, in the order they first count, and the first sign-in sheets.

    Raises InvalidInput for a period the reports refuse, a breakdown the indicator's figure
    cannot give, or an unknown key. Entries and headcounts add up to the figure exactly (over
    every page); a page past the last one is empty. Read-only.
    """
    check_period(start, end)
    metric = Metric(indicator.metric)
    _check_breakdown(metric, dimension, key)
    if dimension is None:
        key = None
    page = max(1, min(page, MAX_PAGE))
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    headcounts: tuple[Headcount, ...] = ()
    sheets = unnamed = 0
    if metric in ACTIVITY_METRICS:
        entries, total = _activity_entries(metric, start, end, key, page, per_page)
    elif metric == Metric.stakeholders_engaged:
        entries, total = _engaged_entries(start, end, dimension, key, timezone, page, per_page)
    else:
        entries, total = _trained_entries(metric, start, end, dimension, key, page, per_page)
        if metric == Metric.participants_trained:
            headcounts, sheets, unnamed = _headcounts(start, end, dimension, key)
    return Records(
        indicator=indicator,
        start=start,
        end=end,
        dimension=dimension,
        key=key,
        figure=Figure(start, end, total, unnamed),
        entries=tuple(entries),
        headcounts=headcounts,
        paging=Paging(page, per_page, total),
        sheets=sheets,
    )
