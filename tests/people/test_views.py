import re
from datetime import UTC, date, datetime

import pytest

from crm.extensions import db
from crm.models import Affiliation, AuditEvent, Organisation, Person, User
from crm.services import interactions, stakeholders


def _form(**over):
    data = {
        "version": "0",
        "family_name": "Wang",
        "given_name": "Fang",
        "chinese_name": "王芳",
        "gender": "female",
        "job_title": "HR manager",
        "email": "wang.fang@example.cn",
        "phone": "+86 138 0013 8000",
        "wechat_id": "wangfang_sz",
        "preferred_language": "zh",
        "consent": "given",
        "consent_on": "2025-03-01",
        "consent_source": "Sign-in sheet, March training",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "4",
        "tags": "OSH, 培训",
    }
    data.update(over)
    return data


def _count_people() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Person))


def _names(page: str, *names: str) -> list[str]:
    """The given names in the order the list shows them."""
    pattern = "|".join(re.escape(n) for n in names)
    return re.findall(rf">({pattern})</a>", page)


def _affiliate(in_app, actor, person, organisation, *, start_on=None, end_on=None):
    with in_app():
        stakeholders.add_affiliation(
            db.session.get(Person, person.id),
            organisation_id=organisation.id,
            title=None,
            start_on=start_on,
            end_on=end_on,
            actor=db.session.get(User, actor.id),
        )


# ---------------------------------------------------------------------------------------------
# Creating
# ---------------------------------------------------------------------------------------------


def test_member_can_create_a_person_with_a_chinese_name(login_as, in_app):
    client = login_as("member")
    response = client.post("/people/new", data=_form())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Wang Fang" in page and "王芳" in page
    # The pinyin "wang fang" says nothing the name "Wang Fang" does not: the page leaves it out.
    assert 'data-testid="pinyin"' not in page
    assert "wang.fang@example.cn" in page and "OSH" in page and "培训" in page
    with in_app():
        person = db.session.scalar(db.select(Person))
        # Chinese names read family name first, also in Latin letters.
        assert person.display_name == "Wang Fang"
        assert (person.name_pinyin, person.name_initials) == ("wang fang", "wf")
        assert person.sort_name == "wang fang"
        assert (person.gender, person.consent_on) == ("female", date(2025, 3, 1))
        assert person.created_by_id == client.user.id
        event = db.session.scalar(db.select(AuditEvent))
        assert event.action == "create" and event.entity_type == "people"
        assert event.changes["chinese_name"] == [None, "王芳"]


