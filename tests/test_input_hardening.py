"""Input that cannot break a page (issue 15): control characters, ids past the integer range,
uploads that unpack to too much, and a confidential subject on the delete page."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import UTC, date, datetime

import openpyxl
import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    ImportBatch,
    Interaction,
    Organisation,
    Person,
    Stakeholder,
    User,
)
from crm.requests import MAX_ID
from crm.services import activities, imports, interactions
from crm.services.errors import InvalidInput
from crm.services.text import clean_text

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
TOO_BIG = str(MAX_ID + 1)  # 2147483648: PostgreSQL's integer ends just before
HUGE = "9" * 23  # past what SQLite takes


def _interaction_form(*stakeholder_ids, **over):
    data = {
        "version": "0",
        "channel": "meeting",
        "direction": "outbound",
        "occurred_at": "2026-03-04 10:00",
        "stakeholders": list(stakeholder_ids),
        "subject": "Worker committee",
        "summary": "Discussed overtime",
    }
    data.update(over)
    return data


def _organisation_form(**over):
    data = {
        "version": "0",
        "display_name": "Dongguan Harmony Garments",
        "org_type": "enterprise",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "3",
    }
    data.update(over)
    return data


def _count(in_app, model) -> int:
    with in_app():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _log(in_app, author_id: int, stakeholder_id: int, **over) -> int:
    with in_app():
        author = db.session.get(User, author_id)
        data = {
            "occurred_at": datetime(2026, 3, 4, 2, tzinfo=UTC),
            "channel": "meeting",
            "subject": "Worker representatives",
            "summary": "Names of the union reps",
            "stakeholder_ids": [stakeholder_id],
            **over,
        }
        return interactions.log_interaction(data, actor=author).id


# ---------------------------------------------------------------------------------------------
# Control characters: one rule at the form and at the import; every export writes old text
# ---------------------------------------------------------------------------------------------


def test_a_member_cannot_store_control_characters_through_a_form(login_as, make_person, in_app):
    wang = make_person()
    client = login_as(Role.member)
    form = _interaction_form(
        wang.id,
        subject="Overtime \x1b[31mred\x1b[0m\x00 talk\u2028",
        summary="First line\r\nsecond\x07 line\u2028third\tcolumn",
    )
    assert client.post("/interactions/new", data=form).status_code == 302
    with in_app():
        saved = db.session.scalar(sa.select(Interaction))
        assert saved.subject == "Overtime  [31mred [0m  talk"
        assert saved.summary == "First line\r\nsecond  line\nthird\tcolumn"


def test_a_single_line_field_holds_no_line_break(login_as, in_app):
    client = login_as(Role.member)
    form = _organisation_form(display_name="Harmony\r\nGarments\x85", notes="a\r\nb")
    assert client.post("/organisations/new", data=form).status_code == 302
    with in_app():
        org = db.session.scalar(sa.select(Organisation))
        assert (org.display_name, org.notes) == ("Harmony Garments", "a\r\nb")


@pytest.mark.parametrize(
    "raw",
    ["Li\x1bNa", "Li\x01Na\x7f", "Li\x85Na", "two\r\nlines", "one\u2028two", "tab\there"],
)
def test_an_import_cleans_a_cell_by_the_rule_forms_apply(raw):
    data = ("Name,Notes\r\n" + f'"{raw}",x\r\n').encode()
    table = imports.read_table(data, "people.csv")
    expected = clean_text(raw.replace("\r\n", "\n"), multiline=True).strip()
    assert table.rows[0].cells[0] == expected
    assert not CONTROL.search(table.rows[0].cells[0])


def test_an_uploaded_file_name_is_stored_clean(login_as, in_app):
    client = login_as(Role.coordinator)
    upload = (io.BytesIO(b"Name,Email\r\nLi Na,li@example.org\r\n"), "people\x1b.csv")
    response = client.post("/imports", data={"kind": "people", "file": upload})
    assert response.status_code == 302
    with in_app():
        assert db.session.scalar(sa.select(ImportBatch.filename)) == "people .csv"


STORED = "Overtime \x1b[31m \x00talk\x7f\x85 \ufffe end"


@pytest.fixture
def stored_before_the_rule(login_as, make_person, make_organisation, in_app, actor):
    """An interaction, a person and an organisation whose text holds control characters,
    written behind the forms' back as old rows would be."""
    org = make_organisation(display_name="Harmony Garments")
    person = make_person(family_name="Wang", given_name="Fang")
    interaction_id = _log(in_app, actor.id, org.id, summary="x")
    with in_app():
        # PostgreSQL refuses NUL in text; SQLite keeps it, so old SQLite rows may hold one.
        nul = "\x01" if db.engine.dialect.name == "postgresql" else "\x00"
        db.session.execute(
            sa.update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(subject=STORED.replace("\x00", nul), summary="line\r\n\x1bnext")
        )
        db.session.execute(
            sa.update(Stakeholder)
            .where(Stakeholder.id.in_([org.id, person.id]))
            .values(display_name="Harmony\x1b Garments")
        )
        db.session.execute(
            sa.update(Person).where(Person.id == person.id).values(job_title=f"Chair\x1b{nul}")
        )
        db.session.commit()
    return {"interaction": interaction_id, "org": org.id, "person": person.id}


