"""Writing an import: the `Kind` contract, the `Writer`, one transaction, progress, the report.

A `Kind` says how the rows of one kind of import are built, matched and written; the kinds
themselves are in crm.services.imports.kinds. `execute(preview, kind, ...)` checks everything
it can before writing (errors, chosen records still there: `_plan`) and then returns a
generator that writes row after row, yielding `Progress` and finally the `ImportReport`. All
rows go into ONE transaction, committed after the last row: any failure rolls everything
back, and so does closing the generator early (a client that disconnects). `finish` runs the
steps to the end.

New records and their positions are written many at a time (`Writer.create`, `attach`:
a `Batch` of crm.services.imports.bulk, written out every 500 rows): by the rules of the
stakeholder service's `insert` and `attach`, without a flush per row. Updates go through its
`apply_changes`, after what the import has added so far is written out. Either way pinyin,
match keys, the search index and audit events are written exactly as for a form. The
organisations the rows name are looked up together before the first row is written.

**Attendance sheets.** A row that matches a person fills in only what their record lacks (a
handwritten sheet does not overwrite what the CRM holds); a new name creates the person.
After the last row, the kind's `after` step (`mark_attended`) marks everyone written as
attended through `crm.services.activities.enrol` (existing participants get the status
"attended"), with the organisation the sheet names as their organisation at the time, inside
the same transaction. A skipped row is not marked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import ngettext
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    Consent,
    ConsentSource,
    DuplicateAction,
    Gender,
    Organisation,
    OrgType,
    ParticipationRole,
    ParticipationStatus,
    Person,
    Stakeholder,
    User,
)
from crm.services import duplicates, stakeholders
from crm.services.errors import Conflict, InvalidInput, PermissionDenied
from crm.services.imports.bulk import CHUNK, Batch
from crm.services.imports.fields import FieldSpec
from crm.services.imports.matching import chunks, employer_key, live, name_of
from crm.services.imports.rows import Built, Match, Preview, PreviewRow
from crm.services.text import has_han

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Stakeholder)


def require_importer(actor: User | None) -> None:
    """Raise PermissionDenied unless `actor` may import (coordinators and up)."""
    if not can(actor, Permission.IMPORT):
        raise PermissionDenied(_("Imports are for coordinators, managers and administrators."))


# Kind lives here, not in kinds.py, because the plan and the transaction below read it (the
# model, `write`, `after`); kinds.py defines the kinds themselves.
@dataclass(frozen=True)
class Kind:
    """One kind of import: its fields and how its rows are built, matched and written.

    `build(values)` turns parsed field values into a `Built`; `probe(built)` makes it a probe
    of the one matcher (crm.services.duplicates), once per row; `find(probes)` returns the
    candidates of every row (batched queries); `keys(probe)` the keys that make two rows of
    one file the same record; `write(writer, row, action, target)` writes one row inside the
    import's transaction and returns the record (a new record is written out with the next
    `Writer.flush`). `required` names fields of which at least one must be mapped.
    `default_action` is what a row matching a record does unless the user chooses otherwise.
    `options(values, actor)` checks the import's options (raising NotFound or
    PermissionDenied) and returns them JSON-safe; `after(writer, written)` runs once the rows
    are written, before the commit, and returns report lines of its own. `consent_source` is
    where the consent the rows state comes from (crm.services.consent).
    """

    name: str
    model: type[Stakeholder]
    fields: tuple[FieldSpec, ...]
    required: tuple[str, ...]
    build: Callable[[dict[str, Any]], Built]
    probe: Callable[[Built], duplicates.Probe]
    find: Callable[[Sequence[duplicates.Probe]], list[list[Match]]]
    keys: Callable[[duplicates.Probe], set[str]]
    write: Callable[[Writer, PreviewRow, str, Stakeholder | None], Stakeholder]
    default_action: DuplicateAction = DuplicateAction.skip
    options: Callable[[Mapping[str, Any], User], dict[str, Any]] | None = None
    after: (
        Callable[[Writer, Sequence[tuple[PreviewRow, Stakeholder]]], tuple[ReportLine, ...]] | None
    ) = None
    consent_source: ConsentSource = ConsentSource.import_

    def checked_options(self, values: Mapping[str, Any] | None, actor: User) -> dict[str, Any]:
        if self.options is None:
            return dict(values or {})
        return self.options(values or {}, actor)

    def spec(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int


@dataclass(frozen=True)
class ReportLine:
    row: int
    id: int | None
    label: str
    note: str = ""


@dataclass(frozen=True)
class ImportReport:
    kind: str
    created: tuple[ReportLine, ...] = ()
    updated: tuple[ReportLine, ...] = ()
    skipped: tuple[ReportLine, ...] = ()
    organisations_created: tuple[ReportLine, ...] = ()
    attended: tuple[ReportLine, ...] = ()  # a sign-in sheet: who was marked as attended
    dry_run: bool = False


class RowsRejected(InvalidInput):
    """The file or some rows have errors, so nothing was written; `preview` has them all."""

    def __init__(self, message: str, *, preview: Preview) -> None:
        super().__init__(message)
        self.preview = preview


class Writer:
    """State of one import's transaction, handed to `Kind.write`: the actor, the options of
    the import (an attendance sheet's activity), the organisations found or created for
    people's rows (looked up together, `find_organisations`), and the `Batch` of new records
    and positions not yet written out (`create`, `attach`, `flush`)."""

    def __init__(
        self,
        actor: User,
        options: Mapping[str, Any] | None = None,
        *,
        consent_source: ConsentSource = ConsentSource.import_,
    ) -> None:
        self.actor = actor
        self.options = dict(options or {})
        self.consent_source = consent_source
        self.batch = Batch(actor, consent_source=consent_source)
        # By normalised name: the live organisation (the oldest), or None when there is none.
        self.organisations: dict[str, Organisation | None] = {}
        self.new_organisations: list[tuple[int, Organisation]] = []  # (row, organisation)

    def create(
        self, model: type[S], data: Mapping[str, Any], allowed: Sequence[str], *, row: int
    ) -> S:
        """A new record for `row`, written out with the next flush (see crm.services.imports.
        bulk): `stakeholders.insert` without its flush per record."""
        return self.batch.add(model, data, allowed, row=row)

    def attach(self, person: Person, organisation: Organisation, *, title: str | None) -> None:
        """A current position of `person` at `organisation`, added with the next flush."""
        self.batch.attach(person, organisation, title=title)

    def flush(self) -> None:
        """Write out the new records and positions (ids, search entries, audit events)."""
        self.batch.flush()

    def find_organisations(self, names: Iterable[str]) -> None:
        """Look up the organisations of these names (normalised) all at once: one query per
        500 names, instead of one per name as the rows come."""
        keys = {employer_key(name) for name in names}
        wanted = {key for key in keys if key and key not in self.organisations}
        found: dict[str, Organisation] = {}
        for chunk in chunks(wanted):
            stmt = (
                sa.select(Organisation)
                .where(
                    live(Organisation),
                    sa.or_(Organisation.match_key.in_(chunk), Organisation.match_key_zh.in_(chunk)),
                )
                .order_by(Organisation.id)
            )
            for organisation in db.session.scalars(stmt):
                for key in (organisation.match_key, organisation.match_key_zh):
                    if key in wanted:
                        found.setdefault(key, organisation)  # the oldest
        self.organisations.update({key: found.get(key) for key in wanted})

    def organisation(self, name: str, row: int) -> Organisation:
        """The live organisation with this normalised name (the oldest), else a new one."""
        key = employer_key(name)
        assert key is not None
        if key not in self.organisations:
            self.find_organisations([name])
        found = self.organisations[key]
        if found is None:
            data: dict[str, Any] = {"display_name": name, "org_type": OrgType.other}
            if has_han(name):
                data["chinese_name"] = name
            found = self.create(Organisation, data, stakeholders.ORGANISATION_FIELDS, row=row)
            self.organisations[key] = found
            self.new_organisations.append((row, found))
        return found


# --- Plan and transaction ---------------------------------------------------------------------

# One row of the plan: (row, action, record id, earlier row of the file, note for the report).
_Planned = tuple[PreviewRow, str, int | None, int | None, str]

_DECISION = re.compile(r"^(?:skip|create|update|update:(?:(\d{1,12})|r(\d{1,12})))$")


def check_decision(value: str) -> str:
    """A row decision as stored: skip, create, update, update:<record id>, update:r<row>."""
    value = (value or "").strip()
    if not _DECISION.match(value):
        raise InvalidInput(_("Unknown choice for a row: %(value)s", value=value[:40]))
    return value


def _plan(
    preview: Preview,
    kind: Kind,
    *,
    decisions: Mapping[int, str],
    on_duplicate: DuplicateAction,
    skip_invalid: bool,
) -> list[_Planned]:
    """(row, action, record id, earlier row, note) per row; raises before anything is written."""
    if preview.problems:
        raise RowsRejected(" ".join(preview.problems), preview=preview)
    invalid = preview.invalid
    if invalid and not skip_invalid:
        raise RowsRejected(
            ngettext(
                "%(num)d row has errors, so nothing was imported. Correct the file, or choose "
                "to skip that row.",
                "%(num)d rows have errors, so nothing was imported. Correct the file, or "
                "choose to skip those rows.",
                len(invalid),
            ),
            preview=preview,
        )
    plan: list[_Planned] = []
    for row in preview.rows:
        if row.errors:
            plan.append((row, "skip", None, None, " ".join(row.errors)))
            continue
        decision = decisions.get(row.number) or ""
        found = _DECISION.match(decision)
        if found and found[1]:
            plan.append((row, "update", int(found[1]), None, ""))
        elif found and found[2]:
            plan.append((row, "update", None, int(found[2]), ""))
        elif decision in ("skip", "create"):
            plan.append((row, decision, None, None, _("chosen") if decision == "skip" else ""))
        elif not row.matches:
            plan.append((row, "create", None, None, ""))
        else:
            action = decision or on_duplicate.value
            first = row.matches[0]
            note = _("matches %(name)s", name=first.label) if action == "skip" else ""
            plan.append((row, action, first.id, first.row, note))
    # The records chosen for an update must still be there.
    ids = {record_id for _r, action, record_id, _e, _n in plan if action == "update" and record_id}
    found_ids = set()
    for chunk in chunks(ids):
        found_ids |= set(
            db.session.scalars(
                sa.select(kind.model.id).where(kind.model.id.in_(chunk), live(kind.model))
            )
        )
    for row, action, record_id, _e, _n in plan:
        if action == "update" and record_id and record_id not in found_ids:
            raise InvalidInput(
                _(
                    "Row %(row)d: the record chosen for the update no longer exists. Nothing "
                    "was imported; review the preview again.",
                    row=row.number,
                )
            )
    return plan


def execute(
    preview: Preview,
    kind: Kind,
    *,
    actor: User,
    decisions: Mapping[int, str],
    on_duplicate: DuplicateAction,
    skip_invalid: bool,
    dry_run: bool = False,
    before_commit: Callable[[ImportReport], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Generator[Progress | ImportReport, None, None]:
    """Check and plan now; return the generator that writes (see the module docstring)."""
    require_importer(actor)
    plan = _plan(
        preview, kind, decisions=decisions, on_duplicate=on_duplicate, skip_invalid=skip_invalid
    )
    return _write(
        plan,
        kind,
        writer=Writer(actor, options, consent_source=kind.consent_source),
        dry_run=dry_run,
        before_commit=before_commit,
    )


@dataclass
class _Written:
    """What the rows of one import have done so far, and the row being written (0: none).
    The records are named in the report once written out (a new one has no id before)."""

    records: dict[int, Stakeholder] = field(default_factory=dict)  # by row number
    rows: list[tuple[PreviewRow, Stakeholder]] = field(default_factory=list)
    created: list[tuple[int, Stakeholder]] = field(default_factory=list)
    updated: list[tuple[int, Stakeholder]] = field(default_factory=list)
    skipped: list[ReportLine] = field(default_factory=list)
    current: int = 0


def _write(
    plan: list[_Planned],
    kind: Kind,
    *,
    writer: Writer,
    dry_run: bool,
    before_commit: Callable[[ImportReport], None] | None,
) -> Generator[Progress | ImportReport, None, None]:
    """Write the planned rows in one transaction: Progress while writing, then the report.

    Commits once, after the last row (with `dry_run` it rolls back instead). A failure, or
    closing the generator before the end, rolls everything back; errors name the row being
    written.
    """
    written = _Written()
    finished = False
    try:
        yield from _write_rows(plan, kind, writer, written)
        report = _report(kind, writer, written, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
        else:
            records = [*written.records.values(), *writer.organisations.values()]
            duplicates.refresh(r.id for r in records if r is not None)  # one batch, whole file
            if before_commit is not None:
                before_commit(report)
            db.session.commit()
        finished = True
        log.info(
            "import of %s: %d created, %d updated, %d skipped%s",
            kind.name,
            len(written.created),
            len(written.updated),
            len(written.skipped),
            " (dry run)" if dry_run else "",
        )
        yield report
    except StaleDataError:
        db.session.rollback()
        finished = True
        raise Conflict(
            _(
                "A record was changed by someone else during the import (or the file was "
                "imported twice). Nothing was imported."
            )
        ) from None
    except InvalidInput as err:
        row = written.current or writer.batch.row
        db.session.rollback()
        finished = True
        if row:
            raise InvalidInput(
                _("Row %(row)d: %(reason)s Nothing was imported.", row=row, reason=str(err))
            ) from None
        raise
    except sa.exc.SQLAlchemyError as err:
        row = written.current or writer.batch.row
        db.session.rollback()
        finished = True
        log.warning("import failed at row %s: %s", row, type(err).__name__)
        if row:
            message = _("Row %(row)d could not be saved, so nothing was imported.", row=row)
        else:
            message = _("The import could not be saved, so nothing was imported.")
        raise InvalidInput(message) from None
    finally:
        if not finished:
            # Closed early (a client that went away) or failed: leave nothing half-written.
            db.session.rollback()


def _write_rows(
    plan: list[_Planned], kind: Kind, writer: Writer, written: _Written
) -> Iterator[Progress]:
    """Row after row, with `written.current` on the row being written; Progress every 1%.

    The organisations the rows name are looked up first, all together; new records are
    written out every `CHUNK` rows and after the last one (`Writer.flush`).
    """
    total = len(plan)
    step = max(1, total // 100)
    yield Progress(0, total)
    writer.find_organisations(
        row.extra["organisation"]
        for row, action, _id, _earlier, _note in plan
        if action != "skip" and row.extra.get("organisation")
    )
    _load_targets(plan, kind)
    for done, planned in enumerate(plan, start=1):
        written.current = planned[0].number
        _write_row(planned, kind, writer, written)
        written.current = 0
        if len(writer.batch) >= CHUNK:
            writer.flush()
        if done % step == 0 or done == total:
            yield Progress(done, total)
    writer.flush()


def _load_targets(plan: Sequence[_Planned], kind: Kind) -> None:
    """Load the records the rows update, with their tags (and a person's positions), a few
    hundred per query: the updates then find them in the session instead of asking one by
    one."""
    ids = {record_id for _r, action, record_id, _e, _n in plan if action == "update"}
    options = [selectinload(kind.model.tags)]
    if kind.model is Person:
        options.append(selectinload(Person.affiliations))
    for chunk in chunks(ids):
        db.session.scalars(
            sa.select(kind.model).where(kind.model.id.in_(chunk)).options(*options)
        ).all()


def _write_row(planned: _Planned, kind: Kind, writer: Writer, written: _Written) -> None:
    row, action, record_id, earlier, note = planned
    target: Stakeholder | None = None
    if action == "update":
        # An update goes through the stakeholder service, which reads the record and its
        # tags and positions: whatever this import has added must be written out first.
        writer.flush()
        target = (
            db.session.get(kind.model, record_id)
            if record_id
            else written.records.get(earlier or 0)
        )
        if target is None:
            action = "create"  # the earlier row of the file wrote nothing
    if action == "skip":
        written.skipped.append(ReportLine(row.number, record_id, row.label, note))
        return
    record = kind.write(writer, row, action, target)
    written.records[row.number] = record
    written.rows.append((row, record))
    (written.created if action == "create" else written.updated).append((row.number, record))


def _report(kind: Kind, writer: Writer, written: _Written, *, dry_run: bool) -> ImportReport:
    """The report of the rows written, once the kind's last step (`Kind.after`) has run."""
    after = kind.after(writer, written.rows) if kind.after is not None else ()
    writer.flush()  # what the last step added

    def lines(items: Sequence[tuple[int, Stakeholder]]) -> tuple[ReportLine, ...]:
        return tuple(ReportLine(row, record.id, name_of(record)) for row, record in items)

    return ImportReport(
        kind=kind.name,
        created=lines(written.created),
        updated=lines(written.updated),
        skipped=tuple(written.skipped),
        organisations_created=lines(writer.new_organisations),
        attended=after,
        dry_run=dry_run,
    )


def finish(
    steps: Iterator[Progress | ImportReport], *, progress: Callable[[Progress], None] | None = None
) -> ImportReport:
    """Run the steps of an import to the end and return its report."""
    report: ImportReport | None = None
    for step in steps:
        if isinstance(step, ImportReport):
            report = step
        elif progress is not None:
            progress(step)
    assert report is not None
    return report


def row_ranges(numbers: Iterable[int]) -> str:
    """Row numbers as short ranges: [2, 3, 4, 7] → "2–4, 7"."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    start: int | None = None
    previous = 0  # read only once `start` is set
    for n in ordered:
        if start is None:
            start = previous = n
        elif n == previous + 1:
            previous = n
        else:
            parts.append(f"{start}–{previous}" if previous != start else str(start))
            start = previous = n
    if start is not None:
        parts.append(f"{start}–{previous}" if previous != start else str(start))
    return ", ".join(parts)


# --- Writing one row --------------------------------------------------------------------------


def write_organisation(
    writer: Writer, row: PreviewRow, action: str, target: Stakeholder | None
) -> Stakeholder:
    data = dict(row.data)
    if action == "create":
        data.setdefault("org_type", OrgType.other)
        return writer.create(Organisation, data, stakeholders.ORGANISATION_FIELDS, row=row.number)
    assert target is not None
    stakeholders.apply_changes(target, _changes(target, data), actor=writer.actor)
    return target


def write_person(
    writer: Writer,
    row: PreviewRow,
    action: str,
    target: Stakeholder | None,
    *,
    fill_in_only: bool = False,
) -> Person:
    """Create the person or update `target`; with `fill_in_only`, an update changes only the
    fields the record leaves empty. Either way the row's organisation becomes a current
    position unless the person already holds one there."""
    data = dict(row.data)
    if action == "create":
        person = writer.create(Person, data, stakeholders.PERSON_FIELDS, row=row.number)
        current: set[int] = set()
    else:
        assert isinstance(target, Person)
        person = target
        changes = _changes(person, data)
        if fill_in_only:
            changes = {k: v for k, v in changes.items() if k == "tags" or _lacks(person, k)}
        stakeholders.apply_changes(
            person, changes, actor=writer.actor, consent_source=writer.consent_source
        )
        current = {
            a.organisation_id
            for a in person.affiliations
            if a.end_on is None and a.deleted_at is None
        }
    name = row.extra.get("organisation")
    if name:
        organisation = writer.organisation(name, row.number)
        if organisation.id is None or organisation.id not in current:
            writer.attach(person, organisation, title=data.get("job_title"))
    return person


_UNSTATED = (None, "", Gender.undisclosed, Consent.unknown)


def _lacks(record: Stakeholder, name: str) -> bool:
    """Whether the record holds nothing for this field ("undisclosed" and "unknown" count as
    nothing: they are what a record says before anyone asked)."""
    return getattr(record, name, None) in _UNSTATED


def _changes(record: Stakeholder, data: Mapping[str, Any]) -> dict[str, Any]:
    """What an update takes from a row: its non-empty values, and tags added to the old ones."""
    changes = {k: v for k, v in data.items() if v not in (None, "", [])}
    if "tags" in changes:
        changes["tags"] = sorted({t.name for t in record.tags} | set(changes["tags"]))
    return changes


# --- Attendance sheets ------------------------------------------------------------------------


def _attendance_activity(values: Mapping[str, Any], actor: User) -> Activity:
    """The activity of a sign-in sheet: live, and the actor may change its participants."""
    from crm.services import activities

    try:
        activity_id = int(values.get("activity_id") or 0)
    except (TypeError, ValueError):
        activity_id = 0
    activity = activities.get(activity_id)
    if not can(actor, Permission.EDIT_ACTIVITIES):
        raise PermissionDenied(_("Only coordinators and managers can record attendance."))
    return activity


def attendance_options(values: Mapping[str, Any], actor: User) -> dict[str, Any]:
    return {"activity_id": _attendance_activity(values, actor).id}


def write_attendee(
    writer: Writer, row: PreviewRow, action: str, target: Stakeholder | None
) -> Stakeholder:
    return write_person(writer, row, action, target, fill_in_only=True)


def mark_attended(
    writer: Writer, written: Sequence[tuple[PreviewRow, Stakeholder]]
) -> tuple[ReportLine, ...]:
    """Everyone the sheet wrote, marked as attended, with the sheet's organisation as their
    organisation at the time; one line per row saying what changed."""
    from crm.services import activities

    activity = _attendance_activity(writer.options, writer.actor)
    people: list[Person] = []
    organisation_ids: dict[int, int | None] = {}
    for row, person in written:
        assert isinstance(person, Person)
        people.append(person)
        name = row.extra.get("organisation")
        if name and person.id not in organisation_ids:
            organisation_ids[person.id] = writer.organisation(name, row.number).id
    if not people:
        return ()
    enrolment = activities.enrol(
        activity,
        people,
        status=ParticipationStatus.attended,
        role=ParticipationRole.participant,
        actor=writer.actor,
        organisation_ids=organisation_ids,
        existing="update",
    )
    added = {p.person_id for p in enrolment.added}
    updated = {p.person_id for p in enrolment.updated}
    lines = []
    for row, person in written:
        if person.id in added:
            note = _("added as attended")
        elif person.id in updated:
            note = _("already on the list, now marked as attended")
        else:
            note = _("already marked as attended")
        lines.append(ReportLine(row.number, person.id, name_of(person), note))
    return tuple(lines)
