"""Pages that read well (issue 16, item 7): month names on the charts, the dashboard's quiet
stakeholders one click from all of them, the navigation reaching team follow-ups and
duplicates, each interface language named in its own script. (Provinces: test_provinces.py;
what only a browser can measure, chart labels and calendar columns: tests/browser.)"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import interactions

MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_ZH = [f"{n}月" for n in range(1, 13)]
YEAR = "/reports?start=2026-01-01&end=2026-12-31"
SVG = "{http://www.w3.org/2000/svg}"


def _log(in_app, author_id: int, stakeholder_id: int, *, when: datetime) -> None:
    with in_app():
        interactions.log_interaction(
            {
                "occurred_at": when,
                "channel": "meeting",
                "subject": "Meeting",
                "stakeholder_ids": [stakeholder_id],
            },
            actor=db.session.get(User, author_id),
        )


def _chart(page: str, key: str) -> ET.Element:
    match = re.search(rf'<svg\b[^>]*id="chart-{key}".*?</svg>', page, re.S)
    assert match, key
    return ET.fromstring(match.group(0))


def _x_labels(chart: ET.Element) -> list[str]:
    """The texts of the category axis of a vertical chart, left to right."""
    axis = next(g for g in chart.iter(f"{SVG}g") if "x" in g.get("class", "").split()[1:2])
    return [t.text or "" for t in axis.iter(f"{SVG}text")]


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# ---------------------------------------------------------------------------------------------
# The 12-month charts name every month
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "months"), [("en", MONTHS_EN), ("zh", MONTHS_ZH)])
def test_the_12_month_charts_name_every_month(login_as, make_organisation, in_app, locale, months):
    client = login_as(Role.manager, locale=locale)
    org = make_organisation(display_name="Bright Electronics")
    _log(in_app, client.user.id, org.id, when=datetime(2026, 3, 10, 2, tzinfo=UTC))
    page = client.get(YEAR).get_data(as_text=True)
    for key in ("interactions-by-channel", "interactions-by-sector"):
        labels = _x_labels(_chart(page, key))
        assert labels == months, (key, labels)


def test_a_period_over_two_years_gives_the_year_with_january_and_the_first_month(
    login_as, make_organisation, in_app
):
    client = login_as(Role.manager)
    org = make_organisation(display_name="Bright Electronics")
    _log(in_app, client.user.id, org.id, when=datetime(2026, 3, 10, 2, tzinfo=UTC))
    page = client.get("/reports?start=2025-07-01&end=2026-06-30").get_data(as_text=True)
    labels = _x_labels(_chart(page, "interactions-by-channel"))
    assert labels == ["Jul 2025", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan 2026", *MONTHS_EN[1:6]]


def test_the_charts_styles_stay_in_a_nonced_style_element(login_as, make_organisation, in_app):
    """The Content-Security-Policy refuses inline styles: pygal's CSS is lifted out of the SVG."""
    client = login_as(Role.manager, locale="zh")
    org = make_organisation(display_name="Bright Electronics")
    _log(in_app, client.user.id, org.id, when=datetime(2026, 3, 10, 2, tzinfo=UTC))
    response = client.get(YEAR)
    page = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    styles = re.findall(rf'<style nonce="{re.escape(nonce)}">(.*?)</style>', page, re.S)
    assert any("#chart-interactions-by-channel" in css for css in styles)
    svg = re.search(r'<svg\b[^>]*id="chart-interactions-by-channel".*?</svg>', page, re.S)
    assert "<style" not in svg.group(0) and " style=" not in svg.group(0)


# ---------------------------------------------------------------------------------------------
# Influential and quiet: the panel shows 10, its link opens all of them
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def quiet_world(login_as, make_organisation, make_person, in_app):
    """12 quiet organisations and 3 quiet people, beside records the rule leaves out."""
    client = login_as(Role.coordinator)
    for n in range(12):
        make_organisation(display_name=f"Quiet Bureau {n:02d}", influence=4 + n % 2)
    for n in range(3):
        make_person(family_name="Quiet", given_name=f"Person{n}", influence=5)
    stale = make_organisation(display_name="Stale Association", influence=4)
    _log(in_app, client.user.id, stale.id, when=datetime.now(UTC) - timedelta(days=120))
    busy = make_organisation(display_name="Busy Ministry", influence=5)
    _log(in_app, client.user.id, busy.id, when=datetime.now(UTC) - timedelta(days=10))
    make_organisation(display_name="Minor Factory", influence=3)
    trashed = make_person(family_name="Trashed", given_name="Person", influence=5)
    assert client.post(f"/people/{trashed.id}/delete").status_code == 302
    return client


