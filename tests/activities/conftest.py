"""Factories for activity tests: activities, topics and participants written through the
services as the factory administrator, returned detached."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask

from crm.extensions import db
from crm.models import Activity, Person, User
from crm.services import activities, stakeholders, topics
from tests.conftest import _detached


@pytest.fixture
def make_activity(app: Flask, actor: User) -> Callable[..., Activity]:
    def make(**over: Any) -> Activity:
        values = {
            "type": "training",
            "title": "OSH training for electronics suppliers",
            "title_zh": "电子行业供应商职业安全与健康培训",
            "status": "planned",
            "start_on": date(2026, 3, 4),
            "end_on": date(2026, 3, 5),
            "city": "Shenzhen",
            "sector": "electronics",
        }
        values.update(over)
        with app.app_context():
            admin = db.session.get(User, actor.id)
            return _detached(activities.create(values, actor=admin))

    return make


@pytest.fixture
def default_topics(app: Flask, actor: User) -> dict[str, int]:
    """The programme's default topics, by English name → id."""
    with app.app_context():
        topics.add_defaults(actor=db.session.get(User, actor.id))
        return {t.name: t.id for t in topics.all_topics()}


@pytest.fixture
def employ(app: Flask, actor: User) -> Callable[..., None]:
    """`employ(person, organisation)`: give the person a current position there."""

    def attach(person: Person, organisation: Any, *, start_on: date | None = None) -> None:
        with app.app_context():
            stakeholders.add_affiliation(
                db.session.get(Person, person.id),
                organisation_id=organisation.id,
                title="Manager",
                start_on=start_on or date(2020, 1, 1),
                end_on=None,
                actor=db.session.get(User, actor.id),
            )

    return attach


@pytest.fixture
def enrol(app: Flask, actor: User) -> Callable[..., None]:
    """`enrol(activity, [people], status=...)` through the service, committed."""

    def add(activity: Activity, people: list[Person], **options: Any) -> None:
        with app.app_context():
            activities.add_participants(
                db.session.get(Activity, activity.id),
                [p.id for p in people],
                actor=db.session.get(User, actor.id),
                **options,
            )

    return add