def test_a_chinese_name_alone_is_enough(login_as, in_app):
    client = login_as("member")
    data = _form(family_name="", given_name="", chinese_name="欧阳娜娜")
    response = client.post("/people/new", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert "“欧阳娜娜” created." in response.get_data(as_text=True)
    with in_app():
        person = db.session.scalar(db.select(Person))
        assert person.display_name == "欧阳娜娜"
        assert (person.name_pinyin, person.name_initials) == ("ou yang na na", "oynn")
        # Sorted by pinyin, not by the characters' code points.
        assert person.sort_name == "欧阳娜娜"


def test_names_without_a_chinese_name_read_given_name_first(login_as, in_app):
    response = login_as("member").post(
        "/people/new", data=_form(family_name="Smith", given_name="Anna", chinese_name="")
    )
    assert response.status_code == 302
    with in_app():
        person = db.session.scalar(db.select(Person))
        assert person.display_name == "Anna Smith"
        assert person.name_pinyin is None and person.name_initials is None


def test_member_cannot_create_a_person_without_any_name(login_as, in_app):
    response = login_as("member").post(
        "/people/new", data=_form(family_name="", given_name=" ", chinese_name="")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Give a family name, a given name or a Chinese name." in page
    # The error sits on the family name field, and what was typed is kept.
    assert re.search(
        r'id="family_name"[^>]*class="[^"]*is-invalid|class="[^"]*is-invalid[^"]*"[^>]*id="family_name"',
        page,
    )
    assert 'value="wang.fang@example.cn"' in page and 'value="HR manager"' in page
    with in_app():
        assert _count_people() == 0


@pytest.mark.parametrize(
    ("over", "message", "kept"),
    [
        (
            {"email": "wang.fang@@example"},
            "Enter an email address such as name@example.cn",
            'value="wang.fang@@example"',
        ),
        (
            {"phone": "call me maybe"},
            "Use digits, spaces, brackets and dashes, with an optional leading +.",
            'value="call me maybe"',
        ),
        (
            {"family_name": "王" * 81},
            "Field cannot be longer than 80 characters.",
            f'value="{"王" * 81}"',
        ),
        (
            {"job_title": "x" * 121},
            "Field cannot be longer than 120 characters.",
            f'value="{"x" * 121}"',
        ),
        (
            {"wechat_id": "w" * 61},
            "Field cannot be longer than 60 characters.",
            f'value="{"w" * 61}"',
        ),
        ({"gender": "robot"}, "Not a valid choice.", 'value="wang.fang@example.cn"'),
        ({"consent": "maybe"}, "Not a valid choice.", 'value="王芳"'),
        ({"preferred_language": "fr"}, "Not a valid choice.", 'value="王芳"'),
        ({"consent_on": "2999-01-01"}, "This date is in the future.", 'value="王芳"'),
        ({"consent_on": "yesterday"}, "Give a real date, such as 2026-03-31.", 'value="王芳"'),
        ({"influence": "0"}, "Number must be between 1 and 5.", 'value="王芳"'),
        ({"tags": "ok, " + "t" * 61}, "A tag may have at most 60 characters.", 'value="王芳"'),
    ],
)
def test_bad_input_is_rejected_and_keeps_typed_values(login_as, in_app, over, message, kept):
    response = login_as("member").post("/people/new", data=_form(**over))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert kept in page
    with in_app():
        assert _count_people() == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 0


def test_an_unknown_owner_is_rejected(login_as, in_app):
    response = login_as("member").post("/people/new", data=_form(owner_id="999999"))
    assert response.status_code == 400
    assert "Not a valid choice." in response.get_data(as_text=True)
    with in_app():
        assert _count_people() == 0


def test_viewer_cannot_create_a_person(login_as, in_app):
    client = login_as("viewer")
    assert client.get("/people/new").status_code == 403
    assert client.post("/people/new", data=_form()).status_code == 403
    with in_app():
        assert _count_people() == 0


# ---------------------------------------------------------------------------------------------
# Editing and deleting
# ---------------------------------------------------------------------------------------------


def test_member_can_edit_a_person(login_as, make_person, in_app):
    wang = make_person(chinese_name="王芳", job_title="HR manager")
    client = login_as("member")
    page = client.get(f"/people/{wang.id}/edit").get_data(as_text=True)
    assert 'value="王芳"' in page and 'name="version" type="hidden" value="1"' in page
    response = client.post(
        f"/people/{wang.id}/edit",
        data=_form(version="1", chinese_name="王小芳", job_title="CSR director"),
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/people/{wang.id}"
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "CSR director" in page and "wang xiao fang" in page
    with in_app():
        person = db.session.get(Person, wang.id)
        assert (person.version, person.name_initials) == (2, "wxf")
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "update"))
        assert event.changes["job_title"] == ["HR manager", "CSR director"]


def test_edit_over_a_newer_version_shows_a_conflict_and_saves_nothing(
    login_as, make_person, in_app
):
    wang = make_person(chinese_name="王芳", job_title="HR manager")
    first, second = login_as("member"), login_as("coordinator")
    saved = first.post(f"/people/{wang.id}/edit", data=_form(version="1", job_title="CSR lead"))
    assert saved.status_code == 302
    response = second.post(
        f"/people/{wang.id}/edit", data=_form(version="1", job_title="Factory director")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'data-testid="conflict"' in page
    assert "Factory director" in page and "CSR lead" in page
    # The form is offered again on top of the current version.
    assert 'name="version" type="hidden" value="2"' in page
    with in_app():
        person = db.session.get(Person, wang.id)
        assert (person.job_title, person.version) == ("CSR lead", 2)
        updates = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "update")
        ).all()
        assert len(updates) == 1


