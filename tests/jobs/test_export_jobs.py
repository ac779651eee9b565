"""Large list exports leave the request: over EXPORT_INLINE_ROWS rows, the list offers to
prepare the file in the background; the job writes it with the list's filters, reports its
progress, keeps the file for the person who asked (nobody else may download it), records
the export in the audit trail once, refuses the same export twice at once, fails readably,
and goes away with its job record."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask

from crm import jobs as queue
from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, Job, JobKind, JobStatus, User
from crm.services import interactions
from tests.jobs.conftest import run_queued, signed_in
from tests.reports.helpers import csv_rows, sheet_rows, workbook

THRESHOLD = 3
NAMES = ["Wang Fang", "Li Na", "Zhang Wei", "Liu Yang", "Chen Jing", "Zhao Lei"]


@pytest.fixture
def export_dir(app: Flask, tmp_path: Path) -> Path:
    """Exports of more than THRESHOLD rows go to the worker, their files to `export_dir`."""
    folder = tmp_path / "exports"
    app.config.update(EXPORT_INLINE_ROWS=THRESHOLD, EXPORT_DIR=str(folder))
    return folder


@pytest.fixture
def people(make_person) -> None:
    for name in NAMES:
        family, given = name.split()
        make_person(family_name=family, given_name=given, email=f"{given.lower()}@example.cn")


def _latest_job() -> Job:
    return db.session.scalars(sa.select(Job).order_by(Job.id.desc()).limit(1)).one()


def _result(job: Job) -> dict[str, Any]:
    assert job.result is not None
    return job.result


def _export_events(in_app) -> list[AuditEvent]:
    with in_app():
        stmt = sa.select(AuditEvent).where(AuditEvent.action == AuditAction.export)
        return list(db.session.scalars(stmt))


def _prepare(client: Any, url: str) -> Any:
    """Ask a list for a large export (the page offering to prepare it), then post its form."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="prepare-export"' in html, html[:3000]
    fields = dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', html))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    return client.post("/jobs/exports", data=fields)


def _inline(app: Flask, client: Any, url: str) -> Any:
    """The same export streamed inside the request (the threshold raised)."""
    app.config["EXPORT_INLINE_ROWS"] = 10_000
    try:
        return client.get(url)
    finally:
        app.config["EXPORT_INLINE_ROWS"] = THRESHOLD


def test_a_coordinator_gets_a_large_people_export_from_the_worker(
    app, login_as, in_app, export_dir, people
):
    client = login_as(Role.coordinator)
    url = "/people?" + urlencode({"format": "csv", "sort": "name"})

    offer = client.get(url)
    assert offer.status_code == 200 and offer.mimetype == "text/html"
    assert "more than 3 rows" in offer.get_data(as_text=True)
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0

    response = _prepare(client, url)
    assert response.status_code == 303
    with in_app():
        job = _latest_job()
        assert job.kind == JobKind.export and job.status == JobStatus.done
        assert job.created_by_id == client.user.id
        assert _result(job)["rows"] == len(NAMES) and _result(job)["format"] == "csv"
        name = _result(job)["file"]
        assert re.fullmatch(r"people-\d{4}-\d\d-\d\d\.csv", name)
        assert job.progress_done == job.progress_total == len(NAMES)
        job_id = job.id
    assert response.headers["Location"] == f"/jobs/{job_id}"
    assert (export_dir / str(job_id) / name).stat().st_size == _result(job)["bytes"]

    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "People · CSV" in page and f"Download {name}" in page
    assert f'href="/jobs/{job_id}/download"' in page and "6 rows" in page

    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert f"filename={name}" in download.headers["Content-Disposition"]
    assert len(csv_rows(download.data)) == len(NAMES) + 1  # and the header

    # Recorded once, when the file was written: downloading it records nothing more.
    (event,) = _export_events(in_app)
    assert event.actor_id == client.user.id and event.summary == "exported people (6 rows)"
    assert event.changes["format"] == [None, "csv"]

    # The very bytes the download streamed inside its request would have sent.
    assert _inline(app, client, url).data == download.data


def test_a_large_export_keeps_the_lists_filters_and_order(
    app, login_as, in_app, export_dir, make_organisation
):
    for n in range(5):
        make_organisation(display_name=f"Textile Mill {n}", sector="textile")
    for n in range(3):
        make_organisation(display_name=f"Chip Maker {n}", sector="electronics")
    client = login_as(Role.member)  # the organisation list holds no personal data
    url = "/organisations?" + urlencode({"format": "xlsx", "sector": "textile", "dir": "desc"})

    assert _prepare(client, url).status_code == 303
    with in_app():
        job = _latest_job()
        assert job.params["args"]["sector"] == "textile" and _result(job)["rows"] == 5
        job_id = job.id
    download = client.get(f"/jobs/{job_id}/download")
    assert download.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = sheet_rows(workbook(download.data).active)
    assert [row[0] for row in rows[1:]] == [f"Textile Mill {n}" for n in range(4, -1, -1)]
    inline = sheet_rows(workbook(_inline(app, client, url).data).active)
    assert rows == inline


