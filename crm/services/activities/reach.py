"""Reach: how many people and organisations an activity reached, defined once.

The definition below is what the activity page, the reports and the donor indicators
count. `compute_reach` applies it to plain facts without touching the database, so it can
be tested on a known data set; `reach` gathers those facts for one activity (the reports
gather them for many activities at once and call `compute_reach` themselves).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

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


def _facts(organisation_id: int | None, org_type: Any, sector: Any) -> OrgFacts | None:
    if organisation_id is None or org_type is None:
        return None
    return OrgFacts(organisation_id, str(org_type), str(sector) if sector else None)


def reach(activity: Activity) -> Reach:
    """The activity's reach from the database (two queries)."""
    # People and organisations are both stakeholders: the organisation needs an alias.
    org = aliased(Organisation, flat=True)
    attended = db.session.execute(
        sa.select(Participation.person_id, Person.gender, org.id, org.org_type, org.sector)
        .join(Person, Person.id == Participation.person_id)
        .outerjoin(org, sa.and_(org.id == Participation.organisation_id, org.deleted_at.is_(None)))
        .where(
            Participation.activity_id == activity.id,
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
    ).all()
    attendees = [
        Attendee(person_id, str(gender), _facts(org_id, org_type, sector))
        for person_id, gender, org_id, org_type, sector in attended
    ]
    party_rows = db.session.execute(
        sa.select(Organisation.id, Organisation.org_type, Organisation.sector)
        .join(ActivityParty, ActivityParty.organisation_id == Organisation.id)
        .where(
            ActivityParty.activity_id == activity.id,
            ActivityParty.role == PartyRole.participant,
            Organisation.deleted_at.is_(None),
        )
    ).all()
    party_facts = [f for f in (_facts(*row) for row in party_rows) if f is not None]
    headcounts = Headcounts(
        activity.unnamed_women or 0, activity.unnamed_men or 0, activity.unnamed_unspecified or 0
    )
    return compute_reach(attendees, headcounts, party_facts)


# ---------------------------------------------------------------------------------------------
# Named attendees per activity, for the list page
# ---------------------------------------------------------------------------------------------


def attended_counts(activity_ids: Sequence[int]) -> dict[int, int]:
    """Named attendees (people not in the trash) per activity, in one grouped query."""
    if not activity_ids:
        return {}
    stmt = (
        sa.select(Participation.activity_id, sa.func.count())
        .join(Person, Person.id == Participation.person_id)
        .where(
            Participation.activity_id.in_(list(activity_ids)),
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
        .group_by(Participation.activity_id)
    )
    return {activity_id: count for activity_id, count in db.session.execute(stmt)}
