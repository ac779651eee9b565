"""The engagement report: how the programme reached its stakeholders in a period.

`engagement(start, end, sector=, stakeholder_type=)` computes every figure of the report page
from the database in a fixed number of queries, and `tables(report)` turns it into the titled
tables that the page shows and the exports write, so a file always holds what the page shows.

Definitions (the tests in tests/reports/ assert each of them on a known data set):

* Period: from `start` to `end`, both days included, in the programme's local calendar
  (Asia/Shanghai unless told): an interaction at 23:30 local time on the last day is in, one
  at 00:10 on the day after is not. At most ten years; the end may not precede the start.
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
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    ActivityStatus,
    ActivityType,
    Affiliation,
    AuditAction,
    AuditEvent,
    Channel,
    EngagementLevel,
    FollowUp,
    FollowUpStatus,
    Gender,
    Interaction,
    Organisation,
    OrgType,
    Participation,
    ParticipationStatus,
    PartyRole,
    Person,
    Sector,
    Stakeholder,
    StakeholderKind,
    User,
    UTCDateTime,
    interaction_stakeholders,
    label,
)
from crm.services import activities as activity_service
from crm.services.errors import InvalidInput
from crm.services.exports import Column, tuple_columns

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_YEARS = 10
# The years a report may cover (as the activity pages): far from the limits of `date`.
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)
HIGH_INFLUENCE = 4
PERSON = StakeholderKind.person.value
NO_SECTOR = ""
LEVELS = tuple(level.value for level in EngagementLevel)
RANK = {level: n for n, level in enumerate(LEVELS)}
TYPES = (*(t.value for t in OrgType), PERSON)
SECTORS = tuple(s.value for s in Sector)
SCALE = range(1, 6)


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


def _zone(timezone: str | ZoneInfo) -> ZoneInfo:
    return timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(str(timezone))


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


@dataclass(frozen=True)
class Period:
    """Local calendar days from `start` to `end`, both included."""

    start: date
    end: date
    timezone: str = DEFAULT_TIMEZONE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

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
        return moment.astimezone(self.zone).date()

    def contains(self, moment: datetime | None) -> bool:
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


def quarter_of(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = (first + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    return first, last


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
        Preset("this_year", _("This year"), date(today.year, 1, 1), date(today.year, 12, 31)),
        Preset(
            "last_year", _("Last year"), date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
        ),
        Preset(
            "last_12_months",
            _("Last 12 months"),
            add_years(today, -1) + timedelta(days=1),
            today,
        ),
    ]


def stakeholder_types() -> list[tuple[str, str]]:
    """(value, label) of the stakeholder types a report can be limited to."""
    return [(t, type_label(t)) for t in TYPES]


def type_label(value: str) -> str:
    return label(StakeholderKind.person) if value == PERSON else label(OrgType(value))


def sector_label(value: str) -> str:
    return label(Sector(value)) if value else _("No sector")


# ---------------------------------------------------------------------------------------------
# The report's data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the report needs to know about one live stakeholder."""

    id: int
    kind: str
    type: str
    sectors: frozenset[str]
    influence: int
    interest: int
    level: str
    name: str
    chinese_name: str | None


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

    facts: Facts
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
    stakeholder: Facts
    before: str
    after: str
    changed_at: datetime

    @property
    def is_up(self) -> bool:
        return RANK[self.after] > RANK[self.before]


@dataclass(frozen=True)
class Levels:
    now: tuple[tuple[str, int], ...]
    moves: tuple[LevelMove, ...]

    @property
    def total(self) -> int:
        return sum(n for _level, n in self.now)

    @property
    def moved_up(self) -> int:
        return sum(1 for m in self.moves if m.is_up)

    @property
    def moved_down(self) -> int:
        return sum(1 for m in self.moves if not m.is_up)


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
# Computing it
# ---------------------------------------------------------------------------------------------


def _value(member: Any) -> str:
    return "" if member is None else str(getattr(member, "value", member))


