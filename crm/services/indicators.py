"""Donor indicators (logframe): the records the manager keeps, and the figures they track.

An indicator is a record (code, English and Chinese name, unit, baseline, a target per year)
bound to one `Metric`, a figure the system computes from activities and interactions. The
figures are computed here for any period; views show them per quarter and per year, and
every figure can be opened as the list of records behind it (`records`).

Writes (`create`, `update`, `delete`) need `Permission.MANAGE_INDICATORS` (managers and
administrators), validate everything before writing, record one AuditEvent (entity type
"indicators") and commit once. Reading is for every signed-in role.

Definitions (tests/reports/test_indicators.py asserts each of them on a known data set):

* Period: from `start` to `end`, both days included. Activities count by their dates (no
  time of day); interactions by their local calendar day in the programme's time zone
  (Asia/Shanghai unless told), as in the engagement report (crm.services.reports).
* Records in the trash never count: activities, people, organisations, interactions,
  stakeholders.
* Attendees follow the reach definition of crm.services.activities: named participants with
  status "attended", plus the activity's headcounts of attendees not registered by name.
* Trainings: live activities of type "training" with status "held" whose start date lies in
  the period. Planned and cancelled trainings have trained nobody (yet); webinars and
  awareness-raising events are not trainings.
* Enterprises trained: the distinct live organisations of type "enterprise" reached by those
  trainings: the organisation at the time of a named attendee, or a party with the role
  "participant" (hosts, partners, sponsors deliver the training; they are not trained). By
  sector: the enterprise's own sector ("No sector" when it has none).
* Government officials trained: the distinct named attendees of those trainings whose
  organisation at the time is a live organisation of type "government". By sex (their
  gender) and by sector (the training's sector).
* Participants trained: the distinct named attendees of those trainings, each person once
  in the period however many trainings they attended, plus the unnamed headcounts of every
  training, summed (nobody can tell whether two sign-in sheets name the same people). So a
  person who attended a training in January and one in May counts once in the year, and
  once in each of the two quarters. By sex: women, men, other, not stated (named people by
  the gender on their record; unnamed headcounts by the sheet's women / men / unspecified).
  By sector: the training's sector; a person who attended trainings of two sectors counts
  under both, and once in the total.
* Forums held: live activities of type "forum" with status "held" starting in the period.
* MoUs signed: live activities of type "mou" whose signing date (signed_on) lies in the
  period, whatever their agreement status is now (an MoU terminated later was still signed).
* Research outputs published: live activities of type "research" that are not cancelled and
  record a publication. The model keeps no publication date: a research output counts on its
  end date, or its start date when it has none.
* Forums, MoUs and research outputs by sector: the activity's sector.
* Stakeholders engaged: as in the engagement report, the distinct live stakeholders involved
  in at least one live interaction of the period. By stakeholder type (the organisation's
  type, or "person") and by sector (an organisation's sector; a person's are those of the
  organisations they currently work for, so they may count under two sectors, once in the
  total).
* A year's value is computed over the whole year, never summed from its quarters: people and
  organisations count once per period.
* Progress = the year's value / the year's target; none without a target (or a target of 0).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, can
from crm.extensions import db
from crm.models import (
    LABELS,
    Activity,
    ActivityParty,
    ActivityStatus,
    ActivityType,
    AuditAction,
    Gender,
    Indicator,
    IndicatorTarget,
    Interaction,
    Metric,
    Organisation,
    OrgType,
    Participation,
    ParticipationStatus,
    PartyRole,
    Person,
    Stakeholder,
    User,
    interaction_stakeholders,
    label,
    utcnow,
)
from crm.services import audit, reports
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.exports import tuple_columns

log = logging.getLogger(__name__)

FIRST_YEAR, LAST_YEAR = reports.FIRST_DAY.year, reports.LAST_DAY.year
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_TARGETS = 30
FIELDS = (
    "code",
    "name",
    "name_zh",
    "unit",
    "metric",
    "disaggregations",
    "baseline",
    "baseline_year",
    "notes",
)
MAX_LENGTHS = {"code": 20, "name": 300, "name_zh": 300, "unit": 60, "notes": 5000}

# Figures that count activities (the others count people, organisations or stakeholders).
ACTIVITY_METRICS = (Metric.forums_held, Metric.mous_signed, Metric.research_published)


class Disaggregation(StrEnum):
    """What an indicator's figure can be broken down by (Indicator.disaggregations)."""

    sex = "sex"
    sector = "sector"
    stakeholder_type = "stakeholder_type"


