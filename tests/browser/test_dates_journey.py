"""Issue 16, item 1, in the browser: a date box holding 30 February keeps its form from being
sent, says so at the field, and loses nothing the user typed.

Chromium sends a date box holding a day that does not exist as an empty value, so without
static/js/dates.js the person below would be saved without a consent date, silently.
Playwright's fill() refuses such a date, so the test types it segment by segment, as a
person does.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from crm.extensions import db
from crm.models import Interaction, Person

DATE_MESSAGE = "Give a real date, such as 2026-03-31."
DATETIME_MESSAGE = "Give a real date and time, such as 2026-03-31 14:30."


def type_thirtieth_of_february(box: Locator, start: str) -> None:
    """Turn the box's date into 30 February with the keyboard, keeping its year (and time).

    `start` is a valid value (2026-01-01, or 2026-01-01T10:00) to begin from. Chromium orders
    the segments by its own locale, month first here and day first for many users: typing
    11 and 05 into the first two segments tells which.
    """
    box.fill(start)
    box.click(position={"x": 16, "y": 10})  # the first segment
    box.page.keyboard.type("1105")
    month_first = box.input_value()[5:10] == "11-05"
    box.fill(start)
    box.click(position={"x": 16, "y": 10})
    box.page.keyboard.type("0230" if month_first else "3002")
    assert box.evaluate("box => box.validity.badInput"), box.input_value()


def _posts(page: Page, path: str) -> list[str]:
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.url)
            if request.method == "POST" and urlsplit(request.url).path == path
            else None
        ),
    )
    return sent


def _refused_at_field(page: Page, box: Locator, message: str) -> None:
    """The box is marked, says why, is linked to its message and has the focus."""
    feedback = box.locator("xpath=following-sibling::div[contains(@class, 'invalid-feedback')]")
    expect(feedback).to_have_text(message)
    expect(feedback).to_be_visible()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_class(re.compile(r"\bis-invalid\b"))
    described = box.get_attribute("aria-describedby") or ""
    assert feedback.get_attribute("id") in described.split()
    expect(box).to_be_focused()
    assert box.evaluate("box => box.validity.badInput")  # what was typed is still there


def test_member_cannot_save_a_person_with_30_february_as_consent_date(
    page: Page, log_in, make_user, app
):
    log_in(make_user("member", name="Li Na"))
    page.goto("/people/new")
    sent = _posts(page, "/people/new")
    form = page.locator("form.card")
    form.get_by_label("Family name").fill("Zhou")
    form.get_by_label("Given name").fill("Xiaohong")
    form.get_by_label("Job title").fill("HR manager")
    form.get_by_label("Consent to keep their data").select_option("given")
    consent_on = form.get_by_label("Consent date")
    type_thirtieth_of_february(consent_on, "2026-01-01")

    form.get_by_role("button", name="Save").click()

    _refused_at_field(page, consent_on, DATE_MESSAGE)
    assert urlsplit(page.url).path == "/people/new" and sent == []
    expect(form.get_by_label("Family name")).to_have_value("Zhou")
    expect(form.get_by_label("Job title")).to_have_value("HR manager")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0

    # A real day clears the message, and the person is saved with it.
    consent_on.fill("2026-02-28")
    expect(consent_on).not_to_have_attribute("aria-invalid", "true")
    expect(form.locator(".invalid-feedback")).to_have_count(0)
    form.get_by_role("button", name="Save").click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/people/new")
    expect(page.get_by_role("main")).to_contain_text("28 Feb 2026")
    with app.app_context():
        person = db.session.scalar(sa.select(Person))
        assert person is not None and person.consent_on.isoformat() == "2026-02-28"


def test_member_cannot_log_an_interaction_on_30_february(page: Page, log_in, make_user, app):
    log_in(make_user("member", name="Li Na"))
    page.goto("/interactions/new")
    sent = _posts(page, "/interactions/new")
    form = page.locator("form.card")
    form.get_by_label("Subject").fill("工时座谈")
    when = form.get_by_label("When")
    type_thirtieth_of_february(when, "2026-01-01T10:00")  # only the day is wrong

    form.get_by_label("Subject").press("Enter")  # Enter in a text box sends the form too

    _refused_at_field(page, when, DATETIME_MESSAGE)
    assert urlsplit(page.url).path == "/interactions/new" and sent == []
    expect(form.get_by_label("Subject")).to_have_value("工时座谈")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Interaction)) == 0


def test_manager_cannot_ask_for_a_report_from_30_february(page: Page, log_in, make_user):
    """The report's form leaves checking to the browser (no `novalidate`): its own bubble
    and the message at the field say the same."""
    log_in(make_user("manager", name="Chen Jing"))
    page.goto("/reports?start=2026-01-01&end=2026-03-31")
    form = page.get_by_test_id("report-form")
    start = form.get_by_label("From")
    type_thirtieth_of_february(start, "2026-01-01")

    form.get_by_role("button", name="Show report").click()

    _refused_at_field(page, start, DATE_MESSAGE)
    assert start.evaluate("box => box.validationMessage") == DATE_MESSAGE
    assert urlsplit(page.url).query == "start=2026-01-01&end=2026-03-31"
    expect(form.get_by_label("To", exact=True)).to_have_value("2026-03-31")