def load_facts() -> dict[int, Facts]:
    """Every live stakeholder with type, sectors, scores and level (two queries)."""
    st = Stakeholder.__table__
    ot = Organisation.__table__
    at = Affiliation.__table__
    employer = st.alias("employer")
    employed: defaultdict[int, set[str]] = defaultdict(set)
    for person_id, sector in db.session.execute(
        sa.select(at.c.person_id, ot.c.sector)
        .join(ot, ot.c.id == at.c.organisation_id)
        .join(employer, employer.c.id == ot.c.id)
        .where(
            at.c.end_on.is_(None),
            at.c.deleted_at.is_(None),
            employer.c.deleted_at.is_(None),
            ot.c.sector.is_not(None),
        )
    ):
        employed[person_id].add(_value(sector))
    rows = db.session.execute(
        sa.select(
            st.c.id,
            st.c.kind,
            ot.c.org_type,
            ot.c.sector,
            st.c.influence,
            st.c.interest,
            st.c.engagement_level,
            st.c.display_name,
            st.c.chinese_name,
        )
        .select_from(st.outerjoin(ot, ot.c.id == st.c.id))
        .where(st.c.deleted_at.is_(None))
    )
    facts = {}
    for sid, kind, org_type, sector, influence, interest, level, name, chinese in rows:
        kind = _value(kind)
        if kind == PERSON:
            sectors = frozenset(employed.get(sid) or {NO_SECTOR})
            stype = PERSON
        else:
            sectors = frozenset({_value(sector)})
            stype = _value(org_type)
        facts[sid] = Facts(
            sid, kind, stype, sectors, influence, interest, _value(level), name, chinese
        )
    return facts


def _matches(facts: Facts, sector: str | None, stakeholder_type: str | None) -> bool:
    return (not sector or sector in facts.sectors) and (
        not stakeholder_type or facts.type == stakeholder_type
    )


def _sectors_of(facts: Facts, sector: str | None) -> frozenset[str]:
    """The sectors a stakeholder is counted under: only the chosen one when filtering."""
    return frozenset({sector}) if sector else facts.sectors


def _ordered_sectors(found: Iterable[str]) -> tuple[str, ...]:
    present = set(found)
    return tuple(s for s in (*SECTORS, NO_SECTOR) if s in present)


def _in_period(column: Any, period: Period) -> Any:
    return sa.and_(column >= period.start_at, column < period.end_at)


def _interactions(
    period: Period, relevant: dict[int, Facts], *, filtering: bool, sector: str | None
) -> tuple[list[tuple[date, str, frozenset[str]]], set[int]]:
    """(month, channel, sectors) of each counted interaction, and the stakeholders engaged."""
    live = Interaction.deleted_at.is_(None)
    when = _in_period(Interaction.occurred_at, period)
    involved: dict[int, list[int]] = defaultdict(list)
    for interaction_id, stakeholder_id in db.session.execute(
        sa.select(
            interaction_stakeholders.c.interaction_id, interaction_stakeholders.c.stakeholder_id
        )
        .join(Interaction, Interaction.id == interaction_stakeholders.c.interaction_id)
        .where(live, when)
    ):
        if stakeholder_id in relevant:
            involved[interaction_id].append(stakeholder_id)
    counted = []
    engaged: set[int] = set()
    for interaction_id, occurred_at, channel in db.session.execute(
        sa.select(Interaction.id, Interaction.occurred_at, Interaction.channel).where(live, when)
    ):
        who = involved.get(interaction_id, [])
        if filtering and not who:
            continue
        engaged.update(who)
        sectors: set[str] = set()
        for sid in who:
            sectors |= _sectors_of(relevant[sid], sector)
        real = frozenset(sectors - {NO_SECTOR}) or frozenset({NO_SECTOR})
        month = period.local_date(occurred_at).replace(day=1)
        counted.append((month, _value(channel), real))
    return counted, engaged


def _last_contacts() -> dict[int, datetime]:
    """The last live interaction of every stakeholder (one grouped query)."""
    stmt = (
        sa.select(interaction_stakeholders.c.stakeholder_id, sa.func.max(Interaction.occurred_at))
        .join(Interaction, Interaction.id == interaction_stakeholders.c.interaction_id)
        .where(Interaction.deleted_at.is_(None))
        .group_by(interaction_stakeholders.c.stakeholder_id)
    )
    convert = UTCDateTime().process_result_value
    return {sid: convert(when, db.engine.dialect) for sid, when in db.session.execute(stmt)}


