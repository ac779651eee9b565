"""Issue 3 as a user lives it: sign in, add a Chinese organisation, find it, edit it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

NAME = "Suzhou Lvyuan Textiles Co., Ltd."
CHINESE = "苏州绿源纺织有限公司"
PINYIN = "su zhou lv yuan fang zhi you xian gong si"


def _search(page: Page, text: str) -> None:
    box = page.get_by_label("Name, Chinese name or pinyin")
    box.fill(text)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))


def test_member_can_add_find_and_edit_a_chinese_organisation(
    page: Page, log_in, make_user, make_organisation
):
    make_organisation(
        display_name="Shenzhen Bright Electronics Co., Ltd.", chinese_name="深圳明亮电子"
    )
    member = make_user("member", name="Chen Jing")

    log_in(member)
    expect(page.get_by_text("Welcome, Chen Jing.")).to_be_visible()

    # Create.
    page.get_by_role("navigation").get_by_role("link", name="Organisations").click()
    page.get_by_role("link", name="New organisation").click()
    expect(page.get_by_role("heading", name="New organisation")).to_be_visible()
    page.get_by_label("Name (English)").fill(NAME)
    page.get_by_label("Chinese name").fill(CHINESE)
    page.get_by_label("Type", exact=True).select_option(label="Enterprise")
    page.get_by_label("Sector", exact=True).select_option(label="Textile and garment")
    page.get_by_label("Province").select_option(label="Jiangsu")
    page.get_by_label("City").fill("Suzhou")
    page.get_by_role("button", name="Save").click()

    # The detail page: names, pinyin and where it is.
    expect(page.get_by_text(f"Organisation “{NAME}” created.")).to_be_visible()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(NAME)
    expect(heading).to_contain_text(CHINESE)
    profile = page.get_by_role("region", name="Profile")
    expect(profile.get_by_text("Pinyin")).to_be_visible()
    expect(profile.get_by_text(PINYIN)).to_be_visible()
    expect(page.get_by_text("Suzhou, Jiangsu")).to_be_visible()

    # The list: a pinyin fragment (typed without spaces) and Chinese characters both find it.
    page.get_by_role("link", name="Organisations").first.click()
    results = page.get_by_role("table")
    expect(page.get_by_test_id("total")).to_have_text("2")
    for query in ("lvyuan", "绿源纺织"):
        _search(page, query)
        expect(page.get_by_test_id("total")).to_have_text("1")
        expect(results.get_by_role("link", name=re.compile(re.escape(NAME)))).to_be_visible()
        expect(results.get_by_text("Shenzhen Bright Electronics")).to_have_count(0)

    # Edit the city, then read the change in the history.
    results.get_by_role("link", name=re.compile(re.escape(NAME))).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit organisation")).to_be_visible()
    expect(page.get_by_label("City")).to_have_value("Suzhou")
    page.get_by_label("City").fill("Kunshan")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Changes saved.")).to_be_visible()
    expect(page.get_by_text("Kunshan, Jiangsu")).to_be_visible()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("Chen Jing updated")
    expect(timeline).to_contain_text("City: Suzhou → Kunshan")
