from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from crm.access import Permission, permission_required
from crm.blueprints.common import ListArgs, attach_error, list_args, save_edit
from crm.blueprints.follow_ups import bp
from crm.blueprints.follow_ups.forms import CompleteForm, FollowUpForm, ReassignForm
from crm.blueprints.reports import downloads, list_exports
from crm.extensions import db
from crm.forms import id_choices
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import Activity, FollowUp, FollowUpStatus, Priority, User
from crm.requests import record_id
from crm.services import clock, cross_border, follow_ups, mail, stakeholders
from crm.services.errors import InvalidInput, ServiceError
from crm.services.reporting import exports

# Follow-ups shown per group on My follow-ups before "show all".
MINE_PER_GROUP = 20


def mail_settings() -> mail.Settings:
    return mail.Settings.from_config(current_app.config)


def _assignees(blank: str | None = None) -> list[SelectChoice]:
    return id_choices(follow_ups.assignee_choices(), blank=blank)


def _form(**kwargs: Any) -> FollowUpForm:
    form = FollowUpForm(**kwargs)
    form.assignee_id.choices = _assignees(blank="—")
    if form.stakeholder_id.data and not form.stakeholder_id.display:
        form.stakeholder_id.display = stakeholders.display_name_of(form.stakeholder_id.data) or ""
    if form.activity_id.data and not form.activity_id.display:
        activity = db.session.get(Activity, form.activity_id.data)
        form.activity_id.display = activity.title if activity else ""
    return form


def _criteria(args: ListArgs) -> follow_ups.Criteria:
    status = args.text("status") or "open"
    return follow_ups.Criteria(
        status=status if status in {s.value for s in FollowUpStatus} | {"all"} else "open",
        assignee_id=args.integer("assignee"),
        stakeholder_id=args.integer("stakeholder"),
        activity_id=args.integer("activity"),
        overdue_only=args.text("overdue") == "1",
        sort=args.sort(follow_ups.SORTS, default="due"),
        descending=args.descending(),
    )


@list_exports.register("follow-ups", title=_l("Follow-ups"), personal=True)
def _export(args: ListArgs, actor: User) -> list_exports.Built:
    listing = follow_ups.listing(_criteria(args), today=clock.today())
    sheet = exports.query_sheet(_("Follow-ups"), listing, _export_fields())
    people = cross_border.ids_in(listing, "stakeholder_id")
    return list_exports.Built("follow-ups", sheet, listing, people=people)


@bp.route("")
def index():
    args = list_args()
    criteria = _criteria(args)
    fmt = downloads.requested_format()
    if fmt:
        return list_exports.respond("follow-ups", fmt)
    page = follow_ups.search(
        criteria, today=clock.today(), page=args.page(), per_page=args.per_page()
    )
    return render_template(
        "follow_ups/index.html",
        page=page,
        criteria=criteria,
        assignees=follow_ups.assignee_choices(),
        today=clock.today(),
    )


@bp.route("/mine")
def mine():
    """Open follow-ups by due date: the first of each group, or one whole group paged."""
    day = clock.today()
    args = list_args()
    group = args.choice("group", follow_ups.Due)
    if group:
        requested = request.args.get("page", 1, type=int) or 1
        page = follow_ups.due_page(
            current_user, follow_ups.Due(group), today=day, page=requested, per_page=args.per_page()
        )
        return render_template(
            "follow_ups/mine.html", group=group, page=page, requested=requested, today=day
        )
    return render_template(
        "follow_ups/mine.html",
        agenda=follow_ups.agenda(current_user, today=day, per_group=MINE_PER_GROUP),
        today=day,
    )


