"""The activity service called directly: the enrolment seam, atomicity, topics."""

from datetime import date
from importlib import import_module

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    Organisation,
    Participation,
    Person,
    Topic,
    User,
    utcnow,
)
from crm.services import activities, topics
from crm.services.errors import InvalidInput, NotFound


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_enrol_is_flush_only_and_updates_existing_people_for_attendance_sheets(
    app, actor, make_activity, make_person, make_organisation, employ, enrol
):
    """What the attendance import will call inside its own transaction."""
    activity = make_activity()
    wang, li = make_person(), make_person(family_name="Li", given_name="Lei")
    sheet_org, employer = make_organisation(display_name="On the sheet"), make_organisation()
    employ(li, employer)
    enrol(activity, [wang], status="registered")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        people = [db.session.get(Person, wang.id), db.session.get(Person, li.id)]
        live = db.session.get(Activity, activity.id)
        result = activities.enrol(
            live,
            people,
            status="attended",
            actor=admin,
            organisation_ids={li.id: sheet_org.id},
            existing="update",
        )
        assert [p.person_id for p in result.added] == [li.id]
        assert [p.person_id for p in result.updated] == [wang.id]
        db.session.rollback()  # the caller decides: nothing was committed
        assert _count(Participation) == 1
        result = activities.enrol(
            live,
            people,
            status="attended",
            actor=admin,
            organisation_ids={li.id: sheet_org.id},
            existing="update",
        )
        db.session.commit()
        rows = {p.person_id: p for p in db.session.scalars(sa.select(Participation))}
        assert {r.status for r in rows.values()} == {"attended"}
        assert rows[li.id].organisation_id == sheet_org.id  # the sheet's, not the employer


def test_the_current_employer_is_the_latest_open_position(
    app, make_person, make_organisation, employ
):
    wang = make_person()
    old, new, trashed = (make_organisation(display_name=n) for n in ("Old", "New", "Trashed"))
    employ(wang, old, start_on=date(2010, 1, 1))
    employ(wang, new, start_on=date(2024, 1, 1))
    employ(wang, trashed, start_on=date(2025, 1, 1))
    with app.app_context():
        org = db.session.get(Organisation, trashed.id)
        org.deleted_at = utcnow()
        db.session.commit()
        assert activities.current_organisations([wang.id]) == {wang.id: new.id}


def test_a_failure_after_the_person_was_created_leaves_nothing(
    app, actor, make_activity, monkeypatch
):
    activity = make_activity()

    def refuse(*args, **kwargs):
        raise InvalidInput("refused", field="people")

    # create_participant looks enrol up in its own module, not in the package.
    monkeypatch.setattr(import_module("crm.services.activities.participants"), "enrol", refuse)
    with app.app_context():
        with pytest.raises(InvalidInput):
            activities.create_participant(
                db.session.get(Activity, activity.id),
                {"family_name": "Zhou", "given_name": "Yu"},
                actor=db.session.get(User, actor.id),
            )
        assert _count(Person) == 0 and _count(Participation) == 0


def test_a_party_inserted_meanwhile_gives_a_message_not_an_integrity_error(
    app, actor, make_activity, make_organisation, monkeypatch
):
    """Two coordinators adding the same party at once: the unique constraint catches the
    second, and the service turns it into the same message as its own check."""
    activity = make_activity()
    org = make_organisation(display_name="Harmony Garments")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        live = db.session.get(Activity, activity.id)
        activities.add_party(live, organisation_id=org.id, role="host", actor=admin)
        real_scalar = db.session.scalar

        def no_existing_row(stmt, *args, **kwargs):
            if "activity_parties" in str(stmt):
                return None  # the check runs before the other insert is committed
            return real_scalar(stmt, *args, **kwargs)

        monkeypatch.setattr(db.session, "scalar", no_existing_row)
        with pytest.raises(InvalidInput) as err:
            activities.add_party(live, organisation_id=org.id, role="host", actor=admin)
        monkeypatch.undo()
        assert err.value.field == "organisation_id"
        assert "already has the role" in str(err.value)
        assert _count(ActivityParty) == 1


