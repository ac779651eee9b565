"""Dates never vanish and read the same everywhere (issue 16, item 1).

An impossible date (30 February) posted to any form with a date is refused at its field, in
a text box that still holds what was typed (a date box would show it empty), with every
other value kept and nothing written. Pages show dates as "1 Dec 2026" and times on a
24-hour clock in English, "2026年12月1日" in Chinese, never "12/1/26" or "9:30 AM".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm import forms
from crm.extensions import db
from crm.models import (
    Activity,
    Affiliation,
    AuditEvent,
    Consent,
    FollowUp,
    Interaction,
    Language,
    Person,
    StakeholderRelationship,
    User,
)
from crm.services import clock, follow_ups, interactions, mail, reminders

IMPOSSIBLE = "2026-02-30"
DATE_MESSAGE = "Give a real date, such as 2026-03-31."
DATETIME_MESSAGE = "Give a real date and time, such as 2026-03-31 14:30."

# What the old filters printed: "12/1/26, 9:30 AM", "3/12/25", "Dec 18, 2026".
OLD_FORMATS = [
    re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"),
    re.compile(r"\d\s?(AM|PM)\b"),
    re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}, \d{4}\b"),
    re.compile(r"上午|下午"),
]


# ---------------------------------------------------------------------------------------------
# Reading a page
# ---------------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str], int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        offset = sum(len(line) + 1 for line in self.rawdata.splitlines()[: self.getpos()[0] - 1])
        self.tags.append((tag, {k: v or "" for k, v in attrs}, offset + self.getpos()[1]))


def _box(page: str, field_id: str) -> tuple[dict[str, str], str]:
    """The attributes of the input with `field_id`, and the page text after it up to the next
    form control (where its message sits)."""
    parser = _Tags()
    parser.feed(page)
    controls = [t for t in parser.tags if t[0] in ("input", "select", "textarea", "button")]
    for index, (tag, attrs, offset) in enumerate(controls):
        if tag == "input" and attrs.get("id") == field_id:
            end = controls[index + 1][2] if index + 1 < len(controls) else len(page)
            return attrs, page[offset:end]
    raise AssertionError(f"no input with id={field_id!r} on the page")


def assert_refused_at_field(page: str, field_id: str, typed: str, message: str) -> None:
    """The field shows what was typed in a text box, marked invalid, with its message."""
    attrs, after = _box(page, field_id)
    assert attrs["value"] == typed, attrs
    assert attrs["type"] == "text", attrs  # a date box would show the text empty
    assert "is-invalid" in attrs["class"] and attrs.get("aria-invalid") == "true", attrs
    assert re.search(r'class="invalid-feedback[^"]*">\s*' + re.escape(message), after), after


def _count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _nothing_written(in_app: Any, model: Any, *, events: int = 0) -> None:
    """No `model` row, and no audit event beyond the `events` the test set up."""
    with in_app():
        assert _count(model) == 0
        assert _count(AuditEvent) == events


@pytest.fixture
def wang(make_person: Any) -> Person:
    return make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")


# ---------------------------------------------------------------------------------------------
# Impossible dates are refused at the field, what was typed is kept, nothing is written
# ---------------------------------------------------------------------------------------------


def _person_form(**over: str) -> dict[str, str]:
    return {
        "version": "0",
        "family_name": "Wang",
        "given_name": "Fang",
        "chinese_name": "王芳",
        "job_title": "HR manager",
        "email": "wang.fang@example.cn",
        "consent": "given",
        "consent_on": IMPOSSIBLE,
        "consent_source": "Sign-in sheet, March training",
        "influence": "3",
        "interest": "4",
        **over,
    }


def test_member_cannot_save_a_person_with_an_impossible_consent_date(login_as, in_app):
    response = login_as("member").post("/people/new", data=_person_form())
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "consent_on", IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="HR manager"' in page and "Sign-in sheet, March training" in page
    _nothing_written(in_app, Person)


def test_member_cannot_replace_a_consent_date_with_an_impossible_one(login_as, wang, in_app):
    client = login_as("member")
    with in_app():
        person = db.session.get(Person, wang.id)
        person.consent_on = date(2025, 3, 1)
        db.session.commit()
        version = person.version
    response = client.post(
        f"/people/{wang.id}/edit",
        data=_person_form(version=str(version), job_title="Head of HR"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "consent_on", IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="Head of HR"' in page
    with in_app():
        person = db.session.get(Person, wang.id)
        assert person.consent_on == date(2025, 3, 1) and person.job_title is None


def test_chinese_user_is_told_at_the_field_in_chinese(app, login_as, in_app):
    with app.test_request_context(), force_locale("zh"):
        chinese = str(forms.DATE_MESSAGE)  # English until translated: test_i18n says so
    response = login_as("member", locale="zh").post("/people/new", data=_person_form())
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "consent_on", IMPOSSIBLE, chinese)
    _nothing_written(in_app, Person)


def test_member_cannot_save_a_follow_up_due_on_an_impossible_date(login_as, in_app):
    client = login_as("member")
    response = client.post(
        "/follow-ups/new",
        data={
            "version": "0",
            "title": "Share the OSH checklist",
            "due_on": IMPOSSIBLE,
            "assignee_id": str(client.user.id),
            "priority": "high",
            "details": "Bring the Chinese version",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "due_on", IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="Share the OSH checklist"' in page and "Bring the Chinese version" in page
    assert re.search(r'<option[^>]*selected[^>]*value="high"|value="high"[^>]*selected', page)
    _nothing_written(in_app, FollowUp)


def _activity_form(**over: str) -> dict[str, str]:
    return {
        "version": "0",
        "type": "mou",
        "title": "MoU with the labour bureau",
        "status": "planned",
        "start_on": "2026-03-04",
        "end_on": "",
        "city": "Suzhou",
        "description": "Two days on fire safety and chemicals.",
        "signed_on": "2026-03-04",
        "expires_on": "2027-03-03",
        "agreement_status": "signed",
        **over,
    }


@pytest.mark.parametrize("field", ["start_on", "end_on", "signed_on", "expires_on"])
def test_coordinator_cannot_save_an_activity_with_an_impossible_date(login_as, in_app, field):
    response = login_as("coordinator").post(
        "/activities/new", data=_activity_form(**{field: IMPOSSIBLE})
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, field, IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="MoU with the labour bureau"' in page and 'value="Suzhou"' in page
    assert "Two days on fire safety and chemicals." in page
    _nothing_written(in_app, Activity)


def _interaction_form(stakeholder_id: int, **over: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "channel": "meeting",
        "direction": "outbound",
        "occurred_at": "2026-03-04T10:00",
        "stakeholders": [str(stakeholder_id)],
        "subject": "工时座谈",
        "summary": "讨论加班时长与工资",
        **over,
    }


@pytest.mark.parametrize(
    "typed", [f"{IMPOSSIBLE}T10:00", f"{IMPOSSIBLE} 10:00", "2026-03-04T25:00"]
)
def test_member_cannot_log_an_interaction_at_an_impossible_moment(login_as, wang, in_app, typed):
    with in_app():
        events = _count(AuditEvent)
    response = login_as("member").post(
        "/interactions/new", data=_interaction_form(wang.id, occurred_at=typed)
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "occurred_at", typed, DATETIME_MESSAGE)
    assert 'value="工时座谈"' in page and "讨论加班时长与工资" in page
    assert "Fang Wang" in page or "王芳" in page  # the chosen stakeholder stays chosen
    _nothing_written(in_app, Interaction, events=events)


def test_member_cannot_add_a_follow_up_due_on_an_impossible_date_to_an_interaction(
    login_as, wang, in_app
):
    client = login_as("member")
    with in_app():
        events = _count(AuditEvent)
    response = client.post(
        "/interactions/new",
        data=_interaction_form(
            wang.id,
            **{
                "follow_ups-0-title": "Send the training dates",
                "follow_ups-0-due_on": IMPOSSIBLE,
                "follow_ups-0-assignee_id": str(client.user.id),
                "follow_ups-0-priority": "normal",
            },
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "follow_ups-0-due_on", IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="Send the training dates"' in page and 'value="工时座谈"' in page
    with in_app():
        assert _count(Interaction) == 0 and _count(FollowUp) == 0
        assert _count(AuditEvent) == events


def test_member_cannot_add_a_relationship_since_an_impossible_date(
    login_as, wang, make_organisation, in_app
):
    org = make_organisation(display_name="Harmony Garments")
    with in_app():
        before = _count(AuditEvent)
    response = login_as("member").post(
        f"/stakeholders/{org.id}/relationships",
        data={
            "rel-type": "supplier_to",
            "rel-target_id": str(wang.id),
            "rel-target_id__label": "Wang Fang 王芳",
            "rel-start_on": IMPOSSIBLE,
            "rel-note": "Since the 2026 audit",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "rel-start_on", IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="Since the 2026 audit"' in page
    with in_app():
        assert _count(StakeholderRelationship) == 0 and _count(AuditEvent) == before


def test_member_cannot_add_a_position_from_an_impossible_date(
    login_as, wang, make_organisation, in_app
):
    org = make_organisation(display_name="Harmony Garments")
    with in_app():
        before = _count(AuditEvent)
    response = login_as("member").post(
        f"/stakeholders/{wang.id}/affiliations",
        data={
            "aff-organisation_id": str(org.id),
            "aff-organisation_id__label": "Harmony Garments",
            "aff-title": "HR manager",
            "aff-start_on": IMPOSSIBLE,
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_refused_at_field(page, "aff-start_on", IMPOSSIBLE, DATE_MESSAGE)
    assert 'value="HR manager"' in page
    with in_app():
        assert _count(Affiliation) == 0 and _count(AuditEvent) == before


def test_a_report_for_an_impossible_period_keeps_what_was_typed(login_as):
    response = login_as("manager").get(f"/reports?start={IMPOSSIBLE}&end=2026-03-31&sector=textile")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    attrs, _after = _box(page, "start")
    assert (
        attrs["type"] == "text" and attrs["value"] == IMPOSSIBLE and "is-invalid" in attrs["class"]
    )
    assert f"“{IMPOSSIBLE}” is not a date" in page
    end, _after = _box(page, "end")
    assert end["type"] == "date" and end["value"] == "2026-03-31"
    assert re.search(r'<option[^>]*value="textile"[^>]*selected', page)


def test_every_date_box_says_what_to_give_when_the_browser_finds_no_date(login_as):
    """static/js/dates.js reads the messages from its script tag, in the page's language."""
    page = login_as("member", locale="en").get("/follow-ups/new").get_data(as_text=True)
    script = re.search(r'<script src="/static/js/dates\.js"[^>]*>', page)
    assert script is not None
    assert f'data-message-date="{DATE_MESSAGE}"' in script.group(0)
    assert f'data-message-datetime-local="{DATETIME_MESSAGE}"' in script.group(0)
    attrs, _after = _box(page, "due_on")
    assert attrs["type"] == "date" and attrs.get("data-date-box") == "date"


