"""Staging an import in the database (the web UI), committing it, and running one without staging.

The web UI keeps the parsed file in an `ImportBatch` (`stage`, `remap`, `decide`, `discard`,
`preview_of`), so a large file is parsed once and the preview pages read it back; the preview
and the report are stored as JSON. Checking the rows (validating and matching every one of
them) takes seconds for a large file, so `stage` and `remap` can leave it to `check`, which
the background worker runs (crm.jobs); `is_checked` tells whether the preview is there.
`commit_steps(batch, ...)` prepares the batch again against the database as it is now and
hands it to `writing.execute`: one transaction, `Progress`, then the `ImportReport`. `commit`
runs it to the end; `run` does the same for a table without staging (the CLI, with a dry run
that rolls back). `purge_abandoned` drops the copy of files nobody came back to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    DuplicateAction,
    ImportBatch,
    ImportKind,
    ImportStatus,
    User,
    utcnow,
)
from crm.services import audit
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.imports.kinds import (
    checked_mapping,
    get_kind,
    guess_mapping,
    locate_header,
    prepare,
)
from crm.services.imports.reading import Row, Table
from crm.services.imports.rows import Match, Preview, PreviewRow
from crm.services.imports.writing import (
    ImportReport,
    Kind,
    Progress,
    ReportLine,
    check_decision,
    execute,
    finish,
    require_importer,
)
from crm.services.text import clean_text

log = logging.getLogger(__name__)


def _preview_json(preview: Preview) -> dict[str, Any]:
    return {
        "problems": list(preview.problems),
        "notices": list(preview.notices),
        "rows": [
            {
                "n": row.number,
                "label": row.label,
                "detail": row.detail,
                "data": {k: audit.json_value(v) for k, v in row.data.items()},
                "extra": dict(row.extra),
                "errors": list(row.errors),
                "matches": [[m.id, m.row, m.label, m.detail, list(m.reasons)] for m in row.matches],
            }
            for row in preview.rows
        ],
    }


def _table_of(batch: ImportBatch) -> Table:
    source = dict(batch.source or {})
    errors = {(r, c): message for r, c, message in source.pop("cell_errors", [])}
    return Table(
        headers=tuple(batch.headers),
        rows=tuple(Row(n, tuple(cells)) for n, cells in batch.rows),
        header_row=source.get("header_row", 1),
        source=source,
        cell_errors=errors,
    )


def stage(
    table: Table,
    *,
    kind: Kind | str,
    filename: str,
    actor: User,
    on_duplicate: DuplicateAction | str | None = None,
    options: Mapping[str, Any] | None = None,
    check: bool = True,
) -> ImportBatch:
    """Keep a parsed file with its guessed mapping and preview, for review; commits.

    Coordinators and up (PermissionDenied otherwise). The batch belongs to `actor`.
    `options` are checked by the kind and reach its `write` and `after` through
    `Writer.options` at commit. `on_duplicate` defaults to the kind's `default_action`.
    With `check=False` the rows are kept unchecked, for `check` to build the preview.
    """
    require_importer(actor)
    kind = get_kind(kind)
    options = kind.checked_options(options, actor)
    table = locate_header(table, kind)
    if check:
        preview = prepare(table, kind)
        mapping, stored = list(preview.mapping), _preview_json(preview)
    else:
        mapping, stored = guess_mapping(table.headers, kind), {}
    source = {
        **table.source,
        "header_row": table.header_row,
        "cell_errors": [[r, c, m] for (r, c), m in table.cell_errors.items()],
        "options": options,
    }
    batch = ImportBatch(
        kind=ImportKind(kind.name),
        filename=clean_text(filename or "upload")[-255:],  # a browser sends it as is
        created_by_id=actor.id,
        on_duplicate=DuplicateAction(on_duplicate or kind.default_action),
        source=source,
        headers=list(table.headers),
        rows=[[row.number, list(row.cells)] for row in table.rows],
        mapping=mapping,
        decisions={},
        preview=stored,
    )
    db.session.add(batch)
    db.session.commit()
    log.info("staged import batch %s: %d rows", batch.id, len(table.rows))
    return batch


def check(
    batch: ImportBatch,
    *,
    actor: User,
    progress: Callable[[int, int], None] | None = None,
) -> ImportBatch:
    """Validate and match every row of a staged batch under its mapping, and keep the preview;
    commits. `progress(done, total)` hears how far it has got (crm.services.imports.prepare).
    Raises NotFound once the batch is discarded, Conflict once it is imported."""
    require_importer(actor)
    _staged(batch)
    preview = prepare(_table_of(batch), batch.kind.value, mapping=batch.mapping, progress=progress)
    batch.mapping = list(preview.mapping)
    batch.preview = _preview_json(preview)
    db.session.commit()
    log.info("checked import batch %s: %d rows", batch.id, len(preview.rows))
    return batch


def is_checked(batch: ImportBatch) -> bool:
    """Whether the rows of the batch have been checked: its preview is there to review."""
    return "rows" in (batch.preview or {})


def get_batch(batch_id: int, *, actor: User) -> ImportBatch:
    """A batch of `actor` (administrators see all); NotFound for others' and discarded ones."""
    require_importer(actor)
    batch = db.session.get(ImportBatch, batch_id)
    if (
        batch is None
        or batch.status == ImportStatus.discarded
        or (batch.created_by_id != actor.id and actor.role != Role.admin)
    ):
        raise NotFound(_("No such import."))
    return batch


