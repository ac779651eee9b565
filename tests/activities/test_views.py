"""Activities through the web: create, edit, trash, parties, participants, headcounts, lists."""

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    AuditEvent,
    Participation,
    Person,
    Topic,
    User,
)
from crm.services import activities, interactions, search, stakeholders


def _form(**over):
    data = {
        "version": "0",
        "type": "training",
        "title": "OSH training for textile suppliers",
        "title_zh": "纺织供应商职业安全与健康培训",
        "status": "planned",
        "start_on": "2026-03-04",
        "end_on": "2026-03-05",
        "city": "Suzhou",
        "sector": "textile",
        "description": "Two days on fire safety and chemicals.",
    }
    data.update(over)
    return data


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ---------------------------------------------------------------------------------------------
# Create, edit, trash
# ---------------------------------------------------------------------------------------------


def test_coordinator_can_create_a_training_with_topics(login_as, in_app, default_topics):
    client = login_as("coordinator")
    osh, wages = (
        default_topics["Occupational safety and health (OSH)"],
        default_topics["Wages and working time"],
    )
    response = client.post("/activities/new", data=_form(topic_ids=[osh, wages]))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "OSH training for textile suppliers" in page and "纺织供应商职业安全与健康培训" in page
    assert "Wages and working time" in page
    with in_app():
        activity = db.session.scalar(sa.select(Activity))
        assert activity.title_pinyin.startswith("fang zhi gong ying shang")
        assert sorted(t.id for t in activity.topics) == sorted([osh, wages])
        assert activity.created_by_id == client.user.id
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.entity_type == "activities")
        )
        assert event.action == "create" and event.changes["title"][1] == activity.title


def test_zh_coordinator_sees_topics_in_chinese(login_as, make_activity, default_topics, in_app):
    client = login_as("coordinator", locale="zh")
    page = client.get("/activities/new").get_data(as_text=True)
    assert "职业安全与健康" in page and "结社自由" in page


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"end_on": "2026-03-01"}, "end_on", "The end date must not be before the start date."),
        ({"title": ""}, "title", "This field is required."),
        ({"start_on": ""}, "start_on", "Give the start date."),
        ({"start_on": "31/02/2026"}, "start_on", "Give a real date, such as 2026-03-31."),
        ({"type": "party"}, "type", "Not a valid choice."),
        ({"title": "x" * 201}, "title", "Field cannot be longer than 200 characters."),
        (
            {"type": "mou", "signed_on": "2026-03-01", "expires_on": "2026-02-28"},
            "expires_on",
            "An MoU must expire after the day it was signed.",
        ),
        (
            {"type": "mou", "signed_on": "2026-03-01", "expires_on": "2026-03-01"},
            "expires_on",
            "An MoU must expire after the day it was signed.",
        ),
        (
            {"type": "mou", "agreement_status": "signed"},
            "signed_on",
            "Give the date the MoU was signed.",
        ),
        ({"topic_ids": ["999"]}, "topic_ids", "is not a valid choice for this field."),
    ],
)
def test_bad_input_is_shown_by_field_and_nothing_is_saved(login_as, in_app, over, field, message):
    response = login_as("coordinator").post("/activities/new", data=_form(**over))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert "Two days on fire safety and chemicals." in page  # what the user typed is kept
    with in_app():
        assert _count(Activity) == 0 and _count(AuditEvent) == 0


def test_a_deactivated_topic_is_not_offered_for_new_activities(
    login_as, default_topics, in_app, actor
):
    child = default_topics["Child labour"]
    with in_app():
        topic = db.session.get(Topic, child)
        topic.is_active = False
        db.session.commit()
    client = login_as("coordinator")
    assert "Child labour" not in client.get("/activities/new").get_data(as_text=True)
    response = client.post("/activities/new", data=_form(topic_ids=[child]))
    assert response.status_code == 400
    with in_app():
        assert _count(Activity) == 0


def test_an_activity_keeps_a_topic_deactivated_since(
    login_as, make_activity, default_topics, in_app
):
    child = default_topics["Child labour"]
    activity = make_activity(topic_ids=[child])
    with in_app():
        db.session.get(Topic, child).is_active = False
        db.session.commit()
    client = login_as("coordinator")
    form = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert "Child labour" in form
    response = client.post(
        f"/activities/{activity.id}/edit",
        data=_form(version=str(activity.version), topic_ids=[child], title="Renamed"),
    )
    assert response.status_code == 302
    with in_app():
        assert [t.id for t in db.session.get(Activity, activity.id).topics] == [child]


