"""The records behind an indicator's figure: what a reader opens to check a number.

`records` lists the organisations, people, stakeholders or activities that make up a figure
over a period (optionally under one category of a breakdown), each with the activities or
interactions through which it counts, plus the unnamed headcounts. Entries and headcounts
add up to the figure exactly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.extensions import db
from crm.models import Activity, Indicator, Interaction, Metric, Stakeholder
from crm.services import clock
from crm.services.errors import InvalidInput
from crm.services.reporting.facts import type_label, value_of
from crm.services.reporting.indicators.figures import Figure, Item, figure, items, matching
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
from crm.services.reporting.periods import check_period


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
    via: tuple[Via, ...] = ()


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
class Records:
    indicator: Indicator
    start: date
    end: date
    dimension: str | None
    key: str | None
    figure: Figure
    entries: tuple[Entry, ...]
    headcounts: tuple[Headcount, ...] = field(default_factory=tuple)

    @property
    def unnamed(self) -> int:
        return sum(h.total for h in self.headcounts)


def _activities(ids: Iterable[int]) -> dict[int, Via]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = sa.select(
        Activity.id, Activity.start_on, Activity.title, Activity.title_zh, Activity.type
    ).where(Activity.id.in_(wanted))
    return {
        row.id: Via("activity", row.id, row.start_on, row.title, row.title_zh, value_of(row.type))
        for row in db.session.execute(stmt)
    }


def _interactions(ids: Iterable[int], timezone: str | ZoneInfo) -> dict[int, Via]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = sa.select(Interaction.id, Interaction.occurred_at).where(Interaction.id.in_(wanted))
    return {
        iid: Via("interaction", iid, clock.local_date(when, timezone))
        for iid, when in db.session.execute(stmt)
    }


def _stakeholders(ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = sa.select(
        Stakeholder.id, Stakeholder.kind, Stakeholder.display_name, Stakeholder.chinese_name
    ).where(Stakeholder.id.in_(wanted))
    return {row.id: row for row in db.session.execute(stmt)}


def _check_breakdown(metric: Metric, dimension: str | None, key: str | None) -> None:
    if dimension is None:
        return
    if dimension not in SUPPORTED[metric]:
        raise InvalidInput(_("This figure has no such breakdown."), field="dimension")
    if key not in KEYS[dimension]:
        raise InvalidInput(_("Unknown category of the breakdown."), field="key")


def _record_detail(metric: Metric, first: Item) -> str:
    """The category a person, organisation or stakeholder counts under."""
    if metric == Metric.stakeholders_engaged:
        return type_label(first.key(STAKEHOLDER_TYPE) or "")
    if metric == Metric.enterprises_trained:
        return key_label(SECTOR, first.key(SECTOR) or "")
    return key_label(SEX, first.key(SEX) or NOT_STATED)


def _entries(metric: Metric, chosen: Sequence[Item], via_of: dict[int, Via]) -> tuple[Entry, ...]:
    per_record: dict[tuple[str, int], list[Item]] = defaultdict(list)
    for item in chosen:
        if item.record is not None:
            per_record[item.record].append(item)
    names = (
        {}
        if metric in ACTIVITY_METRICS
        else _stakeholders(record_id for _kind, record_id in per_record)
    )
    entries = []
    for (kind, record_id), found in per_record.items():
        day = min(i.day for i in found)
        if kind == "activity":
            via = via_of[record_id]
            detail = ", ".join(
                key_label(SECTOR, s) for s in sorted({i.key(SECTOR) or "" for i in found})
            )
            entries.append(Entry(kind, record_id, via.title, via.title_zh, detail, day, (via,)))
            continue
        vias = sorted(
            {via_of[i.via] for i in found if i.via in via_of}, key=lambda v: (v.day, v.id)
        )
        row = names[record_id]
        detail = _record_detail(metric, found[0])
        entries.append(
            Entry(
                value_of(row.kind),
                record_id,
                row.display_name,
                row.chinese_name,
                detail,
                day,
                tuple(vias),
            )
        )
    entries.sort(key=lambda e: (e.day, e.display_name.lower(), e.id))
    return tuple(entries)


def _headcounts(chosen: Sequence[Item], via_of: dict[int, Via]) -> tuple[Headcount, ...]:
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for item in chosen:
        if item.record is None:
            counts[item.via][item.key(SEX) or NOT_STATED] += item.count
    return tuple(
        Headcount(via_of[aid], c[WOMEN], c[MEN], c[NOT_STATED])
        for aid, c in sorted(counts.items(), key=lambda pair: (via_of[pair[0]].day, pair[0]))
    )


def records(
    indicator: Indicator,
    start: date,
    end: date,
    *,
    dimension: str | None = None,
    key: str | None = None,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
) -> Records:
    """The records that make up the indicator's figure from `start` to `end` (both included),
    optionally only those under one key of a breakdown (women, textile, enterprise...).

    Raises InvalidInput for a period the reports refuse, a breakdown the indicator's figure
    cannot give, or an unknown key. Entries and headcounts add up to the figure exactly.
    """
    check_period(start, end)
    metric = Metric(indicator.metric)
    _check_breakdown(metric, dimension, key)
    chosen = matching(items(metric, start, end, timezone=timezone), dimension, key)
    if metric == Metric.stakeholders_engaged:
        via_of = _interactions((i.via for i in chosen), timezone)
    else:
        via_of = _activities(i.via for i in chosen)
    return Records(
        indicator=indicator,
        start=start,
        end=end,
        dimension=dimension,
        key=key,
        figure=figure(chosen, start, end),
        entries=_entries(metric, chosen, via_of),
        headcounts=_headcounts(chosen, via_of),
    )
