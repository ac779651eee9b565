"""Imports: upload a file, review its mapping and rows, import them, read the report.

The upload and the import both work as plain form posts. With JavaScript
(static/js/imports.js) the upload shows its progress. The upload's request only reads the
file and keeps its table; checking its rows (validating and matching every one) runs in the
background worker when the file is large (crm.jobs.stage_upload: more than
IMPORT_CHECK_INLINE_ROWS rows), and so does checking them again under a new mapping. The import
itself always runs in the worker, never in the request: the commit saves the user's choices,
queues a job and sends the browser back to the import's page. That page follows the batch's
job while one runs (static/js/jobs.js polls /jobs/<id>.json; without JavaScript the page
reloads itself): the check, then the preview; the import, then the report; the preview with
the reason when a job failed. The write is still one database transaction (see
crm.services.imports.commit_steps). When jobs run inline (JOB_QUEUE_IMMEDIATE, the tests)
the upload and the commit answer with the outcome at once, as they did before the worker
existed: the preview, the report, or the preview with the error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from crm import jobs as queue
from crm.access import Permission, permission_required
from crm.blueprints.imports import bp
from crm.blueprints.imports.forms import ChoicesForm, MappingForm, UploadForm
from crm.i18n import gettext as _
from crm.models import DuplicateAction, ImportBatch, ImportKind, ImportStatus, Job, JobStatus, User
from crm.services import imports
from crm.services.errors import ServiceError

PER_PAGE = 100
SHOWS = ("attention", "errors", "matches", "all")
_ROW_FIELD = re.compile(r"^row-(\d{1,9})$")


def _limits() -> imports.Limits:
    return imports.Limits.from_config(current_app.config)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _actor() -> User:
    return current_user._get_current_object()


@bp.route("", methods=["GET", "POST"])
@permission_required(Permission.IMPORT)
def index():
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            table = imports.read_upload(
                upload.read(), upload.filename or "", kind=form.kind.data, limits=_limits()
            )
            batch = queue.stage_upload(
                table, kind=form.kind.data, filename=upload.filename or "", actor=_actor()
            )
        except ServiceError as err:
            form.file.errors = [*form.file.errors, str(err)]
        else:
            url = url_for(".preview", batch_id=batch.id)
            return jsonify(redirect=url) if _wants_json() else redirect(url)
    if request.method == "POST" and _wants_json():
        messages = [m for errors in form.errors.values() for m in errors]
        return jsonify(error=" ".join(str(m) for m in messages), status=400), 400
    return render_template(
        "imports/index.html",
        form=form,
        batches=imports.recent_batches(actor=_actor()),
        max_bytes=current_app.config["IMPORT_MAX_BYTES"],
        limits=_limits(),
    ), (400 if request.method == "POST" else 200)


@dataclass(frozen=True)
class RowPage:
    """One page of preview rows (the preview is a list, not a query)."""

    items: list[imports.PreviewRow]
    page: int
    pages: int
    total: int


def _page(rows: list[imports.PreviewRow], page: int) -> RowPage:
    pages = max(1, math.ceil(len(rows) / PER_PAGE))
    page = min(max(1, page), pages)
    start = (page - 1) * PER_PAGE
    return RowPage(rows[start : start + PER_PAGE], page, pages, len(rows))


def _filtered(preview: imports.Preview, show: str) -> list[imports.PreviewRow]:
    if show == "errors":
        return preview.invalid
    if show == "matches":
        return preview.matched
    if show == "attention":
        return [r for r in preview.rows if r.errors or r.matches]
    return list(preview.rows)


def detail_url(record_id: int, kind: str) -> str:
    if kind in (ImportKind.people, ImportKind.attendance):
        return url_for("people.detail", person_id=record_id)
    return url_for("organisations.detail", organisation_id=record_id)


def _render_preview(
    batch: ImportBatch,
    *,
    errors: list[str] | None = None,
    choices: dict[int, str] | None = None,
    choices_form: ChoicesForm | None = None,
    status: int = 200,
):
    preview = imports.preview_of(batch)
    attention = [r for r in preview.rows if r.errors or r.matches]
    show = request.values.get("show", "")
    if show not in SHOWS:
        show = "attention" if attention else "all"
    page = _page(_filtered(preview, show), request.values.get("page", 1, type=int) or 1)
    form = choices_form or ChoicesForm(formdata=None, on_duplicate=batch.on_duplicate.value)
    if batch.kind == ImportKind.attendance:
        form.on_duplicate.label.text = _("Rows that match a person already recorded")
        form.on_duplicate.choices = [
            (DuplicateAction.update.value, _("Mark that person (fill in what their record lacks)")),
            (DuplicateAction.create.value, _("Create a new person")),
            (DuplicateAction.skip.value, _("Skip the row: not marked as attended")),
        ]
    chosen = {int(k): v for k, v in (batch.decisions or {}).items()}
    chosen.update(choices or {})
    return render_template(
        "imports/preview.html",
        batch=batch,
        preview=preview,
        page=page,
        show=show,
        counts={
            "attention": len(attention),
            "errors": len(preview.invalid),
            "matches": len(preview.matched),
            "all": len(preview.rows),
        },
        fields=imports.field_choices(batch.kind.value),
        samples=imports.samples(batch),
        chosen=chosen,
        form=form,
        mapping_form=MappingForm(formdata=None),
        errors=errors or [],
        reasons={k: str(v) for k, v in imports.REASON_LABELS.items()},
        detail_url=detail_url,
        activity=imports.activity_of(batch),
    ), status


@bp.route("/<int:batch_id>")
@permission_required(Permission.IMPORT)
def preview(batch_id: int):
    """The import's page: the preview, the progress while the import runs, then the report."""
    batch = imports.get_batch(batch_id, actor=_actor())
    if batch.status == ImportStatus.committed:
        return redirect(url_for(".report", batch_id=batch.id))
    job = queue.import_job(batch)
    if job is not None and job.is_active:
        return _render_progress(batch, job)
    return _render_preview(batch, errors=_failure_of(batch, job))


