"""Positions (person → organisation) and relationships (any two stakeholders), via the pages."""

import re

import pytest

from crm.extensions import db
from crm.models import Affiliation, AuditEvent, Organisation, Person, StakeholderRelationship, User
from crm.services import stakeholders


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _position(**over):
    data = {
        "aff-organisation_id": "",
        "aff-title": "Labour relations officer",
        "aff-start_on": "2021-03-01",
        "aff-end_on": "",
    }
    data.update(over)
    return data


def _relationship(**over):
    data = {
        "rel-type": "supplier_to",
        "rel-target_id": "",
        "rel-start_on": "2020-01-01",
        "rel-end_on": "",
        "rel-note": "Cut-make-trim for the AW collection",
    }
    data.update(over)
    return data


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def _field_has_error(page: str, field_id: str) -> bool:
    tag = re.search(rf"<(?:input|select)[^>]*\bid=\"{re.escape(field_id)}\"[^>]*>", page)
    return tag is not None and "is-invalid" in tag.group(0)


def _trash(in_app, actor, model, record_id):
    with in_app():
        stakeholders.delete(db.session.get(model, record_id), actor=db.session.get(User, actor.id))


@pytest.fixture
def wang(make_person):
    return make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")


@pytest.fixture
def alpha(make_organisation):
    return make_organisation(display_name="Alpha Textiles", chinese_name="阿尔法纺织")


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------


