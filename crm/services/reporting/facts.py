"""Facts that the engagement report and the donor indicators both count, queried once here.

Each rule below is written in one place, so the report and the indicators cannot drift
apart:

* Records in the trash never count: stakeholders, interactions, activities, participants'
  people and organisations.
* A stakeholder's type is its organisation type, or "person". Its sectors are the
  organisation's sector; a person's are the sectors of the live organisations they currently
  work for (open, live positions), so a person may have two, or none. "No sector" ("")
  stands for none. crm.services.sector_masks applies that rule and stores the result as a
  bit mask per stakeholder (and, for an interaction, the union of its live stakeholders'),
  which everything here reads.
* An interaction of a period is a live interaction whose moment lies in the period's local
  days; it involves the live stakeholders linked to it. A stakeholder engaged in a period is
  linked to one (`contacted_in`: the links carry their interaction's moment while it is
  live).
* An activity held in a period is a live activity with status "held" whose start date lies
  in the period (activities count by their dates, which have no time of day).
* Attendees follow the reach definition of crm.services.activities: named participants with
  status "attended" whose person is live, with their organisation at the time when that
  organisation is live; organisations taking part are the live parties with the role
  "participant" (hosts, partners, sponsors deliver an activity; they are not reached).

The rules are written once, as SQL building blocks that the report and the indicators
aggregate in the database (`relevant_rows`, `stakeholder_rows`, `relevant`, `contacted_in`,
`attendee_rows`, `participant_party_rows`, `held_ids`); the functions that return rows
(`stakeholder_facts`, `attendees`, `participant_parties`, ...) run those same blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    ActivityParty,
    ActivityStatus,
    ActivityType,
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
from crm.services import consent, sector_masks
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

# Small integer codes, so that the database groups by one number and sends back few rows.
TYPE_CODES = {t: n for n, t in enumerate(TYPES)}
LEVEL_CODES = {level: n for n, level in enumerate(LEVELS)}
# One bit per sector: a set of sectors is one integer (0: "No sector"). Stored per stakeholder
# and per interaction by crm.services.sector_masks, which applies the sector rule.
SECTOR_BITS = sector_masks.SECTOR_BITS

_stakeholders = Stakeholder.__table__
_organisations = Organisation.__table__
_links = interaction_stakeholders


def is_live(deleted_at: Any) -> sa.ColumnElement[bool]:
    """SQL: the row is not in the trash, for a table reached by key from another. Written so
    that no index can answer it: SQLite without statistics otherwise walks every live row
    of the table through its index on `deleted_at` and probes the others from there."""
    return deleted_at.is_(None) == sa.true()


def sector_flag(sector: str) -> str:
    """The name of the `stakeholder_rows` column that is 1 for stakeholders in `sector`."""
    return f"in_{sector}"


def sectors_of_mask(mask: int) -> frozenset[str]:
    """The sectors of a bit mask (SECTOR_BITS); "No sector" for none."""
    return frozenset(s for s, bit in SECTOR_BITS.items() if mask & bit) or frozenset({NO_SECTOR})


def has_sector(mask: Any, sector: str) -> sa.ColumnElement[bool]:
    """SQL: a stored sector mask includes `sector`."""
    return mask.op("&")(sa.literal(SECTOR_BITS[sector], sa.Integer)) != 0


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


def type_code(org_type: Any) -> sa.Case[Any]:
    """SQL: the TYPE_CODES code of a stakeholder from its organisation's type, joined outer
    (NULL, for a person, is "person": tested first, most stakeholders are people)."""
    by_type = sa.case({t: TYPE_CODES[t] for t in TYPES if t != PERSON}, value=org_type)
    return sa.case((org_type.is_(None), TYPE_CODES[PERSON]), else_=by_type)


def relevant_rows(*, sector: str | None = None, stakeholder_type: str | None = None) -> Any:
    """SQL: the live stakeholders that have `sector` and `stakeholder_type` (every live one
    without them), as `id, kind, type_code (TYPE_CODES), influence, interest, level_code
    (LEVEL_CODES), mask`: the sectors it counts under (its stored `sector_mask`; only
    `sector`'s bit when one is chosen).

    Read off ix_stakeholders_report_facts (and the organisations by key, for the type), in id
    order: a caller that probes each row's links in a period walks their index forwards. The
    trash test is `is_live`: SQLite's sampled statistics take `deleted_at IS NULL` for a rare
    value and would otherwise start from the index on `deleted_at` whatever the query."""
    st, ot = _stakeholders, _organisations
    conditions: list[sa.ColumnElement[bool]] = [is_live(st.c.deleted_at)]
    if stakeholder_type == PERSON:
        conditions.append(st.c.kind == StakeholderKind.person)
    elif stakeholder_type:
        conditions.append(ot.c.org_type == stakeholder_type)
    if sector:
        conditions.append(has_sector(st.c.sector_mask, sector))
    mask = sa.literal(SECTOR_BITS[sector], sa.Integer) if sector else st.c.sector_mask
    org_type = sa.null() if stakeholder_type == PERSON else ot.c.org_type
    joined = st if stakeholder_type == PERSON else st.outerjoin(ot, ot.c.id == st.c.id)
    return (
        sa.select(
            st.c.id,
            st.c.kind,
            type_code(org_type).label("type_code"),
            st.c.influence,
            st.c.interest,
            sa.case(LEVEL_CODES, value=st.c.engagement_level).label("level_code"),
            mask.label("mask"),
        )
        .select_from(joined)
        .where(*conditions)
    )


def stakeholder_rows(
    *, sector: str | None = None, stakeholder_type: str | None = None
) -> sa.Select[Any]:
    """SQL: the rows of `relevant_rows`, with `display_name`, `chinese_name` and a 0/1 column
    per sector (`sector_flag`) for the sectors it counts under: its own, or only `sector` when
    one is chosen. No flag set means "No sector"."""
    rows = relevant_rows(sector=sector, stakeholder_type=stakeholder_type).subquery("relevant")
    st = _stakeholders.alias("named")
    return sa.select(
        rows.c.id,
        rows.c.kind,
        rows.c.type_code,
        rows.c.influence,
        rows.c.interest,
        rows.c.level_code,
        consent.reported_name(st.c.display_name, st.c.id).label("display_name"),
        consent.reported_detail(st.c.chinese_name, st.c.id).label("chinese_name"),
        *(sa.case((has_sector(rows.c.mask, s), 1), else_=0).label(sector_flag(s)) for s in SECTORS),
    ).join(st, st.c.id == rows.c.id)


def relevant(
    stakeholder_id: Any, *, sector: str | None, stakeholder_type: str | None
) -> sa.ColumnElement[bool]:
    """SQL, correlated: the stakeholder is live and has `sector` and `stakeholder_type` (the
    filters of `relevant_rows`, checked one row at a time)."""
    st, ot = _stakeholders.alias("relevant"), _organisations.alias("relevant_organisation")
    conditions: list[sa.ColumnElement[bool]] = [
        st.c.id == stakeholder_id,
        st.c.deleted_at.is_(None),
    ]
    if stakeholder_type == PERSON:
        conditions.append(st.c.kind == StakeholderKind.person)
    elif stakeholder_type:
        conditions.append(ot.c.org_type == stakeholder_type)
    if sector:
        conditions.append(has_sector(st.c.sector_mask, sector))
    return sa.exists(
        sa.select(1).select_from(st.outerjoin(ot, ot.c.id == st.c.id)).where(*conditions)
    )


def stakeholder_facts() -> dict[int, StakeholderFacts]:
    """Every live stakeholder with type, sectors, scores and level (one query)."""
    rows = stakeholder_rows().subquery()
    facts = {}
    for row in db.session.execute(sa.select(rows)).mappings():
        mask = sum(SECTOR_BITS[s] for s in SECTORS if row[sector_flag(s)])
        facts[row["id"]] = StakeholderFacts(
            row["id"],
            value_of(row["kind"]),
            TYPES[row["type_code"]],
            sectors_of_mask(mask),
            row["influence"],
            row["interest"],
            LEVELS[row["level_code"]],
            consent.name_or_anonymous(row["display_name"]),
            row["chinese_name"],
        )
    return facts


# ---------------------------------------------------------------------------------------------
# Interactions
# ---------------------------------------------------------------------------------------------


def live_in(period: Period) -> tuple[Any, ...]:
    """SQL conditions: an interaction of the period (live, its moment in the period's days)."""
    return (Interaction.deleted_at.is_(None), in_period(Interaction.occurred_at, period))


def contacted_in(stakeholder_id: Any, period: Period) -> sa.Exists:
    """SQL, correlated: the stakeholder is linked to an interaction of the period. A range of
    ix_interaction_stakeholders_stakeholder_occurred: the links carry their interaction's
    moment, NULL while it is in the trash (crm.services.sector_masks)."""
    link = _links.alias("contact")
    return sa.exists(
        sa.select(sa.literal(1)).where(
            link.c.stakeholder_id == stakeholder_id, in_period(link.c.occurred_at, period)
        )
    )


def last_contact(stakeholder_id: Any) -> sa.ScalarSelect[Any]:
    """SQL, correlated: the moment of the stakeholder's last live interaction, ever (the top
    of its range of ix_interaction_stakeholders_stakeholder_occurred)."""
    link = _links.alias("last_link")
    return (
        sa.select(sa.func.max(link.c.occurred_at))
        .where(link.c.stakeholder_id == stakeholder_id)
        .scalar_subquery()
    )


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
        .where(*live_in(period))
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


def attendee_rows(activities: ActivityIds) -> sa.Select[Any]:
    """SQL: (activity_id, person_id, gender, id, org_type, sector) of every named attendee
    not in the trash, with the organisation at the time when it is live (else NULLs).

    Written flat (the participations, then the person's rows, then the organisation's): a
    parenthesised (stakeholders JOIN people) leads SQLite without statistics to loop over
    every person. The participations come first, in person order (a subquery neither
    database merges, OFFSET 0): the people's rows are then read in the order they are
    stored, a page once, instead of one page read per attendee (a third of the time)."""
    pt, people = Participation.__table__, Person.__table__
    attended = (
        sa.select(pt.c.activity_id, pt.c.person_id, pt.c.organisation_id)
        .where(
            pt.c.activity_id.in_(_selected(activities)),
            pt.c.status == ParticipationStatus.attended,
        )
        .order_by(pt.c.person_id)
        .offset(0)
        .subquery("attended")
    )
    person_row = _stakeholders.alias("person_row")
    org = _organisations.alias("organisation")
    org_row = _stakeholders.alias("organisation_row")
    a = attended.c
    return (
        sa.select(
            a.activity_id, a.person_id, people.c.gender, org.c.id, org.c.org_type, org.c.sector
        )
        .select_from(
            attended.join(people, people.c.id == a.person_id)
            .join(person_row, person_row.c.id == a.person_id)
            .outerjoin(
                org_row,
                sa.and_(org_row.c.id == a.organisation_id, is_live(org_row.c.deleted_at)),
            )
            .outerjoin(org, org.c.id == org_row.c.id)
        )
        .where(is_live(person_row.c.deleted_at))
    )


def attendees(activities: ActivityIds) -> list[Any]:
    """The rows of `attendee_rows`."""
    if _none_selected(activities):
        return []
    return list(db.session.execute(attendee_rows(activities)))


def participant_party_rows(activities: ActivityIds) -> sa.Select[Any]:
    """SQL: (activity_id, id, org_type, sector) of every live organisation taking part in
    the activities as a participant."""
    ap, ot = ActivityParty.__table__, _organisations
    org_row = _stakeholders.alias("organisation_row")
    return (
        sa.select(ap.c.activity_id, ot.c.id, ot.c.org_type, ot.c.sector)
        .select_from(
            ap.join(ot, ot.c.id == ap.c.organisation_id).join(
                org_row, org_row.c.id == ap.c.organisation_id
            )
        )
        .where(
            ap.c.activity_id.in_(_selected(activities)),
            ap.c.role == PartyRole.participant,
            is_live(org_row.c.deleted_at),
        )
    )


def participant_parties(activities: ActivityIds) -> list[Any]:
    """The rows of `participant_party_rows`."""
    if _none_selected(activities):
        return []
    return list(db.session.execute(participant_party_rows(activities)))