def test_editing_a_person_in_the_trash_is_404(login_as, make_person, in_app, actor):
    wang = make_person()
    with in_app():
        stakeholders.delete(db.session.get(Person, wang.id), actor=db.session.get(User, actor.id))
    client = login_as("member")
    assert client.get(f"/people/{wang.id}/edit").status_code == 404
    assert client.post(f"/people/{wang.id}/edit", data=_form(version="1")).status_code == 404


def test_coordinator_can_move_a_person_to_the_trash(login_as, make_person, in_app):
    wang = make_person(chinese_name="王芳")
    make_person(family_name="Li", given_name="Lei", chinese_name="李雷")
    client = login_as("coordinator")
    assert "Move “Wang Fang” to the trash?" in client.get(f"/people/{wang.id}/delete").get_data(
        as_text=True
    )
    response = client.post(f"/people/{wang.id}/delete", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "“Wang Fang” moved to the trash." in page
    listing = client.get("/people").get_data(as_text=True)
    assert "Li Lei" in listing and "Wang Fang" not in listing
    assert "Wang Fang" not in client.get("/people?q=王芳").get_data(as_text=True)
    assert client.get(f"/people/{wang.id}").status_code == 404
    with in_app():
        assert db.session.get(Person, wang.id).deleted_at is not None


def test_member_cannot_delete_a_person(login_as, make_person, in_app):
    wang = make_person()
    client = login_as("member")
    assert client.get(f"/people/{wang.id}/delete").status_code == 403
    assert client.post(f"/people/{wang.id}/delete").status_code == 403
    with in_app():
        assert db.session.get(Person, wang.id).deleted_at is None


def test_unknown_person_is_404(login_as):
    client = login_as("coordinator")
    for url in ("/people/999999", "/people/999999/edit", "/people/999999/delete"):
        assert client.get(url).status_code == 404


def test_an_organisation_id_is_not_a_person(login_as, make_organisation):
    org = make_organisation()
    assert login_as("viewer").get(f"/people/{org.id}").status_code == 404


# ---------------------------------------------------------------------------------------------
# The list: filters, sorting, search
# ---------------------------------------------------------------------------------------------


def test_organisation_filter_shows_current_staff_only(
    login_as, make_person, make_organisation, in_app, actor
):
    alpha = make_organisation(display_name="Alpha Textiles")
    beta = make_organisation(display_name="Beta Electronics")
    now = make_person(family_name="Zhang", given_name="Wei")
    former = make_person(family_name="Liu", given_name="Yang")
    elsewhere = make_person(family_name="Chen", given_name="Jing")
    _affiliate(in_app, actor, now, alpha, start_on=date(2022, 1, 1))
    _affiliate(in_app, actor, former, alpha, start_on=date(2019, 1, 1), end_on=date(2021, 6, 30))
    _affiliate(in_app, actor, former, beta, start_on=date(2021, 7, 1))
    _affiliate(in_app, actor, elsewhere, beta)
    client = login_as("viewer")
    page = client.get(f"/people?organisation={alpha.id}").get_data(as_text=True)
    assert _names(page, "Zhang Wei", "Liu Yang", "Chen Jing") == ["Zhang Wei"]
    page = client.get(f"/people?organisation={beta.id}").get_data(as_text=True)
    assert _names(page, "Zhang Wei", "Liu Yang", "Chen Jing") == ["Chen Jing", "Liu Yang"]
    # The organisation column shows the current employer only.
    page = client.get("/people").get_data(as_text=True)
    row = page[page.index(">Liu Yang</a>") :].split("</tr>")[0]
    assert "Beta Electronics" in row and "Alpha Textiles" not in row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("gender=female", ["Li Mei", "Wang Fang"]),
        ("gender=male", ["Zhang Wei"]),
        ("tag=OSH", ["Wang Fang", "Zhang Wei"]),
        ("tag=培训", ["Li Mei"]),
        ("level=champion", ["Zhang Wei"]),
        ("level=aware", []),
        ("gender=female&tag=OSH", ["Wang Fang"]),
    ],
)
def test_list_filters(login_as, make_person, query, expected):
    make_person(family_name="Wang", given_name="Fang", gender="female", tags=["OSH"])
    make_person(family_name="Li", given_name="Mei", gender="female", tags=["培训"])
    make_person(
        family_name="Zhang",
        given_name="Wei",
        gender="male",
        tags=["OSH"],
        engagement_level="champion",
    )
    page = login_as("viewer").get(f"/people?{query}").get_data(as_text=True)
    assert _names(page, "Wang Fang", "Li Mei", "Zhang Wei") == expected
    if not expected:
        assert "Nobody matches these filters." in page


