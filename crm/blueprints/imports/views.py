"""Imports: upload a file, review its mapping and rows, import them, read the report.

The upload and the import both work as plain form posts. With JavaScript
(static/js/imports.js) the upload shows its progress, and the import asks for
`application/x-ndjson`: the response then streams one JSON line per step of the write
({"done": n, "total": t}) and a last line with the report's address, or with the error. The
write is one database transaction whichever way it is asked for (see
crm.services.imports.commit_steps); the lines only report how far it has got.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.imports import bp
from crm.blueprints.imports.forms import ChoicesForm, MappingForm, UploadForm
from crm.extensions import db
from crm.models import DuplicateAction, ImportBatch, ImportKind, ImportStatus, User
from crm.services import imports
from crm.services.errors import ServiceError

PER_PAGE = 100
SHOWS = ("attention", "errors", "matches", "all")
_ROW_FIELD = re.compile(r"^row-(\d{1,9})$")


def _limits() -> imports.Limits:
    return imports.Limits(max_bytes=current_app.config["IMPORT_MAX_BYTES"])


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
            batch = imports.stage(
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
    batch = imports.get_batch(batch_id, actor=_actor())
    if batch.status == ImportStatus.committed:
        return redirect(url_for(".report", batch_id=batch.id))
    return _render_preview(batch)


@bp.route("/<int:batch_id>/mapping", methods=["POST"])
@permission_required(Permission.IMPORT)
def remap(batch_id: int):
    batch = imports.get_batch(batch_id, actor=_actor())
    form = MappingForm()
    if not form.validate_on_submit():
        return _render_preview(batch, errors=_messages(form), status=400)
    mapping = [request.form.get(f"column-{i}", "") for i in range(len(batch.headers))]
    try:
        imports.remap(batch, mapping, actor=_actor())
    except ServiceError as err:
        return _render_preview(batch, errors=[str(err)], status=err.status_code)
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


def _wants_stream() -> bool:
    return "application/x-ndjson" in request.headers.get("Accept", "")


def _line(**values: Any) -> str:
    return json.dumps(values, ensure_ascii=False) + "\n"


def _stream(
    batch_id: int, actor_id: int, form: ChoicesForm, choices: dict[int, str], report_url: str
) -> Iterator[str]:
    """The import as NDJSON lines. It runs after the view has returned, when Flask has
    already closed the view's database session, so it loads the batch and the user again."""
    steps = None
    try:
        actor = db.session.get_one(User, actor_id)  # users are never deleted
        steps = imports.commit_steps(
            imports.get_batch(batch_id, actor=actor),
            actor=actor,
            decisions=choices,
            on_duplicate=_on_duplicate(form),
            skip_invalid=form.skip_invalid.data,
        )
        for step in steps:
            if isinstance(step, imports.Progress):
                yield _line(done=step.done, total=step.total)
            else:
                yield _line(redirect=report_url)
    except ServiceError as err:
        yield _line(error=str(err))
    finally:
        if steps is not None:
            steps.close()  # a client that went away: the import rolls back now


@bp.route("/<int:batch_id>/commit", methods=["POST"])
@permission_required(Permission.IMPORT)
def commit(batch_id: int):
    batch = imports.get_batch(batch_id, actor=_actor())
    form = ChoicesForm()
    choices = _row_choices()
    if _wants_stream():
        if not form.validate_on_submit():
            body = _line(error=" ".join(_messages(form)))
            return Response(body, 400, mimetype="application/x-ndjson")
        report_url = url_for(".report", batch_id=batch.id)
        return Response(
            stream_with_context(_stream(batch.id, current_user.id, form, choices, report_url)),
            mimetype="application/x-ndjson",
            # Proxies (nginx) must pass each line on as it comes.
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    if not form.validate_on_submit():
        return _render_preview(
            batch, errors=_messages(form), choices=choices, choices_form=form, status=400
        )
    try:
        imports.commit(
            batch,
            actor=_actor(),
            decisions=choices,
            on_duplicate=_on_duplicate(form),
            skip_invalid=form.skip_invalid.data,
        )
    except ServiceError as err:
        return _render_preview(
            batch, errors=[str(err)], choices=choices, choices_form=form, status=err.status_code
        )
    flash(_("The file was imported."), "success")
    return redirect(url_for(".report", batch_id=batch.id), code=303)


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
    imports.discard(batch, actor=_actor())
    flash(_("The upload “%(name)s” was discarded.", name=batch.filename), "success")
    return redirect(url_for(".index"))