# ---------------------------------------------------------------------------------------------
# Dates read the same everywhere
# ---------------------------------------------------------------------------------------------

MOMENT = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
DAY = date(2026, 12, 1)


@pytest.fixture
def dated(app, wang, make_user, in_app) -> dict[str, int]:
    """A person with a consent date, an interaction and a follow-up, all on 1 December 2026."""
    author = make_user("member", name="Li Lei")
    with in_app():
        actor = db.session.get(User, author.id)
        person = db.session.get(Person, wang.id)
        person.consent = Consent.given
        person.consent_on = DAY
        db.session.commit()
        interaction = interactions.log_interaction(
            {
                "occurred_at": MOMENT,
                "channel": "meeting",
                "subject": "Worker representatives",
                "stakeholder_ids": [wang.id],
            },
            actor=actor,
        )
        follow_up = follow_ups.create(
            {
                "title": "Send the checklist",
                "due_on": DAY,
                "assignee_id": actor.id,
                "stakeholder_id": wang.id,
            },
            actor=actor,
        )
        return {
            "person": wang.id,
            "interaction": interaction.id,
            "follow_up": follow_up.id,
        }


def _pages(dated: dict[str, int]) -> list[str]:
    return [
        f"/people/{dated['person']}",
        f"/interactions/{dated['interaction']}",
        "/interactions",
        f"/follow-ups/{dated['follow_up']}",
        "/follow-ups/mine",
        "/",
        "/people",
        "/activities/calendar?month=2026-12",
        "/reports?start=2026-10-01&end=2026-12-31",
        "/admin/users",
    ]