def test_text_stored_before_the_rule_exports_as_xlsx(login_as, stored_before_the_rule):
    client = login_as(Role.coordinator)
    for url in ("/interactions?format=xlsx", "/organisations?format=xlsx", "/people?format=xlsx"):
        response = client.get(url)
        assert response.status_code == 200, url
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        cells = [c.value for row in book.active.iter_rows() for c in row]
        texts = [v for v in cells if isinstance(v, str)]
        assert not any(CONTROL.search(t) for t in texts), url
        assert "Harmony  Garments" in texts, url
    book = openpyxl.load_workbook(io.BytesIO(client.get("/interactions?format=xlsx").data))
    header = [c.value for c in book.active[1]]
    row = [c.value for c in book.active[2]]
    assert row[header.index("Subject")] == "Overtime  [31m  talk     end"
    assert row[header.index("Summary")] == "line\n next"


def test_text_stored_before_the_rule_exports_as_csv(login_as, stored_before_the_rule):
    client = login_as(Role.coordinator)
    for url in ("/interactions?format=csv", "/organisations?format=csv", "/people?format=csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.data.decode("utf-8-sig")
        assert not CONTROL.search(text.replace("\r\n", "").replace("\n", "")), url
    rows = list(csv.reader(io.StringIO(client.get("/interactions?format=csv").data.decode())))
    header, row = rows[0], rows[1]
    assert row[header.index("Subject")] == "Overtime  [31m  talk     end"


def test_text_stored_before_the_rule_exports_as_vcard_and_icalendar(
    login_as, stored_before_the_rule, in_app, actor
):
    client = login_as(Role.coordinator)
    card = client.get(f"/people/{stored_before_the_rule['person']}/vcard")
    assert card.status_code == 200
    assert "Harmony  Garments" in card.get_data(as_text=True)
    listing = client.get("/people/export.vcf")
    assert listing.status_code == 200
    with in_app():
        admin = db.session.get(User, actor.id)
        activity = activities.create(
            {
                "type": "training",
                "title": "OSH\x1b training",
                "status": "planned",
                "start_on": date(2026, 3, 4),
            },
            actor=admin,
        )
        db.session.execute(
            sa.update(Activity)
            .where(Activity.id == activity.id)
            .values(title="OSH\x1b training", description="a\x01b\r\nc")
        )
        db.session.commit()
        activity_id = activity.id
    ics = client.get(f"/activities/{activity_id}/activity.ics")
    assert ics.status_code == 200
    for body in (card.get_data(as_text=True), listing.get_data(as_text=True)):
        assert not CONTROL.search(body.replace("\r\n", ""))
    calendar = ics.get_data(as_text=True)
    assert "OSH  training" in calendar and not CONTROL.search(calendar.replace("\r\n", ""))


# ---------------------------------------------------------------------------------------------
# Ids past the integer range: 404 in URLs, a field error in forms
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [TOO_BIG, HUGE, "9" * 5000])
@pytest.mark.parametrize(
    "pattern",
    [
        "/organisations/{}",
        "/organisations/{}/edit",
        "/people/{}",
        "/interactions/{}",
        "/interactions/{}/delete",
        "/follow-ups/{}",
        "/activities/{}",
        "/activities/{}/activity.ics",
        "/imports/{}",
        "/people/{}/vcard",
    ],
)
def test_an_id_past_the_integer_range_is_not_found(login_as, pattern, number):
    response = login_as(Role.admin).get(pattern.format(number))
    assert response.status_code == 404


def test_the_largest_id_is_still_looked_up(login_as):
    assert login_as(Role.member).get(f"/organisations/{MAX_ID}").status_code == 404


