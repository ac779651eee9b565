"""/api/v1/follow-ups: the follow-up list's filters and sorts, detail, create, partial update
with the version, completing one, delete to the trash."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from crm.access import Permission
from crm.api import auth, bp, forms, schemas
from crm.api.common import READ_ERRORS, WRITE_ERRORS, conflict, documented, writing
from crm.blueprints.follow_ups import views as web
from crm.blueprints.follow_ups.forms import CompleteForm, FollowUpForm
from crm.models import FollowUpStatus
from crm.services import clock, follow_ups
from crm.services.errors import Conflict

TAGS = ["follow-ups"]
ID = validate.Range(min=1, max=2**31 - 1, error=forms.RANGE)


class FollowUpQuery(schemas.PageQuery):
    status = fields.String(
        validate=validate.OneOf([*(s.value for s in FollowUpStatus), "all"], error=forms.CHOICE),
        metadata={"description": "open (the default), done, cancelled or all"},
    )
    assignee = fields.Integer(validate=ID)
    stakeholder = fields.Integer(validate=ID)
    activity = fields.Integer(validate=ID)
    overdue = fields.Boolean()
    sort = fields.String(validate=validate.OneOf(list(follow_ups.SORTS), error=forms.CHOICE))


FollowUpPage = schemas.page_schema(schemas.FollowUp, "FollowUpPage")
CREATE = forms.body_schema(FollowUpForm, name="FollowUpCreate")
UPDATE = forms.body_schema(FollowUpForm, partial=True, name="FollowUpUpdate")
COMPLETE = forms.body_schema(CompleteForm, name="FollowUpComplete")


@bp.route("/follow-ups", methods=["GET"], tags=TAGS)
@bp.arguments(FollowUpQuery, location="query", as_kwargs=False)
@bp.response(200, FollowUpPage)
@documented(*READ_ERRORS)
def follow_ups_index(args: dict[str, Any]) -> Any:
    """The follow-ups (open ones unless `status` says otherwise), a page at a time."""
    auth.require(Permission.READ)
    criteria = follow_ups.Criteria(
        status=args.get("status", "open"),
        assignee_id=args.get("assignee"),
        stakeholder_id=args.get("stakeholder"),
        activity_id=args.get("activity"),
        overdue_only=bool(args.get("overdue")),
        sort=args.get("sort", "due"),
        descending=args.get("dir") == "desc",
    )
    return follow_ups.search(
        criteria, today=clock.today(), page=args["page"], per_page=args["per_page"]
    )


@bp.route("/follow-ups/<int:follow_up_id>", methods=["GET"], tags=TAGS)
@bp.response(200, schemas.FollowUp)
@documented(*READ_ERRORS)
def follow_ups_detail(follow_up_id: int) -> Any:
    auth.require(Permission.READ)
    return follow_ups.get(follow_up_id)


@bp.route("/follow-ups", methods=["POST"], tags=TAGS)
@bp.arguments(CREATE)
@bp.response(201, schemas.FollowUp)
@documented(*WRITE_ERRORS)
def follow_ups_create(body: dict[str, Any]) -> Any:
    """Create a follow-up (the assignee is told by email, as from the web)."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        form = forms.submit(web.api_form, body)
        return follow_ups.create(
            form.changes(), actor=auth.user(), mail_settings=web.mail_settings()
        )


@bp.route("/follow-ups/<int:follow_up_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(UPDATE)
@bp.response(200, schemas.FollowUp)
@documented(*WRITE_ERRORS)
def follow_ups_update(body: dict[str, Any], follow_up_id: int) -> Any:
    """Change the fields sent; a stale `version` answers 409 with the follow-up as saved."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        follow_up = follow_ups.get(follow_up_id)
        follow_ups.check_may_change(follow_up, auth.user())
        loaded = web.api_form(obj=follow_up, formdata=None, meta={"csrf": False})
        form = forms.submit(web.api_form, body, loaded=loaded, obj=follow_up)
        try:
            follow_ups.update(
                follow_up,
                form.changes(),
                version=form.version_number,
                actor=auth.user(),
                mail_settings=web.mail_settings(),
            )
        except Conflict as err:
            return conflict(err, follow_up, schemas.FollowUp)
    return follow_up


@bp.route("/follow-ups/<int:follow_up_id>/complete", methods=["POST"], tags=TAGS)
@bp.arguments(COMPLETE)
@bp.response(200, schemas.FollowUp)
@documented(*WRITE_ERRORS)
def follow_ups_complete(body: dict[str, Any], follow_up_id: int) -> Any:
    """Mark the follow-up done, with an optional `note`."""
    with writing(Permission.EDIT_STAKEHOLDERS):
        follow_up = follow_ups.get(follow_up_id)
        form = forms.submit(CompleteForm, body)
        return follow_ups.complete(follow_up, note=form.note.data, actor=auth.user())


@bp.route("/follow-ups/<int:follow_up_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204)
@documented(*WRITE_ERRORS)
def follow_ups_delete(follow_up_id: int) -> None:
    """Move the follow-up to the trash (coordinators and up)."""
    with writing(Permission.DELETE):
        follow_ups.delete(follow_ups.get(follow_up_id), actor=auth.user())
