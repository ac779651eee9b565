"""Only coordinators and up change activities; members and viewers read them (403 otherwise).

Every write route is tried with a complete, valid request, so a 403 can only come from the
permission check, and nothing may have changed afterwards.
"""

from datetime import date

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import Activity, ActivityParty, AuditEvent, Participation, Topic, User
from crm.services import activities, topics
from crm.services.errors import PermissionDenied


@pytest.fixture
def world(app, actor, make_activity, make_organisation, make_person, enrol):
    """An activity with a party and a participant, a second person, an organisation, a topic."""
    activity = make_activity()
    org = make_organisation(display_name="Harmony Garments")
    wang = make_person(family_name="Wang", given_name="Fang")
    li = make_person(family_name="Li", given_name="Lei")
    enrol(activity, [wang])
    with app.app_context():
        admin = db.session.get(User, actor.id)
        party = activities.add_party(
            db.session.get(Activity, activity.id), organisation_id=org.id, role="host", actor=admin
        )
        topic = topics.create("Social dialogue", "社会对话", actor=admin)
        return {
            "a": activity.id,
            "v": activity.version,
            "org": org.id,
            "li": li.id,
            "party": party.id,
            "p": db.session.scalar(sa.select(Participation.id)),
            "topic": topic.id,
        }


def _requests(w):
    form = {
        "version": str(w["v"]),
        "type": "forum",
        "title": "Changed",
        "status": "held",
        "start_on": "2026-03-04",
    }
    return [
        ("GET", "/activities/new", None),
        ("POST", "/activities/new", form),
        ("GET", f"/activities/{w['a']}/edit", None),
        ("POST", f"/activities/{w['a']}/edit", form),
        ("GET", f"/activities/{w['a']}/delete", None),
        ("POST", f"/activities/{w['a']}/delete", {}),
        (
            "POST",
            f"/activities/{w['a']}/parties",
            {"party-organisation_id": w["org"], "party-role": "sponsor"},
        ),
        ("POST", f"/activities/{w['a']}/parties/{w['party']}/remove", {}),
        (
            "POST",
            f"/activities/{w['a']}/participants",
            {"add-people": [w["li"]], "add-status": "invited", "add-role": "participant"},
        ),
        (
            "POST",
            f"/activities/{w['a']}/participants/new",
            {"new-family_name": "Zhou", "new-status": "invited", "new-role": "participant"},
        ),
        (
            "POST",
            f"/activities/{w['a']}/participants/bulk",
            {"bulk-ids": [w["p"]], "bulk-status": "attended"},
        ),
        ("POST", f"/activities/{w['a']}/participants/{w['p']}/remove", {}),
        (
            "POST",
            f"/activities/{w['a']}/headcounts",
            {"count-version": str(w["v"]), "count-unnamed_women": "4"},
        ),
        ("GET", "/activities/topics", None),
        ("POST", "/activities/topics", {"new-name": "Gender equality"}),
        ("POST", f"/activities/topics/{w['topic']}", {f"t{w['topic']}-name": "Renamed"}),
        ("POST", "/activities/topics/defaults", {}),
    ]


def _snapshot():
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Activity)),
        db.session.scalar(sa.select(Activity.version)),
        db.session.scalar(sa.select(Activity.deleted_at)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ActivityParty)),
        [(p.status, p.person_id) for p in db.session.scalars(sa.select(Participation))],
        sorted(db.session.scalars(sa.select(Topic.name))),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
    )


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_viewers_and_members_cannot_change_activities(login_as, world, in_app, role):
    client = login_as(role)
    with in_app():
        before = _snapshot()
    refused = []
    for method, url, data in _requests(world):
        response = client.open(url, method=method, data=data)
        if response.status_code != 403:
            refused.append(f"{method} {url}: {response.status_code}")
    assert refused == []
    with in_app():
        assert _snapshot() == before


@pytest.mark.parametrize("role", [Role.coordinator, Role.manager])
def test_coordinators_cannot_manage_topics(login_as, world, role):
    client = login_as(role)
    for method, url, data in _requests(world)[-4:]:
        assert client.open(url, method=method, data=data).status_code == 403, url


def test_coordinator_can_do_every_activity_write(login_as, world, in_app):
    client = login_as(Role.coordinator)
    for method, url, data in _requests(world)[:-4]:
        if url.endswith("/delete") and method == "POST":
            continue  # last, below
        if data:
            with in_app():  # each save makes a new version: send the current one
                version = str(db.session.get(Activity, world["a"]).version)
            data = {k: version if k.endswith("version") else v for k, v in data.items()}
        response = client.open(url, method=method, data=data)
        assert response.status_code in (200, 302), (url, response.get_data(as_text=True)[:500])
    assert client.post(f"/activities/{world['a']}/delete").status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "/activities",
        "/activities/calendar",
        "/activities/mous",
        "/activities/feed.ics",
        "/activities/{a}",
        "/activities/{a}/activity.ics",
    ],
)
def test_viewer_can_read(login_as, world, url):
    response = login_as(Role.viewer).get(url.format(a=world["a"]))
    assert response.status_code == 200
    assert 'href="/activities/new"' not in response.get_data(as_text=True)


def test_services_check_permissions_too(app, world, make_user):
    """The API and the CLI reach the services without a view: they refuse on their own."""
    member = make_user(Role.member)
    with app.app_context():
        user = db.session.get(User, member.id)
        activity = db.session.get(Activity, world["a"])
        calls = [
            lambda: activities.create(
                {"type": "forum", "title": "x", "start_on": date(2026, 1, 1)}, actor=user
            ),
            lambda: activities.update(
                activity, {"title": "x"}, version=activity.version, actor=user
            ),
            lambda: activities.delete(activity, actor=user),
            lambda: activities.add_party(
                activity, organisation_id=world["org"], role="sponsor", actor=user
            ),
            lambda: activities.add_participants(activity, [world["li"]], actor=user),
            lambda: activities.change_participants(
                activity, [world["p"]], status="attended", actor=user
            ),
            lambda: topics.create("New topic", None, actor=user),
            lambda: topics.add_defaults(actor=user),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied):
                call()
