"""The personal iCalendar feed: secret link, contents, revocation."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from crm.extensions import db
from crm.models import Activity, User
from crm.services import follow_ups


def _today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _token(client):
    response = client.post("/calendar/token", data={"action": "rotate"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    start = page.index("/calendar/") + len("/calendar/")
    return page[start : page.index(".ics", start)]


def test_member_subscribes_to_their_follow_ups_and_upcoming_activities(
    login_as, make_user, make_person, in_app, app
):
    client = login_as("member")
    other = make_user("member")
    person = make_person(family_name="Li", given_name="Na", chinese_name="李娜")
    with in_app():
        me = db.session.get(User, client.user.id)
        mine = follow_ups.create(
            {
                "title": "Send OSH checklist",
                "due_on": _today() + timedelta(days=2),
                "assignee_id": me.id,
                "stakeholder_id": person.id,
                "priority": "high",
            },
            actor=me,
        )
        follow_ups.create(
            {"title": "Someone else's task", "due_on": _today(), "assignee_id": other.id}, actor=me
        )
        done = follow_ups.create(
            {"title": "Already done", "due_on": _today(), "assignee_id": me.id}, actor=me
        )
        follow_ups.complete(done, note=None, actor=me)
        db.session.add(
            Activity(
                type="training",
                title="OSH training",
                title_zh="职业安全培训",
                start_on=_today() + timedelta(days=100),
                end_on=_today() + timedelta(days=101),
                city="Suzhou",
            )
        )
        db.session.add(Activity(type="forum", title="Long past forum", start_on=date(2020, 1, 1)))
        db.session.commit()
        mine_id = mine.id
    token = _token(client)
    response = app.test_client().get(f"/calendar/{token}.ics")  # no session: the token opens it
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.data)
    events = {str(e.get("summary")): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Follow-up: Send OSH checklist", "Training: OSH training / 职业安全培训"}
    follow_up = events["Follow-up: Send OSH checklist"]
    assert follow_up.decoded("dtstart") == _today() + timedelta(days=2)
    assert "Na Li" in str(follow_up.get("description")) or "Li Na" in str(
        follow_up.get("description")
    )
    training = events["Training: OSH training / 职业安全培训"]
    assert training.decoded("dtstart") == _today() + timedelta(days=100)
    # All-day events end the day after their last day.
    assert training.decoded("dtend") == _today() + timedelta(days=102)
    assert str(training.get("location")) == "Suzhou"
    assert str(follow_up.get("uid")).endswith("@crm")
    # The same follow-up keeps the same UID in the next download.
    again = icalendar.Calendar.from_ical(app.test_client().get(f"/calendar/{token}.ics").data)
    assert str(follow_up.get("uid")) in {str(e.get("uid")) for e in again.walk("VEVENT")}
    assert mine_id


def test_a_new_link_replaces_the_old_and_revoking_turns_it_off(login_as, app):
    client = login_as("member")
    first = _token(client)
    second = _token(client)
    anonymous = app.test_client()
    assert first != second
    assert anonymous.get(f"/calendar/{first}.ics").status_code == 404
    assert anonymous.get(f"/calendar/{second}.ics").status_code == 200
    client.post("/calendar/token", data={"action": "revoke"})
    assert anonymous.get(f"/calendar/{second}.ics").status_code == 404


def test_unknown_or_odd_tokens_are_404(client):
    for token in ("nope", "x" * 500, "%00", "None"):
        assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_a_deactivated_users_feed_stops(login_as, app, in_app):
    client = login_as("member")
    token = _token(client)
    with in_app():
        db.session.get(User, client.user.id).is_enabled = False
        db.session.commit()
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 404
