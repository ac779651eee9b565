"""Issue 4 as the team lives it: find an organisation by its initials and by pinyin from the
navigation bar; import a GBK spreadsheet export with a duplicate and resolve it in the preview."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.extensions import db
from crm.models import Person


def _search(page: Page, text: str) -> None:
    box = page.get_by_label("Search everything")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))


def test_member_finds_an_organisation_by_initials_and_pinyin(
    page: Page, log_in, make_user, make_organisation
):
    huawei = make_organisation(
        display_name="Huawei Technologies Co., Ltd.", chinese_name="华为技术有限公司"
    )
    make_organisation(display_name="Xiaomi Communications", chinese_name="小米通讯技术有限公司")
    log_in(make_user("member"))
    for query in ("hw", "huawei", "hua wei"):
        _search(page, query)
        results = page.get_by_test_id("group-organisation")
        expect(results.get_by_role("link")).to_have_count(1)
    results.get_by_role("link", name="Huawei Technologies Co., Ltd.").click()
    expect(page).to_have_url(re.compile(f"/organisations/{huawei.id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("华为技术有限公司")


def test_coordinator_imports_a_gbk_file_and_resolves_a_duplicate(
    page: Page, log_in, make_user, make_person, in_app, tmp_path
):
    existing = make_person(
        family_name="Wang", given_name="Fang", chinese_name="王芳", email="wang.fang@example.cn"
    )
    csv = (
        "姓名,邮箱,手机,单位,职务\r\n"
        "王芳,wang.fang@example.cn,13800138000,东莞和谐服装有限公司,人事经理\r\n"
        "李娜,li.na@example.cn,13900139000,东莞和谐服装有限公司,工会主席\r\n"
    )
    path = tmp_path / "签到表.csv"
    path.write_bytes(csv.encode("gbk"))

    log_in(make_user("coordinator"))
    page.goto("/imports")
    page.get_by_label("People").check()
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name=re.compile("Review the import"))).to_be_visible()
    expect(page.get_by_text("GBK / GB18030")).to_be_visible()
    # Row 2 (the header is row 1) matches the existing person by email: update it.
    choice = page.get_by_label("Choice for row 2")
    expect(choice.locator("option", has_text="Update Wang Fang")).to_have_count(1)
    choice.select_option(value=f"update:{existing.id}")
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    expect(page.get_by_text("1 created, 1 updated, 0 skipped")).to_be_visible()
    with in_app():
        people = db.session.scalars(sa.select(Person).order_by(Person.id)).all()
        assert [p.chinese_name for p in people] == ["王芳", "李娜"]
        assert people[0].id == existing.id and people[0].phone == "13800138000"