@pytest.mark.parametrize(("role", "summary"), [(Role.coordinator, ""), (Role.manager, "Notes 0")])
def test_a_large_interaction_export_shows_what_its_owner_may_read(
    app, login_as, in_app, export_dir, make_person, actor, role, summary
):
    wang = make_person(family_name="Wang", given_name="Fang")
    with app.app_context():
        admin = db.session.get_one(User, actor.id)
        for n in range(5):
            values = {
                "occurred_at": datetime(2026, 3, 4 + n, 2, 0, tzinfo=UTC),
                "channel": "meeting",
                "subject": f"Meeting {n}",
                "summary": f"Notes {n}",
                "is_confidential": n == 0,
                "stakeholder_ids": [wang.id],
            }
            interactions.log_interaction(values, actor=admin)
    client = login_as(role)
    url = "/interactions?" + urlencode({"format": "csv", "from": "2026-03-01", "to": "2026-03-31"})

    assert _prepare(client, url).status_code == 303
    with in_app():
        job = _latest_job()
        assert job.status == JobStatus.done and _result(job)["file"] == "interactions-2026-03.csv"
        job_id = job.id
    download = client.get(f"/jobs/{job_id}/download")
    rows = csv_rows(download.data)
    first = rows[-1]  # the newest first, as the list shows them
    assert first[rows[0].index("Summary")] == summary
    assert download.data == _inline(app, client, url).data


def test_nobody_else_can_download_the_file(app, login_as, make_user, export_dir, people):
    owner = login_as(Role.coordinator)
    assert _prepare(owner, "/people?format=csv").status_code == 303
    with app.app_context():
        job_id = _latest_job().id

    for role in (Role.coordinator, Role.admin):
        other = login_as(role)
        assert other.get(f"/jobs/{job_id}/download").status_code == 404
    # An administrator sees that the job ran, not the file.
    admin_page = login_as(Role.admin).get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Download" not in admin_page and f"/jobs/{job_id}/download" not in admin_page
    assert login_as(None).get(f"/jobs/{job_id}/download").status_code == 302  # to sign in
    assert owner.get(f"/jobs/{job_id}/download").status_code == 200


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_viewers_and_members_cannot_prepare_a_personal_export(login_as, in_app, role):
    client = login_as(role)
    form = {"export": "people", "format": "csv", "query": "format=csv"}
    assert client.post("/jobs/exports", data=form).status_code == 403
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


@pytest.mark.parametrize(
    "form",
    [
        {"export": "secrets", "format": "csv", "query": ""},
        {"export": "people", "format": "pdf", "query": ""},
        {"export": "people", "format": "csv", "query": "q=" + "x" * 3000},
        {},
    ],
)
def test_a_made_up_export_request_is_refused(login_as, in_app, form):
    assert login_as(Role.coordinator).post("/jobs/exports", data=form).status_code == 400
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_the_same_export_is_not_prepared_twice_at_once(
    queued_app, make_user, in_app, export_dir, people
):
    queued_app.config.update(EXPORT_INLINE_ROWS=THRESHOLD, EXPORT_DIR=str(export_dir))
    client = signed_in(queued_app, make_user(Role.coordinator))
    first = _prepare(client, "/people?format=csv&sort=name")
    assert first.status_code == 303
    running = first.headers["Location"]
    assert client.get(running).status_code == 200

    again = _prepare(client, "/people?format=csv&sort=name&page=3")  # the same rows
    assert again.status_code == 303 and again.headers["Location"] == running
    page = client.get(running).get_data(as_text=True)
    assert "This export is already being prepared: its page shows how far it has got." in page
    assert "Waiting for the background worker to start…" in page

    # Another format, other filters or another order make another export.
    assert _prepare(client, "/people?format=xlsx&sort=name").headers["Location"] != running
    assert _prepare(client, "/people?format=csv&sort=name&dir=desc").headers["Location"] != running
    assert run_queued(queued_app) == 3
    with in_app():
        jobs = db.session.scalars(sa.select(Job)).all()
        assert [j.status for j in jobs] == [JobStatus.done] * 3
    # Once it is done, the same export may be asked for again.
    assert _prepare(client, "/people?format=csv&sort=name").headers["Location"] != running


