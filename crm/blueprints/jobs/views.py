"""Background jobs as their owner sees them: a page per job and the JSON its script polls.

A job belongs to the page that started it (an import's job to the import's page, which
shows the progress, then the report); `/jobs/<id>` leads there, and shows the job itself
for kinds without a page of their own. `/jobs/<id>.json` is what static/js/jobs.js polls:
the status, the progress, a sentence for the live region, and where to go once it is done.
People see their own jobs only; administrators see all (404 otherwise).

A large list export (crm.blueprints.reports.list_exports) is asked for here (`export`, a
POST from the page its list answers with) and shown on its job's own page, which offers the
file once it is written (`download`: to the person who asked for it only, 404 for anyone
else, administrators included).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user

from crm import jobs as queue
from crm.access import Permission, can, permission_required
from crm.blueprints.jobs import bp
from crm.blueprints.jobs.forms import ExportForm
from crm.blueprints.reports import list_exports
from crm.models import Job, JobKind, JobStatus, User
from crm.services import jobs
from crm.services.reporting import exports


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
    file = queue.export_file(job, actor=_actor())
    mine = job.created_by_id == current_user.id
    return render_template(
        "jobs/detail.html",
        state=state,
        message=queue.describe(state),
        result_url=result_url(job),
        what=_export_what(job),
        download_url=url_for(".download", job_id=job.id) if file else None,
        file_gone=job.kind == JobKind.export and job.status == JobStatus.done and mine and not file,
    )


def _export_what(job: Job) -> str | None:
    if job.kind != JobKind.export:
        return None
    params = job.params or {}
    return list_exports.describe(str(params.get("list")), str(params.get("format")))


@bp.route("/exports", methods=["POST"])
@permission_required(Permission.READ)
def export():
    form = ExportForm()
    entry = list_exports.EXPORTS.get(form.export.data or "")
    if not form.validate_on_submit() or entry is None:
        abort(400)
    if entry.personal and not can(current_user, Permission.EXPORT_PERSONAL):
        abort(403)
    args = list_exports.parse_query(form.query.data or "")
    try:
        job = queue.start_export(entry.name, fmt=form.format.data, args=args, actor=_actor())
    except queue.ExportRunning as err:
        flash(str(err), "warning")
        return redirect(url_for(".detail", job_id=err.job.id), 303)
    return redirect(url_for(".detail", job_id=job.id), 303)


@bp.route("/<int:job_id>/download")
@permission_required(Permission.READ)
def download(job_id: int):
    job = jobs.get(job_id, actor=_actor())
    file = queue.export_file(job, actor=_actor())
    if file is None:
        abort(404)
    fmt = file.suffix.lstrip(".")
    response = send_file(
        file,
        mimetype=exports.CSV_MIMETYPE if fmt == "csv" else exports.XLSX_MIMETYPE,
        as_attachment=True,
        download_name=file.name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"  # as the downloads of the lists
    return response
