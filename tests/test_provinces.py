"""Provinces: a fixed bilingual list, chosen from a select, stored as codes, shown in the
reader's language, filterable; free text mapped by one rule (the migration, imports, every
write), and what no rule reads kept and listed for an administrator."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from crm import provinces
from crm.access import Role
from crm.extensions import db
from crm.models import AuditEvent, Organisation, User
from crm.services import stakeholders
from tests.imports.conftest import batch_id_of, csv_bytes, upload

MIGRATION = "c9e1a3b5d7f4"  # migrations/versions/20261211_c9e1a3b5d7f4_provinces_as_codes.py
MIGRATION_FILE = next(
    (Path(__file__).resolve().parent.parent / "migrations" / "versions").glob(f"*_{MIGRATION}_*.py")
)

# What people type, and the code it is stored as (None: no province, kept as typed).
TYPED = {
    "Guangdong": "guangdong",
    "guangdong province": "guangdong",
    "GUANGDONG SHENG": "guangdong",
    "Guǎngdōng": "guangdong",
    "广东": "guangdong",
    "广东省": "guangdong",
    " Beijing Shi ": "beijing",
    "Beijing City": "beijing",
    "北京市": "beijing",
    "Shanghai Municipality": "shanghai",
    "Shaanxi": "shaanxi",
    "陕西省": "shaanxi",
    "Shanxi Province": "shanxi",
    "山西": "shanxi",
    "广西壮族自治区": "guangxi",
    "Guangxi Zhuang Autonomous Region": "guangxi",
    "内蒙古自治区": "inner_mongolia",
    "Inner Mongolia": "inner_mongolia",
    "Nei Mongol": "inner_mongolia",
    "新疆维吾尔自治区": "xinjiang",
    "西藏自治区": "tibet",
    "Xizang": "tibet",
    "香港特别行政区": "hong_kong",
    "Hong Kong SAR": "hong_kong",
    "Macau": "macao",
    "澳門": "macao",
    "台湾省": "taiwan",
    "Taiwan": "taiwan",
    "jiangsu": "jiangsu",
    "Zhejiang Province": "zhejiang",
    "Shenzhen": None,
    "Guangdong, Shenzhen": None,
    "Atlantis": None,
    "省": None,
}


def _org_form(**over: str) -> dict[str, str]:
    data = {
        "version": "0",
        "display_name": "Harmony Garments",
        "org_type": "enterprise",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "3",
    }
    data.update(over)
    return data


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _select(page: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of the options of the select called `name`."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match, name
    return [
        (value, re.sub(r"\s+", " ", text).strip())
        for value, text in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>(.*?)</option>', match[1])
    ]


# ---------------------------------------------------------------------------------------------
# The list and the rule
# ---------------------------------------------------------------------------------------------


def test_the_list_holds_the_34_provincial_level_divisions():
    kinds = Counter(p.division.value for p in provinces.PROVINCES)
    assert kinds == {"province": 23, "autonomous_region": 5, "municipality": 4, "sar": 2}
    assert len(provinces.BY_CODE) == 34
    assert provinces.BY_CODE["beijing"].chinese == "北京"
    assert provinces.BY_CODE["taiwan"].division.value == "province"
    # Every name and code reads back as its own province: no two share a spelling.
    for province in provinces.PROVINCES:
        for name in (province.code, province.english, province.chinese, *province.aliases):
            assert provinces.code_for(name) == province.code, name


@pytest.mark.parametrize(("typed", "code"), TYPED.items())
def test_typed_provinces_read_as_codes(typed, code):
    assert provinces.code_for(typed) == code
    assert provinces.normalised(typed) == (code or typed.strip())


def test_the_migration_reads_provinces_by_the_same_rule():
    """The migration keeps a copy of the rule as of its revision: today they agree."""
    spec = importlib.util.spec_from_file_location("provinces_migration", MIGRATION_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [
        name
        for p in provinces.PROVINCES
        for name in (
            p.code,
            p.english,
            p.chinese,
            *p.aliases,
            f"{p.chinese}省",
            f"{p.english} City",
        )
    ]
    for text in [*names, *TYPED]:
        assert module.stored(text) == provinces.normalised(text), text


# ---------------------------------------------------------------------------------------------
# The migration: free text to codes and back, unknown values kept
# ---------------------------------------------------------------------------------------------


def test_the_migration_maps_known_provinces_and_keeps_unknown_ones(migrated_app):
    with migrated_app.app_context():
        admin = User(email="admin@example.org", name="Admin", role=Role.admin, password_hash="x")
        admin.session_token = "t"
        db.session.add(admin)
        db.session.commit()
        ids = {}
        for n, typed in enumerate([*TYPED, "   "]):
            data = {"display_name": f"Organisation {n}", "org_type": "enterprise"}
            ids[typed] = stakeholders.create_organisation(data, actor=admin).id
        config = current_app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(MIGRATION).down_revision
        assert before == "b8d0f2a4c6e3"

        def stored() -> dict[str, str | None]:
            db.session.remove()
            rows = dict(db.session.execute(sa.select(Organisation.id, Organisation.province)).all())
            return {typed: rows[record_id] for typed, record_id in ids.items()}

        db.session.remove()  # no transaction open while the migration runs (PostgreSQL)
        flask_migrate.downgrade(revision=before)
        # As the free text was typed before this revision.
        with db.engine.begin() as conn:
            for typed, record_id in ids.items():
                conn.execute(
                    sa.text("UPDATE organisations SET province = :p WHERE id = :id"),
                    {"p": typed, "id": record_id},
                )
        db.session.remove()
        flask_migrate.upgrade()
        expected = {typed: code or typed.strip() for typed, code in TYPED.items()}
        assert stored() == {**expected, "   ": None}
        unknown = stakeholders.unknown_provinces(per_page=50)
        assert sorted(o.province for o in unknown.items) == sorted(
            typed for typed, code in TYPED.items() if code is None
        )
        # Down again: each code becomes the division's English name, unknown text stays.
        db.session.remove()
        flask_migrate.downgrade(revision=before)
        english = {
            typed: provinces.BY_CODE[code].english if code else typed
            for typed, code in TYPED.items()
        }
        assert stored() == {**english, "   ": None}
        db.session.remove()
        flask_migrate.upgrade()
        assert stored() == {**expected, "   ": None}


# ---------------------------------------------------------------------------------------------
# The form: a select in the reader's language
# ---------------------------------------------------------------------------------------------


def test_member_chooses_a_province_from_a_select_in_english_and_in_chinese(login_as):
    english = _select(
        login_as("member").get("/organisations/new").get_data(as_text=True), "province"
    )
    chinese = _select(
        login_as("member", locale="zh").get("/organisations/new").get_data(as_text=True),
        "province",
    )
    assert len(english) == len(chinese) == 35  # "—" and the 34 divisions
    assert ("guangdong", "Guangdong") in english and ("hong_kong", "Hong Kong") in english
    assert ("guangdong", "广东") in chinese and ("inner_mongolia", "内蒙古") in chinese
    # English alphabetically; Chinese in the national order (北京, 天津, 河北 …).
    assert [text for _v, text in english[1:4]] == ["Anhui", "Beijing", "Chongqing"]
    assert [text for _v, text in chinese[1:4]] == ["北京", "天津", "河北"]


def test_a_chosen_province_is_stored_as_its_code_and_shown_in_the_readers_language(
    login_as, in_app
):
    client = login_as("member")
    response = client.post("/organisations/new", data=_org_form(province="guangdong"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with in_app():
        org = db.session.scalar(sa.select(Organisation))
        assert org.province == "guangdong"
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Guangdong" in _text(detail) and "guangdong" not in _text(detail)
    chinese = login_as("viewer", locale="zh")
    assert "广东" in _text(chinese.get(f"/organisations/{org.id}").get_data(as_text=True))
    listing = _text(chinese.get("/organisations").get_data(as_text=True))
    assert "广东" in listing and "guangdong" not in listing


def test_text_sent_for_a_province_is_read_by_the_same_rule(login_as, in_app):
    """The API and scripts may send what they have ("广东省"): stored as the code."""
    response = login_as("member").post("/organisations/new", data=_org_form(province="广东省"))
    assert response.status_code == 302
    with in_app():
        assert db.session.scalar(sa.select(Organisation.province)) == "guangdong"


def test_a_province_not_in_the_list_is_refused_and_the_form_keeps_what_was_typed(login_as, in_app):
    response = login_as("member").post(
        "/organisations/new",
        data=_org_form(province="Atlantis", display_name="Keep Me Co", city="Nowhere"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose a province from the list." in page
    assert 'value="Keep Me Co"' in page and 'value="Nowhere"' in page
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_an_unreadable_stored_province_is_kept_when_the_record_is_saved(
    login_as, make_organisation, in_app
):
    org = make_organisation(display_name="Legacy Co", province="Guangdong, Shenzhen")
    client = login_as("member")
    page = client.get(f"/organisations/{org.id}/edit").get_data(as_text=True)
    assert ("Guangdong, Shenzhen", "Guangdong, Shenzhen (not in the list)") in _select(
        page, "province"
    )
    response = client.post(
        f"/organisations/{org.id}/edit",
        data=_org_form(version="1", display_name="Legacy Co", province="Guangdong, Shenzhen"),
    )
    assert response.status_code == 302
    with in_app():
        assert db.session.get(Organisation, org.id).province == "Guangdong, Shenzhen"


def test_the_history_names_the_province_not_its_code(login_as, make_organisation):
    org = make_organisation(display_name="Alpha Textiles", province="Jiangsu")
    client = login_as("member")
    response = client.post(
        f"/organisations/{org.id}/edit",
        data=_org_form(version="1", display_name="Alpha Textiles", province="zhejiang"),
    )
    assert response.status_code == 302
    page = _text(client.get(f"/organisations/{org.id}").get_data(as_text=True))
    assert "Jiangsu" in page and "Zhejiang" in page
    assert "zhejiang" not in page and "jiangsu" not in page


# ---------------------------------------------------------------------------------------------
# The list: filtered by province, in the reader's language
# ---------------------------------------------------------------------------------------------


def test_viewer_filters_organisations_by_province(login_as, make_organisation):
    make_organisation(display_name="Alpha Textiles", province="江苏省")
    make_organisation(display_name="Beta Electronics", province="Guangdong")
    make_organisation(display_name="Gamma Garments", province="guangdong province")
    client = login_as("viewer", locale="zh")
    page = client.get("/organisations?province=guangdong").get_data(as_text=True)
    assert "Beta Electronics" in page and "Gamma Garments" in page
    assert "Alpha Textiles" not in page
    assert 'data-testid="total">2<' in page
    options = _select(page, "province")
    assert ("guangdong", "广东") in options and len(options) == 35
    assert re.search(r'<option value="guangdong"\s+selected', page)


def test_a_province_filter_that_names_nothing_gives_an_empty_list_not_an_error(login_as):
    response = login_as("viewer").get("/organisations?province=%E2%80%AE%00x" + "y" * 500)
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------------
# Imports and exports
# ---------------------------------------------------------------------------------------------


def test_an_import_reads_province_text_by_the_same_rule(login_as, in_app):
    client = login_as(Role.coordinator)
    rows = [
        ["单位名称", "类型", "省份"],
        ["和谐服装", "企业", "广东省"],
        ["Yongjiang Garments", "企业", "Zhejiang Province"],
        ["Nowhere Textiles", "企业", "Atlantis"],
    ]
    batch_id = batch_id_of(upload(client, csv_bytes(rows), "orgs.csv", kind="organisations"))
    preview = _text(client.get(f"/imports/{batch_id}").get_data(as_text=True))
    assert "Guangdong" in preview and "guangdong" not in preview
    done = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert done.status_code == 303
    with in_app():
        found = dict(
            db.session.execute(sa.select(Organisation.display_name, Organisation.province)).all()
        )
    assert found == {
        "和谐服装": "guangdong",
        "Yongjiang Garments": "zhejiang",
        "Nowhere Textiles": "Atlantis",
    }


def test_an_export_names_provinces_in_the_readers_language(login_as, make_organisation):
    make_organisation(display_name="Beta Electronics", province="Guangdong")
    english = login_as("viewer").get("/organisations?format=csv").get_data(as_text=True)
    assert "Guangdong" in english and "guangdong" not in english
    chinese = login_as("viewer", locale="zh").get("/organisations?format=csv")
    assert "广东" in chinese.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# What no rule reads: listed for an administrator, with links to edit
# ---------------------------------------------------------------------------------------------


def test_admin_sees_organisations_whose_province_is_unknown_with_links_to_edit(
    login_as, make_organisation
):
    odd = make_organisation(display_name="Odd Co", province="Guangdong, Shenzhen")
    make_organisation(display_name="Fine Co", province="广东")
    trashed = make_organisation(display_name="Trashed Co", province="Atlantis")
    admin = login_as("admin")
    assert admin.post(f"/organisations/{trashed.id}/delete").status_code == 302
    nav = admin.get("/").get_data(as_text=True)
    assert 'href="/admin/provinces"' in nav
    page = admin.get("/admin/provinces").get_data(as_text=True)
    assert 'data-testid="total">1<' in page
    assert "Odd Co" in page and "Guangdong, Shenzhen" in page
    assert f'href="/organisations/{odd.id}/edit"' in page
    assert "Fine Co" not in page and "Trashed Co" not in page
    assert login_as("coordinator").get("/admin/provinces").status_code == 403
    assert 'href="/admin/provinces"' not in login_as("coordinator").get("/").get_data(as_text=True)


def test_admin_is_told_when_every_province_is_known(login_as, make_organisation):
    make_organisation(display_name="Fine Co", province="北京")
    page = login_as("admin").get("/admin/provinces").get_data(as_text=True)
    assert 'data-testid="none"' in page and 'data-testid="total">0<' in page


def test_no_create_event_records_the_typed_text_instead_of_the_code(make_organisation, in_app):
    org = make_organisation(display_name="Audit Co", province="广东省")
    with in_app():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_id == org.id))
        assert event.changes["province"] == [None, "guangdong"]
