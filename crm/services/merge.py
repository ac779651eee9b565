"""Merging two records of the same stakeholder into one.

The survivor takes the field values the user chose, every link of the other record
(interactions, participations, follow-ups, positions, relationships, activity parties, tags,
child organisations) moves to the survivor, and the other record goes to the trash with an
audit event on both. Links that would become duplicates (both records attended the same
training) are kept once; a relationship between the two records themselves is dropped, since
it would point at itself. One transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    AuditAction,
    ContactDetail,
    ContactKind,
    Organisation,
    Person,
    Stakeholder,
    User,
    utcnow,
)
from crm.services import (
    audit,
    contact_dates,
    contact_details,
    duplicates,
    search,
    sector_masks,
    stakeholders,
)
from crm.services.errors import Conflict, InvalidInput, PermissionDenied

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeReport:
    """What moved from the merged record to the survivor."""

    survivor_id: int
    merged_id: int
    fields_taken: tuple[str, ...]
    moved: Mapping[str, int]
    # "kind: value" of each email, phone or WeChat ID kept as a further contact detail.
    contacts_kept: tuple[str, ...] = ()


def mergeable_fields(stakeholder: Stakeholder) -> tuple[str, ...]:
    if isinstance(stakeholder, Person):
        return stakeholders.PERSON_FIELDS
    return stakeholders.ORGANISATION_FIELDS


def merge(
    survivor: Stakeholder,
    other: Stakeholder,
    *,
    take: Mapping[str, str] | None = None,
    versions: tuple[int, int] | None = None,
    discard_contacts: Collection[str] = (),
    actor: User,
) -> MergeReport:
    """Merge `other` into `survivor`; `take[field] == "other"` copies that field's value.

    Of two people's emails, phones and WeChat IDs, the one not chosen is kept on the survivor
    as a further contact detail (crm.models.ContactDetail), unless its field is named in
    `discard_contacts`: a merge never silently loses a way to reach someone.

    Raises PermissionDenied (coordinators and up merge), InvalidInput for records of different
    kinds or a record merged with itself, Conflict when either record changed since `versions`
    were read. Commits once.
    """
    if not can(actor, Permission.MERGE):
        raise PermissionDenied(_("You do not have permission to do that."))
    if survivor.id == other.id:
        raise InvalidInput(_("Choose two different records."))
    if type(survivor) is not type(other):
        raise InvalidInput(_("Only two organisations or two people can be merged."))
    if survivor.deleted_at is not None or other.deleted_at is not None:
        raise InvalidInput(_("A record in the trash cannot be merged."))
    if versions is not None and versions != (survivor.version, other.version):
        raise Conflict(_("One of the records changed while you were comparing them."))

    fields = mergeable_fields(survivor)
    taken = tuple(f for f in fields if (take or {}).get(f) == "other")
    before = stakeholders.state(survivor)
    unchosen = _unchosen_contacts(survivor, other, taken, discard_contacts)
    for name in taken:
        setattr(survivor, name, getattr(other, name))
    if (
        isinstance(survivor, Organisation)
        and isinstance(other, Organisation)
        and survivor.parent_id == other.id
    ):
        survivor.parent_id = other.parent_id if other.parent_id != survivor.id else None

    moved = _move_links(survivor.id, other.id)
    db.session.expire(
        survivor,
        ["tags", "affiliations", "contact_details"] if isinstance(survivor, Person) else ["tags"],
    )
    kept = _keep_contacts(survivor, unchosen, source=f"#{other.id} {other.display_name}")
    stakeholders.derive(survivor)
    survivor.updated_at = utcnow()
    other.deleted_at = utcnow()
    db.session.flush()
    _refresh_stored([survivor.id, other.id])
    changes: dict[str, Any] = audit.diff(before, stakeholders.state(survivor))
    changes["merged_from"] = [None, f"#{other.id} {other.display_name}"]
    if kept:
        changes["contact_details"] = [None, [f"{d.kind.value}: {d.value}" for d in kept]]
    audit.record(
        survivor,
        actor=actor,
        action=AuditAction.merge,
        changes=changes,
        summary=survivor.display_name,
    )
    audit.record(
        other,
        actor=actor,
        action=AuditAction.merge,
        changes={"merged_into": [None, f"#{survivor.id} {survivor.display_name}"]},
        summary=other.display_name,
    )
    search.index(survivor)
    search.index(other)  # removes it: it is in the trash now
    db.session.commit()
    log.info("merged stakeholder %s into %s", other.id, survivor.id)
    return MergeReport(
        survivor.id, other.id, taken, moved, tuple(f"{d.kind.value}: {d.value}" for d in kept)
    )


def _refresh_stored(ids: list[int]) -> None:
    """What is stored per record from the links that moved past the ORM: contact dates
    (interactions, follow-ups), sector masks (positions, links to interactions), duplicate
    pairs (keys, contact details, positions)."""
    contact_dates.refresh(ids)
    sector_masks.refresh(ids)
    duplicates.refresh(ids)


# Tables whose rows *are* stakeholders: a foreign key from one of them to another (an
# organisation's parent) is re-pointed, but the survivor itself is never made its own parent.
_STAKEHOLDER_TABLES = frozenset({"stakeholders", "organisations", "people"})


@dataclass(frozen=True)
class Reference:
    """A column that holds the id of a stakeholder, an organisation or a person."""

    table: sa.Table
    column: sa.Column[Any]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def references() -> list[Reference]:
    """Every column of the schema that points at a stakeholder, read from the metadata.

    Merge moves exactly these, so a table added later is moved without anyone remembering to
    list it here. The primary keys of `people` and `organisations` (which point at their own
    `stakeholders` row: joined-table inheritance) are the records themselves, not links.
    """
    found = []
    for table in db.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
            if fk.column.table.name not in _STAKEHOLDER_TABLES:
                continue
            if table.name in _STAKEHOLDER_TABLES and fk.parent.primary_key:
                continue
            found.append(Reference(table, fk.parent))
    return found


# The contact fields of a person and the kind of further detail each becomes.
CONTACT_FIELDS: Mapping[str, ContactKind] = {
    "email": ContactKind.email,
    "phone": ContactKind.phone,
    "wechat_id": ContactKind.wechat,
}


def _detail_key(kind: ContactKind, value: str | None) -> str:
    """The key a further detail is stored under: as compared, or as typed (lower case) for a
    local phone number that has no E.164 form."""
    return contact_details.key(kind, value) or (value or "").strip().lower()


def _unchosen_contacts(
    survivor: Stakeholder, other: Stakeholder, taken: Collection[str], discard: Collection[str]
) -> list[tuple[ContactKind, str]]:
    """(kind, value) of each email, phone and WeChat ID that the merge would otherwise drop."""
    if not isinstance(survivor, Person) or not isinstance(other, Person):
        return []
    dropped = []
    for field, kind in CONTACT_FIELDS.items():
        if field in discard:
            continue
        mine, theirs = getattr(survivor, field), getattr(other, field)
        value = mine if field in taken else theirs
        chosen = theirs if field in taken else mine
        if value and _detail_key(kind, value) != _detail_key(kind, chosen):
            dropped.append((kind, value))
    return dropped


def _keep_contacts(
    person: Stakeholder, values: Iterable[tuple[ContactKind, str]], *, source: str
) -> list[ContactDetail]:
    """Add the values as further contact details of `person`, skipping those it has."""
    if not isinstance(person, Person):
        return []
    known = {(d.kind, d.value_key) for d in person.contact_details}
    added = []
    for kind, value in values:
        key = _detail_key(kind, value)
        if (kind, key) in known:
            continue
        known.add((kind, key))
        detail = ContactDetail(kind=kind, value=value, value_key=key, source=source[:200])
        person.contact_details.append(detail)
        added.append(detail)
    return added


def _move_links(keep: int, gone: int) -> dict[str, int]:
    """Re-point every row that references `gone` at `keep`, dropping would-be duplicates.

    Ids are shared by people and organisations (one `stakeholders` sequence), so a column
    that points at organisations simply matches no row when people are merged. For each
    column, in one statement each: rows that would then point at the survivor twice (a
    relationship between the two records) are deleted; rows that would break a unique
    constraint (both records attended the same training, carry the same tag) are deleted,
    the survivor's row wins; the rest are updated.
    """
    moved: dict[str, int] = {}
    for ref in references():
        table, column = ref.table, ref.column
        is_record = table.name in _STAKEHOLDER_TABLES
        if not is_record:
            _drop_self_links(ref, keep, gone)
        _drop_collisions(ref, keep, gone)
        update = sa.update(table).where(column == gone).values({column.name: keep})
        if is_record:
            update = update.where(table.c.id != keep)
        result = db.session.execute(update)
        assert isinstance(result, sa.CursorResult)  # an UPDATE: it has a row count
        if result.rowcount:
            moved[ref.name] = int(result.rowcount)
    return moved


def _drop_self_links(ref: Reference, keep: int, gone: int) -> None:
    """Delete rows linking the two merged records to each other (they would become loops)."""
    others = [
        other.column
        for other in references()
        if other.table is ref.table and other.column is not ref.column
    ]
    for other in others:
        db.session.execute(sa.delete(ref.table).where(ref.column == gone, other == keep))


def _drop_collisions(ref: Reference, keep: int, gone: int) -> None:
    """Delete `gone`'s rows that would duplicate a row of `keep` under a unique constraint."""
    table, column = ref.table, ref.column
    for constraint in table.constraints:
        if not isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint):
            continue
        columns = list(constraint.columns)
        if column not in columns or len(columns) < 2:
            continue
        rest = [c for c in columns if c is not column]
        kept = sa.select(*rest).where(column == keep)
        target = rest[0] if len(rest) == 1 else sa.tuple_(*rest)
        db.session.execute(sa.delete(table).where(column == gone, target.in_(kept)))


def preview(survivor: Stakeholder, other: Stakeholder) -> list[tuple[str, Any, Any]]:
    """(field, survivor's value, other's value) for every mergeable field, JSON-safe."""
    return [
        (name, audit.json_value(getattr(survivor, name)), audit.json_value(getattr(other, name)))
        for name in mergeable_fields(survivor)
    ]