def recent_batches(*, actor: User, limit: int = 10) -> list[ImportBatch]:
    """The actor's latest imports, newest first (without discarded ones)."""
    require_importer(actor)
    stmt = (
        sa.select(ImportBatch)
        .where(
            ImportBatch.created_by_id == actor.id,
            ImportBatch.status != ImportStatus.discarded,
        )
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def preview_of(batch: ImportBatch) -> Preview:
    """The stored preview (values JSON-safe: dates as ISO text, enums as their values); before
    the rows are checked, an empty one whose problem says so."""
    stored = batch.preview or {}
    if not is_checked(batch):
        stored = {
            "problems": [
                _(
                    "The rows of this file have not been checked yet. Apply the mapping below "
                    "to check them."
                )
            ]
        }
    rows = tuple(
        PreviewRow(
            number=r["n"],
            label=r["label"],
            detail=r["detail"],
            data=r["data"],
            extra=r["extra"],
            errors=tuple(r["errors"]),
            matches=tuple(Match(m[0], m[1], m[2], m[3], tuple(m[4])) for m in r["matches"]),
        )
        for r in stored.get("rows", [])
    )
    return Preview(
        kind=batch.kind.value,
        headers=tuple(batch.headers),
        mapping=tuple(batch.mapping),
        rows=rows,
        problems=tuple(stored.get("problems", [])),
        notices=tuple(stored.get("notices", [])),
    )


def samples(batch: ImportBatch, *, count: int = 3) -> list[list[str]]:
    """The first non-empty values of each column, to show next to the mapping."""
    found: list[list[str]] = [[] for _h in batch.headers]
    for _n, cells in batch.rows[:200]:
        for index, value in enumerate(cells):
            if value and len(found[index]) < count:
                found[index].append(value[:40])
    return found


def activity_of(batch: ImportBatch) -> Activity | None:
    """The activity of a sign-in sheet's batch (None for other kinds, or once it is gone)."""
    activity_id = ((batch.source or {}).get("options") or {}).get("activity_id")
    if batch.kind != ImportKind.attendance or not activity_id:
        return None
    return db.session.get(Activity, int(activity_id))


def _staged(batch: ImportBatch) -> None:
    if batch.status == ImportStatus.committed:
        raise Conflict(_("This file has already been imported."))
    if batch.status != ImportStatus.staged:
        raise NotFound(_("No such import."))


def remap(
    batch: ImportBatch, mapping: Sequence[str], *, actor: User, check: bool = True
) -> ImportBatch:
    """Map the columns differently and compute the preview again; commits.

    Row choices made under the old mapping are dropped, since the rows' matches change. With
    `check=False` the mapping is only checked and kept, the rows left for `check`.
    """
    require_importer(actor)
    _staged(batch)
    if check:
        preview = prepare(_table_of(batch), batch.kind.value, mapping=mapping)
        batch.mapping = list(preview.mapping)
        batch.preview = _preview_json(preview)
    else:
        batch.mapping = list(checked_mapping(mapping, len(batch.headers), batch.kind.value))
        batch.preview = {}
    batch.decisions = {}
    db.session.commit()
    return batch


def _merged_decisions(batch: ImportBatch, decisions: Mapping[int, str]) -> dict[str, str]:
    numbers = {n for n, _cells in batch.rows}
    merged = dict(batch.decisions or {})
    for number, value in decisions.items():
        if number not in numbers:
            raise InvalidInput(_("There is no row %(row)d in this file.", row=number))
        if value:
            merged[str(number)] = check_decision(value)
        else:
            merged.pop(str(number), None)
    return merged


def decide(
    batch: ImportBatch,
    decisions: Mapping[int, str],
    *,
    on_duplicate: DuplicateAction | str | None = None,
    actor: User,
) -> ImportBatch:
    """Record choices for rows ("" forgets a choice) and the default for matched rows; commits."""
    require_importer(actor)
    _staged(batch)
    batch.decisions = _merged_decisions(batch, decisions)
    if on_duplicate:
        batch.on_duplicate = DuplicateAction(on_duplicate)
    db.session.commit()
    return batch


def commit_steps(
    batch: ImportBatch,
    *,
    actor: User,
    decisions: Mapping[int, str] | None = None,
    on_duplicate: DuplicateAction | str | None = None,
    skip_invalid: bool = False,
) -> Generator[Progress | ImportReport, None, None]:
    """Import a staged batch: check now, then return the generator that writes.

    The rows are validated and matched again against the database as it is now, and the
    user's choices (saved ones, plus `decisions`) applied; rows with errors are refused
    unless `skip_invalid`. Those checks raise here, before anything is written. The returned
    generator yields Progress while writing and the ImportReport after the single commit,
    which also marks the batch imported and forgets its rows; a failure raises from the
    generator after rolling everything back.
    """
    require_importer(actor)
    # On PostgreSQL a second commit of the same batch waits here, then finds it imported.
    db.session.refresh(batch, with_for_update=True)
    _staged(batch)
    chosen = _merged_decisions(batch, decisions or {})
    default = DuplicateAction(on_duplicate or batch.on_duplicate)
    kind = get_kind(batch.kind.value)
    options = kind.checked_options((batch.source or {}).get("options"), actor)
    preview = prepare(_table_of(batch), kind, mapping=batch.mapping)

    def mark_committed(report: ImportReport) -> None:
        batch.status = ImportStatus.committed
        batch.committed_at = utcnow()
        batch.decisions = chosen
        batch.on_duplicate = default
        batch.result = _report_json(report)
        batch.rows = []
        batch.preview = {}
        db.session.flush()  # the version check: a concurrent commit of this batch fails here

    return execute(
        preview,
        kind,
        actor=actor,
        decisions={int(k): v for k, v in chosen.items()},
        on_duplicate=default,
        skip_invalid=skip_invalid,
        before_commit=mark_committed,
        options=options,
    )


def commit(
    batch: ImportBatch,
    *,
    actor: User,
    decisions: Mapping[int, str] | None = None,
    on_duplicate: DuplicateAction | str | None = None,
    skip_invalid: bool = False,
) -> ImportReport:
    """`commit_steps` run to the end: one transaction, the report of what it wrote."""
    return finish(
        commit_steps(
            batch,
            actor=actor,
            decisions=decisions,
            on_duplicate=on_duplicate,
            skip_invalid=skip_invalid,
        )
    )


def run(
    table: Table,
    *,
    kind: Kind | str,
    actor: User,
    on_duplicate: DuplicateAction | str | None = None,
    mapping: Sequence[str] | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[Progress], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ImportReport:
    """Import a table without staging it (the CLI): guessed mapping, one decision for all.

    Commits once, after the last row; with `dry_run` everything is written and rolled back.
    Raises RowsRejected (nothing written) when the file or any row has errors, unless
    `skip_invalid`; PermissionDenied unless `actor` may import.
    """
    require_importer(actor)
    kind = get_kind(kind)
    options = kind.checked_options(options, actor)
    table = locate_header(table, kind) if mapping is None else table
    preview = prepare(table, kind, mapping=mapping)
    steps = execute(
        preview,
        kind,
        actor=actor,
        decisions={},
        on_duplicate=DuplicateAction(on_duplicate or kind.default_action),
        skip_invalid=skip_invalid,
        dry_run=dry_run,
        options=options,
    )
    return finish(steps, progress=progress)


def discard(batch: ImportBatch, *, actor: User) -> None:
    """Drop a staged batch and the copy of its rows; commits."""
    require_importer(actor)
    _staged(batch)
    batch.status = ImportStatus.discarded
    batch.rows = []
    batch.preview = {}
    db.session.commit()


def purge_abandoned(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Discard the staged batches nobody has touched for `older_than`; commits.

    A staged batch holds a copy of the file, often personal data (names, phones, emails), so
    it is not kept once its upload is plainly abandoned: the rows and preview go, the batch
    stays in its owner's list as discarded. Returns how many were discarded.
    """
    now = now or utcnow()
    stmt = (
        sa.update(ImportBatch)
        .where(
            ImportBatch.status == ImportStatus.staged,
            ImportBatch.updated_at < now - older_than,
        )
        .values(
            status=ImportStatus.discarded,
            rows=[],
            preview={},
            updated_at=now,
            version=ImportBatch.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    result = db.session.execute(stmt)
    assert isinstance(result, sa.CursorResult)  # an UPDATE: its result has a row count
    count = result.rowcount
    db.session.commit()
    if count:
        log.info("discarded %d abandoned import batches", count)
    return count


def _report_json(report: ImportReport) -> dict[str, Any]:
    def lines(items: Sequence[ReportLine]) -> list[list[Any]]:
        return [[line.row, line.id, line.label, line.note] for line in items]

    return {
        "kind": report.kind,
        "created": lines(report.created),
        "updated": lines(report.updated),
        "skipped": lines(report.skipped),
        "organisations_created": lines(report.organisations_created),
        "attended": lines(report.attended),
    }


def report_of(batch: ImportBatch) -> ImportReport:
    """The report of a committed batch; NotFound while it is not imported."""
    if batch.status != ImportStatus.committed or not batch.result:
        raise NotFound(_("This file has not been imported yet."))
    result = batch.result

    def lines(name: str) -> tuple[ReportLine, ...]:
        return tuple(ReportLine(*item) for item in result.get(name, []))

    return ImportReport(
        kind=result.get("kind", batch.kind.value),
        created=lines("created"),
        updated=lines("updated"),
        skipped=lines("skipped"),
        organisations_created=lines("organisations_created"),
        attended=lines("attended"),
    )
