from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from crm import provinces
from crm.access import Permission, permission_required
from crm.blueprints import submissions
from crm.blueprints.common import ListArgs, attach_error, list_args, save_edit
from crm.blueprints.history import timeline_names
from crm.blueprints.organisations import bp
from crm.blueprints.organisations.forms import OrganisationForm
from crm.blueprints.reports import downloads, list_exports
from crm.blueprints.stakeholders.forms import RelationshipForm
from crm.blueprints.stakeholders.helpers import relationship_form
from crm.forms import id_choices
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import (
    EngagementLevel,
    Organisation,
    OrgType,
    Ownership,
    Sector,
    SizeBand,
    SupplyChainRole,
    User,
)
from crm.services import (
    accounts,
    activities,
    clock,
    interactions,
    stakeholders,
    timeline,
)
from crm.services.errors import LikelyDuplicate, ServiceError
from crm.services.reporting import exports


def _form(**kwargs: Any) -> OrganisationForm:
    form = OrganisationForm(**kwargs)
    form.owner_id.choices = id_choices(accounts.active_user_choices(), blank="—")
    organisation = kwargs.get("obj")
    if organisation is not None and organisation.parent is not None and not form.parent_id.display:
        form.parent_id.display = organisation.parent.display_name
    return form


def _criteria(args: ListArgs) -> stakeholders.OrganisationCriteria:
    return stakeholders.OrganisationCriteria(
        q=args.text("q"),
        org_type=args.choice("type", OrgType),
        sector=args.choice("sector", Sector),
        # A province of the list, by its code (or any name the rule reads); nothing else.
        province=provinces.code_for(args.text("province")) or "",
        tag=args.text("tag"),
        engagement_level=args.choice("level", EngagementLevel),
        owner_id=args.integer("owner"),
        sort=args.sort(stakeholders.ORGANISATION_SORTS),
        descending=args.descending(),
        influence=args.rating("influence"),
        interest=args.rating("interest"),
        quiet_on=clock.today() if args.text("quiet") == "1" else None,
    )


@list_exports.register("organisations", title=_l("Organisations"))
def _export(args: ListArgs, actor: User) -> list_exports.Built:
    listing = stakeholders.organisations_listing(_criteria(args))
    sheet = exports.query_sheet(_("Organisations"), listing, _export_fields())
    return list_exports.Built("organisations", sheet, listing)


@bp.route("")
def index():
    args = list_args()
    criteria = _criteria(args)
    fmt = downloads.requested_format()
    if fmt:
        return list_exports.respond("organisations", fmt)
    # The page asked for, however large: past the end, the last page shows with a note.
    requested = request.args.get("page", 1, type=int) or 1
    page = stakeholders.list_organisations(criteria, page=requested, per_page=args.per_page())
    return render_template(
        "organisations/index.html",
        page=page,
        criteria=criteria,
        tags=stakeholders.tag_names(),
        owners=accounts.active_user_choices(),
        type_counts=stakeholders.organisation_type_counts(),
        requested=requested,
        today=clock.today(),
    )


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def new():
    form = _form()
    if request.method == "GET":
        form.version.data = "0"
        form.owner_id.data = current_user.id
    sent = request.form.get(submissions.FIELD)
    token = submissions.token_for(sent)
    if form.validate_on_submit():
        try:
            organisation = stakeholders.create_organisation(
                form.changes(),
                allow_duplicate=bool(request.form.get("create_anyway")),
                actor=current_user,
                form_opened_at=submissions.opened_at(sent),  # sent twice: one record
            )
        except LikelyDuplicate as err:  # shown above the form, with "create anyway"
            return render_template(
                "organisations/edit.html",
                form=form,
                organisation=None,
                candidates=err.candidates,
                form_token=token,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Organisation “%(name)s” created.", name=organisation.display_name), "success")
            return redirect(url_for(".detail", organisation_id=organisation.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "organisations/edit.html", form=form, organisation=None, form_token=token
    ), status


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
    form = _loaded(organisation) if request.method == "GET" else _form(obj=organisation)
    return save_edit(
        form,
        organisation,
        lambda: stakeholders.update(
            organisation, form.changes(), version=form.version_number, actor=current_user
        ),
        template="organisations/edit.html",
        context={"organisation": organisation},
        saved=lambda: _loaded(organisation),
        done=url_for(".detail", organisation_id=organisation.id),
    )


def _loaded(organisation: Organisation) -> OrganisationForm:
    """The edit form as the saved organisation fills it."""
    form = _form(obj=organisation, formdata=None)
    form.tags.data = [t.name for t in organisation.tags]
    return form


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


def _export_fields() -> list[exports.Field]:
    """The organisation list as a file: the columns of the page and the record's details,
    read as one row of values per organisation (labels translated once per file)."""
    Field = exports.Field
    return [
        Field(_("Name"), Organisation.display_name, width=40),
        Field(_("Chinese name"), Organisation.chinese_name, width=30),
        Field(_("Type"), Organisation.org_type, width=20, shown=exports.labels(OrgType)),
        Field(_("Sector"), Organisation.sector, width=20, shown=exports.labels(Sector)),
        Field(_("Ownership"), Organisation.ownership, width=16, shown=exports.labels(Ownership)),
        Field(_("Size"), Organisation.size_band, width=16, shown=exports.labels(SizeBand)),
        Field(
            _("Supply-chain role"),
            Organisation.supply_chain_role,
            width=18,
            shown=exports.labels(SupplyChainRole),
        ),
        Field(
            _("Province"),
            Organisation.province,
            width=14,
            shown=provinces.namer(str(get_locale() or "en")),
        ),
        Field(_("City"), Organisation.city, width=14),
        Field(_("Website"), Organisation.website, width=30),
        Field(
            _("Engagement level"),
            Organisation.engagement_level,
            width=14,
            shown=exports.labels(EngagementLevel),
        ),
        Field(_("Influence"), Organisation.influence, "int"),
        Field(_("Interest"), Organisation.interest, "int"),
        Field(_("Owner"), exports.owner_name(Organisation), width=20),
        Field(_("Tags"), exports.tag_names(Organisation), width=24),
        Field(_("Updated"), Organisation.updated_at, "datetime"),
    ]


# The JSON API (crm.api) fills the same form, with the same choices, from a JSON body.
def api_form(**kwargs: Any) -> OrganisationForm:
    """The organisation form with its choices (`formdata`, `obj` as for any form)."""
    return _form(**kwargs)


def api_loaded(organisation: Organisation) -> OrganisationForm:
    """The edit form as the saved organisation fills it."""
    return _loaded(organisation)
