"""Withdrawn consent in every export: contact exports and vCards leave out people who withdrew
consent to communication; exports and report tables name no one who withdrew consent to
reports ("Anonymous participant"), who still counts in the figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.access import Role
from crm.extensions import db
from crm.models import Activity, User
from crm.services import activities, follow_ups, interactions
from tests.reports.helpers import csv_rows

ANONYMOUS = "Anonymous participant"


@pytest.fixture
def three(make_person):  # type: ignore[no-untyped-def]
    """One person who agreed to everything, one who withdrew communication consent, one who
    withdrew consent to reports."""
    return {
        "open": make_person(
            family_name="Open", given_name="Ann", email="open@example.org", phone="13800138001"
        ),
        "quiet": make_person(
            family_name="Quiet",
            given_name="Qin",
            email="quiet@example.org",
            phone="13800138002",
            consent="withdrawn",
        ),
        "unnamed": make_person(
            family_name="Hidden",
            given_name="Hui",
            chinese_name="隐惠",
            email="hidden@example.org",
            phone="13800138003",
            consent_reports="withdrawn",
            influence=5,
        ),
    }


def _text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_vcards_leave_out_everyone_who_withdrew_either_consent(login_as, three):
    client = login_as(Role.coordinator)
    text = _text(client.get("/people/export.vcf"))
    assert "open@example.org" in text
    assert "quiet@example.org" not in text and "Quiet" not in text
    assert "hidden@example.org" not in text and "Hidden" not in text
    for key in ("quiet", "unnamed"):
        refused = client.get(f"/people/{three[key].id}/vcard")
        assert refused.status_code == 403
        assert "withdrawn consent" in refused.get_data(as_text=True)
    page = _text(client.get(f"/people/{three['quiet'].id}"))
    assert 'data-testid="download-vcard"' not in page


def test_the_people_export_names_no_one_who_withdrew_reports_consent(login_as, three):
    rows = csv_rows(login_as(Role.manager).get("/people?format=csv").data)
    header, body = rows[0], rows[1:]
    by_email = {r[header.index("Email")]: r for r in body}
    assert set(by_email) == {"open@example.org", ""}
    assert len(body) == 3  # everyone still counts
    names = [r[header.index("Name")] for r in body]
    assert ANONYMOUS in names and "Qin Quiet" in names
    text = "\n".join(",".join(r) for r in rows)
    assert "Hidden" not in text and "隐惠" not in text and "hidden@example.org" not in text
    assert "quiet@example.org" not in text and "13800138002" not in text


def test_the_participants_export_keeps_counting_anonymous_participants(login_as, app, actor, three):
    with app.app_context():
        admin = db.session.get(User, actor.id)
        training = activities.create(
            {
                "type": "training",
                "title": "OSH training",
                "status": "held",
                "start_on": date(2026, 3, 4),
                "end_on": date(2026, 3, 4),
            },
            actor=admin,
        )
        activities.add_participants(
            training, [p.id for p in three.values()], actor=admin, status="attended"
        )
        training_id = training.id
    client = login_as(Role.coordinator)
    rows = csv_rows(client.get(f"/activities/{training_id}/participants?format=csv").data)
    header, body = rows[0], rows[1:]
    assert len(body) == 3
    names = sorted(r[header.index("Name")] for r in body)
    assert ANONYMOUS in names
    text = "\n".join(",".join(r) for r in rows)
    assert "Hidden" not in text and "隐惠" not in text and "hidden@example.org" not in text
    assert "quiet@example.org" not in text and "open@example.org" in text
    with app.app_context():
        assert db.session.get(Activity, training_id) is not None


def test_interaction_and_follow_up_exports_name_no_one_who_withdrew_reports_consent(
    login_as, app, actor, three
):
    hidden = three["unnamed"]
    with app.app_context():
        admin = db.session.get(User, actor.id)
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Wage arrears",
                "summary": "Met at the factory",
                "stakeholder_ids": [hidden.id, three["open"].id],
            },
            actor=admin,
        )
        follow_ups.create(
            {
                "title": "Send the checklist",
                "due_on": date(2026, 5, 1),
                "assignee_id": actor.id,
                "stakeholder_id": hidden.id,
            },
            actor=admin,
        )
        follow_ups.create(
            {"title": "Book the room", "due_on": date(2026, 5, 2), "assignee_id": actor.id},
            actor=admin,
        )
    client = login_as(Role.coordinator)
    rows = csv_rows(client.get("/interactions?format=csv").data)
    with_column = rows[1][rows[0].index("With")]
    assert ANONYMOUS in with_column and "Open" in with_column and "Hidden" not in with_column
    rows = csv_rows(client.get("/follow-ups?format=csv").data)
    stakeholder = {r[0]: r[rows[0].index("Stakeholder")] for r in rows[1:]}
    assert stakeholder == {"Send the checklist": ANONYMOUS, "Book the room": ""}


def test_report_tables_name_no_one_who_withdrew_reports_consent(login_as, three):
    client = login_as(Role.manager)
    rows = csv_rows(client.get("/reports?table=not_contacted&format=csv").data)
    names = [r[0] for r in rows[1:]]
    assert ANONYMOUS in names  # still counted, as not contacted
    text = "\n".join(",".join(r) for r in rows)
    assert "Hidden" not in text and "隐惠" not in text
    page = _text(client.get("/reports"))
    assert ANONYMOUS in page and "Hui Hidden" not in page
