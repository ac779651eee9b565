"""Exports keep data intact (issue #16, item 3) and stay cheap at scale (issue #13, item 3).

Phone numbers, signed numbers and dates leave as they are; only text a spreadsheet would run
is escaped in CSV, and XLSX stores all text as text. What is exported re-imports to the same
values through the app's own reader. An export is recorded in the audit trail once its file
has been produced, and only then. Worksheets have short names cut at a word, files carry
their period. Labels are translated once per file and the rows are read in a fixed number
of statements, whatever their number.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, Person, User
from crm.services import activities, clock, imports, interactions, reporting, stakeholders
from crm.services.reporting import exports, xlsx
from tests.reports.helpers import csv_rows, sheet_rows, workbook

PHONE = "+86 138 0013 8000"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def _events(in_app: Any) -> list[AuditEvent]:
    with in_app():
        return list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == AuditAction.export)
                .order_by(AuditEvent.id)
            )
        )


@pytest.fixture
def people(make_person, make_organisation):  # type: ignore[no-untyped-def]
    """Values a careless formula guard would spoil, and one it must neutralise."""
    make_organisation(display_name="Silk Road Textiles", chinese_name="丝路纺织")
    wang = make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        phone=PHONE,
        email="wf@example.org",
        job_title="-12.5",
    )
    li = make_person(
        family_name="Li", given_name="Na", phone="+1 (555) 010-9999", job_title="2026-03-04"
    )
    evil = make_person(family_name="Zhou", given_name="Jie", job_title=FORMULA)
    return {"wang": wang, "li": li, "evil": evil}


def _by_name(rows: list[list[Any]]) -> dict[str, dict[str, Any]]:
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=False)) for row in rows[1:]}


# ---------------------------------------------------------------------------------------------
# Values kept, formulas neutralised
# ---------------------------------------------------------------------------------------------


def test_phone_numbers_and_signed_numbers_leave_the_csv_unchanged(login_as, people):
    rows = _by_name(csv_rows(login_as(Role.coordinator).get("/people?format=csv").data))
    assert rows["Wang Fang"]["Phone"] == people["wang"].phone
    assert rows["Wang Fang"]["Phone"].startswith("+86")
    assert rows["Wang Fang"]["Job title"] == "-12.5"
    assert rows["Li Na"]["Phone"] == people["li"].phone and rows["Li Na"]["Phone"][0] == "+"
    assert rows["Li Na"]["Job title"] == "2026-03-04"
    assert "'" not in "".join(rows["Wang Fang"].values())


def test_phone_numbers_and_signed_numbers_leave_the_workbook_unchanged(login_as, people):
    book = workbook(login_as(Role.coordinator).get("/people?format=xlsx").data)
    rows = _by_name(sheet_rows(book.active))
    assert rows["Wang Fang"]["Phone"] == people["wang"].phone
    assert rows["Wang Fang"]["Job title"] == "-12.5"
    assert rows["Li Na"]["Phone"] == people["li"].phone
    assert rows["Li Na"]["Job title"] == "2026-03-04"


def test_a_formula_is_escaped_in_csv_and_kept_as_text_in_the_workbook(login_as, people):
    client = login_as(Role.coordinator)
    rows = _by_name(csv_rows(client.get("/people?format=csv").data))
    assert rows["Zhou Jie"]["Job title"] == "'" + FORMULA

    data = client.get("/people?format=xlsx").data
    book = workbook(data)
    header = [c.value for c in book.active[1]]
    cells = {row[0].value: row[header.index("Job title")] for row in book.active.iter_rows(2)}
    assert cells["Zhou Jie"].value == FORMULA and cells["Zhou Jie"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere in the file


@pytest.mark.parametrize(
    "text",
    ["+86 138 0013 8000", "+1 (555) 010-9999 ext. 12", "-12.5", "+3%", "-", "2026-03-04", "王芳"],
)
def test_numbers_phones_and_dates_are_never_escaped(text):
    assert exports.safe_cell(text) == text


@pytest.mark.parametrize(
    "text", ["=1+1", "@SUM(A1)", "+A1", "-1+cmd|' /C calc'!A0", "+1+1", "-2*3", "\t=1", "\r=1"]
)
def test_what_would_run_as_a_formula_is_escaped(text):
    assert exports.safe_cell(text) == "'" + text


def test_workbook_text_is_never_a_formula_and_holds_no_control_characters():
    out = io.BytesIO()
    sheet = xlsx.Worksheet(
        "Sheet", ["a", "b"], ["text", "text"], [10, 10], [["=1+1", "bell\x07 <tag> & co"]]
    )
    xlsx.write(out, [sheet], tz=clock.zone(), yes_no=("yes", "no"))
    book = workbook(out.getvalue())
    assert sheet_rows(book.active)[1] == ["=1+1", "bell  <tag> & co"]
    assert book.active["A2"].data_type == "s"


# ---------------------------------------------------------------------------------------------
# Re-import gives the same values
# ---------------------------------------------------------------------------------------------


def _reimported(in_app: Any, data: bytes, name: str) -> dict[str, dict[str, str]]:
    with in_app():
        table = imports.read_table(data, name)
    return {row.cells[0]: dict(zip(table.headers, row.cells, strict=False)) for row in table.rows}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_reimports_to_the_same_values(login_as, in_app, people, fmt):
    data = login_as(Role.coordinator).get(f"/people?format={fmt}").data
    back = _reimported(in_app, data, f"people.{fmt}")
    with in_app():
        for person in db.session.scalars(sa.select(Person)):
            row = back[person.display_name]
            assert row["Chinese name"] == (person.chinese_name or "")
            assert row["Phone"] == (person.phone or "")
            assert row["Email"] == (person.email or "")
            assert row["Influence"] == str(person.influence)
            if person.job_title != FORMULA or fmt == "xlsx":  # CSV keeps its guard (see docs)
                assert row["Job title"] == person.job_title
            # The same minute, whatever the format writes of a datetime.
            updated = exports.text_of(person.updated_at, "datetime")
            assert row["Updated"][:16] == updated


def test_the_organisation_list_reimports_to_the_same_values(login_as, in_app, people):
    client = login_as(Role.viewer)
    from_csv = _reimported(in_app, client.get("/organisations?format=csv").data, "o.csv")
    from_xlsx = _reimported(in_app, client.get("/organisations?format=xlsx").data, "o.xlsx")
    for row in from_xlsx.values():  # a workbook keeps the seconds of a datetime, CSV does not
        row["Updated"] = row["Updated"][:16]
    assert from_csv == from_xlsx
    assert from_csv["Silk Road Textiles"]["Chinese name"] == "丝路纺织"
    assert from_csv["Silk Road Textiles"]["Sector"] == "Electronics"


# ---------------------------------------------------------------------------------------------
# The audit trail: once the file has been produced, and only then
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def training(app, actor, make_person):  # type: ignore[no-untyped-def]
    """An activity with three participants, one of them with a phone number."""
    ids = [
        make_person(family_name="Ai", given_name="Test", phone=PHONE).id,
        make_person(family_name="Bo", given_name="Test").id,
        make_person(family_name="Cui", given_name="Test", gender="male").id,
    ]
    with app.app_context():
        admin = db.session.get(User, actor.id)
        made = activities.create(
            {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activities.add_participants(made, ids, status="attended", actor=admin)
        activity_id = made.id
        db.session.remove()
    return activity_id


def test_the_participants_csv_downloads_in_full_and_is_recorded_once(login_as, in_app, training):
    response = login_as(Role.coordinator).get(f"/activities/{training}/participants?format=csv")
    assert response.status_code == 200 and response.is_streamed
    rows = csv_rows(response.data)
    assert [r[0] for r in rows[1:]] == ["Test Ai", "Test Bo", "Test Cui"]
    assert rows[1][rows[0].index("Phone")] == PHONE
    assert rows[1][rows[0].index("Status")] == "Attended"
    (event,) = _events(in_app)
    assert event.summary == "exported participants (3 rows)"
    assert event.changes["format"] == [None, "csv"]


def test_a_streamed_csv_is_recorded_only_after_its_last_line(login_as, in_app, training):
    client = login_as(Role.coordinator)
    response = client.get(f"/activities/{training}/participants?format=csv", buffered=False)
    chunks = iter(response.response)
    first = next(chunks)
    assert first.startswith(exports.BOM.encode())
    assert _events(in_app) == []  # the file is not produced yet
    rest = b"".join(chunks)
    response.close()
    assert len(csv_rows(first + rest)) == 4
    assert [e.summary for e in _events(in_app)] == ["exported participants (3 rows)"]


def test_a_download_broken_off_is_not_recorded(login_as, in_app, training):
    client = login_as(Role.coordinator)
    response = client.get(f"/activities/{training}/participants?format=csv", buffered=False)
    next(iter(response.response))
    response.close()  # the browser went away after the header
    assert _events(in_app) == []


def test_an_export_that_fails_records_no_event(login_as, in_app, people, monkeypatch):
    real = exports.safe_cell

    def failing(value: Any) -> Any:
        if value == "Zhou Jie":
            raise RuntimeError("the disk is full")
        return real(value)

    def failing_xml(value: str) -> str:
        return real_xml(failing(value))

    real_xml = xlsx.text
    client = login_as(Role.coordinator)
    monkeypatch.setattr(exports, "safe_cell", failing)
    with pytest.raises(RuntimeError):
        client.get("/people?format=csv&sort=name").get_data()  # after the header was sent
    monkeypatch.setattr(xlsx, "text", failing_xml)
    with pytest.raises(RuntimeError):
        client.get("/people?format=xlsx")
    assert _events(in_app) == []
    monkeypatch.undo()
    assert client.get("/people?format=xlsx").status_code == 200
    assert [e.summary for e in _events(in_app)] == ["exported people (3 rows)"]


def test_a_workbook_is_recorded_once_with_its_rows(login_as, in_app, training):
    client = login_as(Role.coordinator)
    assert client.get(f"/activities/{training}/participants?format=xlsx").status_code == 200
    (event,) = _events(in_app)
    assert event.summary == "exported participants (3 rows)"
    assert event.changes["format"] == [None, "xlsx"]


# ---------------------------------------------------------------------------------------------
# Sheet names and file names
# ---------------------------------------------------------------------------------------------


def test_report_sheets_have_short_names_cut_at_a_word(login_as, app):
    with app.app_context():
        report = reporting.engagement(
            date(2026, 1, 1), date(2026, 3, 31), timezone=clock.zone(), today=date(2026, 4, 1)
        )
        # Titles as a sheet name may hold them, without []:*?/\
        tables = reporting.tables(report)
        titles = [" ".join(re.sub(r"[\[\]:*?/\\]", " ", t.title).split()) for t in tables]
        shorts = [t.sheet for t in tables if t.sheet]
    response = login_as(Role.manager).get("/reports?start=2026-01-01&end=2026-03-31&format=xlsx")
    names = workbook(response.data).sheetnames
    assert len(names) == 1 + len(titles) and len(set(names)) == len(names)
    for name in names[1:]:
        assert len(name) <= 31
        base = name.rsplit(" (", 1)[0] if name.endswith(")") else name
        assert base in shorts or any(t == base or t.startswith(base + " ") for t in titles), name
        assert base.split()[-1].lower() not in {"by", "in", "the", "of", "per"}, name


def test_sheet_titles_fit_and_stay_unique():
    title = "Interactions per month by channel"
    assert exports.sheet_title(title) == "Interactions per month"
    assert exports.sheet_title(title, ["Interactions per month"]) == "Interactions per month (2)"
    assert exports.sheet_title(title, short="By channel") == "By channel"
    assert (
        exports.sheet_title("Stakeholder map: influence × interest") == "Stakeholder map influence"
    )
    assert exports.sheet_title("History") == "History (2)"  # Excel keeps "History"
    assert (
        len(
            exports.sheet_title(
                "按季度和性别分列的培训参与者人数以及政府官员和企业代表及工会代表的人数"
            )
        )
        == 31
    )
    assert exports.sheet_title("Supercalifragilisticexpialidociousnessness") == (
        "Supercalifragilisticexpialidoci"
    )


@pytest.mark.parametrize(
    ("period", "name"),
    [
        ((date(2026, 1, 1), date(2026, 12, 31)), "engagement-report-2026.xlsx"),
        ((date(2026, 1, 1), date(2026, 3, 31)), "engagement-report-2026-Q1.xlsx"),
        ((date(2026, 10, 1), date(2026, 12, 31)), "engagement-report-2026-Q4.xlsx"),
        ((date(2026, 2, 1), date(2026, 2, 28)), "engagement-report-2026-02.xlsx"),
        ((date(2026, 1, 5), date(2026, 2, 20)), "engagement-report-2026-01-05-to-2026-02-20.xlsx"),
        ((date(2026, 3, 4), date(2026, 3, 4)), "engagement-report-2026-03-04.xlsx"),
        ("2025", "engagement-report-2025.xlsx"),
    ],
)
def test_file_names_carry_the_period(period, name):
    assert exports.filename("engagement-report", "xlsx", period) == name


def test_a_list_of_one_period_is_named_after_it(login_as, people):
    client = login_as(Role.coordinator)
    response = client.get("/interactions?from=2026-01-01&to=2026-03-31&format=csv")
    response.get_data()
    assert "filename=interactions-2026-Q1.csv" in response.headers["Content-Disposition"]
    response = client.get("/interactions?from=2026-01-05&format=csv")  # open-ended: the day
    response.get_data()
    today = clock.today().isoformat()
    assert f"filename=interactions-{today}.csv" in response.headers["Content-Disposition"]


# ---------------------------------------------------------------------------------------------
# Cost: labels once per file, rows in a fixed number of statements
# ---------------------------------------------------------------------------------------------


def _organisations(make_organisation, app, actor, numbers: range) -> None:  # type: ignore[no-untyped-def]
    for n in numbers:
        made = make_organisation(
            display_name=f"Org {n:03d}", sector="textile", ownership="private", tags=["osh"]
        )
        with app.app_context():
            org = stakeholders.get(type(made), made.id)
            org.owner_id = actor.id
            db.session.commit()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_costs_the_same_statements_and_labels_for_5_or_40_rows(
    login_as, make_organisation, app, actor, count_queries, monkeypatch, fmt
):
    looked_up: list[Any] = []
    real_label = exports.label

    def counting_label(value: Any) -> str:
        looked_up.append(value)
        return real_label(value)

    monkeypatch.setattr(exports, "label", counting_label)
    client = login_as(Role.viewer)
    costs = []
    for numbers in (range(5), range(5, 40)):
        _organisations(make_organisation, app, actor, numbers)
        total = numbers.stop
        looked_up.clear()
        with count_queries() as counter:
            response = client.get(f"/organisations?format={fmt}")
            body = response.get_data()
        rows = csv_rows(body) if fmt == "csv" else sheet_rows(workbook(body).active)
        assert len(rows) == 1 + total
        header = rows[0]
        assert rows[1][header.index("Owner")] == "Factory Admin"
        assert rows[1][header.index("Tags")] == "osh"
        assert rows[1][header.index("Ownership")] == "Private"
        costs.append((counter.count, len(looked_up)))
    assert costs[0] == costs[1], costs


def test_interaction_exports_still_hide_confidential_content(login_as, app, actor, make_person):
    wang = make_person(family_name="Wang", given_name="Fang")
    with app.app_context():
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Wage arrears",
                "summary": "Names of the workers",
                "is_confidential": True,
                "stakeholder_ids": [wang.id],
            },
            actor=db.session.get(User, actor.id),
        )
    rows = csv_rows(login_as(Role.coordinator).get("/interactions?format=csv").data)
    assert rows[1][rows[0].index("Subject")] == "Confidential interaction"
    assert "Names of the workers" not in str(rows)
