"""One lifecycle for every record with a delete button: to the trash, back, and gone for good.

Stakeholders, activities, interactions, donor indicators and follow-ups are deleted, restored
and purged by the three functions below; each kind's service describes only what differs in a
`Lifecycle` (what the audit trail calls the record, who may delete it, how the search index
learns of the change, what must hold before a restore) and exposes `delete`/`restore`/`purge`
that call these. The rules, the same for every kind:

- Delete moves a live record to the trash (`deleted_at`); deleting one that is already there
  is refused (NotFound: to its user the record is gone). Links are kept.
- Restore and purge are for administrators (Permission.MANAGE_TRASH) and only for records in
  the trash (InvalidInput otherwise).
- Purge deletes the row with one DELETE on its base table, by primary key: the database's
  ON DELETE rules (CASCADE for parts of the record, SET NULL for mentions elsewhere) decide
  what goes with it, the same on SQLite and PostgreSQL, without loading any link.
- Each step writes one audit event, updates the search index and the stored contact dates
  of the stakeholders the record counts for (crm.services.contact_dates) in the same
  transaction, and commits once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import AuditAction, User, utcnow
from crm.services import audit, contact_dates, search
from crm.services.errors import InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)


def _may_delete(_record: Any, actor: User) -> bool:
    return can(actor, Permission.DELETE)


@dataclass(frozen=True)
class Lifecycle:
    """What differs between kinds of record in the trash."""

    # The text the audit trail and the log show for the record.
    summary: Callable[[Any], str]
    # The search document kind, for records that are indexed ("person", "activity", ...).
    search_kind: Callable[[Any], str] | None = None
    # Writes the record's search document again (a record in the trash is dropped from it).
    reindex: Callable[[Any], None] | None = None
    may_delete: Callable[[Any, User], bool] = _may_delete
    # The message for an actor who may not delete the record.
    refused: Callable[[], str] = lambda: _("You do not have permission to do that.")
    # The message for deleting a record that is already in the trash.
    missing: Callable[[], str] = lambda: _("No such record.")
    # Raises InvalidInput when the record cannot come back as it is (a code taken meanwhile).
    check_restore: Callable[[Any], None] | None = None
    # The stakeholders whose stored contact dates count the record (an interaction's, a
    # follow-up's): refreshed when it goes to the trash, comes back or is purged.
    contacts_of: Callable[[Any], Iterable[int | None]] | None = None
    # Called by purge instead of the DELETE for records the figures are built on (a person:
    # crm.services.personal_data.erasure.purge anonymises them); True when it kept the row.
    keep: Callable[[Any, User], bool] | None = None


def delete(record: Any, rules: Lifecycle, *, actor: User) -> None:
    """Move a live record to the trash. Raises PermissionDenied, NotFound when it is already
    in the trash. Commits once."""
    if not rules.may_delete(record, actor):
        raise PermissionDenied(rules.refused())
    if record.deleted_at is not None:
        raise NotFound(rules.missing())
    record.deleted_at = utcnow()
    audit.record(record, actor=actor, action=AuditAction.delete, summary=rules.summary(record))
    if rules.reindex is not None:
        rules.reindex(record)
    if rules.contacts_of is not None:
        contact_dates.refresh(rules.contacts_of(record))
    db.session.commit()
    log.info("%s %s moved to the trash", record.__tablename__, record.id)


def restore(record: Any, rules: Lifecycle, *, actor: User) -> None:
    """Take a record out of the trash (administrators). Raises PermissionDenied, InvalidInput
    for a live record or one that `rules.check_restore` refuses. Commits once."""
    if not can(actor, Permission.MANAGE_TRASH):
        raise PermissionDenied(_("You do not have permission to do that."))
    if record.deleted_at is None:
        raise InvalidInput(_("This record is not in the trash."))
    if rules.check_restore is not None:
        rules.check_restore(record)
    record.deleted_at = None
    audit.record(record, actor=actor, action=AuditAction.restore, summary=rules.summary(record))
    if rules.reindex is not None:
        rules.reindex(record)
    if rules.contacts_of is not None:
        contact_dates.refresh(rules.contacts_of(record))
    db.session.commit()
    log.info("%s %s restored from the trash", record.__tablename__, record.id)


def purge(record: Any, rules: Lifecycle, *, actor: User) -> None:
    """Delete a trashed record for good (administrators); the audit trail keeps a purge event.
    Raises PermissionDenied, InvalidInput for a live record. Commits once."""
    if not can(actor, Permission.MANAGE_TRASH):
        raise PermissionDenied(_("You do not have permission to do that."))
    if record.deleted_at is None:
        raise InvalidInput(_("Only records in the trash can be purged."))
    record_id, table_name = record.id, record.__tablename__
    if rules.keep is not None and rules.keep(record, actor):
        db.session.commit()
        log.info("%s %s purged: anonymised and kept for the figures", table_name, record_id)
        return
    # Read before the DELETE takes the links with it.
    contacts = list(rules.contacts_of(record)) if rules.contacts_of is not None else []
    audit.record(record, actor=actor, action=AuditAction.purge, summary=rules.summary(record))
    if rules.search_kind is not None:
        search.remove(rules.search_kind(record), record_id)
    # The base table of joined-table inheritance (stakeholders for a person): the subclass row
    # goes with it by ON DELETE CASCADE.
    table = sa.inspect(type(record)).base_mapper.local_table
    db.session.execute(sa.delete(table).where(table.c.id == record_id))
    db.session.expunge(record)
    contact_dates.refresh(contacts)
    db.session.commit()
    log.info("%s %s purged", table_name, record_id)
