"""Background jobs as their owner sees them: a page per job and the JSON its script polls.

A job belongs to the page that started it (an import's job to the import's page, which
shows the progress, then the report); `/jobs/<id>` leads there, and shows the job itself
for kinds without a page of their own. `/jobs/<id>.json` is what static/js/jobs.js polls:
the status, the progress, a sentence for the live region, and where to go once it is done.
People see their own jobs only; administrators see all (404 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user

from crm import jobs as queue
from crm.access import Permission, permission_required
from crm.blueprints.jobs import bp
from crm.models import Job, JobKind, JobStatus, User
from crm.services import jobs


def _actor() -> User:
    return current_user._get_current_object()


def page_url(job: Job) -> str:
    """The page that shows this job: the one that started it, or the job's own."""
    if job.kind == JobKind.import_ and job.params.get("batch_id"):
        return url_for("imports.preview", batch_id=job.params["batch_id"])
    return url_for("jobs.detail", job_id=job.id)


def result_url(job: Job) -> str | None:
    """Where the result of a finished job is, if it has one to show: the preview of an
    upload whose rows were checked, the report of an import."""
    if job.status != JobStatus.done or not job.result:
        return None
    if job.kind == JobKind.import_ and job.result.get("batch_id"):
        endpoint = "imports.preview" if queue.step_of(job) == queue.CHECK else "imports.report"
        return url_for(endpoint, batch_id=job.result["batch_id"])
    return None


def payload(state: queue.JobState) -> dict[str, Any]:
    job = state.job
    return {
        "id": job.id,
        "status": job.status.value,
        "done": state.done,
        "total": state.total,
        "percent": state.percent,
        "message": queue.describe(state),
        "error": job.error if job.status == JobStatus.failed else None,
        "redirect": result_url(job),
        "page": page_url(job),
    }


@bp.route("/<int:job_id>.json")
@permission_required(Permission.READ)
def status(job_id: int):
    job = jobs.get(job_id, actor=_actor())
    response = jsonify(payload(queue.state_of(job)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:job_id>")
@permission_required(Permission.READ)
def detail(job_id: int):
    job = jobs.get(job_id, actor=_actor())
    page = page_url(job)
    if page != url_for(".detail", job_id=job.id):
        return redirect(page)
    state = queue.state_of(job)
    return render_template(
        "jobs/detail.html",
        state=state,
        message=queue.describe(state),
        result_url=result_url(job),
    )
