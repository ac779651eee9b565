"""/api/v1/interactions: the outreach log's filters and sorts, detail, logging (with optional
follow-ups), partial update with the version, delete to the trash.

A confidential interaction shows its subject, summary and outcome only to those the web
shows them to (`interactions.can_see_details`); others read "Confidential interaction" and
nulls, and may not change it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from crm.access import Permission
from crm.api import auth, bp, forms, schemas
from crm.api.common import READ_ERRORS, WRITE_ERRORS, Extended, conflict, documented, writing
from crm.api.organisations import one_of
from crm.blueprints.interactions import views as web
from crm.blueprints.interactions.forms import InteractionForm
from crm.i18n import gettext as _
from crm.models import Channel, Interaction, OrgType, Sector, StakeholderKind
from crm.services import interactions
from crm.services.errors import Conflict, PermissionDenied, ServiceError

TAGS = ["interactions"]
ID = validate.Range(min=1, max=2**31 - 1, error=forms.RANGE)


class InteractionQuery(schemas.PageQuery):
    start = fields.Date(data_key="from", metadata={"description": "on or after this day"})
    end = fields.Date(data_key="to", metadata={"description": "on or before this day"})
    channel = fields.String(validate=one_of(Channel))
    stakeholder = fields.Integer(validate=ID)
    kind = fields.String(validate=one_of(StakeholderKind))
    type = fields.String(validate=one_of(OrgType))
    sector = fields.String(validate=one_of(Sector))
    logged_by = fields.Integer(validate=ID)
    activity = fields.Integer(validate=ID)
    sort = fields.String(validate=validate.OneOf(list(interactions.SORTS), error=forms.CHOICE))


InteractionPage = schemas.page_schema(schemas.Interaction, "InteractionPage")
CREATE = forms.body_schema(InteractionForm, name="InteractionCreate")
UPDATE = forms.body_schema(
    InteractionForm, partial=True, exclude=("follow_ups",), name="InteractionUpdate"
)
ALIASES = {"stakeholder_ids": "stakeholders", "staff_ids": "staff"}


def shown(interaction: Interaction) -> Extended:
    """The interaction as the token's user may read it."""
    seen = interactions.can_see_details(interaction, auth.user())
    if seen:
        return Extended(interaction, can_see_details=True)
    return Extended(
        interaction,
        can_see_details=False,
        subject=_("Confidential interaction"),
        summary=None,
        outcome=None,
    )


@bp.route("/interactions", methods=["GET"], tags=TAGS)
@bp.arguments(InteractionQuery, location="query", as_kwargs=False)
@bp.response(200, InteractionPage)
@documented(*READ_ERRORS)
def interactions_index(args: dict[str, Any]) -> Any:
    """The interactions, newest first unless sorted otherwise, a page at a time."""
    auth.require(Permission.READ)
    criteria = interactions.Criteria(
        start=args.get("start"),
        end=args.get("end"),
        channel=args.get("channel", ""),
        stakeholder_id=args.get("stakeholder"),
        stakeholder_kind=args.get("kind", ""),
        org_type=args.get("type", ""),
        sector=args.get("sector", ""),
        logged_by_id=args.get("logged_by"),
        activity_id=args.get("activity"),
        sort=args.get("sort", "when"),
        descending=args.get("dir") != "asc",
    )
    page = interactions.list_interactions(criteria, page=args["page"], per_page=args["per_page"])
    page.items = [shown(i) for i in page.items]
    return page


@bp.route("/interactions/<int:interaction_id>", methods=["GET"], tags=TAGS)
@bp.response(200, schemas.Interaction)
@documented(*READ_ERRORS)
def interactions_detail(interaction_id: int) -> Any:
    auth.require(Permission.READ)
    return shown(interactions.get(interaction_id))


@bp.route("/interactions", methods=["POST"], tags=TAGS)
@bp.arguments(CREATE)
@bp.response(201, schemas.Interaction)
@documented(*WRITE_ERRORS)
def interactions_create(body: dict[str, Any]) -> Any:
    """Log an interaction (`stakeholders`: ids; `staff`: user ids; `occurred_at` in the
    programme's time zone unless it gives its offset); `follow_ups` adds follow-ups."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        for entry in body.get("follow_ups") or []:
            entry.setdefault("assignee_id", auth.user().id)  # as the web form presets it
        form = forms.submit(web.api_form, body)
        try:
            interaction = interactions.log_interaction(
                form.interaction_data(),
                follow_ups_data=form.follow_up_data(),
                actor=auth.user(),
                mail_settings=web.mail_settings(),
            )
        except ServiceError as err:
            _rename(err)
            raise
    return shown(interaction)


def _rename(err: Exception) -> None:
    field = getattr(err, "field", None)
    if field in ALIASES:
        err.field = ALIASES[field]  # type: ignore[attr-defined]
    elif field and field.startswith("follow_ups-"):  # follow_ups-0-title: follow_ups.0.title
        err.field = field.replace("-", ".")  # type: ignore[attr-defined]


def _may_change(interaction: Interaction) -> None:
    """The web's rule: the author or a coordinator, and only one who may read it."""
    if not interactions.can_edit(interaction, auth.user()):
        raise PermissionDenied(_("Only the author or a coordinator can edit this interaction."))
    if not interactions.can_see_details(interaction, auth.user()):
        raise PermissionDenied(_("This interaction is confidential."))


@bp.route("/interactions/<int:interaction_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(UPDATE)
@bp.response(200, schemas.Interaction)
@documented(*WRITE_ERRORS)
def interactions_update(body: dict[str, Any], interaction_id: int) -> Any:
    """Change the fields sent; a stale `version` answers 409 with the interaction as saved."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        interaction = interactions.get(interaction_id)
        _may_change(interaction)
        form = forms.submit(web.api_form, body, loaded=web.api_loaded(interaction), obj=interaction)
        try:
            interactions.update(
                interaction,
                form.interaction_data(),
                version=form.version_number,
                actor=auth.user(),
            )
        except Conflict as err:
            return conflict(err, interaction, schemas.Interaction)
        except ServiceError as err:
            _rename(err)
            raise
    return shown(interaction)


@bp.route("/interactions/<int:interaction_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204)
@documented(*WRITE_ERRORS)
def interactions_delete(interaction_id: int) -> None:
    """Move the interaction to the trash (its author, or a coordinator and up)."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        interaction = interactions.get(interaction_id)
        if not interactions.can_edit(interaction, auth.user()):
            raise PermissionDenied(
                _("Only the author or a coordinator can delete this interaction.")
            )
        interactions.delete(interaction, actor=auth.user())
