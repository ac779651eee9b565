"""Background jobs: an import queued, run by the worker with its progress visible, its result
kept; failures recorded readably; each user sees only their own jobs; the worker command and
the daily schedule."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from huey.exceptions import TaskException

from crm import jobs as queue
from crm.access import Role
from crm.extensions import db
from crm.models import ImportBatch, ImportStatus, Job, JobKind, JobStatus, Person, User
from crm.services import errors, jobs
from tests.imports.conftest import batch_id_of, csv_bytes, upload
from tests.jobs.conftest import run_queued, signed_in

NAMES = [["姓名"]] + [[f"人员{n}"] for n in range(300)]


def _latest_job() -> Job:
    return db.session.scalars(sa.select(Job).order_by(Job.id.desc()).limit(1)).one()


def _queue_import(client: Any, rows: list[list[str]] = NAMES) -> int:
    batch_id = batch_id_of(upload(client, csv_bytes(rows)))
    response = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"] == f"/imports/{batch_id}"
    return batch_id


def test_a_queued_import_shows_its_progress_while_the_worker_writes(
    queued_app, make_user, in_app, monkeypatch
):
    from crm.services import imports

    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = _queue_import(client)
    with in_app():
        job_id = _latest_job().id
    waiting = client.get(f"/jobs/{job_id}.json").get_json()
    assert waiting["status"] == "queued" and waiting["percent"] is None
    assert waiting["message"] == "Waiting for the background worker to start…"

    # Halfway through the import's single transaction, the page asks how far it has got:
    # from another thread, as another request of the web server would. (Every step is
    # recorded here; a real worker records one at most every quarter of a second.)
    monkeypatch.setattr(queue.Progress, "EVERY", 0)
    seen: list[dict[str, Any]] = []
    real = imports.Writer.create  # each new record of a row
    calls = {"n": 0}

    def inserting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 151:
            probe = threading.Thread(
                target=lambda: seen.append(client.get(f"/jobs/{job_id}.json").get_json())
            )
            probe.start()
            probe.join(timeout=20)
        return real(*args, **kwargs)

    monkeypatch.setattr(imports.Writer, "create", inserting)
    assert run_queued(queued_app) == 1

    (during,) = seen
    assert during["status"] == "running" and during["total"] == 300
    assert during["done"] == 150 and during["percent"] == 50
    assert during["message"] == f"{during['done']} of 300 done ({during['percent']}%)."
    done = client.get(f"/jobs/{job_id}.json").get_json()
    assert done["status"] == "done" and done["percent"] == 100
    assert done["redirect"] == f"/imports/{batch_id}/report"
    assert client.get(f"/imports/{batch_id}").headers["Location"] == f"/imports/{batch_id}/report"
    with in_app():
        job = db.session.get(Job, job_id)
        assert (job.status, job.progress_done, job.progress_total) == (JobStatus.done, 300, 300)
        assert job.result == {"batch_id": batch_id, "created": 300, "updated": 0, "skipped": 0}
        assert job.started_at is not None and job.finished_at >= job.started_at
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 300


def test_the_page_of_a_queued_import_shows_its_progress_with_and_without_javascript(
    queued_app, make_user, in_app
):
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = _queue_import(client)
    with in_app():
        job_id = _latest_job().id
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert 'role="progressbar"' in page and 'aria-label="Import progress"' in page
    assert 'role="status" aria-live="polite"' in page
    assert f'data-status-url="/jobs/{job_id}.json"' in page and "js/jobs.js" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert f'<a href="/imports/{batch_id}">Refresh to see how far it has got</a>' in page
    assert "<script>" not in page  # no inline script: the polling lives in static/js
    assert 'id="commit-form"' not in page  # nothing to import twice while it runs


def test_a_job_nobody_works_on_says_the_worker_may_not_be_running(queued_app, make_user, in_app):
    client = signed_in(queued_app, make_user(Role.coordinator))
    _queue_import(client)
    long_ago = datetime.now(UTC) - timedelta(minutes=20)
    with in_app():
        job_id = _latest_job().id
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(created_at=long_ago))
        db.session.commit()
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["status"] == "queued" and status["message"].startswith(
        "Still waiting for the background worker."
    )
    # Taken by a worker that then died without a word (killed): no news for ten minutes.
    with in_app():
        jobs.claim(job_id)
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(started_at=long_ago))
        db.session.commit()
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["status"] == "running" and status["message"].startswith(
        "No news from the background worker for a while"
    )


def test_a_second_commit_or_a_change_while_the_import_waits_is_refused(
    queued_app, make_user, in_app
):
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = _queue_import(client)
    again = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert again.status_code == 409
    assert "This file is already being imported." in again.get_data(as_text=True)
    # A preview left open in another tab cannot change or discard the rows meanwhile.
    for action in ("mapping", "choices", "discard"):
        response = client.post(f"/imports/{batch_id}/{action}", data={"on_duplicate": "create"})
        assert response.status_code == 409, action
    assert run_queued(queued_app) == 1  # one job only
    with in_app():
        assert db.session.get(ImportBatch, batch_id).status == ImportStatus.committed
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 300


def test_a_job_that_breaks_is_recorded_as_failed_without_a_traceback(
    queued_app, make_user, in_app, monkeypatch
):
    def broken(job, actor, progress):  # type: ignore[no-untyped-def]
        progress(1, 2)
        raise RuntimeError("internal detail: /srv/crm/secret.py line 3")

    monkeypatch.setitem(queue.RUNNERS, JobKind.import_, broken)
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = _queue_import(client)
    with pytest.raises(TaskException):  # the worker logs it with its traceback
        run_queued(queued_app)
    with in_app():
        job = _latest_job()
        assert job.status == JobStatus.failed and job.finished_at is not None
        assert job.error == (
            "Something went wrong while this job ran. Try again, or tell an administrator "
            f"(job {job.id})."
        )
        job_id = job.id
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["status"] == "failed" and status["error"].startswith("Something went wrong")
    assert status["redirect"] is None and status["page"] == f"/imports/{batch_id}"
    assert "secret" not in str(status) and "Traceback" not in str(status)
    # The import's page is the preview again, saying what happened; the upload can be retried.
    page = client.get(f"/imports/{batch_id}")
    assert page.status_code == 200 and "Something went wrong" in page.get_data(as_text=True)
    assert 'id="commit-form"' in page.get_data(as_text=True)


def test_a_refusal_in_the_worker_gives_the_services_message(queued_app, make_user, in_app):
    client = signed_in(queued_app, make_user(Role.coordinator))
    rows = [["姓名", "邮箱"], ["王芳", "wf@example.cn"], ["李娜", "bad-email"]]
    batch_id = _queue_import(client, rows)
    assert run_queued(queued_app) == 1
    with in_app():
        job = _latest_job()
        assert job.status == JobStatus.failed and job.result == {"status": 422}
        assert job.error.startswith("1 row has errors, so nothing was imported.")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "1 row has errors, so nothing was imported." in page


def test_a_real_worker_runs_the_import(queued_app, make_user, in_app, start_worker):
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = _queue_import(client)
    with in_app():
        job_id = _latest_job().id
    start_worker(queued_app)
    deadline = time.monotonic() + 30
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}.json").get_json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert status["status"] == "done", status
    report = client.get(f"/imports/{batch_id}/report").get_data(as_text=True)
    assert "300 created, 0 updated, 0 skipped" in report


def test_people_see_only_their_own_jobs(login_as, in_app):
    owner = login_as(Role.coordinator)
    batch_id = batch_id_of(upload(owner, csv_bytes(NAMES)))
    done = owner.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert done.status_code == 303  # jobs run inline in the tests
    with in_app():
        job_id = _latest_job().id
    assert owner.get(f"/jobs/{job_id}.json").status_code == 200
    assert owner.get(f"/jobs/{job_id}").headers["Location"] == f"/imports/{batch_id}"
    for role in (Role.viewer, Role.member, Role.coordinator, Role.manager):
        other = login_as(role)
        assert other.get(f"/jobs/{job_id}.json").status_code == 404, role
        assert other.get(f"/jobs/{job_id}").status_code == 404, role
    missing = owner.get("/jobs/999999.json", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and missing.is_json
    admin = login_as(Role.admin)
    assert admin.get(f"/jobs/{job_id}.json").get_json()["status"] == "done"
    anonymous = login_as(None).get(f"/jobs/{job_id}.json")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_a_job_without_a_page_of_its_own_has_one_under_jobs(login_as, in_app):
    client = login_as(Role.manager)
    with in_app():
        job = jobs.create(JobKind.export, actor=db.session.get(User, client.user.id))
        job_id = job.id
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Export · Waiting to start" in text and f'data-status-url="/jobs/{job_id}.json"' in text


def test_the_job_service_refuses_a_second_active_job_on_one_subject_and_claims_once(
    app, in_app, make_user
):
    user = make_user(Role.coordinator)
    with in_app():
        actor = db.session.get(User, user.id)
        first = jobs.create(JobKind.import_, actor=actor, subject="import_batches:1")
        with pytest.raises(errors.Conflict):
            jobs.create(JobKind.import_, actor=actor, subject="import_batches:1")
        assert jobs.claim(first.id) is not None
        assert jobs.claim(first.id) is None  # delivered twice: run once
        jobs.fail(first.id, message="Nothing was imported.")
        again = jobs.create(JobKind.import_, actor=actor, subject="import_batches:1")
        assert again.status == JobStatus.queued
        assert [j.id for j in jobs.recent(actor=actor)] == [again.id, first.id]


def test_the_worker_command_exists(runner):
    result = runner.invoke(args=["crm", "worker", "--help"])
    assert result.exit_code == 0, result.output
    assert "--workers" in result.output and "--no-periodic" in result.output
    # The tests run jobs inline: there is nothing for a worker to do, and it says so.
    refused = runner.invoke(args=["crm", "worker"])
    assert refused.exit_code == 1 and "JOB_QUEUE_IMMEDIATE" in refused.output


def _due(app: Any, utc: datetime) -> set[str]:
    huey = queue.queue_of(app).huey
    return {task.name for task in huey.read_periodic(utc.replace(tzinfo=None))}


def test_the_daily_jobs_are_scheduled_in_the_programme_time_zone(queued_app):
    # Shanghai is UTC+8: Thursday 5 March 2026, 08:30 there is 00:30 UTC; not at weekends.
    assert _due(queued_app, datetime(2026, 3, 5, 0, 30, tzinfo=UTC)) == {"send_reminders"}
    assert _due(queued_app, datetime(2026, 3, 7, 0, 30, tzinfo=UTC)) == set()  # Saturday
    assert _due(queued_app, datetime(2026, 3, 4, 19, 10, tzinfo=UTC)) == {"purge"}
    assert _due(queued_app, datetime(2026, 3, 4, 19, 40, tzinfo=UTC)) == {"optimize_database"}
    assert _due(queued_app, datetime(2026, 3, 4, 7, 30, tzinfo=UTC)) == set()


def _run_periodic(app: Any, name: str, utc: datetime) -> None:
    huey = queue.queue_of(app).huey
    (task,) = [t for t in huey.read_periodic(utc.replace(tzinfo=None)) if t.name == name]
    huey.execute(task)


def test_the_daily_reminders_job_sends_the_digests_of_the_programmes_today(queued_app, monkeypatch):
    from crm.services import clock, reminders

    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        reminders, "send", lambda **kw: sent.append(kw) or reminders.Report(digests=0, follow_ups=0)
    )
    _run_periodic(queued_app, "send_reminders", datetime(2026, 3, 5, 0, 30, tzinfo=UTC))
    (call,) = sent
    assert call["today"] == clock.today()
    assert call["day_start"].utcoffset() == timedelta(hours=8) and call["day_start"].hour == 0
    assert call["base_url"] == queued_app.config["BASE_URL"]


def test_the_nightly_purge_discards_abandoned_uploads_and_old_job_records(
    queued_app, make_user, in_app
):
    user = make_user(Role.coordinator)
    now = datetime.now(UTC)
    with in_app():
        actor = db.session.get(User, user.id)
        stale = ImportBatch(
            kind="people", filename="old.csv", created_by_id=actor.id, rows=[[2, ["王芳"]]]
        )
        fresh = ImportBatch(kind="people", filename="new.csv", created_by_id=actor.id)
        db.session.add_all([stale, fresh])
        db.session.flush()
        db.session.execute(
            sa.update(ImportBatch)
            .where(ImportBatch.id == stale.id)
            .values(updated_at=now - timedelta(days=20))
        )
        old = Job(kind=JobKind.import_, status=JobStatus.done, created_by_id=actor.id)
        old.finished_at = now - timedelta(days=100)
        recent = Job(kind=JobKind.import_, status=JobStatus.done, created_by_id=actor.id)
        recent.finished_at = now - timedelta(days=1)
        db.session.add_all([old, recent])
        db.session.commit()
        ids = (stale.id, fresh.id, old.id, recent.id)
    _run_periodic(queued_app, "purge", datetime(2026, 3, 4, 19, 10, tzinfo=UTC))
    _run_periodic(queued_app, "optimize_database", datetime(2026, 3, 4, 19, 40, tzinfo=UTC))
    with in_app():
        assert db.session.get(ImportBatch, ids[0]).status == ImportStatus.discarded
        assert db.session.get(ImportBatch, ids[0]).rows == []
        assert db.session.get(ImportBatch, ids[1]).status == ImportStatus.staged
        assert db.session.get(Job, ids[2]) is None and db.session.get(Job, ids[3]) is not None


def test_the_queue_is_chosen_by_its_url(tmp_path):
    sqlite = queue.make_huey(f"sqlite:///{tmp_path / 'q' / 'jobs.sqlite3'}")
    assert type(sqlite).__name__ == "SqliteHuey" and (tmp_path / "q" / "jobs.sqlite3").exists()
    assert type(queue.make_huey("redis://127.0.0.1:6379/3")).__name__ == "RedisHuey"
    assert queue.make_huey("redis://x", immediate=True).immediate
    with pytest.raises(RuntimeError, match="JOB_QUEUE_URL"):
        queue.make_huey("amqp://localhost")


def test_progress_is_recorded_a_few_times_a_second_with_the_first_and_last_step():
    class Store:
        def __init__(self) -> None:
            self.put_values: list[tuple[int, int | None]] = []

        def put(self, key: str, value: tuple[int, int | None, float]) -> None:
            self.put_values.append(value[:2])

    store = Store()
    progress = queue.Progress(store, 7)
    for done in range(11):
        progress(done, 10)
    assert store.put_values == [(0, 10), (10, 10)]
    assert (progress.done, progress.total) == (10, 10)


def test_a_job_the_worker_was_stopped_in_is_marked_as_not_finished(queued_app, make_user, in_app):
    from huey.signals import SIGNAL_INTERRUPTED

    client = signed_in(queued_app, make_user(Role.coordinator))
    _queue_import(client)
    huey = queue.queue_of(queued_app).huey
    task = huey.dequeue()
    with in_app():
        job_id = _latest_job().id
        jobs.claim(job_id)
    # What the consumer announces for each task in hand when it is told to stop at once.
    huey._signal.send(SIGNAL_INTERRUPTED, task)
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["status"] == "failed"
    assert status["message"] == "The worker was stopped during this job, so it did not finish."


# --- Checking the rows of a large upload ----------------------------------------------------

ROWS = [["姓名", "邮箱"]] + [[f"访客{n}", f"visitor{n}@example.cn"] for n in range(30)]


def test_a_large_upload_is_checked_by_the_worker_while_its_page_shows_the_progress(
    queued_app, make_user, in_app, monkeypatch
):
    from crm.services import duplicates, imports

    monkeypatch.setitem(queued_app.config, "IMPORT_CHECK_INLINE_ROWS", 20)
    client = signed_in(queued_app, make_user(Role.coordinator))
    response = upload(client, csv_bytes(ROWS))
    batch_id = batch_id_of(response)
    assert response.headers["Location"] == f"/imports/{batch_id}"
    with in_app():
        # The request kept the table; no row was checked in it.
        batch = db.session.get(ImportBatch, batch_id)
        assert len(batch.rows) == 30 and not imports.is_checked(batch)
        job = _latest_job()
        assert (job.kind, job.params) == (JobKind.import_, {"batch_id": batch_id, "step": "check"})
        job_id = job.id
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "Checking the rows of “people.csv”" in page
    assert 'aria-label="Progress of the check"' in page
    assert f'data-status-url="/jobs/{job_id}.json"' in page and 'id="commit-form"' not in page
    waiting = client.get(f"/jobs/{job_id}.json").get_json()
    assert waiting["status"] == "queued"
    assert waiting["message"] == "Waiting for the background worker to start…"
    # Nothing can be chosen, imported or discarded before the rows are checked.
    for action in ("commit", "choices", "mapping", "discard"):
        response = client.post(f"/imports/{batch_id}/{action}", data={"on_duplicate": "skip"})
        assert response.status_code == 409, action
        assert "The rows of this file are still being checked." in response.get_data(as_text=True)

    # Once the rows are read, the page asks how far the check has got (as another request
    # of the web server would, from another thread): reading is most of the work.
    monkeypatch.setattr(queue.Progress, "EVERY", 0)
    seen: list[dict[str, Any]] = []
    real = duplicates.find

    def finding(*args, **kwargs):  # type: ignore[no-untyped-def]
        probe = threading.Thread(
            target=lambda: seen.append(client.get(f"/jobs/{job_id}.json").get_json())
        )
        probe.start()
        probe.join(timeout=20)
        return real(*args, **kwargs)

    monkeypatch.setattr(duplicates, "find", finding)
    assert run_queued(queued_app) == 1
    (during,) = seen
    assert during["status"] == "running" and during["percent"] == 70
    assert during["message"] == "Checking the rows: 70% done."
    done = client.get(f"/jobs/{job_id}.json").get_json()
    assert done["status"] == "done" and done["redirect"] == f"/imports/{batch_id}"
    review = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "Review the import of people" in review and 'id="commit-form"' in review
    assert "30 rows" in review and "have not been checked" not in review

    # Then the import itself, as for a small file.
    committed = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert committed.status_code == 303
    assert run_queued(queued_app) == 1
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 30


def test_a_small_upload_is_still_checked_in_its_request(queued_app, make_user, in_app):
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = batch_id_of(upload(client, csv_bytes(ROWS)))
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    review = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "30 rows" in review and 'id="commit-form"' in review


def test_with_inline_jobs_a_large_upload_answers_with_its_preview(
    app, login_as, in_app, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_CHECK_INLINE_ROWS", 20)
    client = login_as(Role.coordinator)
    response = upload(client, csv_bytes(ROWS), headers={"Accept": "application/json"})
    assert response.status_code == 200
    url = response.get_json()["redirect"]
    review = client.get(url).get_data(as_text=True)
    assert "30 rows" in review and 'id="commit-form"' in review
    with in_app():
        job = _latest_job()
        assert (job.params["step"], job.status) == ("check", JobStatus.done)
        assert job.result == {"batch_id": int(url.rsplit("/", 1)[1]), "step": "check", "rows": 30}


def test_a_large_mapping_change_is_checked_by_the_worker(
    queued_app, make_user, in_app, monkeypatch
):
    monkeypatch.setitem(queued_app.config, "IMPORT_CHECK_INLINE_ROWS", 20)
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = batch_id_of(upload(client, csv_bytes(ROWS)))
    assert run_queued(queued_app) == 1
    bad = client.post(f"/imports/{batch_id}/mapping", data={"column-0": "password_hash"})
    assert bad.status_code == 422 and "Unknown field: password_hash" in bad.get_data(as_text=True)
    response = client.post(
        f"/imports/{batch_id}/mapping", data={"column-0": "full_name", "column-1": ""}
    )
    assert response.status_code == 302
    assert "Checking the rows of" in client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert run_queued(queued_app) == 1
    with in_app():
        batch = db.session.get(ImportBatch, batch_id)
        assert batch.mapping == ["full_name", ""]
        assert all("email" not in row["data"] for row in batch.preview["rows"])


def test_a_check_that_fails_says_so_and_can_be_run_again(
    queued_app, make_user, in_app, monkeypatch
):
    from crm.services import imports

    def refusing(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise errors.InvalidInput("Simulated refusal.")

    monkeypatch.setitem(queued_app.config, "IMPORT_CHECK_INLINE_ROWS", 20)
    real = imports.check
    monkeypatch.setattr(imports, "check", refusing)
    client = signed_in(queued_app, make_user(Role.coordinator))
    batch_id = batch_id_of(upload(client, csv_bytes(ROWS)))
    assert run_queued(queued_app) == 1
    with in_app():
        job = _latest_job()
        assert (job.status, job.error) == (JobStatus.failed, "Simulated refusal.")
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "Simulated refusal." in page
    assert "The rows of this file have not been checked yet." in page
    refused = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert refused.status_code == 409
    assert "The rows of this file have not been checked yet." in refused.get_data(as_text=True)

    monkeypatch.setattr(imports, "check", real)
    again = client.post(f"/imports/{batch_id}/mapping", data={"column-0": "full_name"})
    assert again.status_code == 302 and run_queued(queued_app) == 1
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "30 rows" in page and "Simulated refusal." not in page
