"""The staff present are chosen with the chip picker (issue 16, item 6): the author is there
from the start and stays when a colleague is added; the whole pass works from the keyboard;
each follow-up row's "About" select follows the stakeholders chosen; a follow-up is completed
from a list with its note, from the keyboard."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.extensions import db
from crm.models import FollowUp, Interaction, User
from crm.services import follow_ups


def _chips(page: Page, name: str):
    return page.locator(f'.picker[data-name="{name}"] .picker-chip')


def _option(page: Page, menu: str, name: str):
    """An option of one picker's list (the follow-up rows' selects hold options too)."""
    return page.locator(f"#{menu}").get_by_role("option", name=name)


def _pick(page: Page, label: str, query: str, choice: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(query)
    option = _option(page, box.get_attribute("aria-controls") or "", choice)
    expect(option).to_be_visible()
    option.click()


def _saved(in_app):
    with in_app():
        interaction = db.session.scalar(sa.select(Interaction))
        assert interaction is not None, "nothing was saved"
        return (
            interaction.subject,
            sorted(u.name for u in interaction.staff),
            [s.display_name for s in interaction.stakeholders],
        )


def test_member_adds_a_colleague_and_stays_among_the_staff_present(
    page: Page, log_in, make_user, make_person, in_app
):
    author = make_user("member", name="Li Na")
    make_user("member", name="Zhang Wei")
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    log_in(author)
    page.goto("/interactions/new")
    expect(_chips(page, "staff")).to_have_text(["Li Na"])

    _pick(page, "Staff present", "zhang", "Zhang Wei")
    expect(_chips(page, "staff")).to_have_text(["Li Na", "Zhang Wei"])
    _pick(page, "With", "wangfang", "Wang Fang")
    expect(_chips(page, "stakeholders")).to_have_text(["Wang Fang 王芳"])
    page.get_by_label("Subject").fill("Peak-season overtime")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Interaction “Peak-season overtime” logged.")).to_be_visible()
    expect(page.get_by_text("Staff present: Li Na, Zhang Wei")).to_be_visible()
    assert _saved(in_app) == ("Peak-season overtime", ["Li Na", "Zhang Wei"], ["Wang Fang"])


def test_the_staff_picker_works_from_the_keyboard_alone(
    page: Page, log_in, make_user, make_person, in_app
):
    author = make_user("member", name="Li Na")
    make_user("member", name="Zhang Wei")
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    log_in(author)
    page.goto("/interactions/new")
    keyboard = page.keyboard

    # The stakeholder, from the keyboard: type, the first match is highlighted, Enter picks.
    page.get_by_label("With", exact=True).focus()
    keyboard.type("wangfang")
    expect(_option(page, "stakeholders-menu", "Wang Fang")).to_be_visible()
    keyboard.press("Enter")
    expect(_chips(page, "stakeholders")).to_have_count(1)
    keyboard.press("Tab")
    expect(page.get_by_label("Subject")).to_be_focused()
    keyboard.type("Peak-season overtime")

    # Past the summary and the outcome to the author's chip, then into the staff box.
    keyboard.press("Tab")
    keyboard.press("Tab")
    expect(page.get_by_label("Outcome")).to_be_focused()
    keyboard.press("Tab")
    expect(page.get_by_role("button", name="Remove Li Na")).to_be_focused()
    keyboard.press("Tab")
    staff = page.get_by_label("Staff present", exact=True)
    expect(staff).to_be_focused()

    # Enter with nothing to pick sends nothing; Escape closes the list and keeps the text.
    keyboard.type("zhang")
    expect(_option(page, "staff-menu", "Zhang Wei")).to_be_visible()
    expect(staff).to_have_attribute("aria-activedescendant", "staff-menu-0")
    keyboard.press("Escape")
    expect(page.locator("#staff-menu")).to_be_hidden()
    expect(staff).to_have_value("zhang")
    keyboard.press("Enter")
    assert page.url.endswith("/interactions/new")

    # Pick the colleague, remove them by their chip's button, pick them again.
    keyboard.press("Backspace")
    expect(_option(page, "staff-menu", "Zhang Wei")).to_be_visible()
    keyboard.press("ArrowDown")
    keyboard.press("Enter")
    expect(_chips(page, "staff")).to_have_text(["Li Na", "Zhang Wei"])
    expect(staff).to_be_focused()
    keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Remove Zhang Wei")).to_be_focused()
    keyboard.press("Enter")
    expect(_chips(page, "staff")).to_have_text(["Li Na"])
    expect(staff).to_be_focused()
    keyboard.type("wei")
    expect(_option(page, "staff-menu", "Zhang Wei")).to_be_visible()
    keyboard.press("Enter")
    expect(_chips(page, "staff")).to_have_text(["Li Na", "Zhang Wei"])

    # On to the next field and send the form from there with Enter.
    keyboard.press("Tab")
    expect(page.get_by_label("Programme activity")).to_be_focused()
    keyboard.press("Enter")
    expect(page.get_by_text("Interaction “Peak-season overtime” logged.")).to_be_visible()
    assert _saved(in_app) == ("Peak-season overtime", ["Li Na", "Zhang Wei"], ["Wang Fang"])


def test_a_follow_up_row_offers_the_stakeholders_chosen_above(
    page: Page, log_in, make_user, make_person, make_organisation, in_app
):
    author = make_user("member", name="Li Na")
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    harmony = make_organisation(
        display_name="Dongguan Harmony Garments", chinese_name="东莞和谐服装"
    )
    log_in(author)
    page.goto("/interactions/new")
    about = page.get_by_label("About", exact=True)
    expect(about.locator("option")).to_have_text(["All of them"])

    _pick(page, "With", "wangfang", "Wang Fang")
    _pick(page, "With", "和谐", "Dongguan Harmony Garments")
    expect(about.locator("option")).to_have_text(
        ["All of them", "Wang Fang 王芳", "Dongguan Harmony Garments 东莞和谐服装"]
    )
    about.select_option(label="Dongguan Harmony Garments 东莞和谐服装")
    # Removing the other stakeholder keeps the choice; removing the chosen one resets it.
    page.get_by_role("button", name="Remove Wang Fang 王芳").click()
    expect(about).to_have_value(str(harmony.id))
    expect(about.locator("option")).to_have_text(
        ["All of them", "Dongguan Harmony Garments 东莞和谐服装"]
    )
    _pick(page, "With", "wangfang", "Wang Fang")
    about.select_option(label="Dongguan Harmony Garments 东莞和谐服装")

    page.get_by_label("Subject").fill("Peak-season overtime")
    page.get_by_label("Follow-up", exact=True).fill("Send the training invitation")
    page.get_by_label("Due", exact=True).fill("2031-03-10")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Interaction “Peak-season overtime” logged.")).to_be_visible()
    with in_app():
        follow_up = db.session.scalar(sa.select(FollowUp))
        assert follow_up.stakeholder.display_name == "Dongguan Harmony Garments"


def test_a_follow_up_is_completed_from_the_list_with_its_note_by_keyboard(
    page: Page, log_in, make_user, in_app
):
    member = make_user("member", name="Li Na")
    with in_app():
        me = db.session.get(User, member.id)
        follow_ups.create(
            {"title": "Call the union", "due_on": date(2031, 1, 5), "assignee_id": me.id},
            actor=me,
        )
    log_in(member)
    page.goto("/follow-ups")
    row = page.get_by_test_id("follow-up").filter(has_text="Call the union")
    complete = row.locator("summary", has_text="Complete")
    complete.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Completion note (optional)")).to_be_focused()
    page.keyboard.type("Agreed a date by WeChat")
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Mark as done")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("“Call the union” is done.")).to_be_visible()
    with in_app():
        done = db.session.scalar(sa.select(FollowUp))
        assert done.status == "done" and done.completion_note == "Agreed a date by WeChat"
