"""The stakeholder timeline and the list columns "last contact" and "next follow-up"."""

import re
from datetime import UTC, date, datetime

from crm.extensions import db
from crm.models import Activity, ActivityParty, AuditEvent, Participation, User
from crm.services import follow_ups, interactions


def _log(actor_id, stakeholder_id, subject, when):
    actor = db.session.get(User, actor_id)
    return interactions.log_interaction(
        {
            "occurred_at": when,
            "channel": "meeting",
            "subject": subject,
            "stakeholder_ids": [stakeholder_id],
        },
        actor=actor,
    )


def test_timeline_merges_interactions_activities_follow_ups_and_changes_newest_first(
    login_as, make_organisation, in_app
):
    client = login_as("coordinator")
    org = make_organisation(display_name="Harmony Garments")
    with in_app():
        # The record was created now; backdate its creation so the order is known.
        db.session.execute(
            db.update(AuditEvent).values(occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
        _log(client.user.id, org.id, "First visit", datetime(2026, 2, 1, 2, tzinfo=UTC))
        _log(client.user.id, org.id, "Second visit", datetime(2026, 4, 1, 2, tzinfo=UTC))
        training = Activity(type="training", title="OSH training", start_on=date(2026, 3, 1))
        db.session.add(training)
        db.session.flush()
        db.session.add(ActivityParty(activity_id=training.id, organisation_id=org.id, role="host"))
        me = db.session.get(User, client.user.id)
        task = follow_ups.create(
            {
                "title": "Send photos",
                "due_on": date(2026, 5, 1),
                "assignee_id": me.id,
                "stakeholder_id": org.id,
            },
            actor=me,
        )
        task.created_at = datetime(2026, 4, 15, tzinfo=UTC)
        db.session.commit()
    page = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    section = page[page.index('id="timeline"') :]
    section = section[: section.index("</section>")]
    kinds = re.findall(r'data-testid="timeline-(\w+)"', section)
    assert kinds == ["follow_up", "interaction", "activity", "interaction", "change"]
    assert (
        section.index("Send photos")
        < section.index("Second visit")
        < section.index("OSH training")
        < section.index("First visit")
    )
    assert "Host" in section


def test_timeline_of_a_person_shows_their_participation(login_as, make_person, in_app):
    client = login_as("viewer")
    person = make_person(family_name="Li", given_name="Na")
    with in_app():
        forum = Activity(type="forum", title="Wages forum", start_on=date(2026, 3, 1))
        db.session.add(forum)
        db.session.flush()
        db.session.add(Participation(activity_id=forum.id, person_id=person.id, status="attended"))
        db.session.commit()
    page = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Wages forum" in page and "Attended" in page


def test_timeline_pages(login_as, make_organisation, in_app):
    client = login_as("coordinator")
    org = make_organisation(display_name="Busy Co")
    with in_app():
        for n in range(30):
            _log(client.user.id, org.id, f"Visit {n:02d}", datetime(2026, 1, 1 + n, tzinfo=UTC))
    first = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    assert "Visit 29" in first and "Visit 05" not in first and 'rel="next"' in first
    second = client.get(f"/organisations/{org.id}?page=2").get_data(as_text=True)
    assert "Visit 04" in second and "Visit 29" not in second and 'rel="prev"' in second


def test_lists_show_last_contact_and_next_follow_up_and_sort_by_them(
    login_as, make_organisation, in_app
):
    client = login_as("coordinator")
    quiet = make_organisation(display_name="Quiet Co")
    recent = make_organisation(display_name="Recent Co")
    older = make_organisation(display_name="Older Co")
    with in_app():
        _log(client.user.id, recent.id, "Call", datetime(2026, 3, 10, 2, tzinfo=UTC))
        _log(client.user.id, older.id, "Call", datetime(2025, 12, 1, 2, tzinfo=UTC))
        me = db.session.get(User, client.user.id)
        follow_ups.create(
            {
                "title": "Overdue",
                "due_on": date(2020, 1, 1),
                "assignee_id": me.id,
                "stakeholder_id": older.id,
            },
            actor=me,
        )
    page = client.get("/organisations?sort=last_contact&dir=desc").get_data(as_text=True)
    order = re.findall(r">(Quiet|Recent|Older) Co</a>", page)
    assert order == ["Recent", "Older", "Quiet"]  # never contacted last
    rows = {
        name: row
        for name, row in re.findall(r">(Quiet|Recent|Older) Co</a>(.*?)</tr>", page, flags=re.S)
    }
    assert "10 Mar 2026" in rows["Recent"] and "1 Dec 2025" in rows["Older"]
    assert 'text-danger fw-semibold">1 Jan 2020' in rows["Older"]
    assert rows["Quiet"].count("—") >= 2
    assert quiet.id