def _render_progress(batch: ImportBatch, job: Job):
    state = queue.state_of(job)
    return render_template(
        "imports/progress.html",
        batch=batch,
        state=state,
        checking=queue.step_of(job) == queue.CHECK,
        message=queue.describe(state),
        activity=imports.activity_of(batch),
    )


def _failure_of(batch: ImportBatch, job: Job | None) -> list[str]:
    """The reason the last job of the batch failed (its check or its import), until the user
    changes their choices or the mapping."""
    if job is None or job.status != JobStatus.failed or job.finished_at is None:
        return []
    if batch.updated_at > job.finished_at:
        return []
    if queue.step_of(job) == queue.CHECK:
        return [job.error or _("The rows of this file could not be checked.")]
    return [job.error or _("The import failed. Nothing was imported.")]


@bp.route("/<int:batch_id>/mapping", methods=["POST"])
@permission_required(Permission.IMPORT)
def remap(batch_id: int):
    batch = imports.get_batch(batch_id, actor=_actor())
    queue.require_no_import(batch)
    form = MappingForm()
    if not form.validate_on_submit():
        return _render_preview(batch, errors=_messages(form), status=400)
    mapping = [request.form.get(f"column-{i}", "") for i in range(len(batch.headers))]
    try:
        queue.remap(batch, mapping, actor=_actor())
    except ServiceError as err:
        return _render_preview(batch, errors=[str(err)], status=err.status_code)
    if imports.is_checked(batch):  # checked here, or by a job that ran inline
        flash(_("The rows were checked again with the new mapping."), "success")
    return redirect(url_for(".preview", batch_id=batch.id))


def _row_choices() -> dict[int, str]:
    """{row number: choice} from the row selects of the posted page."""
    choices = {}
    for name, value in request.form.items():
        found = _ROW_FIELD.match(name)
        if found:
            choices[int(found[1])] = value
    return choices