def test_the_quiet_lists_hold_what_the_dashboard_counts(quiet_world):
    client = quiet_world
    board = client.get("/").get_data(as_text=True)
    count = int(re.search(r'data-testid="quiet-count">(\d+)<', board).group(1))
    assert count == 16  # 12 + the stale one, and 3 people
    panel = board[board.index('data-testid="quiet"') : board.index('data-testid="upcoming"')]
    assert len(re.findall(r"Log contact", panel)) == 10
    footer = _text(panel[panel.index('data-testid="quiet-all"') :])
    assert "13 organisations" in footer and "3 people" in footer
    assert 'href="/organisations?quiet=1"' in panel and 'href="/people?quiet=1"' in panel

    organisations = client.get("/organisations?quiet=1").get_data(as_text=True)
    people = client.get("/people?quiet=1").get_data(as_text=True)
    totals = [
        int(re.search(r'data-testid="total">(\d+)<', p).group(1)) for p in (organisations, people)
    ]
    assert sum(totals) == count and totals == [13, 3]
    assert "Stale Association" in organisations and "Quiet Bureau 11" in organisations
    assert "Busy Ministry" not in organisations and "Minor Factory" not in organisations
    assert "Trashed" not in people
    # The filter is shown, kept by the filter form, and can be left.
    assert 'data-testid="quiet-filter"' in organisations
    assert '<input type="hidden" name="quiet" value="1">' in organisations
    assert 'href="/organisations"' in organisations


def test_the_quiet_filter_combines_with_the_others(quiet_world):
    page = quiet_world.get("/organisations?quiet=1&q=Stale").get_data(as_text=True)
    assert 'data-testid="total">1<' in page and "Stale Association" in page


@pytest.mark.parametrize("value", ["yes", "0", "<script>", "1" * 300, "%00"])
def test_a_quiet_value_other_than_1_lists_everyone_without_error(quiet_world, value):
    response = quiet_world.get("/organisations", query_string={"quiet": value})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Busy Ministry" in page and 'data-testid="quiet-filter"' not in page


def test_the_quiet_list_costs_the_same_queries_however_many_match(
    login_as, make_organisation, count_queries
):
    client = login_as(Role.viewer)
    for n in range(2):
        make_organisation(display_name=f"Few {n}", influence=5)
    with count_queries() as few:
        assert client.get("/organisations?quiet=1").status_code == 200
    for n in range(10):
        make_organisation(display_name=f"Many {n}", influence=4, tags=[f"t{n}"])
    with count_queries() as many:
        assert client.get("/organisations?quiet=1").status_code == 200
    assert many.count == few.count, (few, many)


# ---------------------------------------------------------------------------------------------
# Navigation: team follow-ups and duplicates for those who may see them
# ---------------------------------------------------------------------------------------------


def _nav(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/").get_data(as_text=True)
    return page[page.index("<nav") : page.index("</nav>")]


@pytest.mark.parametrize("role", [Role.coordinator, Role.manager, Role.admin])
def test_coordinators_and_up_reach_team_follow_ups_and_duplicates_from_the_navigation(
    login_as, role
):
    client = login_as(role)
    nav = _nav(client)
    team = re.search(r'<a class="dropdown-item" href="(/follow-ups/team)">Team follow-ups</a>', nav)
    duplicates = re.search(r'<a class="nav-link[^"]*" href="(/duplicates)">Duplicates</a>', nav)
    assert team and duplicates
    assert 'href="/follow-ups/mine">My follow-ups</a>' in nav
    for link in (team, duplicates):
        assert client.get(link.group(1)).status_code == 200


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_members_and_viewers_see_only_their_own_follow_ups_in_the_navigation(login_as, role):
    nav = _nav(login_as(role))
    assert 'href="/follow-ups/mine">My follow-ups</a>' in nav
    assert "/follow-ups/team" not in nav and "/duplicates" not in nav


# ---------------------------------------------------------------------------------------------
# The language choice: each language in its own script
# ---------------------------------------------------------------------------------------------


def _options(page: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [
        (value, text.strip())
        for value, text in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>(.*?)</option>', select)
    ]


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_language_choice_names_each_language_in_its_own_script(login_as, locale):
    page = login_as(Role.member, locale=locale).get("/profile").get_data(as_text=True)
    assert _options(page, "locale") == [("en", "English"), ("zh", "中文")]
    assert re.search(r'<option lang="zh-CN"[^>]*value="zh"|<option[^>]*lang="zh-CN"', page)


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_admins_user_form_names_each_language_in_its_own_script(login_as, locale):
    page = login_as(Role.admin, locale=locale).get("/admin/users/new").get_data(as_text=True)
    assert _options(page, "locale") == [("en", "English"), ("zh", "中文")]


def test_a_person_s_preferred_language_keeps_its_translated_label(login_as):
    """A person's language is a fact about them, read in the interface's language."""
    page = login_as(Role.member, locale="zh").get("/people/new").get_data(as_text=True)
    assert "English" not in dict(_options(page, "preferred_language")).values()
