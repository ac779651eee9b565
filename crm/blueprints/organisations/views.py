from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.organisations import bp
from crm.blueprints.organisations.forms import OrganisationForm
from crm.blueprints.stakeholders.forms import RelationshipForm
from crm.blueprints.stakeholders.helpers import (
    attach_error,
    conflict_page,
    list_args,
    relationship_form,
)
from crm.forms import id_choices, local_timezone
from crm.models import EngagementLevel, Organisation, OrgType, Sector
from crm.services import accounts, duplicates, interactions, stakeholders, timeline
from crm.services.errors import Conflict, ServiceError


def _form(**kwargs) -> OrganisationForm:  # type: ignore[no-untyped-def]
    form = OrganisationForm(**kwargs)
    form.owner_id.choices = id_choices(accounts.active_user_choices(), blank="—")
    organisation = kwargs.get("obj")
    if organisation is not None and organisation.parent is not None and not form.parent_id.display:
        form.parent_id.display = organisation.parent.display_name
    return form


@bp.route("")
def index():
    args = list_args()
    criteria = stakeholders.OrganisationCriteria(
        q=args.text("q"),
        org_type=args.choice("type", OrgType),
        sector=args.choice("sector", Sector),
        province=args.text("province"),
        tag=args.text("tag"),
        engagement_level=args.choice("level", EngagementLevel),
        owner_id=args.integer("owner"),
        sort=args.sort(stakeholders.ORGANISATION_SORTS),
        descending=args.descending(),
    )
    page = stakeholders.list_organisations(criteria, page=args.page(), per_page=args.per_page())
    return render_template(
        "organisations/index.html",
        page=page,
        criteria=criteria,
        provinces=stakeholders.provinces(),
        tags=stakeholders.tag_names(),
        owners=accounts.active_user_choices(),
        type_counts=stakeholders.organisation_type_counts(),
        contacts=stakeholders.contacts_for([item.id for item in page.items]),
        today=datetime.now(local_timezone()).date(),
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def new():
    form = _form()
    if request.method == "GET":
        form.version.data = "0"
        form.owner_id.data = current_user.id
    candidates = []
    if form.validate_on_submit():
        if not request.form.get("create_anyway"):
            candidates = duplicates.candidates_for_organisation(form.changes())
        if candidates:
            return render_template(
                "organisations/edit.html", form=form, organisation=None, candidates=candidates
            )
        try:
            organisation = stakeholders.create_organisation(form.changes(), actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Organisation “%(name)s” created.", name=organisation.display_name), "success")
            return redirect(url_for(".detail", organisation_id=organisation.id))
    status = 400 if request.method == "POST" else 200
    return render_template("organisations/edit.html", form=form, organisation=None), status


def render_detail(
    organisation: Organisation, *, relationship: RelationshipForm | None = None, status: int = 200
):
    return render_template(
        "organisations/detail.html",
        organisation=organisation,
        affiliations=stakeholders.affiliations_of_organisation(organisation),
        relationships=stakeholders.relationships_of(organisation),
        relationship_form=relationship or relationship_form(organisation),
        timeline=timeline.timeline(organisation, page=list_args().page()),
        can_see=lambda i: interactions.can_see_details(i, current_user),
    ), status


@bp.route("/<int:organisation_id>")
def detail(organisation_id: int):
    return render_detail(stakeholders.get(Organisation, organisation_id))


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def edit(organisation_id: int):
    organisation = stakeholders.get(Organisation, organisation_id)
    form = _form(obj=organisation)
    if request.method == "GET":
        form.tags.data = [t.name for t in organisation.tags]
    if form.validate_on_submit():
        try:
            stakeholders.update(
                organisation, form.changes(), version=form.version_number, actor=current_user
            )
        except Conflict as err:
            return conflict_page(form, organisation, err, "organisations/_form.html")
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".detail", organisation_id=organisation.id))
    status = 400 if request.method == "POST" else 200
    return render_template("organisations/edit.html", form=form, organisation=organisation), status


@bp.route("/<int:organisation_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.DELETE)
def delete(organisation_id: int):
    organisation = stakeholders.get(Organisation, organisation_id)
    if request.method == "POST":
        stakeholders.delete(organisation, actor=current_user)
        flash(_("“%(name)s” moved to the trash.", name=organisation.display_name), "success")
        return redirect(url_for(".index"))
    return render_template(
        "stakeholders/confirm_delete.html",
        stakeholder=organisation,
        cancel_url=url_for(".detail", organisation_id=organisation.id),
    )
