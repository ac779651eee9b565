"""Issue 6 as the team lives it: the coordinator logs a meeting with two stakeholders and a
follow-up for a member; the member sees it on the dashboard and completes it; the stakeholder's
timeline shows both."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect


def _pick(page: Page, label: str, query: str, choice: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(query)
    option = page.get_by_role("option", name=choice)
    expect(option).to_be_visible()
    option.click()


def test_coordinator_logs_a_meeting_and_the_member_completes_the_follow_up(
    page: Page, log_in, make_user, make_person, make_organisation
):
    coordinator = make_user("coordinator", name="Li Na")
    member = make_user("member", name="Zhang Wei")
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳", job_title="HR Director")
    make_organisation(
        display_name="Dongguan Harmony Garments Co., Ltd.",
        chinese_name="东莞和谐服装有限公司",
        sector="textile",
    )
    due = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)).isoformat()

    log_in(coordinator)
    page.get_by_role("link", name="Log an interaction").first.click()
    expect(page.get_by_role("heading", name="Log an interaction")).to_be_visible()
    page.get_by_label("Channel").select_option(label="Meeting")
    _pick(page, "With", "wangfang", "Wang Fang")
    _pick(page, "With", "和谐", "Dongguan Harmony Garments Co., Ltd.")
    expect(page.locator('.picker[data-name="stakeholders"] .picker-chip')).to_have_count(2)
    page.get_by_label("Subject").fill("Working hours in peak season")
    page.get_by_label("Summary").fill("Discussed overtime; they will join the March training.")
    page.get_by_label("Follow-up", exact=True).fill("Send the training invitation")
    page.get_by_label("Due", exact=True).fill(due)
    page.get_by_label("Assign to").select_option(label="Zhang Wei")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Interaction “Working hours in peak season” logged.")).to_be_visible()
    expect(page.get_by_role("link", name="Send the training invitation")).to_be_visible()

    # The member signs in and finds it on the dashboard.
    page.context.clear_cookies()
    log_in(member)
    mine = page.get_by_test_id("my-follow-ups")
    expect(mine.get_by_role("link", name="Send the training invitation")).to_be_visible()
    # "Complete" opens the note (optional), then the follow-up is marked as done.
    mine.locator("summary", has_text="Complete").click()
    mine.get_by_label("Completion note (optional)").fill("Invitation sent by WeChat")
    mine.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("“Send the training invitation” is done.")).to_be_visible()
    expect(page.get_by_test_id("open-count")).to_have_text("0")

    # The stakeholder's timeline shows the meeting and the completed follow-up.
    page.get_by_role("navigation").get_by_role("link", name="People").click()
    page.get_by_role("link", name="Wang Fang").click()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline.get_by_role("link", name="Working hours in peak season")).to_be_visible()
    expect(timeline.get_by_role("link", name="Send the training invitation")).to_be_visible()
    expect(timeline).to_contain_text("Done")
