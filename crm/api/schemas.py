"""Response schemas (what the API returns) and the query strings of the lists.

Request bodies come from the web forms (crm.api.forms); these shape the records. Enums are
given by value; dates and times in ISO 8601 (times in UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from marshmallow import Schema, fields, validate

from crm import models
from crm.api import forms
from crm.api.forms import QuerySchema, field_messages
from crm.services import audit

MAX_PER_PAGE = 200
MAX_PAGE = 100_000


def _enum(enum: type[StrEnum], **kwargs: Any) -> fields.String:
    """An enum column, by its value."""
    values: list[str | None] = [m.value for m in enum]
    if kwargs.get("allow_none"):
        values.append(None)
    return fields.String(metadata={"enum": values}, **kwargs)


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_messages = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        data_key="fields",
        metadata={"description": "the messages by field (`_form`: of the whole body)"},
    )
    current = fields.Dict(metadata={"description": "409: the record as saved now"})
    candidates = fields.List(
        fields.Dict(), metadata={"description": "409 duplicate: the likely matches"}
    )


class Error(Schema):
    """Every error the API answers."""

    error = fields.Nested(ErrorBody, required=True)


class PageQuery(QuerySchema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error=forms.RANGE),
        error_messages=field_messages(),
    )
    per_page = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_PER_PAGE, error=forms.RANGE),
        error_messages=field_messages(),
        metadata={"description": f"at most {MAX_PER_PAGE}"},
    )
    sort = fields.String(validate=validate.Length(max=40))
    dir = fields.String(validate=validate.OneOf(["asc", "desc"]))


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "pages": fields.Integer(required=True),
        },
    )


def page_json(page: Any, item: type[Schema]) -> dict[str, Any]:
    return {
        "items": item(many=True).dump(page.items),
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total or 0,
        "pages": page.pages,
    }


class UserRef(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class Ref(Schema):
    """A linked record by id and name."""

    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    chinese_name = fields.String(allow_none=True)


class Record(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class Stakeholder(Record):
    display_name = fields.String(required=True)
    chinese_name = fields.String(allow_none=True)
    name_pinyin = fields.String(allow_none=True)
    engagement_level = _enum(models.EngagementLevel, required=True)
    influence = fields.Integer(required=True)
    interest = fields.Integer(required=True)
    owner = fields.Nested(UserRef, allow_none=True)
    tags = fields.Pluck("TagOut", "name", many=True, required=True)
    notes = fields.String(allow_none=True)
    last_contacted_at = fields.DateTime(allow_none=True)
    next_follow_up_on = fields.Date(allow_none=True)


class Organisation(Stakeholder):
    org_type = _enum(models.OrgType, required=True)
    sector = _enum(models.Sector, allow_none=True)
    ownership = _enum(models.Ownership, allow_none=True)
    size_band = _enum(models.SizeBand, allow_none=True)
    supply_chain_role = _enum(models.SupplyChainRole, allow_none=True)
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    parent_id = fields.Integer(allow_none=True)


class Position(Schema):
    id = fields.Integer(required=True)
    organisation = fields.Nested(Ref, required=True)
    title = fields.String(allow_none=True)
    start_on = fields.Date(allow_none=True)
    end_on = fields.Date(allow_none=True)


class Person(Stakeholder):
    family_name = fields.String(allow_none=True)
    given_name = fields.String(allow_none=True)
    gender = _enum(models.Gender, required=True)
    job_title = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    wechat_id = fields.String(allow_none=True)
    preferred_language = _enum(models.Language, allow_none=True)
    consent = _enum(models.Consent, required=True)
    consent_on = fields.Date(allow_none=True)
    consent_source = fields.String(allow_none=True)


class PersonDetail(Person):
    positions = fields.List(fields.Nested(Position), required=True)


class TopicOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_zh = fields.String(allow_none=True)
    is_active = fields.Boolean(required=True)


class TagOut(Schema):
    name = fields.String(required=True)


class Activity(Record):
    type = _enum(models.ActivityType, required=True)
    title = fields.String(required=True)
    title_zh = fields.String(allow_none=True)
    status = _enum(models.ActivityStatus, required=True)
    start_on = fields.Date(required=True)
    end_on = fields.Date(allow_none=True)
    city = fields.String(allow_none=True)
    sector = _enum(models.Sector, allow_none=True)
    description = fields.String(allow_none=True)
    lead = fields.Nested(UserRef, allow_none=True)
    topics = fields.List(fields.Nested(TopicOut), required=True)
    signed_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    agreement_status = _enum(models.AgreementStatus, allow_none=True)
    publication = fields.String(allow_none=True)
    unnamed_women = fields.Integer(required=True)
    unnamed_men = fields.Integer(required=True)
    unnamed_unspecified = fields.Integer(required=True)


class Party(Schema):
    id = fields.Integer(required=True)
    organisation = fields.Nested(Ref, required=True)
    role = _enum(models.PartyRole, required=True)


class Participant(Schema):
    id = fields.Integer(required=True)
    person = fields.Nested(Ref, required=True)
    organisation = fields.Nested(Ref, allow_none=True)
    status = _enum(models.ParticipationStatus, required=True)
    role = _enum(models.ParticipationRole, required=True)


class Counted(Schema):
    key = fields.String(required=True)
    count = fields.Integer(required=True)


class ReachOut(Schema):
    """Who the activity reached (crm.services.activities.reach)."""

    named_women = fields.Integer(required=True)
    named_men = fields.Integer(required=True)
    named_other = fields.Integer(required=True)
    named_undisclosed = fields.Integer(required=True)
    unnamed_women = fields.Integer(required=True)
    unnamed_men = fields.Integer(required=True)
    unnamed_unspecified = fields.Integer(required=True)
    named = fields.Integer(required=True)
    women = fields.Integer(required=True)
    men = fields.Integer(required=True)
    organisations = fields.Integer(required=True)
    officials = fields.Integer(required=True)
    officials_women = fields.Integer(required=True)
    by_type = fields.List(fields.Nested(Counted), required=True)
    by_sector = fields.List(fields.Nested(Counted), required=True)


def reach_json(reach: Any) -> dict[str, Any]:
    counted = {
        name: [{"key": str(key), "count": int(count)} for key, count in getattr(reach, name)]
        for name in ("by_type", "by_sector")
    }
    plain = {
        name: int(getattr(reach, name))
        for name in ReachOut._declared_fields
        if name not in counted and not name.startswith("unnamed_")
    }
    unnamed = {
        f"unnamed_{part}": int(getattr(reach.unnamed, part))
        for part in ("women", "men", "unspecified")
    }
    return ReachOut().dump({**plain, **unnamed, **counted})


class ActivityDetail(Activity):
    parties = fields.List(fields.Nested(Party), required=True)
    participants = fields.List(fields.Nested(Participant), required=True)
    reach = fields.Nested(ReachOut, required=True)


class Interaction(Record):
    occurred_at = fields.DateTime(required=True)
    channel = _enum(models.Channel, required=True)
    direction = _enum(models.Direction, required=True)
    subject = fields.String(required=True)
    summary = fields.String(
        allow_none=True, metadata={"description": "null when confidential and not yours to read"}
    )
    outcome = fields.String(allow_none=True)
    is_confidential = fields.Boolean(required=True)
    can_see_details = fields.Boolean(required=True)
    stakeholders = fields.List(fields.Nested(Ref), required=True)
    staff = fields.List(fields.Nested(UserRef), required=True)
    activity_id = fields.Integer(allow_none=True)
    logged_by = fields.Nested(UserRef, allow_none=True)


class FollowUp(Record):
    title = fields.String(required=True)
    details = fields.String(allow_none=True)
    due_on = fields.Date(required=True)
    priority = _enum(models.Priority, required=True)
    status = _enum(models.FollowUpStatus, required=True)
    assignee = fields.Nested(UserRef, required=True)
    stakeholder_id = fields.Integer(allow_none=True)
    interaction_id = fields.Integer(allow_none=True)
    activity_id = fields.Integer(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completion_note = fields.String(allow_none=True)


class Candidate(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    display_name = fields.String(required=True)
    chinese_name = fields.String(allow_none=True)
    reasons = fields.List(fields.String(), required=True)
    reason_labels = fields.List(fields.String(), required=True)


def candidates_json(candidates: Iterable[Any]) -> list[dict[str, Any]]:
    """The likely duplicates as the web form lists them: the record and why."""
    from crm.blueprints.template_helpers import duplicate_reason

    return [
        {
            "id": c.stakeholder.id,
            "kind": c.stakeholder.kind.value,
            "display_name": c.stakeholder.display_name,
            "chinese_name": c.stakeholder.chinese_name,
            "reasons": list(c.reasons),
            "reason_labels": [str(duplicate_reason(r)) for r in c.reasons],
        }
        for c in candidates
    ]


def current_json(current: Any) -> dict[str, Any]:
    if isinstance(current, dict):
        return {str(k): audit.json_value(v) for k, v in current.items()}
    return {}
