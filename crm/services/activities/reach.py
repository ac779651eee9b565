"""Reach: how many people and organisations an activity reached, defined once.

The definition below is what the activity page, the reports and the donor indicators
count. `compute_reach` applies it to plain facts without touching the database, so it can
be tested on a known data set (the reports gather those facts for many activities at once
and call it themselves); `reach` counts the same for one activity in the database, which
returns a few grouped rows however many attended.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    Gender,
    Organisation,
    OrgType,
    Participation,
    ParticipationStatus,
    PartyRole,
    Person,
    Sector,
    Stakeholder,
)

# ---------------------------------------------------------------------------------------------
# The definition
# ---------------------------------------------------------------------------------------------
#
# Definition (what the activity page, reports and donor indicators count):
#
# * Attendees are the named participants with status "attended" who are not in the trash,
#   plus the activity's headcounts of attendees not registered by name.
# * By sex: a named attendee counts by the gender on their record (female → women, male →
#   men, other → other, undisclosed → not stated); unnamed headcounts add women, men and
#   not stated. The total is all of these together.
# * Share of women = women / total attendees. Attendees of unknown sex stay in the
#   denominator, so the share is never overstated. None when nobody attended.
# * Organisations reached = the distinct live organisations that are either the
#   organisation at the time of a named attendee, or a party with the role "participant".
#   Hosts, co-organisers, partners, sponsors and signatories deliver, fund or sign the
#   activity: they are not counted as reached. Unnamed attendees have no organisation.
# * By type and by sector: those organisations counted by their type and their sector
#   ("" when the organisation has no sector).
# * Government officials = named attendees whose organisation at the time is of type
#   "government" (also counted among women).
# * The activity's status does not enter: a planned activity has simply not recorded any
#   attendance yet.


@dataclass(frozen=True)
class OrgFacts:
    id: int
    org_type: str
    sector: str | None


@dataclass(frozen=True)
class Attendee:
    person_id: int
    gender: str
    organisation: OrgFacts | None = None


@dataclass(frozen=True)
class Headcounts:
    women: int = 0
    men: int = 0
    unspecified: int = 0

    @property
    def total(self) -> int:
        return self.women + self.men + self.unspecified


@dataclass(frozen=True)
class Reach:
    named_women: int
    named_men: int
    named_other: int
    named_undisclosed: int
    unnamed: Headcounts
    organisations: int
    by_type: tuple[tuple[str, int], ...]
    by_sector: tuple[tuple[str, int], ...]
    officials: int
    officials_women: int

    @property
    def named(self) -> int:
        return self.named_women + self.named_men + self.named_other + self.named_undisclosed

    @property
    def women(self) -> int:
        return self.named_women + self.unnamed.women

    @property
    def men(self) -> int:
        return self.named_men + self.unnamed.men

    @property
    def other(self) -> int:
        return self.named_other

    @property
    def not_stated(self) -> int:
        return self.named_undisclosed + self.unnamed.unspecified

    @property
    def total(self) -> int:
        return self.named + self.unnamed.total

    @property
    def share_of_women(self) -> float | None:
        return self.women / self.total if self.total else None

    def of_type(self, org_type: str) -> int:
        return dict(self.by_type).get(org_type, 0)


def compute_reach(
    attendees: Iterable[Attendee],
    headcounts: Headcounts,
    participant_parties: Iterable[OrgFacts] = (),
) -> Reach:
    """Reach from plain facts (see the definition above); no database access."""
    people = {a.person_id: a for a in attendees}.values()
    sexes = Counter(a.gender for a in people)
    organisations = {a.organisation.id: a.organisation for a in people if a.organisation}
    for party in participant_parties:
        organisations.setdefault(party.id, party)
    types = Counter(o.org_type for o in organisations.values())
    sectors = Counter(o.sector or "" for o in organisations.values())
    type_order = [t.value for t in OrgType]
    sector_order = [s.value for s in Sector] + [""]
    officials = [
        a for a in people if a.organisation and a.organisation.org_type == OrgType.government
    ]
    return Reach(
        named_women=sexes[Gender.female],
        named_men=sexes[Gender.male],
        named_other=sexes[Gender.other],
        named_undisclosed=sexes[Gender.undisclosed],
        unnamed=headcounts,
        organisations=len(organisations),
        by_type=tuple((t, types[t]) for t in type_order if types[t]),
        by_sector=tuple((s, sectors[s]) for s in sector_order if sectors[s]),
        officials=len(officials),
        officials_women=sum(1 for a in officials if a.gender == Gender.female),
    )


# The tables, joined one by one: a join to `Person` or `Organisation` would be emitted as a
# parenthesised (stakeholders JOIN people), which SQLite cannot flatten.
_PARTICIPATIONS = Participation.__table__
_PARTIES = ActivityParty.__table__
_STAKEHOLDERS = Stakeholder.__table__
_PEOPLE = Person.__table__
_ORGANISATIONS = Organisation.__table__


def _named(activity_id: Any) -> tuple[list[Any], Any, Any]:
    """FROM and WHERE of the named attendees of an activity (people not in the trash), with
    their organisation at the time when it is live: (joins, conditions, organisation)."""
    person = _STAKEHOLDERS.alias("attendee")
    employer = _STAKEHOLDERS.alias("employer")
    joined = (
        _PARTICIPATIONS.join(
            person,
            sa.and_(person.c.id == _PARTICIPATIONS.c.person_id, person.c.deleted_at.is_(None)),
        )
        .join(_PEOPLE, _PEOPLE.c.id == _PARTICIPATIONS.c.person_id)
        .outerjoin(
            employer,
            sa.and_(
                employer.c.id == _PARTICIPATIONS.c.organisation_id,
                employer.c.deleted_at.is_(None),
            ),
        )
        .outerjoin(_ORGANISATIONS, _ORGANISATIONS.c.id == employer.c.id)
    )
    conditions = sa.and_(
        _PARTICIPATIONS.c.activity_id == activity_id,
        _PARTICIPATIONS.c.status == ParticipationStatus.attended,
    )
    return [joined], conditions, _ORGANISATIONS


@functools.cache
def _reach_statements() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The two grouped queries of `reach`, for any activity (`:activity_id`): built once, as
    building them (three aliases of the stakeholders, a proxy per column each) took 4 ms, a
    hundred times what the database takes to answer them."""
    activity_id = sa.bindparam("activity_id", type_=sa.Integer)
    joins, attended, org = _named(activity_id)
    is_official = sa.case((org.c.org_type == OrgType.government, 1), else_=0)
    by_sex = (
        sa.select(_PEOPLE.c.gender, sa.func.count(), sa.func.sum(is_official))
        .select_from(*joins)
        .where(attended)
        .group_by(_PEOPLE.c.gender)
    )
    through_people = (
        sa.select(_PARTICIPATIONS.c.organisation_id.label("id"))
        .select_from(*joins)
        .where(attended, org.c.id.is_not(None))
    )
    through_parties = sa.select(_PARTIES.c.organisation_id.label("id")).where(
        _PARTIES.c.activity_id == activity_id, _PARTIES.c.role == PartyRole.participant
    )
    reached = sa.union(through_people, through_parties).subquery("reached")
    live = _STAKEHOLDERS.alias("reached_live")
    kinds = (
        sa.select(_ORGANISATIONS.c.org_type, _ORGANISATIONS.c.sector, sa.func.count())
        .select_from(reached)
        .join(live, sa.and_(live.c.id == reached.c.id, live.c.deleted_at.is_(None)))
        .join(_ORGANISATIONS, _ORGANISATIONS.c.id == reached.c.id)
        .group_by(_ORGANISATIONS.c.org_type, _ORGANISATIONS.c.sector)
    )
    return by_sex, kinds


