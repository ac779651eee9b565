"""WCAG 2.1 A and AA on every main page, in English and in Chinese, as axe-core sees them.

axe-core (shipped inside axe-playwright-python: nothing is downloaded) runs in the page after
it has loaded and its scripts have run. Every violation is reported with its rule, impact,
element and page; one test per language collects them all before failing, so a run shows the
whole list rather than the first page's.

Besides the pages of tests/pages.py: the sign-in page, the backups page, a form sent with
errors, the typeahead picker with its list open, and the page a stale edit lands on (409).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Page, expect

from crm.access import Role
from crm.extensions import db
from crm.models import Organisation, User
from crm.services import stakeholders
from tests import pages

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE = Axe()
# Pages an administrator opens that tests/pages.py does not list.
MORE_PAGES = ["/admin/backups", "/activities/calendar?month=2026-02"]


# A best-practice rule on top, for a fault this project had: a table header with no text.
MORE_RULES = {"empty-table-header": {"enabled": True}}


def violations(page: Page, where: str | None = None) -> list[str]:
    """One line per element that breaks a WCAG 2.1 A/AA rule on the page as it is now."""
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "rules": MORE_RULES}
    results = AXE.run(page, options=options)
    found = []
    for rule in results.response["violations"]:
        for node in rule["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = node.get("failureSummary", "").replace("\n", " ")
            found.append(
                f"{where or page.url}: {rule['id']} ({rule['impact']}) at {target}: {summary}"
            )
    return found


def report(found: list[str]) -> str:
    return f"{len(found)} WCAG 2.1 A/AA violation(s):\n" + "\n".join(found)


@pytest.fixture
def world(app: Flask, actor: User, make_organisation, make_person) -> dict[str, int]:
    ids = pages.seed(app, actor, make_organisation=make_organisation, make_person=make_person)
    # Stakeholders on the report's map (its coloured cells) and on the dashboard's
    # "influential and quiet" list.
    make_organisation(
        display_name="Huaxin Textiles", influence=5, interest=5, engagement_level="champion"
    )
    make_organisation(
        display_name="Pearl River Garments", influence=4, interest=2, engagement_level="engaged"
    )
    make_person(
        family_name="Zhou", given_name="Li", influence=5, interest=4, engagement_level="committed"
    )
    return ids


def test_axe_reports_what_breaks_the_rules(page: Page, log_in, make_user):
    """The check can fail: an unlabelled field and an image without a text are found."""
    log_in(make_user(Role.viewer))
    page.goto("/")
    page.evaluate(
        """() => {
        const box = document.createElement("div");
        box.innerHTML = '<input type="text" id="nameless"><img src="data:," id="wordless">';
        document.querySelector("main").append(box);
      }"""
    )
    found = violations(page)
    assert any(" label (critical) at #nameless" in line for line in found), found
    assert any(" image-alt (critical) at #wordless" in line for line in found), found
    assert not any("empty-table-header" in line for line in found), found
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
        '<table><tr><th></th><th>Total</th></tr><tr><th>Women</th><td>1</td></tr></table>')"""
    )
    assert any("empty-table-header" in line for line in violations(page))


