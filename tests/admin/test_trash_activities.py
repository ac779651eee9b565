"""The trash beyond stakeholders: activities and interactions deleted from their pages are
listed for administrators, who restore them or delete them for good."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    AuditEvent,
    FollowUp,
    Interaction,
    Participation,
    SearchDocument,
    User,
    activity_topics,
    interaction_stakeholders,
)
from crm.services import activities, follow_ups, interactions, topics
from tests.conftest import _detached

TITLE = "OSH training for electronics suppliers"


@pytest.fixture
def training(app, actor, make_organisation, make_person):
    """A training with a host, a participant, a topic, and an interaction and a follow-up
    that mention it."""
    host = make_organisation(display_name="Guangdong Labour Bureau", org_type="government")
    wang = make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        topic = topics.create("Occupational safety and health", "职业安全卫生", actor=admin)
        activity = activities.create(
            {
                "type": "training",
                "title": TITLE,
                "title_zh": "电子行业供应商职业安全与健康培训",
                "start_on": date(2026, 3, 4),
                "city": "Shenzhen",
                "topic_ids": [topic.id],
            },
            actor=admin,
        )
        activities.add_party(activity, organisation_id=host.id, role="host", actor=admin)
        activities.add_participants(activity, [wang.id], actor=admin)
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Debrief after the training",
                "stakeholder_ids": [wang.id],
                "activity_id": activity.id,
            },
            actor=admin,
        )
        follow_ups.create(
            {
                "title": "Send the training slides",
                "due_on": date(2026, 3, 10),
                "assignee_id": admin.id,
                "activity_id": activity.id,
            },
            actor=admin,
        )
        return _detached(activity)


@pytest.fixture
def meeting(app, actor, make_person):
    """An interaction with Li Na, logged by the factory administrator."""
    li = make_person(family_name="Li", given_name="Na", chinese_name="李娜")
    with app.app_context():
        logged = interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                "channel": "wechat",
                "subject": "Overtime survey follow-up",
                "summary": "Agreed to share the survey",
                "stakeholder_ids": [li.id],
            },
            actor=db.session.get(User, actor.id),
        )
        return _detached(logged)


def _search(client, q, entity_type):
    response = client.get("/search.json", query_string={"q": q, "type": entity_type})
    assert response.status_code == 200
    return [hit["label"] for hit in response.get_json()["results"]]


def _actions(entity_type, entity_id):
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)
    ).all()


def _count(stmt):
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def test_admin_sees_a_deleted_activity_with_who_deleted_it(login_as, training):
    coordinator = login_as(Role.coordinator, name="Chen Jing")
    assert coordinator.post(f"/activities/{training.id}/delete").status_code == 302

    page = login_as(Role.admin).get("/trash").get_data(as_text=True)
    row = page[page.index(f'data-testid="trash-activity-{training.id}"') :]
    row = row[: row.index("</tr>")]
    assert TITLE in row and "电子行业供应商职业安全与健康培训" in row
    assert "Activity · Training" in row and "Chen Jing" in row
    assert f'action="/trash/{training.id}/restore?kind=activity"' in row
    assert f'action="/trash/{training.id}/purge?kind=activity"' in row
    assert "data-confirm=" in row and "This cannot be undone." in row


def test_admin_can_restore_a_deleted_activity(login_as, training, in_app):
    coordinator = login_as(Role.coordinator)
    assert coordinator.post(f"/activities/{training.id}/delete").status_code == 302
    assert _search(coordinator, "electronics", "activity") == []

    admin = login_as(Role.admin)
    response = admin.post(f"/trash/{training.id}/restore?kind=activity")
    assert response.status_code == 302
    assert response.headers["Location"] == "/trash"
    page = admin.get("/trash").get_data(as_text=True)
    assert f"“{TITLE}” restored." in page and "The trash is empty." in page

    assert TITLE in coordinator.get("/activities").get_data(as_text=True)
    detail = coordinator.get(f"/activities/{training.id}")
    assert detail.status_code == 200
    assert "Guangdong Labour Bureau" in detail.get_data(as_text=True)
    assert "Wang Fang" in detail.get_data(as_text=True)
    assert _search(coordinator, "electronics", "activity") == [TITLE]
    with in_app():
        assert db.session.get(Activity, training.id).deleted_at is None
        assert _actions("activities", training.id)[-2:] == ["delete", "restore"]


def test_admin_can_purge_a_deleted_activity_with_its_parties_and_participants(
    login_as, training, in_app
):
    assert login_as(Role.coordinator).post(f"/activities/{training.id}/delete").status_code == 302
    admin = login_as(Role.admin)
    response = admin.post(f"/trash/{training.id}/purge?kind=activity")
    assert response.status_code == 302
    assert response.headers["Location"] == "/trash"
    page = admin.get("/trash").get_data(as_text=True)
    assert f"“{TITLE}” deleted for good." in page and "The trash is empty." in page
    with in_app():
        assert db.session.get(Activity, training.id) is None
        assert _count(sa.select(ActivityParty)) == 0
        assert _count(sa.select(Participation)) == 0
        assert _count(sa.select(activity_topics)) == 0
        assert (
            _count(sa.select(SearchDocument).where(SearchDocument.entity_type == "activity")) == 0
        )
        # What mentioned the activity stays, unlinked.
        interaction = db.session.scalar(sa.select(Interaction))
        follow_up = db.session.scalar(sa.select(FollowUp))
        assert interaction.activity_id is None and interaction.deleted_at is None
        assert follow_up.activity_id is None and follow_up.deleted_at is None
        purge = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == "activities", AuditEvent.action == "purge"
            )
        )
        assert (purge.entity_id, purge.actor_id, purge.summary) == (
            training.id,
            admin.user.id,
            TITLE,
        )
    assert admin.get(f"/activities/{training.id}").status_code == 404


def test_admin_can_restore_a_deleted_interaction(login_as, meeting, in_app):
    coordinator = login_as(Role.coordinator)
    assert coordinator.post(f"/interactions/{meeting.id}/delete").status_code == 302
    assert "Overtime survey follow-up" not in coordinator.get("/interactions").get_data(
        as_text=True
    )
    admin = login_as(Role.admin)
    page = admin.get("/trash").get_data(as_text=True)
    row = page[page.index(f'data-testid="trash-interaction-{meeting.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Overtime survey follow-up" in row and "Li Na" in row
    assert "Interaction · WeChat" in row

    response = admin.post(f"/trash/{meeting.id}/restore?kind=interaction")
    assert response.status_code == 302
    assert "“Overtime survey follow-up” restored." in admin.get("/trash").get_data(as_text=True)
    assert "Overtime survey follow-up" in coordinator.get("/interactions").get_data(as_text=True)
    assert _search(coordinator, "overtime", "interaction") == ["Overtime survey follow-up"]
    with in_app():
        assert db.session.get(Interaction, meeting.id).deleted_at is None
        assert _actions("interactions", meeting.id)[-2:] == ["delete", "restore"]


def test_admin_can_purge_a_deleted_interaction(login_as, meeting, in_app):
    assert login_as(Role.coordinator).post(f"/interactions/{meeting.id}/delete").status_code == 302
    admin = login_as(Role.admin)
    assert admin.post(f"/trash/{meeting.id}/purge?kind=interaction").status_code == 302
    assert "“Overtime survey follow-up” deleted for good." in admin.get("/trash").get_data(
        as_text=True
    )
    with in_app():
        assert db.session.get(Interaction, meeting.id) is None
        assert _count(sa.select(interaction_stakeholders)) == 0
        assert _actions("interactions", meeting.id)[-1] == "purge"


def test_the_trash_lists_every_kind_newest_first(login_as, training, meeting, make_organisation):
    org = make_organisation(display_name="Alpha Textiles")
    coordinator = login_as(Role.coordinator)
    for url in (
        f"/organisations/{org.id}/delete",
        f"/activities/{training.id}/delete",
        f"/interactions/{meeting.id}/delete",
    ):
        assert coordinator.post(url).status_code == 302
    page = login_as(Role.admin).get("/trash").get_data(as_text=True)
    rows = [
        page.index(f'data-testid="trash-{kind}-{record_id}"')
        for kind, record_id in (
            ("interaction", meeting.id),
            ("activity", training.id),
            ("stakeholder", org.id),
        )
    ]
    assert rows == sorted(rows)
    # Stakeholders keep their short URLs.
    assert f'action="/trash/{org.id}/restore"' in page


def test_an_unknown_kind_of_record_is_404(login_as, training, in_app):
    assert login_as(Role.coordinator).post(f"/activities/{training.id}/delete").status_code == 302
    admin = login_as(Role.admin)
    assert admin.post(f"/trash/{training.id}/restore?kind=nonsense").status_code == 404
    assert admin.post(f"/trash/{training.id}/purge?kind=activities").status_code == 404
    with in_app():
        assert db.session.get(Activity, training.id).deleted_at is not None


def test_admin_cannot_purge_or_restore_a_live_activity_or_interaction(
    login_as, training, meeting, in_app
):
    admin = login_as(Role.admin)
    for kind, record_id in (("activity", training.id), ("interaction", meeting.id)):
        response = admin.post(f"/trash/{record_id}/purge?kind={kind}")
        assert response.status_code == 422
        assert "Only records in the trash can be purged." in response.get_data(as_text=True)
        response = admin.post(f"/trash/{record_id}/restore?kind={kind}")
        assert response.status_code == 422
        assert "This record is not in the trash." in response.get_data(as_text=True)
        assert admin.post(f"/trash/999999/purge?kind={kind}").status_code == 404
    with in_app():
        assert db.session.get(Activity, training.id).deleted_at is None
        assert db.session.get(Interaction, meeting.id).deleted_at is None


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator, Role.manager])
def test_non_admin_cannot_restore_or_purge_activities_or_interactions(
    login_as, training, meeting, in_app, role
):
    coordinator = login_as(Role.coordinator)
    assert coordinator.post(f"/activities/{training.id}/delete").status_code == 302
    assert coordinator.post(f"/interactions/{meeting.id}/delete").status_code == 302
    client = login_as(role)
    for kind, record_id in (("activity", training.id), ("interaction", meeting.id)):
        assert client.post(f"/trash/{record_id}/restore?kind={kind}").status_code == 403
        assert client.post(f"/trash/{record_id}/purge?kind={kind}").status_code == 403
    with in_app():
        assert db.session.get(Activity, training.id).deleted_at is not None
        assert db.session.get(Interaction, meeting.id).deleted_at is not None


def test_trash_page_queries_do_not_grow_with_rows(
    login_as,
    app,
    actor,
    make_organisation,
    make_person,
    count_queries,
):
    coordinator = login_as(Role.coordinator)
    admin = login_as(Role.admin)

    def trash_some(n):
        for i in range(n):
            org = make_organisation(display_name=f"Org {i}")
            person = make_person(family_name=f"P{i}")
            with app.app_context():
                me = db.session.get(User, actor.id)
                activity = activities.create(
                    {"type": "forum", "title": f"Forum {i}", "start_on": date(2026, 3, 4)},
                    actor=me,
                ).id
                interaction = interactions.log_interaction(
                    {
                        "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                        "channel": "call",
                        "subject": f"Call {i}",
                        "stakeholder_ids": [person.id, org.id],
                    },
                    actor=me,
                ).id
            for url in (
                f"/activities/{activity}/delete",
                f"/interactions/{interaction}/delete",
                f"/people/{person.id}/delete",
            ):
                assert coordinator.post(url).status_code == 302

    trash_some(1)
    with count_queries() as few:
        assert admin.get("/trash").status_code == 200
    trash_some(4)
    with count_queries() as many:
        assert admin.get("/trash").status_code == 200
    assert many.count == few.count, (few, many)
