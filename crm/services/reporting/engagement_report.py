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
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityType,
    AuditAction,
    AuditEvent,
    Channel,
    FollowUp,
    FollowUpStatus,
    Gender,
    Interaction,
    OrgType,
    StakeholderKind,
    User,
    UTCDateTime,
    interaction_stakeholders,
)
from crm.services import activities, clock
from crm.services.errors import InvalidInput
from crm.services.reporting import facts
from crm.services.reporting.facts import (
    LEVELS,
    NO_SECTOR,
    PERSON,
    RANK,
    SECTORS,
    TYPES,
    StakeholderFacts,
    value_of,
)
from crm.services.reporting.periods import Period, check_period, in_period

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


def _matches(found: StakeholderFacts, sector: str | None, stakeholder_type: str | None) -> bool:
    return (not sector or sector in found.sectors) and (
        not stakeholder_type or found.type == stakeholder_type
    )


def _sectors_of(found: StakeholderFacts, sector: str | None) -> frozenset[str]:
    """The sectors a stakeholder is counted under: only the chosen one when filtering."""
    return frozenset({sector}) if sector else found.sectors


def _interactions(
    period: Period,
    relevant: dict[int, StakeholderFacts],
    *,
    filtering: bool,
    sector: str | None,
) -> tuple[list[tuple[date, str, frozenset[str]]], set[int]]:
    """(month, channel, sectors) of each counted interaction, and the stakeholders engaged."""
    involved: dict[int, list[int]] = defaultdict(list)
    for interaction_id, stakeholder_id, _occurred_at in facts.interaction_links(period):
        if stakeholder_id in relevant:
            involved[interaction_id].append(stakeholder_id)
    counted = []
    engaged: set[int] = set()
    for interaction_id, occurred_at, channel in facts.interactions(period):
        who = involved.get(interaction_id, [])
        if filtering and not who:
            continue
        engaged.update(who)
        sectors: set[str] = set()
        for sid in who:
            sectors |= _sectors_of(relevant[sid], sector)
        real = frozenset(sectors - {NO_SECTOR}) or frozenset({NO_SECTOR})
        month = period.local_date(occurred_at).replace(day=1)
        counted.append((month, value_of(channel), real))
    return counted, engaged


@dataclass(frozen=True)
class _Monthly:
    """The interactions counted per month, by channel and by sector."""

    total: int
    channels: tuple[str, ...]
    by_channel: tuple[MonthRow, ...]
    sectors: tuple[str, ...]
    by_sector: tuple[MonthRow, ...]


def _monthly(period: Period, counted: list[tuple[date, str, frozenset[str]]]) -> _Monthly:
    channel_counts: Counter[tuple[date, str]] = Counter()
    sector_counts: Counter[tuple[date, str]] = Counter()
    month_totals: Counter[date] = Counter()
    for month, channel, sectors in counted:
        channel_counts[(month, channel)] += 1
        month_totals[month] += 1
        for s in sectors:
            sector_counts[(month, s)] += 1
    channels = tuple(c.value for c in Channel if any(k[1] == c.value for k in channel_counts))
    sectors_met = facts.ordered_sectors(k[1] for k in sector_counts)

    def month_rows(keys: Sequence[str], counts: Counter[tuple[date, str]]) -> tuple:
        return tuple(
            MonthRow(m, tuple(counts[(m, k)] for k in keys), month_totals[m]) for m in period.months
        )

    return _Monthly(
        total=len(counted),
        channels=channels,
        by_channel=month_rows(channels, channel_counts),
        sectors=sectors_met,
        by_sector=month_rows(sectors_met, sector_counts),
    )


def _reached(
    keys: Iterable[str], engaged: Counter[str], total: Counter[str]
) -> tuple[Reached, ...]:
    return tuple(Reached(k, engaged[k], total[k]) for k in keys if total[k])


def _engaged_by(
    relevant: dict[int, StakeholderFacts], engaged_ids: set[int], *, sector: str | None
) -> tuple[tuple[Reached, ...], tuple[Reached, ...]]:
    """Stakeholders engaged against all relevant ones, by type and by sector."""
    engaged_type: Counter[str] = Counter()
    total_type: Counter[str] = Counter()
    engaged_sector: Counter[str] = Counter()
    total_sector: Counter[str] = Counter()
    for sid, found in relevant.items():
        total_type[found.type] += 1
        for s in _sectors_of(found, sector):
            total_sector[s] += 1
        if sid in engaged_ids:
            engaged_type[found.type] += 1
            for s in _sectors_of(found, sector):
                engaged_sector[s] += 1
    return (
        _reached(TYPES, engaged_type, total_type),
        _reached((*SECTORS, NO_SECTOR), engaged_sector, total_sector),
    )


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


def _coverage(
    relevant: dict[int, StakeholderFacts], engaged_ids: set[int], *, limit: int | None
) -> Coverage:
    high = [f for f in relevant.values() if f.influence >= HIGH_INFLUENCE]
    missed = [f for f in high if f.id not in engaged_ids]
    missed.sort(key=lambda f: (-f.influence, -f.interest, f.name.lower(), f.id))
    shown = missed if limit is None else missed[:limit]
    last = _last_contacts() if shown else {}
    return Coverage(
        total=len(high),
        contacted=len(high) - len(missed),
        not_contacted=tuple(Listed(f, last.get(f.id)) for f in shown),
        not_contacted_total=len(missed),
    )


