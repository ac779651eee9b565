"""Consent by purpose: the one place that records what a person agreed to, and the rules the
exports, lists and reports apply from it.

Each person's consent is held per purpose (crm.models.ConsentPurpose): programme
communication (digests, invitations, contact exports), being named in reports for the donors
and headquarters (a cross-border transfer), photographs and publication. A statement has a
status (given, withdrawn, unknown), the day it was stated (never in the future), where it
came from (a sign-in sheet, an email, ...) and who recorded it.

`record` is the panel's entry (one statement, checked, committed); `apply` the flush-only
building block. The person form, the API and imports state consent through the person's
fields (`consent`, `consent_on`, `consent_source`, `consent_reports`, `consent_publication`):
`from_fields` turns them into the statements that change something, which `apply` (one
record) or `bulk_rows` (an import's batch) write. Either way the statement is kept as a
ConsentRecord (the history), the person's current column for the purpose is updated, and an
AuditEvent with action "consent" is written.

Other modules never compare consent columns themselves: they use `communication_allowed` and
`named_in_reports` (SQL) or `may_contact` and `is_named` (Python), and `shown_name` /
`anonymous_name` for a person who may not be named.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    AuditAction,
    Consent,
    ConsentPurpose,
    ConsentRecord,
    ConsentSource,
    Person,
    Stakeholder,
    User,
    utcnow,
)
from crm.services import audit, clock
from crm.services.errors import InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

_people = cast(sa.Table, Person.__table__)
# The person's column that holds each purpose's current status.
STATUS_COLUMNS: dict[ConsentPurpose, str] = {
    ConsentPurpose.communication: "consent",
    ConsentPurpose.reports: "consent_reports",
    ConsentPurpose.publication: "consent_publication",
}
# The person's fields through which forms, the API and imports state consent.
FIELDS = ("consent", "consent_on", "consent_source", "consent_reports", "consent_publication")
MAX_NOTE = 200


@dataclass(frozen=True)
class Statement:
    """One statement of consent to one purpose, checked."""

    purpose: ConsentPurpose
    status: Consent
    stated_on: date | None
    source: ConsentSource
    note: str | None = None


@dataclass(frozen=True)
class PurposeState:
    """A purpose's current consent as the person page shows it: the status held on the person,
    and the latest statement behind it (none for consent recorded before the history)."""

    purpose: ConsentPurpose
    status: Consent
    stated_on: date | None
    source: ConsentSource | None
    note: str | None
    recorded_by: User | None
    recorded_at: datetime | None


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------


def _enum(enum: type[Any], value: Any, field: str, message: str) -> Any:
    try:
        return enum(value.value if hasattr(value, "value") else str(value or "").strip())
    except ValueError:
        raise InvalidInput(message, field=field) from None


def _day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput(_("Give a real date, such as 2026-03-31."), field=field) from None
    if value > clock.today():  # today where the programme is, as every date of the forms
        raise InvalidInput(_("This date is in the future."), field=field)
    return value


def _note(value: Any, field: str) -> str | None:
    text = " ".join(str(value or "").split())
    if len(text) > MAX_NOTE:
        raise InvalidInput(
            _("Use at most %(n)d characters.", n=MAX_NOTE),
            field=field,
        )
    return text or None


def parse(values: Mapping[str, Any]) -> Statement:
    """A statement from plain values (`purpose`, `status`, `stated_on`, `source`, `note`):
    raises InvalidInput on the field at fault (an unknown purpose, status or source, a date
    that is not one or is in the future, a note too long)."""
    return Statement(
        purpose=_enum(
            ConsentPurpose, values.get("purpose"), "purpose", _("Choose a purpose from the list.")
        ),
        status=_enum(Consent, values.get("status"), "status", _("Choose a status from the list.")),
        stated_on=_day(values.get("stated_on"), "stated_on"),
        source=_enum(
            ConsentSource,
            values.get("source") or ConsentSource.other,
            "source",
            _("Choose a source from the list."),
        ),
        note=_note(values.get("note"), "note"),
    )


def from_fields(
    values: Mapping[str, Any], *, person: Person | None, source: ConsentSource
) -> list[Statement]:
    """The statements a person's fields make (form, API, import): one per purpose whose
    status, or for communication whose date or source text, differs from what `person` holds
    (a new person holds "unknown"). Raises InvalidInput on the field at fault."""

    def held(name: str, default: Any) -> Any:
        return getattr(person, name) if person is not None else default

    statements = []
    if {"consent", "consent_on", "consent_source"} & set(values):
        status = _enum(
            Consent,
            values.get("consent", held("consent", Consent.unknown)) or Consent.unknown,
            "consent",
            _("Choose a status from the list."),
        )
        stated_on = _day(values.get("consent_on", held("consent_on", None)), "consent_on")
        note = _note(values.get("consent_source", held("consent_source", None)), "consent_source")
        before = (held("consent", Consent.unknown), held("consent_on", None))
        if (status, stated_on, note) != (*before, held("consent_source", None)):
            statements.append(
                Statement(ConsentPurpose.communication, status, stated_on, source, note)
            )
    day = _day(values.get("consent_on"), "consent_on")
    for purpose in (ConsentPurpose.reports, ConsentPurpose.publication):
        name = STATUS_COLUMNS[purpose]
        if values.get(name) in (None, ""):
            continue
        status = _enum(Consent, values[name], name, _("Choose a status from the list."))
        if status != held(name, Consent.unknown):
            statements.append(Statement(purpose, status, day, source))
    return statements


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _require(actor: User | None) -> None:
    if not can(actor, Permission.EDIT_STAKEHOLDERS):
        raise PermissionDenied(_("You do not have permission to do that."))


def _set_columns(person: Person, statement: Statement) -> Consent:
    """Make `statement` the person's current consent to its purpose; the status before."""
    column = STATUS_COLUMNS[statement.purpose]
    before = getattr(person, column)
    setattr(person, column, statement.status)
    if statement.purpose is ConsentPurpose.communication:
        person.consent_on = statement.stated_on
        person.consent_source = statement.note
    return before


