from datetime import datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.common import ListArgs, attach_error, list_args, save_edit
from crm.blueprints.interactions import bp
from crm.blueprints.interactions.forms import InteractionForm
from crm.blueprints.reports import downloads, list_exports
from crm.extensions import db
from crm.forms import chinese_first, id_choices
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import (
    Activity,
    Channel,
    Direction,
    Interaction,
    OrgType,
    Sector,
    StakeholderKind,
    User,
)
from crm.requests import record_id
from crm.services import (
    accounts,
    audit,
    clock,
    consent,
    cross_border,
    follow_ups,
    interactions,
    mail,
    stakeholders,
)
from crm.services.errors import PermissionDenied, ServiceError
from crm.services.reporting import exports


def mail_settings() -> mail.Settings:
    return mail.Settings.from_config(current_app.config)


def _form(**kwargs: Any) -> InteractionForm:
    form = InteractionForm(**kwargs)
    assignees = id_choices(follow_ups.assignee_choices(), blank="—")
    for entry in form.follow_ups:
        entry.form.assignee_id.choices = assignees
    _name_chosen(form)
    if form.activity_id.data and not form.activity_id.display:
        activity = db.session.get(Activity, form.activity_id.data)
        form.activity_id.display = activity.title if activity else ""
    return form


def _name_chosen(form: InteractionForm) -> None:
    """Name the chosen stakeholders and staff (stakeholders in the interface's language),
    and offer the stakeholders in each follow-up's "About" select, after "All of them"."""
    chosen = form.stakeholders.data or []
    form.stakeholders.labels = stakeholders.display_names(chosen, chinese_first=chinese_first())
    names = audit.names_of({"users": form.staff.data or []})
    form.staff.labels = {user_id: name for (_table, user_id), name in names.items()}
    about = id_choices(
        [(i, form.stakeholders.labels.get(i, f"#{i}")) for i in chosen],
        blank=_("All of them"),
    )
    for entry in form.follow_ups:
        entry.form.stakeholder_id.choices = about


def _attach(form: InteractionForm, err: ServiceError) -> None:
    """Attach an error to its field, including `follow_ups-<n>-<field>` inside the list."""
    if err.field and err.field.startswith("follow_ups-"):
        _prefix, index, name = err.field.split("-", 2)
        entry = form.follow_ups[int(index)].form
        field = getattr(entry, name, None)
        if field is not None:
            field.errors = [*field.errors, str(err)]
            return
    if err.field == "stakeholder_ids":
        form.stakeholders.errors = [*form.stakeholders.errors, str(err)]
        return
    if err.field == "staff_ids":
        form.staff.errors = [*form.staff.errors, str(err)]
        return
    attach_error(form, err)


def _criteria(args: ListArgs) -> interactions.Criteria:
    return interactions.Criteria(
        start=args.date("from"),
        end=args.date("to"),
        channel=args.choice("channel", Channel),
        stakeholder_id=args.integer("stakeholder"),
        stakeholder_kind=args.choice("kind", StakeholderKind),
        org_type=args.choice("type", OrgType),
        sector=args.choice("sector", Sector),
        logged_by_id=args.integer("logged_by"),
        activity_id=args.integer("activity"),
        sort=args.sort(interactions.SORTS, default="when"),
        descending=args.text("dir") != "asc",
    )


@list_exports.register("interactions", title=_l("Interactions"), personal=True)
def _export(args: ListArgs, actor: User) -> list_exports.Built:
    criteria = _criteria(args)
    listing = interactions.listing(criteria)
    rows = exports.iterate(listing)
    sheet = exports.Sheet(_("Interactions"), _export_columns(actor), rows)
    period = (criteria.start, criteria.end) if criteria.start and criteria.end else None
    people = cross_border.involved_in(listing)
    return list_exports.Built("interactions", sheet, listing, period, people=people)


