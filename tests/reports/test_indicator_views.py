"""The donor indicator pages: the table, an indicator, the records behind each figure, exports,
upkeep by managers, and bad input (tests/reports/logframe.py holds the data set)."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, Indicator, User
from crm.services.reporting import indicators
from tests.reports.helpers import csv_rows, page_tables, sheet_rows, workbook

LIST = "/reports/indicators?year=2025"


def _this_year() -> int:
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def _page(client, url: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    return response.get_data(as_text=True)


def _row(tables, table: str, first: str) -> list[str]:  # type: ignore[no-untyped-def]
    return next(r for r in tables[table] if r[0] == first)


def _links(html: str, table: str) -> dict[str, str]:
    """The figure links of a table: "<row>/<column index>" → href."""
    body = re.search(rf'data-table="{table}".*?</table>', html, re.S)
    assert body, table
    found = {}
    for n, row in enumerate(re.findall(r"<tr.*?</tr>", body.group(0), re.S)):
        for i, cell in enumerate(re.findall(r"<t[dh]\b.*?</t[dh]>", row, re.S)):
            link = re.search(r'class="figure-link" href="([^"]+)"', cell)
            if link:
                found[f"{n}/{i}"] = unescape(link.group(1))
    return found


def _records(client, url: str) -> tuple[str, list[str], list[list[str]]]:  # type: ignore[no-untyped-def]
    """The total, the names listed, and the headcount rows of a records page."""
    html = _page(client, url)
    total = re.search(r'data-testid="records-total">(\d+)<', html)
    assert total, html[:3000]
    tables = page_tables(html)
    names = [r[0] for r in tables["records"][1:] if len(r) > 1]
    return total.group(1), names, tables.get("headcounts", [])[1:]


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator, Role.manager])
def test_every_role_can_read_the_indicator_table(login_as, logframe, role):
    tables = page_tables(_page(login_as(role), LIST))
    assert tables["indicators"][0] == [
        "Code",
        "Indicator",
        "Unit",
        "Baseline",
        "Target 2025",
        "Q1",
        "Q2",
        "Q3",
        "Q4",
        "2025",
        "Progress",
    ]
    rows = {r[0]: r[3:] for r in tables["indicators"][1:]}
    assert rows == {
        "1.1": ["0 (2024)", "20", "14", "4", "0", "6", "23", "115.0 %"],
        "1.2": ["0 (2024)", "8", "4", "1", "0", "1", "4", "50.0 %"],
        "1.3": ["0 (2024)", "4", "1", "1", "0", "0", "2", "50.0 %"],
        "2.1": ["0 (2024)", "2", "1", "0", "0", "1", "2", "100.0 %"],
        "2.2": ["0 (2024)", "1", "1", "0", "0", "1", "2", "200.0 %"],
        "3.1": ["0 (2024)", "4", "1", "1", "1", "0", "3", "75.0 %"],
        "4.1": ["0 (2024)", "10", "1", "0", "2", "2", "4", "40.0 %"],
    }
    assert _row(tables, "indicators", "1.1")[1] == "Indicator 1.1 指标 1.1 Participants trained"


def test_the_reports_page_leads_to_the_indicators(login_as):
    client = login_as(Role.viewer)
    page = _page(client, "/reports")
    assert 'href="/reports/indicators"' in page and "Donor indicators" in page
    assert "No indicators yet. A manager adds" in _page(client, "/reports/indicators")


def test_each_quarter_links_to_exactly_the_records_behind_it(login_as, logframe):
    client = login_as(Role.viewer)
    links = _links(_page(client, LIST), "indicators")
    # Row 1 is indicator 1.1; columns 5 to 9 are Q1–Q4 and the year.
    q1 = links["1/5"]
    assert parse_qs(urlsplit(q1).query) == {"start": ["2025-01-01"], "end": ["2025-03-31"]}
    total, names, heads = _records(client, q1)
    assert total == "14"
    assert sorted(names) == ["Ai Test", "Bo Test", "Cui Test"]
    assert heads == [
        ["1 Jan 2025", "Activity T1", "5", "3", "2", "10"],
        ["14 Feb 2025", "Activity T2", "1", "0", "0", "1"],
        ["Total", "11"],
    ]
    total, names, heads = _records(client, links["1/6"])  # Q2: T3
    assert (total, sorted(names), heads) == ("4", ["Ai Test", "Du Test", "Hu Test", "Ji Test"], [])
    total, names, _heads = _records(client, links["1/9"])  # the year: each person once
    assert total == "23" and len(names) == 8


def test_the_records_of_a_person_show_every_training_they_attended(login_as, logframe):
    client = login_as(Role.viewer)
    url = f"/reports/indicators/{logframe['1.1']}/records?start=2025-01-01&end=2025-12-31"
    rows = {r[0]: r[1:] for r in page_tables(_page(client, url))["records"][1:]}
    assert rows["Ai Test"] == [
        "Women",
        "1 Jan 2025 · Activity T114 Feb 2025 · Activity T220 May 2025 · Activity T3",
    ]
    assert rows["En Test"] == ["Not stated", "31 Dec 2025 · Activity T4"]


def test_the_indicator_page_shows_quarters_breakdowns_targets_and_progress(login_as, logframe):
    client = login_as(Role.viewer)
    html = _page(client, f"/reports/indicators/{logframe['1.1']}?year=2025")
    tables = page_tables(html)
    assert [r[2] for r in tables["quarters"][1:]] == ["14", "4", "0", "6", "23"]
    assert tables["by-sex"][0] == ["Period", "Women", "Men", "Other", "Not stated"]
    assert tables["by-sex"][1:] == [
        ["Q1", "8", "4", "0", "2"],
        ["Q2", "1", "3", "0", "0"],
        ["Q3", "0", "0", "0", "0"],
        ["Q4", "0", "0", "1", "5"],
        ["2025", "8", "7", "1", "7"],
    ]
    # Sectors with nothing in the year are left out.
    assert tables["by-sector"][0] == ["Period", "Electronics", "Textile and garment", "No sector"]
    assert tables["by-sector"][-1] == ["2025", "13", "5", "6"]
    assert tables["years"][1:] == [
        ["2025", "20", "23", "115.0 %"],
        ["2026", "40", "10", "25.0 %"],
    ]
    assert re.search(r'data-testid="year-value">\s*<a[^>]*>23</a>', html)
    assert 'data-testid="year-target">20<' in html
    assert "23 of the 20 people targeted for 2025." in html
    assert 'value="100.0"' in html and 'aria-valuetext="115.0 %"' in html  # a full <progress>


def test_a_breakdown_cell_links_to_the_records_of_its_category(login_as, logframe):
    client = login_as(Role.viewer)
    html = _page(client, f"/reports/indicators/{logframe['1.1']}?year=2025")
    women_year = _links(html, "by-sex")["5/1"]
    assert parse_qs(urlsplit(women_year).query) == {
        "start": ["2025-01-01"],
        "end": ["2025-12-31"],
        "sex": ["women"],
    }
    total, names, heads = _records(client, women_year)
    assert (total, sorted(names)) == ("8", ["Ai Test", "Cui Test"])
    assert [h[1:] for h in heads[:-1]] == [
        ["Activity T1", "5", "0", "0", "5"],
        ["Activity T2", "1", "0", "0", "1"],
    ]
    no_sector = _links(html, "by-sector")["5/3"]
    assert "sector=none" in no_sector
    total, names, heads = _records(client, no_sector)
    assert (total, sorted(names)) == ("6", ["En Test", "Fu Test"])


def test_records_of_activities_and_of_stakeholders_engaged(login_as, logframe):
    client = login_as(Role.viewer)
    year = "start=2025-01-01&end=2025-12-31"
    _total, names, _heads = _records(
        client, f"/reports/indicators/{logframe['3.1']}/records?{year}"
    )
    assert names == ["1 Jan 2025", "30 Apr 2025", "9 Sep 2025"]  # R5 counts on its end
    tables = page_tables(_page(client, f"/reports/indicators/{logframe['3.1']}/records?{year}"))
    assert [r[1] for r in tables["records"][1:]] == ["Activity R5", "Activity R1", "Activity R2"]
    total, names, _heads = _records(
        client, f"/reports/indicators/{logframe['4.1']}/records?{year}&type=person"
    )
    assert (total, sorted(names)) == ("2", ["Ai Test", "Bo Test"])
    total, names, _heads = _records(client, f"/reports/indicators/{logframe['1.2']}/records?{year}")
    assert (total, sorted(names)) == (
        "4",
        ["Both Co", "Bright Electronics 光明电子", "Plain Works", "Silk Garments 丝绸服装"],
    )


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def test_the_excel_export_holds_the_table_and_the_disaggregations(login_as, logframe):
    response = login_as(Role.viewer).get(LIST + "&format=xlsx")
    assert response.status_code == 200
    assert "indicators-2025" in response.headers["Content-Disposition"]
    book = workbook(response.data)
    assert book.sheetnames == ["Report", "Donor indicators 2025", "Disaggregated figures 2025"]
    summary = sheet_rows(book["Donor indicators 2025"])
    assert summary[0][:8] == [
        "Code",
        "Indicator",
        "Indicator (Chinese)",
        "Unit",
        "Figure",
        "Baseline",
        "Baseline year",
        "Target 2025",
    ]
    assert summary[1] == [
        "1.1",
        "Indicator 1.1",
        "指标 1.1",
        "people",
        "Participants trained",
        0,
        2024,
        20,
        14,
        4,
        0,
        6,
        23,
        115.0,
    ]
    assert len(summary) == 8
    parts = sheet_rows(book["Disaggregated figures 2025"])
    assert ["1.1", "Indicator 1.1", "Sex", "Women", 8, 1, 0, 0, 8] in parts
    assert ["4.1", "Indicator 4.1", "Stakeholder type", "Person", 0, 0, 1, 1, 2] in parts


def test_the_csv_export_is_the_indicator_table(login_as, logframe):
    response = login_as(Role.member).get(LIST + "&format=csv")
    assert response.status_code == 200
    rows = csv_rows(response.data)
    assert rows[0][-7:] == [
        "Q1 2025",
        "Q2 2025",
        "Q3 2025",
        "Q4 2025",
        "Year 2025",
        "Progress (%)",
    ][-7:] or rows[0][-6:] == [
        "Q1 2025",
        "Q2 2025",
        "Q3 2025",
        "Q4 2025",
        "Year 2025",
        "Progress (%)",
    ]
    assert rows[3][0] == "1.3" and rows[3][-6:] == ["1", "1", "0", "0", "2", "50.0"]


def test_an_indicator_exports_its_years_too(login_as, logframe):
    response = login_as(Role.viewer).get(f"/reports/indicators/{logframe['1.1']}?format=xlsx")
    assert response.status_code == 200
    book = workbook(response.data)
    assert "Targets and values by year" in book.sheetnames


# ---------------------------------------------------------------------------------------------
# Upkeep: managers and administrators
# ---------------------------------------------------------------------------------------------


def _form(**over: str) -> dict[str, str]:
    data = {
        "version": "0",
        "code": "1.4",
        "name": "Women trained in OSH",
        "name_zh": "接受职业安全培训的女性",
        "unit": "people",
        "metric": "participants_trained",
        "disaggregations": "sex",
        "baseline": "12",
        "baseline_year": "2024",
        "notes": "Sign-in sheets of each training.",
        "targets-0-year": "2025",
        "targets-0-target": "100",
        "targets-1-year": "2026",
        "targets-1-target": "150.5",
        "targets-2-year": "",
        "targets-2-target": "",
    }
    data.update(over)
    return data


def _indicator_named(in_app, name: str) -> Indicator | None:  # type: ignore[no-untyped-def]
    with in_app():
        found = db.session.scalar(sa.select(Indicator).where(Indicator.name == name))
        if found is not None:
            _ = found.targets
            db.session.expunge(found)
        return found


def test_manager_can_create_an_indicator(login_as, in_app):
    client = login_as(Role.manager)
    form = _page(client, "/reports/indicators/new")
    this_year = _this_year()
    assert re.search(rf'name="targets-0-year"[^>]*value="{this_year}"', form), form
    response = client.post("/reports/indicators/new", data=_form(), follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Indicator “Women trained in OSH” created." in html
    assert "接受职业安全培训的女性" in html and "12 (2024)" in html
    created = _indicator_named(in_app, "Women trained in OSH")
    assert created is not None
    assert created.disaggregations == ["sex"]
    assert [(t.year, str(t.target)) for t in created.targets] == [
        (2025, "100.00"),
        (2026, "150.50"),
    ]
    page = page_tables(_page(client, "/reports/indicators?year=2026"))
    assert _row(page, "indicators", "1.4")[4] == "150.5"
    with in_app():
        event = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == "indicators", AuditEvent.entity_id == created.id
            )
        )
        assert event.action == AuditAction.create
        assert event.changes["targets"] == [None, ["2025: 100", "2026: 150.5"]]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"metric": "budget_spent"}, "Not a valid choice."),
        ({"baseline": "-3"}, "The number may not be negative."),
        ({"baseline": "lots"}, "Not a valid decimal value."),
        ({"baseline": "NaN"}, "Give a number, such as 40 or 12.5."),
        ({"targets-0-target": "Infinity"}, "Give a number, such as 40 or 12.5."),
        ({"targets-0-target": "1e20"}, "The number is too large."),
        ({"targets-0-year": "99999999999999999999"}, "Give a year between 1990 and 2100."),
        ({"disaggregations": "age"}, "'age' is not a valid choice for this field."),
        ({"targets-0-year": "3025"}, "Give a year between 1990 and 2100."),
        ({"targets-0-year": "next"}, "Not a valid integer value."),
        ({"targets-1-target": "-1"}, "The number may not be negative."),
        ({"targets-1-year": "2025"}, "2025 has two targets: keep one."),
        ({"targets-1-target": ""}, "Give the target for 2026."),
        ({"metric": "mous_signed"}, "“MoUs signed” cannot be broken down by sex."),
    ],
)
def test_a_refused_indicator_form_says_why_and_keeps_what_was_typed(
    login_as, in_app, over, message
):
    client = login_as(Role.manager)
    response = client.post("/reports/indicators/new", data=_form(**over))
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    assert message in html
    assert 'value="Women trained in OSH"' in html or over.get("name") == ""
    assert 'value="接受职业安全培训的女性"' in html
    for name, value in over.items():
        if value and name not in ("metric", "disaggregations"):
            assert f'value="{value}"' in html, name
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Indicator)) == 0


def test_a_stale_edit_shows_the_conflict_and_keeps_both_versions(login_as, logframe, in_app):
    client = login_as(Role.manager)
    url = f"/reports/indicators/{logframe['2.1']}/edit"
    form = _page(client, url)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    with in_app():
        found = indicators.get(logframe["2.1"])
        admin = db.session.scalar(sa.select(User).where(User.role == Role.admin))
        indicators.update(
            found, {"name": "Forums held (theirs)"}, version=found.version, actor=admin
        )
    data = _form(version=version, code="2.1", name="Forums held (mine)", metric="forums_held")
    data["disaggregations"] = "sector"
    response = client.post(url, data=data)
    assert response.status_code == 409
    html = unescape(response.get_data(as_text=True))
    assert "Someone else saved this indicator while you were editing it." in html
    assert 'data-testid="conflict"' in html and "Forums held (theirs)" in html
    assert 'value="Forums held (mine)"' in html
    # Saving again on top of the version shown keeps the user's values.
    newer = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    again = client.post(url, data={**data, "version": newer})
    assert again.status_code == 302
    with in_app():
        assert indicators.get(logframe["2.1"]).name == "Forums held (mine)"


def test_manager_can_move_an_indicator_to_the_trash(login_as, logframe, in_app):
    client = login_as(Role.manager)
    url = f"/reports/indicators/{logframe['3.1']}/delete"
    page = _page(client, url)
    assert "Move this indicator to the trash?" in page and "Indicator 3.1" in page
    response = client.post(url, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "“Indicator 3.1” moved to the trash." in html
    assert "3.1" not in [r[0] for r in page_tables(html)["indicators"]]
    assert client.get(f"/reports/indicators/{logframe['3.1']}").status_code == 404
    with in_app():
        found = db.session.get(Indicator, logframe["3.1"])
        assert found.deleted_at is not None
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.entity_type == "indicators", AuditEvent.entity_id == found.id
            )
        ).all()
        assert AuditAction.delete in actions


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator])
def test_only_managers_and_admins_change_indicators(login_as, logframe, in_app, role):
    client = login_as(role)
    page = _page(client, f"/reports/indicators/{logframe['1.1']}")
    assert "/edit" not in page and "New indicator" not in _page(client, LIST)
    assert client.post("/reports/indicators/new", data=_form()).status_code == 403
    edit = _form(code="1.1", name="Changed", version="1")
    assert client.post(f"/reports/indicators/{logframe['1.1']}/edit", data=edit).status_code == 403
    assert client.post(f"/reports/indicators/{logframe['1.1']}/delete").status_code == 403
    with in_app():
        assert indicators.get(logframe["1.1"]).name == "Indicator 1.1"


def test_admin_sees_the_buttons_to_change_an_indicator(login_as, logframe):
    page = _page(login_as(Role.admin), f"/reports/indicators/{logframe['1.1']}")
    assert f"/reports/indicators/{logframe['1.1']}/edit" in page
    assert f"/reports/indicators/{logframe['1.1']}/delete" in page


# ---------------------------------------------------------------------------------------------
# Bad input: a clear message or an empty result, never a 500
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", ["abc", "1800", "99999999999999999999", "²", "-2025", "2025.5"])
def test_an_unusable_year_shows_this_year_with_a_notice(login_as, logframe, year):
    html = unescape(_page(login_as(Role.viewer), f"/reports/indicators?year={year}"))
    assert "is not a year between 1990 and 2100" in html
    this_year = _this_year()
    assert f"Donor indicators {this_year}" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2025-03-01&end=2025-02-01", "The end date is before the start date."),
        ("start=1990-01-01&end=2040-12-31", "Choose a period of at most 10 years."),
        ("start=2025-13-45&end=2025-12-31", "“2025-13-45” is not a date"),
        ("start=0001-01-01&end=0001-12-31", "Choose dates between 1990 and 2100."),
    ],
)
def test_bad_dates_on_the_records_page_give_a_message(login_as, logframe, query, message):
    client = login_as(Role.viewer)
    html = _page(client, f"/reports/indicators/{logframe['1.1']}/records?{query}", status=400)
    assert message in unescape(html)
    assert 'data-testid="records-total"' not in html


@pytest.mark.parametrize(
    ("extra", "total"),
    [
        ("sex=alien", "23"),
        ("sector=steel", "23"),
        ("sector=&sex=robot", "23"),  # an empty choice is no choice
        ("type=enterprise", "23"),  # participants have no stakeholder type
        ("sex=women&sector=textile", "8"),  # one breakdown at a time: the first
    ],
)
def test_unknown_categories_on_the_records_page_are_ignored_with_a_notice(
    login_as, logframe, extra, total
):
    client = login_as(Role.viewer)
    url = f"/reports/indicators/{logframe['1.1']}/records?start=2025-01-01&end=2025-12-31&{extra}"
    html = unescape(_page(client, url))
    assert "is not a category of this figure and was ignored." in html
    assert re.search(r'data-testid="records-total">(\d+)<', html).group(1) == total


def test_unknown_indicators_and_formats_are_refused(login_as, logframe):
    client = login_as(Role.viewer)
    assert client.get("/reports/indicators/999999").status_code == 404
    assert client.get("/reports/indicators/999999/records").status_code == 404
    response = client.get(LIST + "&format=pdf")
    assert response.status_code == 400
    assert "Unknown export format" in response.get_data(as_text=True)
    response = client.get(LIST + "&format=csv&table=secrets")
    assert response.status_code == 400


def test_the_records_page_defaults_to_this_year(login_as, logframe):
    html = _page(login_as(Role.viewer), f"/reports/indicators/{logframe['2.1']}/records")
    this_year = _this_year()
    assert f'name="start" value="{this_year}-01-01"' in html


def test_the_table_costs_as_many_queries_for_many_indicators_as_for_a_few(
    app, login_as, logframe, in_app
):
    client = login_as(Role.viewer)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def queries() -> int:
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            _page(client, LIST)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    few = queries()
    with in_app():
        admin = db.session.scalar(sa.select(User).where(User.role == Role.admin))
        for n, metric in enumerate(indicators.SUPPORTED, start=1):
            indicators.create(
                {
                    "code": f"8.{n}",
                    "name": f"More {n}",
                    "unit": "n",
                    "metric": metric,
                    "baseline": 0,
                    "targets": [{"year": 2025, "target": n}],
                },
                actor=admin,
            )
    assert queries() == few
