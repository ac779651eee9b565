"""The import pages: upload, preview and mapping, choices, commit as a job, report."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import ImportBatch, ImportStatus, Job, JobKind, JobStatus, Organisation, Person
from crm.services import imports
from tests.imports.conftest import batch_id_of, counts, csv_bytes, latest_batch, upload, xlsx_bytes

GBK_SHEET = [
    ["姓名", "性别", "单位", "职务", "手机", "邮箱"],
    ["王芳", "女", "东莞和谐服装有限公司", "人事经理", "13800138000", "wf@example.cn"],
    ["张磊", "男", "东莞和谐服装有限公司", "厂长", "13900001111", ""],
    ["李娜", "女", "", "", "", "bad-email"],
]


@pytest.fixture
def client(login_as):  # type: ignore[no-untyped-def]
    """A coordinator, signed in."""
    return login_as(Role.coordinator)


def _preview(client, batch_id: int, **query) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/imports/{batch_id}", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_coordinator_sees_the_import_link_and_the_upload_form(client, login_as):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/imports"' in page
    form = client.get("/imports").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'id="upload-progress"' in form
    assert "js/imports.js" in form
    member_page = login_as(Role.member).get("/").get_data(as_text=True)
    assert 'href="/imports"' not in member_page


def test_coordinator_can_import_a_gbk_csv_with_a_duplicate_resolved_in_the_preview(
    client, in_app, make_person
):
    existing = make_person(
        family_name=None, given_name=None, chinese_name="王芳", email="wf@example.cn"
    )
    response = upload(client, csv_bytes(GBK_SHEET, encoding="gbk"), "签到表.csv")
    batch_id = batch_id_of(response)
    page = _preview(client, batch_id)
    assert "GBK / GB18030" in page
    assert "3 rows" in page
    assert "邮箱: “bad-email” is not an email address." in page
    assert f'href="/people/{existing.id}"' in page and "same email" in page
    with in_app():
        assert counts()["people"] == 1  # nothing written by the upload

    # Importing with an error row is refused, and nothing is written.
    refused = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert refused.status_code == 422
    assert "1 row has errors, so nothing was imported." in refused.get_data(as_text=True)
    with in_app():
        assert counts()["people"] == 1

    # Update 王芳, skip the bad row.
    done = client.post(
        f"/imports/{batch_id}/commit",
        data={"on_duplicate": "skip", "row-2": f"update:{existing.id}", "skip_invalid": "y"},
    )
    assert done.status_code == 303 and done.headers["Location"] == f"/imports/{batch_id}/report"
    report = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 created, 1 updated, 1 skipped" in report
    assert "Row 2" in report and "Row 3" in report and "Row 4" in report
    with in_app():
        wang = db.session.get(Person, existing.id)
        assert wang.phone == "13800138000" and wang.job_title == "人事经理"
        zhang = db.session.scalar(sa.select(Person).where(Person.chinese_name == "张磊"))
        assert zhang.affiliations[0].organisation.display_name == "东莞和谐服装有限公司"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.status == ImportStatus.committed and batch.rows == []
    # A committed batch sends its preview to the report, and cannot be imported again.
    assert client.get(f"/imports/{batch_id}").headers["Location"] == f"/imports/{batch_id}/report"
    again = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert again.status_code == 409


def test_coordinator_can_import_organisations_from_xlsx(client, in_app, tmp_path):
    data = xlsx_bytes(
        tmp_path,
        [["单位名称", "类型", "行业", "城市"], ["华为技术有限公司", "企业", "电子", "深圳"]],
    )
    batch_id = batch_id_of(upload(client, data, "orgs.xlsx", kind="organisations"))
    assert "Excel workbook" in _preview(client, batch_id)
    done = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert done.status_code == 303
    with in_app():
        huawei = db.session.scalar(sa.select(Organisation))
        assert (huawei.display_name, huawei.org_type, huawei.sector) == (
            "华为技术有限公司",
            "enterprise",
            "electronics",
        )


def test_the_upload_answers_json_to_the_progress_script(client):
    response = upload(client, csv_bytes(GBK_SHEET), headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json()["redirect"].startswith("/imports/")
    bad = upload(client, b"", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "The file is empty."


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "people.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "photo.csv", "binary data"),
        (b"Name\r\n\x80\xff\x80abc\r\n", "people.csv", "text encoding could not be recognised"),
        (b"Name,Email\r\nLi,l@x.cn\r\n" + b",".join([b"x"] * 10_000), "wide.csv", "10000 columns"),
        (b"Name,Email\r\n", "people.csv", "no rows below it"),
    ],
)
def test_bad_files_get_a_clear_message_and_nothing_is_imported(
    client, in_app, data, filename, message
):
    with in_app():
        before = counts()
    response = upload(client, data, filename)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with in_app():
        assert counts() == before and latest_batch() is None


def test_a_formula_cell_without_a_result_is_a_row_error(client, in_app, tmp_path):
    data = xlsx_bytes(tmp_path, [["姓名", "邮箱"], ["王芳", '=CONCAT("wf","@x.cn")']])
    batch_id = batch_id_of(upload(client, data, "people.xlsx"))
    page = _preview(client, batch_id)
    assert "邮箱: the formula =CONCAT(" in page and "has no saved result" in page
    response = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert response.status_code == 422
    with in_app():
        assert counts()["people"] == 0


def test_no_file_chosen_is_a_form_error(client):
    response = client.post("/imports", data={"kind": "people"}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a file to upload." in response.get_data(
        as_text=True
    )


def test_a_file_over_the_configured_limit_is_refused(small_client, in_app):
    data = csv_bytes([["姓名"]] + [[f"人员{n}"] for n in range(400)])
    assert 2000 < len(data) < 20_000
    response = upload(small_client, data)
    assert response.status_code == 400
    assert "files of at most 2 KB can be imported" in response.get_data(as_text=True)
    with in_app():
        assert latest_batch() is None


def test_an_upload_beyond_the_request_limit_gets_the_413_page(small_client, in_app):
    response = upload(small_client, b"x" * 50_000)
    assert response.status_code == 413
    assert "The upload is larger than allowed." in response.get_data(as_text=True)
    with in_app():
        assert latest_batch() is None


def test_a_50_mb_upload_gets_the_413_page_with_the_default_limits(client):
    response = upload(client, b"a,b\r\n" * (10 * 1024 * 1024))  # 50 MB
    assert response.status_code == 413
    assert "The upload is larger than allowed." in response.get_data(as_text=True)


def test_the_mapping_can_be_changed_on_the_preview(client, in_app):
    rows = [["Col A", "Col B", "邮箱"], ["王芳", "13800138000", "bad"]]
    batch_id = batch_id_of(upload(client, csv_bytes(rows)))
    page = _preview(client, batch_id)
    assert "No column holds a name" in page
    response = client.post(
        f"/imports/{batch_id}/mapping",
        data={"column-0": "full_name", "column-1": "phone", "column-2": ""},
    )
    assert response.status_code == 302
    page = _preview(client, batch_id, show="all")
    assert "No column holds a name" not in page and "bad" not in page.split('data-testid="rows"')[1]
    with in_app():
        assert db.session.get(ImportBatch, batch_id).mapping == ["full_name", "phone", ""]
    bad = client.post(f"/imports/{batch_id}/mapping", data={"column-0": "password_hash"})
    assert bad.status_code == 422 and "Unknown field: password_hash" in bad.get_data(as_text=True)


def test_row_choices_are_saved_and_shown_again(client, in_app, make_person):
    existing = make_person(
        family_name=None, given_name=None, chinese_name="王芳", email="wf@example.cn"
    )
    batch_id = batch_id_of(upload(client, csv_bytes(GBK_SHEET)))
    response = client.post(
        f"/imports/{batch_id}/choices",
        data={"on_duplicate": "update", "row-2": "create", "row-3": "skip"},
    )
    assert response.status_code == 302
    with in_app():
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.decisions == {"2": "create", "3": "skip"}
        assert batch.on_duplicate == "update"
    page = _preview(client, batch_id, show="all")
    assert '<option value="create" selected>' in page
    assert f'value="update:{existing.id}"' in page
    bad = client.post(
        f"/imports/{batch_id}/choices", data={"on_duplicate": "skip", "row-99": "skip"}
    )
    assert bad.status_code == 422 and "There is no row 99" in bad.get_data(as_text=True)
    bad = client.post(
        f"/imports/{batch_id}/choices", data={"on_duplicate": "skip", "row-2": "drop"}
    )
    assert bad.status_code == 422 and "Unknown choice" in bad.get_data(as_text=True)


def test_the_preview_pages_through_large_files_keeping_choices(client, in_app):
    rows = [["姓名"]] + [[f"人员{n}"] for n in range(250)]
    batch_id = batch_id_of(upload(client, csv_bytes(rows)))
    first = _preview(client, batch_id, show="all")
    assert first.count('name="row-') == 100 and 'name="goto" value="3"' in first
    response = client.post(
        f"/imports/{batch_id}/choices",
        data={"on_duplicate": "skip", "row-5": "skip", "goto": "3", "show": "all"},
    )
    assert response.status_code == 302 and "page=3" in response.headers["Location"]
    third = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="row-202"' in third and 'name="row-251"' in third
    done = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert done.status_code == 303
    with in_app():
        assert counts()["people"] == 249


def test_the_commit_runs_the_import_as_a_job_and_keeps_its_result(client, in_app):
    """The import runs as a background job (inline in the tests: JOB_QUEUE_IMMEDIATE), which
    records its progress and result for the page that polls it (tests/jobs has the worker)."""
    rows = [["姓名"]] + [[f"人员{n}"] for n in range(300)]
    batch_id = batch_id_of(upload(client, csv_bytes(rows)))
    response = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/imports/{batch_id}/report"
    with in_app():
        assert counts()["people"] == 300
        assert db.session.get(ImportBatch, batch_id).status == ImportStatus.committed
        job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
        assert (job.kind, job.status) == (JobKind.import_, JobStatus.done)
        assert (job.progress_done, job.progress_total) == (300, 300)
        assert job.result == {"batch_id": batch_id, "created": 300, "updated": 0, "skipped": 0}
    status = client.get(f"/jobs/{job.id}.json").get_json()
    assert status["status"] == "done" and status["percent"] == 100
    assert status["redirect"] == f"/imports/{batch_id}/report"


def test_an_import_that_fails_while_writing_says_so_and_writes_nothing(client, in_app, monkeypatch):
    from crm.services import errors

    rows = [["姓名"]] + [[f"人员{n}"] for n in range(5)]
    batch_id = batch_id_of(upload(client, csv_bytes(rows)))
    real = imports.Writer.create  # each new record of a row
    calls = {"n": 0}

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:
            raise errors.InvalidInput("Simulated failure.")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports.Writer, "create", failing)
    response = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    message = "Row 5: Simulated failure. Nothing was imported."
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with in_app():
        assert counts()["people"] == 0
        assert db.session.get(ImportBatch, batch_id).status == ImportStatus.staged
        job = db.session.scalars(sa.select(Job).order_by(Job.id.desc())).first()
        assert job.status == JobStatus.failed and job.error == message
    # The import's page says why until the choices change; then it can be imported.
    assert message in _preview(client, batch_id)
    client.post(f"/imports/{batch_id}/choices", data={"on_duplicate": "create"})
    assert message not in _preview(client, batch_id)
    monkeypatch.setattr(imports.Writer, "create", real)
    done = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert done.status_code == 303
    with in_app():
        assert counts()["people"] == 5


def test_choices_the_import_refuses_queue_nothing(client, in_app):
    batch_id = batch_id_of(upload(client, csv_bytes(GBK_SHEET)))
    response = client.post(
        f"/imports/{batch_id}/commit", data={"on_duplicate": "skip", "row-99": "skip"}
    )
    assert response.status_code == 422
    assert "There is no row 99 in this file." in response.get_data(as_text=True)
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_an_upload_can_be_discarded(client, in_app):
    batch_id = batch_id_of(upload(client, csv_bytes(GBK_SHEET)))
    response = client.post(f"/imports/{batch_id}/discard")
    assert response.status_code == 302
    with in_app():
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.status == ImportStatus.discarded and batch.rows == []
    assert client.get(f"/imports/{batch_id}").status_code == 404


def test_a_coordinator_cannot_see_another_coordinators_upload(client, login_as):
    batch_id = batch_id_of(upload(client, csv_bytes(GBK_SHEET)))
    other = login_as(Role.coordinator)
    for method, path in [
        ("GET", f"/imports/{batch_id}"),
        ("POST", f"/imports/{batch_id}/mapping"),
        ("POST", f"/imports/{batch_id}/choices"),
        ("POST", f"/imports/{batch_id}/commit"),
        ("GET", f"/imports/{batch_id}/report"),
        ("POST", f"/imports/{batch_id}/discard"),
    ]:
        assert other.open(path, method=method).status_code == 404, path
    assert login_as(Role.admin).get(f"/imports/{batch_id}").status_code == 200


@pytest.mark.parametrize("role", [None, Role.viewer, Role.member])
def test_only_coordinators_and_up_can_reach_any_import_route(client, login_as, in_app, role):
    batch_id = batch_id_of(upload(client, csv_bytes(GBK_SHEET)))
    visitor = login_as(role)
    routes = [
        ("GET", "/imports"),
        ("POST", "/imports"),
        ("GET", f"/imports/{batch_id}"),
        ("POST", f"/imports/{batch_id}/mapping"),
        ("POST", f"/imports/{batch_id}/choices"),
        ("POST", f"/imports/{batch_id}/commit"),
        ("GET", f"/imports/{batch_id}/report"),
        ("POST", f"/imports/{batch_id}/discard"),
    ]
    for method, path in routes:
        response = visitor.open(path, method=method, data={"on_duplicate": "create"})
        if role is None:
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login"), path
        else:
            assert response.status_code == 403, path
    with in_app():
        assert counts()["people"] == 0
        assert db.session.get(ImportBatch, batch_id).status == ImportStatus.staged


def test_a_csrf_token_is_required_to_upload(app, coordinator, database_url):
    from crm import create_app
    from tests.conftest import make_config

    strict = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    visitor = strict.test_client()
    page = visitor.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert (
        visitor.post(
            "/login",
            data={
                "email": coordinator.email,
                "password": "correct horse battery",
                "csrf_token": token,
            },
        ).status_code
        == 302
    )
    response = upload(visitor, csv_bytes(GBK_SHEET))
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
