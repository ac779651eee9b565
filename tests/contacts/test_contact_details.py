"""One rule for phone numbers and email addresses (crm.services.contact_details): the person
form, the import's cell parsers, duplicate keys, search, vCards and the migration that
re-derived the stored keys all read a number or an address the same way."""

from __future__ import annotations

import re

import flask_migrate
import pytest
import sqlalchemy as sa
import vobject
from alembic.script import ScriptDirectory
from flask import current_app

from crm.access import Role
from crm.extensions import db
from crm.models import Person, User
from crm.services import contact_details, stakeholders
from crm.services.contact_details import InvalidContact
from crm.services.errors import InvalidInput

MIGRATION = "832b3b8243b8"  # migrations/versions/20261202_832b3b8243b8_phone_keys_in_e164.py
SAME_MOBILE = ["138 1234 5678", "+86 138-1234-5678", "0086 13812345678"]


def _form(**over: str) -> dict[str, str]:
    data = {
        "version": "0",
        "family_name": "Wang",
        "given_name": "Fang",
        "gender": "female",
        "consent": "unknown",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "3",
    }
    data.update(over)
    return data


def _person(phone: str | None = None, email: str | None = None) -> Person | None:
    column, value = (Person.phone, phone) if phone is not None else (Person.email, email)
    return db.session.scalar(sa.select(Person).where(column == value))


# ---------------------------------------------------------------------------------------------
# Phones: what is accepted, and what is stored
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "e164", "is_mobile"),
    [
        ("138 1234 5678", "138 1234 5678", "+8613812345678", True),
        ("+86 138-1234-5678", "+86 138-1234-5678", "+8613812345678", True),
        ("0086 13812345678", "0086 13812345678", "+8613812345678", True),
        ("86 138 1234 5678", "86 138 1234 5678", "+8613812345678", True),
        ("  (010) 6512-3456 ", "(010) 6512-3456", "+861065123456", False),
        ("+49 30 1234567", "+49 30 1234567", "+49301234567", False),
        ("１３８ １２３４ ５６７８", "138 1234 5678", "+8613812345678", True),  # full-width IME
        ("tel:+86-186-0000-1111", "+86-186-0000-1111", "+8618600001111", True),
        # Accepted as the form always did, but not placeable: no E.164 form, so no key.
        ("6512 3456", "6512 3456", None, False),
        ("12345", "12345", None, False),
    ],
)
def test_a_phone_is_kept_as_typed_next_to_its_e164_form(typed, stored, e164, is_mobile):
    phone = contact_details.parse_phone(typed)
    assert (phone.typed, phone.e164, phone.is_mobile) == (stored, e164, is_mobile)
    assert contact_details.phone_key(typed) == e164
    assert contact_details.phone_cell(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message", "cell_message"),
    [
        (
            "call me maybe",
            "Use digits, spaces, brackets and dashes, with an optional leading +.",
            "“call me maybe” is not a phone number (digits, spaces, brackets and dashes, "
            "with an optional leading +).",
        ),
        (
            "138 0013 8000 ext. 5",  # extensions go in the notes
            "Use digits, spaces, brackets and dashes, with an optional leading +.",
            "“138 0013 8000 ext. 5” is not a phone number (digits, spaces, brackets and dashes, "
            "with an optional leading +).",
        ),
        ("12 34", "Enter a phone number such as", "“12 34” is not a phone number."),
        ("(  )--", "Enter a phone number such as", "“(  )--” is not a phone number."),
        ("+999 1234 5678", "Enter a phone number such as", "“+999 1234 5678” is not a phone"),
        ("1234 5678 9012 3456 789", "Enter a phone number such as", "is not a phone number."),
    ],
)
def test_text_that_is_not_a_phone_number_is_refused_with_a_message(
    app, typed, message, cell_message
):
    with app.test_request_context():
        with pytest.raises(InvalidContact) as caught:
            contact_details.parse_phone(typed)
        assert message in str(caught.value)
        assert isinstance(caught.value, InvalidInput) and isinstance(caught.value, ValueError)
        with pytest.raises(InvalidContact) as caught:
            contact_details.phone_cell(typed)
        assert cell_message in str(caught.value)
    assert contact_details.phone_key(typed) is None


