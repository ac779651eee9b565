"""The report page: figures, charts, exports that match the page, permissions, bad input."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, User
from crm.services import follow_ups, interactions, reporting, stakeholders
from tests.reports.conftest import PERIOD, local
from tests.reports.helpers import as_page_text, csv_rows, page_tables, sheet_rows, workbook

Q1 = "/reports?" + urlencode(PERIOD)


def _page(client, url: str = Q1) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _figure(page: str, name: str) -> str:
    match = re.search(rf'data-testid="figure-{name}">(.*?)</div>', page, re.S)
    assert match, name
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).split()[0]


def _export_events(in_app) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with in_app():
        return list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == AuditAction.export)
                .order_by(AuditEvent.id)
            )
        )


# ---------------------------------------------------------------------------------------------
# Reading the report
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.viewer, Role.member, Role.coordinator, Role.manager])
def test_every_role_can_read_the_report(login_as, known, role):
    page = _page(login_as(role))
    assert _figure(page, "interactions") == "6"
    assert _figure(page, "engaged") == "7"
    assert _figure(page, "held") == "4"
    assert _figure(page, "participants") == "18"


def test_the_report_covers_this_quarter_by_default(login_as):
    page = _page(login_as(Role.manager), "/reports")
    first, last = reporting.quarter_of(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    assert f'name="start" value="{first.isoformat()}"' in page
    assert f'name="end" value="{last.isoformat()}"' in page
    assert 'data-testid="report-empty"' in page  # nothing recorded yet


def test_the_navigation_leads_to_the_reports(login_as):
    page = _page(login_as(Role.viewer), "/")
    assert 'href="/reports"' in page and ">Reports</a>" in page


def test_the_page_shows_every_figure_of_the_known_data_set(login_as, known):
    tables = page_tables(_page(login_as(Role.manager)))
    assert set(reporting.TABLE_KEYS) <= set(tables)
    assert tables["interactions_by_channel"] == [
        ["Month", "Meeting", "Call", "Email", "WeChat", "Visit", "Total"],
        ["2026-01", "1", "0", "0", "0", "0", "1"],
        ["2026-02", "1", "1", "1", "0", "0", "3"],
        ["2026-03", "0", "0", "0", "1", "1", "2"],
        ["Total", "2", "1", "1", "1", "1", "6"],
    ]
    assert tables["interactions_by_sector"][0] == [
        "Month",
        "Electronics",
        "Textile and garment",
        "No sector",
        "Total",
    ]
    assert tables["engaged_by_sector"][1:] == [
        ["Electronics", "2", "2", "100.0"],
        ["Textile and garment", "3", "5", "60.0"],
        ["Electronics and textile", "0", "1", "0.0"],
        ["No sector", "3", "3", "100.0"],
        ["All stakeholders", "7", "10", "70.0"],
    ]
    assert tables["coverage"][1:] == [["6", "5", "1", "83.3"]]
    assert tables["not_contacted"][1:] == [
        [
            "Cotton Mill",
            "棉纺厂",
            "Enterprise",
            "Textile and garment",
            "4",
            "2",
            "Unaware",
            "2025-11-01 10:00",
        ]
    ]
    assert [row[0] for row in tables["level_moves"][1:]] == [
        "Bright Electronics",
        "Labour Bureau",
        "Silk Garments",
    ]
    assert tables["follow_ups"][1:] == [
        ["Alice", "5", "3", "50.0", "10.0", "1"],
        ["Bob", "1", "1", "100.0", "1.0", "1"],
        ["All assignees", "6", "4", "60.0", "6.5", "2"],
    ]
    assert tables["participants_by_sex"][1:] == [
        ["Women", "4", "6", "10"],
        ["Men", "1", "5", "6"],
        ["Other", "0", "0", "0"],
        ["Not stated", "0", "2", "2"],
        ["Total", "5", "13", "18"],
    ]
    summary = dict(tables["activity_summary"][1:])
    assert summary["Share of women (%)"] == "55.6"
    assert summary["Organisations reached"] == "4"
    assert summary["MoUs signed in the period"] == "2"
    assert summary["MoUs in force on 31 Mar 2026"] == "2"


def test_a_sector_in_the_query_string_filters_the_report(login_as, known):
    page = _page(login_as(Role.manager), Q1 + "&sector=textile")
    assert _figure(page, "interactions") == "2"
    assert _figure(page, "engaged") == "3"
    assert 'data-testid="report-period"' in page and "Textile and garment" in page


def test_charts_are_inline_svg_with_title_axis_labels_and_a_description(login_as, known):
    page = _page(login_as(Role.manager))
    # The charts, not the small level bars of the stakeholder map (aria-hidden SVGs).
    svgs = [s for s in re.findall(r"<svg\b.*?</svg>", page, re.S) if 'role="img"' in s]
    assert len(svgs) == 5
    channel = next(s for s in svgs if 'id="chart-interactions-by-channel"' in s)
    assert 'role="img"' in channel
    assert 'aria-labelledby="interactions-by-channel-title interactions-by-channel-desc"' in channel
    assert (
        '<title id="interactions-by-channel-title">Interactions per month by channel</title>'
        in (channel)
    )
    assert re.search(
        r'<desc id="interactions-by-channel-desc">Stacked bar chart: 6 interactions', channel
    )
    for text in (">Month<", ">Interactions<", ">Jan<", ">Meeting<", ">WeChat<"):
        assert text in channel, text
    sexes = next(s for s in svgs if 'id="chart-participants-by-sex"' in s)
    assert ">Sex<" in sexes and ">Participants<" in sexes and ">Women<" in sexes
    for svg in svgs:
        if 'id="chart-engaged-by-type"' not in svg:  # the vertical charts: a y axis of counts
            start = svg.index('class="axis y')
            end = svg.find('class="axis x', start)
            y_axis = svg[start : end if end > 0 else None]
            ticks = re.findall(r'<g class="guides"><path [^>]*/><text [^>]*>([^<]*)</text>', y_axis)
            assert ticks and all(t.isdigit() for t in ticks), ticks  # whole numbers only
        assert "<script" not in svg  # works offline: no tooltip script, no link to one
        assert "kozea.github.io" not in svg


def test_the_page_prints_as_an_a4_document_with_the_period_and_filters(login_as, client, known):
    page = _page(login_as(Role.manager), Q1 + "&sector=textile&type=enterprise")
    assert '<link rel="stylesheet" href="/static/css/reports.css">' in page
    header = re.search(r'data-testid="report-period">(.*?)</p>', page, re.S).group(1)
    text = re.sub(r"<[^>]+>|\s+", " ", header)
    assert "1 Jan 2026" in text and "31 Mar 2026" in text
    assert "Textile and garment" in text and "Enterprise" in text
    css = client.get("/static/css/reports.css").get_data(as_text=True)
    assert "@media print" in css and "size: A4" in css


def test_each_map_cell_links_to_its_stakeholders(login_as, known):
    client = login_as(Role.viewer)
    page = _page(client)
    orgs = re.search(
        r'data-testid="map-orgs-5-4" href="([^"]+)"|href="([^"]+)" data-testid="map-orgs-5-4"', page
    )
    url = (orgs.group(1) or orgs.group(2)).replace("&amp;", "&")
    assert parse_qs(urlsplit(url).query) == {"influence": ["5"], "interest": ["4"]}
    listed = _page(client, url)
    assert "Bright Electronics" in listed and "Silk Garments" not in listed
    assert 'data-testid="map-filter"' in listed
    people = re.search(r'href="([^"]+)" data-testid="map-people-5-4"', page).group(1)
    listed = _page(client, people.replace("&amp;", "&"))
    assert "Test Cui" in listed or "Cui Test" in listed
    assert "Test Ai" not in listed and "Ai Test" not in listed


def test_map_links_keep_the_sector_and_people_lists_filter_by_employer(login_as, known):
    client = login_as(Role.viewer)
    page = _page(client, Q1 + "&sector=textile")
    url = re.search(r'href="([^"]+)" data-testid="map-people-4-4"', page).group(1)
    query = parse_qs(urlsplit(url.replace("&amp;", "&")).query)
    assert query == {"influence": ["4"], "interest": ["4"], "sector": ["textile"]}
    listed = _page(client, url.replace("&amp;", "&"))
    assert "Ai" in listed
    assert _page(client, "/people?sector=electronics").count('data-testid="last-contact"') == 1


# ---------------------------------------------------------------------------------------------
# Exports of the report
# ---------------------------------------------------------------------------------------------


def test_each_table_exports_as_csv_with_the_figures_of_the_page(login_as, known):
    client = login_as(Role.manager)
    tables = page_tables(_page(client))
    for key in reporting.TABLE_KEYS:
        response = client.get(Q1 + f"&table={key}&format=csv")
        assert response.status_code == 200, key
        assert response.content_type == "text/csv; charset=utf-8"
        assert "attachment" in response.headers["Content-Disposition"]
        rows = csv_rows(response.data)
        shown = tables[key]
        if len(shown) == 2 and shown[1][0] == "Nothing in this period.":
            shown = shown[:1]
        assert [[as_page_text(c) for c in row] for row in rows] == shown, key


def test_the_report_exports_as_one_workbook_with_a_sheet_per_table(login_as, known):
    client = login_as(Role.manager)
    tables = page_tables(_page(client))
    response = client.get(Q1 + "&format=xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = workbook(response.data)
    assert book.sheetnames[0] == "Report"
    about = dict(sheet_rows(book["Report"])[1:])
    assert about["Start"].isoformat() == "2026-01-01T00:00:00"
    assert about["End"].isoformat() == "2026-03-31T00:00:00"
    assert about["Sector"] == "All sectors"
    assert len(book.sheetnames) == 1 + len(reporting.TABLE_KEYS)
    sheet = book.worksheets[1]
    # Each table has a short sheet name that says what it holds (Excel allows 31 characters).
    assert [s.title for s in book.worksheets[1:3]] == [
        "Interactions by channel",
        "Interactions by sector",
    ]
    assert all(len(name) <= 31 for name in book.sheetnames)
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["A"].width >= 10
    rows = sheet_rows(sheet)
    assert rows[0] == tables["interactions_by_channel"][0]
    assert rows[1][0].isoformat() == "2026-01-01T00:00:00"  # a real date
    assert rows[1][1:] == [1, 0, 0, 0, 0, 1]  # and real numbers
    assert sheet["A2"].number_format == "yyyy-mm"
    assert rows[-1] == ["Total", 2, 1, 1, 1, 1, 6]
    follow = sheet_rows(book["Follow-ups by assignee"])
    assert follow[-1] == ["All assignees", 6, 4, 60, 6.5, 2]
    moves = sheet_rows(book["Engagement level changes"])
    assert moves[1][-1].isoformat() == "2026-02-01T09:00:00"  # local time, as on the page


def _same(shown: str, value: object) -> bool:
    """A page cell and a typed XLSX cell hold the same figure."""
    if isinstance(value, int | float):
        return float(shown) == pytest.approx(value)
    return shown == ("—" if value is None else value)


def test_report_xlsx_values_match_the_page_cell_by_cell(login_as, known):
    client = login_as(Role.manager)
    tables = page_tables(_page(client))
    for key in ("engaged_by_type", "follow_ups", "participants_by_sex", "stakeholder_map"):
        book = workbook(client.get(Q1 + f"&table={key}&format=xlsx").data)
        rows = sheet_rows(book.worksheets[0])
        shown = tables[key]
        assert len(rows) == len(shown), key
        for row, page_row in zip(rows, shown, strict=True):
            assert all(_same(p, v) for p, v in zip(page_row, row, strict=True)), (key, row)


def test_viewers_and_members_cannot_export_the_personal_tables(login_as, known, in_app):
    for role in (Role.viewer, Role.member):
        client = login_as(role)
        assert client.get(Q1 + "&table=engaged_by_type&format=csv").status_code == 200
        for key in ("not_contacted", "level_moves"):
            assert client.get(Q1 + f"&table={key}&format=csv").status_code == 403
            assert client.get(Q1 + f"&table={key}&format=xlsx").status_code == 403
        book = workbook(client.get(Q1 + "&format=xlsx").data)
        assert "High-influence stakeholders no" not in book.sheetnames
        assert len(book.sheetnames) == 1 + len(reporting.TABLE_KEYS) - 2
    assert _export_events(in_app) == []


def test_a_coordinator_exports_a_personal_table_and_the_export_is_recorded(login_as, known, in_app):
    client = login_as(Role.coordinator)
    response = client.get(Q1 + "&table=not_contacted&format=csv")
    assert response.status_code == 200
    assert csv_rows(response.data)[1][0] == "Cotton Mill"
    (event,) = _export_events(in_app)
    assert (event.entity_type, event.entity_id, event.actor_id) == (
        "users",
        client.user.id,
        client.user.id,
    )
    assert event.summary == "exported report: not_contacted (1 rows)"
    assert event.changes["format"] == [None, "csv"]
    assert event.changes["filters"][1]["start"] == "2026-01-01"


def test_the_page_offers_personal_exports_only_to_those_who_may(login_as, known):
    assert 'data-testid="csv-not_contacted"' not in _page(login_as(Role.member))
    assert 'data-testid="csv-engaged_by_type"' in _page(login_as(Role.member))
    assert 'data-testid="csv-not_contacted"' in _page(login_as(Role.coordinator))


# ---------------------------------------------------------------------------------------------
# Bad input: a message, never a 500
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-03-31&end=2026-01-01", "The end date is before the start date."),
        ("start=2000-01-01&end=2050-01-01", "Choose a period of at most 10 years."),
        ("start=2026-02-30", "is not a date"),
        ("start=not-a-date&end=2026-01-01", "is not a date"),
        ("end=99999-01-01", "is not a date"),
        ("start=0001-01-01&end=0001-01-02", "Choose dates between 1990 and 2100."),
        ("start=9999-12-30&end=9999-12-31", "Choose dates between 1990 and 2100."),
    ],
)
def test_a_bad_period_is_explained_on_the_page(login_as, query, message):
    response = login_as(Role.manager).get("/reports?" + query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'data-testid="report-error"' in page
    assert 'data-testid="report-form"' in page  # the form stays, with what was typed


def test_an_unknown_sector_or_type_is_ignored_with_a_notice(login_as, known):
    response = login_as(Role.manager).get(Q1 + "&sector=steel&type=<b>robot</b>")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Unknown sector “steel” ignored" in page
    assert "Unknown stakeholder type “&lt;b&gt;robot&lt;/b&gt;” ignored" in page
    assert _figure(page, "interactions") == "6"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Q1 + "&format=pdf", "Unknown export format"),
        (Q1 + "&format=csv", "A CSV file holds one table"),
        (Q1 + "&format=csv&table=nope", "There is no such table in the report."),
        ("/reports?start=2026-03-31&end=2026-01-01&format=xlsx", "The end date is before"),
        ("/reports?start=2000-01-01&end=2050-12-31&format=csv&table=coverage", "at most 10 years"),
    ],
)
def test_a_bad_export_request_is_refused_with_a_message(login_as, query, message):
    response = login_as(Role.manager).get(query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_period_with_nothing_in_it_is_an_empty_report(login_as, known):
    page = _page(login_as(Role.manager), "/reports?start=2020-01-01&end=2020-01-31")
    assert 'data-testid="report-empty"' in page
    assert _figure(page, "interactions") == "0"
    tables = page_tables(page)
    assert tables["interactions_by_channel"] == [
        ["Month", "Total"],
        ["2020-01", "0"],
        ["Total", "0"],
    ]


def test_a_single_day_report_counts_that_local_day(login_as, known):
    page = _page(login_as(Role.manager), "/reports?start=2026-03-31&end=2026-03-31")
    assert _figure(page, "interactions") == "1"  # I3 at 23:30 local time, 15:30 UTC
    assert date(2026, 3, 31)  # the day itself: both ends inclusive


def test_the_report_reads_in_chinese(login_as, known):
    page = _page(login_as(Role.manager, locale="zh"))
    assert "参与情况报告" in page and "按渠道统计的每月互动记录" in page
    assert "Engagement report" not in page


def test_the_report_page_makes_as_many_queries_for_more_data(app, login_as, known, make_user):
    """No N+1: every figure comes from a fixed set of queries."""
    client = login_as(Role.manager)
    statements: list[str] = []

    def count(*args) -> None:  # type: ignore[no-untyped-def]
        statements.append(args[2])

    def queries() -> int:
        statements.clear()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            _page(client)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = queries()
    carol = make_user(Role.member, name="Carol")
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.role == Role.admin))
        for n in range(10):
            org = stakeholders.create_organisation(
                {"display_name": f"Extra {n}", "org_type": "ngo", "influence": 5}, actor=admin
            )
            interactions.log_interaction(
                {
                    "occurred_at": local(2026, 2, 1 + n, 10, 0),
                    "channel": "visit",
                    "subject": "Extra",
                    "stakeholder_ids": [org.id],
                },
                actor=admin,
            )
            follow_ups.create(
                {"title": "Extra", "due_on": date(2026, 3, 1), "assignee_id": carol.id},
                actor=admin,
            )
    assert queries() == before


def test_months_heading_the_rows_stay_on_one_line(login_as, known):
    """A narrow table (interactions by sector, five sectors) would break "2026-01" after the
    hyphen; the months that head its rows do not wrap."""
    page = _page(login_as(Role.manager))
    months = re.findall(r'<th scope="row" class="([^"]*)">(\d{4}-\d{2})</th>', page)
    assert months, "no month heads a row"
    assert all("text-nowrap" in classes for classes, _month in months)
    assert '<th scope="row" class="fw-normal">Enterprise</th>' in page  # other rows may wrap
