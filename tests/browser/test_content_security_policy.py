"""The Content-Security-Policy in a real browser: Chromium enforces it, no main page breaks
it, and the behaviours that moved from inline scripts and handlers to static/js still work.

Chromium reports every refused inline script, style or handler on the console ("Refused to
…because it violates the following Content Security Policy directive"); a listener for the
`securitypolicyviolation` event, added by the test before any page script runs, reports the
ones the console might word differently. Uncaught JavaScript errors fail the test too (the
`page` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Error, Page, expect

from crm.access import Role
from crm.models import User
from tests import pages

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`);
});
window.print = () => { window.__printed = (window.__printed || 0) + 1; };
"""
POLICY_WORDS = re.compile(r"Content[- ]Security[- ]Policy|CSP violation|Permissions[- ]Policy")


@pytest.fixture
def policy_problems(page: Page) -> Iterator[list[str]]:
    """Console messages and page errors about the page's policies, with the page's address."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if POLICY_WORDS.search(message.text):
            problems.append(f"{page.url}: {message.text}")

    def on_error(error: Error) -> None:
        problems.append(f"{page.url}: JavaScript error: {error}")

    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", on_console)
    page.on("pageerror", on_error)
    yield problems


@pytest.fixture
def world(app: Flask, actor: User, make_organisation, make_person) -> dict[str, int]:
    return pages.seed(app, actor, make_organisation=make_organisation, make_person=make_person)


@pytest.fixture
def admin(log_in: Callable[[User], Page], make_user) -> Page:
    return log_in(make_user(Role.admin, calendar_token="calendar-token-of-the-admin"))


def test_chromium_enforces_the_policy_and_reports_what_it_refuses(
    page: Page, policy_problems, log_in, make_user
):
    """The check below can fail: markup injected into a page neither runs nor styles it."""
    log_in(make_user(Role.viewer))
    page.goto("/")
    page.evaluate(
        """() => {
        const box = document.createElement("div");
        box.innerHTML = '<img src="data:," onerror="window.__injected = 1">'
          + '<p id="styled" style="color: rgb(255, 0, 0)">x</p>';
        document.body.append(box);
        const script = document.createElement("script");
        script.textContent = "window.__injected = 2";
        document.body.append(script);
      }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__injected") is None
    colour = page.evaluate("getComputedStyle(document.getElementById('styled')).color")
    assert colour != "rgb(255, 0, 0)"
    assert any("script-src" in p for p in policy_problems), policy_problems
    assert any("style-src" in p for p in policy_problems), policy_problems
    policy_problems.clear()  # expected here; the `page` fixture must not fail the test for it


def test_the_main_pages_break_no_policy(page: Page, policy_problems, world, admin):
    for path in pages.PAGES:
        page.goto(path.format(**world))
        expect(page.locator("main")).to_be_visible()
    page.wait_for_timeout(300)  # the last page's console messages
    assert policy_problems == []


def test_the_report_charts_are_styled_by_their_nonced_stylesheets(
    page: Page, policy_problems, world, admin
):
    page.goto("/reports")
    title = page.locator("#chart-levels .title").first
    expect(title).to_have_css("font-size", "18px")  # pygal's rule, admitted by the nonce
    bars = page.locator("svg.map-bar rect")
    expect(bars.first).to_be_attached()
    assert page.get_by_role("button", name="Print").count() == 1
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    page.goto(f"/reports/indicators/{world['indicator']}")
    expect(page.get_by_label("Progress against the target").first).to_be_visible()
    page.goto("/reports/indicators")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    assert policy_problems == []


def test_the_activity_form_shows_the_fields_of_its_type(page: Page, policy_problems, world, admin):
    page.goto("/activities/new")
    mou = page.locator('fieldset[data-for-type="mou"]')
    research = page.locator('fieldset[data-for-type="research"]')
    page.get_by_label("Type", exact=True).select_option("training")
    expect(mou).to_be_hidden()
    expect(research).to_be_hidden()
    page.get_by_label("Type", exact=True).select_option("mou")
    expect(mou).to_be_visible()
    expect(research).to_be_hidden()
    page.get_by_label("Type", exact=True).select_option("research")
    expect(research).to_be_visible()
    expect(mou).to_be_hidden()
    assert policy_problems == []


def test_tick_all_ticks_every_participant(page: Page, policy_problems, world, admin):
    page.goto(f"/activities/{world['activity']}")
    boxes = page.locator('[data-testid="participants"] tbody input[type=checkbox]')
    expect(boxes).to_have_count(1)
    expect(boxes.first).not_to_be_checked()
    page.locator("[data-check-all]").check()
    expect(boxes.first).to_be_checked()
    page.locator("[data-check-all]").uncheck()
    expect(boxes.first).not_to_be_checked()
    assert policy_problems == []


def test_the_interaction_form_adds_follow_up_rows_and_picks_stakeholders(
    page: Page, policy_problems, world, admin
):
    page.goto("/interactions/new")
    entries = page.get_by_test_id("follow-up-entry")
    before = entries.count()
    page.get_by_role("button", name="Add another follow-up").click()
    expect(entries).to_have_count(before + 1)
    added = entries.nth(before)
    expect(added.locator(f'input[name="follow_ups-{before}-title"]')).to_be_focused()
    expect(added.locator(f'input[name="follow_ups-{before}-title"]')).to_have_value("")
    # The typeahead (static/js/picker.js) still finds and adds a stakeholder.
    page.get_by_label("With", exact=True).fill("Bright")
    option = page.get_by_role("option", name=re.compile("Bright Electronics"))
    expect(option).to_be_visible()
    option.click()
    chips = page.locator('.picker[data-name="stakeholders"] .picker-chip')
    expect(chips).to_have_text([re.compile("Bright Electronics")])
    assert policy_problems == []


def test_the_overdue_filter_applies_at_once(page: Page, policy_problems, world, admin):
    page.goto("/follow-ups")
    page.get_by_label("Overdue only").check()
    page.wait_for_url(re.compile(r"overdue=1"))
    expect(page.get_by_label("Overdue only")).to_be_checked()
    assert policy_problems == []


def test_the_error_page_goes_back(page: Page, policy_problems, world, admin):
    page.goto("/organisations")
    page.goto("/no/such/page")
    page.get_by_role("button", name="Go back").click()
    page.wait_for_url(re.compile(r"/organisations$"))
    assert policy_problems == []


def test_a_jobs_bar_shows_its_progress(page: Page, policy_problems, world, admin):
    page.goto(f"/jobs/{world['job']}")
    fill = page.locator("#job-bar .progress-bar")
    expect(fill).to_be_visible()  # a queued job: under way, amount unknown, drawn full width
    track = page.locator("#job-bar").bounding_box()
    drawn = fill.bounding_box()
    assert track and drawn and drawn["width"] >= track["width"] - 1
    assert policy_problems == []


def test_the_calendar_link_selects_itself(page: Page, policy_problems, world, admin):
    page.goto("/profile")
    link = page.locator("input[data-select-on-focus]")
    link.focus()
    selected = page.evaluate(
        "() => { const i = document.querySelector('input[data-select-on-focus]');"
        " return [i.selectionStart, i.selectionEnd, i.value.length]; }"
    )
    assert selected[0] == 0 and selected[1] == selected[2] > 0
    assert policy_problems == []
