"""The main pages of the app, and a little of everything they show: shared by the header
tests (tests/test_security_headers.py) and the browser's policy check
(tests/browser/test_content_security_policy.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Flask

from crm.demo import logframe
from crm.extensions import db
from crm.models import Activity, Indicator, JobKind, Person, User
from crm.services import activities, clock, follow_ups, interactions, jobs, stakeholders

# Paths with {placeholders} filled from `seed`'s ids; an administrator sees all of them.
PAGES = [
    "/",
    "/organisations",
    "/organisations/{organisation}",
    "/organisations/{organisation}/edit",
    "/organisations/new",
    "/organisations/{organisation}/delete",
    "/people",
    "/people/{person}",
    "/people/{person}/edit",
    "/people/new",
    "/people/{person}/data",
    "/people/{person}/data?print=1",
    "/people/{person}/erase",
    "/interactions",
    "/interactions/{interaction}",
    "/interactions/{interaction}/edit",
    "/interactions/new",
    "/activities",
    "/activities/{activity}",
    "/activities/{activity}/edit",
    "/activities/{mou}",
    "/activities/new",
    "/activities/calendar",
    "/activities/mous",
    "/activities/topics",
    "/follow-ups",
    "/follow-ups?overdue=1",
    "/follow-ups/mine",
    "/follow-ups/team",
    "/follow-ups/{follow_up}",
    "/follow-ups/{follow_up}/edit",
    "/follow-ups/new",
    "/reports",
    "/reports/indicators",
    "/reports/indicators/{indicator}",
    "/reports/indicators/{indicator}/records",
    "/reports/indicators/{indicator}/edit",
    "/imports",
    "/jobs/{job}",
    "/search?q=Bright",
    "/duplicates",
    "/admin/users",
    "/admin/users/new",
    "/admin/provinces",
    "/admin/retention",
    "/admin/audit",
    "/trash",
    "/profile",
    "/no/such/page",
]


def seed(
    app: Flask,
    actor: User,
    *,
    make_organisation: Callable[..., Any],
    make_person: Callable[..., Any],
) -> dict[str, int]:
    """Write, through the services as `actor`, an organisation and a person who works there,
    a held training with both, an MoU, a meeting, a follow-up, the demo's donor indicators
    and a queued job; return their ids by the names PAGES uses."""
    today = clock.today()
    org = make_organisation(display_name="Bright Electronics", notes="Line one\nLine two")
    person = make_person(family_name="Wang", given_name="Fang", notes="Met at the forum")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        stakeholders.add_affiliation(
            db.session.get(Person, person.id),
            organisation_id=org.id,
            title="HR manager",
            start_on=date(2024, 1, 1),
            end_on=None,
            actor=admin,
        )
        activity = activities.create(
            {
                "type": "training",
                "title": "OSH training",
                "status": "held",
                "start_on": today - timedelta(days=3),
                "end_on": today - timedelta(days=2),
                "description": "Two days\nin Shenzhen",
            },
            actor=admin,
        )
        activities.add_participants(db.session.get(Activity, activity.id), [person.id], actor=admin)
        activities.add_party(activity, organisation_id=org.id, role="host", actor=admin)
        mou = activities.create(
            {"type": "mou", "title": "MoU with the bureau", "start_on": today}, actor=admin
        )
        interaction = interactions.log_interaction(
            {
                "occurred_at": clock.now() - timedelta(days=1),
                "channel": "meeting",
                "subject": "Working hours dialogue",
                "summary": "Overtime\nand wages",
                "outcome": "Agreed a visit",
                "stakeholder_ids": [org.id, person.id],
            },
            actor=admin,
        )
        follow_up = follow_ups.create(
            {
                "title": "Send the OSH checklist",
                "due_on": today + timedelta(days=7),
                "assignee_id": admin.id,
                "details": "Both\nversions",
                "stakeholder_id": org.id,
            },
            actor=admin,
        )
        logframe.load(actor=admin, today=today)
        indicator = db.session.scalars(db.select(Indicator).order_by(Indicator.id)).first()
        assert indicator is not None
        job = jobs.create(JobKind.export, actor=admin)
        return {
            "organisation": org.id,
            "person": person.id,
            "activity": activity.id,
            "mou": mou.id,
            "interaction": interaction.id,
            "follow_up": follow_up.id,
            "indicator": indicator.id,
            "job": job.id,
        }
