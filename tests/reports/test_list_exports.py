"""CSV and Excel exports of the list pages: the filters of the page, typed cells, safe text,
personal data for coordinators and up only, and a record of every personal export."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, Person, User
from crm.services import follow_ups, interactions, stakeholders
from crm.services.reporting import exports
from tests.reports.helpers import csv_rows, sheet_rows, workbook

LISTS = ("/organisations", "/people", "/interactions", "/follow-ups")
PERSONAL = ("/people", "/interactions", "/follow-ups")


def _names_on_page(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    return re.findall(r'<td class="col-name"><a href="[^"]+">([^<]+)</a>', page)


def _exports(in_app) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with in_app():
        return list(
            db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.export))
        )


@pytest.fixture
def organisations(make_organisation):  # type: ignore[no-untyped-def]
    make_organisation(
        display_name="Zhejiang Silk Co.",
        chinese_name="浙江丝绸",
        sector="textile",
        influence=5,
        interest=4,
    )
    make_organisation(display_name="Anhui Cotton Mill", sector="textile", influence=2)
    make_organisation(
        display_name="Shenzhen Chips Ltd.", sector="electronics", influence=5, interest=4
    )
    make_organisation(display_name='=HYPERLINK("http://evil","click")', sector="textile")


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_coordinator_can_export_every_list(login_as, url, fmt):
    response = login_as(Role.coordinator).get(f"{url}?format={fmt}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert re.search(
        rf"filename=[a-z-]+-\d{{4}}-\d\d-\d\d\.{fmt}", response.headers["Content-Disposition"]
    )


@pytest.mark.parametrize("url", PERSONAL)
@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_viewers_and_members_cannot_export_personal_data(login_as, in_app, url, role):
    client = login_as(role)
    for fmt in ("csv", "xlsx"):
        assert client.get(f"{url}?format={fmt}").status_code == 403
    assert _exports(in_app) == []
    assert 'data-testid="export-menu"' not in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_everyone_can_export_the_organisation_list(login_as, in_app, organisations, role):
    client = login_as(role)
    assert 'data-testid="export-menu"' in client.get("/organisations").get_data(as_text=True)
    assert client.get("/organisations?format=csv").status_code == 200
    assert _exports(in_app) == []  # no personal data: nothing to record


def test_the_organisation_export_holds_the_filtered_list_in_its_order(login_as, organisations):
    client = login_as(Role.viewer)
    url = "/organisations?sector=textile&sort=name&dir=desc"
    shown = _names_on_page(client, url)
    rows = csv_rows(client.get(url + "&format=csv").data)
    assert rows[0][:4] == ["Name", "Chinese name", "Type", "Sector"]
    exported = [row[0].removeprefix("'") for row in rows[1:]]
    assert exported == [name.replace("&#34;", '"') for name in shown]
    assert exported == [
        "Zhejiang Silk Co.",
        "Anhui Cotton Mill",
        '=HYPERLINK("http://evil","click")',
    ]
    assert rows[1][1] == "浙江丝绸" and rows[1][3] == "Textile and garment"


def test_every_page_of_the_list_is_exported(login_as, make_organisation):
    for n in range(30):
        make_organisation(display_name=f"Org {n:02d}", sector="textile")
    client = login_as(Role.viewer)
    rows = csv_rows(client.get("/organisations?per_page=25&page=2&format=csv").data)
    assert len(rows) == 1 + 30


def test_influence_and_interest_filter_the_lists_and_their_exports(login_as, organisations):
    client = login_as(Role.viewer)
    assert sorted(_names_on_page(client, "/organisations?influence=5&interest=4")) == [
        "Shenzhen Chips Ltd.",
        "Zhejiang Silk Co.",
    ]
    rows = csv_rows(client.get("/organisations?influence=5&interest=4&format=csv").data)
    assert sorted(r[0] for r in rows[1:]) == ["Shenzhen Chips Ltd.", "Zhejiang Silk Co."]
    # Out-of-range scores are ignored, never a 500.
    assert len(_names_on_page(client, "/organisations?influence=9&interest=x")) == 4


def test_formulas_are_neutralised_in_csv_and_xlsx(login_as, organisations):
    client = login_as(Role.viewer)
    rows = csv_rows(client.get("/organisations?format=csv&sort=name").data)
    assert rows[1][0] == '\'=HYPERLINK("http://evil","click")'
    # An XLSX text cell is never a formula: the text is kept as it is, without a quote.
    book = workbook(client.get("/organisations?format=xlsx&sort=name").data)
    cell = book.active["A2"]
    assert cell.value == '=HYPERLINK("http://evil","click")' and cell.data_type == "s"


@pytest.mark.parametrize(
    "text", ["=1+1", "+A1", "-1+cmd|' /C calc'!A0", "+SUM(A1)", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_every_formula_start_is_neutralised(text):
    (line,) = list(exports.csv_lines([exports.Column("x")], [text]))[1:]
    assert line.startswith("'") or line.startswith("\"'")
    assert exports.text_of(text).startswith("'")
    assert exports.text_of("plain") == "plain" and exports.text_of(-1) == "-1"
    # Signed numbers and phone numbers are no formulas: they are written as they are.
    assert exports.text_of("-1") == "-1" and exports.text_of("+86 138 0013 8000")[0] == "+"


def test_the_xlsx_has_a_bold_frozen_header_real_numbers_dates_and_widths(login_as, organisations):
    client = login_as(Role.viewer)
    book = workbook(client.get("/organisations?format=xlsx&sort=name").data)
    sheet = book.active
    assert sheet.title == "Organisations"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    header = [c.value for c in sheet[1]]
    influence = header.index("Influence") + 1
    updated = header.index("Updated") + 1
    assert isinstance(sheet.cell(2, influence).value, int)
    assert isinstance(sheet.cell(2, updated).value, datetime)
    assert sheet.column_dimensions["A"].width == 40


def test_people_export_records_an_audit_event_for_the_coordinator(login_as, in_app, make_person):
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳", email="wf@example.org")
    make_person(family_name="Li", given_name="Na", gender="female")
    client = login_as(Role.coordinator)
    response = client.get("/people?gender=female&format=xlsx")
    assert response.status_code == 200
    rows = sheet_rows(workbook(response.data).active)
    assert [r[0] for r in rows[1:]] == ["Li Na", "Wang Fang"]
    assert rows[0][7] == "Email" and rows[2][7] == "wf@example.org"
    (event,) = _exports(in_app)
    assert event.entity_type == "users" and event.entity_id == client.user.id
    assert event.actor_id == client.user.id
    assert event.summary == "exported people (2 rows)"
    assert event.changes["filters"] == [None, {"gender": "female", "format": "xlsx"}]


def test_people_who_withdrew_consent_are_exported_without_contact_details(login_as, make_person):
    make_person(
        family_name="Zhou",
        given_name="Jie",
        email="zj@example.org",
        phone="13800138000",
        consent="withdrawn",
    )
    rows = csv_rows(login_as(Role.manager).get("/people?format=csv").data)
    header, row = rows[0], rows[1]
    assert row[header.index("Email")] == "" and row[header.index("Phone")] == ""
    assert row[header.index("Consent")] == "Withdrawn"


def test_people_export_keeps_the_sector_filter_of_the_map(
    login_as, app, actor, make_person, make_organisation
):
    silk = make_organisation(display_name="Silk", sector="textile")
    chips = make_organisation(display_name="Chips", sector="electronics")
    ai = make_person(family_name="Ai", given_name="Test")
    make_person(family_name="Bo", given_name="Test")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        for org in (silk, chips):
            stakeholders.add_affiliation(
                db.session.get(Person, ai.id),
                organisation_id=org.id,
                title=None,
                start_on=None,
                end_on=None,
                actor=admin,
            )
    rows = csv_rows(login_as(Role.manager).get("/people?sector=textile&format=csv").data)
    assert [r[0] for r in rows[1:]] == ["Test Ai"]
    assert "Silk" in rows[1][6] and "Chips" in rows[1][6]


@pytest.fixture
def confidential(app, actor, make_person, make_user):  # type: ignore[no-untyped-def]
    wang = make_person(family_name="Wang", given_name="Fang")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Wage arrears complaint",
                "summary": "Names of the workers who complained",
                "outcome": "=cmd|' /C calc'!A0",
                "is_confidential": True,
                "stakeholder_ids": [wang.id],
            },
            actor=admin,
        )
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
                "channel": "wechat",
                "subject": "Training invitation",
                "summary": "Invited to the OSH training",
                "stakeholder_ids": [wang.id],
            },
            actor=admin,
        )


def test_confidential_interactions_are_exported_without_their_content(login_as, confidential):
    rows = csv_rows(login_as(Role.coordinator).get("/interactions?format=csv").data)
    header = rows[0]
    by_when = {r[0]: r for r in rows[1:]}
    secret = by_when["2026-03-04 10:00"]
    assert secret[header.index("Subject")] == "Confidential interaction"
    assert secret[header.index("Summary")] == "" and secret[header.index("Outcome")] == ""
    assert secret[header.index("Confidential")] == "yes"
    assert by_when["2026-03-05 10:00"][header.index("Summary")] == "Invited to the OSH training"
    assert "Names of the workers" not in "".join(",".join(r) for r in rows)


def test_managers_export_confidential_content_they_may_read(login_as, confidential):
    book = workbook(login_as(Role.manager).get("/interactions?format=xlsx&dir=asc").data)
    rows = sheet_rows(book.active)
    header = rows[0]
    assert rows[1][header.index("Summary")] == "Names of the workers who complained"
    assert rows[1][header.index("Outcome")] == "=cmd|' /C calc'!A0"  # text, never a formula
    assert rows[1][0].isoformat() == "2026-03-04T10:00:00"  # local time, a real datetime


def test_interaction_export_follows_the_page_filters(login_as, confidential):
    rows = csv_rows(login_as(Role.manager).get("/interactions?channel=wechat&format=csv").data)
    assert [r[1] for r in rows[1:]] == ["WeChat"]


def test_follow_up_export_follows_the_status_filter(login_as, app, actor, in_app):
    with app.app_context():
        admin = db.session.get(User, actor.id)
        for title in ("Send the checklist", "Call the bureau"):
            follow_ups.create(
                {"title": title, "due_on": date(2026, 5, 1), "assignee_id": actor.id}, actor=admin
            )
        bureau = follow_ups.search(follow_ups.Criteria(), today=date(2026, 1, 1)).items[1]
        assert bureau.title == "Call the bureau"
        follow_ups.complete(bureau, note="=done", actor=admin)
    client = login_as(Role.coordinator)
    rows = csv_rows(client.get("/follow-ups?format=csv").data)  # open ones, as the page
    assert [r[0] for r in rows[1:]] == ["Send the checklist"]
    rows = csv_rows(client.get("/follow-ups?status=done&format=csv").data)
    assert [r[0] for r in rows[1:]] == ["Call the bureau"]
    assert rows[1][rows[0].index("Completion note")] == "'=done"
    assert rows[1][rows[0].index("Due on")] == "2026-05-01"
    (first, _second) = _exports(in_app)
    assert first.summary == "exported follow-ups (1 rows)"


def test_a_large_csv_export_streams(login_as, app, actor):
    with app.app_context():
        admin = db.session.get(User, actor.id)
        for n in range(1200):
            db.session.add(
                __import__("crm.models", fromlist=["Organisation"]).Organisation(
                    display_name=f"Bulk {n:04d}",
                    sort_name=f"bulk {n:04d}",
                    org_type="enterprise",
                    created_by_id=admin.id,
                )
            )
        db.session.commit()
    response = login_as(Role.viewer).get("/organisations?format=csv")
    assert response.is_streamed
    rows = csv_rows(response.data)
    assert len(rows) == 1201 and rows[1][0] == "Bulk 0000"


def test_an_unknown_format_is_refused_with_a_message(login_as):
    response = login_as(Role.manager).get("/people?format=pdf")
    assert response.status_code == 400
    assert "Unknown export format" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", LISTS)
def test_each_list_page_offers_the_export_menu_to_coordinators(login_as, url):
    page = login_as(Role.coordinator).get(url + "?q=x").get_data(as_text=True)
    assert 'data-testid="export-menu"' in page
    csv_link = re.search(r'href="([^"]+)" data-testid="export-csv"', page).group(1)
    assert "format=csv" in csv_link and "page=" not in csv_link


def test_the_activity_list_exports_with_its_filters(login_as, known):
    client = login_as(Role.viewer)
    rows = csv_rows(client.get("/activities?type=mou&dir=asc&format=csv").data)
    header = rows[0]
    assert [r[header.index("Title")] for r in rows[1:]] == [
        "Activity M3",
        "Activity M2",
        "Activity M4",
        "Activity M1",
    ]
    m1 = rows[-1]
    assert m1[header.index("Signed on")] == "2026-02-15"
    assert m1[header.index("Agreement status")] == "Signed"
    book = workbook(client.get("/activities?type=training&status=held&format=xlsx").data)
    sheet = sheet_rows(book.active)
    assert [r[3] for r in sheet[1:]] == ["Activity A3", "Activity A6", "Activity A1"]
    assert sheet[-1][13:16] == [5, 3, 2]  # the unnamed headcounts of A1, as numbers


def test_participants_export_for_coordinators_only_and_recorded(login_as, known, in_app):
    url = f"/activities/{known['A1']}/participants?format=xlsx"
    assert login_as(Role.member).get(url).status_code == 403
    assert _exports(in_app) == []
    client = login_as(Role.coordinator)
    page = client.get(f"/activities/{known['A1']}").get_data(as_text=True)
    assert 'data-testid="export-participants"' in page
    rows = sheet_rows(workbook(client.get(url).data).active)
    assert rows[0][:4] == ["Name", "Chinese name", "Gender", "Organisation at the time"]
    found = {r[0]: (r[3], r[7]) for r in rows[1:]}
    assert found == {
        "Ai Test": ("Silk Garments", "Attended"),
        "Bo Test": ("Bright Electronics", "Attended"),
        "Cui Test": ("Labour Bureau", "Attended"),
        "Du Test": (None, "No-show"),
    }
    (event,) = _exports(in_app)
    assert event.summary == "exported participants (4 rows)"
    assert event.changes["filters"] == [None, {"activity": known["A1"], "format": "xlsx"}]
