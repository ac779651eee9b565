"""Background jobs and their daily schedule, on Huey.

Work that may take longer than a page should runs in the worker (`flask --app wsgi crm
worker`), never in a web request: checking the rows of a large upload (`stage_upload`,
`start_check`), committing an import (`start_import`), writing a list export too large for
its request (`start_export`: crm.blueprints.reports.list_exports), and every day the reminder
digests, discarding abandoned uploads and old job records (with their export files), and
SQLite's `PRAGMA optimize`. The
worker schedules the daily ones itself, at times of the programme's time zone
(crm.services.clock), so a deployment needs no cron lines.

**The queue.** Each application gets a Huey instance of its own, built on first use from
its configuration (`queue_of`), so the factory does no I/O: JOB_QUEUE_URL `sqlite:///path`
(the default, instance/jobs.sqlite3: nothing to install, one machine) or `redis://...`
(several machines: every web process and every worker must share one queue). With
JOB_QUEUE_IMMEDIATE (the tests) a job runs inline, inside the request that queues it.

**What the user sees** is a `Job` row (crm.services.jobs): queued when asked for, running,
then done with a short result or failed with a message they can read. The queued task
carries only the job's id; the row holds its parameters.

**Progress** goes to the queue's own storage (`Progress`, read back by `state_of`), not to
the database: an import writes all its rows in one transaction, and on SQLite that
transaction holds the only write lock until it commits, so a progress row committed beside
it would wait for the very import it reports on. The queue's storage is another SQLite file
(or Redis), which the page polling the job reads freely. The job row gets its last counts
when the job ends.

**Application context.** A task runs in a fresh application context of the app that built
its queue (in the worker, the app `crm worker` created), so it has a database session of its
own, removed when the task ends; in immediate mode that context sits inside the request's.
Messages are written in the language of the user who asked for the job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab  # type: ignore[import-untyped]
from huey.consumer import Consumer  # type: ignore[import-untyped]
from huey.signals import SIGNAL_INTERRUPTED  # type: ignore[import-untyped]

from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import ImportBatch, ImportKind, ImportStatus, Job, JobKind, JobStatus, User
from crm.services import clock, imports, jobs, mail, reminders
from crm.services.errors import Conflict, ServiceError
from crm.services.reporting import export_files

log = logging.getLogger(__name__)

EXTENSION = "crm.jobs"
QUEUE_NAME = "crm"
# How long a job may wait for a worker, or run without news, before its page says the worker
# may not be running (a worker killed mid-job cannot say so itself).
STALLED_AFTER = timedelta(minutes=1)
SILENT_AFTER = timedelta(minutes=10)

# The daily schedule, in the programme's time zone: reminders as the working day starts
# (Monday to Friday, as the cron line this replaces), housekeeping every night.
REMINDERS_AT = {"hour": "8", "minute": "30", "day_of_week": "1-5"}
PURGE_AT = {"hour": "3", "minute": "10"}
OPTIMIZE_AT = {"hour": "3", "minute": "40"}
RETENTION_AT = {"hour": "2", "minute": "50"}  # issue #11: crm.services.personal_data.retention
ABANDONED_IMPORTS_AFTER = timedelta(days=14)  # as `crm purge-imports` by default
JOB_RECORDS_KEPT = timedelta(days=90)
# The two steps of an import job (`Job.params["step"]`): checking the rows of an upload for
# its preview, and writing them.
CHECK, WRITE = "check", "write"


@dataclass(frozen=True)
class JobQueue:
    """An application's Huey instance and its task that runs a `Job`."""

    huey: Any
    run_job: Any

    @property
    def immediate(self) -> bool:
        return bool(self.huey.immediate)


_building = threading.Lock()


def queue_of(app: Flask | None = None) -> JobQueue:
    """The job queue of `app` (by default the current one), built on first use."""
    app = app or _current_app()
    found = app.extensions.get(EXTENSION)
    if found is None:
        with _building:
            found = app.extensions.get(EXTENSION)
            if found is None:
                found = app.extensions[EXTENSION] = _build(app)
    return found


