"""Writing an import: the `Kind` contract, the `Writer`, one transaction, progress, the report.

A `Kind` says how the rows of one kind of import are built, matched and written; the kinds
themselves are in crm.services.imports.kinds. `execute(preview, kind, ...)` checks everything
it can before writing (errors, chosen records still there: `_plan`) and then returns a
generator that writes row after row, yielding `Progress` and finally the `ImportReport`. All
rows go into ONE transaction, committed after the last row: any failure rolls everything
back, and so does closing the generator early (a client that disconnects). `finish` runs the
steps to the end.

Writes go through the stakeholder service's flush-only building blocks (`insert`,
`apply_changes`, `attach`), so pinyin, match keys, the search index and audit events are
written exactly as for a record created in a form.

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
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, can
from crm.extensions import db
from crm.models import (
    Activity,
    Consent,
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
from crm.services.imports.fields import FieldSpec
from crm.services.imports.matching import chunks, name_of
from crm.services.imports.rows import Built, Match, Preview, PreviewRow
from crm.services.text import has_han

log = logging.getLogger(__name__)


def require_importer(actor: User | None) -> None:
    """Raise PermissionDenied unless `actor` may import (coordinators and up)."""
    if not can(actor, Permission.IMPORT):
        raise PermissionDenied(_("Imports are for coordinators, managers and administrators."))


# Kind lives here, not in kinds.py, because the plan and the transaction below read it (the
# model, `write`, `after`); kinds.py defines the kinds themselves.
@dataclass(frozen=True)
class Kind:
    """One kind of import: its fields and how its rows are built, matched and written.

    `build(values)` turns parsed field values into a `Built`; `find(built)` returns the
    candidates of every row (batched queries); `keys(built)` the keys that make two rows of
    one file the same record; `write(writer, row, action, target)` writes one row inside the
    import's transaction and returns the record. `required` names fields of which at least
    one must be mapped. `default_action` is what a row matching a record does unless the user
    chooses otherwise. `options(values, actor)` checks the import's options (raising
    NotFound or PermissionDenied) and returns them JSON-safe; `after(writer, written)` runs
    once the rows are written, before the commit, and returns report lines of its own.
    """

    name: str
    model: type[Stakeholder]
    fields: tuple[FieldSpec, ...]
    required: tuple[str, ...]
    build: Callable[[dict[str, Any]], Built]
    find: Callable[[Sequence[Built]], list[list[Match]]]
    keys: Callable[[Built], set[str]]
    write: Callable[[Writer, PreviewRow, str, Stakeholder | None], Stakeholder]
    default_action: DuplicateAction = DuplicateAction.skip
    options: Callable[[Mapping[str, Any], User], dict[str, Any]] | None = None
    after: (
        Callable[[Writer, Sequence[tuple[PreviewRow, Stakeholder]]], tuple[ReportLine, ...]] | None
    ) = None

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
    the import (an attendance sheet's activity), and the organisations found or created for
    people's rows (each looked up once)."""

    def __init__(self, actor: User, options: Mapping[str, Any] | None = None) -> None:
        self.actor = actor
        self.options = dict(options or {})
        self.organisations: dict[str, Organisation] = {}
        self.organisations_created: list[ReportLine] = []

    def organisation(self, name: str, row: int) -> Organisation:
        """The live organisation with this normalised name (the oldest), else a new one."""
        key = duplicates.organisation_key(name)
        assert key is not None
        if key not in self.organisations:
            found = db.session.scalar(
                sa.select(Organisation)
                .where(
                    Organisation.deleted_at.is_(None),
                    sa.or_(Organisation.match_key == key, Organisation.match_key_zh == key),
                )
                .order_by(Organisation.id)
                .limit(1)
            )
            if found is None:
                data: dict[str, Any] = {"display_name": name, "org_type": OrgType.other}
                if has_han(name):
                    data["chinese_name"] = name
                found = stakeholders.insert(
                    Organisation, data, stakeholders.ORGANISATION_FIELDS, self.actor
                )
                self.organisations_created.append(ReportLine(row, found.id, name_of(found)))
            self.organisations[key] = found
        return self.organisations[key]


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
    live = set()
    for chunk in chunks(ids):
        live |= set(
            db.session.scalars(
                sa.select(kind.model.id).where(
                    kind.model.id.in_(chunk), kind.model.deleted_at.is_(None)
                )
            )
        )
    for row, action, record_id, _e, _n in plan:
        if action == "update" and record_id and record_id not in live:
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
        plan, kind, writer=Writer(actor, options), dry_run=dry_run, before_commit=before_commit
    )


@dataclass
class _Written:
    """What the rows of one import have done so far, and the row being written (0: none)."""

    records: dict[int, Stakeholder] = field(default_factory=dict)  # by row number
    rows: list[tuple[PreviewRow, Stakeholder]] = field(default_factory=list)
    created: list[ReportLine] = field(default_factory=list)
    updated: list[ReportLine] = field(default_factory=list)
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
        db.session.rollback()
        finished = True
        if written.current:
            raise InvalidInput(
                _(
                    "Row %(row)d: %(reason)s Nothing was imported.",
                    row=written.current,
                    reason=str(err),
                )
            ) from None
        raise
    except sa.exc.SQLAlchemyError as err:
        db.session.rollback()
        finished = True
        log.warning("import failed at row %s: %s", written.current, type(err).__name__)
        if written.current:
            message = _(
                "Row %(row)d could not be saved, so nothing was imported.", row=written.current
            )
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
    """Row after row, with `written.current` on the row being written; Progress every 1%."""
    total = len(plan)
    step = max(1, total // 100)
    yield Progress(0, total)
    for done, planned in enumerate(plan, start=1):
        written.current = planned[0].number
        _write_row(planned, kind, writer, written)
        if done % step == 0 or done == total:
            yield Progress(done, total)
    written.current = 0


def _write_row(planned: _Planned, kind: Kind, writer: Writer, written: _Written) -> None:
    row, action, record_id, earlier, note = planned
    target: Stakeholder | None = None
    if action == "update":
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
    line = ReportLine(row.number, record.id, name_of(record))
    (written.created if action == "create" else written.updated).append(line)


def _report(kind: Kind, writer: Writer, written: _Written, *, dry_run: bool) -> ImportReport:
    """The report of the rows written, once the kind's last step (`Kind.after`) has run."""
    after = kind.after(writer, written.rows) if kind.after is not None else ()
    return ImportReport(
        kind=kind.name,
        created=tuple(written.created),
        updated=tuple(written.updated),
        skipped=tuple(written.skipped),
        organisations_created=tuple(writer.organisations_created),
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
        return stakeholders.insert(
            Organisation, data, stakeholders.ORGANISATION_FIELDS, writer.actor
        )
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
        person = stakeholders.insert(Person, data, stakeholders.PERSON_FIELDS, writer.actor)
        current: set[int] = set()
    else:
        assert isinstance(target, Person)
        person = target
        changes = _changes(person, data)
        if fill_in_only:
            changes = {k: v for k, v in changes.items() if k == "tags" or _lacks(person, k)}
        stakeholders.apply_changes(person, changes, actor=writer.actor)
        current = {
            a.organisation_id
            for a in person.affiliations
            if a.end_on is None and a.deleted_at is None
        }
    name = row.extra.get("organisation")
    if name:
        organisation = writer.organisation(name, row.number)
        if organisation.id not in current:
            stakeholders.attach(
                person,
                organisation,
                title=data.get("job_title"),
                start_on=None,
                end_on=None,
                actor=writer.actor,
            )
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
