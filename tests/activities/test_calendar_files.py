"""Calendar files: one activity as .ics, and the feed of upcoming activities, read back with the
icalendar library."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from crm.services import calendars


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_an_activity_downloads_as_an_all_day_ics_event(login_as, make_activity):
    activity = make_activity()
    response = login_as("viewer").get(f"/activities/{activity.id}/activity.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert f'filename="activity-{activity.id}.ics"' in response.headers["Content-Disposition"]
    (event,) = _events(response.data)
    assert str(event["uid"]) == calendars.uid("activity", activity.id)
    # All-day: DATE values, and DTEND is the day after the last day (exclusive).
    assert event.decoded("dtstart") == date(2026, 3, 4)
    assert event.decoded("dtend") == date(2026, 3, 6)
    assert type(event.decoded("dtstart")) is date
    summary = event.decoded("summary")
    assert "OSH training for electronics suppliers" in summary
    assert "电子行业供应商职业安全与健康培训" in summary
    assert event.decoded("location") == "Shenzhen"
    assert str(event["status"]) == "CONFIRMED"


def test_a_one_day_activity_ends_the_next_day_and_a_cancelled_one_says_so(login_as, make_activity):
    activity = make_activity(start_on=date(2026, 5, 1), end_on=None, status="cancelled")
    (event,) = _events(login_as("viewer").get(f"/activities/{activity.id}/activity.ics").data)
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (
        date(2026, 5, 1),
        date(2026, 5, 2),
    )
    assert str(event["status"]) == "CANCELLED"


def test_the_feed_lists_upcoming_and_ongoing_activities_only(login_as, make_activity):
    today = _today()
    upcoming = make_activity(
        title="Upcoming forum", start_on=today + timedelta(days=20), end_on=None
    )
    ongoing = make_activity(
        title="Ongoing academy",
        start_on=today - timedelta(days=1),
        end_on=today + timedelta(days=1),
    )
    make_activity(title="Past training", start_on=today - timedelta(days=10), end_on=None)
    make_activity(title="Far future", start_on=today + timedelta(days=800), end_on=None)
    response = login_as("viewer").get("/activities/feed.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    uids = {str(e["uid"]) for e in _events(response.data)}
    assert uids == {calendars.uid("activity", upcoming.id), calendars.uid("activity", ongoing.id)}


def test_the_feed_needs_a_signed_in_user(client):
    response = client.get("/activities/feed.ics")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_trashed_activity_leaves_the_feed(login_as, make_activity, app, actor):
    from crm.extensions import db
    from crm.models import Activity, User
    from crm.services import activities

    activity = make_activity(start_on=_today() + timedelta(days=3), end_on=None)
    with app.app_context():
        activities.delete(
            db.session.get(Activity, activity.id), actor=db.session.get(User, actor.id)
        )
    assert _events(login_as("viewer").get("/activities/feed.ics").data) == []