@bp.route("")
def index():
    args = list_args()
    criteria = _criteria(args)
    fmt = downloads.requested_format()
    if fmt:
        return list_exports.respond("interactions", fmt)
    page = interactions.list_interactions(criteria, page=args.page(), per_page=args.per_page())
    return render_template(
        "interactions/index.html",
        page=page,
        criteria=criteria,
        users=accounts.active_user_choices(),
        stakeholder_label=stakeholders.display_name_of(criteria.stakeholder_id),
        can_see=lambda i: interactions.can_see_details(i, current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def new():
    form = _form()
    if request.method == "GET":
        form.version.data = "0"
        form.occurred_at.data = _now_local()
        # The author was there: preselected, and removable like any colleague.
        form.staff.data = [current_user.id]
        for entry in form.follow_ups:
            entry.form.assignee_id.data = current_user.id
        preset = request.args.getlist("stakeholder", type=record_id)
        if preset:
            form.stakeholders.data = [
                s for s in preset if stakeholders.display_name_of(s) is not None
            ]
        _name_chosen(form)
        activity_id = request.args.get("activity", type=record_id)
        if activity_id:
            form.activity_id.data = activity_id
            activity = db.session.get(Activity, activity_id)
            form.activity_id.display = activity.title if activity else ""
    if form.validate_on_submit():
        try:
            interaction = interactions.log_interaction(
                form.interaction_data(),
                follow_ups_data=form.follow_up_data(),
                actor=current_user,
                mail_settings=mail_settings(),
            )
        except ServiceError as err:
            _attach(form, err)
        else:
            flash(_("Interaction “%(subject)s” logged.", subject=interaction.subject), "success")
            return redirect(url_for(".detail", interaction_id=interaction.id))
    status = 400 if request.method == "POST" else 200
    return render_template("interactions/edit.html", form=form, interaction=None), status


def _now_local() -> datetime:
    return clock.now().astimezone(clock.zone()).replace(second=0, microsecond=0, tzinfo=None)


@bp.route("/<int:interaction_id>")
def detail(interaction_id: int):
    interaction = interactions.get(interaction_id)
    return render_template(
        "interactions/detail.html",
        interaction=interaction,
        can_see=interactions.can_see_details(interaction, current_user),
        can_edit=interactions.can_edit(interaction, current_user),
        follow_up_list=follow_ups.for_interaction(interaction.id),
    )


@bp.route("/<int:interaction_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def edit(interaction_id: int):
    interaction = interactions.get(interaction_id)
    if not interactions.can_edit(interaction, current_user):
        raise PermissionDenied(_("Only the author or a coordinator can edit this interaction."))
    if not interactions.can_see_details(interaction, current_user):
        raise PermissionDenied(_("This interaction is confidential."))
    form = _loaded(interaction) if request.method == "GET" else _form(obj=interaction)
    return save_edit(
        form,
        interaction,
        lambda: interactions.update(
            interaction,
            form.interaction_data(),
            version=form.version_number,
            actor=current_user,
        ),
        template="interactions/edit.html",
        context={"interaction": interaction},
        saved=lambda: _loaded(interaction),
        done=url_for(".detail", interaction_id=interaction.id),
        attach=_attach,
    )


def _loaded(interaction: Interaction) -> InteractionForm:
    """The edit form as the saved interaction fills it (its time in the programme's zone)."""
    form = _form(obj=interaction, formdata=None)
    form.occurred_at.data = interaction.occurred_at.astimezone(clock.zone()).replace(tzinfo=None)
    form.stakeholders.data = [s.id for s in interaction.stakeholders]
    form.staff.data = [u.id for u in interaction.staff]
    _name_chosen(form)
    form.activity_id.display = interaction.activity.title if interaction.activity else ""
    return form


@bp.route("/<int:interaction_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def delete(interaction_id: int):
    interaction = interactions.get(interaction_id)
    if not interactions.can_edit(interaction, current_user):
        raise PermissionDenied(_("Only the author or a coordinator can delete this interaction."))
    if request.method == "POST":
        interactions.delete(interaction, actor=current_user)
        flash(_("Interaction moved to the trash."), "success")
        return redirect(url_for(".index"))
    return render_template(
        "interactions/delete.html",
        interaction=interaction,
        can_see=interactions.can_see_details(interaction, current_user),
    )


def _export_columns(user: User) -> list[exports.Column]:
    """The outreach log as a file. A confidential interaction keeps its subject, summary and
    outcome out of the file unless `user` may read them, as on the page."""
    Col = exports.Column
    viewer = user._get_current_object() if hasattr(user, "_get_current_object") else user

    def seen(i: Interaction, value: str | None) -> str | None:
        return value if interactions.can_see_details(i, viewer) else None

    # Labels translated once per file, not once per row.
    channel, direction = exports.labels(Channel), exports.labels(Direction)
    hidden = _("Confidential interaction")
    return [
        Col(_("When"), lambda i: i.occurred_at, "datetime"),
        Col(_("Channel"), lambda i: channel(i.channel), width=12),
        Col(_("Direction"), lambda i: direction(i.direction), width=10),
        Col(_("Subject"), lambda i: i.subject if seen(i, i.subject) else hidden, width=40),
        Col(_("With"), lambda i: ", ".join(map(consent.shown_name, i.stakeholders)), width=40),
        Col(_("Staff present"), lambda i: ", ".join(u.name for u in i.staff), width=24),
        Col(_("Activity"), lambda i: i.activity.title if i.activity else None, width=30),
        Col(_("Summary"), lambda i: seen(i, i.summary), width=60),
        Col(_("Outcome"), lambda i: seen(i, i.outcome), width=40),
        Col(_("Confidential"), lambda i: i.is_confidential, width=12),
        Col(_("Logged by"), lambda i: i.logged_by.name if i.logged_by else None, width=20),
    ]


# The JSON API (crm.api) fills the same form, with the same choices, from a JSON body.
def api_form(**kwargs: Any) -> InteractionForm:
    """The interaction form with its choices (`formdata`, `obj` as for any form)."""
    return _form(**kwargs)


def api_loaded(interaction: Interaction) -> InteractionForm:
    """The edit form as the saved interaction fills it."""
    return _loaded(interaction)