def _stale_edit(page: Page, app: Flask, actor: User, organisation_id: int) -> None:
    """Open the organisation's form, let someone else save meanwhile, then save: 409."""
    page.goto(f"/organisations/{organisation_id}/edit")
    with app.app_context():
        organisation = db.session.get(Organisation, organisation_id)
        assert organisation is not None
        stakeholders.update(
            organisation,
            {"display_name": "Bright Electronics Group", "sector": "textile"},
            version=organisation.version,
            actor=db.session.get(User, actor.id),
        )
    page.locator("#display_name").fill("Bright Electronics Ltd")
    with page.expect_navigation() as answer:
        page.locator("form:has(#display_name)").first.evaluate("form => form.requestSubmit()")
    assert answer.value is not None and answer.value.status == 409


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_main_page_meets_wcag_21_aa(
    page: Page,
    app: Flask,
    actor: User,
    world: dict[str, int],
    log_in: Callable[..., Page],
    make_user: Callable[..., User],
    locale: str,
):
    found: list[str] = []
    lang = "zh-CN" if locale == "zh" else "en"
    log_in(make_user(Role.admin, locale=locale))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    for path in [*pages.PAGES, *MORE_PAGES]:
        page.goto(path.format(**world))
        expect(page.locator("main")).to_be_visible()
        if path == "/reports":  # the map's coloured cells hold links
            expect(page.get_by_test_id("map-orgs-5-5")).to_be_visible()
        found += violations(page)

    # A form sent with its required fields empty: the errors are shown at the fields.
    page.goto("/organisations/new")
    page.locator("#display_name").fill("")
    page.locator("form:has(#display_name)").first.evaluate(
        "form => { form.noValidate = true; form.requestSubmit(); }"
    )
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    found += violations(page, "/organisations/new (sent empty)")

    # The typeahead picker with its list open.
    page.goto("/interactions/new")
    picker = page.locator('.picker[data-name="stakeholders"] [data-picker-input]')
    picker.fill("Bright")
    expect(page.get_by_role("option", name=re.compile("Bright Electronics"))).to_be_visible()
    found += violations(page, "/interactions/new (picker open)")

    _stale_edit(page, app, actor, world["organisation"])
    found += violations(page, "/organisations/<id>/edit (conflict)")

    # Signed out: the sign-in page, in the language chosen on it.
    page.context.clear_cookies()
    page.goto(f"/login?lang={locale}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    found += violations(page)

    assert not found, report(found)


# What axe cannot see on a page at rest: focus, announcements, and where the focus lands.


def _luminance(css_colour: str) -> float:
    """Relative luminance (WCAG) of a computed `rgb(…)`/`rgba(…)` colour."""
    red, green, blue = (int(v) for v in re.findall(r"[\d.]+", css_colour)[:3])

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_defines_it():
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    assert abs(contrast("rgb(13, 110, 253)", "rgb(246, 247, 249)") - 4.19) < 0.01  # as axe


def test_the_navigation_bar_shows_where_the_keyboard_is(page: Page, log_in, make_user):
    log_in(make_user(Role.member))
    page.goto("/")
    page.keyboard.press("Tab")  # "Skip to content"
    page.keyboard.press("Tab")
    brand = page.locator(".app-nav .navbar-brand")
    expect(brand).to_be_focused()
    ring = brand.evaluate(
        """el => { const s = getComputedStyle(el);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor,
                getComputedStyle(el.closest('nav')).backgroundColor]; }"""
    )
    style, width, colour, bar = ring
    assert style != "none" and float(width.removesuffix("px")) >= 2, ring
    assert contrast(colour, bar) >= 3, ring


def test_a_sorted_list_says_so_on_its_column_header(page: Page, log_in, make_user, make_person):
    make_person(family_name="Wang", given_name="Fang")
    log_in(make_user(Role.member))
    page.goto("/people")
    name = page.locator("thead th", has=page.get_by_role("link", name="Name", exact=True))
    expect(name).to_have_attribute("aria-sort", "ascending")
    assert page.locator("[aria-sort]").count() == 1
    assert page.locator("a[aria-sort]").count() == 0
    name.get_by_role("link").click()
    page.wait_for_url(re.compile(r"dir=desc"))
    expect(name).to_have_attribute("aria-sort", "descending")


def test_the_two_search_boxes_are_named_apart(page: Page, log_in, make_user):
    log_in(make_user(Role.member))
    page.goto("/search?q=Wang")
    landmarks = page.get_by_role("search")
    expect(landmarks).to_have_count(2)
    names = landmarks.evaluate_all("els => els.map(el => el.getAttribute('aria-label'))")
    assert all(names) and len(set(names)) == 2, names


def test_the_dashboard_tabs_hold_lists(page: Page, log_in, make_user):
    log_in(make_user(Role.member))
    page.goto("/")
    team = page.get_by_role("tabpanel", name="Team’s recent interactions")
    expect(team.get_by_role("list")).to_have_count(1)
    page.get_by_role("tab", name="Mine").click()
    expect(page.get_by_role("tab", name="Mine")).to_have_attribute("aria-selected", "true")
    mine = page.get_by_role("tabpanel", name="Mine")
    expect(mine).to_be_visible()
    expect(mine.get_by_role("listitem")).to_have_count(1)  # "Nothing logged yet."


def test_a_refused_form_takes_the_reader_to_the_field_and_its_message(
    page: Page, log_in, make_user
):
    log_in(make_user(Role.member))
    page.goto("/organisations/new")
    form = page.locator("form:has(#display_name)").first
    form.evaluate("form => { form.noValidate = true; form.requestSubmit(); }")
    page.wait_for_load_state()
    field = page.locator("#display_name")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described, "the field names no message"
    message = page.locator(f"[id='{described[0]}']")
    expect(message).to_have_class(re.compile(r"invalid-feedback"))
    expect(message).not_to_be_empty()
    # The accessible description is what a screen reader reads after the label.
    expect(field).to_have_accessible_description(re.compile(re.escape(message.inner_text())))


def test_the_picker_says_how_many_records_match(page: Page, log_in, make_user, make_person):
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    make_person(family_name="Wang", given_name="Lei")
    log_in(make_user(Role.member))
    page.goto("/interactions/new")
    box = page.get_by_role("combobox", name="With", exact=True)
    picker = page.locator(".picker", has=box)
    status = picker.get_by_role("status")
    box.press_sequentially("Wang")
    expect(status).to_have_text("2 results")
    listbox = picker.get_by_role("listbox", name="Matching records")
    expect(listbox.get_by_role("option")).to_have_count(2)
    active = box.get_attribute("aria-activedescendant")
    assert active and listbox.locator(f"[id='{active}']").count() == 1
    box.press_sequentially(" Fang")
    expect(status).to_have_text("1 result")
    box.fill("Nobody by this name")
    expect(status).to_have_text("No match")
    box.press("Escape")
    expect(box).to_have_value("Nobody by this name")  # Escape closes the list, keeps the text
    expect(listbox).to_be_hidden()


FORMS_SENT_EMPTY = [
    "/organisations/new",
    "/people/new",
    "/interactions/new",
    "/activities/new",
    "/follow-ups/new",
    "/admin/users/new",
]

LINKED_ERRORS = """() => [...document.querySelectorAll("main .is-invalid")].map(el => {
  const control = el.matches("input, select, textarea") ? el
    : el.querySelector('input:not([type="hidden"]), select, textarea');
  const ids = (control?.getAttribute("aria-describedby") || "").split(/\\s+/).filter(Boolean);
  const said = ids.map(id => document.getElementById(id)?.textContent.trim() || "").join(" ");
  return {field: control?.id || el.outerHTML.slice(0, 80),
          invalid: control?.getAttribute("aria-invalid"), said};
})"""


@pytest.mark.parametrize("path", FORMS_SENT_EMPTY)
def test_every_refused_form_links_each_field_to_its_message(
    page: Page, log_in, make_user, path: str
):
    log_in(make_user(Role.admin))
    page.goto(path)
    form = page.locator("main form[method=post]").last
    with page.expect_navigation():
        form.evaluate("form => { form.noValidate = true; form.requestSubmit(); }")
    fields = page.evaluate(LINKED_ERRORS)
    assert fields, "the form sent empty showed no field in error"
    unlinked = [f for f in fields if f["invalid"] != "true" or not f["said"]]
    assert not unlinked, unlinked
    first = fields[0]["field"]
    expect(page.locator(f"[id='{first}']")).to_be_focused()
