"""/api/v1/organisations: the organisation list's filters and sorts, detail, create (likely
duplicates answer 409 unless `force`), partial update with the version, delete to the trash."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from crm import provinces
from crm.access import Permission
from crm.api import auth, bp, forms, schemas
from crm.api.common import FORCE, READ_ERRORS, WRITE_ERRORS, conflict, documented, writing
from crm.blueprints.organisations import views as web
from crm.blueprints.organisations.forms import OrganisationForm
from crm.models import EngagementLevel, Organisation, OrgType, Sector
from crm.services import clock, stakeholders
from crm.services.errors import Conflict

TAGS = ["organisations"]


def one_of(enum: Any) -> validate.OneOf:
    return validate.OneOf([m.value for m in enum], error=forms.CHOICE)


def rating() -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=5, error=forms.RANGE))


class OrganisationQuery(schemas.PageQuery):
    q = fields.String(
        validate=validate.Length(max=200), metadata={"description": "name, 中文, pinyin"}
    )
    type = fields.String(validate=one_of(OrgType))
    sector = fields.String(validate=one_of(Sector))
    province = fields.String(validate=validate.Length(max=200))
    tag = fields.String(validate=validate.Length(max=200))
    level = fields.String(validate=one_of(EngagementLevel))
    owner = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1, error=forms.RANGE))
    influence = rating()
    interest = rating()
    quiet = fields.Boolean(metadata={"description": "only those gone quiet"})
    sort = fields.String(
        validate=validate.OneOf(list(stakeholders.ORGANISATION_SORTS), error=forms.CHOICE)
    )


OrganisationPage = schemas.page_schema(schemas.Organisation, "OrganisationPage")
CREATE = forms.body_schema(OrganisationForm, extra={"force": FORCE}, name="OrganisationCreate")
UPDATE = forms.body_schema(OrganisationForm, partial=True, name="OrganisationUpdate")


@bp.route("/organisations", methods=["GET"], tags=TAGS)
@bp.arguments(OrganisationQuery, location="query", as_kwargs=False)
@bp.response(200, OrganisationPage)
@documented(*READ_ERRORS)
def organisations_index(args: dict[str, Any]) -> Any:
    """The organisations, filtered and sorted as on the list page, a page at a time."""
    auth.require(Permission.READ)
    criteria = stakeholders.OrganisationCriteria(
        q=args.get("q", "").strip(),
        org_type=args.get("type", ""),
        sector=args.get("sector", ""),
        province=provinces.code_for(args.get("province", "")) or "",
        tag=args.get("tag", "").strip(),
        engagement_level=args.get("level", ""),
        owner_id=args.get("owner"),
        sort=args.get("sort", "name"),
        descending=args.get("dir") == "desc",
        influence=args.get("influence"),
        interest=args.get("interest"),
        quiet_on=clock.today() if args.get("quiet") else None,
    )
    return stakeholders.list_organisations(criteria, page=args["page"], per_page=args["per_page"])


@bp.route("/organisations/<int:organisation_id>", methods=["GET"], tags=TAGS)
@bp.response(200, schemas.Organisation)
@documented(*READ_ERRORS)
def organisations_detail(organisation_id: int) -> Any:
    auth.require(Permission.READ)
    return stakeholders.get(Organisation, organisation_id)


@bp.route("/organisations", methods=["POST"], tags=TAGS)
@bp.arguments(CREATE)
@bp.response(201, schemas.Organisation)
@documented(*WRITE_ERRORS)
def organisations_create(body: dict[str, Any]) -> Any:
    """Create an organisation; likely duplicates answer 409 with the candidates (send
    `"force": true` to create it anyway)."""
    force = body.pop("force", False)
    with writing(Permission.EDIT_STAKEHOLDERS):
        form = forms.submit(web.api_form, body)
        return stakeholders.create_organisation(
            form.changes(), actor=auth.user(), allow_duplicate=force
        )


@bp.route("/organisations/<int:organisation_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(UPDATE)
@bp.response(200, schemas.Organisation)
@documented(*WRITE_ERRORS)
def organisations_update(body: dict[str, Any], organisation_id: int) -> Any:
    """Change the fields sent (the others keep their value); `version` is the one read with
    the record: a stale one answers 409 with the record as saved now."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        organisation = stakeholders.get(Organisation, organisation_id)
        form = forms.submit(
            web.api_form, body, loaded=web.api_loaded(organisation), obj=organisation
        )
        try:
            stakeholders.update(
                organisation, form.changes(), version=form.version_number, actor=auth.user()
            )
        except Conflict as err:
            return conflict(err, organisation, schemas.Organisation)
    return organisation


@bp.route("/organisations/<int:organisation_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204)
@documented(*WRITE_ERRORS)
def organisations_delete(organisation_id: int) -> None:
    """Move the organisation to the trash (an administrator can restore it)."""
    with writing(Permission.DELETE):
        stakeholders.delete(stakeholders.get(Organisation, organisation_id), actor=auth.user())
