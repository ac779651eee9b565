"""The trash: what was deleted from its page, for administrators to restore or purge.

Organisations, people, activities, interactions and donor indicators have a delete button
and go to the trash (follow-ups are cancelled, not deleted, in the interface). Restore and
purge are the one lifecycle of crm.services.lifecycle, which checks the actor's permission,
audits, updates the search index and commits; each kind's service describes what differs in
its `LIFECYCLE`. This module lists the kinds together and finds the record a trash action
names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    AuditAction,
    AuditEvent,
    Indicator,
    Interaction,
    Stakeholder,
    User,
)
from crm.services import activities, interactions, lifecycle, stakeholders
from crm.services.errors import NotFound
from crm.services.lifecycle import Lifecycle
from crm.services.reporting import indicators

LIMIT = 500


class Kind(StrEnum):
    stakeholder = "stakeholder"
    activity = "activity"
    interaction = "interaction"
    indicator = "indicator"


Record = Stakeholder | Activity | Interaction | Indicator


@dataclass(frozen=True)
class Rules:
    """How the trash handles one kind of record: another kind with a delete button (and a
    `LIFECYCLE` in its service) is one more row in KINDS."""

    model: type[Any]
    lifecycle: Lifecycle
    name: Callable[[Any], str]
    name_zh: Callable[[Any], str | None] = lambda record: None


KINDS: dict[Kind, Rules] = {
    Kind.stakeholder: Rules(
        Stakeholder,
        stakeholders.LIFECYCLE,
        name=lambda s: s.display_name,
        name_zh=lambda s: s.chinese_name,
    ),
    Kind.activity: Rules(
        Activity,
        activities.LIFECYCLE,
        name=lambda a: a.title,
        name_zh=lambda a: a.title_zh,
    ),
    Kind.interaction: Rules(Interaction, interactions.LIFECYCLE, name=lambda i: i.subject),
    Kind.indicator: Rules(
        Indicator,
        indicators.LIFECYCLE,
        name=lambda i: f"{i.code} {i.name}" if i.code else i.name,
        name_zh=lambda i: i.name_zh,
    ),
}


@dataclass(frozen=True)
class Entry:
    """One record in the trash, with who moved it there (None when the trail does not say)."""

    kind: Kind
    record: Record
    deleted_at: datetime
    deleted_by: User | None

    @property
    def name(self) -> str:
        return KINDS[self.kind].name(self.record)

    @property
    def name_zh(self) -> str | None:
        return KINDS[self.kind].name_zh(self.record)


def listing(*, limit: int = LIMIT) -> list[Entry]:
    """The most recently deleted records of every kind, newest first: one query per kind and
    one for who deleted them."""
    found: list[tuple[datetime, Kind, Record]] = []
    for kind, rules in KINDS.items():
        model = rules.model
        stmt = (
            sa.select(model)
            .where(model.deleted_at.is_not(None))
            .order_by(model.deleted_at.desc())
            .limit(limit)
        )
        if model is Interaction:
            # The page names the people and organisations an interaction was with.
            stmt = stmt.options(selectinload(Interaction.stakeholders))
        found += [(r.deleted_at, kind, r) for r in db.session.scalars(stmt) if r.deleted_at]
    found.sort(key=lambda item: item[0], reverse=True)
    found = found[:limit]
    deleters = _deleters([record for _at, _kind, record in found])
    return [
        Entry(kind, record, deleted_at, deleters.get((record.__tablename__, record.id)))
        for deleted_at, kind, record in found
    ]


def _deleters(records: Sequence[Record]) -> dict[tuple[str, int], User | None]:
    """Who moved each record to the trash: the actor of its latest delete (or merge, for a
    duplicate merged into another) in the audit trail. One query."""
    ids: dict[str, list[int]] = {}
    for record in records:
        ids.setdefault(record.__tablename__, []).append(record.id)
    if not ids:
        return {}
    stmt = (
        sa.select(AuditEvent)
        .where(
            AuditEvent.action.in_([AuditAction.delete, AuditAction.merge]),
            sa.or_(
                *(
                    sa.and_(AuditEvent.entity_type == table, AuditEvent.entity_id.in_(wanted))
                    for table, wanted in ids.items()
                )
            ),
        )
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.id)
    )
    # Later events overwrite earlier ones: a record deleted, restored and deleted again
    # shows who deleted it last.
    return {(e.entity_type, e.entity_id): e.actor for e in db.session.scalars(stmt)}


def _find(kind: str, record_id: int) -> tuple[Rules, Any]:
    """The rules and the record a trash action names, in the trash or not (the lifecycle
    refuses live ones); NotFound for an unknown kind or id."""
    try:
        rules = KINDS[Kind(kind)]
    except ValueError:
        raise NotFound(_("No such record.")) from None
    record = db.session.get(rules.model, record_id)
    if record is None:
        raise NotFound(_("No such record."))
    return rules, record


def restore(kind: str, record_id: int, *, actor: User) -> str:
    """Take a record out of the trash by its kind's lifecycle; returns its name.

    Administrators (the lifecycle checks). Raises NotFound, PermissionDenied, or InvalidInput
    for a record that is not in the trash (or that its kind refuses to bring back).
    """
    rules, record = _find(kind, record_id)
    name = rules.name(record)
    lifecycle.restore(record, rules.lifecycle, actor=actor)
    return name


def purge(kind: str, record_id: int, *, actor: User) -> str:
    """Delete a trashed record for good by its kind's lifecycle; returns its name.

    Administrators (the lifecycle checks). Raises NotFound, PermissionDenied, or InvalidInput
    for a record that is not in the trash.
    """
    rules, record = _find(kind, record_id)
    name = rules.name(record)
    lifecycle.purge(record, rules.lifecycle, actor=actor)
    return name
