"""Personal data: a person's subject-access export and erasure, the retention list and the
personal-data audit page (crm.services.personal_data)."""

import json
from dataclasses import asdict
from urllib.parse import quote

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.common import attach_error, list_args
from crm.blueprints.personal_data import bp
from crm.blueprints.personal_data.forms import EraseForm, ExemptForm
from crm.blueprints.template_helpers import stakeholder_name
from crm.i18n import gettext as _
from crm.models import AuditAction, Person, label
from crm.services import audit, clock, personal_data, stakeholders
from crm.services.errors import InvalidInput, ServiceError
from crm.services.personal_data import audit_log
from crm.services.reporting import exports


def shown_name(person: Person) -> str:
    """The name a person is shown by: an erased one's in the reader's language."""
    return stakeholder_name(person)


def _person(person_id: int) -> Person:
    """The person an export names: one in the trash is refused with a message (404)."""
    return stakeholders.get(Person, person_id)


@bp.route("/people/<int:person_id>/data")
@permission_required(Permission.EXPORT_PERSONAL)
def subject_access(person_id: int):
    person = _person(person_id)
    printable = request.args.get("print") == "1"
    name = shown_name(person)
    found = personal_data.collect(
        person, actor=current_user, fmt="print" if printable else "page", now=clock.now()
    )
    template = "personal_data/print.html" if printable else "personal_data/data.html"
    response = Response(render_template(template, data=found, name=name, person_id=person_id))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/people/<int:person_id>/data.json")
@permission_required(Permission.EXPORT_PERSONAL)
def subject_access_json(person_id: int):
    person = _person(person_id)
    found = personal_data.collect(person, actor=current_user, fmt="json", now=clock.now())
    body = asdict(found)
    body["profile"] = dict(found.profile)
    body["counts"] = found.counts
    text = json.dumps(body, ensure_ascii=False, indent=2, default=audit.json_value)
    response = Response(text, mimetype="application/json")
    filename = f"person-{person_id}-data.json"
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=filename,
        **{"filename*": f"UTF-8''{quote(filename, safe='')}"},
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/people/<int:person_id>/erase", methods=["GET", "POST"])
@permission_required(Permission.ERASE_PERSONAL)
def erase(person_id: int):
    person = stakeholders.get(Person, person_id)
    if person.erased_at is not None:
        flash(_("This person's personal data have already been erased."), "info")
        return redirect(url_for("people.detail", person_id=person.id))
    form = EraseForm()
    name = shown_name(person)
    if form.validate_on_submit():
        try:
            personal_data.erase(person, actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("The personal data of “%(name)s” were erased.", name=name), "success")
            return redirect(url_for("people.detail", person_id=person.id))
    status = 400 if request.method == "POST" else 200
    return render_template("personal_data/erase.html", form=form, person=person, name=name), status


# ---------------------------------------------------------------------------------------------
# Administrators: retention and the personal-data audit page
# ---------------------------------------------------------------------------------------------


def _retention_years() -> int | None:
    try:
        return personal_data.check_years(current_app.config["RETENTION_YEARS"])
    except InvalidInput as err:
        flash(str(err), "danger")
        return None


@bp.route("/admin/retention")
@permission_required(Permission.MANAGE_PERSONAL_DATA)
def retention():
    years = _retention_years()
    args = list_args()
    due = (
        personal_data.due_page(years=years, now=clock.now(), page=args.page())
        if years is not None
        else None
    )
    return render_template(
        "personal_data/retention.html", due=due, years=years, form=ExemptForm(formdata=None)
    )


@bp.route("/admin/retention/<int:person_id>/exempt", methods=["POST"])
@permission_required(Permission.MANAGE_PERSONAL_DATA)
def exempt(person_id: int):
    person = stakeholders.get(Person, person_id)
    form = ExemptForm()
    if form.validate_on_submit():
        try:
            personal_data.exempt(person, reason=form.reason.data, actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("“%(name)s” is kept out of retention.", name=shown_name(person)), "success")
            return redirect(url_for(".retention"))
    return render_template("personal_data/exempt.html", form=form, person=person), 400


def _audit_criteria() -> audit_log.Criteria:
    args = list_args()
    action = args.text("action")
    return audit_log.Criteria(
        user_id=args.integer("user"),
        action=action if action in {a.value for a in audit_log.ACTIONS} else "",
        start=args.date("start"),
        end=args.date("end"),
    )


@bp.route("/admin/audit")
@permission_required(Permission.MANAGE_PERSONAL_DATA)
def audit_page():
    criteria = _audit_criteria()
    zone = clock.zone()
    if request.args.get("format") == "csv":
        return _audit_csv(criteria)
    args = list_args()
    found = audit_log.events(criteria, zone=zone, page=args.page(), per_page=args.per_page())
    return render_template(
        "personal_data/audit.html",
        events=found,
        criteria=criteria,
        actions=[(a.value, label(a)) for a in audit_log.ACTIONS],
        users=audit_log.user_choices(),
    )


def _audit_csv(criteria: audit_log.Criteria) -> Response:
    columns = [
        exports.Column(_("When"), lambda e: e.occurred_at),
        exports.Column(_("User"), lambda e: e.actor.name if e.actor else ""),
        exports.Column(_("User email"), lambda e: e.actor.email if e.actor else ""),
        exports.Column(_("Action"), lambda e: label(AuditAction(e.action))),
        exports.Column(_("Record"), lambda e: f"{e.entity_type} #{e.entity_id}"),
        exports.Column(_("Summary"), lambda e: e.summary),
        exports.Column(
            _("Details"), lambda e: json.dumps(e.changes, ensure_ascii=False, sort_keys=True)
        ),
    ]
    rows = audit_log.every(criteria, zone=clock.zone())
    response = Response(stream_with_context(exports.csv_lines(columns, rows)), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", filename="personal-data-audit.csv")
    response.headers["Cache-Control"] = "private, no-store"
    return response