def _level_moves(period: Period, relevant: dict[int, Facts]) -> tuple[LevelMove, ...]:
    """Net level change per relevant stakeholder over the period, from the audit trail."""
    stmt = (
        sa.select(AuditEvent.entity_id, AuditEvent.occurred_at, AuditEvent.changes)
        .where(
            AuditEvent.action.in_([AuditAction.update, AuditAction.merge]),
            AuditEvent.entity_type.in_(["organisations", "people", "stakeholders"]),
            _in_period(AuditEvent.occurred_at, period),
            sa.cast(AuditEvent.changes, sa.Text).like("%engagement_level%"),
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    first: dict[int, str] = {}
    last: dict[int, tuple[str, datetime]] = {}
    for entity_id, occurred_at, changes in db.session.execute(stmt):
        pair = (changes or {}).get("engagement_level")
        if entity_id not in relevant or not isinstance(pair, list) or len(pair) != 2:
            continue
        before, after = pair
        if before not in RANK or after not in RANK:
            continue
        first.setdefault(entity_id, before)
        last[entity_id] = (after, occurred_at)
    moves = [
        LevelMove(relevant[sid], first[sid], after, when)
        for sid, (after, when) in last.items()
        if after != first[sid]
    ]
    moves.sort(key=lambda m: (not m.is_up, m.stakeholder.name.lower(), m.stakeholder.id))
    return tuple(moves)


def _follow_ups(
    period: Period, relevant: dict[int, Facts], *, filtering: bool, today: date
) -> tuple[tuple[FollowUpRow, ...], FollowUpRow]:
    open_overdue = sa.and_(FollowUp.status == FollowUpStatus.open, FollowUp.due_on < today)
    stmt = sa.select(
        FollowUp.assignee_id,
        FollowUp.stakeholder_id,
        FollowUp.status,
        FollowUp.created_at,
        FollowUp.completed_at,
        FollowUp.due_on,
    ).where(
        FollowUp.deleted_at.is_(None),
        sa.or_(
            _in_period(FollowUp.created_at, period),
            _in_period(FollowUp.completed_at, period),
            open_overdue,
        ),
    )
    figures: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"created": 0, "completed": 0, "counted": 0, "done": 0, "days": [], "overdue": 0}
    )
    for assignee_id, stakeholder_id, status, created_at, completed_at, due_on in db.session.execute(
        stmt
    ):
        if filtering and stakeholder_id not in relevant:
            continue
        status = _value(status)
        row = figures[assignee_id]
        if period.contains(created_at):
            row["created"] += 1
            if status != FollowUpStatus.cancelled:
                row["counted"] += 1
                if status == FollowUpStatus.done and completed_at and completed_at < period.end_at:
                    row["done"] += 1
        if status == FollowUpStatus.done and period.contains(completed_at):
            row["completed"] += 1
            row["days"].append(
                (period.local_date(completed_at) - period.local_date(created_at)).days
            )
        if status == FollowUpStatus.open and due_on < today:
            row["overdue"] += 1
    names: dict[int, str] = {}
    if figures:
        stmt = sa.select(User.id, User.name).where(User.id.in_(list(figures)))
        names = {user_id: name for user_id, name in db.session.execute(stmt)}

    def make(user_id: int | None, name: str, rows: list[dict[str, Any]]) -> FollowUpRow:
        days = [d for r in rows for d in r["days"]]
        return FollowUpRow(
            user_id=user_id,
            name=name,
            created=sum(r["created"] for r in rows),
            completed=sum(r["completed"] for r in rows),
            created_counted=sum(r["counted"] for r in rows),
            created_done=sum(r["done"] for r in rows),
            median_days=float(statistics.median(days)) if days else None,
            overdue=sum(r["overdue"] for r in rows),
        )

    per_user = sorted(
        (make(uid, names.get(uid, "?"), [row]) for uid, row in figures.items()),
        key=lambda r: (r.name.lower(), r.user_id),
    )
    return tuple(per_user), make(None, _("All assignees"), list(figures.values()))


