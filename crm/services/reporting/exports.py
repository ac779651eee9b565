"""Rows to files: CSV (UTF-8 with a BOM) and XLSX, for the list pages and the reports.

Callers choose the columns (a header, how to read a value from a row, and what kind of value
it is) and hand over the rows, usually a query iterated in batches, so a large export never
sits in memory as a list of records. CSV is produced line by line by a generator. XLSX is
written by openpyxl in write-only mode to a spooled temporary file (memory first, disk when
large) and sent from there.

Both formats neutralise text that a spreadsheet would run as a formula (= + - @ and a few
control characters get a leading apostrophe, `safe_cell`). Datetimes are shown in the
programme's time zone (crm.services.clock); XLSX cells hold real numbers, dates and datetimes.

The reports hand over `Table`s: a titled table the page shows and the exports write, whose
percent columns hold percentage points (`percent`).

Exports of personal data (people, interactions, follow-ups, participants) are for
coordinators and up (`Permission.EXPORT_PERSONAL`): `record` checks that and writes one
`export` AuditEvent on the acting user, committed before the first byte is sent.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from crm.access import Permission, can
from crm.extensions import db
from crm.models import AuditAction, Consent, Person, User
from crm.services import audit, clock
from crm.services.errors import PermissionDenied

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
BOM = "\ufeff"
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 500
# Kinds of column: how a value is written and how wide its column starts.
KINDS = ("text", "int", "number", "percent", "date", "month", "datetime")
NUMBER_FORMATS = {
    "date": "yyyy-mm-dd",
    "month": "yyyy-mm",
    "datetime": "yyyy-mm-dd hh:mm",
    "number": "0.0",
    "percent": "0.0",
}
WIDTHS = {"int": 10, "number": 10, "percent": 10, "date": 12, "month": 10, "datetime": 17}
MAX_WIDTH = 60
SPOOL_BYTES = 8 * 1024 * 1024


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Column:
    """One column: its header, how to get its value from a row, and the kind of value.

    `value` reads a record (for list exports) or is an index getter on a tuple (reports).
    Percent columns hold percentage points (25.0 for a quarter), as the pages show them.
    """

    header: str
    value: Callable[[Any], Any] = _identity
    kind: str = "text"
    width: int | None = None


@dataclass(frozen=True)
class Sheet:
    """A titled table of rows: one CSV file, or one worksheet of a workbook."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Any] = field(default_factory=tuple)


def tuple_columns(specs: Iterable[tuple[str, str]]) -> tuple[Column, ...]:
    """Columns reading position i of tuple rows, from (header, kind) pairs."""
    return tuple(Column(header, itemgetter(i), kind) for i, (header, kind) in enumerate(specs))


@dataclass(frozen=True)
class Table:
    """A report's table: what its page shows and its exports write (as one Sheet)."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    personal: bool = False  # names people: exporting it needs Permission.EXPORT_PERSONAL
    note: str = ""
    has_total: bool = False  # the last row sums the others


def percent(share: float | None) -> float | None:
    """A share as percentage points with one decimal (0.25 → 25.0), None without a base."""
    return None if share is None else round(share * 100, 1)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value for a CSV or XLSX export that a spreadsheet shows as text, never runs.

    Text starting with = + - @ (or a tab or carriage return) gets a leading apostrophe, as
    OWASP advises against CSV injection; other values are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive datetime in the programme's zone (spreadsheets know no time zones)."""
    if value.tzinfo is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None)