def _level_moves(period: Period, relevant: dict[int, StakeholderFacts]) -> tuple[LevelMove, ...]:
    """Net level change per relevant stakeholder over the period, from the audit trail."""
    stmt = (
        sa.select(AuditEvent.entity_id, AuditEvent.occurred_at, AuditEvent.changes)
        .where(
            AuditEvent.action.in_([AuditAction.update, AuditAction.merge]),
            AuditEvent.entity_type.in_(["organisations", "people", "stakeholders"]),
            in_period(AuditEvent.occurred_at, period),
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


def _levels(period: Period, relevant: dict[int, StakeholderFacts]) -> Levels:
    level_counts = Counter(f.level for f in relevant.values())
    return Levels(
        now=tuple((level, level_counts[level]) for level in LEVELS),
        moves=_level_moves(period, relevant),
    )


# ---------------------------------------------------------------------------------------------
# Follow-ups
# ---------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """One assignee's follow-ups, counted while reading them."""

    created: int = 0
    completed: int = 0
    counted: int = 0  # created in the period and not cancelled
    done: int = 0  # ... of which done by the end of the period
    days: list[int] = field(default_factory=list)
    overdue: int = 0


def _follow_up_tallies(
    period: Period, relevant: dict[int, StakeholderFacts], *, filtering: bool, today: date
) -> dict[int, _Tally]:
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
            in_period(FollowUp.created_at, period),
            in_period(FollowUp.completed_at, period),
            open_overdue,
        ),
    )
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    for assignee_id, stakeholder_id, stored, created_at, completed_at, due_on in db.session.execute(
        stmt
    ):
        if filtering and stakeholder_id not in relevant:
            continue
        status = value_of(stored)
        row = tallies[assignee_id]
        if period.contains(created_at):
            row.created += 1
            if status != FollowUpStatus.cancelled:
                row.counted += 1
                if status == FollowUpStatus.done and completed_at and completed_at < period.end_at:
                    row.done += 1
        if status == FollowUpStatus.done and period.contains(completed_at):
            row.completed += 1
            row.days.append((period.local_date(completed_at) - period.local_date(created_at)).days)
        if status == FollowUpStatus.open and due_on < today:
            row.overdue += 1
    return tallies


def _follow_up_row(user_id: int | None, name: str, tallies: list[_Tally]) -> FollowUpRow:
    days = [d for t in tallies for d in t.days]
    return FollowUpRow(
        user_id=user_id,
        name=name,
        created=sum(t.created for t in tallies),
        completed=sum(t.completed for t in tallies),
        created_counted=sum(t.counted for t in tallies),
        created_done=sum(t.done for t in tallies),
        median_days=float(statistics.median(days)) if days else None,
        overdue=sum(t.overdue for t in tallies),
    )


def _follow_ups(
    period: Period, relevant: dict[int, StakeholderFacts], *, filtering: bool, today: date
) -> tuple[tuple[FollowUpRow, ...], FollowUpRow]:
    tallies = _follow_up_tallies(period, relevant, filtering=filtering, today=today)
    names: dict[int, str] = {}
    if tallies:
        stmt = sa.select(User.id, User.name).where(User.id.in_(list(tallies)))
        names = {user_id: name for user_id, name in db.session.execute(stmt)}
    per_user = sorted(
        (_follow_up_row(uid, names.get(uid, "?"), [t]) for uid, t in tallies.items()),
        key=lambda r: (r.name.lower(), r.user_id),
    )
    return tuple(per_user), _follow_up_row(None, _("All assignees"), list(tallies.values()))


# ---------------------------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------------------------


def _org_facts(org_id: int, org_type: Any, sector: Any) -> activities.OrgFacts:
    return activities.OrgFacts(org_id, value_of(org_type), value_of(sector) or None)


def _attendees_by_activity(held: sa.Select[Any]) -> dict[int, list[activities.Attendee]]:
    found: dict[int, list[activities.Attendee]] = defaultdict(list)
    for activity_id, person_id, gender, org_id, org_type, org_sector in facts.attendees(held):
        organisation = _org_facts(org_id, org_type, org_sector) if org_id is not None else None
        found[activity_id].append(
            activities.Attendee(person_id, value_of(gender) or Gender.undisclosed, organisation)
        )
    return found


def _parties_by_activity(held: sa.Select[Any]) -> dict[int, list[activities.OrgFacts]]:
    found: dict[int, list[activities.OrgFacts]] = defaultdict(list)
    for activity_id, org_id, org_type, org_sector in facts.participant_parties(held):
        found[activity_id].append(_org_facts(org_id, org_type, org_sector))
    return found


@dataclass
class _Reach:
    """The reach of the activities held, summed while reading them."""

    types: Counter[str] = field(default_factory=Counter)
    sums: Counter[str] = field(default_factory=Counter)
    reached: dict[int, activities.OrgFacts] = field(default_factory=dict)
    people: set[int] = field(default_factory=set)
    officials: dict[int, str] = field(default_factory=dict)  # person → gender