def reach(activity: Activity) -> Reach:
    """The activity's reach, counted by the database (two grouped queries: a row per sex and
    per kind of organisation, never one per attendee); the definition above."""
    by_sex_query, kinds_query = _reach_statements()
    given = {"activity_id": activity.id}
    by_sex = {
        str(gender): (int(count), int(officials or 0))
        for gender, count, officials in db.session.execute(by_sex_query, given)
    }
    kinds = db.session.execute(kinds_query, given).all()
    types: Counter[str] = Counter()
    sectors: Counter[str] = Counter()
    for org_type, sector, count in kinds:
        types[str(org_type)] += count
        sectors[str(sector) if sector else ""] += count
    type_order = [t.value for t in OrgType]
    sector_order = [s.value for s in Sector] + [""]

    def named(gender: Gender) -> int:
        return by_sex.get(str(gender), (0, 0))[0]

    return Reach(
        named_women=named(Gender.female),
        named_men=named(Gender.male),
        named_other=named(Gender.other),
        named_undisclosed=named(Gender.undisclosed),
        unnamed=Headcounts(
            activity.unnamed_women or 0,
            activity.unnamed_men or 0,
            activity.unnamed_unspecified or 0,
        ),
        organisations=sum(types.values()),
        by_type=tuple((t, types[t]) for t in type_order if types[t]),
        by_sector=tuple((s, sectors[s]) for s in sector_order if sectors[s]),
        officials=sum(officials for _count, officials in by_sex.values()),
        officials_women=by_sex.get(str(Gender.female), (0, 0))[1],
    )


# ---------------------------------------------------------------------------------------------
# Named attendees per activity, for the list page
# ---------------------------------------------------------------------------------------------


def attended_counts(activity_ids: Sequence[int]) -> dict[int, int]:
    """Named attendees (people not in the trash) per activity, in one grouped query."""
    if not activity_ids:
        return {}
    person = _STAKEHOLDERS.alias("attendee")
    stmt = (
        sa.select(_PARTICIPATIONS.c.activity_id, sa.func.count())
        .select_from(_PARTICIPATIONS)
        .join(
            person,
            sa.and_(person.c.id == _PARTICIPATIONS.c.person_id, person.c.deleted_at.is_(None)),
        )
        .where(
            _PARTICIPATIONS.c.activity_id.in_(list(activity_ids)),
            _PARTICIPATIONS.c.status == ParticipationStatus.attended,
        )
        .group_by(_PARTICIPATIONS.c.activity_id)
    )
    return {activity_id: count for activity_id, count in db.session.execute(stmt)}
