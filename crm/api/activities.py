"""/api/v1/activities: the activity list's filters and sorts, detail with parties,
participants and reach, create, partial update with the version, delete to the trash, and
adding parties and participants."""

from __future__ import annotations

from functools import partial
from typing import Any

from marshmallow import fields, validate

from crm.access import Permission
from crm.api import auth, bp, forms, schemas
from crm.api.common import READ_ERRORS, WRITE_ERRORS, Extended, conflict, documented, writing
from crm.api.organisations import one_of
from crm.blueprints.activities import views as web
from crm.blueprints.activities.forms import ActivityForm, AddParticipantsForm, PartyForm
from crm.models import Activity, ActivityStatus, ActivityType, Sector
from crm.services import activities
from crm.services.errors import Conflict
from crm.services.reporting import FIRST_YEAR, LAST_YEAR

TAGS = ["activities"]


class ActivityQuery(schemas.PageQuery):
    q = fields.String(validate=validate.Length(max=200))
    type = fields.String(validate=one_of(ActivityType))
    status = fields.String(validate=one_of(ActivityStatus))
    sector = fields.String(validate=one_of(Sector))
    topic = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1, error=forms.RANGE))
    year = fields.Integer(validate=validate.Range(min=FIRST_YEAR, max=LAST_YEAR, error=forms.RANGE))
    city = fields.String(validate=validate.Length(max=200))
    sort = fields.String(validate=validate.OneOf(list(activities.SORTS), error=forms.CHOICE))


ActivityPage = schemas.page_schema(schemas.Activity, "ActivityPage")
CREATE = forms.body_schema(ActivityForm, name="ActivityCreate")
UPDATE = forms.body_schema(ActivityForm, partial=True, name="ActivityUpdate")
PARTY = forms.body_schema(PartyForm, name="PartyCreate")
PARTICIPANTS = forms.body_schema(AddParticipantsForm, name="ParticipantsAdd")


def detail(activity: Activity) -> Extended:
    return Extended(
        activity,
        parties=activities.parties(activity),
        participants=activities.participants(activity),
        reach=schemas.reach_json(activities.reach(activity)),
    )


@bp.route("/activities", methods=["GET"], tags=TAGS)
@bp.arguments(ActivityQuery, location="query", as_kwargs=False)
@bp.response(200, ActivityPage)
@documented(*READ_ERRORS)
def activities_index(args: dict[str, Any]) -> Any:
    """The activities, latest first unless sorted otherwise, a page at a time."""
    auth.require(Permission.READ)
    criteria = activities.Criteria(
        q=args.get("q", "").strip(),
        type=args.get("type", ""),
        status=args.get("status", ""),
        sector=args.get("sector", ""),
        topic_id=args.get("topic"),
        year=args.get("year"),
        city=args.get("city", "").strip(),
        sort=args.get("sort", "start"),
        descending=args.get("dir") != "asc",
    )
    return activities.list_activities(criteria, page=args["page"], per_page=args["per_page"])


@bp.route("/activities/<int:activity_id>", methods=["GET"], tags=TAGS)
@bp.response(200, schemas.ActivityDetail)
@documented(*READ_ERRORS)
def activities_detail(activity_id: int) -> Any:
    """An activity with its parties, its participants and whom it reached."""
    auth.require(Permission.READ)
    return detail(activities.get(activity_id))


@bp.route("/activities", methods=["POST"], tags=TAGS)
@bp.arguments(CREATE)
@bp.response(201, schemas.ActivityDetail)
@documented(*WRITE_ERRORS)
def activities_create(body: dict[str, Any]) -> Any:
    with writing(Permission.EDIT_ACTIVITIES):
        form = forms.submit(web.api_form, body)
        return detail(activities.create(form.changes(), actor=auth.user()))


@bp.route("/activities/<int:activity_id>", methods=["PATCH"], tags=TAGS)
@bp.arguments(UPDATE)
@bp.response(200, schemas.ActivityDetail)
@documented(*WRITE_ERRORS)
def activities_update(body: dict[str, Any], activity_id: int) -> Any:
    """Change the fields sent; a stale `version` answers 409 with the activity as saved."""
    with writing(Permission.EDIT_ACTIVITIES):
        activity = activities.get(activity_id)
        make = partial(web.api_form, activity)
        form = forms.submit(make, body, loaded=web.api_loaded(activity), obj=activity)
        try:
            activities.update(
                activity, form.changes(), version=form.version_number, actor=auth.user()
            )
        except Conflict as err:
            return conflict(err, activity, schemas.Activity)
    return detail(activity)


@bp.route("/activities/<int:activity_id>", methods=["DELETE"], tags=TAGS)
@bp.response(204)
@documented(*WRITE_ERRORS)
def activities_delete(activity_id: int) -> None:
    with writing(Permission.DELETE):
        activities.delete(activities.get(activity_id), actor=auth.user())


@bp.route("/activities/<int:activity_id>/parties", methods=["POST"], tags=TAGS)
@bp.arguments(PARTY)
@bp.response(201, schemas.ActivityDetail)
@documented(*WRITE_ERRORS)
def activities_add_party(body: dict[str, Any], activity_id: int) -> Any:
    """Link an organisation to the activity with a role (host, signatory...)."""
    with writing(Permission.EDIT_ACTIVITIES):
        activity = activities.get(activity_id)
        form = forms.submit(PartyForm, body)
        activities.add_party(
            activity,
            organisation_id=form.organisation_id.data,
            role=form.role.data,
            actor=auth.user(),
        )
    return detail(activity)


@bp.route("/activities/<int:activity_id>/participants", methods=["POST"], tags=TAGS)
@bp.arguments(PARTICIPANTS)
@bp.response(201, schemas.ActivityDetail)
@documented(*WRITE_ERRORS)
def activities_add_participants(body: dict[str, Any], activity_id: int) -> Any:
    """Add people (`people`: ids) to the participants with a status and a role."""
    with writing(Permission.EDIT_ACTIVITIES):
        activity = activities.get(activity_id)
        form = forms.submit(AddParticipantsForm, body)
        activities.add_participants(
            activity,
            form.people.data,
            status=form.status.data,
            role=form.role.data,
            actor=auth.user(),
        )
    return detail(activity)
