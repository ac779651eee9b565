"""Jobs: the record a user sees of work done in the background (crm.jobs does the work).

A `Job` is created, queued, when someone asks for the work (`create`); the worker marks it
running (`claim`), then done with a short JSON result (`finish`) or failed with a message the
user can read (`fail`). Each of these commits on its own, in a short transaction: the work
itself (an import) commits or rolls back in a transaction of its own between `claim` and
`finish`, so the page that polls the job always sees where it stands.

Progress while a job runs is not written here but to the job queue's storage (crm.jobs):
on SQLite an import holds the database's only write lock until it commits, so a progress
row committed beside it would wait for the very import it reports on.

People see their own jobs; administrators see everyone's (`get`, `recent`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import Job, JobKind, JobStatus, User, utcnow
from crm.services.errors import Conflict, NotFound

log = logging.getLogger(__name__)

ACTIVE = (JobStatus.queued, JobStatus.running)
MAX_ERROR = 2000


def subject(table: str, record_id: int) -> str:
    """The name of what a job works on, e.g. "import_batches:12"."""
    return f"{table}:{record_id}"


def create(
    kind: JobKind | str,
    *,
    actor: User,
    params: Mapping[str, Any] | None = None,
    subject: str | None = None,
) -> Job:
    """Record a queued job of `actor`; commits. The caller then hands its id to the queue.

    Raises Conflict while another job on the same `subject` is queued or running (the
    worker's own checks, such as an import's version counter, still guard against a race).
    """
    if subject is not None and active_for(subject) is not None:
        raise Conflict(_("This is already being done: wait for it to finish."))
    job = Job(
        kind=JobKind(kind),
        status=JobStatus.queued,
        subject=subject,
        params=dict(params or {}),
        created_by_id=actor.id,
    )
    db.session.add(job)
    db.session.commit()
    log.info("job %s (%s) queued by user %s", job.id, job.kind.value, actor.id)
    return job


def active_for(subject: str) -> Job | None:
    """The queued or running job on `subject`, if there is one."""
    stmt = (
        sa.select(Job)
        .where(Job.subject == subject, Job.status.in_(ACTIVE))
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def latest_for(subject: str) -> Job | None:
    """The newest job on `subject`, whatever its status."""
    stmt = (
        sa.select(Job)
        .where(Job.subject == subject)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def get(job_id: int, *, actor: User) -> Job:
    """A job of `actor` (administrators may see any); NotFound for anyone else's."""
    job = db.session.get(Job, job_id)
    if job is None or (job.created_by_id != actor.id and actor.role != Role.admin):
        raise NotFound(_("No such job."))
    return job


def recent(*, actor: User, limit: int = 20) -> list[Job]:
    """The actor's latest jobs, newest first."""
    stmt = (
        sa.select(Job)
        .where(Job.created_by_id == actor.id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def claim(job_id: int) -> Job | None:
    """Mark a queued job running; commits. None when it is not queued any more (gone, or
    already taken: a queue may deliver a task twice), so the caller does nothing."""
    now = utcnow()
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(status=JobStatus.running, started_at=now)
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(stmt)
    assert isinstance(result, sa.CursorResult)  # an UPDATE: its result has a row count
    db.session.commit()
    if result.rowcount != 1:
        log.warning("job %s was not queued; not run again", job_id)
        return None
    return db.session.get(Job, job_id, populate_existing=True)


def finish(
    job_id: int, *, result: Mapping[str, Any], done: int | None = None, total: int | None = None
) -> Job:
    """Mark a job done with its `result` and its last counts; commits."""
    job = db.session.get_one(Job, job_id, populate_existing=True)
    job.status = JobStatus.done
    job.result = dict(result)
    job.error = None
    if total is not None:
        job.progress_total = total
        job.progress_done = total if done is None else done
    job.finished_at = utcnow()
    db.session.commit()
    log.info("job %s done", job_id)
    return job


def fail(
    job_id: int,
    *,
    message: str,
    result: Mapping[str, Any] | None = None,
) -> Job | None:
    """Mark a job failed with `message`, text the user can read; commits. None if it is gone.

    Rolls back whatever the session still holds first: the work that failed wrote nothing.
    """
    db.session.rollback()
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:
        return None
    job.status = JobStatus.failed
    job.error = message[:MAX_ERROR]
    if result is not None:
        job.result = dict(result)
    job.finished_at = utcnow()
    db.session.commit()
    log.info("job %s failed", job_id)
    return job


def purge_finished(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete the records of jobs that ended more than `older_than` ago; commits.

    What a job produced stays where it lives (an import's report stays with its batch); only
    the record of the job goes. Returns how many were deleted.
    """
    now = now or utcnow()
    stmt = (
        sa.delete(Job)
        .where(Job.status.not_in(ACTIVE), Job.finished_at < now - older_than)
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(stmt)
    assert isinstance(result, sa.CursorResult)
    count = result.rowcount
    db.session.commit()
    if count:
        log.info("deleted %d finished job records", count)
    return count