def _row(person_id: int, statement: Statement, actor: User, at: datetime) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "purpose": statement.purpose,
        "status": statement.status,
        "stated_on": statement.stated_on,
        "source": statement.source,
        "note": statement.note,
        "recorded_by_id": actor.id,
        "recorded_at": at,
    }


def _changes(statement: Statement, before: Consent | None) -> dict[str, Any]:
    """What the "consent" audit event holds: the purpose, the status before and after, the
    day and the source (JSON-safe)."""
    return {
        "purpose": [None, statement.purpose.value],
        "status": [audit.json_value(before), statement.status.value],
        "stated_on": [None, audit.json_value(statement.stated_on)],
        "source": [None, statement.source.value],
    }


def apply(person: Person, statement: Statement, *, actor: User, new: bool = False) -> ConsentRecord:
    """Record a checked statement: the history row, the person's current column(s) and a
    "consent" audit event. Flushes only when the person has no id yet; the caller commits.
    `new`: the person was just created (their consent before was unknown)."""
    _require(actor)
    if person.id is None:
        db.session.flush()
    before = Consent.unknown if new else _set_columns(person, statement)
    if new:
        _set_columns(person, statement)
    record = ConsentRecord(**_row(person.id, statement, actor, utcnow()))
    db.session.add(record)
    audit.record(
        person,
        actor=actor,
        action=AuditAction.consent,
        changes=_changes(statement, before),
        summary=person.display_name,
    )
    return record