def _messages(form: Any) -> list[str]:
    return [str(m) for errors in form.errors.values() for m in errors] or [
        _("The form could not be read; reload the page.")
    ]


@bp.route("/<int:batch_id>/choices", methods=["POST"])
@permission_required(Permission.IMPORT)
def choose(batch_id: int):
    """Save the choices of this page, then show the page asked for (the pager posts here)."""
    batch = imports.get_batch(batch_id, actor=_actor())
    queue.require_no_import(batch)
    form = ChoicesForm()
    choices = _row_choices()
    if not form.validate_on_submit():
        return _render_preview(
            batch, errors=_messages(form), choices=choices, choices_form=form, status=400
        )
    try:
        imports.decide(batch, choices, on_duplicate=_on_duplicate(form), actor=_actor())
    except ServiceError as err:
        return _render_preview(
            batch, errors=[str(err)], choices=choices, choices_form=form, status=err.status_code
        )
    goto = request.form.get("goto", type=int)
    if goto is None:
        flash(_("Your choices were saved."), "success")
    show = request.form.get("show", "")
    return redirect(
        url_for(
            ".preview",
            batch_id=batch.id,
            page=goto or request.form.get("page", 1, type=int),
            show=show if show in SHOWS else None,
        )
    )


def _on_duplicate(form: ChoicesForm) -> str | None:
    """The choice for matched rows when the form sent one, else None: the batch's own (a
    sign-in sheet marks matched people, other imports skip them)."""
    return form.on_duplicate.data if "on_duplicate" in request.form else None


@bp.route("/<int:batch_id>/commit", methods=["POST"])
@permission_required(Permission.IMPORT)
def commit(batch_id: int):
    """Queue the import; the import's page then follows it (see the module docstring)."""
    batch = imports.get_batch(batch_id, actor=_actor())
    form = ChoicesForm()
    choices = _row_choices()
    if not form.validate_on_submit():
        return _render_preview(
            batch, errors=_messages(form), choices=choices, choices_form=form, status=400
        )
    try:
        job = queue.start_import(
            batch,
            actor=_actor(),
            decisions=choices,
            on_duplicate=_on_duplicate(form),
            skip_invalid=bool(form.skip_invalid.data),
        )
    except ServiceError as err:
        return _render_preview(
            batch, errors=[str(err)], choices=choices, choices_form=form, status=err.status_code
        )
    if job.status == JobStatus.done:  # it ran inline (JOB_QUEUE_IMMEDIATE)
        flash(_("The file was imported."), "success")
        return redirect(url_for(".report", batch_id=batch.id), code=303)
    if job.status == JobStatus.failed:
        status = int((job.result or {}).get("status", 422))
        return _render_preview(
            batch,
            errors=[job.error or _("The import failed. Nothing was imported.")],
            choices=choices,
            choices_form=form,
            status=status if 400 <= status < 600 else 422,
        )
    return redirect(url_for(".preview", batch_id=batch.id), code=303)


@bp.route("/<int:batch_id>/report")
@permission_required(Permission.IMPORT)
def report(batch_id: int):
    batch = imports.get_batch(batch_id, actor=_actor())
    if batch.status == ImportStatus.staged:
        return redirect(url_for(".preview", batch_id=batch.id))
    return render_template(
        "imports/report.html",
        batch=batch,
        report=imports.report_of(batch),
        row_ranges=imports.row_ranges,
        detail_url=detail_url,
        activity=imports.activity_of(batch),
    )


@bp.route("/<int:batch_id>/discard", methods=["POST"])
@permission_required(Permission.IMPORT)
def discard(batch_id: int):
    batch = imports.get_batch(batch_id, actor=_actor())
    queue.require_no_import(batch)
    imports.discard(batch, actor=_actor())
    flash(_("The upload “%(name)s” was discarded.", name=batch.filename), "success")
    return redirect(url_for(".index"))