@bp.route("/team")
@permission_required(Permission.EDIT_ACTIVITIES)
def team():
    return render_template("follow_ups/team.html", rows=follow_ups.team(today=clock.today()))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def new():
    form = _form()
    if request.method == "GET":
        form.version.data = "0"
        form.assignee_id.data = current_user.id
        form.stakeholder_id.data = request.args.get("stakeholder", type=record_id)
        form.activity_id.data = request.args.get("activity", type=record_id)
        form = _form(
            formdata=None,
            data={
                "version": "0",
                "assignee_id": current_user.id,
                "stakeholder_id": request.args.get("stakeholder", type=record_id),
                "activity_id": request.args.get("activity", type=record_id),
            },
        )
    if form.validate_on_submit():
        try:
            follow_up = follow_ups.create(
                form.changes(), actor=current_user, mail_settings=mail_settings()
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(
                _(
                    "Follow-up “%(title)s” assigned to %(name)s.",
                    title=follow_up.title,
                    name=follow_up.assignee.name,
                ),
                "success",
            )
            return redirect(url_for(".detail", follow_up_id=follow_up.id))
    status = 400 if request.method == "POST" else 200
    return render_template("follow_ups/edit.html", form=form, follow_up=None), status


@bp.route("/<int:follow_up_id>")
def detail(follow_up_id: int):
    follow_up = follow_ups.get(follow_up_id)
    reassign = ReassignForm(prefix="reassign")
    reassign.assignee_id.choices = _assignees()
    reassign.assignee_id.data = follow_up.assignee_id
    return render_template(
        "follow_ups/detail.html",
        follow_up=follow_up,
        complete_form=CompleteForm(prefix="done"),
        reassign_form=reassign,
        today=clock.today(),
    )


@bp.route("/<int:follow_up_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def edit(follow_up_id: int):
    follow_up = follow_ups.get(follow_up_id)
    follow_ups.check_may_change(follow_up, current_user)  # 403 before any form is shown
    form = _form(obj=follow_up)
    return save_edit(
        form,
        follow_up,
        lambda: follow_ups.update(
            follow_up,
            form.changes(),
            version=form.version_number,
            actor=current_user,
            mail_settings=mail_settings(),
        ),
        template="follow_ups/edit.html",
        context={"follow_up": follow_up},
        saved=lambda: _form(obj=follow_up, formdata=None),
        done=url_for(".detail", follow_up_id=follow_up.id),
    )


def _back(follow_up_id: int) -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for(".detail", follow_up_id=follow_up_id)


@bp.route("/<int:follow_up_id>/complete", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def complete(follow_up_id: int):
    follow_up = follow_ups.get(follow_up_id)
    form = CompleteForm(prefix="done")
    if not form.validate():
        flash(_("The note is too long."), "danger")
        return redirect(_back(follow_up_id))
    try:
        follow_ups.complete(follow_up, note=form.note.data, actor=current_user)
    except InvalidInput as err:  # completed already: a second click, another tab
        flash(str(err), "warning")
    else:
        flash(_("“%(title)s” is done.", title=follow_up.title), "success")
    return redirect(_back(follow_up_id))


@bp.route("/<int:follow_up_id>/reopen", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def reopen(follow_up_id: int):
    follow_up = follow_ups.get(follow_up_id)
    follow_ups.reopen(follow_up, actor=current_user)
    flash(_("“%(title)s” is open again.", title=follow_up.title), "success")
    return redirect(_back(follow_up_id))


@bp.route("/<int:follow_up_id>/cancel", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def cancel(follow_up_id: int):
    follow_up = follow_ups.get(follow_up_id)
    follow_ups.cancel(follow_up, actor=current_user)
    flash(_("“%(title)s” cancelled.", title=follow_up.title), "success")
    return redirect(_back(follow_up_id))


@bp.route("/<int:follow_up_id>/reassign", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def reassign(follow_up_id: int):
    follow_up = follow_ups.get(follow_up_id)
    follow_ups.check_may_change(follow_up, current_user)
    form = ReassignForm(prefix="reassign")
    form.assignee_id.choices = _assignees()
    if form.validate():
        try:
            follow_ups.reassign(
                follow_up,
                assignee_id=form.assignee_id.data,
                actor=current_user,
                mail_settings=mail_settings(),
            )
        except ServiceError as err:
            flash(str(err), "danger")
        else:
            flash(_("Reassigned to %(name)s.", name=follow_up.assignee.name), "success")
    else:
        flash(_("Choose a colleague."), "danger")
    return redirect(_back(follow_up_id))


def _export_fields() -> list[exports.Field]:
    """The follow-up list as a file (it names people: coordinators and up, recorded), read
    as one row of values per follow-up."""
    Field = exports.Field
    return [
        Field(_("Title"), FollowUp.title, width=40),
        Field(_("Status"), FollowUp.status, width=12, shown=exports.labels(FollowUpStatus)),
        Field(_("Priority"), FollowUp.priority, width=10, shown=exports.labels(Priority)),
        Field(_("Due on"), FollowUp.due_on, "date"),
        Field(_("Assignee"), exports.user_name(FollowUp.assignee_id), width=20),
        Field(
            _("Stakeholder"),
            exports.stakeholder_name(FollowUp.stakeholder_id),
            shown=exports.anonymous,
        ),
        Field(_("Activity"), exports.activity_title(FollowUp.activity_id), width=30),
        Field(_("Details"), FollowUp.details, width=50),
        Field(_("Created"), FollowUp.created_at, "datetime"),
        Field(_("Created by"), exports.user_name(FollowUp.created_by_id), width=20),
        Field(_("Completed"), FollowUp.completed_at, "datetime"),
        Field(_("Completion note"), FollowUp.completion_note, width=40),
    ]


# The JSON API (crm.api) fills the same form, with the same choices, from a JSON body.
def api_form(**kwargs: Any) -> FollowUpForm:
    """The follow-up form with its choices (`formdata`, `obj` as for any form)."""
    return _form(**kwargs)