def text_of(value: Any, kind: str = "text", *, tz: ZoneInfo | None = None) -> str:
    """A cell as CSV text: ISO dates, local datetimes to the minute, '' for None."""
    tz = tz or clock.zone()
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return _local(value, tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m") if kind == "month" else value.isoformat()
    if isinstance(value, float):
        return f"{value:.1f}" if kind in ("number", "percent") else repr(value)
    if isinstance(value, int):
        return str(value)
    return str(safe_cell(str(value)))


def _xlsx_cell(ws: Any, value: Any, kind: str, tz: ZoneInfo) -> Any:
    """A typed cell: numbers and dates stay numbers and dates, text is neutralised."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=_local(value, tz))
        cell.number_format = NUMBER_FORMATS["datetime"]
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = NUMBER_FORMATS["month" if kind == "month" else "date"]
        return cell
    if isinstance(value, float):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = NUMBER_FORMATS.get(kind, "General")
        return cell
    if isinstance(value, int):
        return value
    return safe_cell(str(value))


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def csv_lines(
    columns: Sequence[Column], rows: Iterable[Any], *, tz: ZoneInfo | None = None
) -> Iterator[str]:
    """The CSV text in chunks: a BOM (Excel then reads UTF-8), the header, then the rows."""
    tz = tz or clock.zone()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(c.header) for c in columns])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(rows, start=1):
        writer.writerow([text_of(c.value(row), c.kind, tz=tz) for c in columns])
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------------

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(title: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique worksheet name: at most 31 characters, none of []:*?/\\."""
    base = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'")[:31] or "Sheet"
    used = {t.lower() for t in taken}
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    return name


def _width(column: Column) -> float:
    start = column.width or WIDTHS.get(column.kind, 24)
    return float(min(MAX_WIDTH, max(start, len(column.header) + 2)))


def xlsx_file(sheets: Iterable[Sheet], *, tz: ZoneInfo | None = None) -> IO[bytes]:
    """A workbook with one sheet per table: bold frozen header row, typed cells, column
    widths. Returns a file positioned at its start (memory, spilling to disk when large)."""
    tz = tz or clock.zone()
    workbook = Workbook(write_only=True)
    titles: list[str] = []
    bold = Font(bold=True)
    for sheet in sheets:
        title = sheet_title(sheet.title, titles)
        titles.append(title)
        ws = workbook.create_sheet(title)
        ws.freeze_panes = "A2"
        for i, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = _width(column)
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, value=safe_cell(column.header))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_xlsx_cell(ws, c.value(row), c.kind, tz) for c in sheet.columns])
    if not titles:
        workbook.create_sheet("Sheet")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    workbook.save(spool)
    spool.seek(0)
    return spool


# ---------------------------------------------------------------------------------------------
# Queries and the audit trail
# ---------------------------------------------------------------------------------------------


def contact_detail(person: Person, value: str | None) -> str | None:
    """An email, phone or WeChat ID for an export: left out once the person has withdrawn
    consent, as vCard exports do (crm.services.contacts)."""
    return None if person.consent == Consent.withdrawn else value


def count(stmt: sa.Select[Any]) -> int:
    """How many rows a list query selects (for the audit summary, before streaming)."""
    inner = stmt.order_by(None).options()
    return db.session.scalar(sa.select(sa.func.count()).select_from(inner.subquery())) or 0


def iterate(stmt: sa.Select[Any], *, batch: int = BATCH) -> Iterator[Any]:
    """The records of a query, fetched `batch` at a time (collections via selectinload)."""
    yield from db.session.scalars(stmt.execution_options(yield_per=batch))


def record(
    actor: User,
    *,
    what: str,
    rows: int,
    fmt: str,
    filters: Mapping[str, Any] | None = None,
) -> None:
    """Check that `actor` may export personal data and record the export; commits.

    The event is written on the acting user (entity "users"), since an export may span any
    number of records: "exported people (120 rows)", with the format and the filters used.
    Raises PermissionDenied for viewers and members.
    """
    if not can(actor, Permission.EXPORT_PERSONAL):
        raise PermissionDenied(_("You do not have permission to export personal data."))
    used = {k: audit.json_value(v) for k, v in (filters or {}).items() if v not in (None, "")}
    audit.record(
        actor,
        actor=actor,
        action=AuditAction.export,
        entity_type="users",
        summary=f"exported {what} ({rows} rows)",
        changes={"export": [None, what], "rows": [None, rows], "format": [None, fmt]}
        | ({"filters": [None, used]} if used else {}),
    )
    db.session.commit()
    log.info("user %s exported %s: %d rows as %s", actor.id, what, rows, fmt)


def filename(base: str, fmt: str, day: date) -> str:
    """people-2026-03-04.csv: ASCII, safe in a Content-Disposition header."""
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-") or "export"
    return f"{clean}-{day.isoformat()}.{fmt}"
