"""/api/v1/tags and /api/v1/topics: the shared vocabularies. Tags come and go with the
records that carry them (set them on an organisation or a person); topics are an editable
list that administrators keep."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from crm.access import Permission
from crm.api import auth, bp, forms, schemas
from crm.api.common import READ_ERRORS, WRITE_ERRORS, documented, writing
from crm.blueprints.activities.forms import TopicForm
from crm.services import stakeholders, topics


class TagList(Schema):
    items = fields.List(fields.Nested(schemas.TagOut), required=True)


class TopicList(Schema):
    items = fields.List(fields.Nested(schemas.TopicOut), required=True)


TOPIC = forms.body_schema(TopicForm, name="TopicCreate")
TOPIC_UPDATE = forms.body_schema(TopicForm, partial=True, name="TopicUpdate")


@bp.route("/tags", methods=["GET"], tags=["tags"])
@bp.response(200, TagList)
@documented(*READ_ERRORS)
def tags_index() -> Any:
    """Every tag in use, by name."""
    auth.require(Permission.READ)
    return {"items": [{"name": name} for name in stakeholders.tag_names()]}


@bp.route("/topics", methods=["GET"], tags=["topics"])
@bp.response(200, TopicList)
@documented(*READ_ERRORS)
def topics_index() -> Any:
    """Every activity topic, active ones first."""
    auth.require(Permission.READ)
    return {"items": topics.all_topics()}


@bp.route("/topics/<int:topic_id>", methods=["GET"], tags=["topics"])
@bp.response(200, schemas.TopicOut)
@documented(*READ_ERRORS)
def topics_detail(topic_id: int) -> Any:
    auth.require(Permission.READ)
    return topics.get(topic_id)


@bp.route("/topics", methods=["POST"], tags=["topics"])
@bp.arguments(TOPIC)
@bp.response(201, schemas.TopicOut)
@documented(*WRITE_ERRORS)
def topics_create(body: dict[str, Any]) -> Any:
    """Add a topic (administrators)."""
    with writing(Permission.MANAGE_TOPICS):
        form = forms.submit(TopicForm, body)
        return topics.create(form.name.data, form.name_zh.data, actor=auth.user())


@bp.route("/topics/<int:topic_id>", methods=["PATCH"], tags=["topics"])
@bp.arguments(TOPIC_UPDATE)
@bp.response(200, schemas.TopicOut)
@documented(*WRITE_ERRORS)
def topics_update(body: dict[str, Any], topic_id: int) -> Any:
    """Rename a topic or (de)activate it (administrators)."""
    with writing(Permission.MANAGE_TOPICS):
        topic = topics.get(topic_id)
        loaded = TopicForm(formdata=None, obj=topic, meta={"csrf": False})
        form = forms.submit(TopicForm, body, loaded=loaded, obj=topic)
        return topics.update(
            topic,
            name=form.name.data,
            name_zh=form.name_zh.data,
            is_active=form.is_active.data,
            actor=auth.user(),
        )
