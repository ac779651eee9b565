"""Rows to files: CSV (UTF-8 with a BOM) and XLSX, for the list pages and the reports.

Callers choose the columns (a header, how to read a value from a row, and what kind of value
it is) and hand over the rows, usually a query iterated in batches, so a large export never
sits in memory as a list of records. CSV is produced line by line by a generator. XLSX is
written row by row (crm.services.reporting.xlsx) to a spooled temporary file (memory first,
disk when large) and sent from there.

Large lists are read as tuples, not records: `query_sheet` turns the list page's own query
(its filters and its order) into a select of the `Field`s an export shows, related names
included (`owner_name`, `tag_names`), so 20,000 organisations cost one statement and no
ORM objects. Enum labels are translated once per export (`labels`), not once per cell.

Spreadsheet formulas: a CSV cell is escaped with a leading apostrophe only when a spreadsheet
would run it (`safe_cell`: text starting with = or @, a tab or a carriage return, or + or -
that does not start a number, a phone number or a date). "+86 138 0013 8000", "-12.5" and
"2026-03-04" are written as they are. XLSX text is always stored as text, never as a formula,
so it needs no escape at all: what is exported is what is re-imported. Text of either format
first goes through the rule that forms and imports apply (crm.services.text.clean_text):
control characters become spaces, so text stored before that rule still exports, and no file
holds a character a spreadsheet or an XML parser chokes on. Datetimes are shown in
the programme's time zone (crm.services.clock); XLSX cells hold real numbers, dates and
datetimes.

The reports hand over `Table`s: a titled table the page shows and the exports write, whose
percent columns hold percentage points (`percent`). A worksheet is named by the table's short
`sheet` name, else by its title cut at a word boundary (`sheet_title`): Excel allows 31
characters.

Exports of personal data (people, interactions, follow-ups, participants) are for
coordinators and up (`Permission.EXPORT_PERSONAL`): `record` checks that and writes one
`export` AuditEvent on the acting user. It is called once the file has been produced (the
last CSV line generated, the workbook written): an export that fails records nothing.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Activity,
    Affiliation,
    AuditAction,
    Organisation,
    Person,
    Stakeholder,
    Tag,
    User,
    label,
    stakeholder_tags,
)
from crm.services import audit, clock, consent, cross_border
from crm.services.errors import PermissionDenied
from crm.services.reporting import xlsx
from crm.services.text import clean_text

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
BOM = "\ufeff"
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 1000
# Kinds of column: how a value is written and how wide its column starts.
KINDS = ("text", "int", "number", "percent", "date", "month", "datetime")
WIDTHS = {"int": 10, "number": 10, "percent": 10, "date": 12, "month": 10, "datetime": 17}
MAX_WIDTH = 60
SPOOL_BYTES = 8 * 1024 * 1024
SHEET_NAME_LENGTH = 31  # Excel's limit


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
    """A titled table of rows: one CSV file, or one worksheet of a workbook.

    `sheet` is the worksheet's short name (at most 31 characters); without one, the title
    cut at a word boundary names it.
    """

    title: str
    columns: Sequence[Column]
    rows: Iterable[Any] = field(default_factory=tuple)
    sheet: str = ""


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
    sheet: str = ""  # a short worksheet name (31 characters at most); else the title, cut

    def as_sheet(self) -> Sheet:
        return Sheet(self.title, self.columns, self.rows, sheet=self.sheet)


def percent(share: float | None) -> float | None:
    """A share as percentage points with one decimal (0.25 → 25.0), None without a base."""
    return None if share is None else round(share * 100, 1)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

_RISKY_START = frozenset("=+-@\t\r")
# What may follow a leading + or - without making a formula: a number, a phone number (with
# an extension) or a date: "+86 138 0013 8000", "-12.5", "+1 (555) 010-9999 ext. 12", "-3%".
# A lone sign is no formula either. Letters, quotes, |, !, & or a second + are not allowed.
_PLAIN_SIGNED = re.compile(
    r"[+-](?:\s*[\d(][\d\s().,:/\-]*(?:\s*(?:ext\.?|x|#|转|分机)\s*\d+)?\s*%?)?",
    re.IGNORECASE,
)


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet opening a CSV would take `text` for a formula (OWASP's list:
    = + - @ tab CR), leaving out signed numbers and phone numbers, which it shows as they are
    or computes harmlessly."""
    first = text[:1]
    if first not in _RISKY_START:
        return False
    if first in "+-":
        return _PLAIN_SIGNED.fullmatch(text) is None
    return True


