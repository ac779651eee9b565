"""The typeahead picker on a slow connection: a name typed while the page's scripts are
still loading is looked up as soon as the picker starts, not lost."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect


def test_a_name_typed_before_the_picker_script_arrives_is_looked_up(
    page: Page, log_in, make_user, make_person
):
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    log_in(make_user("member"))

    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # the script is served when the test releases it

    page.route("**/static/js/picker.js", hold)
    page.goto("/interactions/new", wait_until="commit")
    box = page.get_by_label("With", exact=True)
    box.fill("王芳")  # no listener yet: the script has not run
    for _ in range(200):  # wait_for_timeout lets Playwright deliver the held request
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the page never asked for picker.js"
    held[0].continue_()

    option = page.get_by_role("option", name="Wang Fang")
    expect(option).to_be_visible()
    option.click()
    chips = page.locator('.picker[data-name="stakeholders"] .picker-chip')
    expect(chips).to_have_text(["Wang Fang 王芳"])
