"""One matcher: the entry form, the import preview, participant quick-create and /duplicates
give the same verdict on the same pair of records.

Each case is an existing record and the values of a new one. Every door is asked whether the
new one looks like the existing one; they must all agree, and agree with the expected verdict.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from crm.extensions import db
from crm.models import Organisation, Person, User
from crm.services import activities, imports

PERSON_CASES = [
    # (id, existing, new, same?)
    (
        "swapped family and given names",
        {"family_name": "Wang", "given_name": "Fang"},
        {"family_name": "Fang", "given_name": "Wang"},
        True,
    ),
    (
        "characters and pinyin with swapped names",
        {"chinese_name": "王芳", "family_name": "Wang", "given_name": "Fang"},
        {"family_name": "Fang", "given_name": "Wang"},
        True,
    ),
    (
        "characters against pinyin",
        {"chinese_name": "欧阳娜娜"},
        {"family_name": "Nana", "given_name": "Ouyang"},
        True,
    ),
    (
        "email in another case",
        {"family_name": "Li", "given_name": "Na", "email": "li.na@example.cn"},
        {"family_name": "Zhou", "given_name": "Min", "email": "LI.NA@Example.CN"},
        True,
    ),
    (
        "one mobile written three ways",
        {"family_name": "Li", "given_name": "Na", "phone": "138 1234 5678"},
        {"family_name": "Zhou", "given_name": "Min", "phone": "+86 138-1234-5678"},
        True,
    ),
    (
        "WeChat ID in another case",
        {"family_name": "Li", "given_name": "Na", "wechat_id": "LiNa_1990"},
        {"family_name": "Zhou", "given_name": "Min", "wechat_id": "lina_1990"},
        True,
    ),
    (
        "different people",
        {"family_name": "Zhang", "given_name": "Wei", "email": "zw@example.cn"},
        {"family_name": "Zhang", "given_name": "Min", "email": "zm@example.cn"},
        False,
    ),
]

ORGANISATION_CASES = [
    (
        "group and holding words",
        {"display_name": "申洲国际"},
        {"display_name": "申洲国际集团控股有限公司"},
        True,
    ),
    (
        "legal suffixes in English",
        {"display_name": "Harmony Garments Co., Ltd."},
        {"display_name": "Harmony Garments Group Holdings Limited"},
        True,
    ),
    (
        "Chinese name against the English record's Chinese name",
        {"display_name": "Shenzhou International", "chinese_name": "申洲国际集团"},
        {"display_name": "申洲国际集团控股有限公司"},
        True,
    ),
    (
        "different enterprises",
        {"display_name": "Harmony Garments"},
        {"display_name": "Harmony Electronics"},
        False,
    ),
]


def _ids(cases):
    return [case[0] for case in cases]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _preview_matches(in_app, kind: str, header: list[str], row: list[str]) -> set[int]:
    with in_app():
        table = imports.read_table(_csv([header, row]), "file.csv")
        preview = imports.prepare(imports.locate_header(table, kind), kind)
        (result,) = preview.rows
        return {m.id for m in result.matches if m.id is not None}


def _warns_about(page, record_id: int) -> bool:
    """The entry form answered with its duplicate warning, naming the record."""
    html = page.get_data(as_text=True)
    if page.status_code != 200 or 'data-testid="duplicate-candidates"' not in html:
        return False
    warning = html.split('data-testid="duplicate-candidates"', 1)[1].split("</div>", 1)[0]
    return re.search(rf"/(people|organisations)/{record_id}\b", warning) is not None


def _in_duplicates_list(client, kind: str, first: int, second: int) -> bool:
    page = client.get(f"/duplicates?kind={kind}").get_data(as_text=True)
    pairs = set(re.findall(r"first=(\d+)&amp;second=(\d+)", page))
    return (str(first), str(second)) in pairs or (str(second), str(first)) in pairs


def _person_row(values: dict[str, str]) -> tuple[list[str], list[str]]:
    columns = {
        "family_name": "Family name",
        "given_name": "Given name",
        "chinese_name": "Chinese name",
        "email": "Email",
        "phone": "Phone",
        "wechat_id": "WeChat",
    }
    names = [key for key in columns if key in values]
    return [columns[k] for k in names], [values[k] for k in names]


def _person_form(new: dict[str, str]) -> dict[str, str]:
    return (
        {"version": "0", "gender": "undisclosed", "influence": "3", "interest": "3"}
        | new
        | {"engagement_level": "aware"}
    )


def _organisation_form(new: dict[str, str]) -> dict[str, str]:
    form = {"version": "0", "org_type": "enterprise", "sector": "textile", "influence": "3"}
    return form | {"interest": "3", "engagement_level": "aware"} | new


def _entry_form(client, in_app, kind, record, new) -> bool:
    """The entry form warns before creating (and creates nothing then)."""
    url, form = (
        ("/people/new", _person_form(new))
        if kind == "person"
        else ("/organisations/new", _organisation_form(new))
    )
    page = client.post(url, data=form)
    assert page.status_code in (200, 302), page.get_data(as_text=True)
    return _warns_about(page, record.id)


def _import_preview(client, in_app, kind, record, new) -> bool:
    """The import preview offers the record as a match for the row."""
    if kind == "person":
        header, row = _person_row(new)
        return record.id in _preview_matches(in_app, "people", header, row)
    return record.id in _preview_matches(in_app, "organisations", ["Name"], [new["display_name"]])


def _quick_create(client, in_app, kind, record, new) -> bool:
    """Participant quick-create refuses without "Create anyway"."""
    with in_app():
        admin = db.session.query(User).filter_by(role="admin").first()
        activity = activities.create(
            {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activity_id = activity.id
    data = {f"new-{k}": v for k, v in new.items()}
    data |= {"new-gender": "undisclosed", "new-status": "invited", "new-role": "participant"}
    response = client.post(f"/activities/{activity_id}/participants/new", data=data)
    assert response.status_code in (302, 400), response.get_data(as_text=True)
    return "may already be recorded" in response.get_data(as_text=True)


def _duplicates_page(client, in_app, kind, record, new) -> bool:
    """/duplicates pairs the two once both exist (created with "Create anyway")."""
    url, form = (
        ("/people/new", _person_form(new))
        if kind == "person"
        else ("/organisations/new", _organisation_form(new))
    )
    created = client.post(url, data=form | {"create_anyway": "1"})
    assert created.status_code == 302, created.get_data(as_text=True)
    new_id = int(created.headers["Location"].rsplit("/", 1)[1])
    return _in_duplicates_list(client, kind, record.id, new_id)


DOORS = {
    "entry form": _entry_form,
    "import preview": _import_preview,
    "participant quick-create": _quick_create,
    "/duplicates": _duplicates_page,
}


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize(("case", "existing", "new", "same"), PERSON_CASES, ids=_ids(PERSON_CASES))
def test_every_door_gives_the_same_verdict_on_two_people(
    door, case, existing, new, same, login_as, make_person, in_app
):
    record = make_person(**existing)
    client = login_as("coordinator")
    assert DOORS[door](client, in_app, "person", record, new) is same


@pytest.mark.parametrize("door", ["entry form", "import preview", "/duplicates"])
@pytest.mark.parametrize(
    ("case", "existing", "new", "same"), ORGANISATION_CASES, ids=_ids(ORGANISATION_CASES)
)
def test_every_door_gives_the_same_verdict_on_two_organisations(
    door, case, existing, new, same, login_as, make_organisation, in_app
):
    record = make_organisation(**existing)
    client = login_as("coordinator")
    assert DOORS[door](client, in_app, "organisation", record, new) is same


def test_the_same_name_at_another_employer_is_another_person_at_every_door(
    login_as, make_person, make_organisation, in_app
):
    """The name rule: 王芳 at one factory is not 王芳 at another (import preview, participant
    quick-create and /duplicates all know the employer; the entry form names none)."""
    from crm.services import stakeholders

    harmony = make_organisation(display_name="Harmony Garments")
    bright = make_organisation(display_name="Bright Electronics")
    existing = make_person(chinese_name="王芳")
    client = login_as("coordinator")
    with in_app():
        admin = db.session.query(User).filter_by(role="admin").first()
        person = db.session.get(Person, existing.id)
        stakeholders.add_affiliation(
            person,
            organisation_id=harmony.id,
            title=None,
            start_on=None,
            end_on=None,
            actor=admin,
        )
        activity = activities.create(
            {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activity_id = activity.id
        assert db.session.get(Organisation, bright.id) is not None

    at_bright = _preview_matches(in_app, "people", ["姓名", "单位"], ["王芳", "Bright Electronics"])
    at_harmony = _preview_matches(in_app, "people", ["姓名", "单位"], ["王芳", "Harmony Garments"])
    assert (existing.id in at_bright, existing.id in at_harmony) == (False, True)

    data = {
        "new-chinese_name": "王芳",
        "new-gender": "undisclosed",
        "new-status": "invited",
        "new-role": "participant",
        "new-organisation_id": str(bright.id),
    }
    response = client.post(f"/activities/{activity_id}/participants/new", data=data)
    assert response.status_code == 302  # not taken for the 王芳 of Harmony Garments
    with in_app():
        newcomer = db.session.scalars(db.select(Person).where(Person.id != existing.id)).one()
        newcomer_id = newcomer.id
    assert not _in_duplicates_list(client, "person", existing.id, newcomer_id)

    data["new-organisation_id"] = str(harmony.id)
    response = client.post(f"/activities/{activity_id}/participants/new", data=data)
    assert response.status_code == 400
    assert "may already be recorded" in response.get_data(as_text=True)
