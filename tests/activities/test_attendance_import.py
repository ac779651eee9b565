"""Sign-in sheets: upload from the activity page, review on the import pages, one commit.

Each row is matched to a person already recorded (email, phone, or name at the same
organisation) or becomes a new person; everyone written is marked as attended, with the
organisation the sheet names as their organisation at the time.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import Activity, ImportBatch, Organisation, Participation, Person
from crm.services import activities
from tests.imports.conftest import csv_bytes, xlsx_bytes

HEADERS = ["姓名", "中文名", "邮箱", "手机", "单位", "性别", "职务"]


@pytest.fixture
def coordinator(login_as):  # type: ignore[no-untyped-def]
    return login_as(Role.coordinator, email="coordinator@example.org")


def _upload(client, activity_id: int, data: bytes, filename: str = "签到表.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/activities/{activity_id}/attendance",
        data={"sheet-file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _batch_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    found = re.fullmatch(r"/imports/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found[1])


def _participations(activity_id: int) -> dict[int, Participation]:
    stmt = sa.select(Participation).where(Participation.activity_id == activity_id)
    return {p.person_id: p for p in db.session.scalars(stmt)}


def _person(chinese_name: str) -> Person:
    found = db.session.scalars(sa.select(Person).where(Person.chinese_name == chinese_name)).all()
    assert len(found) == 1, [p.id for p in found]
    return found[0]


def test_a_gbk_sheet_matches_people_by_email_phone_and_name_at_their_organisation(
    coordinator, in_app, make_activity, make_organisation, make_person, employ, enrol
):
    training = make_activity(title="Labour standards training", title_zh="劳动标准培训")
    factory = make_organisation(display_name="东莞和谐服装有限公司", sector="textile")
    bureau = make_organisation(display_name="广东省人力资源和社会保障厅", org_type="government")
    other = make_organisation(display_name="深圳光明电子有限公司")
    by_email = make_person(
        family_name=None, given_name=None, chinese_name="王芳", email="wf@example.cn"
    )
    by_phone = make_person(
        family_name=None,
        given_name=None,
        chinese_name="张磊",
        phone="13900001111",
        gender="undisclosed",
    )
    by_name = make_person(
        family_name=None, given_name=None, chinese_name="李娜", job_title="HR director"
    )
    employ(by_name, factory)
    namesake = make_person(family_name=None, given_name=None, chinese_name="陈静")
    employ(namesake, other)  # the sheet's 陈静 works elsewhere: a different person
    invited = make_person(family_name=None, given_name=None, chinese_name="赵敏", email="zm@x.cn")
    enrol(training, [invited], status="invited", role="speaker")

    sheet = [
        ["2026年3月劳动标准培训签到表"],  # a title row above the headers
        HEADERS,
        [
            "Wang Fang",
            "王芳",
            "wf@example.cn",
            "13800138000",
            "东莞和谐服装有限公司",
            "女",
            "人事经理",
        ],
        ["", "张磊", "", "139 0000 1111", "东莞和谐服装有限公司", "男", "厂长"],
        ["", "李娜", "", "", "东莞和谐服装有限公司", "女", "人事专员"],
        ["", "陈静", "", "", "东莞和谐服装有限公司", "女", ""],
        ["", "赵敏", "zm@x.cn", "", "广东省人力资源和社会保障厅", "女", "处长"],
        ["Liu Yang", "", "liuyang@example.com", "", "广东省人力资源和社会保障厅", "male", "科员"],
    ]
    batch_id = _batch_id(_upload(coordinator, training.id, csv_bytes(sheet, encoding="gbk")))
    with in_app():
        assert _participations(training.id).keys() == {invited.id}  # nothing written yet

    page = coordinator.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "Review the sign-in sheet of “Labour standards training”" in page
    assert f'href="/activities/{training.id}"' in page  # the breadcrumb leads back
    assert "GBK / GB18030" in page and "6 rows" in page
    assert "The headers were found in row 2" in page
    assert "Everyone imported is marked as attended at this activity" in page
    assert "Mark that person (fill in what their record lacks)" in page
    for person in (by_email, by_phone, by_name, invited):
        assert f'value="update:{person.id}"' in page
    assert f'value="update:{namesake.id}"' not in page

    done = coordinator.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "update"})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    report = coordinator.get(done.headers["Location"]).get_data(as_text=True)
    assert "2 created, 4 updated, 0 skipped" in report
    assert "6 marked as attended" in report
    assert "already on the list, now marked as attended" in report
    assert f'href="/activities/{training.id}#participants"' in report

    with in_app():
        listed = _participations(training.id)
        new_chen = db.session.scalars(
            sa.select(Person).where(Person.chinese_name == "陈静", Person.id != namesake.id)
        ).one()
        liu = db.session.scalars(
            sa.select(Person).where(Person.email == "liuyang@example.com")
        ).one()
        expected = {by_email.id, by_phone.id, by_name.id, new_chen.id, invited.id, liu.id}
        assert listed.keys() == expected
        assert {p.status for p in listed.values()} == {"attended"}
        assert listed[invited.id].role == "speaker"  # already listed: only the status changes
        assert listed[by_email.id].organisation_id == factory.id
        assert listed[liu.id].organisation_id == bureau.id
        assert listed[invited.id].organisation_id == bureau.id  # unknown until the sheet
        # Matches fill in only what the record lacks.
        wang = db.session.get(Person, by_email.id)
        assert (wang.phone, wang.job_title) == ("13800138000", "人事经理")
        zhang = db.session.get(Person, by_phone.id)
        assert zhang.gender == "male"
        li = db.session.get(Person, by_name.id)
        assert li.job_title == "HR director"
        # A Chinese name in pinyin reads family name first (crm.services.names).
        assert (liu.family_name, liu.given_name, liu.gender) == ("Liu", "Yang", "male")
        assert [a.organisation_id for a in liu.affiliations] == [bureau.id]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 3

    activity_page = coordinator.get(f"/activities/{training.id}").get_data(as_text=True)
    assert "Attended: 6" in activity_page
    with in_app():
        reach = activities.reach(db.session.get(Activity, training.id))
        # 王芳 李娜 陈静 赵敏 women; 张磊 and Liu Yang men; the bureau's two are officials.
        assert (reach.women, reach.men, reach.total, reach.officials) == (4, 2, 6, 2)


def test_the_same_sheet_imported_twice_changes_nothing_the_second_time(
    coordinator, in_app, make_activity
):
    training = make_activity()
    sheet = [
        HEADERS,
        ["", "王芳", "wf@example.cn", "", "东莞和谐服装有限公司", "女", ""],
        ["", "张磊", "", "13900001111", "东莞和谐服装有限公司", "男", ""],
    ]
    data = csv_bytes(sheet, encoding="utf-8-sig")  # UTF-8 with the BOM Excel writes
    first = _batch_id(_upload(coordinator, training.id, data))
    assert coordinator.post(f"/imports/{first}/commit", data={}).status_code == 303
    second = _batch_id(_upload(coordinator, training.id, data))
    page = coordinator.get(f"/imports/{second}").get_data(as_text=True)
    assert "UTF-8 with BOM" in page
    done = coordinator.post(f"/imports/{second}/commit", data={})
    report = coordinator.get(done.headers["Location"]).get_data(as_text=True)
    assert "0 created, 2 updated, 0 skipped" in report
    assert report.count("already marked as attended") == 2
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 2
        assert len(_participations(training.id)) == 2


def test_an_xlsx_sheet_with_the_same_person_twice_marks_them_once(
    coordinator, in_app, make_activity, tmp_path
):
    training = make_activity()
    rows = [
        ["Name", "Email", "Organisation", "Gender", "Job title"],
        ["Maria Rossi", "maria@example.org", "ILO", "F", "Specialist"],
        ["Maria Rossi", "maria@example.org", "ILO", "F", "Specialist"],
        ["John Smith", "john@example.org", "OECD", "M", ""],
    ]
    batch_id = _batch_id(_upload(coordinator, training.id, xlsx_bytes(tmp_path, rows), "s.xlsx"))
    page = coordinator.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "The same person as row 2" in page
    assert coordinator.post(f"/imports/{batch_id}/commit", data={}).status_code == 303
    with in_app():
        listed = _participations(training.id)
        people = {db.session.get(Person, pid).email for pid in listed}
        assert people == {"maria@example.org", "john@example.org"}


def test_rows_with_errors_are_listed_by_row_and_nothing_is_written(
    coordinator, in_app, make_activity
):
    training = make_activity()
    sheet = [
        HEADERS,
        ["", "王芳", "wf@example.cn", "", "", "女", ""],
        ["", "张磊", "not-an-email", "", "", "男", ""],
        ["", "", "", "12", "", "", ""],  # junk: no name, a number too short for a phone
        ["", "李娜", "", "", "", "未说", ""],
    ]
    batch_id = _batch_id(_upload(coordinator, training.id, csv_bytes(sheet)))
    page = coordinator.get(f"/imports/{batch_id}", query_string={"show": "errors"})
    text = page.get_data(as_text=True)
    assert "3 with errors" in text
    assert "邮箱: “not-an-email” is not an email address." in text
    assert "A name is required" in text
    assert "性别: “未说” is not one of" in text

    refused = coordinator.post(f"/imports/{batch_id}/commit", data={})
    assert refused.status_code == 422
    assert "3 rows have errors, so nothing was imported." in refused.get_data(as_text=True)
    with in_app():
        assert _participations(training.id) == {}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0

    done = coordinator.post(f"/imports/{batch_id}/commit", data={"skip_invalid": "y"})
    report = coordinator.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 created, 0 updated, 3 skipped" in report and "1 marked as attended" in report
    with in_app():
        assert [db.session.get(Person, i).chinese_name for i in _participations(training.id)] == [
            "王芳"
        ]


def test_a_sheet_without_a_name_column_is_refused_with_the_reason(
    coordinator, in_app, make_activity
):
    training = make_activity()
    sheet = [["邮箱", "手机"], ["wf@example.cn", "13800138000"]]
    batch_id = _batch_id(_upload(coordinator, training.id, csv_bytes(sheet)))
    page = coordinator.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "No column holds a name." in page
    assert re.search(r'id="commit-button"\s+disabled', page)
    refused = coordinator.post(f"/imports/{batch_id}/commit", data={})
    assert refused.status_code == 422
    with in_app():
        assert _participations(training.id) == {}


def test_unreadable_or_missing_files_come_back_to_the_activity_page(coordinator, make_activity):
    training = make_activity()
    missing = coordinator.post(
        f"/activities/{training.id}/attendance", data={}, content_type="multipart/form-data"
    )
    assert missing.status_code == 400
    assert "Choose a file to upload." in missing.get_data(as_text=True)
    junk = _upload(coordinator, training.id, b"\x00\x01\x02\xff\xfe\x00garbage", "sheet.csv")
    assert junk.status_code == 400
    body = junk.get_data(as_text=True)
    assert 'id="sign-in-sheet" open' in body and "Import a sign-in sheet" in body


def test_members_cannot_import_and_a_trashed_activity_stops_the_commit(
    coordinator, login_as, in_app, make_activity, actor
):
    training = make_activity()
    sheet = csv_bytes([HEADERS, ["", "王芳", "wf@example.cn", "", "", "女", ""]])
    assert _upload(login_as(Role.member), training.id, sheet).status_code == 403
    page = login_as(Role.member).get(f"/activities/{training.id}").get_data(as_text=True)
    assert "Import a sign-in sheet" not in page

    batch_id = _batch_id(_upload(coordinator, training.id, sheet))
    with in_app():
        from crm.models import User

        activities.delete(
            db.session.get(Activity, training.id), actor=db.session.get(User, actor.id)
        )
    refused = coordinator.post(f"/imports/{batch_id}/commit", data={})
    assert refused.status_code == 404
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        assert db.session.get(ImportBatch, batch_id).status == "staged"
    assert _upload(coordinator, training.id, sheet).status_code == 404


def test_the_cli_imports_a_sign_in_sheet_for_an_activity(
    runner, in_app, make_activity, login_as, tmp_path
):
    training = make_activity()
    user = login_as(Role.coordinator, email="cli@example.org").user
    path = tmp_path / "签到表.csv"
    path.write_bytes(
        csv_bytes([HEADERS, ["", "王芳", "", "", "东莞和谐服装有限公司", "女", ""]], encoding="gbk")
    )
    args = ["crm", "import", "attendance", str(path), "--as", user.email]
    refused = runner.invoke(args=args)
    assert refused.exit_code == 1 and "--activity ID goes with attendance" in refused.stderr
    result = runner.invoke(args=[*args, "--activity", str(training.id)])
    assert result.exit_code == 0, result.output
    assert "Attendance: created 1 (row 2), updated 0, skipped 0." in result.output
    assert "Marked as attended: 1." in result.output
    with in_app():
        (participation,) = _participations(training.id).values()
        assert participation.status == "attended"
        assert db.session.get(Organisation, participation.organisation_id).display_name == (
            "东莞和谐服装有限公司"
        )
