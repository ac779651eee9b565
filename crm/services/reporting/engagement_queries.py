"""The engagement report's figures, counted by the database.

crm.services.reporting.engagement_report defines each figure; the functions here count them
with grouped and conditional counts and read back a few rows per category (an assignee, an
activity type, a gender), never the records, plus the rows a list shows: level moves,
follow-ups and activities. The figures about stakeholders and interactions (the map, reach,
coverage, interactions per month) are one statement of their own, in
crm.services.reporting.engagement_counts. The rules they share with the donor indicators
(who is live, a stakeholder's type and sectors, who attended) are the SQL building blocks of
crm.services.reporting.facts.

Time: a stored moment is UTC. Calendar days are told apart by `local_day`, which PostgreSQL
computes with its time zone database and SQLite from the zone's UTC offsets, a CASE over the
instants they change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityType,
    AuditAction,
    AuditEvent,
    FollowUp,
    FollowUpStatus,
    Organisation,
    OrgType,
    Stakeholder,
    StakeholderKind,
    User,
)
from crm.services import consent
from crm.services.reporting import facts
from crm.services.reporting.facts import LEVEL_CODES
from crm.services.reporting.periods import FIRST_DAY, Period, in_period

_stakeholders = Stakeholder.__table__


# ---------------------------------------------------------------------------------------------
# Local days
# ---------------------------------------------------------------------------------------------


@cache
def _offsets(zone_key: str) -> tuple[tuple[datetime, int], ...]:
    """(from when, UTC offset in seconds) of the zone between the first day a record can
    have and 2101: found week by week (zones change at most twice a year), each change then
    narrowed down to its second. Computed once per zone and process."""
    zone = ZoneInfo(zone_key)

    def offset(second: int) -> int:
        found = datetime.fromtimestamp(second, zone).utcoffset()
        return int(found.total_seconds()) if found is not None else 0

    week = 7 * 86400
    second = int(datetime.combine(FIRST_DAY, time.min, tzinfo=UTC).timestamp()) - week
    end = int(datetime(2101, 1, 1, tzinfo=UTC).timestamp())
    found = [(second, offset(second))]
    while second < end:
        if offset(second + week) != found[-1][1]:
            low, high = second, second + week  # the new offset's first second: in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high, offset(high)))
        second += week
    return tuple((datetime.fromtimestamp(s, UTC), o) for s, o in found)


def local_day(
    moment: Any, zone: ZoneInfo, *, until: datetime | None = None
) -> sa.ColumnElement[int]:
    """SQL: the local calendar day of a stored moment, as a number of days (to subtract).
    `until`: the moments are all earlier (SQLite then leaves out the later changes)."""
    if db.session.get_bind().dialect.name == "postgresql":
        local = sa.cast(sa.func.timezone(zone.key, moment), sa.Date)
        return sa.type_coerce(local - sa.literal(date(1970, 1, 1), sa.Date), sa.Integer)
    changes = [c for c in _offsets(zone.key) if until is None or c[0] < until]
    offset: sa.ColumnElement[int] = sa.literal(changes[0][1], sa.Integer)
    if len(changes) > 1:
        offset = sa.case(
            *((moment < since, before) for (_, before), (since, _) in pairwise(changes)),
            else_=changes[-1][1],
        )
    seconds = sa.cast(sa.func.strftime("%s", moment), sa.Integer)
    return (seconds + offset) // 86400


# ---------------------------------------------------------------------------------------------
# Level moves, from the audit trail
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    stakeholder: facts.StakeholderFacts
    before: str
    after: str
    changed_at: datetime


@dataclass(frozen=True)
class Moves:
    listed: tuple[Move, ...]  # up first, then by name; cut at the limit
    up: int
    down: int


def _level_rank(level: Any) -> sa.Case[Any]:
    return sa.case(LEVEL_CODES, value=level)


def _level_changes(period: Period) -> sa.Subquery:
    """Every valid level change of the period: (entity_id, occurred_at, id, before, after)."""
    change = AuditEvent.changes
    before = change[("engagement_level", 0)].as_string()
    after = change[("engagement_level", 1)].as_string()
    levels = list(LEVEL_CODES)
    return (
        sa.select(
            AuditEvent.entity_id,
            AuditEvent.occurred_at,
            AuditEvent.id,
            before.label("before"),
            after.label("after"),
        )
        .where(
            AuditEvent.action.in_([AuditAction.update, AuditAction.merge]),
            AuditEvent.entity_type.in_(["organisations", "people", "stakeholders"]),
            in_period(AuditEvent.occurred_at, period),
            sa.cast(change, sa.Text).like("%engagement_level%"),
            before.in_(levels),
            after.in_(levels),
            change[("engagement_level", 2)].as_string().is_(None),  # a pair, nothing more
        )
        .subquery("changes")
    )


def level_moves(
    period: Period,
    *,
    sector: str | None,
    stakeholder_type: str | None,
    limit: int | None,
) -> Moves:
    """Net level moves of the relevant stakeholders over the period (one statement): the
    level before the first change against the level after the last; counted all, listed
    up to `limit`."""
    changes = _level_changes(period)
    c = changes.c
    by_entity: dict[str, Any] = {"partition_by": c.entity_id}
    net = (
        sa.select(
            c.entity_id,
            c.occurred_at,
            c.after,
            sa.func.first_value(c.before)
            .over(**by_entity, order_by=(c.occurred_at, c.id))
            .label("first_before"),
            sa.func.row_number()
            .over(**by_entity, order_by=(c.occurred_at.desc(), c.id.desc()))
            .label("from_last"),
        )
    ).subquery("net")
    n = net.c
    is_up = sa.case((_level_rank(n.after) > _level_rank(n.first_before), 1), else_=0)
    moved = (
        sa.select(n.entity_id, n.occurred_at, n.after, n.first_before, is_up.label("is_up"))
        .where(
            n.from_last == 1,
            n.after != n.first_before,
            facts.relevant(n.entity_id, sector=sector, stakeholder_type=stakeholder_type),
        )
        .subquery("moved")
    )
    rows = db.session.execute(_listed_moves(moved, limit)).mappings().all()
    if not rows:
        return Moves((), 0, 0)
    up = int(rows[0]["up"])
    return Moves(tuple(_move(r) for r in rows), up, int(rows[0]["total"]) - up)


def _listed_moves(moved: sa.Subquery, limit: int | None) -> sa.Select[Any]:
    st, ot = _stakeholders, Organisation.__table__
    m = moved.c
    return (
        sa.select(
            m.entity_id,
            m.occurred_at,
            m.first_before,
            m.after,
            consent.reported_name(st.c.display_name, m.entity_id).label("display_name"),
            consent.reported_detail(st.c.chinese_name, m.entity_id).label("chinese_name"),
            st.c.influence,
            st.c.interest,
            st.c.engagement_level,
            facts.type_code(ot.c.org_type).label("type_code"),
            st.c.sector_mask.label("mask"),
            sa.func.count().over().label("total"),
            sa.func.sum(m.is_up).over().label("up"),
        )
        .select_from(moved.join(st, st.c.id == m.entity_id).outerjoin(ot, ot.c.id == m.entity_id))
        .order_by(m.is_up.desc(), sa.func.lower(st.c.display_name), m.entity_id)
        .limit(limit)
    )


def _move(row: Any) -> Move:
    type_ = facts.TYPES[row["type_code"]]
    kind = StakeholderKind.person if type_ == facts.PERSON else StakeholderKind.organisation
    found = facts.StakeholderFacts(
        id=row["entity_id"],
        kind=kind.value,
        type=type_,
        sectors=facts.sectors_of_mask(int(row["mask"] or 0)),
        influence=row["influence"],
        interest=row["interest"],
        level=facts.value_of(row["engagement_level"]),
        name=consent.name_or_anonymous(row["display_name"]),
        chinese_name=row["chinese_name"],
    )
    return Move(found, row["first_before"], row["after"], row["occurred_at"])


# ---------------------------------------------------------------------------------------------
# Follow-ups
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpCounts:
    """One assignee's follow-ups (user_id None: everyone's), as engagement_report defines."""

    user_id: int | None
    name: str
    created: int
    completed: int
    created_counted: int
    created_done: int
    median_days: float | None
    overdue: int


_TALLIES = ("created", "completed", "created_counted", "created_done", "overdue")


def _follow_up_scope(
    period: Period, today: date, sector: str | None, stakeholder_type: str | None
) -> Any:
    """Each follow-up that counts in a column, with a 0/1 per column and its days to
    complete when completed in the period."""
    fu = FollowUp.__table__
    created = in_period(fu.c.created_at, period)
    completed = sa.and_(fu.c.status == FollowUpStatus.done, in_period(fu.c.completed_at, period))
    overdue = sa.and_(fu.c.status == FollowUpStatus.open, fu.c.due_on < today)
    counted = sa.and_(created, fu.c.status != FollowUpStatus.cancelled)
    done = sa.and_(counted, fu.c.status == FollowUpStatus.done, fu.c.completed_at < period.end_at)
    days = local_day(fu.c.completed_at, period.zone, until=period.end_at) - local_day(
        fu.c.created_at, period.zone, until=period.end_at
    )
    filtering = bool(sector or stakeholder_type)
    return (
        sa.select(
            fu.c.assignee_id,
            *(
                sa.case((condition, 1), else_=0).label(name)
                for name, condition in zip(
                    _TALLIES, (created, completed, counted, done, overdue), strict=True
                )
            ),
            sa.case((completed, days)).label("days"),
        )
        .where(
            fu.c.deleted_at.is_(None),
            sa.or_(created, completed, overdue),
            facts.relevant(fu.c.stakeholder_id, sector=sector, stakeholder_type=stakeholder_type)
            if filtering
            else sa.true(),
        )
        .cte("scope")
    )


def _median(days: Any, count: Any, rank: Any) -> Any:
    """SQL: the median of `days` (the mean of the two middle ones when their number is even),
    given each row's rank and their number."""
    return sa.func.avg(sa.case((sa.or_(rank == (count + 1) // 2, rank == (count + 2) // 2), days)))


def follow_ups(
    period: Period,
    *,
    today: date,
    sector: str | None,
    stakeholder_type: str | None,
) -> tuple[list[FollowUpCounts], FollowUpCounts]:
    """Per assignee and in all, the follow-up figures (one statement, a row per assignee)."""
    scope = _follow_up_scope(period, today, sector, stakeholder_type)
    s = scope.c
    timed = (
        sa.select(
            s.assignee_id,
            s.days,
            sa.func.row_number().over(partition_by=s.assignee_id, order_by=s.days).label("rank"),
            sa.func.count().over(partition_by=s.assignee_id).label("count"),
            sa.func.row_number().over(order_by=s.days).label("overall_rank"),
            sa.func.count().over().label("overall_count"),
        )
        .where(s.days.is_not(None))
        .cte("timed")
    )
    t = timed.c
    medians = (
        sa.select(t.assignee_id, _median(t.days, t.count, t.rank).label("median"))
        .group_by(t.assignee_id)
        .subquery("medians")
    )
    overall = sa.select(_median(t.days, t.overall_count, t.overall_rank)).scalar_subquery()
    tallies = (
        sa.select(s.assignee_id, *(sa.func.sum(s[name]).label(name) for name in _TALLIES))
        .group_by(s.assignee_id)
        .subquery("tallies")
    )
    users = User.__table__
    stmt = sa.select(tallies, users.c.name, medians.c.median, overall.label("overall")).select_from(
        tallies.outerjoin(users, users.c.id == tallies.c.assignee_id).outerjoin(
            medians, medians.c.assignee_id == tallies.c.assignee_id
        )
    )
    rows = db.session.execute(stmt).mappings().all()
    per_user = [_follow_up_counts(row["assignee_id"], row["name"] or "?", row) for row in rows]
    total = _follow_up_counts(
        None,
        "",
        {name: sum(getattr(r, name) for r in per_user) for name in _TALLIES}
        | {"median": rows[0]["overall"] if rows else None},
    )
    return per_user, total


def _follow_up_counts(user_id: int | None, name: str, row: Any) -> FollowUpCounts:
    return FollowUpCounts(
        user_id=user_id,
        name=name,
        created=int(row["created"] or 0),
        completed=int(row["completed"] or 0),
        created_counted=int(row["created_counted"] or 0),
        created_done=int(row["created_done"] or 0),
        median_days=_float(row["median"]),
        overdue=int(row["overdue"] or 0),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityCounts:
    held: dict[str, int]  # activity type → held in the period
    unnamed: tuple[int, int, int]  # women, men, unspecified, summed over those
    named: dict[str, int]  # gender → attendances (each person once per activity)
    distinct_named: int
    officials: dict[str, int]  # gender → distinct officials
    organisations: dict[tuple[str, str], int]  # (type, sector or "") → distinct organisations
    mous_signed: int
    mous: tuple[tuple[Any, date | None, int], ...]  # (agreement status, expires_on, MoUs)


def activity_counts(period: Period, *, sector: str | None, as_of: date) -> ActivityCounts:
    """The activity figures of the period (three statements, a few rows each)."""
    held = facts.held_ids(period.start, period.end, sector=sector)
    unnamed = (
        Activity.unnamed_women,
        Activity.unnamed_men,
        Activity.unnamed_unspecified,
    )
    by_type = db.session.execute(
        sa.select(
            Activity.type,
            sa.func.count(),
            *(sa.func.sum(sa.func.coalesce(column, 0)) for column in unnamed),
        )
        .where(Activity.id.in_(held))
        .group_by(Activity.type)
    ).all()
    by_gender, organisations = _reach(held)
    mous_signed, mous = _mous(period, sector=sector, as_of=as_of)
    return ActivityCounts(
        held={facts.value_of(t): int(n) for t, n, *_ in by_type},
        unnamed=(_total(by_type, 2), _total(by_type, 3), _total(by_type, 4)),
        named={g: n for g, (n, _, _) in by_gender.items()},
        distinct_named=sum(d for _, d, _ in by_gender.values()),
        officials={g: o for g, (_, _, o) in by_gender.items()},
        organisations=organisations,
        mous_signed=mous_signed,
        mous=mous,
    )


def _total(rows: Sequence[Any], index: int) -> int:
    return sum(int(row[index] or 0) for row in rows)


def _reach(
    held: sa.Select[Any],
) -> tuple[dict[str, tuple[int, int, int]], dict[tuple[str, str], int]]:
    """One statement over the attendance of the activities held (read once): per gender,
    attendances, distinct people and distinct officials; and the distinct organisations
    reached (attendees' live organisations at the time and the live participant parties)
    by type and sector."""
    attendance = facts.attendee_rows(held).cte("attendance").prefix_with("MATERIALIZED")
    parties = facts.participant_party_rows(held).subquery("parties")
    a, p = attendance.c, parties.c
    official = sa.case((a.org_type == OrgType.government, a.person_id))
    reached = sa.union(
        sa.select(a.id, a.org_type, a.sector).where(a.id.is_not(None)),
        sa.select(p.id, p.org_type, p.sector),
    ).subquery("reached")
    r = reached.c
    text, number = sa.String, sa.BigInteger
    stmt = sa.union_all(
        sa.select(
            sa.literal(0, sa.Integer).label("part"),
            sa.cast(a.gender, text).label("gender"),
            sa.cast(sa.null(), text).label("org_type"),
            sa.cast(sa.null(), text).label("sector"),
            sa.cast(sa.func.count(), number).label("n"),
            sa.cast(sa.func.count(sa.distinct(a.person_id)), number).label("people"),
            sa.cast(sa.func.count(sa.distinct(official)), number).label("officials"),
        ).group_by(a.gender),
        sa.select(
            sa.literal(1, sa.Integer),
            sa.cast(sa.null(), text),
            sa.cast(r.org_type, text),
            sa.cast(r.sector, text),
            sa.cast(sa.func.count(), number),
            sa.cast(sa.null(), number),
            sa.cast(sa.null(), number),
        ).group_by(r.org_type, r.sector),
    )
    by_gender: dict[str, tuple[int, int, int]] = {}
    organisations: dict[tuple[str, str], int] = {}
    for part, gender, org_type, org_sector, n, people, officials in db.session.execute(stmt):
        if part == 0:
            by_gender[gender or ""] = (int(n), int(people), int(officials))
        else:
            organisations[(org_type or "", org_sector or "")] = int(n)
    return by_gender, organisations


def _mous(period: Period, *, sector: str | None, as_of: date) -> tuple[int, tuple[Any, ...]]:
    """MoUs signed in the period, and the MoUs signed by `as_of` (or undated) per agreement
    status and expiry date, for crm.services.activities.mou_status to judge."""
    signed_in = sa.and_(Activity.signed_on >= period.start, Activity.signed_on <= period.end)
    by_then = sa.or_(Activity.signed_on.is_(None), Activity.signed_on <= as_of)
    rows = db.session.execute(
        sa.select(
            Activity.agreement_status,
            Activity.expires_on,
            sa.func.sum(sa.case((signed_in, 1), else_=0)),
            sa.func.sum(sa.case((by_then, 1), else_=0)),
        )
        .where(
            Activity.deleted_at.is_(None),
            Activity.type == ActivityType.mou,
            Activity.sector == sector if sector else sa.true(),
        )
        .group_by(Activity.agreement_status, Activity.expires_on)
    ).all()
    signed = sum(int(n or 0) for _, _, n, _ in rows)
    return signed, tuple((status, expires, int(n or 0)) for status, expires, _, n in rows if n)
