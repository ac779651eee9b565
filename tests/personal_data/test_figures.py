"""Erasing and purging participants changes no figure: the engagement report, the reach of
every activity and every donor indicator are the same before and after, on the demo data set
(women and men attending many activities, with interactions and follow-ups)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from crm import demo
from crm.extensions import db
from crm.models import (
    Activity,
    Gender,
    Metric,
    Participation,
    ParticipationStatus,
    Person,
    User,
    interaction_stakeholders,
)
from crm.services import activities, clock, personal_data, reporting, stakeholders
from crm.services.reporting import indicators

NAME_KEYS = {"name", "chinese_name"}


def _plain(value: Any) -> Any:
    """A comparable form of a result: names dropped (erasure changes them, by design) and
    sequences compared as multisets (a list sorted by name may change its order)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in NAME_KEYS}
    if isinstance(value, list | tuple | set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    return value


def _figures() -> dict[str, Any]:
    today = clock.today()
    start, end = today - timedelta(days=365 * 5), today + timedelta(days=365)
    found: dict[str, Any] = {
        "engagement": _plain(reporting.engagement(start, end, today=today)),
        "engagement_people": _plain(
            reporting.engagement(start, end, today=today, stakeholder_type="person")
        ),
    }
    for activity in db.session.scalars(sa.select(Activity).order_by(Activity.id)):
        found[f"reach {activity.id}"] = _plain(activities.reach(activity))
    years = [(date(y, 1, 1), date(y, 12, 31)) for y in range(today.year - 4, today.year + 2)]
    for metric in Metric:
        found[f"indicator {metric}"] = _plain(
            indicators.counted(metric, [*years, (start, end)], dimensions=tuple(indicators.KEYS))
        )
    return found


def _attendees(gender: Gender, count: int) -> list[int]:
    """People of one sex who attended activities and were contacted: they count everywhere."""
    contacted = sa.select(interaction_stakeholders.c.stakeholder_id)
    stmt = (
        sa.select(Person.id)
        .join(Participation, Participation.person_id == Person.id)
        .where(
            Person.gender == gender,
            Person.deleted_at.is_(None),
            Participation.status == ParticipationStatus.attended,
            Person.id.in_(contacted),
        )
        .group_by(Person.id)
        .order_by(sa.func.count().desc(), Person.id)
        .limit(count)
    )
    return list(db.session.scalars(stmt))


def test_erasing_and_purging_participants_changes_no_figure(app, in_app):
    with in_app():
        demo.seed()
        admin = db.session.scalar(sa.select(User).where(User.role == "admin").order_by(User.id))
        coordinator = db.session.scalar(
            sa.select(User).where(User.role == "coordinator").order_by(User.id)
        )
        women, men = _attendees(Gender.female, 4), _attendees(Gender.male, 4)
        assert len(women) == 4 and len(men) == 4, "the demo data set has attendees of both sexes"
        before = _figures()
        # The erased people count: the figures below include them.
        assert any(f["named"] for f in before[f"indicator {Metric.participants_trained}"])
        erased, purged = women[:2] + men[:2], women[2:] + men[2:]
        for person_id in erased:
            personal_data.erase(db.session.get(Person, person_id), actor=coordinator)
        for person_id in purged:
            stakeholders.delete(db.session.get(Person, person_id), actor=coordinator)
            stakeholders.purge(db.session.get(Person, person_id), actor=admin)
        db.session.expire_all()
        after = _figures()
        assert set(after) == set(before)
        for key in before:
            assert after[key] == before[key], key
        for person_id in erased + purged:
            person = db.session.get(Person, person_id)
            assert person.erased_at is not None and person.family_name is None
        # The comparison can fail: an attendee merely moved to the trash changes the figures.
        (control,) = _attendees(Gender.female, 1)
        stakeholders.delete(db.session.get(Person, control), actor=coordinator)
        db.session.expire_all()
        assert _figures() != after
