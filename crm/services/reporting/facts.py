"""Facts that the engagement report and the donor indicators both count, queried once here.

Each rule below is written in one place, so the report and the indicators cannot drift
apart:

* Records in the trash never count: stakeholders, interactions, activities, participants'
  people and organisations.
* A stakeholder's type is its organisation type, or "person". Its sectors are the
  organisation's sector; a person's are the sectors of the organisations they currently work
  for (open positions), so a person may have two, or none. "No sector" ("") stands for none.
* An interaction of a period is a live interaction whose moment lies in the period's local
  days; it involves the live stakeholders linked to it.
* An activity held in a period is a live activity with status "held" whose start date lies
  in the period (activities count by their dates, which have no time of day).
* Attendees follow the reach definition of crm.services.activities: named participants with
  status "attended" whose person is live, with their organisation at the time when that
  organisation is live; organisations taking part are the live parties with the role
  "participant" (hosts, partners, sponsors deliver an activity; they are not reached).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

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
    EngagementLevel,
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
    interaction_stakeholders,
    label,
)
from crm.services.reporting.periods import Period, in_period

PERSON = StakeholderKind.person.value
NO_SECTOR = ""
LEVELS = tuple(level.value for level in EngagementLevel)
RANK = {level: n for n, level in enumerate(LEVELS)}
TYPES = (*(t.value for t in OrgType), PERSON)
SECTORS = tuple(s.value for s in Sector)

# Selected activity ids: a list, or a query of them (kept in SQL rather than sent back).
ActivityIds = Sequence[int] | sa.Select[Any]


def value_of(member: Any) -> str:
    """An enum member or a stored value as its plain string ("" for None)."""
    return "" if member is None else str(getattr(member, "value", member))


# ---------------------------------------------------------------------------------------------
# Stakeholder types and sectors
# ---------------------------------------------------------------------------------------------


def stakeholder_types() -> list[tuple[str, str]]:
    """(value, label) of the stakeholder types a report can be limited to."""
    return [(t, type_label(t)) for t in TYPES]


def type_label(value: str) -> str:
    return label(StakeholderKind.person) if value == PERSON else label(OrgType(value))


def sector_label(value: str) -> str:
    return label(Sector(value)) if value else _("No sector")


def ordered_sectors(found: Iterable[str]) -> tuple[str, ...]:
    """The sectors present in `found`, in display order ("No sector" last)."""
    present = set(found)
    return tuple(s for s in (*SECTORS, NO_SECTOR) if s in present)


# ---------------------------------------------------------------------------------------------
# Stakeholders
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StakeholderFacts:
    """What the reports need to know about one live stakeholder."""

    id: int
    kind: str
    type: str
    sectors: frozenset[str]
    influence: int
    interest: int
    level: str
    name: str
    chinese_name: str | None


def _employer_sectors() -> dict[int, set[str]]:
    """{person: sectors of the live organisations they currently work for}."""
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
        employed[person_id].add(value_of(sector))
    return employed


def stakeholder_facts() -> dict[int, StakeholderFacts]:
    """Every live stakeholder with type, sectors, scores and level (two queries)."""
    st = Stakeholder.__table__
    ot = Organisation.__table__
    employed = _employer_sectors()
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
        kind = value_of(kind)
        if kind == PERSON:
            sectors = frozenset(employed.get(sid) or {NO_SECTOR})
            stype = PERSON
        else:
            sectors = frozenset({value_of(sector)})
            stype = value_of(org_type)
        facts[sid] = StakeholderFacts(
            sid, kind, stype, sectors, influence, interest, value_of(level), name, chinese
        )
    return facts


# ---------------------------------------------------------------------------------------------
# Interactions
# ---------------------------------------------------------------------------------------------


def _live_in(period: Period) -> tuple[Any, ...]:
    return (Interaction.deleted_at.is_(None), in_period(Interaction.occurred_at, period))


def interactions(period: Period) -> list[Any]:
    """(id, occurred_at, channel) of every interaction of the period."""
    stmt = sa.select(Interaction.id, Interaction.occurred_at, Interaction.channel).where(
        *_live_in(period)
    )
    return list(db.session.execute(stmt))


def interaction_links(period: Period) -> list[Any]:
    """(interaction, stakeholder, occurred_at) of every stakeholder linked to an interaction
    of the period; the stakeholder may be in the trash (callers keep the live ones)."""
    stmt = (
        sa.select(
            interaction_stakeholders.c.interaction_id,
            interaction_stakeholders.c.stakeholder_id,
            Interaction.occurred_at,
        )
        .join(Interaction, Interaction.id == interaction_stakeholders.c.interaction_id)
        .where(*_live_in(period))
    )
    return list(db.session.execute(stmt))


# ---------------------------------------------------------------------------------------------
# Activities and their attendees
# ---------------------------------------------------------------------------------------------


def _held(
    start: date, end: date, activity_type: ActivityType | None, sector: str | None
) -> tuple[Any, ...]:
    return (
        Activity.deleted_at.is_(None),
        Activity.status == ActivityStatus.held,
        Activity.start_on >= start,
        Activity.start_on <= end,
        Activity.type == activity_type if activity_type else sa.true(),
        Activity.sector == sector if sector else sa.true(),
    )


def held_ids(
    start: date,
    end: date,
    *,
    activity_type: ActivityType | None = None,
    sector: str | None = None,
) -> sa.Select[Any]:
    """The query of the ids of the activities held from `start` to `end` (of one type, of one
    sector when given), to select their attendees in SQL."""
    return sa.select(Activity.id).where(*_held(start, end, activity_type, sector))


def held_activities(
    start: date,
    end: date,
    *,
    activity_type: ActivityType | None = None,
    sector: str | None = None,
) -> list[Any]:
    """(id, type, start_on, sector, unnamed_women, unnamed_men, unnamed_unspecified) of the
    activities held from `start` to `end`."""
    stmt = sa.select(
        Activity.id,
        Activity.type,
        Activity.start_on,
        Activity.sector,
        Activity.unnamed_women,
        Activity.unnamed_men,
        Activity.unnamed_unspecified,
    ).where(*_held(start, end, activity_type, sector))
    return list(db.session.execute(stmt))


def _none_selected(activities: ActivityIds) -> bool:
    return not isinstance(activities, sa.Select) and not activities


def _selected(activities: ActivityIds) -> Any:
    return activities if isinstance(activities, sa.Select) else list(activities)


def attendees(activities: ActivityIds) -> list[Any]:
    """(activity, person, gender, organisation at the time, its type, its sector) of every
    named attendee not in the trash; the organisation only when it is live."""
    if _none_selected(activities):
        return []
    org = aliased(Organisation, flat=True)
    stmt = (
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
            Participation.activity_id.in_(_selected(activities)),
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
    )
    return list(db.session.execute(stmt))


def participant_parties(activities: ActivityIds) -> list[Any]:
    """(activity, organisation, its type, its sector) of every live organisation taking part
    in the activities as a participant."""
    if _none_selected(activities):
        return []
    stmt = (
        sa.select(
            ActivityParty.activity_id,
            Organisation.id,
            Organisation.org_type,
            Organisation.sector,
        )
        .join(Organisation, Organisation.id == ActivityParty.organisation_id)
        .where(
            ActivityParty.activity_id.in_(_selected(activities)),
            ActivityParty.role == PartyRole.participant,
            Organisation.deleted_at.is_(None),
        )
    )
    return list(db.session.execute(stmt))
