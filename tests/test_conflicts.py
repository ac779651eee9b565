"""Issue 16, item 2: a stale edit speaks the user's language, for every record type.

Each test opens an edit page, lets someone else save a newer version meanwhile, then posts the
form it read (the old `version`) as a browser would. The 409 page must show one conflict table
whose every value reads as the user knows it: enum values by their labels, users and linked
records by name, yes/no in words, dates formatted as the pages format them; in English and,
for a user whose profile says Chinese, in Chinese. Never the stored codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityStatus,
    ActivityType,
    AgreementStatus,
    Channel,
    Consent,
    EngagementLevel,
    FollowUp,
    Gender,
    Indicator,
    Interaction,
    Language,
    Metric,
    Organisation,
    OrgType,
    Ownership,
    Person,
    Priority,
    Sector,
    User,
    label,
)
from crm.services import accounts, activities, follow_ups, interactions, stakeholders, topics
from crm.services.reporting import indicators
from tests.markup import by_testid, edit_form

LOCALES = ["en", "zh"]


@pytest.fixture
def say(app: Flask) -> Callable[[str, Callable[[], Any]], str]:
    """`say(locale, lambda: ...)`: a text as the app renders it in that language."""

    def render(locale: str, make: Callable[[], Any]) -> str:
        with app.test_request_context(), force_locale(locale):
            return str(make())

    return render


@pytest.fixture
def staff(make_user) -> tuple[User, User]:
    return make_user(Role.member, name="Li Na"), make_user(Role.member, name="Zhang Wei")


def _stale_edit(client, in_app, url: str, *, meanwhile: Callable[[], None], change: dict) -> str:
    """Read the edit form, let `meanwhile` save a newer version, post the form read with
    `change`: the conflict page (409)."""
    opened = client.get(url)
    assert opened.status_code == 200
    form = edit_form(opened.get_data(as_text=True))
    with in_app():
        meanwhile()
    form.update(
        {name: value if isinstance(value, list) else [value] for name, value in change.items()}
    )
    response = client.post(url, data=form)
    assert response.status_code == 409, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _table(html: str) -> tuple[dict[str, tuple[str, str]], str]:
    """{field label: (value saved now, your value)} of the conflict table, and its whole text."""
    box = by_testid(html, "conflict")
    rows = {}
    for tr in box.find_all(lambda t: t.name == "tr"):
        th = tr.find(lambda t: t.name == "th" and t.attrs.get("scope") == "row")
        if th is None:
            continue
        theirs = tr.find(lambda t: t.attrs.get("data-testid") == "theirs")
        yours = tr.find(lambda t: t.attrs.get("data-testid") == "yours")
        assert theirs is not None and yours is not None
        badge = theirs.find(lambda t: "badge" in t.attrs.get("class", ""))
        text = theirs.content
        if badge is not None:
            text = text.replace(badge.content, "").strip()
        rows[th.content] = (text, yours.content)
    return rows, box.content


def _no_codes(text: str, codes: list[str]) -> None:
    shown = [code for code in codes if re.search(rf"\b{re.escape(code)}\b", text)]
    assert not shown, f"raw values on the conflict page: {shown}\n{text}"


def _admin(actor: User) -> User:
    found = db.session.get(User, actor.id)
    assert found is not None
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_organisation_edit_shows_labels_and_names(
    login_as, make_organisation, staff, in_app, actor, say, locale
):
    li, zhang = staff
    parent = make_organisation(display_name="China National Textile and Apparel Council")
    org = make_organisation(
        display_name="Jiangsu Garment Association",
        org_type="industry_body",
        sector="textile",
        ownership="not_applicable",
        supply_chain_role="not_applicable",
        engagement_level="champion",
        owner_id=li.id,
        parent_id=parent.id,
    )

    def meanwhile() -> None:
        saved = db.session.get(Organisation, org.id)
        changes = {"org_type": "ngo", "sector": "electronics", "owner_id": zhang.id}
        stakeholders.update(saved, changes, version=saved.version, actor=_admin(actor))

    client = login_as(Role.member, locale=locale)
    html = _stale_edit(
        client,
        in_app,
        f"/organisations/{org.id}/edit",
        meanwhile=meanwhile,
        change={"city": "Wuxi"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    assert rows[t(lambda: gettext("Type"))] == (
        t(lambda: label(OrgType.ngo)),
        t(lambda: label(OrgType.industry_body)),
    )
    assert rows[t(lambda: gettext("Sector"))] == (
        t(lambda: label(Sector.electronics)),
        t(lambda: label(Sector.textile)),
    )
    not_applicable = t(lambda: label(Ownership.not_applicable))
    assert rows[t(lambda: gettext("Ownership"))] == (not_applicable, not_applicable)
    champion = t(lambda: label(EngagementLevel.champion))
    assert rows[t(lambda: gettext("Engagement level"))] == (champion, champion)
    assert rows[t(lambda: gettext("Relationship owner"))] == ("Zhang Wei", "Li Na")
    parent_name = "China National Textile and Apparel Council"
    assert rows[t(lambda: gettext("Parent organisation"))] == (parent_name, parent_name)
    assert rows[t(lambda: gettext("City"))] == ("—", "Wuxi")
    _no_codes(text, ["industry_body", "textile", "not_applicable", "champion", "ngo"])
    if locale == "zh":
        assert "行业" in text and "Industry body" not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_person_edit_shows_labels_names_and_dates(
    login_as, make_person, staff, in_app, actor, say, app, locale
):
    li, zhang = staff
    consent_on = date(2025, 11, 3)
    person = make_person(
        family_name="Zhou",
        given_name="Xiaohong",
        chinese_name="周小红",
        gender="female",
        preferred_language="zh",
        consent="given",
        consent_on=consent_on,
        engagement_level="champion",
        owner_id=li.id,
    )

    def meanwhile() -> None:
        saved = db.session.get(Person, person.id)
        changes = {"consent": "withdrawn", "gender": "undisclosed", "owner_id": zhang.id}
        stakeholders.update(saved, changes, version=saved.version, actor=_admin(actor))

    client = login_as(Role.member, locale=locale)
    html = _stale_edit(
        client,
        in_app,
        f"/people/{person.id}/edit",
        meanwhile=meanwhile,
        change={"job_title": "CSR manager"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    assert rows[t(lambda: gettext("Consent to keep their data"))] == (
        t(lambda: label(Consent.withdrawn)),
        t(lambda: label(Consent.given)),
    )
    assert rows[t(lambda: gettext("Gender"))] == (
        t(lambda: label(Gender.undisclosed)),
        t(lambda: label(Gender.female)),
    )
    chinese = t(lambda: label(Language.zh))
    assert rows[t(lambda: gettext("Preferred language"))] == (chinese, chinese)
    assert rows[t(lambda: gettext("Relationship owner"))] == ("Zhang Wei", "Li Na")
    shown_date = t(lambda: app.jinja_env.filters["date"](consent_on))
    assert rows[t(lambda: gettext("Consent date"))] == (shown_date, shown_date)
    assert rows[t(lambda: gettext("Job title"))] == ("—", "CSR manager")
    _no_codes(text, ["female", "undisclosed", "withdrawn", "champion", "2025-11-03"])


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_interaction_edit_shows_labels_names_and_yes_no(
    login_as, make_organisation, staff, in_app, actor, say, app, locale
):
    li, zhang = staff
    org = make_organisation(display_name="Dongguan Footwear Co.")
    with in_app():
        forum = activities.create(
            {"type": "forum", "title": "Wages forum", "start_on": date(2026, 3, 4)},
            actor=_admin(actor),
        )
        logged = interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, 30, tzinfo=UTC),
                "channel": "wechat",
                "direction": "inbound",
                "subject": "Overtime survey",
                "stakeholder_ids": [org.id],
                "staff_ids": [li.id],
                "activity_id": forum.id,
                "is_confidential": True,
            },
            actor=_admin(actor),
        )
        interaction_id, forum_title = logged.id, forum.title

    def meanwhile() -> None:
        saved = db.session.get(Interaction, interaction_id)
        changes = {"channel": "video_call", "staff_ids": [zhang.id]}
        interactions.update(saved, changes, version=saved.version, actor=_admin(actor))

    client = login_as(Role.manager, locale=locale)  # may read a confidential interaction
    html = _stale_edit(
        client,
        in_app,
        f"/interactions/{interaction_id}/edit",
        meanwhile=meanwhile,
        change={"subject": "Overtime survey (draft)"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    assert rows[t(lambda: gettext("Channel"))] == (
        t(lambda: label(Channel.video_call)),
        t(lambda: label(Channel.wechat)),
    )
    assert rows[t(lambda: gettext("Staff present"))] == ("Zhang Wei", "Li Na")
    assert rows[t(lambda: gettext("With"))] == ("Dongguan Footwear Co.",) * 2
    assert rows[t(lambda: gettext("Programme activity"))] == (forum_title, forum_title)
    yes = t(lambda: gettext("Yes"))
    assert rows[t(lambda: gettext("Confidential"))] == (yes, yes)
    moment = datetime(2026, 3, 4, 2, 30, tzinfo=UTC)
    when = t(lambda: app.jinja_env.filters["datetime"](moment))
    assert rows[t(lambda: gettext("When"))] == (when, when)
    _no_codes(text, ["wechat", "video_call", "inbound", "True", "2026-03-04"])


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_follow_up_edit_shows_labels_and_names(
    login_as, make_organisation, staff, in_app, actor, say, app, locale
):
    li, zhang = staff
    org = make_organisation(display_name="Suzhou Silk Mill")
    due_on = date(2026, 12, 1)
    with in_app():
        created = follow_ups.create(
            {
                "title": "Send the training dates",
                "due_on": due_on,
                "assignee_id": li.id,
                "priority": "high",
                "stakeholder_id": org.id,
            },
            actor=_admin(actor),
        )
        follow_up_id = created.id

    def meanwhile() -> None:
        saved = db.session.get(FollowUp, follow_up_id)
        changes = {"priority": "low", "assignee_id": zhang.id}
        follow_ups.update(saved, changes, version=saved.version, actor=_admin(actor))

    client = login_as(Role.coordinator, locale=locale)
    html = _stale_edit(
        client,
        in_app,
        f"/follow-ups/{follow_up_id}/edit",
        meanwhile=meanwhile,
        change={"title": "Send the training dates and venue"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    assert rows[t(lambda: gettext("Priority"))] == (
        t(lambda: label(Priority.low)),
        t(lambda: label(Priority.high)),
    )
    assert rows[t(lambda: gettext("Assign to"))] == ("Zhang Wei", "Li Na")
    assert rows[t(lambda: gettext("About"))] == ("Suzhou Silk Mill", "Suzhou Silk Mill")
    shown_date = t(lambda: app.jinja_env.filters["date"](due_on))
    assert rows[t(lambda: gettext("Due"))] == (shown_date, shown_date)
    _no_codes(text, ["high", "low", "2026-12-01"])


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_activity_edit_shows_labels_names_and_dates(
    login_as, staff, in_app, actor, say, app, locale
):
    li, zhang = staff
    signed_on = date(2026, 2, 10)
    with in_app():
        topics.add_defaults(actor=_admin(actor))
        first_topic = topics.all_topics()[0]
        mou = activities.create(
            {
                "type": "mou",
                "title": "MoU with the provincial labour bureau",
                "status": "held",
                "start_on": date(2026, 2, 10),
                "sector": "textile",
                "lead_id": li.id,
                "topic_ids": [first_topic.id],
                "agreement_status": "signed",
                "signed_on": signed_on,
            },
            actor=_admin(actor),
        )
        activity_id, topic_name = mou.id, first_topic.name

    def meanwhile() -> None:
        saved = db.session.get(Activity, activity_id)
        changes = {"status": "cancelled", "lead_id": zhang.id}
        activities.update(saved, changes, version=saved.version, actor=_admin(actor))

    client = login_as(Role.coordinator, locale=locale)
    html = _stale_edit(
        client,
        in_app,
        f"/activities/{activity_id}/edit",
        meanwhile=meanwhile,
        change={"city": "Nanjing"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    mou_label = t(lambda: label(ActivityType.mou))
    assert rows[t(lambda: gettext("Type"))] == (mou_label, mou_label)
    assert rows[t(lambda: gettext("Status"))] == (
        t(lambda: label(ActivityStatus.cancelled)),
        t(lambda: label(ActivityStatus.held)),
    )
    textile = t(lambda: label(Sector.textile))
    assert rows[t(lambda: gettext("Sector"))] == (textile, textile)
    assert rows[t(lambda: gettext("Lead"))] == ("Zhang Wei", "Li Na")
    signed = t(lambda: label(AgreementStatus.signed))
    assert rows[t(lambda: gettext("Agreement status"))] == (signed, signed)
    shown_date = t(lambda: app.jinja_env.filters["date"](signed_on))
    assert rows[t(lambda: gettext("Signed on"))] == (shown_date, shown_date)
    theirs, yours = rows[t(lambda: gettext("Topics"))]
    assert theirs == yours and theirs  # the topic's name in the user's language
    assert topic_name in theirs or locale == "zh"
    _no_codes(text, ["mou", "held", "cancelled", "textile", "signed", "2026-02-10"])


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_indicator_edit_shows_labels(login_as, in_app, actor, say, locale):
    with in_app():
        created = indicators.create(
            {
                "code": "2.1",
                "name": "Forums held",
                "unit": "forums",
                "metric": "forums_held",
                "baseline": 0,
                "targets": [{"year": 2026, "target": 4}],
            },
            actor=_admin(actor),
        )
        indicator_id = created.id

    def meanwhile() -> None:
        saved = db.session.get(Indicator, indicator_id)
        changes = {"metric": "mous_signed", "name": "MoUs signed"}
        indicators.update(saved, changes, version=saved.version, actor=_admin(actor))

    client = login_as(Role.manager, locale=locale)
    html = _stale_edit(
        client,
        in_app,
        f"/reports/indicators/{indicator_id}/edit",
        meanwhile=meanwhile,
        change={"unit": "events"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    assert rows[t(lambda: gettext("Figure"))] == (
        t(lambda: label(Metric.mous_signed)),
        t(lambda: label(Metric.forums_held)),
    )
    assert rows[t(lambda: gettext("Targets"))] == ("2026: 4", "2026: 4")
    _no_codes(text, ["forums_held", "mous_signed"])


@pytest.mark.parametrize("locale", LOCALES)
def test_a_stale_user_edit_shows_labels_and_yes_no(login_as, make_user, in_app, actor, say, locale):
    colleague = make_user(Role.member, name="Chen Jing")

    def meanwhile() -> None:
        saved = db.session.get(User, colleague.id)
        accounts.update_user(
            saved,
            name=saved.name,
            role="coordinator",
            is_enabled=True,
            locale="zh",
            actor=_admin(actor),
        )

    client = login_as(Role.admin, locale=locale)
    html = _stale_edit(
        client,
        in_app,
        f"/admin/users/{colleague.id}/edit",
        meanwhile=meanwhile,
        change={"name": "Chen Jing (Beijing)"},
    )
    rows, text = _table(html)

    def t(make: Callable[[], Any]) -> str:
        return say(locale, make)

    assert rows[t(lambda: gettext("Role"))] == (
        t(lambda: Role.coordinator.label),
        t(lambda: Role.member.label),
    )
    # Each interface language is named in its own script, in either interface (issue 16).
    assert rows[t(lambda: gettext("Interface language"))] == ("中文", "English")
    yes = t(lambda: gettext("Yes"))
    assert rows[t(lambda: gettext("Active (may sign in)"))] == (yes, yes)
    _no_codes(text, ["coordinator", "True"])