def _current_app() -> Flask:
    """The app object itself, not the proxy: tasks keep it and run after the request."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def make_huey(url: str, *, immediate: bool = False) -> Any:
    """A Huey instance for JOB_QUEUE_URL: sqlite:///path or redis://... (rediss://)."""
    if immediate:
        return MemoryHuey(QUEUE_NAME, immediate=True)
    scheme, _sep, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "sqlite" and rest.startswith("/") and len(rest) > 1:
        path = Path(rest[1:])  # as SQLAlchemy reads it: sqlite:////abs/file, sqlite:///relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path))
    if scheme in ("redis", "rediss"):
        return RedisHuey(QUEUE_NAME, url=url)
    raise RuntimeError(f"JOB_QUEUE_URL must be sqlite:///FILE or redis://HOST:PORT/DB, not {url!r}")


def programme_crontab(**fields: str) -> Callable[[datetime], bool]:
    """A Huey crontab read in the programme's time zone (Huey hands over naive UTC times)."""
    matches = crontab(strict=True, **fields)

    def validate(timestamp: datetime) -> bool:
        moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
        return bool(matches(moment.astimezone(clock.zone()).replace(tzinfo=None)))

    return validate


def _build(app: Flask) -> JobQueue:
    """The app's Huey instance with its tasks, each run in an app context of `app`."""
    huey = make_huey(app.config["JOB_QUEUE_URL"], immediate=app.config["JOB_QUEUE_IMMEDIATE"])

    @huey.task(name="run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            try:
                _run(huey, job_id)
            finally:
                db.session.remove()

    # Reminders: a failed delivery is tried again; a follow-up is never reminded twice a day.
    @huey.periodic_task(
        programme_crontab(**REMINDERS_AT), name="send_reminders", retries=3, retry_delay=900
    )
    def send_reminders_task() -> None:
        _in_context(app, send_reminders)

    @huey.periodic_task(programme_crontab(**PURGE_AT), name="purge")
    def purge_task() -> None:
        _in_context(app, purge)

    @huey.periodic_task(programme_crontab(**RETENTION_AT), name="retention")
    def retention_task() -> None:
        _in_context(app, apply_retention)

    @huey.periodic_task(programme_crontab(**OPTIMIZE_AT), name="optimize_database")
    def optimize_task() -> None:
        _in_context(app, optimize_database)

    @huey.signal(SIGNAL_INTERRUPTED)
    def interrupted(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
        """The worker was stopped during a job: say so instead of leaving it "running"."""
        if task.name != "run_job" or not task.args:
            return
        with app.app_context():
            try:
                jobs.fail(
                    int(task.args[0]),
                    message=_("The worker was stopped during this job, so it did not finish."),
                )
            except Exception:  # the process is going away: the log is all that is left
                log.exception("could not mark job %s as interrupted", task.args[0])
            finally:
                db.session.remove()

    return JobQueue(huey=huey, run_job=run_job)


def _in_context(app: Flask, work: Callable[[Flask], Any]) -> None:
    with app.app_context():
        try:
            work(app)
        finally:
            db.session.remove()


# ---------------------------------------------------------------------------------------------
# Running a job
# ---------------------------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"job-progress:{job_id}"


class Progress:
    """Reports a running job's progress to the queue's storage, where its page reads it.

    At most every `EVERY` seconds (each write is a small transaction of the queue's own), plus
    the first and the last. Best effort: a storage hiccup is logged and the job carries on.
    """

    EVERY = 0.25

    def __init__(self, huey: Any, job_id: int) -> None:
        self.huey = huey
        self.key = _progress_key(job_id)
        self.done = 0
        self.total: int | None = None
        self._written = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        moment = time.monotonic()
        if 0 < done != total and moment - self._written < self.EVERY:
            return
        self._written = moment
        try:
            self.huey.put(self.key, (done, total, clock.now().timestamp()))
        except Exception:
            log.warning("could not record the progress of %s", self.key, exc_info=True)

    def clear(self) -> None:
        try:
            self.huey.delete(self.key)
        except Exception:
            log.warning("could not clear the progress of %s", self.key, exc_info=True)


Runner = Callable[[Job, User, Progress], dict[str, Any]]


def _run(huey: Any, job_id: int) -> None:
    """Run one job: claim it, run its kind's code, record the result or the failure."""
    job = jobs.claim(job_id)
    if job is None:
        return
    actor = db.session.get_one(User, job.created_by_id)
    progress = Progress(huey, job_id)
    try:
        with force_locale(str(actor.locale)):
            try:
                result = RUNNERS[job.kind](job, actor, progress)
            except ServiceError as err:
                jobs.fail(job_id, message=str(err), result={"status": err.status_code})
                return
            except Exception:
                jobs.fail(
                    job_id,
                    message=_(
                        "Something went wrong while this job ran. Try again, or tell an "
                        "administrator (job %(id)d).",
                        id=job_id,
                    ),
                    result={"status": 500},
                )
                raise  # the worker logs the traceback
        jobs.finish(job_id, result=result, done=progress.done, total=progress.total)
    finally:
        progress.clear()


def _run_import(job: Job, actor: User, progress: Progress) -> dict[str, Any]:
    batch = imports.get_batch(int(job.params["batch_id"]), actor=actor)
    if step_of(job) == CHECK:
        imports.check(batch, actor=actor, progress=progress)
        return {"batch_id": batch.id, "step": CHECK, "rows": len(batch.rows)}
    steps = imports.commit_steps(
        batch, actor=actor, skip_invalid=bool(job.params.get("skip_invalid"))
    )
    report = imports.finish(steps, progress=lambda step: progress(step.done, step.total))
    return {
        "batch_id": batch.id,
        "created": len(report.created),
        "updated": len(report.updated),
        "skipped": len(report.skipped),
    }


def _run_export(job: Job, actor: User, progress: Progress) -> dict[str, Any]:
    # The lists' exports are defined beside their pages, which import this module: looked up
    # when a job runs, once every blueprint has been registered.
    from crm.blueprints.reports import list_exports

    root = Path(current_app.config["EXPORT_DIR"])
    return list_exports.write(job, actor=actor, root=root, progress=progress)


RUNNERS: dict[JobKind, Runner] = {JobKind.import_: _run_import, JobKind.export: _run_export}


def enqueue(job: Job) -> Job:
    """Hand a queued job to the current app's queue; returns it as it now stands.

    In immediate mode the job has run by then: an unexpected error in it (a bug) is raised
    here, so tests see it; errors the user can read were recorded on the job.
    """
    queue = queue_of()
    result = queue.run_job(job.id)
    if queue.immediate:
        result.get()  # raises huey's TaskException when the task raised
        db.session.refresh(job)  # it ran in a session of its own
    return job


def step_of(job: Job) -> str:
    """Which step of an import a job does: CHECK or WRITE (jobs from before the check was
    a job only write)."""
    return CHECK if (job.params or {}).get("step") == CHECK else WRITE


def stage_upload(
    table: imports.Table,
    *,
    kind: ImportKind | str,
    filename: str,
    actor: User,
    options: dict[str, Any] | None = None,
) -> ImportBatch:
    """Keep an uploaded file for review: its rows checked at once when it is small (up to
    IMPORT_CHECK_INLINE_ROWS), else by a job the import's page follows. Raises what
    `imports.stage` raises; a check that fails in the worker fails its job instead."""
    if len(table.rows) <= current_app.config["IMPORT_CHECK_INLINE_ROWS"]:
        return imports.stage(table, kind=kind, filename=filename, actor=actor, options=options)
    batch = imports.stage(
        table, kind=kind, filename=filename, actor=actor, options=options, check=False
    )
    start_check(batch, actor=actor)
    return batch


def remap(batch: ImportBatch, mapping: list[str], *, actor: User) -> ImportBatch:
    """Map the columns of a staged batch differently and check its rows again: at once when
    it is small, else by a job. Raises Conflict while a job works on the batch, and what
    `imports.remap` raises (an unknown field) before anything is queued."""
    require_no_import(batch)
    if len(batch.rows) <= current_app.config["IMPORT_CHECK_INLINE_ROWS"]:
        return imports.remap(batch, mapping, actor=actor)
    imports.remap(batch, mapping, actor=actor, check=False)
    start_check(batch, actor=actor)
    return batch


def start_check(batch: ImportBatch, *, actor: User) -> Job:
    """Queue the check of a staged batch's rows under its mapping; returns the job."""
    job = jobs.create(
        JobKind.import_,
        actor=actor,
        subject=jobs.subject("import_batches", batch.id),
        params={"batch_id": batch.id, "step": CHECK},
    )
    return enqueue(job)


def start_import(
    batch: ImportBatch,
    *,
    actor: User,
    decisions: dict[int, str],
    on_duplicate: str | None,
    skip_invalid: bool,
) -> Job:
    """Save the user's choices on a staged batch and queue its import; returns the job.

    Raises Conflict while the batch is being checked or imported, before its rows are
    checked and once it has been imported, and the import service's errors for choices it
    refuses (nothing is queued then). Everything else, the rows checked against the database
    as it is now included, happens in the worker: a refusal there fails the job with the
    service's message.
    """
    require_no_import(batch)
    if batch.status == ImportStatus.staged and not imports.is_checked(batch):
        raise Conflict(_("The rows of this file have not been checked yet."))
    key = jobs.subject("import_batches", batch.id)
    imports.decide(batch, decisions, on_duplicate=on_duplicate, actor=actor)
    job = jobs.create(
        JobKind.import_,
        actor=actor,
        subject=key,
        params={"batch_id": batch.id, "step": WRITE, "skip_invalid": bool(skip_invalid)},
    )
    return enqueue(job)


class ExportRunning(Conflict):
    """The same export is already being prepared for this user: `job` is that one."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            _("This export is already being prepared: its page shows how far it has got.")
        )
        self.job = job


# Query-string keys that do not change what an export holds.
_NOT_FILTERS = frozenset({"format", "page", "per_page"})


def export_subject(name: str, fmt: str, args: dict[str, str], *, actor: User) -> str:
    """What an export job works on: one user's export of one list, format and filters, so
    the same export is not prepared twice at once ("exports:<user>:<digest>")."""
    filters = sorted((k, v.strip()) for k, v in args.items() if k not in _NOT_FILTERS and v.strip())
    digest = hashlib.sha256(json.dumps([name, fmt, filters]).encode()).hexdigest()[:24]
    return f"exports:{actor.id}:{digest}"


def start_export(name: str, *, fmt: str, args: dict[str, str], actor: User) -> Job:
    """Queue a large export of list `name` (its page's query-string `args`) as `fmt`;
    returns the job. Raises ExportRunning while the same export of this user is queued or
    running. The worker checks the list, the format and the user's permission again."""
    key = export_subject(name, fmt, args, actor=actor)
    running = jobs.active_for(key)
    if running is not None:
        raise ExportRunning(running)
    job = jobs.create(
        JobKind.export,
        actor=actor,
        subject=key,
        params={"list": name, "format": fmt, "args": dict(args)},
    )
    return enqueue(job)


def export_file(job: Job, *, actor: User) -> Path | None:
    """The file a finished export job wrote, for the user who asked for it only; None for
    anyone else, for a job that did not write one, and once the file has been purged."""
    if job.kind != JobKind.export or job.created_by_id != actor.id:
        return None
    if job.status != JobStatus.done or not job.result:
        return None
    root = Path(current_app.config["EXPORT_DIR"])
    return export_files.find(root, job.id, str(job.result.get("file") or ""))


def require_no_import(batch: ImportBatch) -> None:
    """Raise Conflict while a job on the batch (its check or its import) is queued or
    running: its rows and choices must not change under the worker (a page left open
    elsewhere may still post them)."""
    active = jobs.active_for(jobs.subject("import_batches", batch.id))
    if active is not None and step_of(active) == CHECK:
        raise Conflict(_("The rows of this file are still being checked."))
    if active is not None:
        raise Conflict(_("This file is already being imported."))


def import_job(batch: ImportBatch) -> Job | None:
    """The latest job of a batch (checking its rows or importing them), if any."""
    return jobs.latest_for(jobs.subject("import_batches", batch.id))


@dataclass(frozen=True)
class JobState:
    """Where a job stands, for its page: its status with the latest progress."""

    job: Job
    done: int
    total: int | None
    stalled: bool  # queued for a while, or running without news: is the worker running?

    @property
    def percent(self) -> int | None:
        if self.job.status == JobStatus.done:
            return 100
        if not self.total:
            return None
        return max(0, min(100, round(100 * self.done / self.total)))


def state_of(job: Job, *, now: datetime | None = None) -> JobState:
    """The job with its live progress while it runs (read from the queue's storage)."""
    done, total = job.progress_done, job.progress_total
    now = now or clock.now()
    stalled = job.status == JobStatus.queued and now - job.created_at > STALLED_AFTER
    if job.status == JobStatus.running:
        try:
            live = queue_of().huey.get(_progress_key(job.id), peek=True)
        except Exception:
            log.warning("could not read the progress of job %s", job.id, exc_info=True)
            live = None
        heard = job.started_at or job.created_at
        if live:
            done, total, at = live
            heard = datetime.fromtimestamp(at, UTC)
        stalled = now - heard > SILENT_AFTER
    return JobState(job=job, done=done, total=total, stalled=stalled)


def describe(state: JobState) -> str:
    """One sentence on where the job stands, for the live region."""
    job = state.job
    if job.status == JobStatus.failed:
        return job.error or _("The job failed.")
    if job.status == JobStatus.done:
        return _("Done.")
    if job.status == JobStatus.queued:
        if state.stalled:
            return _(
                "Still waiting for the background worker. If this lasts, tell an "
                "administrator: the worker may not be running."
            )
        return _("Waiting for the background worker to start…")
    if state.stalled:
        return _(
            "No news from the background worker for a while: it may have stopped. If this "
            "lasts, tell an administrator."
        )
    if state.total and job.kind == JobKind.import_ and step_of(job) == CHECK:
        return _("Checking the rows: %(percent)d%% done.", percent=state.percent or 0)
    if state.total:
        return _(
            "%(done)d of %(total)d done (%(percent)d%%).",
            done=state.done,
            total=state.total,
            percent=state.percent or 0,
        )
    return _("Starting…")


# ---------------------------------------------------------------------------------------------
# The daily schedule (also callable directly, e.g. from a test or a shell)
# ---------------------------------------------------------------------------------------------


def send_reminders(app: Flask) -> reminders.Report:
    """Today's reminder digests, as `crm send-reminders` sends them (raises MailError)."""
    now = clock.now().astimezone(clock.zone())
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    report = reminders.send(
        today=now.date(),
        day_start=day_start,
        settings=mail.Settings.from_config(app.config),
        base_url=app.config["BASE_URL"],
    )
    log.info("sent %d reminder digests (%d follow-ups)", report.digests, report.follow_ups)
    return report


def purge(app: Flask) -> tuple[int, int]:
    """Discard uploads abandoned for two weeks, forget job records older than 90 days and
    remove the export files of the jobs forgotten (or failed)."""
    batches = imports.purge_abandoned(older_than=ABANDONED_IMPORTS_AFTER)
    records = jobs.purge_finished(older_than=JOB_RECORDS_KEPT)
    export_files.purge(Path(app.config["EXPORT_DIR"]))
    return batches, records


def apply_retention(app: Flask) -> int:
    """Erase the personal data of people past RETENTION_YEARS without activity, as
    `crm retention` does (idempotent); returns how many were erased."""
    from crm.services import personal_data

    report = personal_data.run_retention(years=app.config["RETENTION_YEARS"], now=clock.now())
    return len(report.erased)


def optimize_database(app: Flask) -> bool:
    """`PRAGMA optimize` on SQLite, as SQLite advises for long-lived databases, so the query
    planner's statistics follow the data; PostgreSQL's autovacuum does this itself."""
    if db.engine.dialect.name != "sqlite":
        return False
    db.session.execute(sa.text("PRAGMA optimize"))
    db.session.commit()
    return True


def consumer(app: Flask | None = None, *, workers: int = 1, periodic: bool = True) -> Any:
    """A Huey consumer for the queue of `app` (by default the current one): `workers`
    threads, and the daily schedule unless `periodic` is False (one worker of a deployment
    runs it). `.run()` runs it until a signal stops it."""
    queue = queue_of(app)
    if queue.immediate:
        raise RuntimeError("JOB_QUEUE_IMMEDIATE is set: jobs run inline, there is no worker")
    # Poll an idle SQLite queue at least every second, so a queued import starts promptly.
    return Consumer(queue.huey, workers=workers, periodic=periodic, max_delay=1.0)
