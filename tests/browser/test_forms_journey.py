"""Issue 16 in the browser. Item 5: a double click on Save sends the form once, creates one
organisation and shows it; coming back to the form, Save works again (a second post that
gets through all the same lands on the record: tests/test_double_submit.py). Item 9: a file
the import page's background upload refuses is an error at the field, in red."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, Route, expect

from crm.extensions import db
from crm.models import Organisation

NAME = "Ningbo Knitwear Co., Ltd."


def test_a_double_click_on_save_makes_one_organisation_and_lands_on_it(
    page: Page, log_in, make_user, app: Flask
):
    log_in(make_user("member", name="Chen Jing"))
    page.goto("/organisations/new")
    page.get_by_label("Name (English)").fill(NAME)
    page.get_by_label("Type", exact=True).select_option(label="Enterprise")
    page.get_by_label("Sector", exact=True).select_option(label="Textile and garment")

    # The post is held on its way, as a slow network would: the user clicks again meanwhile.
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/organisations/new$"), hold)
    save = page.get_by_role("button", name="Save")
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # The mouse, not Locator.click: it would wait for the held navigation.
    page.mouse.click(x, y)
    page.wait_for_timeout(150)  # a double click's second click, whatever the button's state
    page.mouse.click(x, y)
    page.wait_for_timeout(300)
    assert len(held) == 1, f"the form was sent {len(held)} times"
    held[0].continue_()

    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(page.get_by_text(f"Organisation “{NAME}” created.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)
    expect(page.get_by_test_id("duplicate-candidates")).to_have_count(0)
    with app.app_context():
        stmt = sa.select(sa.func.count()).where(Organisation.display_name == NAME)
        assert db.session.scalar(stmt) == 1

    # Back to the form (from the browser's cache, as it was left): Save is usable again.
    page.go_back()
    expect(page.get_by_role("heading", name="New organisation")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_be_enabled()


def test_an_upload_refused_in_the_background_is_an_error_at_the_field(
    page: Page, log_in, make_user
):
    log_in(make_user("coordinator", name="Chen Jing"))
    page.goto("/imports")
    field = page.get_by_label("File", exact=True)
    field.set_input_files(
        {"name": "attendance.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 x"}
    )
    page.get_by_role("button", name="Upload and preview").click()

    error = page.locator("#file-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not a .pdf file")
    expect(field).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", re.compile(r"\bfile-error\b"))
    expect(field).to_be_focused()
    expect(page).to_have_url(re.compile(r"/imports$"))  # nothing was staged
    # Red, not the grey of the help text below it.
    red, green, blue = _rgb(error.evaluate("e => getComputedStyle(e).color"))
    assert red > 150 and red > green + 80 and red > blue + 80, (red, green, blue)
    help_color = page.locator("#file-help").evaluate("e => getComputedStyle(e).color")
    assert _rgb(help_color) != (red, green, blue)

    # Another file clears the error.
    field.set_input_files({"name": "people.csv", "mimeType": "text/csv", "buffer": b"Name\nA"})
    expect(error).to_have_text("")
    expect(field).not_to_have_attribute("aria-invalid", "true")


def _rgb(css: str) -> tuple[int, int, int]:
    red, green, blue = (int(n) for n in re.findall(r"\d+", css)[:3])
    return red, green, blue