@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
def test_a_parent_past_the_integer_range_is_a_field_error(login_as, in_app, number):
    client = login_as(Role.member)
    response = client.post("/organisations/new", data=_organisation_form(parent_id=number))
    assert response.status_code == 400
    assert "Choose a record from the list." in response.get_data(as_text=True)
    assert _count(in_app, Organisation) == 0


@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
def test_a_stakeholder_past_the_integer_range_is_a_field_error(
    login_as, make_person, in_app, number
):
    wang = make_person()
    client = login_as(Role.member)
    response = client.post("/interactions/new", data=_interaction_form(wang.id, number))
    assert response.status_code == 400
    assert "Choose records from the list." in response.get_data(as_text=True)
    assert _count(in_app, Interaction) == 0


def test_an_owner_past_the_integer_range_is_a_field_error_not_dropped(login_as, in_app):
    client = login_as(Role.member)
    response = client.post("/organisations/new", data=_organisation_form(owner_id=HUGE))
    assert response.status_code == 400
    assert _count(in_app, Organisation) == 0


def test_staff_past_the_integer_range_is_a_field_error(login_as, make_person, in_app):
    wang = make_person()
    response = login_as(Role.member).post(
        "/interactions/new", data=_interaction_form(wang.id, staff=[HUGE])
    )
    assert response.status_code == 400
    assert _count(in_app, Interaction) == 0


def test_a_headcount_past_the_integer_range_is_a_field_error(login_as, in_app, actor):
    with in_app():
        admin = db.session.get(User, actor.id)
        activity = activities.create(
            {"type": "training", "title": "OSH", "status": "held", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activity_id, version = activity.id, activity.version
    response = login_as(Role.coordinator).post(
        f"/activities/{activity_id}/headcounts",
        data={"count-version": str(version), "count-unnamed_women": HUGE},
    )
    assert response.status_code == 400
    assert "This number is out of range." in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(Activity, activity_id).version == version  # unchanged


def test_a_version_in_other_digits_is_a_form_error(login_as, make_organisation, in_app):
    org = make_organisation()
    response = login_as(Role.member).post(
        f"/organisations/{org.id}/edit", data=_organisation_form(version="²")
    )
    assert response.status_code in (400, 409)
    assert "reload the page" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        f"/interactions/new?stakeholder={HUGE}&activity={HUGE}",
        f"/follow-ups/new?stakeholder={TOO_BIG}&activity={HUGE}",
    ],
)
def test_a_preset_id_past_the_integer_range_is_ignored(login_as, url):
    assert login_as(Role.coordinator).get(url).status_code == 200


def test_a_merge_of_ids_past_the_integer_range_is_not_found(login_as, make_person):
    wang = make_person()
    client = login_as(Role.coordinator)
    assert client.get(f"/duplicates/merge?first={wang.id}&second={HUGE}").status_code == 404
    assert client.get(f"/duplicates?after=0-{HUGE}-{TOO_BIG}").status_code == 200


# ---------------------------------------------------------------------------------------------
# Uploads: refused before parsing when they unpack to too much; rows and cells capped
# ---------------------------------------------------------------------------------------------


