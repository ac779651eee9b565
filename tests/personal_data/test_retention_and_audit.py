"""Retention (`crm retention`, /admin/retention) and the personal-data audit page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, Person, User
from crm.services import activities, clock, interactions, personal_data
from crm.services.errors import InvalidInput
from crm.services.reporting import exports


def _age(app, person_id: int, years: int) -> None:  # type: ignore[no-untyped-def]
    """Make a record look untouched for `years` years (without bumping its version)."""
    with app.app_context():
        past = clock.now() - timedelta(days=365 * years + 5)
        db.session.execute(
            sa.update(Person.__table__.c.id.table.metadata.tables["stakeholders"])
            .where(sa.column("id") == person_id)
            .values(updated_at=past, created_at=past)
        )
        db.session.commit()


@pytest.fixture
def people(app, actor, make_person):  # type: ignore[no-untyped-def]
    """Old Li (nothing for 5 years), Recent Chen (contacted last month), Trained Sun (old
    record, but attended an activity this year), New Zhou (created today)."""
    old = make_person(family_name="Li", given_name="Old", chinese_name="李老")
    recent = make_person(family_name="Chen", given_name="Recent")
    trained = make_person(family_name="Sun", given_name="Trained")
    new = make_person(family_name="Zhou", given_name="New")
    for person in (old, recent, trained):
        _age(app, person.id, 5)
    with app.app_context():
        admin = db.session.get(User, actor.id)
        interactions.log_interaction(
            {
                "occurred_at": clock.now() - timedelta(days=30),
                "channel": "call",
                "subject": "Check-in",
                "stakeholder_ids": [recent.id],
            },
            actor=admin,
        )
        activity = activities.create(
            {"type": "training", "title": "Wages training", "start_on": clock.today()},
            actor=admin,
        )
        activities.add_participants(activity, [trained.id], status="attended", actor=admin)
    # Logging and enrolling do not touch the person's own record.
    _age(app, recent.id, 5)
    _age(app, trained.id, 5)
    return {"old": old.id, "recent": recent.id, "trained": trained.id, "new": new.id}


def test_the_dry_run_lists_who_is_past_retention_and_why_and_changes_nothing(runner, people, app):
    result = runner.invoke(args=["crm", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{people['old']}\tLi Old\tlast activity ")
    assert "(record)" in lines[0]
    assert "1 people past 3 years of retention (dry run)." in lines[-1]
    with app.app_context():
        assert db.session.get(Person, people["old"]).erased_at is None
        assert (
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == AuditAction.erase)
            ).all()
            == []
        )


def test_the_run_erases_those_past_retention_once(runner, people, app):
    result = runner.invoke(args=["crm", "retention"])
    assert result.exit_code == 0 and "Erased 1 people" in result.output
    again = runner.invoke(args=["crm", "retention"])
    assert again.exit_code == 0 and "Erased 0 people" in again.output
    with app.app_context():
        assert db.session.get(Person, people["old"]).chinese_name is None
        for key in ("recent", "trained", "new"):
            assert db.session.get(Person, people[key]).erased_at is None
        runs = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.retention)
        ).all()
        assert [r.changes["erased"][1] for r in runs] == [[people["old"]]]


@pytest.mark.parametrize("years", ["-1", "0", "500", "three"])
def test_a_bad_retention_period_is_refused_with_a_message(runner, people, app, years):
    result = runner.invoke(args=["crm", "retention", "--years", years])
    assert result.exit_code == 1
    assert "whole number of years from 1 to 50" in result.output
    with app.app_context():
        assert db.session.get(Person, people["old"]).erased_at is None


def test_a_bad_retention_setting_is_refused_too(app, people):
    app.config["RETENTION_YEARS"] = -3
    with app.app_context(), pytest.raises(InvalidInput):
        personal_data.run_retention(years=app.config["RETENTION_YEARS"], now=clock.now())


def test_admin_sees_who_is_due_and_can_exempt_them_with_a_reason(login_as, people, app, runner):
    admin = login_as(Role.admin)
    page = admin.get("/admin/retention").get_data(as_text=True)
    assert "Li Old" in page and page.count('data-testid="due"') == 1
    refused = admin.post(f"/admin/retention/{people['old']}/exempt", data={"reason": "  "})
    assert refused.status_code == 400
    done = admin.post(
        f"/admin/retention/{people['old']}/exempt",
        data={"reason": "Board member of the industry association"},
        follow_redirects=True,
    )
    assert "kept out of retention" in done.get_data(as_text=True)
    assert "Nobody is past the retention period." in done.get_data(as_text=True)
    assert "Erased 0 people" in runner.invoke(args=["crm", "retention"]).output
    with app.app_context():
        person = db.session.get(Person, people["old"])
        assert person.retention_exempt_reason == "Board member of the industry association"
        assert person.retention_exempt_by_id == admin.user.id
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.retention)
        )
        assert event.entity_id == people["old"]


def test_the_daily_schedule_runs_retention(app, people):
    from crm import jobs

    with app.app_context():
        assert jobs.apply_retention(app) == 1
        assert jobs.apply_retention(app) == 0


# --- /admin/audit ------------------------------------------------------------------------------


def test_admin_can_filter_and_export_the_personal_data_events(login_as, people, app, make_user):
    coordinator = login_as(Role.coordinator)
    coordinator.get(f"/people/{people['new']}/data")
    with app.app_context():  # an export of a list with personal data, as the lists record it
        exports.record(db.session.get(User, coordinator.user.id), what="people", rows=3, fmt="csv")
    coordinator.post(f"/people/{people['recent']}/erase", data={"confirm": "y"})
    admin = login_as(Role.admin)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert page.count('data-testid="audit-event"') == 3
    only_erase = admin.get("/admin/audit?action=erase").get_data(as_text=True)
    assert only_erase.count('data-testid="audit-event"') == 1
    someone_else = admin.get(f"/admin/audit?user={admin.user.id}").get_data(as_text=True)
    assert 'data-testid="audit-event"' not in someone_else
    today = clock.today()
    later = admin.get(f"/admin/audit?start={today + timedelta(days=1)}").get_data(as_text=True)
    assert 'data-testid="audit-event"' not in later
    both = admin.get(f"/admin/audit?start={today - timedelta(days=1)}&end={today}")
    assert both.get_data(as_text=True).count('data-testid="audit-event"') == 3
    # Nonsense in the query string is ignored, never a 500.
    assert admin.get("/admin/audit?user=x&action=drop&start=2026-13-45&page=-1").status_code == 200
    csv_file = admin.get("/admin/audit?format=csv&action=access")
    assert csv_file.status_code == 200 and csv_file.mimetype == "text/csv"
    lines = csv_file.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 2 and "subject access export (page)" in lines[1]
    assert coordinator.user.email in lines[1]


def test_the_audit_page_paginates(login_as, app, people):
    with app.app_context():
        for n in range(60):
            db.session.add(
                AuditEvent(
                    action=AuditAction.access,
                    entity_type="people",
                    entity_id=people["new"],
                    summary=f"subject access export (page) {n}",
                    occurred_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
                )
            )
        db.session.commit()
    admin = login_as(Role.admin)
    first = admin.get("/admin/audit").get_data(as_text=True)
    assert first.count('data-testid="audit-event"') == 50 and "1–50 of 60" in first
    second = admin.get("/admin/audit?page=2").get_data(as_text=True)
    assert second.count('data-testid="audit-event"') == 10


def test_coordinators_and_managers_cannot_see_the_audit_or_retention(login_as):
    for role in (Role.coordinator, Role.manager):
        client = login_as(role)
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/retention").status_code == 403


def test_the_retention_cutoff_is_a_calendar_period(app):
    now = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    cutoff = personal_data.retention.cutoff_of(3, now=now)
    assert cutoff.date() == date(2025, 2, 28)