def test_owner_filter(login_as, make_person, make_user):
    owner = make_user("member", name="Zhou Owner")
    make_person(family_name="Wang", given_name="Fang", owner_id=owner.id)
    make_person(family_name="Li", given_name="Mei")
    client = login_as("viewer")
    page = client.get(f"/people?owner={owner.id}").get_data(as_text=True)
    assert _names(page, "Wang Fang", "Li Mei") == ["Wang Fang"]
    assert "Zhou Owner" in page


def test_list_sorts_by_name_and_other_columns(login_as, make_person):
    make_person(family_name="Wang", given_name="Fang", email="c@example.org", job_title="B")
    make_person(family_name="Li", given_name="Mei", email="a@example.org", job_title="C")
    make_person(family_name="Zhang", given_name="Wei", email=None, job_title="A")
    client = login_as("viewer")
    names = ("Li Mei", "Wang Fang", "Zhang Wei")
    assert _names(client.get("/people").get_data(as_text=True), *names) == list(names)
    page = client.get("/people?sort=name&dir=desc").get_data(as_text=True)
    assert _names(page, *names) == ["Zhang Wei", "Wang Fang", "Li Mei"]
    page = client.get("/people?sort=email").get_data(as_text=True)
    # People without an email come last in either direction.
    assert _names(page, *names) == ["Li Mei", "Wang Fang", "Zhang Wei"]
    page = client.get("/people?sort=email&dir=desc").get_data(as_text=True)
    assert _names(page, *names) == ["Wang Fang", "Li Mei", "Zhang Wei"]
    page = client.get("/people?sort=title").get_data(as_text=True)
    assert _names(page, *names) == ["Zhang Wei", "Wang Fang", "Li Mei"]


def test_chinese_names_sort_by_pinyin(login_as, make_person):
    make_person(family_name="", given_name="", chinese_name="赵敏")  # zhao
    make_person(family_name="", given_name="", chinese_name="安娜")  # an
    make_person(family_name="", given_name="", chinese_name="孟飞")  # meng
    page = login_as("viewer").get("/people?sort=chinese").get_data(as_text=True)
    assert _names(page, "赵敏", "安娜", "孟飞") == ["安娜", "孟飞", "赵敏"]


@pytest.mark.parametrize(
    "q",
    [
        "王芳",
        "王",
        "wang fang",
        "wangfang",
        "WangFang",
        "wf",
        "wang.fang@",
        "WANG.FANG@EXAMPLE.CN",
        "138 0013",
        "+86 138 0013 8000",
        "wangfang_sz",
    ],
)
def test_search_finds_a_person_by_name_pinyin_initials_email_or_phone(login_as, make_person, q):
    make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        email="wang.fang@example.cn",
        phone="+86 138 0013 8000",
        wechat_id="wangfang_sz",
    )
    make_person(
        family_name="Li",
        given_name="Mei",
        chinese_name="李梅",
        email="li.mei@example.cn",
        phone="+86 139 2222 3333",
    )
    page = login_as("viewer").get("/people", query_string={"q": q}).get_data(as_text=True)
    assert _names(page, "Wang Fang", "Li Mei") == ["Wang Fang"]


