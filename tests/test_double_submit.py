"""Issue 16, item 5: a new-record form sent twice makes one record and lands on it.

A double click on Save (or Back, then Save) posts the same form twice. The first post creates
the record; the second must land on that record, never on a "may already be in the database"
page listing the record it just made (which invites a third). Each form carries a token of
when its user opened it (crm.blueprints.submissions); the tests post the page's own form, as
a browser does.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import Organisation, Person
from tests.markup import form_values, parse

WARNING = "This may already be in the database"


def _new_form(client, url: str, **values: str) -> dict[str, list[str]]:
    """The new-record form of `url` as the page offers it, filled with `values`."""
    page = client.get(url)
    assert page.status_code == 200
    form = parse(page.get_data(as_text=True)).find(
        lambda t: t.name == "form" and t.find(lambda i: i.attrs.get("name") == "form_token")
    )
    assert form is not None, "the new-record form carries no form token"
    data: dict[str, list[str]] = {}
    for name, value in form_values(form):
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in values.items()})
    return data


def _count(model, **where) -> int:
    stmt = sa.select(sa.func.count()).select_from(model).filter_by(**where)
    return db.session.scalar(stmt)


def _lands_on_record(client, response, path: str) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert re.fullmatch(rf"{path}/\d+", response.headers["Location"])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert WARNING not in page
    return response.headers["Location"]


def test_member_can_send_a_new_organisation_form_twice_and_gets_one_record(login_as, in_app):
    client = login_as(Role.member)
    form = _new_form(
        client,
        "/organisations/new",
        display_name="Ningbo Knitwear Co., Ltd.",
        chinese_name="宁波针织有限公司",
        org_type="enterprise",
        sector="textile",
        tags="brand supplier, OSH",
    )
    first = _lands_on_record(client, client.post("/organisations/new", data=form), "/organisations")
    second = client.post("/organisations/new", data=form)  # the second click
    assert _lands_on_record(client, second, "/organisations") == first
    with in_app():
        assert _count(Organisation, display_name="Ningbo Knitwear Co., Ltd.") == 1


def test_member_can_send_a_new_person_form_twice_and_gets_one_record(login_as, in_app):
    client = login_as(Role.member)
    form = _new_form(
        client,
        "/people/new",
        family_name="Zhou",
        given_name="Xiaohong",
        chinese_name="周小红",
        email="Zhou.XH@Example.cn",  # stored in lower case: still the same values
        phone="+86 138 0013 8000",
    )
    first = _lands_on_record(client, client.post("/people/new", data=form), "/people")
    second = client.post("/people/new", data=form)
    assert _lands_on_record(client, second, "/people") == first
    with in_app():
        assert _count(Person, chinese_name="周小红") == 1


def test_a_double_click_on_create_anyway_makes_one_more_record(login_as, make_organisation, in_app):
    make_organisation(display_name="Ningbo Knitwear Co., Ltd.")  # someone else's, earlier
    client = login_as(Role.member)
    form = _new_form(
        client, "/organisations/new", display_name="Ningbo Knitwear Co., Ltd.", city="Ningbo"
    )
    warned = client.post("/organisations/new", data=form)
    assert WARNING in warned.get_data(as_text=True)  # a real duplicate is still flagged
    anyway = {**form, "create_anyway": ["1"]}
    first = _lands_on_record(
        client, client.post("/organisations/new", data=anyway), "/organisations"
    )
    second = client.post("/organisations/new", data=anyway)
    assert _lands_on_record(client, second, "/organisations") == first
    with in_app():
        assert _count(Organisation, display_name="Ningbo Knitwear Co., Ltd.") == 2


def test_a_new_form_with_the_same_values_is_still_warned_about(login_as, in_app):
    """The token ties a post to its form: the same values typed into a form opened later are
    a likely duplicate, shown as such."""
    client = login_as(Role.member)
    values = {"display_name": "Wuxi Cable Works", "org_type": "enterprise"}
    first = client.post(
        "/organisations/new", data=_new_form(client, "/organisations/new", **values)
    )
    _lands_on_record(client, first, "/organisations")
    again = client.post(
        "/organisations/new", data=_new_form(client, "/organisations/new", **values)
    )
    assert again.status_code == 200 and WARNING in again.get_data(as_text=True)
    with in_app():
        assert _count(Organisation, display_name="Wuxi Cable Works") == 1


def test_the_same_form_sent_again_with_other_values_is_not_taken_for_the_first(login_as, in_app):
    client = login_as(Role.member)
    form = _new_form(client, "/organisations/new", display_name="Wuxi Cable Works")
    _lands_on_record(client, client.post("/organisations/new", data=form), "/organisations")
    changed = {**form, "display_name": ["Changzhou Wire Co."]}
    _lands_on_record(client, client.post("/organisations/new", data=changed), "/organisations")
    with in_app():
        assert _count(Organisation) == 2


@pytest.mark.parametrize("token", ["", "garbage", "x" * 5000, "eyJ1c2VyIjoxfQ.bad.sig"])
def test_a_missing_or_forged_token_is_ignored_never_an_error(login_as, in_app, token):
    client = login_as(Role.member)
    form = _new_form(client, "/organisations/new", display_name="Hefei Textiles")
    _lands_on_record(client, client.post("/organisations/new", data=form), "/organisations")
    forged = {**form, "form_token": [token]}
    response = client.post("/organisations/new", data=forged)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and WARNING in page  # no token: warned, as before
    assert 'name="display_name"' in page and "Hefei Textiles" in page  # what was typed stays
    with in_app():
        assert _count(Organisation, display_name="Hefei Textiles") == 1


def test_another_users_token_does_not_open_their_record(login_as, in_app):
    first_user, second_user = login_as(Role.member), login_as(Role.member)
    form = _new_form(first_user, "/organisations/new", display_name="Hefei Textiles")
    _lands_on_record(first_user, first_user.post("/organisations/new", data=form), "/organisations")
    response = second_user.post("/organisations/new", data=form)
    assert response.status_code == 200 and WARNING in response.get_data(as_text=True)
    with in_app():
        assert _count(Organisation, display_name="Hefei Textiles") == 1
