"""The audit trail: who changed what, field by field. Helpers only flush; callers commit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Activity, AuditAction, AuditEvent, Stakeholder, User

# How the writes being made reach the service (an API token: "via API token Sync"), set by
# the caller around its service call (`with audit.via(...)`) and added to every event.
_VIA: ContextVar[str] = ContextVar("audit_via", default="")


@contextmanager
def via(channel: str) -> Iterator[None]:
    """Every event recorded inside the block says `channel` in its summary."""
    reset = _VIA.set(channel)
    try:
        yield
    finally:
        _VIA.reset(reset)


def json_value(value: Any) -> Any:
    """A JSON-safe rendering of a column value (enums by value, dates in ISO 8601)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [json_value(v) for v in value]
    return str(value)


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: json_value(getattr(obj, name)) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for every field whose value changed."""
    return {
        name: [before.get(name), after.get(name)]
        for name in after
        if before.get(name) != after.get(name)
    }


def record(
    entity: Any,
    *,
    actor: User | None,
    action: AuditAction,
    changes: Mapping[str, Any] | None = None,
    summary: str = "",
    entity_type: str | None = None,
) -> AuditEvent:
    """Add an AuditEvent to the current transaction (the caller commits)."""
    if entity.id is None:
        db.session.flush()
    channel = _VIA.get()
    if channel:
        # The channel survives the cut to 300 characters; the summary gives way.
        summary = f"{summary[: 296 - len(channel)]} ({channel})" if summary else channel
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        entity_type=entity_type or entity.__tablename__,
        entity_id=entity.id,
        summary=summary[:300],
        changes=dict(changes or {}),
    )
    db.session.add(event)
    return event


def history(entity_type: str, entity_id: int, *, limit: int = 100) -> list[AuditEvent]:
    """The newest events of one record first, with their actors loaded."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .options(sa.orm.joinedload(AuditEvent.actor))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


# The records a recorded id can name, by table: (id column, name column).
_NAMES: dict[str, tuple[Any, Any]] = {
    "users": (User.id, User.name),
    "stakeholders": (Stakeholder.id, Stakeholder.display_name),
    "activities": (Activity.id, Activity.title),
}


def names_of(wanted: Mapping[str, Iterable[int]]) -> dict[tuple[str, int], str]:
    """The names of users, stakeholders and activities by (table, id): one query per table,
    so a history page costs the same whatever its length. A record that is gone has no name
    (the history then shows the recorded id)."""
    names: dict[tuple[str, int], str] = {}
    for table, ids in wanted.items():
        id_column, name_column = _NAMES[table]
        rows = db.session.execute(sa.select(id_column, name_column).where(id_column.in_(set(ids))))
        names.update(((table, found_id), name) for found_id, name in rows)
    return names