def test_the_import_cell_drops_the_spreadsheet_text_marker():
    assert contact_details.phone_cell("'13812345678") == "13812345678"


def test_phone_keys_of_blank_or_stored_odd_text_are_none():
    assert contact_details.phone_key(None) is None
    assert contact_details.phone_key("") is None
    assert contact_details.phone_key("138 0013 8000 ext. 5") is None


def test_the_form_stores_what_was_typed_and_the_e164_key(login_as, in_app):
    response = login_as("member").post("/people/new", data=_form(phone="１３８ １２３４ ５６７８"))
    assert response.status_code == 302
    with in_app():
        person = _person(phone="138 1234 5678")
        assert person is not None and person.phone_key == "+8613812345678"


def test_a_phone_the_form_refuses_shows_its_message_at_the_field_and_keeps_the_text(
    login_as, in_app
):
    response = login_as("member").post("/people/new", data=_form(phone="12 34"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    field = re.search(
        r'<input[^>]*name="phone"[^>]*>\s*<div class="invalid-feedback[^"]*">([^<]*)', page
    )
    assert field is not None, page
    assert 'value="12 34"' in field.group(0) and "is-invalid" in field.group(0)
    assert field.group(1).strip() == (
        "Enter a phone number such as 138 0013 8000, 010 6512 3456 or +49 30 1234567."
    )
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


# ---------------------------------------------------------------------------------------------
# Duplicates: one number however it was typed
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", SAME_MOBILE)
def test_the_entry_form_warns_of_the_same_number_typed_another_way(login_as, in_app, first):
    client = login_as("member")
    assert client.post("/people/new", data=_form(phone=first)).status_code == 302
    for other in SAME_MOBILE:
        if other == first:
            continue
        data = _form(family_name="Li", given_name="Na", phone=other)
        page = client.post("/people/new", data=data).get_data(as_text=True)
        assert "This may already be in the database" in page and "same phone" in page
        assert f'value="{other}"' in page  # what the user typed is kept
        assert client.post("/people/new", data={**data, "create_anyway": "1"}).status_code == 302
    with in_app():
        keys = db.session.scalars(sa.select(Person.phone_key)).all()
        phones = db.session.scalars(sa.select(Person.phone).order_by(Person.id)).all()
    assert keys == ["+8613812345678"] * 3
    assert phones == [first, *(p for p in SAME_MOBILE if p != first)]


def test_duplicates_page_pairs_the_same_number_typed_three_ways(login_as, make_person):
    for number, (family, given) in zip(
        SAME_MOBILE, [("Wang", "Fang"), ("Li", "Na"), ("Zhang", "Wei")], strict=True
    ):
        make_person(family_name=family, given_name=given, phone=number)
    make_person(family_name="Chen", given_name="Gang", phone="+86 139 1234 5678")
    page = login_as("coordinator").get("/duplicates?kind=person").get_data(as_text=True)
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    paired = [r for r in rows if "same phone" in r]
    assert len(paired) == 2
    assert all("Wang Fang" in r or "Fang Wang" in r for r in paired)
    assert any("Li" in r for r in paired) and any("Zhang" in r for r in paired)
    assert "Chen" not in page


# ---------------------------------------------------------------------------------------------
# Emails: what the import accepts, the edit form accepts, and the other way round
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Fang.Wang@Example.CN", "fang.wang@example.cn"),
        ("li+news@example.org", "li+news@example.org"),
        ("王芳@例子.中国", "王芳@例子.中国"),
        ("mailto:li@example.org", "li@example.org"),
        ("not-an-email", None),
        ("wang.fang@@example", None),
        ("a..b@example.cn", None),  # the import's old pattern took it; the form never did
        ("x@example.test", None),  # a reserved domain
        ("x@localhost", None),
        ("x@example.cn.", None),
    ],
)
def test_the_edit_form_and_the_import_accept_the_same_addresses(
    login_as, make_person, in_app, typed, stored
):
    """The import pipeline reads an email cell with contact_details.email_cell."""
    try:
        imported = contact_details.email_cell(typed)
    except InvalidContact:
        imported = None
    assert imported == stored
    wang = make_person()
    response = login_as("member").post(
        f"/people/{wang.id}/edit", data=_form(version="1", email=typed)
    )
    page = response.get_data(as_text=True)
    with in_app():
        saved = db.session.get(Person, wang.id).email
    if stored is None:
        assert response.status_code == 400
        assert "Enter an email address such as name@example.cn" in page
        assert saved is None
    else:
        assert response.status_code == 302
        assert saved == stored