def _zip_bomb(padding_mb: int = 64) -> bytes:
    """A valid workbook (openpyxl reads it) whose sheet XML is `padding_mb` MB of whitespace
    between two rows, packed to a few hundred KB."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Email"])
    sheet.append(["Li Na", "li@example.org"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info.filename, content)
                continue
            head, tail = content.split(b"</row>", 1)
            with bomb.open(info.filename, "w") as part:
                part.write(head + b"</row>")
                block = b" " * (1024 * 1024)
                for _ in range(padding_mb):
                    part.write(block)
                part.write(tail)
    return out.getvalue()


def test_the_zip_bomb_is_a_valid_workbook():
    """What refuses it below is the limits, not a damaged file."""
    lenient = imports.Limits(max_compression_ratio=10**6)
    table = imports.read_table(_zip_bomb(padding_mb=2), "bomb.xlsx", limits=lenient)
    assert table.rows[0].cells == ("Li Na", "li@example.org")


def test_a_coordinator_cannot_import_a_zip_bomb(login_as, in_app):
    data = _zip_bomb()
    assert len(data) < 1024 * 1024
    client = login_as(Role.coordinator)
    started = time.perf_counter()
    response = client.post(
        "/imports", data={"kind": "people", "file": (io.BytesIO(data), "people.xlsx")}
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert "too large once unpacked" in response.get_data(as_text=True)
    assert elapsed < 3
    assert _count(in_app, ImportBatch) == 0
    assert _count(in_app, Person) == 0


def test_a_sign_in_sheet_that_is_a_zip_bomb_is_refused(login_as, in_app, actor):
    with in_app():
        admin = db.session.get(User, actor.id)
        activity = activities.create(
            {"type": "training", "title": "OSH", "status": "held", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activity_id = activity.id
    response = login_as(Role.coordinator).post(
        f"/activities/{activity_id}/attendance",
        data={"sheet-file": (io.BytesIO(_zip_bomb()), "sign-in.xlsx")},
    )
    assert response.status_code == 400
    assert "too large once unpacked" in response.get_data(as_text=True)
    assert _count(in_app, ImportBatch) == 0


def test_a_part_that_unpacks_hundreds_of_times_its_size_is_refused():
    data = _zip_bomb(padding_mb=8)
    with pytest.raises(InvalidInput, match="times its size"):
        imports.read_table(data, "bomb.xlsx", limits=imports.Limits())


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _shared_string_workbook(text: str, rows: int) -> bytes:
    """A workbook whose column B holds one shared string in every row, as Excel writes a
    repeated value: small on disk and once unpacked, `rows` times `text` once read."""
    cells = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>P{n}</t></is></c>'
        f'<c r="B{n}" t="s"><v>0</v></c></row>'
        for n in range(2, rows + 2)
    )
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPES}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{_TYPES}.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{_TYPES}.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{_MAIN}"><sheetData><row r="1">'
            '<c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>Notes</t></is></c></row>'
            f"{cells}</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<sst xmlns="{_MAIN}" count="{rows}" uniqueCount="1"><si><t>{text}</t></si></sst>'
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_a_shared_string_repeated_in_every_cell_is_refused():
    data = _shared_string_workbook("工" * 10_000, rows=300)  # 3 million characters once read
    limits = imports.Limits(max_unpacked_bytes=1024 * 1024)
    assert imports.read_table(_shared_string_workbook("工", rows=3), "a.xlsx").rows[0].cells == (
        "P2",
        "工",
    )
    with pytest.raises(InvalidInput, match="more text than can be imported"):
        imports.read_table(data, "notes.xlsx", limits=limits)


def test_a_csv_over_the_row_limit_is_refused_at_the_upload_field(app, login_as, in_app):
    app.config["IMPORT_MAX_ROWS"] = 50
    rows = "".join(f"Person {n},p{n}@example.org\r\n" for n in range(51))
    data = ("Name,Email\r\n" + rows).encode()
    response = login_as(Role.coordinator).post(
        "/imports", data={"kind": "people", "file": (io.BytesIO(data), "people.csv")}
    )
    assert response.status_code == 400
    assert "more than 50 rows" in response.get_data(as_text=True)
    assert _count(in_app, ImportBatch) == 0


def test_a_csv_cell_longer_than_a_spreadsheet_cell_is_refused(login_as, in_app):
    data = ("Name,Notes\r\nLi Na," + "x" * 40_000 + "\r\n").encode()
    response = login_as(Role.coordinator).post(
        "/imports", data={"kind": "people", "file": (io.BytesIO(data), "people.csv")}
    )
    assert response.status_code == 400
    assert "Row 2 has a cell of more than 32767 characters" in response.get_data(as_text=True)
    assert _count(in_app, ImportBatch) == 0


def test_the_upload_limits_come_from_the_configuration(app):
    app.config.update(IMPORT_MAX_UNPACKED_BYTES=1234, IMPORT_MAX_CELL_CHARS=99)
    limits = imports.Limits.from_config(app.config)
    assert (limits.max_unpacked_bytes, limits.max_cell_chars) == (1234, 99)
    assert limits.max_rows == app.config["IMPORT_MAX_ROWS"]


# ---------------------------------------------------------------------------------------------
# The delete confirmation of a confidential interaction
# ---------------------------------------------------------------------------------------------


def test_a_coordinator_who_may_not_read_it_sees_no_subject_on_the_delete_page(
    login_as, make_person, in_app
):
    wang = make_person()
    author = login_as(Role.member)
    interaction_id = _log(in_app, author.user.id, wang.id, is_confidential=True)
    page = login_as(Role.coordinator).get(f"/interactions/{interaction_id}/delete")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Worker representatives" not in text
    assert "Confidential interaction" in text
    own = author.get(f"/interactions/{interaction_id}/delete").get_data(as_text=True)
    assert "Worker representatives" in own