def _assert_no_old_format(url: str, page: str) -> None:
    text = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)  # attributes hold ISO dates for machines
    for pattern in OLD_FORMATS:
        found = pattern.search(text)
        assert found is None, f"{url} shows {found.group(0)!r}"


def test_english_pages_show_day_month_year_and_a_24_hour_clock(login_as, dated):
    client = login_as("admin", locale="en")
    person = client.get(f"/people/{dated['person']}").get_data(as_text=True)
    assert "1 Dec 2026" in person  # the consent date
    interaction = client.get(f"/interactions/{dated['interaction']}").get_data(as_text=True)
    assert "1 Dec 2026, 09:30" in interaction
    listed = client.get("/interactions").get_data(as_text=True)
    assert "1 Dec 2026, 09:30" in listed
    follow_up = client.get(f"/follow-ups/{dated['follow_up']}").get_data(as_text=True)
    assert "due 1 Dec 2026" in follow_up
    for url in _pages(dated):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_no_old_format(url, response.get_data(as_text=True))


def test_chinese_pages_show_year_month_day(login_as, dated):
    client = login_as("admin", locale="zh")
    person = client.get(f"/people/{dated['person']}").get_data(as_text=True)
    assert "2026年12月1日" in person
    interaction = client.get(f"/interactions/{dated['interaction']}").get_data(as_text=True)
    assert "2026年12月1日 09:30" in interaction
    listed = client.get("/interactions").get_data(as_text=True)
    assert "2026年12月1日 09:30" in listed
    follow_up = client.get(f"/follow-ups/{dated['follow_up']}").get_data(as_text=True)
    assert "2026年12月1日" in follow_up
    for url in _pages(dated):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_no_old_format(url, response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("locale", "heading", "previous", "weekday"),
    [
        ("en", "December 2026", "November 2026", "Mon"),
        ("zh", "2026年12月", "2026年11月", "周一"),
    ],
)
def test_the_month_calendar_names_its_month_in_the_users_language(
    login_as, locale, heading, previous, weekday
):
    page = login_as("viewer", locale=locale).get("/activities/calendar?month=2026-12")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(rf'data-testid="month">\s*{heading}\s*<', text)
    assert previous in text
    assert re.search(rf"<th[^>]*>\s*{weekday}\s*</th>", text)
    assert "十二月" not in text