def test_the_page_shows_the_progress_while_the_worker_writes(
    queued_app, make_user, in_app, export_dir, people, monkeypatch
):
    queued_app.config.update(EXPORT_INLINE_ROWS=THRESHOLD, EXPORT_DIR=str(export_dir))
    client = signed_in(queued_app, make_user(Role.coordinator))
    location = _prepare(client, "/people?format=xlsx").headers["Location"]
    job_id = int(location.rsplit("/", 1)[1])
    waiting = client.get(location).get_data(as_text=True)
    assert 'data-testid="job-progress"' in waiting and 'role="progressbar"' in waiting
    assert 'http-equiv="refresh"' in waiting and "js/jobs.js" in waiting

    # Halfway through the rows, the page asks how far the worker has got (from another
    # thread, as another request of the web server would).
    monkeypatch.setattr(queue.Progress, "EVERY", 0)
    seen: list[dict[str, Any]] = []
    real = queue.Progress.__call__

    def report(self: queue.Progress, done: int, total: int | None) -> None:
        real(self, done, total)
        if done == 3 and not seen:
            probe = threading.Thread(
                target=lambda: seen.append(client.get(f"/jobs/{job_id}.json").get_json())
            )
            probe.start()
            probe.join(timeout=20)

    monkeypatch.setattr(queue.Progress, "__call__", report)
    assert run_queued(queued_app) == 1
    (during,) = seen
    assert during["status"] == "running" and (during["done"], during["total"]) == (3, 6)
    assert during["percent"] == 50 and during["message"] == "3 of 6 done (50%)."

    done = client.get(f"/jobs/{job_id}.json").get_json()
    assert done["status"] == "done" and done["page"] == location and done["redirect"] is None
    assert "Download people-" in client.get(location).get_data(as_text=True)


def test_an_export_the_user_may_no_longer_make_fails_readably(
    queued_app, make_user, in_app, export_dir, people
):
    queued_app.config.update(EXPORT_INLINE_ROWS=THRESHOLD, EXPORT_DIR=str(export_dir))
    user = make_user(Role.coordinator)
    client = signed_in(queued_app, user)
    location = _prepare(client, "/people?format=csv").headers["Location"]
    with in_app():
        db.session.get_one(User, user.id).role = Role.member  # demoted while it waited
        db.session.commit()

    assert run_queued(queued_app) == 1
    page = client.get(location).get_data(as_text=True)
    assert "You do not have permission to export personal data." in page
    assert "Traceback" not in page and "Download" not in page
    with in_app():
        job = _latest_job()
        assert job.status == JobStatus.failed and job.result == {"status": 403}
    assert _export_events(in_app) == []
    assert not (export_dir / location.rsplit("/", 1)[1]).exists()


def test_an_export_that_breaks_fails_readably_and_leaves_no_file(
    queued_app, make_user, in_app, export_dir, people, monkeypatch
):
    from crm.services.reporting import exports

    queued_app.config.update(EXPORT_INLINE_ROWS=THRESHOLD, EXPORT_DIR=str(export_dir))
    client = signed_in(queued_app, make_user(Role.coordinator))
    location = _prepare(client, "/people?format=xlsx").headers["Location"]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_xlsx", broken)
    with pytest.raises(Exception, match="disk full"):  # the worker logs the traceback
        run_queued(queued_app)
    page = client.get(location).get_data(as_text=True)
    assert "Something went wrong while this job ran." in page
    assert "disk full" not in page and "Traceback" not in page
    assert not (export_dir / location.rsplit("/", 1)[1]).exists()
    assert _export_events(in_app) == []


def test_the_file_goes_with_its_job_record(app, login_as, in_app, export_dir, people):
    client = login_as(Role.coordinator)
    _prepare(client, "/people?format=csv")
    _prepare(client, "/people?format=xlsx")
    with in_app():
        old, recent = db.session.scalars(sa.select(Job).order_by(Job.id)).all()
        assert old.finished_at is not None
        old.finished_at = old.finished_at - queue.JOB_RECORDS_KEPT - timedelta(days=1)
        db.session.commit()
        old_id, recent_id = old.id, recent.id
    assert (export_dir / str(old_id)).is_dir()
    (export_dir / "999999").mkdir()  # a folder whose job is long gone

    with in_app():
        queue.purge(app)
        assert db.session.get(Job, old_id) is None
    assert not (export_dir / str(old_id)).exists() and not (export_dir / "999999").exists()
    assert client.get(f"/jobs/{recent_id}/download").status_code == 200


def test_a_small_export_still_streams_inside_its_request(app, login_as, in_app, people):
    app.config["EXPORT_INLINE_ROWS"] = len(NAMES)  # exactly as many rows: still small
    response = login_as(Role.coordinator).get("/people?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert len(csv_rows(response.data)) == len(NAMES) + 1
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_the_export_pages_send_as_many_statements_for_many_rows_as_for_few(
    app, login_as, export_dir, make_person, count_queries
):
    client = login_as(Role.coordinator)

    def statements() -> list[int]:
        counts = []
        for step in ("offer", "post", "page", "download"):
            with count_queries() as counter:
                if step == "offer":
                    client.get("/people?format=csv").get_data()
                elif step == "post":
                    location = _prepare(client, "/people?format=csv").headers["Location"]
                elif step == "page":
                    client.get(location).get_data()
                else:
                    client.get(location + "/download").get_data()
            counts.append(counter.count)
        return counts

    for n in range(THRESHOLD + 1):
        make_person(family_name="Few", given_name=f"N{n}")
    few = statements()
    for n in range(20):
        make_person(family_name="Many", given_name=f"N{n}")
    many = statements()
    assert few[0] == many[0] and few[2:] == many[2:], (few, many)
    assert max(few[0], *few[2:]) <= 15