def bulk_rows(
    person: Person, statements: Sequence[Statement], *, actor: User, at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The history rows and the audit events (as rows) of the statements made for a new
    record written out in bulk (crm.services.imports.bulk), whose columns already hold them:
    what `apply` writes, for executemany."""
    _require(actor)
    records, events = [], []
    for statement in statements:
        records.append(_row(person.id, statement, actor, at))
        events.append(
            {
                "occurred_at": at,
                "actor_id": actor.id,
                "action": AuditAction.consent,
                "entity_type": person.__tablename__,
                "entity_id": person.id,
                "summary": person.display_name[:300],
                "changes": _changes(statement, Consent.unknown),
            }
        )
    return records, events


def record(person: Person, values: Mapping[str, Any], *, actor: User) -> ConsentRecord:
    """Record one statement of `person`'s consent from plain values (see `parse`); commits.

    For whoever may edit people. Raises PermissionDenied, NotFound (a person in the trash or
    erased), InvalidInput on the field at fault; nothing is written then.
    """
    _require(actor)
    if person.deleted_at is not None or person.erased_at is not None:
        raise NotFound(_("No such record."))
    statement = parse(values)
    try:
        written = apply(person, statement, actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("person %s: consent to %s recorded", person.id, statement.purpose.value)
    return written


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def history(person: Person, *, limit: int = 200) -> list[ConsentRecord]:
    """The person's statements, newest first, with who recorded them (one query)."""
    return list(
        db.session.scalars(
            sa.select(ConsentRecord)
            .where(ConsentRecord.person_id == person.id)
            .options(joinedload(ConsentRecord.recorded_by))
            .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
            .limit(limit)
        )
    )


def current(person: Person, records: Iterable[ConsentRecord]) -> list[PurposeState]:
    """Each purpose's current consent: the status held on the person and the latest of
    `records` (the person's history, newest first) behind it."""
    latest: dict[ConsentPurpose, ConsentRecord] = {}
    for statement in records:
        latest.setdefault(ConsentPurpose(statement.purpose), statement)
    states = []
    for purpose, column in STATUS_COLUMNS.items():
        item = latest.get(purpose)
        status = Consent(getattr(person, column))
        if item is None:
            communication = purpose is ConsentPurpose.communication
            states.append(
                PurposeState(
                    purpose,
                    status,
                    person.consent_on if communication else None,
                    None,
                    person.consent_source if communication else None,
                    None,
                    None,
                )
            )
        else:
            states.append(
                PurposeState(
                    purpose,
                    status,
                    item.stated_on,
                    ConsentSource(item.source),
                    item.note,
                    item.recorded_by,
                    item.recorded_at,
                )
            )
    return states


# ---------------------------------------------------------------------------------------------
# The rules others apply
# ---------------------------------------------------------------------------------------------


def communication_allowed(column: Any = None) -> sa.ColumnElement[bool]:
    """SQL: the person may be contacted, exported as a contact, sent mailings (their consent
    to programme communication is not withdrawn). `column`: the `consent` column of an alias
    or table, Person.consent by default."""
    return (Person.consent if column is None else column) != Consent.withdrawn


def named_in_reports(column: Any = None) -> sa.ColumnElement[bool]:
    """SQL: the person's name and contact details may appear in exports and report tables
    (their consent to reports is not withdrawn). `column`: the `consent_reports` column of an
    alias or table, Person.consent_reports by default."""
    return (Person.consent_reports if column is None else column) != Consent.withdrawn


def status_is(purpose: ConsentPurpose, status: Consent) -> sa.ColumnElement[bool]:
    """SQL: the person's current consent to `purpose` is `status` (the lists' filter)."""
    return getattr(Person, STATUS_COLUMNS[purpose]) == status


def may_contact(person: Any) -> bool:
    """`communication_allowed` for one loaded person."""
    return getattr(person, "consent", None) != Consent.withdrawn


def is_named(stakeholder: Any) -> bool:
    """`named_in_reports` for one loaded stakeholder (organisations are always named)."""
    return getattr(stakeholder, "consent_reports", None) != Consent.withdrawn


def anonymous_name() -> str:
    """What stands for a person who may not be named in an export or a report table."""
    return _("Anonymous participant")


def shown_name(stakeholder: Stakeholder) -> str:
    """A stakeholder's name for an export or a report table: anonymous for a person who
    withdrew consent to reports."""
    return stakeholder.display_name if is_named(stakeholder) else anonymous_name()


def hidden_unless_named(column: Any, consent_reports: Any = None) -> sa.Case[Any]:
    """SQL: a column of personal detail (a Chinese name, a job title), empty for a person who
    withdrew consent to reports."""
    held = Person.consent_reports if consent_reports is None else consent_reports
    return sa.case((held == Consent.withdrawn, sa.null()), else_=column)


def not_named(stakeholder_id: Any) -> sa.Exists:
    """SQL, correlated on a stakeholder id of the outer query (reports built on the tables):
    the stakeholder is a person who withdrew consent to reports (a lookup by key)."""
    people = _people.alias("unnamed_people")
    return sa.exists(
        sa.select(1).where(
            people.c.id == stakeholder_id, ~named_in_reports(people.c.consent_reports)
        )
    )


# What SQL gives for the name of a person who may not be named; `name_or_anonymous` shows it.
# No translated text goes into SQL: report statements are cached across languages, and a
# name is never empty.
UNNAMED = ""


def reported_name(column: Any, stakeholder_id: Any) -> sa.Case[Any]:
    """SQL: a stakeholder's name column for a report table or an export, UNNAMED for a
    person who withdrew consent to reports (`not_named`)."""
    return sa.case((not_named(stakeholder_id), sa.literal(UNNAMED)), else_=column)


def person_reported_name(column: Any = None) -> sa.Case[Any]:
    """SQL: `reported_name` for a query of `Person` (its own column, no lookup)."""
    shown = Person.display_name if column is None else column
    return sa.case((~named_in_reports(), sa.literal(UNNAMED)), else_=shown)


def name_or_anonymous(name: Any) -> Any:
    """A name read through `reported_name`: the name, or `anonymous_name` for UNNAMED (None,
    no stakeholder at all, stays None)."""
    return anonymous_name() if name == UNNAMED else name


def reported_detail(column: Any, stakeholder_id: Any) -> sa.Case[Any]:
    """SQL: a stakeholder's personal detail (a Chinese name) for a report table, empty for a
    person who withdrew consent to reports."""
    return sa.case((not_named(stakeholder_id), sa.null()), else_=column)


def contact_exportable() -> sa.ColumnElement[bool]:
    """SQL: the person's contact details may leave the system in a contact export (a vCard,
    a list's contact columns): neither communication nor reports consent is withdrawn."""
    return sa.and_(communication_allowed(), named_in_reports())


def may_export_contact(person: Any) -> bool:
    """`contact_exportable` for one loaded person."""
    return may_contact(person) and is_named(person)