def test_member_can_add_a_current_position_from_the_person_page(login_as, wang, alpha, in_app):
    client = login_as("member")
    person_page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert 'id="aff-organisation_id"' in person_page and "Add a position" in person_page
    response = client.post(
        f"/stakeholders/{wang.id}/affiliations", data=_position(**{"aff-organisation_id": alpha.id})
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/people/{wang.id}#affiliations"
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "Position added." in page
    positions = _section(page, "affiliations")
    assert "Labour relations officer, " in positions and "Alpha Textiles" in positions
    assert "– now)" in positions
    # The header names the current employer.
    assert f'<a href="/organisations/{alpha.id}">Alpha Textiles</a>' in page.split("<section")[0]
    people = _section(
        client.get(f"/organisations/{alpha.id}").get_data(as_text=True), "affiliations"
    )
    assert "Wang Fang" in people and "王芳" in people and "Labour relations officer" in people
    assert "until" not in people
    listing = client.get(f"/people?organisation={alpha.id}").get_data(as_text=True)
    assert "Wang Fang" in listing
    with in_app():
        affiliation = db.session.scalar(db.select(Affiliation))
        assert (affiliation.person_id, affiliation.organisation_id) == (wang.id, alpha.id)
        assert affiliation.is_current and affiliation.created_by_id == client.user.id


def test_an_ended_position_stays_in_the_history(login_as, wang, alpha, in_app):
    client = login_as("member")
    client.post(
        f"/stakeholders/{wang.id}/affiliations", data=_position(**{"aff-organisation_id": alpha.id})
    )
    with in_app():
        affiliation_id = db.session.scalar(db.select(Affiliation.id))
    response = client.post(
        f"/stakeholders/affiliations/{affiliation_id}/end", data={"end-end_on": "2024-06-30"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/people/{wang.id}#affiliations"
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "Position ended." in page
    positions = _section(page, "affiliations")
    assert "Alpha Textiles" in positions and "– now)" not in positions
    assert "text-body-secondary" in positions and "30 Jun 2024" in positions
    people = _section(
        client.get(f"/organisations/{alpha.id}").get_data(as_text=True), "affiliations"
    )
    assert "Wang Fang" in people and "until 30 Jun 2024" in people
    listing = client.get(f"/people?organisation={alpha.id}").get_data(as_text=True)
    assert "Nobody matches these filters." in listing
    with in_app():
        assert db.session.get(Affiliation, affiliation_id).end_on.isoformat() == "2024-06-30"


def test_a_position_cannot_end_before_it_started(login_as, wang, alpha, in_app):
    client = login_as("member")
    response = client.post(
        f"/stakeholders/{wang.id}/affiliations",
        data=_position(
            **{
                "aff-organisation_id": alpha.id,
                "aff-start_on": "2022-05-01",
                "aff-end_on": "2022-04-30",
            }
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The position was not added: see the form below." in page
    assert "The end date must not be before the start date." in page
    assert _field_has_error(page, "aff-end_on")
    assert 'value="Labour relations officer"' in page
    with in_app():
        assert _count(Affiliation) == 0


def test_ending_a_position_before_its_start_is_refused(login_as, wang, alpha, in_app):
    client = login_as("member")
    client.post(
        f"/stakeholders/{wang.id}/affiliations", data=_position(**{"aff-organisation_id": alpha.id})
    )
    with in_app():
        affiliation_id = db.session.scalar(db.select(Affiliation.id))
    response = client.post(
        f"/stakeholders/affiliations/{affiliation_id}/end",
        data={"end-end_on": "2020-01-01"},
        follow_redirects=True,
    )
    assert "The end date must not be before the start date." in response.get_data(as_text=True)
    response = client.post(
        f"/stakeholders/affiliations/{affiliation_id}/end",
        data={"end-end_on": "not a date"},
        follow_redirects=True,
    )
    assert "Give the date on which it ended." in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(Affiliation, affiliation_id).end_on is None


@pytest.mark.parametrize(
    ("organisation_id", "message"),
    [
        ("999999", "Choose an existing organisation."),
        ("trashed", "Choose an existing organisation."),
        ("abc", "Choose a record from the list."),
        ("1.5", "Choose a record from the list."),
        ("-1", "Choose a record from the list."),
        ("", "Choose an organisation."),
    ],
)
def test_a_position_needs_an_existing_organisation(
    login_as, wang, alpha, in_app, actor, make_organisation, organisation_id, message
):
    if organisation_id == "trashed":
        gone = make_organisation(display_name="Gone Garments")
        _trash(in_app, actor, Organisation, gone.id)
        organisation_id = str(gone.id)
    response = login_as("member").post(
        f"/stakeholders/{wang.id}/affiliations",
        data=_position(**{"aff-organisation_id": organisation_id}),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert _field_has_error(page, "aff-organisation_id")
    assert "Gone Garments" not in _section(page, "affiliations")
    with in_app():
        assert _count(Affiliation) == 0


def test_a_person_cannot_be_affiliated_with_a_person(login_as, wang, make_person, in_app):
    li = make_person(family_name="Li", given_name="Lei")
    response = login_as("member").post(
        f"/stakeholders/{wang.id}/affiliations", data=_position(**{"aff-organisation_id": li.id})
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose an existing organisation." in page
    assert _field_has_error(page, "aff-organisation_id")
    with in_app():
        assert _count(Affiliation) == 0


def test_positions_are_added_to_people_only(login_as, alpha, make_organisation):
    other = make_organisation(display_name="Beta Electronics")
    response = login_as("member").post(
        f"/stakeholders/{alpha.id}/affiliations",
        data=_position(**{"aff-organisation_id": other.id}),
    )
    assert response.status_code == 404


def test_links_to_or_from_trashed_or_unknown_records_are_404(login_as, wang, alpha, in_app, actor):
    _trash(in_app, actor, Person, wang.id)
    client = login_as("member")
    data = _position(**{"aff-organisation_id": alpha.id})
    assert client.post(f"/stakeholders/{wang.id}/affiliations", data=data).status_code == 404
    assert client.post("/stakeholders/999999/affiliations", data=data).status_code == 404
    data = _relationship(**{"rel-target_id": alpha.id})
    assert client.post(f"/stakeholders/{wang.id}/relationships", data=data).status_code == 404
    for url in ("/stakeholders/affiliations/999999/end", "/stakeholders/relationships/999999/end"):
        assert client.post(url, data={"end-end_on": "2024-01-01"}).status_code == 404


def test_viewer_cannot_change_links(login_as, wang, alpha, in_app):
    client = login_as("viewer")
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "Add a position" not in page and "Add a relationship" not in page
    data = _position(**{"aff-organisation_id": alpha.id})
    assert client.post(f"/stakeholders/{wang.id}/affiliations", data=data).status_code == 403
    data = _relationship(**{"rel-target_id": alpha.id})
    assert client.post(f"/stakeholders/{wang.id}/relationships", data=data).status_code == 403
    with in_app():
        assert _count(Affiliation) == 0 and _count(StakeholderRelationship) == 0


# ---------------------------------------------------------------------------------------------
# Relationships
# ---------------------------------------------------------------------------------------------


def test_member_can_relate_two_organisations(login_as, alpha, make_organisation, in_app):
    brand = make_organisation(display_name="Nordic Outdoor AB", org_type="enterprise")
    client = login_as("member")
    response = client.post(
        f"/stakeholders/{alpha.id}/relationships", data=_relationship(**{"rel-target_id": brand.id})
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{alpha.id}#relationships"
    source = _section(
        client.get(f"/organisations/{alpha.id}").get_data(as_text=True), "relationships"
    )
    assert "Supplier to" in source and "Nordic Outdoor AB" in source
    assert "this organisation" not in source
    assert "Cut-make-trim for the AW collection" in source
    target = _section(
        client.get(f"/organisations/{brand.id}").get_data(as_text=True), "relationships"
    )
    # The other end reads it from its own side.
    assert "Alpha Textiles" in target and "— supplier to this organisation" in target
    with in_app():
        rel = db.session.scalar(db.select(StakeholderRelationship))
        assert (rel.source_id, rel.target_id, rel.type) == (alpha.id, brand.id, "supplier_to")


def test_a_person_can_relate_to_a_person(login_as, wang, make_person):
    li = make_person(family_name="Li", given_name="Lei", chinese_name="李雷")
    client = login_as("member")
    response = client.post(
        f"/stakeholders/{li.id}/relationships",
        data=_relationship(**{"rel-target_id": wang.id, "rel-type": "reports_to"}),
    )
    assert response.headers["Location"] == f"/people/{li.id}#relationships"
    source = _section(client.get(f"/people/{li.id}").get_data(as_text=True), "relationships")
    assert "Reports to" in source and f'href="/people/{wang.id}"' in source
    target = _section(client.get(f"/people/{wang.id}").get_data(as_text=True), "relationships")
    assert "— reports to this person" in target and f'href="/people/{li.id}"' in target


def test_a_record_cannot_relate_to_itself(login_as, alpha, in_app):
    response = login_as("member").post(
        f"/stakeholders/{alpha.id}/relationships", data=_relationship(**{"rel-target_id": alpha.id})
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The relationship was not added: see the form below." in page
    assert "A record cannot have a relationship with itself." in page
    assert _field_has_error(page, "rel-target_id")
    assert 'value="Cut-make-trim for the AW collection"' in page
    with in_app():
        assert _count(StakeholderRelationship) == 0


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("trashed", "Choose an existing stakeholder."),
        ("999999", "Choose an existing stakeholder."),
        ("abc", "Choose a record from the list."),
        ("", "Choose a stakeholder."),
    ],
)
def test_a_relationship_needs_a_live_other_record(
    login_as, wang, alpha, in_app, actor, make_organisation, target, message
):
    if target == "trashed":
        gone = make_organisation(display_name="Gone Garments")
        _trash(in_app, actor, Organisation, gone.id)
        target = str(gone.id)
    response = login_as("member").post(
        f"/stakeholders/{wang.id}/relationships", data=_relationship(**{"rel-target_id": target})
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert _field_has_error(page, "rel-target_id")
    with in_app():
        assert _count(StakeholderRelationship) == 0


@pytest.mark.parametrize(
    ("over", "field_id"),
    [
        ({"rel-type": "owns"}, "rel-type"),
        ({"rel-start_on": "2022-01-01", "rel-end_on": "2021-01-01"}, "rel-end_on"),
        ({"rel-note": "n" * 301}, "rel-note"),
    ],
)
def test_relationship_form_errors_show_on_their_fields(
    login_as, wang, alpha, in_app, over, field_id
):
    data = _relationship(**{"rel-target_id": alpha.id, **over})
    response = login_as("member").post(f"/stakeholders/{wang.id}/relationships", data=data)
    assert response.status_code == 400
    assert _field_has_error(response.get_data(as_text=True), field_id)
    with in_app():
        assert _count(StakeholderRelationship) == 0


def test_a_relationship_with_a_trashed_record_is_hidden(
    login_as, alpha, make_organisation, in_app, actor
):
    brand = make_organisation(display_name="Nordic Outdoor AB")
    client = login_as("member")
    client.post(
        f"/stakeholders/{alpha.id}/relationships", data=_relationship(**{"rel-target_id": brand.id})
    )
    _trash(in_app, actor, Organisation, brand.id)
    page = _section(
        client.get(f"/organisations/{alpha.id}").get_data(as_text=True), "relationships"
    )
    assert "Nordic Outdoor AB" not in page and "No relationships recorded." in page


def test_member_can_end_a_relationship(login_as, alpha, make_organisation, in_app):
    brand = make_organisation(display_name="Nordic Outdoor AB")
    client = login_as("member")
    client.post(
        f"/stakeholders/{alpha.id}/relationships", data=_relationship(**{"rel-target_id": brand.id})
    )
    with in_app():
        rel_id = db.session.scalar(db.select(StakeholderRelationship.id))
    response = client.post(
        f"/stakeholders/relationships/{rel_id}/end", data={"end-end_on": "2025-12-31"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Relationship ended." in page
    links = _section(page, "relationships")
    assert "Nordic Outdoor AB" in links and "31 Dec 2025" in links
    assert f"/stakeholders/relationships/{rel_id}/end" not in links  # nothing left to end
    again = client.post(
        f"/stakeholders/relationships/{rel_id}/end",
        data={"end-end_on": "2026-01-31"},
        follow_redirects=True,
    )
    assert "This relationship has already ended." in again.get_data(as_text=True)
    with in_app():
        assert db.session.get(StakeholderRelationship, rel_id).end_on.isoformat() == "2025-12-31"


def test_a_relationship_cannot_end_before_it_started(login_as, alpha, make_organisation, in_app):
    brand = make_organisation(display_name="Nordic Outdoor AB")
    client = login_as("member")
    client.post(
        f"/stakeholders/{alpha.id}/relationships", data=_relationship(**{"rel-target_id": brand.id})
    )
    with in_app():
        rel_id = db.session.scalar(db.select(StakeholderRelationship.id))
    response = client.post(
        f"/stakeholders/relationships/{rel_id}/end",
        data={"end-end_on": "2019-12-31"},
        follow_redirects=True,
    )
    assert "The end date must not be before the start date." in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(StakeholderRelationship, rel_id).end_on is None


# ---------------------------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------------------------


def test_link_changes_appear_in_the_history_of_both_records(
    login_as, wang, alpha, make_organisation, in_app
):
    brand = make_organisation(display_name="Nordic Outdoor AB")
    client = login_as("member", name="Chen Coordinator")
    client.post(
        f"/stakeholders/{wang.id}/affiliations", data=_position(**{"aff-organisation_id": alpha.id})
    )
    client.post(
        f"/stakeholders/{alpha.id}/relationships", data=_relationship(**{"rel-target_id": brand.id})
    )
    with in_app():
        affiliation_id = db.session.scalar(db.select(Affiliation.id))
        rel_id = db.session.scalar(db.select(StakeholderRelationship.id))
    client.post(
        f"/stakeholders/affiliations/{affiliation_id}/end", data={"end-end_on": "2024-06-30"}
    )
    client.post(f"/stakeholders/relationships/{rel_id}/end", data={"end-end_on": "2025-12-31"})

    person = _section(client.get(f"/people/{wang.id}").get_data(as_text=True), "timeline")
    assert "Chen Coordinator updated" in person
    assert "Position ended</span>" in person and "Position added</span>" in person
    assert person.index("Position ended") < person.index("Position added")  # newest first
    assert "Labour relations officer, Alpha Textiles" in person

    organisation = _section(
        client.get(f"/organisations/{alpha.id}").get_data(as_text=True), "timeline"
    )
    assert "Wang Fang: Labour relations officer" in organisation
    assert "Relationship ended</span>" in organisation
    assert "Nordic Outdoor AB" in organisation
    assert "Person left</span>" in organisation and "2024-06-30" in organisation
    # created, position added and ended, relationship added and ended
    assert organisation.count('data-testid="timeline-change"') == 5

    other = _section(client.get(f"/organisations/{brand.id}").get_data(as_text=True), "timeline")
    assert "Link ended</span>" in other and "Linked from</span>" in other
    assert "Alpha Textiles" in other

    with in_app():
        events = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "update").order_by(AuditEvent.id)
        ).all()
        assert {(e.entity_type, e.entity_id) for e in events} == {
            ("people", wang.id),
            ("organisations", alpha.id),
            ("organisations", brand.id),
        }
        assert all(e.actor_id == client.user.id for e in events)
