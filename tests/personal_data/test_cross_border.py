"""Exports "for headquarters" count each person once a year (a CrossBorderTransfer linked to
the export's audit event); the manager's page compares the year's count with the threshold."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, CrossBorderTransfer, User
from crm.services import activities, clock


def _transfers() -> list[CrossBorderTransfer]:
    return list(db.session.scalars(sa.select(CrossBorderTransfer).order_by(CrossBorderTransfer.id)))


@pytest.fixture
def people(make_person):  # type: ignore[no-untyped-def]
    return [
        make_person(family_name="Ai", given_name="Li", email="ai@example.org"),
        make_person(family_name="Bo", given_name="Yu", email="bo@example.org"),
        make_person(family_name="Cao", given_name="Hui", consent_reports="withdrawn"),
    ]


def test_an_export_for_headquarters_counts_each_named_person_once_a_year(login_as, in_app, people):
    client = login_as(Role.coordinator)
    response = client.get("/people?format=csv&headquarters=1")
    assert response.status_code == 200 and response.data  # the whole file is read
    with in_app():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.export)
        )
        assert event.changes["headquarters"] == [None, True]
        found = _transfers()
        # Cao withdrew consent to reports: not named in the file, not sent.
        assert {t.person_id for t in found} == {people[0].id, people[1].id}
        assert {t.year for t in found} == {clock.today().year}
        assert {t.audit_event_id for t in found} == {event.id}
    # Again, and in Excel: no one counted twice; the first export stays the one recorded.
    assert client.get("/people?format=xlsx&headquarters=1").status_code == 200
    with in_app():
        again = _transfers()
        assert [(t.person_id, t.audit_event_id) for t in again] == [
            (t.person_id, t.audit_event_id) for t in found
        ]


def test_an_export_not_for_headquarters_counts_no_one(login_as, in_app, people):
    client = login_as(Role.coordinator)
    assert client.get("/people?format=csv").status_code == 200
    assert client.get("/people?format=csv&headquarters=0").data
    with in_app():
        assert _transfers() == []


def test_a_filtered_export_counts_only_the_people_it_holds(login_as, in_app, people):
    client = login_as(Role.coordinator)
    assert client.get("/people?q=ai%40example.org&format=csv&headquarters=1").data
    with in_app():
        assert [t.person_id for t in _transfers()] == [people[0].id]


def test_the_participants_export_for_headquarters_counts_its_participants(
    login_as, app, in_app, actor, people
):
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
        activities.add_participants(training, [people[1].id, people[2].id], actor=admin)
        training_id = training.id
    client = login_as(Role.coordinator)
    page = client.get(f"/activities/{training_id}").get_data(as_text=True)
    assert 'data-testid="participants-headquarters"' in page
    url = f"/activities/{training_id}/participants?format=csv&headquarters=1"
    assert client.get(url).data
    with in_app():
        assert [t.person_id for t in _transfers()] == [people[1].id]


@pytest.mark.parametrize("role", [Role.member, Role.viewer])
def test_members_and_viewers_cannot_export_for_headquarters(login_as, in_app, people, role):
    assert login_as(role).get("/people?format=csv&headquarters=1").status_code == 403
    with in_app():
        assert _transfers() == []


def test_the_export_menu_offers_the_headquarters_option(login_as, people):
    page = login_as(Role.coordinator).get("/people?gender=female").get_data(as_text=True)
    assert 'data-testid="export-headquarters"' in page
    assert 'name="headquarters" value="1"' in page
    assert '<input type="hidden" name="gender" value="female">' in page
    page = login_as(Role.member).get("/people").get_data(as_text=True)
    assert 'data-testid="export-headquarters"' not in page


@pytest.mark.parametrize(
    ("threshold", "testid", "shown"),
    [
        (10, "assessment-not-due", "2 / 10"),
        (2, "assessment-due", "2 / 2"),
        (3, "assessment-near", "2 / 3"),  # 67 %: not yet near
    ],
)
def test_the_summary_compares_this_years_count_with_the_threshold(
    login_as, app, people, threshold, testid, shown
):
    coordinator = login_as(Role.coordinator)
    assert coordinator.get("/people?format=csv&headquarters=1").data
    app.config["CROSS_BORDER_THRESHOLD"] = threshold
    page = login_as(Role.manager).get("/reports/cross-border").get_data(as_text=True)
    assert shown in page
    expected = testid if threshold != 3 else "assessment-not-due"
    assert f'data-testid="{expected}"' in page
    month = clock.today()
    assert f'{clock.display(month, "month")}</td><td class="text-end">2</td>' in page


def test_the_summary_warns_from_80_percent(login_as, app, make_person):
    for n in range(4):
        make_person(family_name=f"P{n}", given_name="Test")
    assert login_as(Role.coordinator).get("/people?format=csv&headquarters=1").data
    app.config["CROSS_BORDER_THRESHOLD"] = 5
    page = login_as(Role.viewer).get("/reports/cross-border").get_data(as_text=True)
    assert 'data-testid="assessment-near"' in page and "4 / 5" in page


def test_the_summary_of_a_year_without_exports_is_empty(login_as):
    page = login_as(Role.manager).get("/reports/cross-border?year=2001")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Cross-border transfers 2001" in text and 'data-testid="assessment-not-due"' in text
    assert login_as(Role.manager).get("/reports/cross-border?year=abc").status_code == 200