def safe_cell(value: Any) -> Any:
    """A value for a CSV export that a spreadsheet shows as text, never runs.

    Control characters become spaces (`clean_text`); text that would run as a formula gets a
    leading apostrophe; everything else, phone numbers and signed numbers included, is
    returned unchanged. (XLSX needs no formula guard: its text cells are never formulas.)
    """
    if value.__class__ is not str:
        return value
    value = clean_text(value, multiline=True)
    if value[:1] in _RISKY_START and runs_as_formula(value):
        return "'" + value
    return value


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive datetime in the programme's zone (spreadsheets know no time zones)."""
    if value.tzinfo is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None)


def text_of(value: Any, kind: str = "text", *, tz: ZoneInfo | None = None) -> str:
    """A cell as CSV text: ISO dates, local datetimes to the minute, '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return _local(value, tz or clock.zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m") if kind == "month" else value.isoformat()
    if isinstance(value, float):
        return f"{value:.1f}" if kind in ("number", "percent") else repr(value)
    if isinstance(value, int):
        return str(value)
    return str(safe_cell(str(value)))


def labels(enum: type[StrEnum]) -> Callable[[Any], str | None]:
    """The display label of a member of `enum`, translated once for a whole export.

    `label()` looks the translation up on every call; an export of 20,000 rows called it
    100,000 times. None stays None (an empty cell), an unknown value is shown as stored.
    """
    table = {member.value: str(label(member)) for member in enum}

    def shown(value: Any) -> str | None:
        return None if value is None else table.get(value, value)

    return shown


# ---------------------------------------------------------------------------------------------
# Rows as tuples
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A column of an export read by one SQL expression: its header, the expression, the
    kind of value, the starting width, and how a value is shown (a label, say)."""

    header: str
    expr: Any
    kind: str = "text"
    width: int | None = None
    shown: Callable[[Any], Any] | None = None