def _sum_reach(period: Period, *, sector: str | None) -> _Reach:
    """Each activity's reach as crm.services.activities defines it, summed over the period;
    organisations, people and officials are gathered distinct over the period."""
    held = facts.held_ids(period.start, period.end, sector=sector)
    rows = facts.held_activities(period.start, period.end, sector=sector)
    attendees = _attendees_by_activity(held)
    parties = _parties_by_activity(held)
    total = _Reach()
    for row in rows:
        total.types[value_of(row.type)] += 1
        headcounts = activities.Headcounts(
            row.unnamed_women or 0, row.unnamed_men or 0, row.unnamed_unspecified or 0
        )
        reach = activities.compute_reach(attendees[row.id], headcounts, parties[row.id])
        for name in ("named_women", "named_men", "named_other", "named_undisclosed"):
            total.sums[name] += getattr(reach, name)
        total.sums["unnamed_women"] += headcounts.women
        total.sums["unnamed_men"] += headcounts.men
        total.sums["unnamed_unspecified"] += headcounts.unspecified
        for attendee in attendees[row.id]:
            total.people.add(attendee.person_id)
            if attendee.organisation is not None:
                total.reached.setdefault(attendee.organisation.id, attendee.organisation)
                if attendee.organisation.org_type == OrgType.government:
                    total.officials[attendee.person_id] = attendee.gender
        for party in parties[row.id]:
            total.reached.setdefault(party.id, party)
    return total


def _mous(period: Period, *, sector: str | None, as_of: date) -> tuple[int, int, int]:
    """MoUs signed in the period, and those active and expiring on `as_of`."""
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
        status = activities.mou_status(agreement_status, expires_on, today=as_of)
        if status in (activities.MouStatus.active, activities.MouStatus.expiring):
            active += 1
        if status == activities.MouStatus.expiring:
            expiring += 1
    return signed, active, expiring


def _activities(period: Period, *, sector: str | None, today: date) -> ActivityFigures:
    reach = _sum_reach(period, sector=sector)
    as_of = min(period.end, today)
    signed, active, expiring = _mous(period, sector=sector, as_of=as_of)
    by_type = Counter(o.org_type for o in reach.reached.values())
    by_sector = Counter(o.sector or NO_SECTOR for o in reach.reached.values())
    sums = reach.sums
    return ActivityFigures(
        held=tuple((t.value, reach.types[t.value]) for t in ActivityType if reach.types[t.value]),
        named_women=sums["named_women"],
        named_men=sums["named_men"],
        named_other=sums["named_other"],
        named_undisclosed=sums["named_undisclosed"],
        unnamed_women=sums["unnamed_women"],
        unnamed_men=sums["unnamed_men"],
        unnamed_unspecified=sums["unnamed_unspecified"],
        distinct_named=len(reach.people),
        organisations=len(reach.reached),
        organisations_by_type=tuple((t.value, by_type[t.value]) for t in OrgType if by_type[t]),
        organisations_by_sector=tuple((s, by_sector[s]) for s in facts.ordered_sectors(by_sector)),
        officials=len(reach.officials),
        officials_women=sum(1 for g in reach.officials.values() if g == Gender.female),
        mous_signed=signed,
        mous_active=active,
        mous_expiring=expiring,
        mous_as_of=as_of,
    )


def _grid(relevant: dict[int, StakeholderFacts]) -> tuple[MapCell, ...]:
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


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _check_filters(sector: str | None, stakeholder_type: str | None) -> None:
    if sector and sector not in SECTORS:
        raise InvalidInput(_("Unknown sector."), field="sector")
    if stakeholder_type and stakeholder_type not in TYPES:
        raise InvalidInput(_("Unknown stakeholder type."), field="type")


def engagement(
    period_start: date,
    period_end: date,
    *,
    sector: str | None = None,
    stakeholder_type: str | None = None,
    timezone: str | ZoneInfo = clock.PROGRAMME_TIMEZONE,
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
    _check_filters(sector, stakeholder_type)
    period = Period.of(period_start, period_end, timezone)
    today = today or clock.today(period.zone)
    sector = sector or None
    stakeholder_type = stakeholder_type or None
    filtering = bool(sector or stakeholder_type)

    relevant = {
        sid: found
        for sid, found in facts.stakeholder_facts().items()
        if _matches(found, sector, stakeholder_type)
    }
    counted, engaged_ids = _interactions(period, relevant, filtering=filtering, sector=sector)
    monthly = _monthly(period, counted)
    engaged_by_type, engaged_by_sector = _engaged_by(relevant, engaged_ids, sector=sector)
    per_assignee, all_assignees = _follow_ups(period, relevant, filtering=filtering, today=today)
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
        engaged=Reached("", len(engaged_ids), len(relevant)),
        engaged_by_type=engaged_by_type,
        engaged_by_sector=engaged_by_sector,
        coverage=_coverage(relevant, engaged_ids, limit=not_contacted_limit),
        levels=_levels(period, relevant),
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
