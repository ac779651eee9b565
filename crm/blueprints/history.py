"""How a history shows what the audit trail recorded.

An audit event stores plain values: enum values, free text, ids. The history reads them as
the reader knows them (macros/ui.html `change_details`, crm.blueprints.conflicts): an enum
value by its label, an id of a user, stakeholder or activity by that record's name, a
relationship as a sentence. Names are looked up before the page is rendered, all at once: the
view calls `history_names` (or `timeline_names`, `value_names`) and hands the mapping to the
template, so a history costs one query per table it refers to, whatever its length, and the
template makes none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

from flask_babel import get_locale

from crm import provinces
from crm.extensions import Model
from crm.i18n import gettext as _
from crm.models import AuditEvent, RelationshipType, label
from crm.services import audit
from crm.services.timeline import Page

# (table, id) → the name shown for it; `table` is one of the keys of _NAMES.
Names = Mapping[tuple[str, int], str]

_RELATIONSHIP_FIELDS = frozenset(
    {"relationship", "relationship_ended", "inverse_relationship", "inverse_relationship_ended"}
)

# The records an id in the history can name, by the table a foreign key points at.
_TABLES = {
    "users": "users",
    "stakeholders": "stakeholders",
    "organisations": "stakeholders",
    "people": "stakeholders",
    "activities": "activities",
}


class _Column(NamedTuple):
    enum: type[StrEnum] | None  # an enum column's enum
    refers_to: str | None  # the table a foreign key column points at


@cache
def _columns() -> dict[str, dict[str, _Column]]:
    """Per audited table, what the history needs to know of each of its columns."""
    found: dict[str, dict[str, _Column]] = {}
    for mapper in Model.registry.mappers:
        table = getattr(mapper.class_, "__tablename__", None)
        if table is None:
            continue
        found[table] = {
            column.key: _Column(
                getattr(column.type, "enum_class", None),
                next((fk.column.table.name for fk in column.foreign_keys), None),
            )
            for column in mapper.columns
        }
    return found


def _column(field: str | None, entity_type: str | None) -> _Column | None:
    return _columns().get(entity_type or "", {}).get(field or "")


def _reference(value: Any, field: str | None, entity_type: str | None) -> tuple[str, int] | None:
    """The (table, id) of the user, stakeholder or activity a recorded value names, if any."""
    if isinstance(value, str) and field in _RELATIONSHIP_FIELDS:
        return None
    column = _column(field, entity_type)
    if column is None or column.refers_to is None:
        return None
    table = _TABLES.get(column.refers_to)
    if table is None or isinstance(value, bool) or not str(value).isdigit():
        return None
    return table, int(value)


def _load(references: Iterable[tuple[str, int] | None]) -> dict[tuple[str, int], str]:
    """The names of the referenced records (crm.services.audit.names_of: one query per table)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for reference in references:
        if reference is not None:
            wanted[reference[0]].add(reference[1])
    return audit.names_of(wanted)


def _shown(event: AuditEvent) -> Iterator[tuple[str, Any]]:
    """The (field, value) pairs `change_details` shows for an event."""
    changes = event.changes
    if not changes:
        return
    action = getattr(event.action, "value", event.action)
    if action in ("update", "merge"):
        for field, pair in changes.items():
            for value in pair if isinstance(pair, list | tuple) else (pair,):
                yield field, value
    elif action == "create":
        yield from created_summary(changes)


def history_names(events: Iterable[AuditEvent]) -> Names:
    """The names of every record the given events' shown values refer to."""
    return _load(
        _reference(value, field, event.entity_type)
        for event in events
        for field, value in _shown(event)
    )


def timeline_names(page: Page) -> Names:
    """`history_names` for the changes on a page of a stakeholder's timeline."""
    return history_names(entry.item for entry in page.entries if entry.kind == "change")


def value_names(entity_type: str, values: Iterable[tuple[str, Any]]) -> Names:
    """The names of the records some (field, value) pairs of one table refer to (the values
    of a conflict table)."""
    return _load(_reference(value, field, entity_type) for field, value in values)


def change_text(
    value: Any,
    field: str | None = None,
    entity_type: str | None = None,
    names: Names | None = None,
) -> str:
    """A recorded value for the history, with relationship texts in words.

    The audit trail stores "supplier_to X" on the source and "Y supplier_to" on the target
    (crm.services.stakeholders); they read "supplier to X" and "Y — supplier to this
    organisation". An enum column's value is its label; an id of a user, stakeholder or
    activity is that record's name (from `names`, looked up by the view); a free-text
    column's value is itself (a unit "people" is not the import kind "People"); other
    recorded values (lists, derived fields) take the label of any enum value they equal.
    A province's code is its name in the reader's language (crm.provinces).
    """
    if field == "province" and isinstance(value, str):
        return provinces.name_of(value, str(get_locale() or "en"))
    if not isinstance(value, str) or field not in _RELATIONSHIP_FIELDS:
        column = _column(field, entity_type)
        if column is None:
            return label(value)
        if column.refers_to is not None:
            reference = _reference(value, field, entity_type)
            found = (names or {}).get(reference) if reference is not None else None
            return found or label(value)
        if not isinstance(value, str):
            return label(value)
        if column.enum is None:
            return value
        try:
            return label(column.enum(value))
        except ValueError:
            # A value of another enum recorded under the same name (the status of a new
            # participant on the activity, whose own status is an activity status).
            return label(value)
    kinds = {t.value for t in RelationshipType}
    if field.startswith("inverse_"):
        name, _space, kind = value.rpartition(" ")
        if name and kind in kinds:
            return f"{name} — {this_record(label(kind), entity_type)}"
    else:
        kind, _space, name = value.partition(" ")
        if name and kind in kinds:
            return f"{label(kind)} {name}"
    return value


def this_record(relationship: str, entity_type: str | None) -> str:
    """'supervised by this organisation': a relationship that points at the record shown."""
    if entity_type in ("organisation", "organisations"):
        return _("%(relationship)s this organisation", relationship=relationship)
    if entity_type in ("person", "people"):
        return _("%(relationship)s this person", relationship=relationship)
    return _("%(relationship)s this record", relationship=relationship)


# What a "created" entry in a history shows first: what the record is, then how to reach it.
_CREATED_FIRST = (
    "org_type",
    "sector",
    "city",
    "province",
    "job_title",
    "email",
    "phone",
    "type",
    "channel",
    "start_on",
    "due_on",
    "priority",
)
_CREATED_NEVER = frozenset(
    {"display_name", "chinese_name", "family_name", "given_name", "title", "subject", "name"}
    | {"notes", "summary", "outcome", "description", "details", "consent_source"}
)


def created_summary(changes: Any, limit: int = 4) -> list[tuple[str, Any]]:
    """A few (field, value) pairs of a create event, for a one-line summary in a history.

    Names are left out (the page shows them), and so are long texts, ids and yes/no flags.
    """
    if not isinstance(changes, dict):
        return []
    values = {
        name: pair[1]
        for name, pair in changes.items()
        if isinstance(pair, list | tuple)
        and len(pair) == 2
        and pair[1] not in (None, "", [])
        and not isinstance(pair[1], bool)
        and name not in _CREATED_NEVER
        and not name.endswith("_id")
    }
    ordered = [n for n in _CREATED_FIRST if n in values] + [
        n for n in values if n not in _CREATED_FIRST
    ]
    return [(name, values[name]) for name in ordered[:limit]]
