"""Logging interactions: the form, atomic follow-ups, confidentiality, edits and filters."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import FollowUp, Interaction, User
from crm.services import interactions as interaction_service
from crm.services import search


@pytest.fixture
def wang(make_person):
    return make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")


def _form(*stakeholder_ids, **over):
    data = {
        "version": "0",
        "channel": "meeting",
        "direction": "outbound",
        "occurred_at": "2026-03-04 10:00",
        "stakeholders": list(stakeholder_ids),
        "subject": "工时座谈",
        "summary": "讨论加班时长与工资",
        "outcome": "Will join training",
    }
    data.update(over)
    return data


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_member_can_log_a_meeting(login_as, wang, in_app):
    client = login_as("member")
    page = client.post("/interactions/new", data=_form(wang.id), follow_redirects=True)
    assert page.status_code == 200 and "工时座谈" in page.get_data(as_text=True)
    with in_app():
        interaction = db.session.scalar(sa.select(Interaction))
        assert [s.id for s in interaction.stakeholders] == [wang.id]
        assert interaction.logged_by_id == client.user.id
        # Typed in Beijing time, stored in UTC.
        assert interaction.occurred_at == datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def test_member_can_log_a_meeting_with_two_stakeholders_and_a_follow_up_for_a_colleague(
    login_as, wang, make_organisation, make_user, in_app
):
    org = make_organisation(display_name="Harmony Garments")
    colleague = make_user("member", name="Colleague")
    response = login_as("coordinator").post(
        "/interactions/new",
        data=_form(
            wang.id,
            org.id,
            **{
                "follow_ups-0-title": "Send the training invitation",
                "follow_ups-0-due_on": "2026-03-10",
                "follow_ups-0-assignee_id": str(colleague.id),
                "follow_ups-0-priority": "high",
            },
        ),
    )
    assert response.status_code == 302
    with in_app():
        interaction = db.session.scalar(sa.select(Interaction))
        follow_up = db.session.scalar(sa.select(FollowUp))
        assert sorted(s.id for s in interaction.stakeholders) == sorted([wang.id, org.id])
        assert follow_up.assignee_id == colleague.id and follow_up.priority == "high"
        # About both ("All of them", the default): linked to the interaction, not to the first.
        assert follow_up.interaction_id == interaction.id and follow_up.stakeholder_id is None


def test_a_rejected_follow_up_saves_nothing_and_keeps_the_typed_text(
    login_as, wang, make_user, in_app
):
    gone = make_user("member", name="Former colleague", is_enabled=False)
    response = login_as("member").post(
        "/interactions/new",
        data=_form(
            wang.id,
            summary="A long, careful summary",
            **{
                "follow_ups-0-title": "Call back",
                "follow_ups-0-due_on": "2026-03-10",
                "follow_ups-0-assignee_id": str(gone.id),
            },
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Not a valid choice" in page or "Assign it to an active user." in page
    assert "A long, careful summary" in page
    with in_app():
        assert _count(Interaction) == 0 and _count(FollowUp) == 0


def test_follow_up_rejected_by_the_service_rolls_back_the_interaction(wang, make_user, in_app):
    with in_app():
        author = db.session.get(User, make_user("member").id)
        viewer = make_user("viewer")
        with pytest.raises(interaction_service.InvalidInput) as err:
            interaction_service.log_interaction(
                {
                    "occurred_at": datetime(2026, 3, 4, tzinfo=UTC),
                    "channel": "call",
                    "subject": "Call",
                    "stakeholder_ids": [wang.id],
                },
                follow_ups_data=[
                    {"title": "x", "due_on": date(2026, 3, 5), "assignee_id": viewer.id}
                ],
                actor=author,
            )
        assert err.value.field == "follow_ups-0-assignee_id"
        assert _count(Interaction) == 0 and _count(FollowUp) == 0


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"stakeholders": []}, "Choose at least one stakeholder."),
        (
            {"occurred_at": "31/02/2026 25:99"},
            "Give a real date and time, such as 2026-03-31 14:30.",
        ),
        ({"subject": ""}, "This field is required."),
        ({"summary": "字" * 100_000}, "Field cannot be longer than 20000 characters."),
        ({"channel": "pigeon"}, "Not a valid choice."),
        (
            {"follow_ups-0-title": "No date", "follow_ups-0-assignee_id": ""},
            "A follow-up needs a due date.",
        ),
    ],
)
def test_bad_input_is_shown_by_field_and_nothing_is_saved(login_as, wang, in_app, over, message):
    response = login_as("member").post("/interactions/new", data=_form(wang.id, **over))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with in_app():
        assert _count(Interaction) == 0


def test_a_deleted_stakeholder_cannot_be_picked(login_as, wang, in_app):
    assert login_as("coordinator").post(f"/people/{wang.id}/delete").status_code == 302
    response = login_as("member").post("/interactions/new", data=_form(wang.id))
    assert response.status_code == 400
    assert "no longer exists" in response.get_data(as_text=True)
    with in_app():
        assert _count(Interaction) == 0


def _log(in_app, author_id, stakeholder_id, **over):
    with in_app():
        author = db.session.get(User, author_id)
        data = {
            "occurred_at": datetime(2026, 3, 4, 2, tzinfo=UTC),
            "channel": "meeting",
            "subject": "Worker representatives",
            "summary": "Names of the union reps",
            "outcome": "Sensitive outcome",
            "stakeholder_ids": [stakeholder_id],
            **over,
        }
        return interaction_service.log_interaction(data, actor=author).id


def test_confidential_details_are_hidden_from_other_members(login_as, make_user, wang, in_app):
    author = login_as("member")
    present = make_user("member")
    interaction_id = _log(
        in_app, author.user.id, wang.id, is_confidential=True, staff_ids=[present.id]
    )
    other = login_as("member").get(f"/interactions/{interaction_id}").get_data(as_text=True)
    assert "Names of the union reps" not in other and "Sensitive outcome" not in other
    assert "Worker representatives" not in other
    assert "This interaction is confidential." in other
    assert "Names of the union reps" in author.get(f"/interactions/{interaction_id}").get_data(
        as_text=True
    )
    assert "Names of the union reps" in login_as("manager").get(
        f"/interactions/{interaction_id}"
    ).get_data(as_text=True)
    listing = login_as("viewer").get("/interactions").get_data(as_text=True)
    assert "Confidential interaction" in listing and "Worker representatives" not in listing
    with in_app():
        assert search.search("union reps").total == 0
        assert search.search("王芳", types=["interaction"]).total == 1


def test_only_the_author_or_a_coordinator_may_edit(login_as, wang, in_app):
    author = login_as("member")
    interaction_id = _log(in_app, author.user.id, wang.id)
    assert login_as("member").get(f"/interactions/{interaction_id}/edit").status_code == 403
    assert author.get(f"/interactions/{interaction_id}/edit").status_code == 200
    assert login_as("coordinator").get(f"/interactions/{interaction_id}/edit").status_code == 200
    assert login_as("viewer").post(f"/interactions/{interaction_id}/delete").status_code == 403


def test_author_can_edit_and_a_stale_edit_is_a_conflict(login_as, wang, in_app):
    author = login_as("member")
    interaction_id = _log(in_app, author.user.id, wang.id)
    edit = _form(wang.id, version="1", subject="Updated subject")
    assert author.post(f"/interactions/{interaction_id}/edit", data=edit).status_code == 302
    stale = author.post(
        f"/interactions/{interaction_id}/edit", data={**edit, "subject": "Lost update"}
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Lost update" in page  # the user's text stays in the form
    conflict = page.split('data-testid="conflict"', 1)[1].split("</div>", 1)[0]
    assert "Subject" in conflict and "Updated subject" in conflict  # the saved value, labelled
    assert "Channel" in conflict and "Meeting" in conflict and "channel:" not in conflict
    with in_app():
        assert db.session.get(Interaction, interaction_id).subject == "Updated subject"


def test_deleting_hides_the_interaction(login_as, wang, in_app):
    author = login_as("member")
    interaction_id = _log(in_app, author.user.id, wang.id)
    assert author.post(f"/interactions/{interaction_id}/delete").status_code == 302
    assert author.get(f"/interactions/{interaction_id}").status_code == 404
    assert "Worker representatives" not in author.get("/interactions").get_data(as_text=True)


def test_list_filters(login_as, make_person, make_organisation, in_app):
    client = login_as("coordinator")
    person = make_person(family_name="Li", given_name="Na")
    textile = make_organisation(display_name="Textile Co", sector="textile")
    ministry = make_organisation(
        display_name="Ministry", org_type="government", sector="cross_sector"
    )
    _log(
        in_app,
        client.user.id,
        person.id,
        subject="Call with Li Na",
        channel="call",
        occurred_at=datetime(2026, 1, 10, 2, tzinfo=UTC),
    )
    _log(
        in_app,
        client.user.id,
        textile.id,
        subject="Factory visit",
        channel="visit",
        occurred_at=datetime(2026, 2, 10, 2, tzinfo=UTC),
    )
    _log(
        in_app,
        client.user.id,
        ministry.id,
        subject="Ministry meeting",
        occurred_at=datetime(2026, 3, 10, 2, tzinfo=UTC),
    )

    def subjects(query):
        page = client.get(f"/interactions?{query}").get_data(as_text=True)
        return [s for s in ("Call with Li Na", "Factory visit", "Ministry meeting") if s in page]

    assert subjects("channel=call") == ["Call with Li Na"]
    assert subjects("from=2026-02-01&to=2026-02-28") == ["Factory visit"]
    assert subjects("to=2026-01-10") == ["Call with Li Na"]
    assert subjects("kind=person") == ["Call with Li Na"]
    assert subjects("sector=textile") == ["Factory visit"]
    assert subjects("type=government") == ["Ministry meeting"]
    assert subjects(f"stakeholder={textile.id}") == ["Factory visit"]
    assert subjects(f"logged_by={client.user.id}") == [
        "Call with Li Na",
        "Factory visit",
        "Ministry meeting",
    ]
    assert subjects("from=not-a-date&channel=pigeon") == [
        "Call with Li Na",
        "Factory visit",
        "Ministry meeting",
    ]