LABELS.add(
    [
        (Disaggregation.sex, _l("Sex")),
        (Disaggregation.sector, _l("Sector")),
        (Disaggregation.stakeholder_type, _l("Stakeholder type")),
    ]
)
SEX, SECTOR, STAKEHOLDER_TYPE = (d.value for d in Disaggregation)
DIMENSIONS = (SEX, SECTOR, STAKEHOLDER_TYPE)
# The disaggregations each figure can give (an indicator may ask for any of them).
SUPPORTED: dict[Metric, tuple[str, ...]] = {
    Metric.enterprises_trained: (SECTOR,),
    Metric.officials_trained: (SEX, SECTOR),
    Metric.participants_trained: (SEX, SECTOR),
    Metric.forums_held: (SECTOR,),
    Metric.mous_signed: (SECTOR,),
    Metric.research_published: (SECTOR,),
    Metric.stakeholders_engaged: (STAKEHOLDER_TYPE, SECTOR),
}
WOMEN, MEN, OTHER, NOT_STATED = "women", "men", "other", "not_stated"
SEXES = (WOMEN, MEN, OTHER, NOT_STATED)
SEX_OF_GENDER = {
    Gender.female.value: WOMEN,
    Gender.male.value: MEN,
    Gender.other.value: OTHER,
    Gender.undisclosed.value: NOT_STATED,
}
# Every key of a dimension, in display order ("" is "No sector").
KEYS: dict[str, tuple[str, ...]] = {
    SEX: SEXES,
    SECTOR: (*reports.SECTORS, reports.NO_SECTOR),
    STAKEHOLDER_TYPE: reports.TYPES,
}
# Keys shown even when nothing counts under them (a donor table always has women and men).
ALWAYS_SHOWN: dict[str, tuple[str, ...]] = {SEX: (WOMEN, MEN)}

SEX_LABELS = {WOMEN: _l("Women"), MEN: _l("Men"), OTHER: _l("Other"), NOT_STATED: _l("Not stated")}
METRIC_DESCRIPTIONS = {
    Metric.enterprises_trained: _l(
        "Distinct enterprises whose staff attended a training held in the period, or that took "
        "part in one as a participating organisation."
    ),
    Metric.officials_trained: _l(
        "Distinct people who attended a training held in the period while working for a "
        "government body."
    ),
    Metric.participants_trained: _l(
        "Distinct people who attended a training held in the period (each person once, however "
        "many trainings), plus the attendees counted on sign-in sheets without names."
    ),
    Metric.forums_held: _l("Forums held (status “held”) that started in the period."),
    Metric.mous_signed: _l("MoUs whose signing date lies in the period."),
    Metric.research_published: _l(
        "Research activities with a publication, counted on their end date (or start date)."
    ),
    Metric.stakeholders_engaged: _l(
        "Distinct stakeholders involved in at least one interaction in the period."
    ),
}


def dimension_label(dimension: str) -> str:
    return label(Disaggregation(dimension)) if dimension in DIMENSIONS else dimension


def key_label(dimension: str, key: str) -> str:
    """The display label of a disaggregation key: "Women", "Textile and garment", ..."""
    if dimension == SEX:
        return str(SEX_LABELS.get(key, key))
    if dimension == SECTOR:
        return reports.sector_label(key)
    if dimension == STAKEHOLDER_TYPE:
        return reports.type_label(key)
    return key


def metric_description(metric: Metric | str) -> str:
    found = METRIC_DESCRIPTIONS.get(Metric(metric))
    return str(found) if found is not None else ""