@pytest.mark.parametrize("q", ["13800138000", "138-0013-8000", "8613800138000"])
def test_search_finds_a_phone_number_however_it_is_punctuated(login_as, make_person, q):
    make_person(family_name="Wang", given_name="Fang", phone="+86 138 0013 8000")
    make_person(family_name="Li", given_name="Mei", phone="+86 139 2222 3333")
    page = login_as("viewer").get("/people", query_string={"q": q}).get_data(as_text=True)
    assert _names(page, "Wang Fang", "Li Mei") == ["Wang Fang"]


@pytest.mark.parametrize("q", ["%", "_", "\\", "'; drop table people; --", "x" * 500])
def test_search_treats_wildcards_and_quotes_as_text(login_as, make_person, q):
    make_person(family_name="Wang", given_name="Fang")
    response = login_as("viewer").get("/people", query_string={"q": q})
    assert response.status_code == 200
    assert "Nobody matches these filters." in response.get_data(as_text=True)


def test_unknown_filter_values_are_ignored(login_as, make_person):
    make_person(family_name="Wang", given_name="Fang")
    response = login_as("viewer").get(
        "/people?gender=robot&level=x&organisation=abc&owner=-1&sort=evil;drop&page=zz&per_page=7"
    )
    assert response.status_code == 200
    assert "Wang Fang" in response.get_data(as_text=True)


def test_positions_in_the_trash_do_not_count(
    login_as, make_person, make_organisation, in_app, actor
):
    alpha = make_organisation(display_name="Alpha Textiles")
    wang = make_person(family_name="Wang", given_name="Fang")
    _affiliate(in_app, actor, wang, alpha)
    with in_app():
        affiliation = db.session.scalar(db.select(Affiliation))
        affiliation.deleted_at = affiliation.created_at
        db.session.commit()
    page = login_as("viewer").get(f"/people?organisation={alpha.id}").get_data(as_text=True)
    assert "Nobody matches these filters." in page


def test_a_trashed_employer_is_not_shown_in_the_list(
    login_as, make_person, make_organisation, in_app, actor
):
    alpha = make_organisation(display_name="Alpha Textiles")
    beta = make_organisation(display_name="Beta Electronics")
    wang = make_person(family_name="Wang", given_name="Fang")
    _affiliate(in_app, actor, wang, alpha)
    _affiliate(in_app, actor, wang, beta)
    with in_app():
        stakeholders.delete(
            db.session.get(Organisation, alpha.id), actor=db.session.get(User, actor.id)
        )
    client = login_as("viewer")
    page = client.get("/people").get_data(as_text=True)
    assert "Beta Electronics" in page and "Alpha Textiles" not in page
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    before_history = page.split('id="timeline"')[0]
    assert "Beta Electronics" in before_history and "Alpha Textiles" not in before_history


def test_last_contact_ignores_interactions_in_the_trash(login_as, make_person, in_app):
    client = login_as("coordinator")
    wang = make_person(family_name="Wang", given_name="Fang")
    li = make_person(family_name="Li", given_name="Na")
    logged = {}
    with in_app():
        me = db.session.get(User, client.user.id)
        for person, day in ((wang, 1), (wang, 20), (li, 10)):
            logged[day] = interactions.log_interaction(
                {
                    "occurred_at": datetime(2026, 3, day, 2, tzinfo=UTC),
                    "channel": "call",
                    "subject": f"Call {day}",
                    "stakeholder_ids": [person.id],
                },
                actor=me,
            ).id
    # The latest call, with Wang Fang, goes to the trash.
    assert client.post(f"/interactions/{logged[20]}/delete").status_code == 302
    page = client.get("/people?sort=last_contact&dir=desc").get_data(as_text=True)
    assert _names(page, "Wang Fang", "Li Na") == ["Li Na", "Wang Fang"]
    rows = dict(re.findall(r">(Wang Fang|Li Na)</a>(.*?)</tr>", page, flags=re.S))
    assert "1 Mar 2026" in rows["Wang Fang"] and "10 Mar 2026" in rows["Li Na"]