def test_coordinator_can_edit_an_activity_and_history_shows_the_change(
    login_as, make_activity, in_app
):
    activity = make_activity()
    client = login_as("coordinator")
    response = client.post(
        f"/activities/{activity.id}/edit",
        data=_form(version=str(activity.version), status="held", city="Dongguan"),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Changes saved." in page
    assert "Dongguan" in page
    with in_app():
        saved = db.session.get(Activity, activity.id)
        assert saved.status == "held" and saved.version == activity.version + 1


def test_a_stale_edit_shows_the_conflict_and_saves_nothing(login_as, make_activity, in_app, actor):
    form = _form()
    kept = {k: form[k] for k in ("title", "title_zh", "sector", "description")}
    activity = make_activity(**kept, lead_id=actor.id)
    with in_app():
        activities.update(
            db.session.get(Activity, activity.id),
            {"city": "Wuxi"},
            version=activity.version,
            actor=db.session.get(User, actor.id),
        )
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/edit",
        data=_form(version=str(activity.version), city="Ningbo"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this activity" in page and "Wuxi" in page and "Ningbo" in page
    box = page.split('data-testid="conflict"', 1)[1].split("</table>", 1)[0]
    differs = re.findall(
        r'data-testid="conflict-differs">\s*<th[^>]*>([^<]+)</th>\s*<td[^>]*>([^<]+)', box
    )
    assert [(label.strip(), value.strip()) for label, value in differs] == [("City", "Wuxi")]
    assert "Signed on" not in box  # empty on both sides: not listed
    assert "Please correct the highlighted fields." not in page  # no field is wrong
    assert re.search(r">Lead</th>\s*<td[^>]*>Factory Admin", box)  # by name, not by id
    with in_app():
        assert db.session.get(Activity, activity.id).city == "Wuxi"


def test_changing_an_mou_to_another_type_clears_its_agreement_fields(
    login_as, make_activity, in_app
):
    activity = make_activity(
        type="mou",
        signed_on=date(2026, 1, 1),
        expires_on=date(2027, 1, 1),
        agreement_status="signed",
    )
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/edit",
        data=_form(
            version=str(activity.version),
            type="forum",
            signed_on="2026-01-01",
            expires_on="2027-01-01",
            agreement_status="signed",
        ),
    )
    assert response.status_code == 302
    with in_app():
        saved = db.session.get(Activity, activity.id)
        assert (saved.signed_on, saved.expires_on, saved.agreement_status) == (None, None, None)


def test_coordinator_can_move_an_activity_to_the_trash(login_as, make_activity, in_app):
    activity = make_activity()
    client = login_as("coordinator")
    confirm = client.get(f"/activities/{activity.id}/delete")
    assert confirm.status_code == 200 and "Move this activity to the trash?" in confirm.get_data(
        as_text=True
    )
    response = client.post(f"/activities/{activity.id}/delete", follow_redirects=True)
    assert response.status_code == 200 and "moved to the trash" in response.get_data(as_text=True)
    assert client.get(f"/activities/{activity.id}").status_code == 404
    assert activity.title not in client.get("/activities").get_data(as_text=True)
    with in_app():
        assert db.session.get(Activity, activity.id).deleted_at is not None
        assert search.search("electronics", types=["activity"]).total == 0


@pytest.mark.parametrize(
    "url",
    [
        "/activities/999999",
        "/activities/999999/edit",
        "/activities/999999/delete",
        "/activities/999999/activity.ics",
    ],
)
def test_unknown_activity_is_404(login_as, url):
    response = login_as("coordinator").get(url)
    assert response.status_code == 404
    assert "No such activity." in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Parties
# ---------------------------------------------------------------------------------------------


def test_coordinator_can_add_and_remove_a_host(login_as, make_activity, make_organisation, in_app):
    activity = make_activity()
    org = make_organisation(display_name="Guangdong Labour Bureau", org_type="government")
    client = login_as("coordinator")
    response = client.post(
        f"/activities/{activity.id}/parties",
        data={"party-organisation_id": org.id, "party-role": "host"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Guangdong Labour Bureau added to the activity." in page
    with in_app():
        party = db.session.scalar(sa.select(ActivityParty))
        assert (party.organisation_id, party.role) == (org.id, "host")
    organisation_page = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    assert 'data-testid="stakeholder-activity"' in organisation_page and "Host" in organisation_page
    response = client.post(f"/activities/{activity.id}/parties/{party.id}/remove")
    assert response.status_code == 302
    with in_app():
        assert _count(ActivityParty) == 0


def test_the_same_party_role_twice_is_refused_with_a_message(
    login_as, make_activity, make_organisation, in_app
):
    activity = make_activity()
    org = make_organisation(display_name="Harmony Garments")
    client = login_as("coordinator")
    form = {"party-organisation_id": org.id, "party-role": "sponsor"}
    assert client.post(f"/activities/{activity.id}/parties", data=form).status_code == 302
    response = client.post(f"/activities/{activity.id}/parties", data=form)
    assert response.status_code == 400
    assert "Harmony Garments already has the role “Sponsor” in this activity." in (
        response.get_data(as_text=True)
    )
    # Another role for the same organisation is fine.
    form["party-role"] = "host"
    assert client.post(f"/activities/{activity.id}/parties", data=form).status_code == 302
    with in_app():
        assert _count(ActivityParty) == 2


def test_a_party_must_be_an_existing_organisation(login_as, make_activity, make_person, in_app):
    activity = make_activity()
    person = make_person()
    client = login_as("coordinator")
    for org_id in (999999, person.id):
        response = client.post(
            f"/activities/{activity.id}/parties",
            data={"party-organisation_id": org_id, "party-role": "host"},
        )
        assert response.status_code == 400
        assert "Choose an existing organisation." in response.get_data(as_text=True)
    with in_app():
        assert _count(ActivityParty) == 0


def test_removing_a_party_of_another_activity_is_404(
    login_as, make_activity, make_organisation, in_app, actor
):
    first, second = make_activity(), make_activity(title="Wages forum")
    org = make_organisation()
    with in_app():
        party = activities.add_party(
            db.session.get(Activity, first.id),
            organisation_id=org.id,
            role="host",
            actor=db.session.get(User, actor.id),
        )
        party_id = party.id
    response = login_as("coordinator").post(f"/activities/{second.id}/parties/{party_id}/remove")
    assert response.status_code == 404
    with in_app():
        assert _count(ActivityParty) == 1


# ---------------------------------------------------------------------------------------------
# Participants
# ---------------------------------------------------------------------------------------------


def test_coordinator_can_add_existing_people_keeping_their_organisation(
    login_as, make_activity, make_person, make_organisation, employ, in_app
):
    activity = make_activity()
    org = make_organisation(display_name="Bright Electronics")
    wang = make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    li = make_person(family_name="Li", given_name="Lei", gender="male")
    employ(wang, org)
    client = login_as("coordinator")
    response = client.post(
        f"/activities/{activity.id}/participants",
        data={
            "add-people": [wang.id, li.id],
            "add-status": "registered",
            "add-role": "participant",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 added to the participants." in page
    assert page.count('data-testid="participant"') == 2 and "Bright Electronics" in page
    with in_app():
        rows = {p.person_id: p for p in db.session.scalars(sa.select(Participation))}
        assert rows[wang.id].organisation_id == org.id and rows[li.id].organisation_id is None
        assert {p.status for p in rows.values()} == {"registered"}
    person_page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "Registered" in person_page.split('id="activities"')[1].split("</section>")[0]


def test_the_history_reads_a_new_participants_status_as_its_label(
    login_as, make_activity, make_person
):
    """The activity's own `status` is an activity status; the status recorded with a new
    participant is a participation status, and reads as its label ("No-show", not no_show)."""
    activity = make_activity()
    wang = make_person(family_name="Wang", given_name="Fang")
    client = login_as("coordinator")
    client.post(
        f"/activities/{activity.id}/participants",
        data={"add-people": [wang.id], "add-status": "no_show", "add-role": "speaker"},
    )
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert "No-show" in history and "no_show" not in history


def test_a_participants_status_role_and_remove_button_never_break_inside_a_word(
    login_as, make_activity, make_person, enrol
):
    """In Chinese the narrow columns broke 已出席 into 已出 / 席 and 移除 into 移 / 除."""
    activity = make_activity()
    enrol(activity, [make_person(family_name="Wang", given_name="Fang")], status="attended")
    page = login_as("coordinator", locale="zh").get(f"/activities/{activity.id}")
    row = page.get_data(as_text=True).split('data-testid="participant"')[1].split("</tr>")[0]
    assert '<td class="text-nowrap" data-testid="participant-status">已出席</td>' in row
    assert '<td class="text-nowrap">参与者</td>' in row
    assert 'class="text-end text-nowrap pe-3"' in row


def test_a_participant_added_twice_is_refused_and_nobody_is_added(
    login_as, make_activity, make_person, enrol, in_app
):
    activity = make_activity()
    wang = make_person(family_name="Wang", given_name="Fang")
    li = make_person(family_name="Li", given_name="Lei")
    enrol(activity, [wang])
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/participants",
        data={"add-people": [li.id, wang.id], "add-status": "invited", "add-role": "participant"},
    )
    assert response.status_code == 400
    assert "Already on the list of participants: Wang Fang." in response.get_data(as_text=True)
    with in_app():
        assert [p.person_id for p in db.session.scalars(sa.select(Participation))] == [wang.id]


def test_an_unknown_person_is_refused(login_as, make_activity, make_organisation, in_app):
    activity = make_activity()
    org = make_organisation()
    client = login_as("coordinator")
    for bad in (999999, org.id):
        response = client.post(
            f"/activities/{activity.id}/participants",
            data={"add-people": [bad], "add-status": "invited", "add-role": "participant"},
        )
        assert response.status_code == 400
        assert "A chosen person no longer exists" in response.get_data(as_text=True)
    response = client.post(
        f"/activities/{activity.id}/participants",
        data={"add-status": "invited", "add-role": "participant"},
    )
    assert response.status_code == 400
    assert "Choose at least one person." in response.get_data(as_text=True)
    with in_app():
        assert _count(Participation) == 0


def test_coordinator_can_create_a_person_on_the_spot(
    login_as, make_activity, make_organisation, in_app
):
    activity = make_activity()
    org = make_organisation(display_name="Suzhou Silk Co.")
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/participants/new",
        data={
            "new-family_name": "Zhao",
            "new-given_name": "Min",
            "new-chinese_name": "赵敏",
            "new-gender": "female",
            "new-job_title": "HR officer",
            "new-email": "zhao.min@example.cn",
            "new-organisation_id": org.id,
            "new-status": "attended",
            "new-role": "speaker",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "“Zhao Min” created and added to the participants." in response.get_data(as_text=True)
    with in_app():
        person = db.session.scalar(sa.select(Person))
        participation = db.session.scalar(sa.select(Participation))
        assert person.name_pinyin == "zhao min" and person.email == "zhao.min@example.cn"
        assert [a.organisation_id for a in person.affiliations] == [org.id]
        assert (participation.organisation_id, participation.status, participation.role) == (
            org.id,
            "attended",
            "speaker",
        )
        assert search.search("赵敏", types=["person"]).total == 1


def test_creating_a_likely_duplicate_asks_first(login_as, make_activity, make_person, in_app):
    activity = make_activity()
    make_person(family_name="Zhao", given_name="Min", email="zhao.min@example.cn")
    client = login_as("coordinator")
    data = {
        "new-family_name": "Zhao",
        "new-given_name": "Min",
        "new-email": "zhao.min@example.cn",
        "new-gender": "female",
        "new-status": "invited",
        "new-role": "participant",
    }
    response = client.post(f"/activities/{activity.id}/participants/new", data=data)
    assert response.status_code == 400
    assert "This person may already be recorded: Zhao Min." in response.get_data(as_text=True)
    with in_app():
        assert _count(Person) == 1 and _count(Participation) == 0
    data["new-create_anyway"] = "y"
    assert client.post(f"/activities/{activity.id}/participants/new", data=data).status_code == 302
    with in_app():
        assert _count(Person) == 2 and _count(Participation) == 1


def test_a_person_without_a_name_is_refused_and_nothing_is_written(login_as, make_activity, in_app):
    activity = make_activity()
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/participants/new",
        data={"new-gender": "male", "new-status": "invited", "new-role": "participant"},
    )
    assert response.status_code == 400
    assert "Give a family name, a given name or a Chinese name." in response.get_data(as_text=True)
    with in_app():
        assert _count(Person) == 0 and _count(Participation) == 0


def test_coordinator_can_mark_attendance_in_bulk(
    login_as, make_activity, make_person, enrol, in_app
):
    activity = make_activity()
    people = [make_person(family_name="Wang", given_name=f"Fang {i}") for i in range(4)]
    enrol(activity, people, status="registered")
    with in_app():
        ids = {
            p.person_id: p.id
            for p in db.session.scalars(sa.select(Participation).order_by(Participation.id))
        }
    ticked = [ids[p.id] for p in people[:3]]
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/participants/bulk",
        data={"bulk-ids": ticked, "bulk-status": "attended", "bulk-role": ""},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "3 participants updated." in response.get_data(as_text=True)
    with in_app():
        statuses = {p.id: (p.status, p.role) for p in db.session.scalars(sa.select(Participation))}
        assert [statuses[i] for i in ticked] == [("attended", "participant")] * 3
        assert statuses[ids[people[3].id]] == ("registered", "participant")


def test_bulk_change_of_a_role_and_of_nothing(login_as, make_activity, make_person, enrol, in_app):
    activity = make_activity()
    wang = make_person()
    enrol(activity, [wang])
    with in_app():
        pid = db.session.scalar(sa.select(Participation.id))
    client = login_as("coordinator")
    url = f"/activities/{activity.id}/participants/bulk"
    response = client.post(url, data={"bulk-ids": [pid], "bulk-status": "", "bulk-role": ""})
    assert response.status_code == 400
    assert "Choose a status or a role to set." in response.get_data(as_text=True)
    response = client.post(url, data={"bulk-status": "attended"})
    assert response.status_code == 400
    assert "Tick at least one participant." in response.get_data(as_text=True)
    response = client.post(url, data={"bulk-ids": [pid], "bulk-role": "trainer"})
    assert response.status_code == 302
    with in_app():
        assert db.session.get(Participation, pid).role == "trainer"


def test_bulk_change_refuses_a_participant_of_another_activity(
    login_as, make_activity, make_person, enrol, in_app
):
    first, second = make_activity(), make_activity(title="Wages forum")
    wang, li = make_person(), make_person(family_name="Li", given_name="Lei")
    enrol(first, [wang])
    enrol(second, [li])
    with in_app():
        ids = {p.person_id: p.id for p in db.session.scalars(sa.select(Participation))}
    response = login_as("coordinator").post(
        f"/activities/{first.id}/participants/bulk",
        data={"bulk-ids": [ids[wang.id], ids[li.id]], "bulk-status": "attended"},
    )
    assert response.status_code == 400
    assert "no longer on the list" in response.get_data(as_text=True)
    with in_app():
        assert {p.status for p in db.session.scalars(sa.select(Participation))} == {"invited"}


def test_coordinator_can_remove_a_participant(login_as, make_activity, make_person, enrol, in_app):
    activity, other = make_activity(), make_activity(title="Other")
    wang = make_person()
    enrol(activity, [wang])
    with in_app():
        pid = db.session.scalar(sa.select(Participation.id))
    client = login_as("coordinator")
    assert client.post(f"/activities/{other.id}/participants/{pid}/remove").status_code == 404
    response = client.post(f"/activities/{activity.id}/participants/{pid}/remove")
    assert response.status_code == 302
    with in_app():
        assert _count(Participation) == 0 and db.session.get(Person, wang.id) is not None


def test_headcounts_of_unnamed_attendees(login_as, make_activity, in_app):
    activity = make_activity()
    client = login_as("coordinator")
    url = f"/activities/{activity.id}/headcounts"
    form = {
        "count-version": str(activity.version),
        "count-unnamed_women": "12",
        "count-unnamed_men": "-3",
        "count-unnamed_unspecified": "1",
    }
    response = client.post(url, data=form)
    assert response.status_code == 400
    assert "A headcount cannot be negative." in response.get_data(as_text=True)
    with in_app():
        saved = db.session.get(Activity, activity.id)
        assert (saved.unnamed_women, saved.unnamed_men, saved.version) == (0, 0, activity.version)
    form["count-unnamed_men"] = "9"
    response = client.post(url, data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Headcounts saved." in page
    assert 'data-testid="reach-total">22<' in page
    with in_app():
        saved = db.session.get(Activity, activity.id)
        assert (saved.unnamed_women, saved.unnamed_men, saved.unnamed_unspecified) == (12, 9, 1)
    # The same form again, now stale: a conflict, not an overwrite.
    form["count-unnamed_women"] = "1"
    assert client.post(url, data=form).status_code == 409
    with in_app():
        assert db.session.get(Activity, activity.id).unnamed_women == 12


def test_headcounts_must_be_whole_numbers(login_as, make_activity):
    activity = make_activity()
    response = login_as("coordinator").post(
        f"/activities/{activity.id}/headcounts",
        data={"count-version": str(activity.version), "count-unnamed_women": "many"},
    )
    assert response.status_code == 400
    assert "Not a valid integer value." in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# The activity page: interactions, research, calendar file
# ---------------------------------------------------------------------------------------------


def test_activity_page_links_log_interaction_and_lists_linked_ones(
    login_as, make_activity, make_person, in_app, actor
):
    activity = make_activity()
    wang = make_person()
    with in_app():
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Debrief after the training",
                "stakeholder_ids": [wang.id],
                "activity_id": activity.id,
            },
            actor=db.session.get(User, actor.id),
        )
    page = login_as("viewer").get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "Debrief after the training" in page
    assert f'href="/interactions/new?activity={activity.id}"' not in page  # viewers cannot log
    page = login_as("member").get(f"/activities/{activity.id}").get_data(as_text=True)
    assert f'href="/interactions/new?activity={activity.id}"' in page
    assert f'href="/activities/{activity.id}/edit"' not in page  # members cannot edit


def test_research_shows_publication_and_partner_institutions(
    login_as, make_activity, make_organisation, in_app, actor
):
    activity = make_activity(
        type="research",
        title="Purchasing practices and wages",
        publication="https://example.org/report.pdf",
    )
    institute = make_organisation(display_name="Sun Yat-sen University", org_type="academic")
    with in_app():
        activities.add_party(
            db.session.get(Activity, activity.id),
            organisation_id=institute.id,
            role="partner",
            actor=db.session.get(User, actor.id),
        )
    page = login_as("viewer").get(f"/activities/{activity.id}").get_data(as_text=True)
    research = page.split('id="research"')[1].split("</section>")[0]
    assert 'href="https://example.org/report.pdf"' in research
    assert "Sun Yat-sen University" in research


def test_person_timeline_links_the_activity(login_as, make_activity, make_person, enrol):
    activity = make_activity()
    wang = make_person()
    enrol(activity, [wang], status="attended")
    page = login_as("viewer").get(f"/people/{wang.id}").get_data(as_text=True)
    assert f'href="/activities/{activity.id}"' in page.split('id="timeline"')[1]


# ---------------------------------------------------------------------------------------------
# List, calendar, search
# ---------------------------------------------------------------------------------------------


def test_list_filters_by_type_status_sector_topic_year_and_city(
    login_as, make_activity, default_topics
):
    osh = default_topics["Occupational safety and health (OSH)"]
    make_activity(title="Alpha OSH training", topic_ids=[osh])
    make_activity(title="Beta wages forum", type="forum", sector="textile", city="Ningbo")
    make_activity(
        title="Gamma old dialogue", type="dialogue", start_on=date(2024, 5, 1), end_on=None
    )
    make_activity(title="Delta held webinar", type="webinar", status="held", city="Online")
    client = login_as("viewer")

    def titles(query):
        page = client.get(f"/activities?{query}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        return sorted(t for t in ("Alpha", "Beta", "Gamma", "Delta") if f">{t} " in text)

    assert titles("") == ["Alpha", "Beta", "Delta", "Gamma"]
    assert titles("type=forum") == ["Beta"]
    assert titles("status=held") == ["Delta"]
    assert titles("sector=textile") == ["Beta"]
    assert titles(f"topic={osh}") == ["Alpha"]
    assert titles("year=2024") == ["Gamma"]
    assert titles("city=ningbo") == ["Beta"]
    assert titles("q=webinar") == ["Delta"]
    # Unknown values are ignored, never an error.
    assert titles("type=picnic&year=99999&topic=abc&sort=evil&page=-1") == [
        "Alpha",
        "Beta",
        "Delta",
        "Gamma",
    ]


def test_list_sorts_and_pages(login_as, make_activity):
    for i in range(30):
        make_activity(title=f"Session {i:02d}", start_on=date(2026, 1, 1 + i % 28), end_on=None)
    client = login_as("viewer")
    page = client.get("/activities?sort=title&dir=asc&per_page=25&page=2").get_data(as_text=True)
    assert page.count('data-testid="activity-row"') == 5
    assert "Session 25" in page and "Session 24" not in page
    first = client.get("/activities?sort=title&dir=desc&per_page=25").get_data(as_text=True)
    assert first.index("Session 29") < first.index("Session 28")


def test_month_calendar_shows_activities_on_each_of_their_days(login_as, make_activity):
    make_activity(title="Three-day academy", start_on=date(2026, 3, 30), end_on=date(2026, 4, 1))
    make_activity(title="Spring forum", type="forum", start_on=date(2026, 3, 10), end_on=None)
    client = login_as("viewer")
    page = client.get("/activities/calendar?month=2026-03").get_data(as_text=True)
    assert "March 2026" in page
    cells = page.split('data-date="')
    day = {cell[:10]: cell for cell in cells[1:]}
    assert "Spring forum" in day["2026-03-10"] and "Spring forum" not in day["2026-03-11"]
    for d in ("2026-03-30", "2026-03-31", "2026-04-01"):
        assert "Three-day academy" in day[d]
    april = client.get("/activities/calendar?month=2026-04").get_data(as_text=True)
    assert "Three-day academy" in april and "Spring forum" not in april
    for junk in ("2026-13", "abc", "0-1", "99999-01", "2026-03-05"):
        assert client.get(f"/activities/calendar?month={junk}").status_code == 200


@pytest.mark.parametrize(
    "query", ["职业安全", "电子", "zhiye anquan", "zhiyeanquan", "dzhy", "OSH training", "shenzhen"]
)
def test_search_finds_an_activity_by_chinese_title_pinyin_and_english(
    login_as, make_activity, query
):
    activity = make_activity()
    results = login_as("viewer").get(f"/search.json?q={query}&type=activity").get_json()["results"]
    assert [(r["id"], r["url"]) for r in results] == [(activity.id, f"/activities/{activity.id}")]


def test_search_index_follows_edits(make_activity, in_app, actor):
    activity = make_activity()
    with in_app():
        activities.update(
            db.session.get(Activity, activity.id),
            {"title": "Wages dialogue", "title_zh": "工资集体协商"},
            version=activity.version,
            actor=db.session.get(User, actor.id),
        )
        assert search.search("gongzi", types=["activity"]).total == 1
        assert search.search("职业安全", types=["activity"]).total == 0


def test_rebuilding_the_search_index_includes_activities(make_activity, in_app):
    make_activity()
    with in_app():
        search.rebuild()
        assert search.search("zhiye", types=["activity"]).total == 1


def test_organisation_card_lists_each_role(
    login_as, make_activity, make_organisation, in_app, actor
):
    activity = make_activity()
    org = make_organisation()
    with in_app():
        admin = db.session.get(User, actor.id)
        for role in ("host", "sponsor"):
            activities.add_party(
                db.session.get(Activity, activity.id),
                organisation_id=org.id,
                role=role,
                actor=admin,
            )
    page = login_as("viewer").get(f"/organisations/{org.id}").get_data(as_text=True)
    card = page.split('id="activities"')[1].split("</section>")[0]
    assert card.count('data-testid="stakeholder-activity"') == 2
    assert "Host" in card and "Sponsor" in card


def test_stakeholders_service_still_creates_people_alone(in_app, actor):
    """The on-the-spot creation reuses the people service's flush-only helper; the public
    function keeps committing on its own."""
    with in_app():
        person = stakeholders.create_person(
            {"family_name": "Sun", "given_name": "Li"}, actor=db.session.get(User, actor.id)
        )
        db.session.rollback()
        assert db.session.get(Person, person.id) is not None


def test_zh_user_can_open_every_activity_page(login_as, make_activity, make_person, enrol):
    activity = make_activity(type="mou", agreement_status="draft")
    enrol(activity, [make_person()], status="attended")
    client = login_as("admin", locale="zh")
    for url in (
        "/activities",
        "/activities/calendar?month=2026-03",
        "/activities/mous",
        "/activities/new",
        "/activities/topics",
        f"/activities/{activity.id}",
        f"/activities/{activity.id}/edit",
        f"/activities/{activity.id}/delete",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-CN"' in response.get_data(as_text=True)
