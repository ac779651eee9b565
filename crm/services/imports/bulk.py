"""Writing many new records at once: what `stakeholders.insert` does, for a whole file.

`stakeholders.insert` writes one record completely: it flushes to learn the record's id, then
adds its search entry and its "create" audit event. That is right for a form and far too slow
for a file: each flush costs milliseconds, so 10,000 rows took minutes. A `Batch` does the
same work for many records together. `add` builds a record exactly as `insert` does (the
defaults, the fields, the derived columns through `stakeholders.derive`, the same check of
the name) and adds it to the session without flushing; `attach` notes a position to add;
`flush` then writes them out: one ORM flush for the records (for their ids), then their
search entries, their audit events and the positions with theirs, in one executemany each.
Nothing is committed here: the import commits once (crm.services.imports.writing).

A record written this way is what `insert` would have written: the same columns, search
entry and audit event, the event dated when its row was written rather than when the batch
was flushed; a position is what `stakeholders.attach` writes, with the same two audit events
(on the person, on the organisation). Fields naming other records (an owner, a parent
organisation), which `insert` checks one by one, are refused: no import maps them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Affiliation,
    AuditAction,
    AuditEvent,
    ConsentRecord,
    ConsentSource,
    EngagementLevel,
    Organisation,
    Person,
    SearchDocument,
    Stakeholder,
    Tag,
    User,
    utcnow,
)
from crm.services import consent, search, sector_masks, stakeholders
from crm.services.errors import InvalidInput, PermissionDenied

S = TypeVar("S", bound=Stakeholder)

# Records (or positions) added before a batch is written out: large enough that each flush
# carries many rows, small enough that its statements stay short.
CHUNK = 500
_REFERENCES = frozenset({"owner_id", "parent_id"})

# Rows written with Core executemany: no ORM objects to build, track and flush one by one.
_documents = cast(sa.Table, SearchDocument.__table__)
_events = cast(sa.Table, AuditEvent.__table__)
_affiliations = cast(sa.Table, Affiliation.__table__)
_consents = cast(sa.Table, ConsentRecord.__table__)


class Batch:
    """New records and positions of one import, added to the session, not yet written out.

    `row` names the row whose record is being written out while `flush` runs (0 otherwise),
    so an error there can say which row it was.
    """

    def __init__(
        self, actor: User, *, consent_source: ConsentSource = ConsentSource.import_
    ) -> None:
        self.actor = actor
        self.consent_source = consent_source
        self.records: list[tuple[int, Stakeholder, datetime]] = []
        # A new person's statements of consent (crm.services.consent), written with them.
        self.statements: list[tuple[Person, list[consent.Statement], datetime]] = []
        self.positions: list[tuple[Person, Organisation, str | None]] = []
        self.tags: dict[str, Tag] = {}
        self.row = 0

    def __len__(self) -> int:
        return max(len(self.records), len(self.positions))

    def add(
        self, model: type[S], data: Mapping[str, Any], allowed: Sequence[str], *, row: int
    ) -> S:
        """A new record built as `stakeholders.insert` builds it, added to the session; its id,
        search entry and audit event come with the next `flush`. Raises PermissionDenied,
        InvalidInput (an unknown field, no name)."""
        if not can(self.actor, Permission.EDIT_STAKEHOLDERS):
            raise PermissionDenied(_("You do not have permission to do that."))
        fields = [name for name in allowed if name not in _REFERENCES]
        unknown = set(data) - set(fields) - {"tags"}
        if unknown:
            raise InvalidInput(_("Unknown field: %(name)s", name=", ".join(sorted(unknown))))
        statements = (
            consent.from_fields(data, person=None, source=self.consent_source)
            if model is Person
            else []
        )
        record = model()
        record.created_by_id = self.actor.id
        record.engagement_level = EngagementLevel.unaware
        record.influence = 3
        record.interest = 3
        for name in fields:
            if name in data:
                setattr(record, name, data[name])
        record.tags = self._tags(data.get("tags") or [])
        stakeholders.derive(record)
        if not (record.display_name or "").strip():
            raise InvalidInput(_("A name is required."), field="display_name")
        db.session.add(record)
        written_at = utcnow()
        self.records.append((row, record, written_at))
        if statements:
            assert isinstance(record, Person)
            self.statements.append((record, statements, written_at))
        return record

    def attach(self, person: Person, organisation: Organisation, *, title: str | None) -> None:
        """Note a current position of `person` at `organisation`, added with the next flush
        (either may be new: the position needs their ids)."""
        self.positions.append((person, organisation, title))

    def _tags(self, names: Sequence[str]) -> list[Tag]:
        """The tags of these names, as `stakeholders` cleans them; each looked up once per
        import, and new ones added."""
        cleaned = sorted({n.strip()[:60] for n in names if n and n.strip()})
        missing = [name for name in cleaned if name not in self.tags]
        if missing:
            with db.session.no_autoflush:
                found = db.session.scalars(sa.select(Tag).where(Tag.name.in_(missing)))
                self.tags.update({tag.name: tag for tag in found})
            for name in missing:
                if name not in self.tags:
                    self.tags[name] = Tag(name=name)
                    db.session.add(self.tags[name])
        return [self.tags[name] for name in cleaned]

    def flush(self) -> None:
        """Write out the records and positions added so far (flushes; the caller commits)."""
        if not self.records and not self.positions:
            return
        db.session.flush()
        documents: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for row, record, written_at in self.records:
            self.row = row
            documents.append(dataclasses.asdict(search.document_for(record)))
            events.append(self._created(record, written_at))
        self.row = 0
        consents: list[dict[str, Any]] = []
        for person, statements, written_at in self.statements:
            history, stated = consent.bulk_rows(person, statements, actor=self.actor, at=written_at)
            consents.extend(history)
            events.extend(stated)
        if consents:
            db.session.execute(sa.insert(_consents), consents)
        if documents:
            # A kind may have indexed a record of its own accord (by changing it after
            # writing it): that entry is as current as this one.
            db.session.execute(_insert_new(_documents), documents)
        if self.positions:
            affiliations = self._positions(events)
            db.session.execute(sa.insert(_affiliations), affiliations)
            # Written past the ORM: the people's stored sectors follow their new employers.
            sector_masks.refresh(row["person_id"] for row in affiliations)
        if events:
            db.session.execute(sa.insert(_events), events)
        for person, _organisation, _title in self.positions:
            # Written past the ORM: the person's positions are read again when next used.
            db.session.expire(person, ["affiliations"])
        self.records.clear()
        self.positions.clear()
        self.statements.clear()

    def _positions(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of the positions, as `stakeholders.attach` adds them; their audit events
        (one on the person, one on the organisation) go to `events`."""
        now = utcnow()
        rows = []
        for person, organisation, title in self.positions:
            title = title or None
            rows.append(
                {
                    "person_id": person.id,
                    "organisation_id": organisation.id,
                    "title": title,
                    "start_on": None,
                    "end_on": None,
                    "created_by_id": self.actor.id,
                }
            )
            position = (
                f"{title}, {organisation.display_name}" if title else organisation.display_name
            )
            holder = f"{person.display_name}: {title}" if title else person.display_name
            events.append(self._event(person, now, {"affiliation": [None, position]}))
            events.append(self._event(organisation, now, {"people": [None, holder]}))
        return rows

    def _created(self, record: Stakeholder, written_at: datetime) -> dict[str, Any]:
        """The audit event of a new record, as `stakeholders.insert` records it."""
        changes = {
            name: [None, value]
            for name, value in stakeholders.state(record).items()
            if value not in (None, [], "")
        }
        return self._event(record, written_at, changes, action=AuditAction.create)

    def _event(
        self,
        record: Stakeholder,
        at: datetime,
        changes: dict[str, Any],
        *,
        action: AuditAction = AuditAction.update,
    ) -> dict[str, Any]:
        """An audit event as `audit.record` adds it, as a row."""
        return {
            "occurred_at": at,
            "actor_id": self.actor.id,
            "action": action,
            "entity_type": record.__tablename__,
            "entity_id": record.id,
            "summary": record.display_name[:300],
            "changes": changes,
        }


def _insert_new(table: sa.Table) -> Any:
    """INSERT that leaves alone the search entries already there (same record)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(
        index_elements=[table.c.entity_type, table.c.entity_id]
    )
