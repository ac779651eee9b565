"""Importing organisations and people from spreadsheets: read, map, preview, match, commit.

The pipeline is a chain of plain functions, so other imports reuse the parts they need (the
attendance sheet of an activity reads, maps and matches people exactly like a people import).
Callers use the package (`imports.read_table(...)`, `imports.commit(...)`); its modules, each
importing only the ones listed before it:

1. `reading` — bytes → `Table`: files, encodings, CSV and XLSX sheets, `Limits`,
   `read_table`, `read_upload`, `table_from_records`.
2. `fields` — the fields of each kind, their header aliases and cell parsers (`FieldSpec`,
   `CellError`, `parse_date`).
3. `rows` — the rows as they pass between the steps (`Built`, `Match`, `PreviewRow`,
   `Preview`).
4. `matching` — each row as a probe of the one matcher, its duplicate candidates in batched
   queries (`find_people`, `find_organisations`).
5. `bulk` — new records written many at once (`Batch`): `stakeholders.insert` without a
   flush per record.
6. `writing` — the `Kind` contract, the `Writer`, writing each kind's rows, one transaction
   with `Progress` and the `ImportReport`.
7. `kinds` — the kinds of import (`KINDS`), mapping headers to fields (`guess_mapping`,
   `locate_header`) and the preview (`prepare`).
8. `staging` — the `ImportBatch` of the web UI (`stage`, `check`, `remap`, `decide`,
   `commit`, `discard`), and `run` for a table without staging (the CLI).

Spreadsheet formulas: nothing here evaluates a cell; the formula guard of exports lives with
the exports (crm.services.reporting.exports).
"""

from __future__ import annotations

from crm.services.imports.fields import (
    ORGANISATION_IMPORT_FIELDS,
    PERSON_IMPORT_FIELDS,
    CellError,
    FieldSpec,
    parse_date,
)
from crm.services.imports.kinds import (
    CHECK_STEPS,
    KINDS,
    build_organisation,
    build_person,
    field_choices,
    get_kind,
    guess_mapping,
    locate_header,
    prepare,
)
from crm.services.imports.matching import (
    REASON_LABELS,
    find_organisations,
    find_people,
    organisation_keys,
    person_keys,
    probe_organisation,
    probe_person,
)
from crm.services.imports.reading import (
    DEFAULT_MAX_BYTES,
    MB,
    TEXT_EXTENSIONS,
    VCARD_EXTENSIONS,
    XLSX_EXTENSIONS,
    Limits,
    Row,
    Table,
    read_table,
    read_upload,
    table_from_records,
)
from crm.services.imports.rows import Built, Match, Preview, PreviewRow
from crm.services.imports.staging import (
    activity_of,
    check,
    commit,
    commit_steps,
    decide,
    discard,
    get_batch,
    is_checked,
    preview_of,
    purge_abandoned,
    recent_batches,
    remap,
    report_of,
    run,
    samples,
    stage,
)
from crm.services.imports.writing import (
    ImportReport,
    Kind,
    Progress,
    ReportLine,
    RowsRejected,
    Writer,
    attendance_options,
    check_decision,
    finish,
    mark_attended,
    row_ranges,
    write_attendee,
    write_organisation,
    write_person,
)

__all__ = [
    "CHECK_STEPS",
    "DEFAULT_MAX_BYTES",
    "KINDS",
    "MB",
    "ORGANISATION_IMPORT_FIELDS",
    "PERSON_IMPORT_FIELDS",
    "REASON_LABELS",
    "TEXT_EXTENSIONS",
    "VCARD_EXTENSIONS",
    "XLSX_EXTENSIONS",
    "Built",
    "CellError",
    "FieldSpec",
    "ImportReport",
    "Kind",
    "Limits",
    "Match",
    "Preview",
    "PreviewRow",
    "Progress",
    "ReportLine",
    "Row",
    "RowsRejected",
    "Table",
    "Writer",
    "activity_of",
    "attendance_options",
    "build_organisation",
    "build_person",
    "check",
    "check_decision",
    "commit",
    "commit_steps",
    "decide",
    "discard",
    "field_choices",
    "find_organisations",
    "find_people",
    "finish",
    "get_batch",
    "get_kind",
    "guess_mapping",
    "is_checked",
    "locate_header",
    "mark_attended",
    "organisation_keys",
    "parse_date",
    "person_keys",
    "prepare",
    "preview_of",
    "probe_organisation",
    "probe_person",
    "purge_abandoned",
    "read_table",
    "read_upload",
    "recent_batches",
    "remap",
    "report_of",
    "row_ranges",
    "run",
    "samples",
    "stage",
    "table_from_records",
    "write_attendee",
    "write_organisation",
    "write_person",
]
