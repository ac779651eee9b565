"""Issue 7 as the regional manager lives it: open the engagement report, pick last quarter,
narrow it to the textile sector, read the chart, and download the report as an Excel file."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from crm.extensions import db
from crm.models import User
from crm.services import interactions, reporting

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_manager_reads_last_quarter_for_textile_and_downloads_it(
    page: Page, log_in, make_user, make_organisation, app, actor, tmp_path
):
    manager = make_user("manager", name="Marie Dubois")
    today = datetime.now(SHANGHAI).date()
    last = next(p for p in reporting.presets(today) if p.key == "last_quarter")
    silk = make_organisation(display_name="Ningbo Silk Garments", sector="textile", influence=5)
    chips = make_organisation(display_name="Shenzhen Chips", sector="electronics")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        for org, channel, day in (
            (silk, "meeting", last.start + timedelta(days=10)),
            (silk, "wechat", last.end),
            (chips, "call", last.start + timedelta(days=20)),
        ):
            interactions.log_interaction(
                {
                    "occurred_at": datetime.combine(day, time(15, 0), tzinfo=SHANGHAI),
                    "channel": channel,
                    "subject": "Working hours dialogue",
                    "stakeholder_ids": [org.id],
                },
                actor=admin,
            )

    log_in(manager)
    page.get_by_role("navigation").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Engagement report")).to_be_visible()

    form = page.get_by_test_id("report-form")
    form.get_by_role("link", name="Last quarter").click()
    expect(form.get_by_label("From", exact=True)).to_have_value(last.start.isoformat())
    expect(form.get_by_label("To", exact=True)).to_have_value(last.end.isoformat())
    expect(page.get_by_test_id("figure-interactions")).to_have_text("3")

    form.get_by_label("Sector", exact=True).select_option(label="Textile and garment")
    form.get_by_role("button", name="Show report").click()
    expect(page.get_by_test_id("report-period")).to_contain_text("Textile and garment")
    expect(page.get_by_test_id("figure-interactions")).to_have_text("2")

    chart = page.locator("#chart-interactions-by-channel")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_have_text("Interactions per month by channel")
    axis = chart.locator("text.title")
    expect(axis.filter(has_text=re.compile(r"^Month$"))).to_have_count(1)
    expect(axis.filter(has_text=re.compile(r"^Interactions$"))).to_have_count(1)
    expect(page.get_by_role("img", name="Interactions per month by channel")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_test_id("download-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.startswith("engagement-report-")
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    about = {row[0]: row[1] for row in book["Report"].iter_rows(min_row=2, values_only=True)}
    assert about["Sector"] == "Textile and garment"
    assert about["Start"].date() == last.start and about["End"].date() == last.end
    channels = book.worksheets[1]
    header = [cell.value for cell in channels[1]]
    assert header == ["Month", "Meeting", "WeChat", "Total"]
    assert all(cell.font.b for cell in channels[1]) and channels.freeze_panes == "A2"
    totals = [row for row in channels.iter_rows(values_only=True)][-1]
    assert totals == ("Total", 1, 1, 2)
