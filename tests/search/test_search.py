"""Global search: characters, pinyin (with or without spaces, tones, initials), English,
email, phone and WeChat; ranking; deleted records; odd input. Runs on SQLite (FTS5) and on
PostgreSQL (GIN full-text) alike."""

import pytest

from crm.extensions import db
from crm.models import Organisation, User
from crm.services import search, stakeholders


@pytest.fixture
def huawei(make_organisation):
    return make_organisation(
        display_name="Huawei Technologies Co., Ltd.",
        chinese_name="华为技术有限公司",
        city="Shenzhen",
        province="Guangdong",
    )


@pytest.fixture
def wang(make_person):
    return make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        email="Fang.Wang@example.cn",
        phone="+86 138 0013 8000",
        wechat_id="wangfang_88",
        job_title="HR Director",
    )


def _titles(client, q, **params):
    response = client.get("/search.json", query_string={"q": q, **params})
    assert response.status_code == 200
    return [hit["label"] for hit in response.get_json()["results"]]


@pytest.mark.parametrize(
    "query",
    [
        "华为",
        "华为技术",
        "huawei",
        "hua wei",
        "HUAWEI",
        "Huá Wéi",
        "hua2wei2",
        "hw",
        "hwjs",
        "weiji",
        "wei ji",
        "huaweijishu",
        "Technologies",
        "techn",
        "shenzhen",
    ],
)
def test_viewer_can_find_an_organisation_by_characters_pinyin_initials_or_english(
    login_as, huawei, query
):
    assert _titles(login_as("viewer"), query) == ["Huawei Technologies Co., Ltd."]


@pytest.mark.parametrize(
    "query",
    [
        "王芳",
        "王",
        "wang fang",
        "wangfang",
        "wf",
        "Fang Wang",
        "fang.wang@example.cn",
        "fang.wang",
        "13800138000",
        "+86 138 0013 8000",
        "0013 8000",
        "wangfang_88",
        "hr director",
    ],
)
def test_viewer_can_find_a_person_by_name_email_phone_or_wechat(login_as, wang, query):
    assert _titles(login_as("viewer"), query) == ["Wang Fang"]


def test_words_that_do_not_match_find_nothing(login_as, huawei, wang):
    client = login_as("viewer")
    assert _titles(client, "华为 wang") == []
    assert _titles(client, "xiaomi") == []
    assert _titles(client, "为华") == []  # characters must be adjacent and in order


def test_exact_and_prefix_matches_rank_first(login_as, make_organisation):
    make_organisation(
        display_name="Shenzhen Huawei Supplier Association",
        chinese_name="深圳华为供应商协会",
        org_type="industry_body",
    )
    make_organisation(display_name="Huawei", chinese_name="华为")
    make_organisation(display_name="Huawei Technologies", chinese_name="华为技术")
    titles = _titles(login_as("viewer"), "华为")
    assert titles == ["Huawei", "Huawei Technologies", "Shenzhen Huawei Supplier Association"]


def test_search_page_groups_results_by_type(login_as, huawei, wang, make_person):
    make_person(family_name="Hua", given_name="Wei", chinese_name="华伟")
    page = login_as("viewer").get("/search?q=huawei").get_data(as_text=True)
    assert 'data-testid="group-organisation"' in page and 'data-testid="group-person"' in page
    assert "Huawei Technologies Co., Ltd." in page and "Hua Wei" in page
    assert f'href="/organisations/{huawei.id}"' in page


def test_json_endpoint_filters_by_type(login_as, huawei, make_person):
    make_person(family_name="Hua", given_name="Wei", chinese_name="华伟")
    client = login_as("viewer")
    response = client.get("/search.json", query_string={"q": "huawei", "type": "person"})
    results = response.get_json()["results"]
    assert [(r["type"], r["label"]) for r in results] == [("person", "Hua Wei")]
    assert results[0]["url"].startswith("/people/")


def test_deleted_records_are_not_found_and_come_back_when_restored(login_as, huawei, app):
    coordinator = login_as("coordinator")
    assert coordinator.post(f"/organisations/{huawei.id}/delete").status_code == 302
    assert _titles(coordinator, "huawei") == []
    admin = login_as("admin")
    assert admin.post(f"/trash/{huawei.id}/restore").status_code == 302
    assert _titles(admin, "huawei") == ["Huawei Technologies Co., Ltd."]


def test_renaming_updates_the_index(login_as, huawei, in_app):
    with in_app():
        org = db.session.get(Organisation, huawei.id)
        admin = db.session.scalar(db.select(User).where(User.role == "admin"))
        stakeholders.update(
            org,
            {"chinese_name": "荣耀终端有限公司", "display_name": "Honor Device"},
            version=org.version,
            actor=admin,
        )
    client = login_as("viewer")
    assert _titles(client, "华为") == []
    assert _titles(client, "rongyao") == ["Honor Device"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "!!!",
        "？？？",
        "%_%",
        "'; DROP TABLE users; --",
        '"unterminated',
        "NEAR(a b)",
        "a* OR b",
        "x" * 5000,
        "华" * 5000,
        "AND",
        "-",
        "huawei:*",
    ],
)
def test_odd_queries_answer_plainly(login_as, huawei, query):
    client = login_as("viewer")
    assert client.get("/search", query_string={"q": query}).status_code == 200
    response = client.get("/search.json", query_string={"q": query})
    assert response.status_code == 200
    assert isinstance(response.get_json()["results"], list)


def test_punctuation_only_says_no_results(login_as, huawei):
    page = login_as("viewer").get("/search?q=!!!").get_data(as_text=True)
    assert "No results for “!!!”." in page


def test_rebuild_indexes_every_live_record(app, huawei, wang, in_app, runner):
    with in_app():
        db.session.execute(db.delete(search.SearchDocument))
        db.session.commit()
        assert search.search("huawei").total == 0
    result = runner.invoke(args=["crm", "reindex"])
    assert result.exit_code == 0 and "2 records" in result.output
    with in_app():
        assert [h.title for h in search.search("wf").groups["person"]] == ["Wang Fang"]