def number_text(value: Decimal | int | None) -> str:
    """A baseline or target without trailing zeros: 40, 12.5 (the audit trail's form too)."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# ---------------------------------------------------------------------------------------------
# Reading records
# ---------------------------------------------------------------------------------------------


def _require(actor: User | None) -> None:
    if not can(actor, Permission.MANAGE_INDICATORS):
        raise PermissionDenied(_("Only managers and administrators can change the indicators."))


def get(indicator_id: int) -> Indicator:
    """The live indicator with that id, or NotFound (also for indicators in the trash)."""
    found = db.session.get(Indicator, indicator_id)
    if found is None or found.deleted_at is not None:
        raise NotFound(_("No such indicator."))
    return found


def _code_key(indicator: Indicator) -> tuple[Any, ...]:
    """Logframe order: codes compared number by number (1.2 before 1.10); no code last."""
    parts = re.split(r"(\d+)", indicator.code or "")
    key = tuple((0, int(p), "") if p.isdecimal() else (1, 0, p.lower()) for p in parts if p)
    return (not indicator.code, key, indicator.name.lower(), indicator.id)


def list_indicators() -> list[Indicator]:
    """Every live indicator with its targets, in the order of their codes (two queries)."""
    stmt = (
        sa.select(Indicator)
        .where(Indicator.deleted_at.is_(None))
        .options(selectinload(Indicator.targets))
    )
    return sorted(db.session.scalars(stmt), key=_code_key)


def target_for(indicator: Indicator, year: int) -> Decimal | None:
    return next((t.target for t in indicator.targets if t.year == year), None)


def state(indicator: Indicator) -> dict[str, Any]:
    """The audited fields as JSON-safe values: what the history and the conflict page show."""
    values = audit.snapshot(indicator, FIELDS)
    values["baseline"] = number_text(indicator.baseline)
    values["disaggregations"] = list(indicator.disaggregations or [])
    values["targets"] = [f"{t.year}: {number_text(t.target)}" for t in indicator.targets]
    return values


# ---------------------------------------------------------------------------------------------
# Validation shared by create and update
# ---------------------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, *, required: str | None = None) -> str | None:
    value = data.get(name)
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ""):
        if required:
            raise InvalidInput(required, field=name)
        return None
    value = str(value)
    if len(value) > MAX_LENGTHS[name]:
        raise InvalidInput(_("At most %(count)d characters.", count=MAX_LENGTHS[name]), field=name)
    return value


def _amount(value: Any, name: str, *, required: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Give a number (0 when there is none)."), field=name)
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give a number, such as 40 or 12.5."), field=name) from None
    if not amount.is_finite():
        raise InvalidInput(_("Give a number, such as 40 or 12.5."), field=name)
    if amount < 0:
        raise InvalidInput(_("The number may not be negative."), field=name)
    if amount > MAX_AMOUNT:
        raise InvalidInput(_("The number is too large."), field=name)
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(_("Use at most two decimals."), field=name)
    return amount


def _year(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = None
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            _("Give a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            field=name,
        )
    return year


def _targets(rows: Iterable[Any]) -> dict[int, Decimal]:
    """{year: target} from rows of {"year", "target"} (rows with neither are skipped)."""
    found: dict[int, Decimal] = {}
    for row in rows:
        row = row if isinstance(row, Mapping) else {"year": row[0], "target": row[1]}
        year_value, target_value = row.get("year"), row.get("target")
        if year_value in (None, "") and target_value in (None, ""):
            continue
        year = _year(year_value, "targets")
        if year is None:
            raise InvalidInput(_("Give the year of each target."), field="targets")
        target = _amount(target_value, "targets", required=False)
        if target is None:
            raise InvalidInput(_("Give the target for %(year)d.", year=year), field="targets")
        if year in found:
            raise InvalidInput(_("%(year)d has two targets: keep one.", year=year), field="targets")
        found[year] = target
    if len(found) > MAX_TARGETS:
        raise InvalidInput(
            _("At most %(count)d yearly targets.", count=MAX_TARGETS), field="targets"
        )
    return dict(sorted(found.items()))


def _validated(data: Mapping[str, Any], *, current: Indicator | None) -> dict[str, Any]:
    """Clean values of every field, or InvalidInput with the field it belongs to."""
    values: dict[str, Any] = {
        "code": _text(data, "code"),
        "name": _text(data, "name", required=_("Give the indicator's name.")),
        "name_zh": _text(data, "name_zh"),
        "unit": _text(data, "unit", required=_("Give the unit: enterprises, people, forums…")),
        "notes": _text(data, "notes"),
    }
    try:
        metric = Metric(data.get("metric") or "")
    except ValueError:
        raise InvalidInput(_("Choose a figure from the list."), field="metric") from None
    values["metric"] = metric
    chosen = data.get("disaggregations") or []
    if isinstance(chosen, str):
        chosen = [chosen]
    unknown = [d for d in chosen if d not in DIMENSIONS]
    if unknown:
        raise InvalidInput(_("Choose disaggregations from the list."), field="disaggregations")
    unsupported = [d for d in chosen if d not in SUPPORTED[metric]]
    if unsupported:
        raise InvalidInput(
            _(
                "“%(figure)s” cannot be broken down by %(what)s. It can be broken down by: "
                "%(allowed)s.",
                figure=label(metric),
                what=", ".join(dimension_label(d).lower() for d in unsupported),
                allowed=", ".join(dimension_label(d).lower() for d in SUPPORTED[metric]),
            ),
            field="disaggregations",
        )
    values["disaggregations"] = [d for d in DIMENSIONS if d in chosen]
    values["baseline"] = _amount(data.get("baseline"), "baseline", required=True)
    values["baseline_year"] = _year(data.get("baseline_year"), "baseline_year")
    if "targets" in data:
        values["targets"] = _targets(data.get("targets") or [])
    elif current is not None:
        values["targets"] = {t.year: t.target for t in current.targets}
    else:
        values["targets"] = {}
    if values["code"] is not None:
        clash = sa.select(Indicator.id).where(
            Indicator.deleted_at.is_(None),
            sa.func.lower(Indicator.code) == values["code"].lower(),
        )
        if current is not None:
            clash = clash.where(Indicator.id != current.id)
        if db.session.scalar(clash.limit(1)) is not None:
            raise InvalidInput(
                _("Another indicator has the code %(code)s.", code=values["code"]), field="code"
            )
    return values


def _assign(indicator: Indicator, values: Mapping[str, Any]) -> None:
    for name in FIELDS:
        setattr(indicator, name, values[name])
    wanted: dict[int, Decimal] = values["targets"]
    # Update rows in place by year: deleting and re-inserting a year in one flush would
    # collide with the unique (indicator, year) constraint.
    kept = []
    for target in indicator.targets:
        if target.year in wanted:
            if target.target != wanted[target.year]:
                target.target = wanted[target.year]
            kept.append(target)
    have = {t.year for t in kept}
    kept.extend(IndicatorTarget(year=y, target=t) for y, t in wanted.items() if y not in have)
    kept.sort(key=lambda t: t.year)
    if [id(t) for t in kept] != [id(t) for t in indicator.targets]:
        indicator.targets = kept


# ---------------------------------------------------------------------------------------------
# Create, update, delete
# ---------------------------------------------------------------------------------------------


def create(data: Mapping[str, Any], *, actor: User) -> Indicator:
    """Create an indicator from plain values (`targets`: rows of year and target); audited.

    Managers and administrators. Raises InvalidInput (nothing written) for values the rules
    reject: a missing name or unit, an unknown figure, a disaggregation the figure cannot
    give, a negative number, a year outside 1990–2100, a year with two targets.
    """
    _require(actor)
    values = _validated(data, current=None)
    indicator = Indicator(created_by_id=actor.id, disaggregations=[])
    with db.session.no_autoflush:
        _assign(indicator, values)
    db.session.add(indicator)
    db.session.flush()
    audit.record(
        indicator,
        actor=actor,
        action=AuditAction.create,
        changes={k: [None, v] for k, v in state(indicator).items() if v not in (None, "", [])},
        summary=indicator.name,
    )
    db.session.commit()
    log.info("created indicator %s", indicator.id)
    return indicator


def _stale(indicator: Indicator) -> Conflict:
    return Conflict(
        _("Someone else saved this indicator while you were editing it."),
        current=state(indicator),
    )


def update(
    indicator: Indicator, changes: Mapping[str, Any], *, version: int, actor: User
) -> Indicator:
    """Apply changes made on top of `version`; one audit event with the diff.

    Raises Conflict (nothing written) when someone saved the indicator since `version` was
    read, InvalidInput for values the rules reject (see `create`).
    """
    _require(actor)
    if indicator.deleted_at is not None:
        raise NotFound(_("No such indicator."))
    if indicator.version != version:
        raise _stale(indicator)
    merged = {**{name: getattr(indicator, name) for name in FIELDS}, **changes}
    values = _validated(merged, current=indicator)
    before = state(indicator)
    try:
        with db.session.no_autoflush:
            _assign(indicator, values)
            after = state(indicator)
        changed = audit.diff(before, after)
        if changed:
            # Targets live in another table: bump the version so that others see the change.
            indicator.updated_at = utcnow()
            audit.record(
                indicator,
                actor=actor,
                action=AuditAction.update,
                changes=changed,
                summary=indicator.name,
            )
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(indicator)
        raise _stale(indicator) from None
    return indicator


def delete(indicator: Indicator, *, actor: User) -> None:
    """Move an indicator to the trash: it leaves the list and its figures are no longer
    shown; its targets are kept with it."""
    _require(actor)
    if indicator.deleted_at is not None:
        raise NotFound(_("No such indicator."))
    indicator.deleted_at = utcnow()
    audit.record(indicator, actor=actor, action=AuditAction.delete, summary=indicator.name)
    db.session.commit()
    log.info("indicator %s moved to the trash", indicator.id)


def restore(indicator: Indicator, *, actor: User) -> None:
    """Take an indicator out of the trash (administrators). InvalidInput when it is live, or
    when a live indicator has taken its code meanwhile (change that one's code first)."""
    if not can(actor, Permission.MANAGE_TRASH):
        raise PermissionDenied(_("You do not have permission to do that."))
    if indicator.deleted_at is None:
        raise InvalidInput(_("This record is not in the trash."))
    if indicator.code:
        clash = db.session.scalar(
            sa.select(Indicator.id)
            .where(
                Indicator.deleted_at.is_(None),
                sa.func.lower(Indicator.code) == indicator.code.lower(),
            )
            .limit(1)
        )
        if clash is not None:
            raise InvalidInput(_("Another indicator has the code %(code)s.", code=indicator.code))
    indicator.deleted_at = None
    audit.record(indicator, actor=actor, action=AuditAction.restore, summary=indicator.name)
    db.session.commit()
    log.info("indicator %s restored from the trash", indicator.id)


def purge(indicator: Indicator, *, actor: User) -> None:
    """Delete a trashed indicator and its targets for good (administrators); the audit trail
    keeps a purge event. The records it counted are not touched."""
    if not can(actor, Permission.MANAGE_TRASH):
        raise PermissionDenied(_("You do not have permission to do that."))
    if indicator.deleted_at is None:
        raise InvalidInput(_("Only records in the trash can be purged."))
    indicator_id = indicator.id
    audit.record(indicator, actor=actor, action=AuditAction.purge, summary=indicator.name)
    db.session.delete(indicator)
    db.session.commit()
    log.info("indicator %s purged", indicator_id)


# ---------------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One contribution to a figure on one day.

    `record` is what is counted, ("organisation" | "person" | "activity" | "stakeholder", id):
    the same record on several days or under several keys still counts once per period.
    A headcount of unnamed attendees has no record and adds `count` instead. `via` is the
    activity (or interaction) through which it counts.
    """

    day: date
    record: tuple[str, int] | None
    via: int
    keys: tuple[tuple[str, str], ...] = ()
    count: int = 1

    def key(self, dimension: str) -> str | None:
        return next((k for d, k in self.keys if d == dimension), None)


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    values: tuple[tuple[str, int], ...]  # every key of the dimension, in display order

    def of(self, key: str) -> int:
        return dict(self.values).get(key, 0)


@dataclass(frozen=True)
class Figure:
    """A figure over one period: the distinct records, plus headcounts, and breakdowns."""

    start: date
    end: date
    named: int
    unnamed: int
    breakdowns: tuple[Breakdown, ...] = ()

    @property
    def value(self) -> int:
        return self.named + self.unnamed

    def breakdown(self, dimension: str) -> Breakdown | None:
        return next((b for b in self.breakdowns if b.dimension == dimension), None)


def _value(member: Any) -> str:
    return "" if member is None else str(getattr(member, "value", member))


def _sex(gender: Any) -> str:
    return SEX_OF_GENDER.get(_value(gender), NOT_STATED)


def _trainings(start: date, end: date) -> list[Any]:
    stmt = sa.select(
        Activity.id,
        Activity.start_on,
        Activity.sector,
        Activity.unnamed_women,
        Activity.unnamed_men,
        Activity.unnamed_unspecified,
    ).where(
        Activity.deleted_at.is_(None),
        Activity.type == ActivityType.training,
        Activity.status == ActivityStatus.held,
        Activity.start_on >= start,
        Activity.start_on <= end,
    )
    return list(db.session.execute(stmt))


def _attendees(activity_ids: Sequence[int]) -> list[Any]:
    """(activity, person, gender, organisation at the time, its type, its sector) of every
    named attendee not in the trash; the organisation only when it is live."""
    if not activity_ids:
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
            Participation.activity_id.in_(list(activity_ids)),
            Participation.status == ParticipationStatus.attended,
            Person.deleted_at.is_(None),
        )
    )
    return list(db.session.execute(stmt))


def _participant_parties(activity_ids: Sequence[int]) -> list[Any]:
    if not activity_ids:
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
            ActivityParty.activity_id.in_(list(activity_ids)),
            ActivityParty.role == PartyRole.participant,
            Organisation.deleted_at.is_(None),
        )
    )
    return list(db.session.execute(stmt))


def _training_items(metric: Metric, start: date, end: date) -> list[Item]:
    trainings = _trainings(start, end)
    day_of = {row.id: row.start_on for row in trainings}
    sector_of = {row.id: _value(row.sector) for row in trainings}
    items: list[Item] = []
    for activity_id, person_id, gender, org_id, org_type, org_sector in _attendees(list(day_of)):
        day, sector = day_of[activity_id], sector_of[activity_id]
        if metric == Metric.participants_trained:
            keys = ((SEX, _sex(gender)), (SECTOR, sector))
            items.append(Item(day, ("person", person_id), activity_id, keys))
        elif metric == Metric.officials_trained:
            if org_id is not None and _value(org_type) == OrgType.government:
                keys = ((SEX, _sex(gender)), (SECTOR, sector))
                items.append(Item(day, ("person", person_id), activity_id, keys))
        elif org_id is not None and _value(org_type) == OrgType.enterprise:
            keys = ((SECTOR, _value(org_sector)),)
            items.append(Item(day, ("organisation", org_id), activity_id, keys))
    if metric == Metric.enterprises_trained:
        for activity_id, org_id, org_type, org_sector in _participant_parties(list(day_of)):
            if _value(org_type) == OrgType.enterprise:
                keys = ((SECTOR, _value(org_sector)),)
                items.append(Item(day_of[activity_id], ("organisation", org_id), activity_id, keys))
    if metric == Metric.participants_trained:
        for row in trainings:
            for sex, count in (
                (WOMEN, row.unnamed_women),
                (MEN, row.unnamed_men),
                (NOT_STATED, row.unnamed_unspecified),
            ):
                if count:
                    keys = ((SEX, sex), (SECTOR, sector_of[row.id]))
                    items.append(Item(row.start_on, None, row.id, keys, count))
    return items


def _activity_items(metric: Metric, start: date, end: date) -> list[Item]:
    if metric == Metric.forums_held:
        day = Activity.start_on
        conditions = [Activity.type == ActivityType.forum, Activity.status == ActivityStatus.held]
    elif metric == Metric.mous_signed:
        day = Activity.signed_on
        conditions = [Activity.type == ActivityType.mou]
    else:
        day = sa.func.coalesce(Activity.end_on, Activity.start_on)
        conditions = [
            Activity.type == ActivityType.research,
            Activity.status != ActivityStatus.cancelled,
            Activity.publication.is_not(None),
            sa.func.length(sa.func.trim(Activity.publication)) > 0,
        ]
    stmt = sa.select(Activity.id, day, Activity.sector).where(
        Activity.deleted_at.is_(None), day >= start, day <= end, *conditions
    )
    return [
        Item(on, ("activity", activity_id), activity_id, ((SECTOR, _value(sector)),))
        for activity_id, on, sector in db.session.execute(stmt)
    ]


def _engaged_items(start: date, end: date, timezone: str | ZoneInfo) -> list[Item]:
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(str(timezone))
    period = reports.Period(start, end, str(zone.key))
    facts = reports.load_facts()
    stmt = (
        sa.select(
            interaction_stakeholders.c.interaction_id,
            interaction_stakeholders.c.stakeholder_id,
            Interaction.occurred_at,
        )
        .join(Interaction, Interaction.id == interaction_stakeholders.c.interaction_id)
        .where(
            Interaction.deleted_at.is_(None),
            Interaction.occurred_at >= period.start_at,
            Interaction.occurred_at < period.end_at,
        )
    )
    items = []
    for interaction_id, stakeholder_id, occurred_at in db.session.execute(stmt):
        found = facts.get(stakeholder_id)
        if found is None:  # in the trash
            continue
        day = period.local_date(occurred_at)
        for sector in sorted(found.sectors):
            keys = ((STAKEHOLDER_TYPE, found.type), (SECTOR, sector))
            items.append(Item(day, ("stakeholder", stakeholder_id), interaction_id, keys))
    return items


def items(
    metric: Metric | str,
    start: date,
    end: date,
    *,
    timezone: str | ZoneInfo = reports.DEFAULT_TIMEZONE,
) -> list[Item]:
    """Every contribution to `metric` from `start` to `end` (both included); read-only.

    Load a year once and compute its quarters from it with `figure`: a few queries per
    metric, however many indicators and periods are shown.
    """
    metric = Metric(metric)
    if metric in (
        Metric.enterprises_trained,
        Metric.officials_trained,
        Metric.participants_trained,
    ):
        return _training_items(metric, start, end)
    if metric == Metric.stakeholders_engaged:
        return _engaged_items(start, end, timezone)
    return _activity_items(metric, start, end)


def _matching(found: Iterable[Item], dimension: str | None, key: str | None) -> list[Item]:
    if dimension is None:
        return list(found)
    return [i for i in found if i.key(dimension) == key]


def figure(
    loaded: Iterable[Item],
    start: date,
    end: date,
    *,
    dimensions: Sequence[str] = (),
) -> Figure:
    """The figure of the period from `start` to `end` (both included) out of loaded items."""
    inside = [i for i in loaded if start <= i.day <= end]
    named = {i.record for i in inside if i.record is not None}
    unnamed = sum(i.count for i in inside if i.record is None)
    breakdowns = []
    for dimension in dimensions:
        records: defaultdict[str, set[tuple[str, int]]] = defaultdict(set)
        extra: Counter[str] = Counter()
        for i in inside:
            key = i.key(dimension)
            if key is None:
                continue
            if i.record is None:
                extra[key] += i.count
            else:
                records[key].add(i.record)
        values = tuple((k, len(records[k]) + extra[k]) for k in KEYS[dimension])
        breakdowns.append(Breakdown(dimension, values))
    return Figure(start, end, len(named), unnamed, tuple(breakdowns))


def compute(
    metric: Metric | str,
    start: date,
    end: date,
    *,
    dimensions: Sequence[str] = (),
    timezone: str | ZoneInfo = reports.DEFAULT_TIMEZONE,
) -> Figure:
    """One figure over any period; InvalidInput for a period the reports refuse."""
    reports.check_period(start, end)
    return figure(items(metric, start, end, timezone=timezone), start, end, dimensions=dimensions)


def quarters(year: int) -> tuple[tuple[date, date], ...]:
    return tuple(reports.quarter_of(date(year, month, 1)) for month in (1, 4, 7, 10))


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            _("Choose a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            field="year",
        )


@dataclass(frozen=True)
class YearFigures:
    """An indicator's figures in one year: each quarter and the whole year."""

    indicator: Indicator
    year: int
    quarters: tuple[Figure, ...]
    total: Figure
    target: Decimal | None
    today: date

    @property
    def progress(self) -> float | None:
        if self.target is None or self.target <= 0:
            return None
        return self.total.value / float(self.target)

    def has_started(self, figure: Figure) -> bool:
        """False for a period that begins after today: its value means nothing yet."""
        return figure.start <= self.today

    @property
    def periods(self) -> tuple[Figure, ...]:
        return (*self.quarters, self.total)

    def shown_keys(self, dimension: str) -> tuple[str, ...]:
        """The keys of a breakdown worth a column: those with a value in the year, plus
        women and men for sex."""
        found = self.total.breakdown(dimension)
        always = ALWAYS_SHOWN.get(dimension, ())
        return tuple(
            k for k in KEYS[dimension] if k in always or (found is not None and found.of(k))
        )


def _year_figures(indicator: Indicator, year: int, loaded: list[Item], today: date) -> YearFigures:
    dimensions = [d for d in indicator.disaggregations or [] if d in KEYS]
    return YearFigures(
        indicator=indicator,
        year=year,
        quarters=tuple(
            figure(loaded, first, last, dimensions=dimensions) for first, last in quarters(year)
        ),
        total=figure(loaded, date(year, 1, 1), date(year, 12, 31), dimensions=dimensions),
        target=target_for(indicator, year),
        today=today,
    )


def year_figures(
    indicators: Sequence[Indicator],
    year: int,
    *,
    today: date,
    timezone: str | ZoneInfo = reports.DEFAULT_TIMEZONE,
) -> list[YearFigures]:
    """The figures of each indicator in `year`, by quarter and for the year; read-only.

    Each metric is loaded once, however many indicators share it.
    """
    check_year(year)
    start, end = date(year, 1, 1), date(year, 12, 31)
    loaded: dict[Metric, list[Item]] = {}
    result = []
    for indicator in indicators:
        metric = Metric(indicator.metric)
        if metric not in loaded:
            loaded[metric] = items(metric, start, end, timezone=timezone)
        result.append(_year_figures(indicator, year, loaded[metric], today))
    return result


@dataclass(frozen=True)
class YearRow:
    year: int
    target: Decimal | None
    figure: Figure
    has_started: bool

    @property
    def progress(self) -> float | None:
        if self.target is None or self.target <= 0:
            return None
        return self.figure.value / float(self.target)


def years(
    indicator: Indicator,
    *,
    today: date,
    also: Iterable[int] = (),
    timezone: str | ZoneInfo = reports.DEFAULT_TIMEZONE,
) -> list[YearRow]:
    """One row per year that has a target (plus the years in `also`): target, value over the
    whole year, progress. The years are loaded in one go."""
    wanted = sorted({t.year for t in indicator.targets} | set(also))
    wanted = [y for y in wanted if FIRST_YEAR <= y <= LAST_YEAR]
    if not wanted:
        return []
    loaded = items(
        indicator.metric, date(wanted[0], 1, 1), date(wanted[-1], 12, 31), timezone=timezone
    )
    return [
        YearRow(
            year,
            target_for(indicator, year),
            figure(loaded, date(year, 1, 1), date(year, 12, 31)),
            date(year, 1, 1) <= today,
        )
        for year in wanted
    ]


# ---------------------------------------------------------------------------------------------
# The records behind a figure
# ---------------------------------------------------------------------------------------------


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
        row.id: Via("activity", row.id, row.start_on, row.title, row.title_zh, _value(row.type))
        for row in db.session.execute(stmt)
    }