def _activities(period: Period, *, sector: str | None, today: date) -> ActivityFigures:
    held = (
        sa.select(Activity.id)
        .where(
            Activity.deleted_at.is_(None),
            Activity.status == ActivityStatus.held,
            Activity.start_on >= period.start,
            Activity.start_on <= period.end,
        )
        .where(Activity.sector == sector if sector else sa.true())
    )
    held_rows = db.session.execute(
        sa.select(
            Activity.id,
            Activity.type,
            Activity.unnamed_women,
            Activity.unnamed_men,
            Activity.unnamed_unspecified,
        ).where(Activity.id.in_(held))
    ).all()
    org = aliased(Organisation, flat=True)
    attendees: dict[int, list[activity_service.Attendee]] = defaultdict(list)
    for activity_id, person_id, gender, org_id, org_type, org_sector in db.session.execute(
        sa.select(
            Participation.activity_id,
            Participation.person_id,
            Person.gender,
            org.id,
            org.org_type,
            org.sector,
        )
        .join(Person, Person.id == Participation.person_id)
        .outerjoin(org, sa.and_(org.id == Participation.organisation_id, org.deleted_at.is_(None)))
        .where(
            Participation.activity_id.in_(held),
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
    ):
        facts = (
            activity_service.OrgFacts(org_id, _value(org_type), _value(org_sector) or None)
            if org_id is not None
            else None
        )
        attendees[activity_id].append(
            activity_service.Attendee(person_id, _value(gender) or Gender.undisclosed, facts)
        )
    parties: dict[int, list[activity_service.OrgFacts]] = defaultdict(list)
    for activity_id, org_id, org_type, org_sector in db.session.execute(
        sa.select(
            ActivityParty.activity_id, Organisation.id, Organisation.org_type, Organisation.sector
        )
        .join(Organisation, Organisation.id == ActivityParty.organisation_id)
        .where(
            ActivityParty.activity_id.in_(held),
            ActivityParty.role == PartyRole.participant,
            Organisation.deleted_at.is_(None),
        )
    ):
        parties[activity_id].append(
            activity_service.OrgFacts(org_id, _value(org_type), _value(org_sector) or None)
        )

    types: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    reached: dict[int, activity_service.OrgFacts] = {}
    people: set[int] = set()
    officials: dict[int, str] = {}
    for activity_id, activity_type, women, men, unspecified in held_rows:
        types[_value(activity_type)] += 1
        headcounts = activity_service.Headcounts(women or 0, men or 0, unspecified or 0)
        reach = activity_service.compute_reach(
            attendees[activity_id], headcounts, parties[activity_id]
        )
        for name in ("named_women", "named_men", "named_other", "named_undisclosed"):
            sums[name] += getattr(reach, name)
        sums["unnamed_women"] += headcounts.women
        sums["unnamed_men"] += headcounts.men
        sums["unnamed_unspecified"] += headcounts.unspecified
        for attendee in attendees[activity_id]:
            people.add(attendee.person_id)
            if attendee.organisation is not None:
                reached.setdefault(attendee.organisation.id, attendee.organisation)
                if attendee.organisation.org_type == OrgType.government:
                    officials[attendee.person_id] = attendee.gender
        for party in parties[activity_id]:
            reached.setdefault(party.id, party)
    by_type = Counter(o.org_type for o in reached.values())
    by_sector = Counter(o.sector or NO_SECTOR for o in reached.values())

    as_of = min(period.end, today)
    mous = db.session.execute(
        sa.select(Activity.signed_on, Activity.expires_on, Activity.agreement_status)
        .where(Activity.deleted_at.is_(None), Activity.type == ActivityType.mou)
        .where(Activity.sector == sector if sector else sa.true())
    ).all()
    signed = active = expiring = 0
    for signed_on, expires_on, agreement_status in mous:
        if signed_on is not None and period.start <= signed_on <= period.end:
            signed += 1
        if signed_on is not None and signed_on > as_of:
            continue
        status = activity_service.mou_status(agreement_status, expires_on, today=as_of)
        if status in (activity_service.MouStatus.active, activity_service.MouStatus.expiring):
            active += 1
        if status == activity_service.MouStatus.expiring:
            expiring += 1

    return ActivityFigures(
        held=tuple((t.value, types[t.value]) for t in ActivityType if types[t.value]),
        named_women=sums["named_women"],
        named_men=sums["named_men"],
        named_other=sums["named_other"],
        named_undisclosed=sums["named_undisclosed"],
        unnamed_women=sums["unnamed_women"],
        unnamed_men=sums["unnamed_men"],
        unnamed_unspecified=sums["unnamed_unspecified"],
        distinct_named=len(people),
        organisations=len(reached),
        organisations_by_type=tuple((t.value, by_type[t.value]) for t in OrgType if by_type[t]),
        organisations_by_sector=tuple((s, by_sector[s]) for s in _ordered_sectors(by_sector)),
        officials=len(officials),
        officials_women=sum(1 for g in officials.values() if g == Gender.female),
        mous_signed=signed,
        mous_active=active,
        mous_expiring=expiring,
        mous_as_of=as_of,
    )


def _grid(relevant: dict[int, Facts]) -> tuple[MapCell, ...]:
    cells: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    kinds: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for f in relevant.values():
        cells[(f.influence, f.interest)][f.level] += 1
        kinds[(f.influence, f.interest)][f.kind] += 1
    return tuple(
        MapCell(
            influence,
            interest,
            kinds[(influence, interest)][StakeholderKind.organisation.value],
            kinds[(influence, interest)][PERSON],
            tuple((level, cells[(influence, interest)][level]) for level in LEVELS),
        )
        for influence in reversed(SCALE)
        for interest in SCALE
    )


def _reached(
    keys: Iterable[str], engaged: Counter[str], total: Counter[str]
) -> tuple[Reached, ...]:
    return tuple(Reached(k, engaged[k], total[k]) for k in keys if total[k])


def engagement(
    period_start: date,
    period_end: date,
    *,
    sector: str | None = None,
    stakeholder_type: str | None = None,
    timezone: str | ZoneInfo = DEFAULT_TIMEZONE,
    today: date | None = None,
    not_contacted_limit: int | None = None,
) -> EngagementReport:
    """The engagement report of a period (see the module's definitions); read-only.

    Raises InvalidInput for a period that ends before it starts or spans more than ten
    years, and for an unknown sector or stakeholder type (views check those first and tell
    the user). `today` decides "overdue now" and the MoUs in force; it defaults to today in
    `timezone`. `not_contacted_limit` cuts the list of high-influence stakeholders not
    contacted (the page shows the first ones, exports all of them).
    """
    check_period(period_start, period_end)
    if sector and sector not in SECTORS:
        raise InvalidInput(_("Unknown sector."), field="sector")
    if stakeholder_type and stakeholder_type not in TYPES:
        raise InvalidInput(_("Unknown stakeholder type."), field="type")
    zone = _zone(timezone)
    period = Period(period_start, period_end, str(zone.key))
    today = today or datetime.now(zone).date()
    sector = sector or None
    stakeholder_type = stakeholder_type or None
    filtering = bool(sector or stakeholder_type)

    facts = load_facts()
    relevant = {sid: f for sid, f in facts.items() if _matches(f, sector, stakeholder_type)}

    counted, engaged_ids = _interactions(period, relevant, filtering=filtering, sector=sector)
    months = period.months
    channel_counts: Counter[tuple[date, str]] = Counter()
    sector_counts: Counter[tuple[date, str]] = Counter()
    month_totals: Counter[date] = Counter()
    for month, channel, sectors in counted:
        channel_counts[(month, channel)] += 1
        month_totals[month] += 1
        for s in sectors:
            sector_counts[(month, s)] += 1
    channels = tuple(c.value for c in Channel if any(k[1] == c.value for k in channel_counts))
    sectors_met = _ordered_sectors(k[1] for k in sector_counts)

    def month_rows(keys: Sequence[str], counts: Counter[tuple[date, str]]) -> tuple:
        return tuple(
            MonthRow(m, tuple(counts[(m, k)] for k in keys), month_totals[m]) for m in months
        )

    engaged_type: Counter[str] = Counter()
    total_type: Counter[str] = Counter()
    engaged_sector: Counter[str] = Counter()
    total_sector: Counter[str] = Counter()
    for sid, f in relevant.items():
        total_type[f.type] += 1
        for s in _sectors_of(f, sector):
            total_sector[s] += 1
        if sid in engaged_ids:
            engaged_type[f.type] += 1
            for s in _sectors_of(f, sector):
                engaged_sector[s] += 1

    high = [f for f in relevant.values() if f.influence >= HIGH_INFLUENCE]
    missed = [f for f in high if f.id not in engaged_ids]
    missed.sort(key=lambda f: (-f.influence, -f.interest, f.name.lower(), f.id))
    shown = missed if not_contacted_limit is None else missed[:not_contacted_limit]
    last = _last_contacts() if shown else {}
    coverage = Coverage(
        total=len(high),
        contacted=len(high) - len(missed),
        not_contacted=tuple(Listed(f, last.get(f.id)) for f in shown),
        not_contacted_total=len(missed),
    )

    level_counts = Counter(f.level for f in relevant.values())
    levels = Levels(
        now=tuple((level, level_counts[level]) for level in LEVELS),
        moves=_level_moves(period, relevant),
    )
    per_assignee, all_assignees = _follow_ups(period, relevant, filtering=filtering, today=today)

    report = EngagementReport(
        period=period,
        sector=sector,
        stakeholder_type=stakeholder_type,
        today=today,
        interactions=len(counted),
        channels=channels,
        by_channel=month_rows(channels, channel_counts),
        sectors=sectors_met,
        by_sector=month_rows(sectors_met, sector_counts),
        engaged=Reached("", len(engaged_ids), len(relevant)),
        engaged_by_type=_reached(TYPES, engaged_type, total_type),
        engaged_by_sector=_reached((*SECTORS, NO_SECTOR), engaged_sector, total_sector),
        coverage=coverage,
        levels=levels,
        follow_ups=per_assignee,
        follow_ups_total=all_assignees,
        activities=_activities(period, sector=sector, today=today),
        grid=_grid(relevant),
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


# ---------------------------------------------------------------------------------------------
# Tables: what the page shows and the exports write
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    personal: bool = False  # names people: exporting it needs Permission.EXPORT_PERSONAL
    note: str = ""
    has_total: bool = False  # the last row sums the others


def percent(share: float | None) -> float | None:
    """A share as percentage points with one decimal (0.25 → 25.0), None without a base."""
    return None if share is None else round(share * 100, 1)


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rows(body: Iterable[tuple[Any, ...]], *last: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    return (*body, *last)


def _stakeholder_cells(f: Facts) -> tuple[Any, ...]:
    return (
        f.name,
        f.chinese_name or "",
        type_label(f.type),
        ", ".join(sector_label(s) for s in _ordered_sectors(f.sectors)),
        f.influence,
        f.interest,
        label(EngagementLevel(f.level)),
    )


def _monthly(
    key: str, title: str, names: Sequence[str], rows: Sequence[MonthRow], total: int, note: str
) -> Table:
    columns = [(_("Month"), "month"), *((name, "int") for name in names), (_("Total"), "int")]
    sums = tuple(sum(r.counts[i] for r in rows) for i in range(len(names)))
    return Table(
        key,
        title,
        tuple_columns(columns),
        _rows(((r.month, *r.counts, r.total) for r in rows), (_("Total"), *sums, total)),
        has_total=True,
        note=note,
    )


def _reach_table(
    key: str,
    title: str,
    heading: str,
    rows: Iterable[tuple[str, Reached]],
    overall: Reached,
    note: str = "",
) -> Table:
    columns = [
        (heading, "text"),
        (_("Engaged"), "int"),
        (_("Total"), "int"),
        (_("Engaged (%)"), "percent"),
    ]
    return Table(
        key,
        title,
        tuple_columns(columns),
        _rows(
            ((name, r.engaged, r.total, percent(r.share)) for name, r in rows),
            (_("All stakeholders"), overall.engaged, overall.total, percent(overall.share)),
        ),
        has_total=True,
        note=note,
    )


def _stakeholder_columns() -> list[tuple[str, str]]:
    return [
        (_("Name"), "text"),
        (_("Chinese name"), "text"),
        (_("Type"), "text"),
        (_("Sector"), "text"),
        (_("Influence"), "int"),
        (_("Interest"), "int"),
        (_("Engagement level"), "text"),
    ]


def _interaction_tables(report: EngagementReport) -> list[Table]:
    return [
        _monthly(
            "interactions_by_channel",
            _("Interactions per month by channel"),
            [label(Channel(c)) for c in report.channels],
            report.by_channel,
            report.interactions,
            "",
        ),
        _monthly(
            "interactions_by_sector",
            _("Interactions per month by sector"),
            [sector_label(s) for s in report.sectors],
            report.by_sector,
            report.interactions,
            _(
                "An interaction with stakeholders of several sectors counts once under each of "
                "them, so the sector columns may add up to more than the total."
            ),
        ),
    ]


def _stakeholder_tables(report: EngagementReport) -> list[Table]:
    coverage = report.coverage
    levels = report.levels
    columns = _stakeholder_columns()

    def share(n: int) -> float | None:
        return percent(n / levels.total if levels.total else None)

    return [
        _reach_table(
            "engaged_by_type",
            _("Stakeholders engaged by type"),
            _("Stakeholder type"),
            ((type_label(r.key), r) for r in report.engaged_by_type),
            report.engaged,
        ),
        _reach_table(
            "engaged_by_sector",
            _("Stakeholders engaged by sector"),
            _("Sector"),
            ((sector_label(r.key), r) for r in report.engaged_by_sector),
            report.engaged,
            _(
                "People count under the sectors of the organisations they currently work for; "
                "someone working in two sectors counts in both rows."
            ),
        ),
        Table(
            "coverage",
            _("Coverage of high-influence stakeholders"),
            tuple_columns(
                [
                    (_("High-influence stakeholders (influence 4–5)"), "int"),
                    (_("Contacted in the period"), "int"),
                    (_("Not contacted"), "int"),
                    (_("Coverage (%)"), "percent"),
                ]
            ),
            (
                (
                    coverage.total,
                    coverage.contacted,
                    coverage.not_contacted_total,
                    percent(coverage.share),
                ),
            ),
        ),
        Table(
            "not_contacted",
            _("High-influence stakeholders not contacted in the period"),
            tuple_columns([*columns, (_("Last contact (any date)"), "datetime")]),
            tuple(
                (*_stakeholder_cells(item.facts), item.last_contacted_at)
                for item in coverage.not_contacted
            ),
            personal=True,
        ),
        Table(
            "levels",
            _("Engagement levels now"),
            tuple_columns(
                [
                    (_("Engagement level"), "text"),
                    (_("Stakeholders"), "int"),
                    (_("Share (%)"), "percent"),
                ]
            ),
            _rows(
                ((label(EngagementLevel(level)), n, share(n)) for level, n in levels.now),
                (_("Total"), levels.total, share(levels.total)),
            ),
            has_total=True,
        ),
        Table(
            "level_moves",
            _("Engagement level changes in the period"),
            tuple_columns(
                [
                    *columns[:4],
                    (_("From"), "text"),
                    (_("To"), "text"),
                    (_("Direction"), "text"),
                    (_("Last changed"), "datetime"),
                ]
            ),
            tuple(
                (
                    *_stakeholder_cells(m.stakeholder)[:4],
                    label(EngagementLevel(m.before)),
                    label(EngagementLevel(m.after)),
                    _("up") if m.is_up else _("down"),
                    m.changed_at,
                )
                for m in levels.moves
            ),
            personal=True,
            note=_(
                "Moved up: %(up)d · moved down: %(down)d",
                up=levels.moved_up,
                down=levels.moved_down,
            ),
        ),
    ]


def _follow_up_table(report: EngagementReport) -> Table:
    return Table(
        "follow_ups",
        _("Follow-ups by assignee"),
        tuple_columns(
            [
                (_("Assignee"), "text"),
                (_("Created in the period"), "int"),
                (_("Completed in the period"), "int"),
                (_("Completion rate (%)"), "percent"),
                (_("Median days to complete"), "number"),
                (_("Overdue now"), "int"),
            ]
        ),
        tuple(
            (
                r.name,
                r.created,
                r.completed,
                percent(r.completion_rate),
                _one_decimal(r.median_days),
                r.overdue,
            )
            for r in (*report.follow_ups, report.follow_ups_total)
        ),
        has_total=True,
        note=_(
            "Completion rate: the share of the follow-ups created in the period (cancelled ones "
            "left out) that were done by its end. Overdue now: open and due before today."
        ),
    )


def _activity_tables(report: EngagementReport) -> list[Table]:
    acts = report.activities
    total = _("Total")
    return [
        Table(
            "activities_held",
            _("Activities held by type"),
            tuple_columns([(_("Activity type"), "text"), (_("Held"), "int")]),
            _rows(((label(ActivityType(t)), n) for t, n in acts.held), (total, acts.held_total)),
            has_total=True,
        ),
        Table(
            "participants_by_sex",
            _("Participants by sex"),
            tuple_columns(
                [
                    (_("Sex"), "text"),
                    (_("Named"), "int"),
                    (_("Unnamed (sign-in sheets)"), "int"),
                    (total, "int"),
                ]
            ),
            (
                (_("Women"), acts.named_women, acts.unnamed_women, acts.women),
                (_("Men"), acts.named_men, acts.unnamed_men, acts.men),
                (_("Other"), acts.named_other, 0, acts.named_other),
                (
                    _("Not stated"),
                    acts.named_undisclosed,
                    acts.unnamed_unspecified,
                    acts.not_stated,
                ),
                (total, acts.named, acts.unnamed, acts.participants),
            ),
            has_total=True,
            note=_("Each person counts once per activity they attended."),
        ),
        Table(
            "activity_summary",
            _("Activity reach"),
            tuple_columns([(_("Figure"), "text"), (_("Value"), "number")]),
            (
                (_("Activities held"), acts.held_total),
                (_("Participants (attendances)"), acts.participants),
                (_("Distinct named participants"), acts.distinct_named),
                (_("Share of women (%)"), percent(acts.share_of_women)),
                (_("Organisations reached"), acts.organisations),
                (_("Government officials reached"), acts.officials),
                (_("Government officials reached who are women"), acts.officials_women),
                (_("MoUs signed in the period"), acts.mous_signed),
                (
                    _("MoUs in force on %(day)s", day=acts.mous_as_of.isoformat()),
                    acts.mous_active,
                ),
                (_("MoUs expiring within 90 days of that day"), acts.mous_expiring),
            ),
        ),
        Table(
            "organisations_reached_by_type",
            _("Organisations reached by type"),
            tuple_columns([(_("Organisation type"), "text"), (_("Organisations"), "int")]),
            _rows(
                ((label(OrgType(t)), n) for t, n in acts.organisations_by_type),
                (total, acts.organisations),
            ),
            has_total=True,
        ),
        Table(
            "organisations_reached_by_sector",
            _("Organisations reached by sector"),
            tuple_columns([(_("Sector"), "text"), (_("Organisations"), "int")]),
            _rows(
                ((sector_label(s), n) for s, n in acts.organisations_by_sector),
                (total, acts.organisations),
            ),
            has_total=True,
        ),
    ]


def _map_table(report: EngagementReport) -> Table:
    return Table(
        "stakeholder_map",
        _("Stakeholder map: influence × interest"),
        tuple_columns(
            [
                (_("Influence"), "int"),
                (_("Interest"), "int"),
                (_("Organisations"), "int"),
                (_("People"), "int"),
                *((label(EngagementLevel(level)), "int") for level in LEVELS),
                (_("Total"), "int"),
            ]
        ),
        tuple(
            (
                c.influence,
                c.interest,
                c.organisations,
                c.people,
                *(n for _level, n in c.levels),
                c.total,
            )
            for c in report.grid
        ),
    )


def tables(report: EngagementReport) -> list[Table]:
    """Every table of the report, in page order, with translated titles and headers."""
    return [
        *_interaction_tables(report),
        *_stakeholder_tables(report),
        _follow_up_table(report),
        *_activity_tables(report),
        _map_table(report),
    ]


def table(report: EngagementReport, key: str) -> Table | None:
    return next((t for t in tables(report) if t.key == key), None)


TABLE_KEYS = (
    "interactions_by_channel",
    "interactions_by_sector",
    "engaged_by_type",
    "engaged_by_sector",
    "coverage",
    "not_contacted",
    "levels",
    "level_moves",
    "follow_ups",
    "activities_held",
    "participants_by_sex",
    "activity_summary",
    "organisations_reached_by_type",
    "organisations_reached_by_sector",
    "stakeholder_map",
)