def test_writes_to_a_trashed_activity_are_refused(app, actor, make_activity, make_person):
    activity = make_activity()
    wang = make_person()
    with app.app_context():
        admin = db.session.get(User, actor.id)
        live = db.session.get(Activity, activity.id)
        activities.delete(live, actor=admin)
        with pytest.raises(NotFound):
            activities.add_participants(live, [wang.id], actor=admin)
        with pytest.raises(NotFound):
            activities.update(live, {"title": "x"}, version=live.version, actor=admin)
        with pytest.raises(NotFound):
            activities.get(activity.id)


def test_create_rejects_bad_values_from_other_callers(app, actor):
    """The API and CLI hand plain values: the service checks types itself."""
    base = {"type": "training", "title": "T", "start_on": date(2026, 1, 1)}
    cases = [
        ({"start_on": "2026-01-01"}, "start_on"),
        ({"unnamed_women": -1}, "unnamed_women"),
        ({"unnamed_men": 1.5}, "unnamed_men"),
        ({"unnamed_unspecified": True}, "unnamed_unspecified"),
        ({"lead_id": 999999}, "lead_id"),
        ({"topic_ids": [999999]}, "topic_ids"),
        ({"sector": "mining"}, "sector"),
        ({"title": "   "}, "title"),
    ]
    with app.app_context():
        admin = db.session.get(User, actor.id)
        for over, field in cases:
            with pytest.raises(InvalidInput) as err:
                activities.create({**base, **over}, actor=admin)
            assert err.value.field == field, over
        assert _count(Activity) == 0


def test_topics_admin_rules(app, actor):
    with app.app_context():
        admin = db.session.get(User, actor.id)
        assert topics.missing_defaults() == 10
        assert topics.add_defaults(actor=admin) == 10
        assert topics.add_defaults(actor=admin) == 0
        osh = db.session.scalar(sa.select(Topic).where(Topic.name.like("Occupational%")))
        assert osh.name_zh == "职业安全与健康"
        with pytest.raises(InvalidInput) as err:
            topics.create("forced LABOUR", None, actor=admin)
        assert err.value.field == "name"
        with pytest.raises(InvalidInput):
            topics.update(osh, name="", name_zh=None, is_active=True, actor=admin)
        topics.update(osh, name="OSH", name_zh="职业安全与健康", is_active=False, actor=admin)
        assert [t.name for t in topics.choices()].count("OSH") == 0
        assert [t.name for t in topics.choices(keep=[osh.id])].count("OSH") == 1
        # Renamed in English only, it is still known by its Chinese name: not missing.
        assert topics.missing_defaults() == 0
        topics.update(osh, name="OSH", name_zh="职业安全卫生", is_active=False, actor=admin)
        assert topics.missing_defaults() == 1


def test_admin_manages_topics_in_the_browser(login_as, in_app):
    client = login_as("admin")
    page = client.get("/activities/topics").get_data(as_text=True)
    assert "10 of the programme’s default topics are not in the list." in page
    assert client.post("/activities/topics/defaults").status_code == 302
    response = client.post(
        "/activities/topics", data={"new-name": "Gender equality", "new-name_zh": "性别平等"}
    )
    assert response.status_code == 302
    response = client.post("/activities/topics", data={"new-name": "gender equality"})
    assert response.status_code == 400
    assert "There is already a topic with this name." in response.get_data(as_text=True)
    with in_app():
        topic_id = db.session.scalar(sa.select(Topic.id).where(Topic.name == "Gender equality"))
    response = client.post(
        f"/activities/topics/{topic_id}",
        data={
            f"t{topic_id}-name": "Gender equality at work",
            f"t{topic_id}-name_zh": "工作中的性别平等",
        },
    )
    assert response.status_code == 302
    with in_app():
        topic = db.session.get(Topic, topic_id)
        assert (topic.name, topic.is_active) == ("Gender equality at work", False)
    assert client.post("/activities/topics/999999", data={}).status_code == 404
    assert "Activity topics" in client.get("/").get_data(as_text=True)