@pytest.mark.parametrize(
    ("locale", "due"), [("en", "- 1 Dec 2026  Send the checklist"), ("zh", "- 2026年12月1日")]
)
def test_reminder_emails_show_the_due_date_in_the_users_language(
    app, dated, make_user, in_app, locale, due
):
    with in_app():
        follow_up = db.session.get(FollowUp, dated["follow_up"])
        follow_up.assignee.locale = Language(locale)
        message = reminders.compose(
            reminders.Digest(follow_up.assignee, [follow_up]),
            today=date(2026, 11, 30),
            settings=mail.Settings(server="localhost", port=25, sender="crm@example.org"),
            base_url="https://crm.example.org",
        )
        assert due in message.get_content()


# ---------------------------------------------------------------------------------------------
# The one rule: crm.services.clock.display
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "style", "english", "chinese"),
    [
        (DAY, "date", "1 Dec 2026", "2026年12月1日"),
        (MOMENT, "datetime", "1 Dec 2026, 09:30", "2026年12月1日 09:30"),
        (MOMENT, "date", "1 Dec 2026", "2026年12月1日"),  # the day in Shanghai
        (datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "date", "1 Dec 2026", "2026年12月1日"),
        (datetime(2026, 12, 1, 13, 5), "time", "21:05", "21:05"),  # noqa: DTZ001 naive: UTC
        (DAY, "day", "1 Dec", "12月1日"),
        (DAY, "weekday", "Tue", "周二"),
        (DAY, "month", "Dec 2026", "2026年12月"),
        (DAY, "month_long", "December 2026", "2026年12月"),
        (DAY, "month_name", "Dec", "12月"),
        (date(2026, 9, 7), "date", "7 Sep 2026", "2026年9月7日"),
    ],
)
def test_display_reads_the_same_in_every_caller(value, style, english, chinese):
    assert clock.display(value, style, locale="en") == english
    assert clock.display(value, style, locale="en_GB") == english
    assert clock.display(value, style, locale="zh") == chinese
    assert clock.display(None, style, locale="zh") == ""


def test_display_refuses_a_style_it_does_not_know():
    with pytest.raises(KeyError):
        clock.display(DAY, "medium", locale="en")
    with pytest.raises(TypeError):
        clock.display(DAY, "datetime", locale="en")


def test_every_template_names_a_known_date_style():
    """`|date('medium')` or `|datetime('short')` would bring back the ambiguous forms."""
    root = Path(__file__).resolve().parents[1] / "templates"
    used = {
        (path.relative_to(root).as_posix(), style)
        for path in root.rglob("*.html")
        for style in re.findall(r"\|\s*date(?:time)?\s*\(\s*['\"]([^'\"]*)['\"]", path.read_text())
    }
    unknown = sorted((path, style) for path, style in used if style not in clock.STYLES)
    assert unknown == []
