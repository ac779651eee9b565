"""`flask crm import {organisations|people} FILE`: all rows or none, a short report."""

from __future__ import annotations

import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import Organisation, Person
from tests.imports.conftest import counts, csv_bytes, xlsx_bytes

SHEET = [
    ["姓名", "性别", "单位", "职务", "手机", "邮箱"],
    ["王芳", "女", "东莞和谐服装有限公司", "人事经理", "13800138000", "wf@example.cn"],
    ["张磊", "男", "东莞和谐服装有限公司", "厂长", "", ""],
]


def _import(runner, path, *options: str, kind: str = "people"):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["crm", "import", kind, str(path), *options])


def test_operator_can_import_people_from_a_gbk_csv(runner, in_app, coordinator, tmp_path):
    path = tmp_path / "签到表.csv"
    path.write_bytes(csv_bytes(SHEET, encoding="gbk"))
    result = _import(runner, path, "--as", coordinator.email)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Read 签到表.csv: 2 rows (CSV, gb18030, delimiter ',').",
        "People: created 2 (rows 2–3), updated 0, skipped 0.",
        "New organisations: 1 (东莞和谐服装有限公司).",
    ]
    with in_app():
        people = db.session.scalars(sa.select(Person).order_by(Person.id)).all()
        assert [p.chinese_name for p in people] == ["王芳", "张磊"]
        assert all(p.created_by_id == coordinator.id for p in people)


def test_operator_can_import_organisations_from_xlsx(runner, in_app, coordinator, tmp_path):
    path = tmp_path / "orgs.xlsx"
    path.write_bytes(
        xlsx_bytes(tmp_path, [["Name", "Type", "Sector"], ["Acme Ltd", "NGO", "both"]])
    )
    result = _import(runner, path, "--as", coordinator.email, kind="organisations")
    assert result.exit_code == 0, result.output
    assert "Organisations: created 1 (row 2), updated 0, skipped 0." in result.output
    with in_app():
        acme = db.session.scalar(sa.select(Organisation))
        assert (acme.display_name, acme.org_type, acme.sector) == ("Acme Ltd", "ngo", "both")


def test_rows_with_errors_stop_the_import_and_are_listed(runner, in_app, coordinator, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([*SHEET, ["李娜", "未说", "", "", "", "no-at-sign"]]))
    result = _import(runner, path, "--as", coordinator.email)
    assert result.exit_code == 1
    assert "Error: 1 row has errors, so nothing was imported." in result.stderr
    assert "  Row 4: 性别: “未说” is not one of: female, male, other, undisclosed." in result.stderr
    assert "邮箱: “no-at-sign” is not an email address." in result.stderr
    with in_app():
        assert counts()["people"] == 0 and counts()["organisations"] == 0


def test_a_bad_file_is_refused_with_its_reason(runner, in_app, coordinator, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = _import(runner, path, "--as", coordinator.email)
    assert result.exit_code == 1 and "binary data" in result.stderr
    with in_app():
        assert counts()["stakeholders"] == 0


def test_a_dry_run_reports_and_writes_nothing(runner, in_app, coordinator, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(SHEET))
    result = _import(runner, path, "--as", coordinator.email, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing was written. People: would create 2 (rows 2–3)" in result.output
    with in_app():
        assert counts()["stakeholders"] == 0


def test_duplicates_are_skipped_or_updated_as_asked(
    runner, in_app, coordinator, make_person, tmp_path
):
    wang = make_person(
        family_name=None, given_name=None, chinese_name="王芳", email="wf@example.cn"
    )
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(SHEET))
    skipped = _import(runner, path, "--as", coordinator.email, "--dry-run")
    assert "would create 1 (row 3), update 0, skip 1 (row 2)." in skipped.output
    assert "  Row 2 skipped: matches 王芳" in skipped.output
    updated = _import(runner, path, "--as", coordinator.email, "--on-duplicate", "update")
    assert updated.exit_code == 0, updated.output
    assert "People: created 1 (row 3), updated 1 (row 2), skipped 0." in updated.output
    with in_app():
        assert db.session.get(Person, wang.id).phone == "13800138000"


def test_the_importing_user_must_be_named_and_allowed(runner, in_app, make_user, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(SHEET))
    missing = _import(runner, path)
    assert missing.exit_code == 1 and "--as EMAIL" in missing.stderr
    unknown = _import(runner, path, "--as", "nobody@example.org")
    assert unknown.exit_code == 1 and "no active user nobody@example.org" in unknown.stderr
    member = make_user(Role.member)
    refused = _import(runner, path, "--as", member.email)
    assert refused.exit_code == 1
    assert "Imports are for coordinators, managers and administrators." in refused.stderr
    with in_app():
        assert counts()["stakeholders"] == 0


def test_a_vcard_file_is_read_by_the_contacts_parser(runner, in_app, coordinator, tmp_path):
    path = tmp_path / "contacts.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Wang;Fang;;;\r\nFN:Wang Fang\r\n"
        "EMAIL;TYPE=INTERNET:wf@example.cn\r\nORG:东莞和谐服装有限公司\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    result = _import(runner, path, "--as", coordinator.email)
    assert result.exit_code == 0, result.output
    assert "People: created 1 (row 1)" in result.output
    with in_app():
        wang = db.session.scalar(sa.select(Person))
        assert (wang.family_name, wang.given_name, wang.email) == ("Wang", "Fang", "wf@example.cn")
        assert wang.affiliations[0].organisation.display_name == "东莞和谐服装有限公司"


def test_purge_imports_discards_only_uploads_left_untouched(
    runner, in_app, coordinator, client, tmp_path
):
    from datetime import timedelta

    from crm.models import ImportBatch, User, utcnow
    from crm.services import imports
    from tests.conftest import sign_in

    with in_app():
        actor = db.session.get(User, coordinator.id)
        table = imports.read_table(csv_bytes(SHEET), "people.csv")
        old, fresh, done = (
            imports.stage(table, kind="people", filename=name, actor=actor).id
            for name in ("old.csv", "fresh.csv", "done.csv")
        )
        imports.commit(db.session.get(ImportBatch, done), actor=actor)
        db.session.execute(
            sa.update(ImportBatch)
            .where(ImportBatch.id.in_([old, done]))
            .values(updated_at=utcnow() - timedelta(days=15))
        )
        db.session.commit()

    result = runner.invoke(args=["crm", "purge-imports"])
    assert result.exit_code == 0, result.output
    assert result.output == "Discarded 1 import untouched for 14 days.\n"
    with in_app():
        batches = {b.filename: b for b in db.session.scalars(sa.select(ImportBatch))}
        assert (batches["old.csv"].status, batches["old.csv"].rows) == ("discarded", [])
        assert batches["old.csv"].preview == {}
        assert batches["fresh.csv"].status == "staged" and len(batches["fresh.csv"].rows) == 2
        assert batches["done.csv"].status == "committed"
    # The owner no longer finds the abandoned upload.
    sign_in(client, coordinator.email)
    assert client.get(f"/imports/{old}").status_code == 404
    assert client.get(f"/imports/{fresh}").status_code == 200
    assert runner.invoke(args=["crm", "purge-imports", "--days", "0"]).exit_code == 2
