import re

from crm.extensions import db
from crm.models import AuditEvent, Organisation


def _form(**over):
    data = {
        "version": "0",
        "display_name": "Dongguan Harmony Garments Co., Ltd.",
        "chinese_name": "东莞和谐服装有限公司",
        "org_type": "enterprise",
        "sector": "textile",
        "ownership": "private",
        "size_band": "medium",
        "supply_chain_role": "tier1_supplier",
        "province": "Guangdong",
        "city": "Dongguan",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "4",
        "tags": "RBC pilot, 试点",
    }
    data.update(over)
    return data


def test_member_can_create_an_organisation_with_a_chinese_name(login_as, in_app):
    client = login_as("member")
    response = client.post("/organisations/new", data=_form())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "东莞和谐服装有限公司" in page
    assert "dong guan he xie fu zhuang you xian gong si" in page
    with in_app():
        org = db.session.scalar(db.select(Organisation))
        assert org.name_initials == "dghxfzyxgs"
        assert sorted(t.name for t in org.tags) == ["RBC pilot", "试点"]
        event = db.session.scalar(db.select(AuditEvent))
        assert event.action == "create" and event.changes["chinese_name"] == [
            None,
            "东莞和谐服装有限公司",
        ]


def test_member_sees_field_errors_and_keeps_typed_values(login_as, in_app):
    client = login_as("member")
    response = client.post(
        "/organisations/new",
        data=_form(display_name="", sector="spaceships", website="not a url", influence="9"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This field is required." in page
    assert "Not a valid choice." in page
    assert "Enter a web address" in page
    assert "Number must be between 1 and 5." in page
    assert 'value="东莞和谐服装有限公司"' in page
    with in_app():
        assert db.session.scalar(db.select(db.func.count()).select_from(Organisation)) == 0


def test_overlong_name_is_rejected(login_as):
    response = login_as("member").post("/organisations/new", data=_form(display_name="x" * 201))
    assert response.status_code == 400
    assert "Field cannot be longer than 200 characters." in response.get_data(as_text=True)


def test_list_filters_and_sorts(login_as, make_organisation):
    make_organisation(display_name="Alpha Textiles", sector="textile", province="Jiangsu")
    make_organisation(display_name="Beta Electronics", sector="electronics", province="Guangdong")
    make_organisation(display_name="Gamma Ministry", org_type="government", sector="cross_sector")
    client = login_as("viewer")
    page = client.get("/organisations?sector=textile").get_data(as_text=True)
    assert "Alpha Textiles" in page and "Beta Electronics" not in page
    page = client.get("/organisations?type=government").get_data(as_text=True)
    assert "Gamma Ministry" in page and "Alpha Textiles" not in page
    page = client.get("/organisations?sort=name&dir=desc").get_data(as_text=True)
    names = re.findall(r">(Alpha Textiles|Beta Electronics|Gamma Ministry)</a>", page)
    assert names == ["Gamma Ministry", "Beta Electronics", "Alpha Textiles"]


def test_unknown_filter_values_are_ignored(login_as, make_organisation):
    make_organisation(display_name="Alpha Textiles")
    response = login_as("viewer").get("/organisations?sector=moon&page=abc&sort=evil;drop&owner=x")
    assert response.status_code == 200
    assert "Alpha Textiles" in response.get_data(as_text=True)


def test_edit_over_a_newer_version_shows_a_conflict_and_saves_nothing(
    login_as, make_organisation, in_app
):
    org = make_organisation(display_name="Alpha Textiles", city="Suzhou")
    first, second = login_as("member"), login_as("coordinator")
    assert (
        first.post(
            f"/organisations/{org.id}/edit",
            data=_form(version="1", display_name="Alpha Textiles", city="Wuxi"),
        ).status_code
        == 302
    )
    response = second.post(
        f"/organisations/{org.id}/edit",
        data=_form(version="1", display_name="Alpha Textiles", city="Nantong"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Nantong" in page and "Wuxi" in page
    with in_app():
        assert db.session.get(Organisation, org.id).city == "Wuxi"


def test_delete_moves_to_trash_and_hides_from_list(login_as, make_organisation, in_app):
    org = make_organisation(display_name="Alpha Textiles")
    client = login_as("coordinator")
    assert "Move “Alpha Textiles” to the trash?" in client.get(
        f"/organisations/{org.id}/delete"
    ).get_data(as_text=True)
    response = client.post(f"/organisations/{org.id}/delete", follow_redirects=True)
    assert "“Alpha Textiles” moved to the trash." in response.get_data(as_text=True)
    listing = client.get("/organisations").get_data(as_text=True)
    assert "Alpha Textiles" not in listing and "No organisations yet." in listing
    assert client.get(f"/organisations/{org.id}").status_code == 404
    with in_app():
        assert db.session.get(Organisation, org.id).deleted_at is not None


def test_unknown_id_is_404(login_as):
    assert login_as("viewer").get("/organisations/999999").status_code == 404