def _reader(index: int, shown: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if shown is None:
        return itemgetter(index)
    return lambda row: shown(row[index])


def query_sheet(
    title: str,
    listing: sa.Select[Any],
    fields: Sequence[Field],
    *,
    sheet: str = "",
    batch: int = BATCH,
) -> Sheet:
    """A Sheet of what `listing` selects, with its filters and in its order, read as tuples.

    `listing` is a list page's query (loader options are ignored); its columns are replaced
    by the fields' expressions, so each row is a tuple and one statement reads them all,
    `batch` rows at a time, when the sheet is written.
    """
    stmt = listing.with_only_columns(*(f.expr for f in fields), maintain_column_froms=True)
    columns = [Column(f.header, _reader(i, f.shown), f.kind, f.width) for i, f in enumerate(fields)]
    return Sheet(title, columns, _tuples(stmt, batch), sheet=sheet)


def _tuples(stmt: sa.Select[Any], batch: int) -> Iterator[Any]:
    """The rows of `stmt`, fetched `batch` at a time, only once iteration starts."""
    yield from db.session.execute(stmt.execution_options(yield_per=batch))


def user_name(user_id: Any) -> sa.ScalarSelect[Any]:
    """The name of the user a column of the outer query refers to (an owner, an assignee)."""
    # Correlated on everything but the users looked up: a query that joins users for its
    # own filter or sort still finds each user by its own id.
    return sa.select(User.name).where(User.id == user_id).correlate_except(User).scalar_subquery()


def owner_name(model: Any) -> sa.ScalarSelect[Any]:
    """The name of the record's owner, as a column of the record's query."""
    return user_name(model.owner_id)


def stakeholder_name(stakeholder_id: Any) -> sa.ScalarSelect[Any]:
    """The display name of the stakeholder a column of the outer query refers to, not for a
    person who withdrew consent to reports (show it with `anonymous`)."""
    return (
        sa.select(consent.reported_name(Stakeholder.display_name, Stakeholder.id))
        .where(Stakeholder.id == stakeholder_id)
        .correlate_except(Stakeholder)
        .scalar_subquery()
    )


def activity_title(activity_id: Any) -> sa.ScalarSelect[Any]:
    """The title of the activity a column of the outer query refers to."""
    return (
        sa.select(Activity.title)
        .where(Activity.id == activity_id)
        .correlate_except(Activity)
        .scalar_subquery()
    )


def _joined(names: sa.Select[Any], model: Any) -> sa.ScalarSelect[Any]:
    """The names one `names` query finds for a record, in its order, joined by ", "."""
    listed = names.correlate(model).subquery()
    return sa.select(sa.func.aggregate_strings(listed.c.name, ", ")).scalar_subquery()


def tag_names(model: Any) -> sa.ScalarSelect[Any]:
    """A stakeholder's tags by name ("labour, textile"), as a column of its query."""
    names = (
        sa.select(Tag.name.label("name"))
        .join(stakeholder_tags, stakeholder_tags.c.tag_id == Tag.id)
        .where(stakeholder_tags.c.stakeholder_id == model.id)
        .order_by(Tag.name)
    )
    return _joined(names, model)


def employer_names() -> sa.ScalarSelect[Any]:
    """The live organisations a person works for now (open positions), newest first."""
    # An alias: the organisation is a stakeholder too, like the person outside.
    employer = aliased(Organisation, flat=True)
    names = (
        sa.select(employer.display_name.label("name"))
        .select_from(Affiliation)
        .join(employer, employer.id == Affiliation.organisation_id)
        .where(
            Affiliation.person_id == Person.id,
            Affiliation.end_on.is_(None),
            Affiliation.deleted_at.is_(None),
            employer.deleted_at.is_(None),
        )
        .order_by(Affiliation.start_on.desc(), Affiliation.id.desc())
    )
    return _joined(names, Person)


def contact_column(column: Any) -> sa.Case[Any]:
    """An email, phone or WeChat ID column of `Person`, empty once the person has withdrawn
    consent to communication or to reports: the rule of `contact_detail`, in SQL."""
    return sa.case((consent.contact_exportable(), column), else_=sa.null())


def contact_detail(person: Person, value: str | None) -> str | None:
    """An email, phone or WeChat ID for an export: left out once the person has withdrawn
    consent to communication or to reports, as vCard exports do (crm.services.consent)."""
    return value if consent.may_export_contact(person) else None


def person_name() -> sa.Case[Any]:
    """A person's display name for an export (show it with `anonymous`): left out once the
    person has withdrawn consent to reports (crm.services.consent)."""
    return consent.person_reported_name()


def person_detail(column: Any) -> sa.Case[Any]:
    """A part of a person's name (Chinese, family, given) for an export: empty once the
    person has withdrawn consent to reports."""
    return consent.hidden_unless_named(column)


def anonymous(value: Any) -> Any:
    """`Field.shown` of a name read through `person_name` or `stakeholder_name`: "Anonymous
    participant" for a person who may not be named."""
    return consent.name_or_anonymous(value)


def iterate(stmt: sa.Select[Any], *, batch: int = BATCH) -> Iterator[Any]:
    """The records of a query, fetched `batch` at a time (collections via selectinload)."""
    yield from db.session.scalars(stmt.execution_options(yield_per=batch))


def count_rows(listing: sa.Select[Any], *, at_most: int | None = None) -> int:
    """How many rows `listing` (a list's query) selects; with `at_most`, counting stops just
    past it, so deciding whether an export is large costs the same whatever the data."""
    rows = listing.order_by(None)  # as the list pages count: the query's own columns
    if at_most is not None:
        rows = rows.limit(at_most + 1)
    return db.session.scalar(sa.select(sa.func.count()).select_from(rows.subquery())) or 0


class Counted:
    """Rows passed through while counting them: how many an export wrote, for its record."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for row in self._rows:
            self.count += 1
            yield row


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------


def _csv_text(kind: str, tz: ZoneInfo, yes: str, no: str) -> Callable[[Any], str]:
    """`text_of` for one column, with the common cases first."""

    def text(value: Any) -> str:
        cls = value.__class__
        if cls is str:
            return str(safe_cell(value))
        if value is None:
            return ""
        if cls is int:
            return str(value)
        if cls is bool:
            return yes if value else no
        return text_of(value, kind, tz=tz)

    return text


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
    yes, no = _("yes"), _("no")
    cells = [(c.value, _csv_text(c.kind, tz, yes, no)) for c in columns]
    for n, row in enumerate(rows, start=1):
        writer.writerow([text(value(row)) for value, text in cells])
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
# Words a cut title should not end on ("Interactions per month by").
_DANGLING = frozenset(
    {"a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "per", "the", "to"}
    | {"with", "vs", "×", "&", "–", "-"}
)
_RESERVED_SHEET_NAMES = frozenset({"history"})  # Excel keeps "History" for itself


def _cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word boundary when it has spaces,
    without a dangling "by", "in the" or punctuation at the end."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    if " " in cut:
        words = cut[: cut.rindex(" ")].split()
        while len(words) > 1 and words[-1].lower() in _DANGLING:
            words.pop()
        cut = " ".join(words).rstrip(" ,;.–-(&×")
    return cut[:limit] or text[:limit]


def sheet_title(title: str, taken: Iterable[str] = (), short: str = "") -> str:
    """A valid, unique worksheet name: `short` when given, else `title` cut at a word
    boundary; at most 31 characters, none of []:*?/\\, never "History"."""
    name = clean_text(short or title)
    clean = " ".join(_SHEET_FORBIDDEN.sub(" ", name).split()).strip("'")
    base = _cut(clean, SHEET_NAME_LENGTH).strip("' ") or "Sheet"
    used = {t.lower() for t in taken} | _RESERVED_SHEET_NAMES
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = _cut(base, SHEET_NAME_LENGTH - len(suffix)) + suffix
        n += 1
    return name


def _width(column: Column) -> float:
    start = column.width or WIDTHS.get(column.kind, 24)
    return float(min(MAX_WIDTH, max(start, len(column.header) + 2)))


def _worksheet(sheet: Sheet, name: str) -> xlsx.Worksheet:
    getters = [c.value for c in sheet.columns]
    return xlsx.Worksheet(
        name=name,
        headers=[c.header for c in sheet.columns],
        kinds=[c.kind for c in sheet.columns],
        widths=[_width(c) for c in sheet.columns],
        rows=([get(row) for get in getters] for row in sheet.rows),
    )


def write_xlsx(out: IO[bytes], sheets: Iterable[Sheet], *, tz: ZoneInfo | None = None) -> None:
    """Write a workbook with one sheet per table to `out`: bold frozen header row, typed
    cells, column widths (a download's spool, or a large export's file in the worker)."""
    titles: list[str] = []

    def worksheets() -> Iterator[xlsx.Worksheet]:
        for sheet in sheets:
            titles.append(sheet_title(sheet.title, titles, sheet.sheet))
            yield _worksheet(sheet, titles[-1])

    xlsx.write(out, worksheets(), tz=tz or clock.zone(), yes_no=(_("yes"), _("no")))


def xlsx_file(sheets: Iterable[Sheet], *, tz: ZoneInfo | None = None) -> IO[bytes]:
    """A workbook as `write_xlsx` writes it, in a file positioned at its start (memory,
    spilling to disk when large)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    try:
        write_xlsx(spool, sheets, tz=tz)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


# ---------------------------------------------------------------------------------------------
# The audit trail and the file name
# ---------------------------------------------------------------------------------------------


def check(actor: User) -> None:
    """Raise PermissionDenied unless `actor` may export personal data (coordinators and up)."""
    if not can(actor, Permission.EXPORT_PERSONAL):
        raise PermissionDenied(_("You do not have permission to export personal data."))


def record(
    actor: User,
    *,
    what: str,
    rows: int,
    fmt: str,
    filters: Mapping[str, Any] | None = None,
    headquarters: sa.Select[Any] | Iterable[int] | None = None,
) -> None:
    """Check that `actor` may export personal data and record the export; commits.

    Call it once the file has been produced. The event is written on the acting user
    (entity "users"), since an export may span any number of records: "exported people
    (120 rows)", with the format and the filters used. An export "for headquarters" gives
    the people it holds (`headquarters`: a select of their ids, or the ids): they are counted
    as sent abroad this year (crm.services.cross_border), linked to this event. Raises
    PermissionDenied for viewers and members.
    """
    check(actor)
    used = {k: audit.json_value(v) for k, v in (filters or {}).items() if v not in (None, "")}
    event = audit.record(
        actor,
        actor=actor,
        action=AuditAction.export,
        entity_type="users",
        summary=f"exported {what} ({rows} rows)",
        changes={"export": [None, what], "rows": [None, rows], "format": [None, fmt]}
        | ({"filters": [None, used]} if used else {})
        | ({"headquarters": [None, True]} if headquarters is not None else {}),
    )
    if headquarters is not None:
        cross_border.record_transfers(headquarters, event=event)
    db.session.commit()
    log.info("user %s exported %s: %d rows as %s", actor.id, what, rows, fmt)


def period_text(start: date, end: date) -> str:
    """A period for a file name: 2026 for a calendar year, 2026-Q1 for a quarter, 2026-03
    for a month, 2026-03-04 for a day, else 2026-01-05-to-2026-02-20."""
    after = end + timedelta(days=1)
    if start.day == 1 and after.day == 1:
        months = (after.year - start.year) * 12 + after.month - start.month
        if months == 12 and start.month == 1:
            return str(start.year)
        if months == 3 and start.month % 3 == 1:
            return f"{start.year}-Q{start.month // 3 + 1}"
        if months == 1:
            return start.strftime("%Y-%m")
    if start == end:
        return start.isoformat()
    return f"{start.isoformat()}-to-{end.isoformat()}"


def filename(base: str, fmt: str, period: date | tuple[date, date] | str) -> str:
    """The download's name, ASCII and safe in a Content-Disposition header.

    A list is named after the day it was taken (people-2026-03-04.csv); a report, or a list
    filtered to a period, after that period (engagement-report-2026-Q1.xlsx, see
    `period_text`), never after the day it was downloaded.
    """
    if isinstance(period, tuple):
        when = period_text(*period)
    elif isinstance(period, date):
        when = period.isoformat()
    else:
        when = period
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{base}-{when}").strip("-") or "export"
    return f"{clean}.{fmt}"
