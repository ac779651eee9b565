from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.common import attach_error, list_args
from crm.blueprints.history import timeline_names
from crm.blueprints.organisations import bp
from crm.blueprints.organisations.forms import OrganisationForm
from crm.blueprints.reports import downloads
from crm.blueprints.stakeholders.forms import RelationshipForm
from crm.blueprints.stakeholders.helpers import (
    conflict_page,
    relationship_form,
)
from crm.forms import id_choices
from crm.models import EngagementLevel, Organisation, OrgType, Sector, label
from crm.services import (
    accounts,
    activities,
    clock,
    interactions,
    stakeholders,
    timeline,
)
from crm.services.errors import Conflict, LikelyDuplicate, ServiceError
from crm.services.reporting import exports


def _form(**kwargs: Any) -> OrganisationForm:
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
        influence=args.rating("influence"),
        interest=args.rating("interest"),
    )
    fmt = downloads.requested_format()
    if fmt:
        rows = exports.iterate(stakeholders.organisations_listing(criteria))
        sheet = exports.Sheet(_("Organisations"), _export_columns(), rows)
        return downloads.send(fmt, "organisations", [sheet])
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
        today=clock.today(),
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def new():
    form = _form()
    if request.method == "GET":
        form.version.data = "0"
        form.owner_id.data = current_user.id
    if form.validate_on_submit():
        try:
            organisation = stakeholders.create_organisation(
                form.changes(),
                allow_duplicate=bool(request.form.get("create_anyway")),
                actor=current_user,
            )
        except LikelyDuplicate as err:  # shown above the form, with "create anyway"
            return render_template(
                "organisations/edit.html", form=form, organisation=None, candidates=err.candidates
            )
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
    stream = timeline.timeline(organisation, page=list_args().page())
    return render_template(
        "organisations/detail.html",
        organisation=organisation,
        affiliations=stakeholders.affiliations_of_organisation(organisation),
        relationships=stakeholders.relationships_of(organisation),
        relationship_form=relationship or relationship_form(organisation),
        timeline=stream,
        names=timeline_names(stream),
        activity_list=activities.for_organisation(organisation),
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


def _export_columns() -> list[exports.Column]:
    """The organisation list as a file: the columns of the page and the record's details."""
    Col = exports.Column
    return [
        Col(_("Name"), lambda o: o.display_name, width=40),
        Col(_("Chinese name"), lambda o: o.chinese_name, width=30),
        Col(_("Type"), lambda o: label(o.org_type), width=20),
        Col(_("Sector"), lambda o: label(o.sector), width=20),
        Col(_("Ownership"), lambda o: label(o.ownership), width=16),
        Col(_("Size"), lambda o: label(o.size_band), width=16),
        Col(_("Supply-chain role"), lambda o: label(o.supply_chain_role), width=18),
        Col(_("Province"), lambda o: o.province, width=14),
        Col(_("City"), lambda o: o.city, width=14),
        Col(_("Website"), lambda o: o.website, width=30),
        Col(_("Engagement level"), lambda o: label(o.engagement_level), width=14),
        Col(_("Influence"), lambda o: o.influence, "int"),
        Col(_("Interest"), lambda o: o.interest, "int"),
        Col(_("Owner"), lambda o: o.owner.name if o.owner else None, width=20),
        Col(_("Tags"), lambda o: ", ".join(t.name for t in o.tags), width=24),
        Col(_("Updated"), lambda o: o.updated_at, "datetime"),
    ]