def _stakeholders(ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = sa.select(
        Stakeholder.id, Stakeholder.kind, Stakeholder.display_name, Stakeholder.chinese_name
    ).where(Stakeholder.id.in_(wanted))
    return {row.id: row for row in db.session.execute(stmt)}


def records(
    indicator: Indicator,
    start: date,
    end: date,
    *,
    dimension: str | None = None,
    key: str | None = None,
    timezone: str | ZoneInfo = reports.DEFAULT_TIMEZONE,
) -> Records:
    """The records that make up the indicator's figure from `start` to `end` (both included),
    optionally only those under one key of a breakdown (women, textile, enterprise...).

    Raises InvalidInput for a period the reports refuse, a breakdown the indicator's figure
    cannot give, or an unknown key. Entries and headcounts add up to the figure exactly.
    """
    reports.check_period(start, end)
    metric = Metric(indicator.metric)
    if dimension is not None:
        if dimension not in SUPPORTED[metric]:
            raise InvalidInput(_("This figure has no such breakdown."), field="dimension")
        if key not in KEYS[dimension]:
            raise InvalidInput(_("Unknown category of the breakdown."), field="key")
    loaded = items(metric, start, end, timezone=timezone)
    chosen = _matching(loaded, dimension, key)
    total = figure(chosen, start, end)

    per_record: dict[tuple[str, int], list[Item]] = defaultdict(list)
    for item in chosen:
        if item.record is not None:
            per_record[item.record].append(item)
    if metric == Metric.stakeholders_engaged:
        via_of: dict[int, Via] = {}
        interaction_ids = sorted({i.via for i in chosen})
        if interaction_ids:
            stmt = sa.select(Interaction.id, Interaction.occurred_at).where(
                Interaction.id.in_(interaction_ids)
            )
            zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(str(timezone))
            via_of = {
                iid: Via("interaction", iid, when.astimezone(zone).date())
                for iid, when in db.session.execute(stmt)
            }
    else:
        via_of = _activities(i.via for i in chosen)
    names = (
        {}
        if metric in ACTIVITY_METRICS
        else _stakeholders(record_id for _kind, record_id in per_record)
    )

    entries = []
    for (kind, record_id), found in per_record.items():
        vias = sorted(
            {via_of[i.via] for i in found if i.via in via_of}, key=lambda v: (v.day, v.id)
        )
        first = found[0]
        if kind == "activity":
            via = via_of[record_id]
            detail = ", ".join(
                key_label(SECTOR, s) for s in sorted({i.key(SECTOR) or "" for i in found})
            )
            day = min(i.day for i in found)
            entries.append(Entry(kind, record_id, via.title, via.title_zh, detail, day, (via,)))
            continue
        row = names[record_id]
        kind = _value(row.kind)
        if metric == Metric.stakeholders_engaged:
            detail = reports.type_label(first.key(STAKEHOLDER_TYPE) or "")
        elif metric == Metric.enterprises_trained:
            detail = key_label(SECTOR, first.key(SECTOR) or "")
        else:
            detail = key_label(SEX, first.key(SEX) or NOT_STATED)
        entries.append(
            Entry(
                kind,
                record_id,
                row.display_name,
                row.chinese_name,
                detail,
                min(i.day for i in found),
                tuple(vias),
            )
        )
    entries.sort(key=lambda e: (e.day, e.display_name.lower(), e.id))

    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for item in chosen:
        if item.record is None:
            counts[item.via][item.key(SEX) or NOT_STATED] += item.count
    headcounts = tuple(
        Headcount(via_of[aid], c[WOMEN], c[MEN], c[NOT_STATED])
        for aid, c in sorted(counts.items(), key=lambda pair: (via_of[pair[0]].day, pair[0]))
    )
    return Records(
        indicator=indicator,
        start=start,
        end=end,
        dimension=dimension,
        key=key,
        figure=total,
        entries=tuple(entries),
        headcounts=headcounts,
    )


# ---------------------------------------------------------------------------------------------
# Tables: what the indicator pages show and the exports write
# ---------------------------------------------------------------------------------------------


def _percent(share: float | None) -> float | None:
    return reports.percent(share)


def _amount_cell(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _value_cell(row: YearFigures, found: Figure) -> int | None:
    return found.value if row.has_started(found) else None


def summary_table(rows: Sequence[YearFigures], year: int) -> reports.Table:
    """The indicator table of a year: baseline, target, each quarter, the year, progress."""
    columns = [
        (_("Code"), "text"),
        (_("Indicator"), "text"),
        (_("Indicator (Chinese)"), "text"),
        (_("Unit"), "text"),
        (_("Figure"), "text"),
        (_("Baseline"), "number"),
        (_("Baseline year"), "int"),
        (_("Target %(year)d", year=year), "number"),
        *((_("Q%(n)d %(year)d", n=n, year=year), "int") for n in range(1, 5)),
        (_("Year %(year)d", year=year), "int"),
        (_("Progress (%)"), "percent"),
    ]
    body = tuple(
        (
            r.indicator.code or "",
            r.indicator.name,
            r.indicator.name_zh or "",
            r.indicator.unit,
            label(Metric(r.indicator.metric)),
            _amount_cell(r.indicator.baseline),
            r.indicator.baseline_year,
            _amount_cell(r.target),
            *(_value_cell(r, q) for q in r.quarters),
            _value_cell(r, r.total),
            _percent(r.progress) if r.has_started(r.total) else None,
        )
        for r in rows
    )
    return reports.Table(
        "indicators",
        _("Donor indicators %(year)d", year=year),
        tuple_columns(columns),
        body,
        note=_(
            "A year's value counts each person and organisation once, so it can be less than "
            "the sum of its quarters. Quarters that have not started are left empty."
        ),
    )


def breakdown_table(rows: Sequence[YearFigures], year: int) -> reports.Table:
    """The disaggregations the indicators ask for: one row per indicator and category."""
    columns = [
        (_("Code"), "text"),
        (_("Indicator"), "text"),
        (_("Disaggregation"), "text"),
        (_("Category"), "text"),
        *((_("Q%(n)d %(year)d", n=n, year=year), "int") for n in range(1, 5)),
        (_("Year %(year)d", year=year), "int"),
    ]
    body = []
    for r in rows:
        for dimension in r.indicator.disaggregations or []:
            if dimension not in KEYS:
                continue
            for key in r.shown_keys(dimension):
                cells = []
                for found in r.periods:
                    part = found.breakdown(dimension)
                    shown = r.has_started(found) and part is not None
                    cells.append(part.of(key) if shown and part is not None else None)
                body.append(
                    (
                        r.indicator.code or "",
                        r.indicator.name,
                        dimension_label(dimension),
                        key_label(dimension, key),
                        *cells,
                    )
                )
    return reports.Table(
        "indicator_breakdowns",
        _("Disaggregated figures %(year)d", year=year),
        tuple_columns(columns),
        tuple(body),
        note=_(
            "Someone who counts under two categories (a person trained in two sectors) counts "
            "in both rows, and once in the indicator's total."
        ),
    )


def year_table(indicator: Indicator, rows: Sequence[YearRow]) -> reports.Table:
    return reports.Table(
        "indicator_years",
        _("Targets and values by year"),
        tuple_columns(
            [
                (_("Year"), "int"),
                (_("Target"), "number"),
                (_("Value"), "int"),
                (_("Progress (%)"), "percent"),
            ]
        ),
        tuple(
            (
                r.year,
                _amount_cell(r.target),
                r.figure.value if r.has_started else None,
                _percent(r.progress) if r.has_started else None,
            )
            for r in rows
        ),
    )
