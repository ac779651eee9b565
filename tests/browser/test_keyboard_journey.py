"""Logging an interaction with the keyboard alone: no click, no fill, no focus() by the test.

After the one `goto` to the sign-in page every step is a key press, as a user without a mouse
(or with a screen reader) works: Tab to reach a control, typing, ↓ and Enter in the picker,
Enter or Space on a button. The test then checks what the database holds.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from crm.access import Role
from crm.extensions import db
from crm.models import Interaction
from tests.conftest import PASSWORD

TABS_AT_MOST = 80


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => { const el = document.activeElement;
        return {id: el.id || "", tag: el.tagName, type: el.type || "",
                text: (el.innerText || el.value || "").trim()}; }"""
    )


def tab_to(page: Page, *, id: str | None = None, text: str | None = None) -> None:
    """Press Tab until the control with this id (or this text) has the focus."""
    for _ in range(TABS_AT_MOST):
        page.keyboard.press("Tab")
        now = focused(page)
        if (id is not None and now["id"] == id) or (text is not None and now["text"] == text):
            return
    raise AssertionError(f"Tab never reached {id or text!r} in {TABS_AT_MOST} presses")


@pytest.mark.parametrize("press", ["Enter", "Space"])
def test_a_keyboard_user_logs_an_interaction_with_the_picker(
    page: Page, app: Flask, make_user, make_organisation, make_person, press: str
):
    bright = make_organisation(display_name="Bright Electronics")
    make_person(family_name="Wang", given_name="Fang")
    user = make_user(Role.member)

    page.goto("/login")
    assert focused(page)["id"] == "email"  # the form opens on its first field
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: not url.endswith("/login"))

    tab_to(page, text="Log an interaction")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/interactions/new$"))

    tab_to(page, id="occurred_at")
    # A date-and-time box, typed segment by segment: day and month (the same number, so the
    # browser's order of the two does not matter), year, then hours and minutes.
    page.keyboard.type("03032026")
    page.keyboard.press("ArrowRight")
    # "a" picks AM where the clock has an AM/PM part (it keeps the current half of the
    # day otherwise); a 24-hour clock ignores it.
    page.keyboard.type("1030a")
    expect(page.locator("#occurred_at")).to_have_value("2026-03-03T10:30")

    tab_to(page, id="stakeholders")
    page.keyboard.type("Bright")
    option = page.get_by_role("option", name=re.compile("Bright Electronics"))
    expect(option).to_be_visible()
    page.keyboard.press("ArrowDown")
    box = page.locator("#stakeholders")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id") or "")
    page.keyboard.press("Enter")  # picks the record; the form is not sent
    chips = page.locator('.picker[data-name="stakeholders"] .picker-chip')
    expect(chips).to_have_text([re.compile("Bright Electronics")])
    expect(page).to_have_url(re.compile(r"/interactions/new$"))

    tab_to(page, id="subject")
    page.keyboard.type("Keyboard-only visit")

    tab_to(page, id="submit")
    page.keyboard.press(press)
    page.wait_for_url(re.compile(r"/interactions/\d+$"))
    expect(page.get_by_role("heading", name="Keyboard-only visit")).to_be_visible()

    with app.app_context():
        saved = db.session.scalars(
            db.select(Interaction).where(Interaction.subject == "Keyboard-only visit")
        ).one()
        assert [s.id for s in saved.stakeholders] == [bright.id]
        assert saved.occurred_at.strftime("%Y-%m-%d") == "2026-03-03"


def test_enter_in_a_picker_with_a_name_not_chosen_never_sends_the_form(
    page: Page, log_in, make_user
):
    log_in(make_user(Role.member))
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    page.goto("/follow-ups/new")
    tab_to(page, id="title")
    page.keyboard.type("Call the union")
    tab_to(page, id="stakeholder_id")
    page.keyboard.type("Nobody by this name")
    expect(page.get_by_role("option", name="No match")).to_be_visible()
    page.keyboard.press("Enter")  # the list is open: Enter picks nothing and sends nothing
    page.keyboard.press("Escape")
    expect(page.get_by_role("option", name="No match")).to_be_hidden()
    expect(page.locator("#stakeholder_id")).to_have_value("Nobody by this name")
    page.keyboard.press("Enter")  # closed, but typed and not chosen: looked up again, not sent
    expect(page.get_by_role("option", name="No match")).to_be_visible()
    page.wait_for_timeout(300)
    assert posts == []
    expect(page).to_have_url(re.compile(r"/follow-ups/new$"))
