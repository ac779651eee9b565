"""Forms that fit the job (issue 16, item 6): the staff present chosen with the chip picker,
a new person's employer, a follow-up about one stakeholder or all of them, names in the
interface's language, and completing a follow-up from a list with its note. Each with its
bad input: a field error, nothing written, what was typed kept."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Affiliation, FollowUp, Interaction, Person, Stakeholder, User
from crm.services import follow_ups

DUE = "2031-03-10"


@pytest.fixture
def wang(make_person):
    return make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")


@pytest.fixture
def harmony(make_organisation):
    return make_organisation(
        display_name="Dongguan Harmony Garments", chinese_name="东莞和谐服装", sector="textile"
    )


def _interaction(*stakeholder_ids, **over):
    data = {
        "version": "0",
        "channel": "meeting",
        "direction": "outbound",
        "occurred_at": "2026-03-04 10:00",
        "stakeholders": [str(i) for i in stakeholder_ids],
        "subject": "Working hours in peak season",
        "summary": "Overtime and wages",
    }
    data.update(over)
    return data


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _chips(page: str, name: str) -> list[str]:
    """The chips of the picker posting `name`, as the page shows them."""
    return [
        text.strip()
        for text in re.findall(
            rf'<span class="[^"]*picker-chip[^"]*" data-id="\d+">'
            rf'<input type="hidden" name="{name}" value="\d+">([^<]*)<button',
            page,
        )
    ]


def _field_error(page: str, field_id: str) -> str:
    """The message shown under a field (Bootstrap's invalid-feedback after it)."""
    at = page.index(f'id="{field_id}"')
    found = re.search(r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+)', page[at:])
    assert found, f"no message at {field_id}"
    return html.unescape(found.group(1).strip())


# ---------------------------------------------------------------------------------------------
# Staff present: the chip picker, the author preselected
# ---------------------------------------------------------------------------------------------


def test_member_finds_the_staff_present_as_a_chip_picker_with_themselves_chosen(login_as):
    client = login_as("member", name="Li Na")
    page = client.get("/interactions/new").get_data(as_text=True)
    assert '<select multiple id="staff"' not in page and 'name="staff" multiple' not in page
    assert 'data-picker-url="/search.json?type=user"' in page
    assert _chips(page, "staff") == ["Li Na"]
    assert f'name="staff" value="{client.user.id}"' in page
    assert 'aria-label="Remove Li Na"' in page


def test_member_finds_a_colleague_by_name_or_pinyin_but_not_a_disabled_one(login_as, make_user):
    zhang = make_user("member", name="张伟", email="zhang.wei@example.org")
    make_user("coordinator", name="Zhang Min", is_enabled=False)
    client = login_as("member")
    for query in ("zhang", "张", "zhangw", "zw"):
        found = client.get("/search.json", query_string={"type": "user", "q": query}).get_json()
        assert [(r["id"], r["name"]) for r in found["results"]] == [(zhang.id, "张伟")], query
    assert client.get("/search.json?type=user&q=li").get_json()["results"] == []


def test_viewer_cannot_list_colleagues_for_the_staff_picker(login_as, make_user):
    make_user("member", name="Zhang Wei")
    response = login_as("viewer").get("/search.json?type=user&q=zhang")
    assert response.status_code == 403


def test_member_logs_a_meeting_with_a_colleague_and_stays_among_the_staff(
    login_as, make_user, wang, in_app
):
    client = login_as("member", name="Li Na")
    zhang = make_user("member", name="Zhang Wei")
    staff = [str(client.user.id), str(zhang.id)]
    response = client.post(
        "/interactions/new", data=_interaction(wang.id, staff=staff), follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Staff present: Li Na, Zhang Wei" in page
    with in_app():
        interaction = db.session.scalar(sa.select(Interaction))
        assert sorted(u.id for u in interaction.staff) == sorted([client.user.id, zhang.id])


def test_member_removes_themselves_deliberately(login_as, make_user, wang, in_app):
    client = login_as("member", name="Li Na")
    zhang = make_user("member", name="Zhang Wei")
    client.post("/interactions/new", data=_interaction(wang.id, staff=[str(zhang.id)]))
    with in_app():
        interaction = db.session.scalar(sa.select(Interaction))
        assert [u.id for u in interaction.staff] == [zhang.id]


@pytest.mark.parametrize("bad", ["987654", "99999999999999999999", "Zhang"])
def test_a_staff_id_that_is_no_colleague_is_a_field_error_and_saves_nothing(
    login_as, wang, in_app, bad
):
    client = login_as("member", name="Li Na")
    response = client.post(
        "/interactions/new", data=_interaction(wang.id, staff=[str(client.user.id), bad])
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(page, "staff") in (
        "Choose active colleagues only.",
        "Choose records from the list.",
    )
    assert "Li Na" in _chips(page, "staff")  # the good choice is kept
    assert 'value="Working hours in peak season"' in page
    with in_app():
        assert _count(Interaction) == 0


# ---------------------------------------------------------------------------------------------
# A new person's employer
# ---------------------------------------------------------------------------------------------


def _person(**over):
    data = {
        "version": "0",
        "family_name": "Zhou",
        "given_name": "Xiaohong",
        "chinese_name": "周小红",
        "gender": "female",
        "job_title": "HR Manager",
        "consent": "unknown",
        "engagement_level": "unaware",
        "influence": "3",
        "interest": "3",
    }
    data.update(over)
    return data


def test_member_creates_a_person_at_their_employer(login_as, harmony, in_app):
    client = login_as("member")
    form = client.get("/people/new").get_data(as_text=True)
    assert (
        'name="employer_id"' in form and 'data-picker-url="/search.json?type=organisation"' in form
    )
    response = client.post(
        "/people/new",
        data=_person(employer_id=str(harmony.id), employer_id__label="Dongguan Harmony Garments"),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Dongguan Harmony Garments" in page
    with in_app():
        person = db.session.scalar(sa.select(Person))
        position = db.session.scalar(sa.select(Affiliation))
        assert position.person_id == person.id and position.organisation_id == harmony.id
        assert position.title == "HR Manager" and position.is_current


def test_a_person_without_an_employer_has_no_position(login_as, in_app):
    login_as("member").post("/people/new", data=_person())
    with in_app():
        assert _count(Person) == 1 and _count(Affiliation) == 0


@pytest.mark.parametrize("bad", ["person", "99999999999999999999", "987654"])
def test_an_employer_that_is_no_organisation_is_a_field_error_and_saves_nothing(
    login_as, wang, in_app, bad
):
    employer = {"person": str(wang.id)}.get(bad, bad)
    response = login_as("member").post(
        "/people/new", data=_person(employer_id=employer, employer_id__label="Wang Fang")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(page, "employer_id") in (
        "Choose an existing organisation.",
        "Choose a record from the list.",
    )
    assert 'value="Xiaohong"' in page and 'value="HR Manager"' in page
    with in_app():
        assert _count(Person) == 1  # Wang Fang only
        assert _count(Affiliation) == 0


# ---------------------------------------------------------------------------------------------
# Whom a follow-up logged with an interaction is about
# ---------------------------------------------------------------------------------------------


def _with_follow_up(*stakeholder_ids, about="", **over):
    return _interaction(
        *stakeholder_ids,
        **{
            "follow_ups-0-title": "Send the training invitation",
            "follow_ups-0-due_on": DUE,
            "follow_ups-0-priority": "normal",
            "follow_ups-0-stakeholder_id": about,
        },
        **over,
    )


def test_the_follow_up_row_offers_all_of_them_and_each_chosen_stakeholder(login_as, wang, harmony):
    client = login_as("member")
    page = client.get(f"/interactions/new?stakeholder={wang.id}&stakeholder={harmony.id}")
    text = page.get_data(as_text=True)
    about = text[text.index('name="follow_ups-0-stakeholder_id"') :]
    about = about[: about.index("</select>")]
    assert re.findall(r"<option[^>]*>([^<]*)</option>", about) == [
        "All of them",
        "Wang Fang 王芳",
        "Dongguan Harmony Garments 东莞和谐服装",
    ]


def test_member_links_a_follow_up_to_the_stakeholder_they_pick(login_as, wang, harmony, in_app):
    client = login_as("member")
    response = client.post(
        "/interactions/new",
        data=_with_follow_up(
            wang.id, harmony.id, about=str(harmony.id), **{"follow_ups-0-assignee_id": ""}
        ),
    )
    assert response.status_code == 400  # no assignee: the form comes back
    data = _with_follow_up(
        wang.id,
        harmony.id,
        about=str(harmony.id),
        **{"follow_ups-0-assignee_id": str(client.user.id)},
    )
    assert client.post("/interactions/new", data=data).status_code == 302
    with in_app():
        follow_up = db.session.scalar(sa.select(FollowUp))
        assert follow_up.stakeholder_id == harmony.id
        assert db.session.get(Stakeholder, harmony.id).next_follow_up_on == date(2031, 3, 10)
        assert db.session.get(Stakeholder, wang.id).next_follow_up_on is None


def test_a_follow_up_about_all_of_them_shows_on_every_timeline(login_as, wang, harmony, in_app):
    client = login_as("member")
    data = _with_follow_up(wang.id, harmony.id, **{"follow_ups-0-assignee_id": str(client.user.id)})
    assert client.post("/interactions/new", data=data).status_code == 302
    with in_app():
        follow_up = db.session.scalar(sa.select(FollowUp))
        assert follow_up.stakeholder_id is None and follow_up.interaction_id is not None
        for stakeholder_id in (wang.id, harmony.id):
            stored = db.session.get(Stakeholder, stakeholder_id).next_follow_up_on
            assert stored == date(2031, 3, 10)
    for url in (f"/people/{wang.id}", f"/organisations/{harmony.id}"):
        assert "Send the training invitation" in client.get(url).get_data(as_text=True), url
    listed = client.get(f"/follow-ups?stakeholder={harmony.id}").get_data(as_text=True)
    assert "Send the training invitation" in listed
    detail = client.get(f"/follow-ups/{follow_up.id}").get_data(as_text=True)
    assert re.search(r'data-testid="about">.*Wang Fang.*Dongguan Harmony Garments', detail)


def test_completing_a_follow_up_about_all_of_them_clears_their_next_dates(
    login_as, wang, harmony, in_app
):
    client = login_as("member")
    data = _with_follow_up(wang.id, harmony.id, **{"follow_ups-0-assignee_id": str(client.user.id)})
    client.post("/interactions/new", data=data)
    with in_app():
        follow_up_id = db.session.scalar(sa.select(FollowUp.id))
    client.post(f"/follow-ups/{follow_up_id}/complete", data={"done-note": "Sent"})
    with in_app():
        for stakeholder_id in (wang.id, harmony.id):
            assert db.session.get(Stakeholder, stakeholder_id).next_follow_up_on is None


def test_a_follow_up_about_someone_not_in_the_interaction_is_a_field_error(
    login_as, wang, harmony, make_person, in_app
):
    other = make_person(family_name="Li", given_name="Mei", chinese_name="李梅")
    client = login_as("member")
    data = _with_follow_up(
        wang.id,
        harmony.id,
        about=str(other.id),
        **{"follow_ups-0-assignee_id": str(client.user.id)},
    )
    response = client.post("/interactions/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(page, "follow_ups-0-stakeholder_id") == (
        "Choose one of the interaction's stakeholders, or all of them."
    )
    assert 'value="Send the training invitation"' in page
    assert _chips(page, "stakeholders") == [
        "Wang Fang 王芳",
        "Dongguan Harmony Garments 东莞和谐服装",
    ]
    with in_app():
        assert _count(Interaction) == 0 and _count(FollowUp) == 0


# ---------------------------------------------------------------------------------------------
# Names in the interface's language
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"), [("en", "Wang Fang 王芳"), ("zh", "王芳 Wang Fang")]
)
def test_picked_names_read_in_the_interface_language(login_as, wang, locale, expected):
    client = login_as("member", locale=locale)
    found = client.get("/search.json", query_string={"q": "wangfang", "type": "person"})
    assert [r["name"] for r in found.get_json()["results"]] == [expected]
    # The form shown again after an error (no subject) names the chosen stakeholder alike.
    response = client.post("/interactions/new", data=_interaction(wang.id, subject=""))
    assert response.status_code == 400
    assert _chips(response.get_data(as_text=True), "stakeholders") == [expected]


def test_a_picked_employer_reads_in_the_interface_language_when_the_form_comes_back(
    login_as, harmony
):
    client = login_as("member", locale="zh")
    response = client.post(
        "/people/new",
        data=_person(family_name="", given_name="", chinese_name="", employer_id=str(harmony.id)),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="东莞和谐服装 Dongguan Harmony Garments"' in page


# ---------------------------------------------------------------------------------------------
# Completing a follow-up from a list, with its note
# ---------------------------------------------------------------------------------------------


def _open_follow_up(in_app, user_id: int) -> int:
    with in_app():
        me = db.session.get(User, user_id)
        made = follow_ups.create(
            {"title": "Call the union", "due_on": date(2031, 1, 5), "assignee_id": me.id},
            actor=me,
        )
        return made.id


def test_member_completes_a_follow_up_from_the_list_with_a_note(login_as, in_app):
    client = login_as("member")
    follow_up_id = _open_follow_up(in_app, client.user.id)
    listing = client.get("/follow-ups").get_data(as_text=True)
    row = listing[listing.index("Call the union") :]
    row = row[: row.index("</li>")]
    assert "<summary" in row and ">Complete</summary>" in row
    assert 'name="done-note"' in row and 'for="done-note-' in row
    assert ">Done<" not in row
    response = client.post(
        f"/follow-ups/{follow_up_id}/complete",
        data={"done-note": "Agreed a date by WeChat", "next": "/follow-ups"},
        follow_redirects=True,
    )
    assert response.request.path == "/follow-ups"
    assert "“Call the union” is done." in response.get_data(as_text=True)
    with in_app():
        done = db.session.get(FollowUp, follow_up_id)
        assert done.status == "done" and done.completion_note == "Agreed a date by WeChat"


def test_completing_twice_keeps_the_first_note_and_says_so(login_as, in_app):
    client = login_as("member")
    follow_up_id = _open_follow_up(in_app, client.user.id)
    first = {"done-note": "Agreed a date", "next": "/follow-ups"}
    assert client.post(f"/follow-ups/{follow_up_id}/complete", data=first).status_code == 302
    with in_app():
        completed_at = db.session.get(FollowUp, follow_up_id).completed_at
    again = client.post(
        f"/follow-ups/{follow_up_id}/complete",
        data={"done-note": "Second click", "next": "/follow-ups"},
        follow_redirects=True,
    )
    assert again.status_code == 200 and again.request.path == "/follow-ups"
    assert "Only an open follow-up can be completed." in again.get_data(as_text=True)
    with in_app():
        done = db.session.get(FollowUp, follow_up_id)
        assert done.completion_note == "Agreed a date" and done.completed_at == completed_at