def test_an_import_cell_that_is_not_an_email_is_quoted(app):
    with app.test_request_context():
        with pytest.raises(InvalidContact, match=r"“not-an-email” is not an email address\."):
            contact_details.email_cell("not-an-email")
        too_long = "x" * 250 + "@example.cn"
        with pytest.raises(
            InvalidContact, match=rf"longer than 254 characters \({len(too_long)}\)"
        ):
            contact_details.email_cell(too_long)


def test_email_and_wechat_keys_ignore_case_and_spaces():
    assert contact_details.email_key(" Fang.Wang@Example.CN ") == "fang.wang@example.cn"
    assert contact_details.email_key("A..B@Example.cn") == "a..b@example.cn"  # older data
    assert contact_details.email_key("  ") is None
    assert contact_details.wechat_key(" WangFang_88 ") == "wangfang_88"
    assert contact_details.wechat_key("") is None


# ---------------------------------------------------------------------------------------------
# Search and vCards
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["13812345678", "+86 138 1234 5678", "5678", "8613812345678"])
def test_search_finds_a_number_typed_with_0086_however_it_is_searched(login_as, make_person, query):
    make_person(family_name="Wang", given_name="Fang", phone="0086 138 1234 5678")
    make_person(family_name="Li", given_name="Na", phone="+86 139 2222 3333")
    response = login_as("viewer").get("/search.json", query_string={"q": query})
    assert [hit["label"] for hit in response.get_json()["results"]] == ["Wang Fang"]


def test_the_people_list_finds_the_number_written_another_way(login_as, make_person):
    make_person(family_name="Wang", given_name="Fang", phone="13812345678")
    make_person(family_name="Li", given_name="Na", phone="+86 139 2222 3333")
    page = login_as("viewer").get("/people", query_string={"q": "+86 138 1234 5678"})
    text = page.get_data(as_text=True)
    assert "Wang Fang" in text and "Li Na" not in text


def test_the_vcard_of_a_person_dials_the_e164_number(login_as, make_person):
    person = make_person(phone="0086 138-1234-5678")
    response = login_as("coordinator").get(f"/people/{person.id}/vcard")
    assert response.status_code == 200
    card = vobject.readOne(response.get_data(as_text=True))
    assert card.tel.value == "tel:+8613812345678"
    assert card.tel.params == {"TYPE": ["cell"], "VALUE": ["uri"]}


# ---------------------------------------------------------------------------------------------
# The migration that re-derived the stored keys
# ---------------------------------------------------------------------------------------------


def test_the_migration_rederives_phone_keys_both_ways(migrated_app):
    phones = {
        "138 1234 5678": ("13812345678", "+8613812345678"),
        "0086 13812345678": ("13812345678", "+8613812345678"),
        "(010) 6512-3456": ("01065123456", "+861065123456"),
        "6512 3456": ("65123456", None),
        "138 0013 8000 ext. 5": ("138001380005", None),
    }
    with migrated_app.app_context():
        admin = User(
            email="admin@example.org",
            name="Admin",
            role=Role.admin,
            password_hash="x",
            session_token="t",
        )
        db.session.add(admin)
        db.session.commit()
        ids = {}
        for phone in phones:
            person = stakeholders.create_person(
                {"family_name": "Wang", "phone": phone}, actor=admin, allow_duplicate=True
            )
            ids[phone] = person.id
        config = current_app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(MIGRATION).down_revision

        def keys() -> dict[str, str | None]:
            db.session.remove()
            rows = db.session.execute(sa.select(Person.id, Person.phone_key)).all()
            found = dict(rows)
            return {phone: found[person_id] for phone, person_id in ids.items()}

        # The app's session must not hold a transaction: the downgrade drops indexes, which
        # waits for every reader of the table on PostgreSQL.
        db.session.remove()
        flask_migrate.downgrade(revision=before)
        assert keys() == {phone: old for phone, (old, _new) in phones.items()}
        db.session.remove()  # as before the downgrade: no transaction left open
        flask_migrate.upgrade()
        assert keys() == {phone: new for phone, (_old, new) in phones.items()}
