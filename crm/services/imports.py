"""Importing organisations and people from spreadsheets: read, map, preview, match, commit.

The pipeline is a chain of plain functions, so other imports reuse the parts they need (the
attendance sheet of an activity reads, maps and matches people exactly like this module):

1. **Reading** — `read_table(data, filename, limits=)` turns the bytes of a CSV or XLSX file
   into a `Table`: the header row and the data rows as text, each row with its number as the
   spreadsheet shows it (the header is row 1). CSV is decoded as UTF-8 (with or without BOM),
   then GB18030 (a superset of GBK, what Excel in China writes), or UTF-16 with a BOM; other
   bytes are rejected. The delimiter (comma, semicolon or tab) is sniffed from the header.
   XLSX is read with openpyxl (read-only, cached values): a formula yields the result Excel
   saved, never its text, and a formula without a saved result is an error on its row.
   Excel dates become ISO dates; whitespace is trimmed; empty rows are skipped. Limits
   (`Limits`: bytes, rows, columns) and unreadable files raise InvalidInput with a message
   for the user.

   `table_from_records(records)` is the entry point for rows another parser has already
   produced, keyed by the canonical field names of a kind (below): a .vcf file goes through
   `crm.services.contacts.parse_vcards` and then the same preview. `read_upload` picks the
   reader by file name (.vcf, else CSV/XLSX).

2. **Mapping** — each kind of import (`KINDS`: "organisations", "people", "attendance") is a
   `Kind`: a
   registry of `FieldSpec`s (canonical name, label, header aliases in English and Chinese,
   including Google Contacts and Outlook exports, and a parser that validates a cell and maps
   enum values such as 男 → male or 纺织/服装 → textile), plus how a row becomes record data,
   how rows are matched to existing records and how a row is written. `guess_mapping` maps
   headers to fields; the user may change it. `locate_header` skips title rows above the
   headers (sign-in sheets often have one).

3. **Preview** — `prepare(table, kind, mapping=)` validates every row (errors carry the
   column name) and finds duplicate candidates with the keys of crm.services.duplicates
   (people: same email, phone or WeChat ID, or the same name unless both sides name
   different organisations; organisations: same normalised name), in batched queries, and
   rows repeated within the file. It writes nothing.

4. **Staging** — the web UI keeps the parsed file in an `ImportBatch` (`stage`, `remap`,
   `decide`, `discard`, `preview_of`), so a large file is parsed once and the preview pages
   read it back.

5. **Writing** — `commit_steps(batch, ...)` checks everything it can before writing (errors,
   chosen records still there) and then returns a generator that writes row after row,
   yielding `Progress` and finally the `ImportReport`. All rows go into ONE transaction,
   committed after the last row: any failure rolls everything back, and so does closing the
   generator early (a client that disconnects). `commit` runs it to the end; `run` does the
   same for a table without staging (the CLI, with a dry run that rolls back).

**Attendance sheets.** The third kind, "attendance", is an activity's sign-in sheet: the
people fields, read, built and matched exactly as for "people", with the activity in
`stage(..., options={"activity_id": ...})` (checked when staged and again when committed).
A row that matches a person fills in only what their record lacks (a handwritten sheet does
not overwrite what the CRM holds); a new name creates the person. After the last row, the
kind's `after` step marks everyone written as attended through
`crm.services.activities.enrol` (existing participants get the status "attended"), with the
organisation the sheet names as their organisation at the time, inside the same transaction.
A skipped row is not marked. Another kind of import is another `Kind` in `KINDS`.

Writes go through the stakeholder service's flush-only helpers (`_insert`, `_change`,
`_attach`), so pinyin, match keys, the search index and audit events are written exactly as
for a record created in a form.

Spreadsheet formulas: nothing here evaluates a cell. A CSV cell "=1+2" is the text "=1+2";
exports must pass text through `safe_cell` so that values starting with = + - @ are never
written back unescaped into a CSV or XLSX that a spreadsheet would run (CSV injection).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import zip_longest
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, Role, can
from crm.extensions import db
from crm.models import (
    Activity,
    Affiliation,
    Consent,
    DuplicateAction,
    EngagementLevel,
    Gender,
    ImportBatch,
    ImportKind,
    ImportStatus,
    Language,
    Organisation,
    OrgType,
    Ownership,
    ParticipationRole,
    ParticipationStatus,
    Person,
    Sector,
    SizeBand,
    Stakeholder,
    SupplyChainRole,
    User,
    label,
    utcnow,
)
from crm.services import audit, duplicates, stakeholders
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.text import has_han

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MB
# Stop reading a worksheet after this many empty rows in a row: sheets whose formatting
# reaches row 1,048,576 would otherwise be walked to the end.
_MAX_BLANK_RUN = 1000
# How many rows above the data may hold a title instead of the headers.
_HEADER_SEARCH = 10
_CHUNK = 500


@dataclass(frozen=True)
class Limits:
    """What a file may hold; the web UI reads max_bytes from IMPORT_MAX_BYTES."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = 20_000
    max_columns: int = 200


def _require(actor: User | None) -> None:
    if not can(actor, Permission.IMPORT):
        raise PermissionDenied(_("Imports are for coordinators, managers and administrators."))


# ---------------------------------------------------------------------------------------------
# 1. Reading: bytes → Table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A header and data rows of text, cells padded to the header's width.

    `source` says how the file was read: format (csv, xlsx, records), encoding, delimiter,
    sheet, and notices for the user. `cell_errors` marks cells that could not be read (a
    formula without a saved result) by (row number, column index).
    """

    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    header_row: int = 1
    source: Mapping[str, Any] = field(default_factory=dict)
    cell_errors: Mapping[tuple[int, int], str] = field(default_factory=dict)


_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
VCARD_EXTENSIONS = (".vcf", ".vcard")


def _clean(value: str) -> str:
    """Trim spaces (also full-width, no-break and zero-width ones) around a cell; control
    characters (an XLSX can hold _x0000_) become spaces, since no database column takes NUL."""
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n"))
    return value.strip().strip("\u200b\ufeff").strip()


def _extension(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "." + name.rsplit(".", 1)[1] if "." in name else ""


def _size_text(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def read_table(data: bytes, filename: str, *, limits: Limits | None = None) -> Table:
    """The header and rows of a CSV or XLSX file; raises InvalidInput for anything unreadable.

    Writes nothing. The format comes from the content (an XLSX renamed .csv still reads), the
    file name only decides between text and the formats we refuse.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            _(
                "The file is %(size)s; files of at most %(limit)s can be imported. "
                "Split it into smaller files.",
                size=_size_text(len(data)),
                limit=_size_text(limits.max_bytes),
            )
        )
    if not data.strip():
        raise InvalidInput(_("The file is empty."))
    extension = _extension(filename)
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data, limits)
    if data.startswith(_OLE_MAGIC):
        raise InvalidInput(
            _(
                "Old Excel files (.xls) cannot be read. In Excel, save the file as "
                "“Excel Workbook (.xlsx)” or “CSV UTF-8”, then upload it again."
            )
        )
    if extension in XLSX_EXTENSIONS:
        raise InvalidInput(_("This file is not a valid Excel workbook (.xlsx)."))
    if extension not in (*TEXT_EXTENSIONS, ""):
        raise InvalidInput(
            _(
                "Upload a CSV file (.csv) or an Excel workbook (.xlsx), not a %(ext)s file.",
                ext=extension,
            )
        )
    return _read_csv(data, limits)


def read_upload(data: bytes, filename: str, *, kind: str, limits: Limits | None = None) -> Table:
    """`read_table`, or for a people import a vCard file through crm.services.contacts."""
    limits = limits or Limits()
    if _extension(filename) in VCARD_EXTENSIONS:
        if kind not in (ImportKind.people, ImportKind.attendance):
            raise InvalidInput(_("vCard files hold people; choose “People” to import them."))
        if len(data) > limits.max_bytes:
            return read_table(data, filename, limits=limits)  # the same message for the size
        from crm.services import contacts

        return table_from_records(contacts.parse_vcards(data), source={"format": "vcard"})
    return read_table(data, filename, limits=limits)


def table_from_records(
    records: Sequence[Mapping[str, Any]],
    *,
    source: Mapping[str, Any] | None = None,
    first_row: int = 1,
) -> Table:
    """A Table from rows already keyed by canonical field names (a vCard parser's output).

    The headers are the field names in the order first seen, so `guess_mapping` maps each to
    itself; rows are numbered from `first_row` (the first contact is 1). Values are cleaned
    as spreadsheet cells are; empty records are dropped.
    """
    headers: list[str] = []
    for record in records:
        for name in record:
            if name not in headers:
                headers.append(name)
    rows = []
    for number, record in enumerate(records, start=first_row):
        cells = tuple(_cell_text(record.get(name)) for name in headers)
        if any(cells):
            rows.append(Row(number, cells))
    if not rows:
        raise InvalidInput(_("The file holds no rows to import."))
    return Table(
        headers=tuple(headers),
        rows=tuple(rows),
        header_row=0,
        source={"format": "records", **(source or {})},
    )


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: UTF-8 (BOM or not), GB18030, UTF-16 with BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data:
        raise InvalidInput(
            _(
                "This file contains binary data, so it is not a CSV file. If it is a "
                "spreadsheet, save it as .xlsx or as “CSV UTF-8” and upload it again."
            )
        )
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
        else:
            return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    raise InvalidInput(
        _(
            "The file's text encoding could not be recognised (UTF-8, GBK and GB18030 can be "
            "read). In Excel, save it as “CSV UTF-8 (comma delimited)” and upload it again."
        )
    )


def _sniff_delimiter(text: str) -> str:
    """The most frequent of comma, semicolon and tab outside quotes in the first line."""
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            if any(counts.values()):
                break
        elif char in counts and not quoted:
            counts[char] += 1
    best = max(counts, key=lambda c: (counts[c], c == ","))
    return best if counts[best] else ","


def _read_csv(data: bytes, limits: Limits) -> Table:
    text, encoding = _decode(data)
    text = text.lstrip("\ufeff").rstrip("\x1a")  # a UTF-16 BOM; DOS end-of-file marks
    controls = _CONTROL.findall(text)
    if len(controls) > 10:
        raise InvalidInput(
            _(
                "This file contains binary data, so it is not a CSV file. If it is a "
                "spreadsheet, save it as .xlsx or as “CSV UTF-8” and upload it again."
            )
        )
    if controls:
        text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise InvalidInput(_("The file is empty."))
    notices: list[str] = []
    first_line = text.split("\n", 1)[0].strip()
    hint = re.fullmatch(r"sep=(.)", first_line)
    if hint:  # Excel's "sep=;" line: it names the delimiter and Excel does not show it
        delimiter = hint.group(1)
        text = text.split("\n", 1)[1] if "\n" in text else ""
    else:
        delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    try:
        for number, raw in enumerate(reader, start=1):
            cells = [_clean(c) for c in raw]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            _check_width(number, len(cells), limits)
            rows.append(Row(number, tuple(cells)))
            _check_length(len(rows), limits)
    except csv.Error:
        raise InvalidInput(
            _(
                "Row %(row)d could not be read: a cell is too long or a quote is not closed.",
                row=reader.line_num,
            )
        ) from None
    source = {"format": "csv", "encoding": encoding, "delimiter": delimiter, "notices": notices}
    return _table(rows, source, {})


def _check_width(number: int, width: int, limits: Limits) -> None:
    if width > limits.max_columns:
        raise InvalidInput(
            _(
                "Row %(row)d has %(count)d columns; at most %(limit)d can be imported. "
                "Remove the extra columns and upload the file again.",
                row=number,
                count=width,
                limit=limits.max_columns,
            )
        )


def _check_length(count: int, limits: Limits) -> None:
    if count > limits.max_rows + 1:  # the header is one of them
        raise InvalidInput(
            _(
                "The file has more than %(limit)d rows. Split it into files of at most "
                "%(limit)d rows and import them one after the other.",
                limit=limits.max_rows,
            )
        )


def _table(
    rows: list[Row], source: Mapping[str, Any], cell_errors: Mapping[tuple[int, int], str]
) -> Table:
    if not rows:
        raise InvalidInput(_("The file is empty."))
    if len(rows) < 2:
        raise InvalidInput(
            _("The file has a header row but no rows below it: there is nothing to import.")
        )
    width = max(len(row.cells) for row in rows)
    padded = [Row(r.number, r.cells + ("",) * (width - len(r.cells))) for r in rows]
    return Table(
        headers=padded[0].cells,
        rows=tuple(padded[1:]),
        header_row=padded[0].number,
        source=source,
        cell_errors=cell_errors,
    )


def _cell_text(value: Any) -> str:
    """A cell value as text: dates in ISO 8601, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return _clean(str(value))


def _read_xlsx(data: bytes, limits: Limits) -> Table:
    not_a_workbook = _(
        "This file could not be read as an Excel workbook (.xlsx). Open it in Excel, save it "
        "as “Excel Workbook (.xlsx)” or “CSV UTF-8”, and upload it again."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidInput(not_a_workbook) from None
    if unpacked > limits.max_bytes * 30:
        raise InvalidInput(
            _("The workbook is too large once unpacked. Split it into smaller files.")
        )
    import openpyxl

    books = []
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; none matter for values.
            warnings.simplefilter("ignore")
            # Two passes over the same sheet: the saved results, and the cells' types to see
            # which were formulas (openpyxl gives one or the other).
            values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            books.append(values)
            formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
            books.append(formulas)
            return _read_sheet(values, formulas, limits)
    except InvalidInput:
        raise
    except Exception as err:  # openpyxl raises anything from KeyError to XML errors
        log.info("unreadable workbook: %s", type(err).__name__)
        raise InvalidInput(not_a_workbook) from None
    finally:
        for book in books:
            book.close()


def _sheet(book: Any) -> Any:
    sheet = book.active
    if sheet is None or not hasattr(sheet, "iter_rows"):
        sheet = book.worksheets[0]
    sheet.reset_dimensions()  # trust the cells, not the sheet's claimed size
    return sheet


def _read_sheet(values: Any, formulas: Any, limits: Limits) -> Table:
    sheet = _sheet(values)
    formula_sheet = formulas[sheet.title]
    formula_sheet.reset_dimensions()
    notices: list[str] = []
    if len(values.sheetnames) > 1:
        notices.append(
            _(
                "Only the sheet “%(sheet)s” was read; the workbook has %(count)d sheets.",
                sheet=sheet.title,
                count=len(values.sheetnames),
            )
        )
    rows: list[Row] = []
    cell_errors: dict[tuple[int, int], str] = {}
    formula_count = 0
    blank_run = 0
    pairs = zip_longest(sheet.iter_rows(values_only=True), formula_sheet.iter_rows())
    for number, (row_values, row_cells) in enumerate(pairs, start=1):
        cells = [_cell_text(v) for v in row_values or ()]
        for column, cell in enumerate(row_cells or ()):
            if getattr(cell, "data_type", None) != "f":
                continue
            formula_count += 1
            if column >= len(cells) or not cells[column]:
                while len(cells) <= column:
                    cells.append("")
                cell_errors[(number, column)] = _(
                    "the formula %(formula)s has no saved result. Open the file in Excel, "
                    "save it, and upload it again (or paste the values instead of formulas).",
                    formula=str(cell.value)[:60],
                )
                cells[column] = ""
        last = max(
            [i for i, c in enumerate(cells) if c]
            + [c for r, c in cell_errors if r == number]
            + [-1]
        )
        cells = cells[: last + 1]
        if not cells:
            blank_run += 1
            if blank_run > _MAX_BLANK_RUN and rows:
                break
            continue
        blank_run = 0
        _check_width(number, len(cells), limits)
        rows.append(Row(number, tuple(cells)))
        _check_length(len(rows), limits)
    if formula_count:
        notices.append(
            ngettext(
                "%(num)d cell holds a formula: the result Excel saved was imported, never "
                "the formula.",
                "%(num)d cells hold formulas: the results Excel saved were imported, "
                "never the formulas.",
                formula_count,
            )
        )
    source = {"format": "xlsx", "sheet": sheet.title, "notices": notices}
    return _table(rows, source, cell_errors)


# ---------------------------------------------------------------------------------------------
# 2. Mapping: fields of each kind, header aliases, cell parsers
# ---------------------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell value a field cannot take; the message says why, for the user."""


def _key(text: str) -> str:
    """Headers and enum values compared without case, spaces or punctuation (全角 too)."""
    plain = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[^0-9a-z+\u3400-\u4dbf\u4e00-\u9fff]", "", plain)


@dataclass(frozen=True)
class FieldSpec:
    """One importable field: what it is called, which headers mean it, how a cell is read.

    `aliases` are compared with `_key` (so "E-mail 1 - Value" is "email1value"); a field
    fed by several columns takes the first non-empty one in the order of its aliases.
    `weak_aliases` count only when no column has a regular alias of the field ("Title" is a
    job title in a plain sheet, but Mr./Ms. in an Outlook export that has "Job Title").
    """

    name: str
    label: Any
    parse: Callable[[str], Any]
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()


def _text(max_length: int, *, multiline: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip() if multiline else _WHITESPACE.sub(" ", value).strip()
        if len(value) > max_length:
            raise CellError(
                _(
                    "longer than %(limit)d characters (%(count)d).",
                    limit=max_length,
                    count=len(value),
                )
            )
        return value

    return parse


def _first(value: str, separators: str = r"\s*(?::::|;|；|,|，|/|\n)\s*") -> str:
    """The first of several values in one cell (Google joins them with " ::: ")."""
    parts = [p for p in re.split(separators, value) if p.strip()]
    return parts[0].strip() if parts else ""


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _email(value: str) -> str:
    value = _first(unicodedata.normalize("NFKC", value)).lower()
    if value.startswith("mailto:"):
        value = value[7:]
    if not _EMAIL.match(value):
        raise CellError(_("“%(value)s” is not an email address.", value=value[:80]))
    if len(value) > 254:
        raise CellError(
            _("longer than %(limit)d characters (%(count)d).", limit=254, count=len(value))
        )
    return value


_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,40}$")  # as the person form accepts it


def _phone(value: str) -> str:
    value = _first(unicodedata.normalize("NFKC", value), r"\s*(?::::|;|；|,|，|/|\n)\s*")
    value = value.lstrip("'").strip()
    if value.lower().startswith("tel:"):
        value = value[4:].strip()
    if not _PHONE.match(value):
        raise CellError(
            _(
                "“%(value)s” is not a phone number (digits, spaces, brackets and dashes, "
                "with an optional leading +).",
                value=value[:60],
            )
        )
    return value


def _tags(value: str) -> list[str]:
    names = [t.strip() for t in re.split(r"\s*(?::::|,|，|;|；|、|\|)\s*", value) if t.strip()]
    for name in names:
        if len(name) > 60:
            raise CellError(_("a tag may have at most 60 characters: “%(tag)s…”.", tag=name[:20]))
    return list(dict.fromkeys(names))


def _score(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = 0
    if not number.is_integer() or not 1 <= number <= 5:
        raise CellError(_("“%(value)s” is not a whole number from 1 to 5.", value=value[:20]))
    return int(number)


# Excel counts days from 1899-12-30 (the 1900 leap-year bug included); 20000–80000 covers
# 1954–2119, so an ordinary number in a date column is not mistaken for a date.
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value: str) -> date:
    """An ISO date, 2024/3/5, 2024年3月5日, 20240305, or an Excel serial day number."""
    value = unicodedata.normalize("NFKC", value).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", value) and 20000 <= float(value) <= 80000:
        return _EXCEL_EPOCH + timedelta(days=int(float(value)))
    for pattern in _DATE_PATTERNS:
        found = pattern.match(value)
        if found:
            try:
                return date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                break
    raise CellError(_("“%(value)s” is not a date; write it as 2024-03-05.", value=value[:30]))


def _past_date(value: str) -> date:
    parsed = parse_date(value)
    if parsed > datetime.now(UTC).date():
        raise CellError(_("%(date)s is in the future.", date=parsed.isoformat()))
    return parsed


def _choice(enum: type[StrEnum], synonyms: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """A parser for enum values: the value itself, its English label, or a listed synonym."""
    table: dict[str, StrEnum] = {}
    for member in enum:
        table[_key(member.value)] = member
        table[_key(member.value.replace("_", " "))] = member
        for word in synonyms.get(member.value, ()):
            table[_key(word)] = member
    examples = ", ".join(m.value for m in enum)

    def parse(value: str) -> Any:
        found = table.get(_key(value))
        if found is None:
            raise CellError(
                _("“%(value)s” is not one of: %(choices)s.", value=value[:40], choices=examples)
            )
        return found

    return parse


def _words(text: str) -> tuple[str, ...]:
    """Synonyms or header aliases written as one string, compared as `_key`s."""
    return tuple(_key(word) for word in text.split())


_GENDER = _choice(
    Gender,
    {
        "female": _words("女 女性 女士 小姐 f w woman women"),
        "male": _words("男 男性 男士 先生 m man men"),
        "other": _words("其他 其它 o diverse nonbinary"),
        "undisclosed": _words(
            "未知 保密 不详 不愿透露 u unknown unspecified notspecified prefernottosay n/a"
        ),
    },
)
_ORG_TYPE = _choice(
    OrgType,
    {
        "enterprise": _words(
            "企业 公司 工厂 厂 企业单位 民营企业 company business firm factory manufacturer "
            "supplier brand"
        ),
        "government": _words(
            "政府 政府部门 政府机构 政府机关 机关 行政机关 部委 主管部门 government gov govt "
            "ministry authority governmentagency"
        ),
        "industry_body": _words(
            "行业协会 协会 商会 行业组织 行业机构 联合会 行业商会 industryassociation "
            "association businessassociation chamber chamberofcommerce "
            "employersorganisation employersorganization"
        ),
        "trade_union": _words("工会 总工会 union laborunion labourunion workersorganisation"),
        "ngo": _words(
            "非政府组织 社会组织 公益组织 民间组织 社会团体 基金会 nonprofit npo civilsociety "
            "foundation cso"
        ),
        "academic": _words(
            "学术机构 高校 大学 学院 研究机构 科研机构 研究院 研究所 智库 academia university "
            "research researchinstitute thinktank academicresearch"
        ),
        "international": _words(
            "国际组织 国际机构 internationalorganisation internationalorganization io un donor"
        ),
        "other": _words("其他 其它"),
    },
)
_SECTOR = _choice(
    Sector,
    {
        "electronics": _words(
            "电子 电子行业 电子信息 电子产业 电子制造 电子制造业 电子业 electronic ict "
            "electronicsindustry"
        ),
        "textile": _words(
            "纺织 服装 纺织服装 纺织服装业 纺织品 服装业 纺织业 纺织行业 服装行业 纺织服装行业 "
            "服饰 textiles garment garments apparel textileandgarment textilesandgarments "
            "textilegarment textileandapparel"
        ),
        "both": _words(
            "两者 两个行业 电子和纺织 电子与纺织 电子及纺织 电子纺织 纺织和电子 "
            "electronicsandtextile electronicsandtextiles"
        ),
        "cross_sector": _words("跨行业 跨领域 综合 多行业 全行业 cross multisector all general"),
    },
)
_OWNERSHIP = _choice(
    Ownership,
    {
        "state_owned": _words("国有 国企 国有企业 国营 央企 soe state"),
        "private": _words("民营 私营 民企 私企 民营企业 私营企业 privatelyowned"),
        "foreign_invested": _words("外资 外商投资 外企 外商独资 外资企业 独资 foreign fie wfoe"),
        "joint_venture": _words("合资 中外合资 合资企业 jv"),
        "not_applicable": _words("不适用 无 na n/a none"),
    },
)
_SIZE_WORDS = _choice(
    SizeBand,
    {
        "micro": _words("微型 微型企业 微"),
        "small": _words("小型 小型企业 小"),
        "medium": _words("中型 中型企业 中"),
        "large": _words("大型 大型企业 大"),
        "unknown": _words("未知 不详"),
    },
)


def _size_band(value: str) -> Any:
    """A size band by name, or from a head count: 350, 350人, 100-499, 1000+."""
    digits = re.match(
        r"^\s*(\d[\d,]*)\s*(?:[-–~至到]\s*\d[\d,]*)?\s*(?:\+|人|名|employees)?\s*$", value
    )
    if digits:
        count = int(digits[1].replace(",", ""))
        if count < 20:
            return SizeBand.micro
        if count < 100:
            return SizeBand.small
        if count < 1000:
            return SizeBand.medium
        return SizeBand.large
    return _SIZE_WORDS(value)


_SUPPLY_CHAIN = _choice(
    SupplyChainRole,
    {
        "brand_buyer": _words(
            "品牌 品牌商 采购商 买家 品牌/采购商 brand buyer brandorbuyer retailer"
        ),
        "tier1_supplier": _words("一级供应商 一级 直接供应商 tier1 directsupplier"),
        "tier2_supplier": _words(
            "二级供应商 二级及以上供应商 二级以上供应商 二级 上游供应商 tier2 tier2+ tier2+supplier"
        ),
        "not_applicable": _words("不适用 无 na n/a none"),
    },
)
_ENGAGEMENT = _choice(
    EngagementLevel,
    {
        "unaware": _words("不了解 未知晓 不知情"),
        "aware": _words("了解 知晓 知情"),
        "engaged": _words("参与 已参与"),
        "committed": _words("承诺 投入 已承诺"),
        "champion": _words("倡导者 推动者 积极推动者"),
    },
)
_LANGUAGE = _choice(
    Language,
    {
        "zh": _words("中文 汉语 普通话 简体中文 中 chinese zhcn cn mandarin"),
        "en": _words("英文 英语 英 english enus engb"),
    },
)
_CONSENT = _choice(
    Consent,
    {
        "given": _words("同意 已同意 是 yes y true agreed 1"),
        "withdrawn": _words("撤回 已撤回 撤销 revoked"),
        "unknown": _words("未知 不详"),
    },
)

_ENGAGEMENT_ALIASES = _words("参与程度 参与度 engagement engagementlevel")
_INFLUENCE_ALIASES = _words("影响力 influence")
_INTEREST_ALIASES = _words("兴趣 关注度 兴趣度 interest")
_TAG_ALIASES = _words("标签 tags tag categories")
_NOTE_ALIASES = _words("备注 说明 附注 注释 notes note remarks comments comment")

ORGANISATION_IMPORT_FIELDS = (
    FieldSpec(
        "name",
        _l("Name (any language)"),
        _text(200),
        _words(
            "名称 单位名称 机构名称 组织名称 公司名称 企业名称 单位 公司 企业 机构 组织 name "
            "organisation organization organisationname organizationname company companyname "
            "orgname"
        ),
    ),
    FieldSpec(
        "display_name",
        _l("Name in English"),
        _text(200),
        _words("英文名称 英文名 englishname nameinenglish nameen displayname"),
    ),
    FieldSpec(
        "chinese_name",
        _l("Chinese name"),
        _text(200),
        _words("中文名称 中文名 chinesename nameinchinese namezh"),
    ),
    FieldSpec(
        "org_type",
        _l("Type"),
        _ORG_TYPE,
        _words(
            "类型 单位类型 机构类型 组织类型 单位性质 机构性质 type organisationtype "
            "organizationtype orgtype stakeholdertype"
        ),
    ),
    FieldSpec(
        "sector", _l("Sector"), _SECTOR, _words("行业 所属行业 领域 行业领域 sector industry")
    ),
    FieldSpec(
        "ownership",
        _l("Ownership"),
        _OWNERSHIP,
        _words("所有制 企业性质 所有制性质 所有制类型 ownership ownershiptype"),
    ),
    FieldSpec(
        "size_band",
        _l("Size"),
        _size_band,
        _words(
            "规模 企业规模 员工人数 员工数 职工人数 人数 size sizeband employees headcount "
            "numberofemployees"
        ),
    ),
    FieldSpec(
        "supply_chain_role",
        _l("Supply-chain role"),
        _SUPPLY_CHAIN,
        _words("供应链角色 供应链地位 供应链位置 supplychainrole supplychain"),
    ),
    FieldSpec(
        "province", _l("Province"), _text(60), _words("省份 省 所在省份 province state region")
    ),
    FieldSpec("city", _l("City"), _text(80), _words("城市 市 所在城市 所在地 city")),
    FieldSpec(
        "address",
        _l("Address"),
        _text(300),
        _words("地址 详细地址 通讯地址 单位地址 公司地址 address street streetaddress"),
    ),
    FieldSpec(
        "website",
        _l("Website"),
        _text(300),
        _words("网址 网站 官网 主页 website web url homepage webpage"),
    ),
    FieldSpec("engagement_level", _l("Engagement level"), _ENGAGEMENT, _ENGAGEMENT_ALIASES),
    FieldSpec("influence", _l("Influence (1–5)"), _score, _INFLUENCE_ALIASES),
    FieldSpec("interest", _l("Interest (1–5)"), _score, _INTEREST_ALIASES),
    FieldSpec("tags", _l("Tags"), _tags, _TAG_ALIASES),
    FieldSpec("notes", _l("Notes"), _text(20000, multiline=True), _NOTE_ALIASES),
)

PERSON_IMPORT_FIELDS = (
    FieldSpec(
        "full_name",
        _l("Full name"),
        _text(200),
        _words(
            "姓名 名字 全名 联系人 联系人姓名 参会人 参会人员 参会者 学员姓名 与会者 name "
            "fullname contactname displayname participant attendee"
        ),
    ),
    FieldSpec(
        "chinese_name",
        _l("Chinese name"),
        _text(200),
        _words("中文名 中文姓名 中文名字 汉字姓名 chinesename namezh nameinchinese"),
    ),
    FieldSpec(
        "family_name", _l("Family name"), _text(80), _words("姓 姓氏 familyname lastname surname")
    ),
    FieldSpec("given_name", _l("Given name"), _text(80), _words("名 givenname firstname forename")),
    FieldSpec("gender", _l("Gender"), _GENDER, _words("性别 gender sex")),
    FieldSpec(
        "organisation",
        _l("Organisation"),
        _text(200),
        _words(
            "单位 单位名称 工作单位 所在单位 公司 公司名称 企业 企业名称 机构 机构名称 组织 "
            "组织名称 organisation organization company companyname employer "
            "organization1name organizationname organisationname affiliation"
        ),
    ),
    FieldSpec(
        "job_title",
        _l("Job title"),
        _text(120),
        _words(
            "职务 职位 职称 岗位 头衔 jobtitle position organization1title organizationtitle "
            "occupation"
        ),
        weak_aliases=_words("title"),
    ),
    FieldSpec(
        "email",
        _l("Email"),
        _email,
        _words(
            "邮箱 电子邮箱 电子邮件 邮件 邮箱地址 电子邮件地址 email emailaddress mail "
            "email1value email1 primaryemail"
        ),
    ),
    FieldSpec(
        "phone",
        _l("Phone"),
        _phone,
        # Mobile numbers first: a row with several phone columns takes the first filled one.
        _words(
            "手机 手机号 手机号码 移动电话 电话 联系电话 电话号码 联系方式 办公电话 mobile "
            "mobilephone mobilenumber cellphone cell phone phonenumber telephone tel "
            "phone1value primaryphone businessphone homephone"
        ),
    ),
    FieldSpec(
        "wechat_id",
        _l("WeChat ID"),
        _text(60),
        _words("微信 微信号 微信id wechat wechatid weixin wxid"),
    ),
    FieldSpec(
        "preferred_language",
        _l("Preferred language"),
        _LANGUAGE,
        _words("语言 首选语言 偏好语言 工作语言 language preferredlanguage"),
    ),
    FieldSpec("consent", _l("Consent"), _CONSENT, _words("同意 数据同意 同意情况 consent")),
    FieldSpec(
        "consent_on",
        _l("Consent date"),
        _past_date,
        _words("同意日期 同意时间 consentdate consenton consentedon"),
    ),
    FieldSpec("consent_source", _l("Consent source"), _text(200), _words("同意来源 consentsource")),
    FieldSpec("engagement_level", _l("Engagement level"), _ENGAGEMENT, _ENGAGEMENT_ALIASES),
    FieldSpec("influence", _l("Influence (1–5)"), _score, _INFLUENCE_ALIASES),
    FieldSpec("interest", _l("Interest (1–5)"), _score, _INTEREST_ALIASES),
    FieldSpec("tags", _l("Tags"), _tags, _TAG_ALIASES),
    FieldSpec("notes", _l("Notes"), _text(20000, multiline=True), _NOTE_ALIASES),
)


def _alias_rank(spec: FieldSpec, header: str) -> int:
    key = _key(header)
    if key in spec.aliases:
        return spec.aliases.index(key)
    if key in spec.weak_aliases:
        return len(spec.aliases) + spec.weak_aliases.index(key)
    return 10_000


# ---------------------------------------------------------------------------------------------
# 3. Preview: validated rows with their duplicate candidates
# ---------------------------------------------------------------------------------------------

REASON_LABELS: dict[str, Any] = {
    "email": _l("same email"),
    "phone": _l("same phone"),
    "wechat": _l("same WeChat ID"),
    "name": _l("same name"),
    "chinese_name": _l("same Chinese name"),
    "organisation": _l("same organisation"),
    "file": _l("repeats an earlier row"),
}
_STRONG = frozenset({"email", "phone", "wechat"})


@dataclass(frozen=True)
class Match:
    """A record the row may describe: an existing one (`id`) or an earlier row (`row`)."""

    id: int | None
    row: int | None
    label: str
    detail: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Built:
    """A row as record data: `data` for the stakeholder service, `extra` for the kind."""

    data: dict[str, Any]
    extra: dict[str, Any]
    label: str
    detail: str
    errors: list[str]


@dataclass(frozen=True)
class PreviewRow:
    number: int
    label: str
    detail: str
    data: Mapping[str, Any]  # Python values; JSON-safe values when read back from a batch
    extra: Mapping[str, Any]
    errors: tuple[str, ...]
    matches: tuple[Match, ...]

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Preview:
    kind: str
    headers: tuple[str, ...]
    mapping: tuple[str, ...]
    rows: tuple[PreviewRow, ...]
    problems: tuple[str, ...] = ()  # about the whole file: nothing can be imported
    notices: tuple[str, ...] = ()  # worth knowing, not blocking

    @property
    def invalid(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.errors]

    @property
    def matched(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.matches and not r.errors]

    @property
    def new(self) -> list[PreviewRow]:
        return [r for r in self.rows if not r.matches and not r.errors]

    def row(self, number: int) -> PreviewRow | None:
        for row in self.rows:
            if row.number == number:
                return row
        return None


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


def field_choices(kind: Kind | str) -> list[tuple[str, str]]:
    """(field name, label) of a kind, for the mapping selects."""
    return [(spec.name, str(spec.label)) for spec in get_kind(kind).fields]


def guess_mapping(headers: Sequence[str], kind: Kind | str) -> list[str]:
    """The field each header stands for ("" when none); weak aliases only fill gaps."""
    kind = get_kind(kind)
    mapping = [""] * len(headers)
    for index, header in enumerate(headers):
        key = _key(header)
        if not key:
            continue
        for spec in kind.fields:
            if key == spec.name.replace("_", "") or key in spec.aliases:
                mapping[index] = spec.name
                break
    for index, header in enumerate(headers):
        if mapping[index]:
            continue
        key = _key(header)
        for spec in kind.fields:
            if key in spec.weak_aliases and spec.name not in mapping:
                mapping[index] = spec.name
                break
    return mapping


def locate_header(table: Table, kind: Kind | str) -> Table:
    """The table with its header moved down past title rows, when a later row is the header.

    Sign-in sheets often open with a title ("2026年3月培训签到表") above the real headers.
    Among the first rows, the one naming the most fields (at least two) becomes the header.
    """
    kind = get_kind(kind)
    candidates = [Row(table.header_row, table.headers), *table.rows[: _HEADER_SEARCH - 1]]
    scores = [sum(1 for f in guess_mapping(r.cells, kind) if f) for r in candidates]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    if best == 0 or scores[best] < 2 or scores[best] <= scores[0]:
        return table
    header = candidates[best]
    notices = [
        *table.source.get("notices", []),
        _(
            "The headers were found in row %(row)d; the rows above it were not imported.",
            row=header.number,
        ),
    ]
    return replace(
        table,
        headers=header.cells,
        rows=table.rows[best:],
        header_row=header.number,
        source={**table.source, "notices": notices},
    )


def _checked_mapping(mapping: Sequence[str], width: int, kind: Kind) -> tuple[str, ...]:
    names = {spec.name for spec in kind.fields}
    mapping = [str(m or "") for m in mapping][:width]
    mapping += [""] * (width - len(mapping))
    unknown = sorted({m for m in mapping if m and m not in names})
    if unknown:
        raise InvalidInput(_("Unknown field: %(name)s", name=", ".join(unknown)))
    return tuple(mapping)


def prepare(table: Table, kind: Kind | str, *, mapping: Sequence[str] | None = None) -> Preview:
    """Every row parsed, validated and matched against the database; writes nothing.

    Without `mapping` the headers are mapped with `guess_mapping`. A file-level problem
    (no column holds a name) is in `problems`; row errors name the column as headed in the
    file.
    """
    kind = get_kind(kind)
    width = len(table.headers)
    mapping = _checked_mapping(
        guess_mapping(table.headers, kind) if mapping is None else mapping, width, kind
    )
    columns: dict[str, list[int]] = {}
    for index, name in enumerate(mapping):
        if name:
            columns.setdefault(name, []).append(index)
    specs = {name: kind.spec(name) for name in columns}
    for name, indexes in columns.items():
        spec = specs[name]
        indexes.sort(key=lambda i, spec=spec: (_alias_rank(spec, table.headers[i]), i))

    problems: list[str] = []
    if not any(name in columns for name in kind.required):
        labels = ", ".join(str(kind.spec(n).label) for n in kind.required)
        problems.append(
            _(
                "No column holds a name. Choose below which column is the name (%(fields)s); "
                "headers such as 姓名, 名称, Name, First Name/Last Name are recognised.",
                fields=labels,
            )
        )
    notices = list(table.source.get("notices", []))
    ignored = [
        table.headers[i] or _("column %(n)d", n=i + 1)
        for i, name in enumerate(mapping)
        if not name and any(row.cells[i] for row in table.rows[:200])
    ]
    if ignored:
        notices.append(
            _("Columns not imported: %(columns)s.", columns=", ".join(f"“{h}”" for h in ignored))
        )

    built: list[Built] = []
    for row in table.rows:
        values: dict[str, Any] = {}
        errors: list[str] = []
        for name, indexes in columns.items():
            if table.cell_errors:
                for index in indexes:
                    problem = table.cell_errors.get((row.number, index))
                    if problem:
                        errors.append(_column_error(table.headers[index], index, problem))
            column = next((i for i in indexes if row.cells[i]), None)
            if column is None:
                continue
            try:
                values[name] = specs[name].parse(row.cells[column])
            except CellError as err:
                errors.append(_column_error(table.headers[column], column, str(err)))
        result = kind.build(values)
        built.append(replace(result, errors=errors + result.errors))

    found = kind.find(built)
    seen: dict[str, int] = {}
    rows: list[PreviewRow] = []
    for row, item, matches in zip(table.rows, built, found, strict=True):
        matches = list(matches)
        if not item.errors:
            earlier = sorted({seen[k] for k in kind.keys(item) if k in seen})
            matches += [Match(None, n, _("row %(n)d", n=n), "", ("file",)) for n in earlier]
            for key in kind.keys(item):
                seen.setdefault(key, row.number)
        rows.append(
            PreviewRow(
                number=row.number,
                label=item.label,
                detail=item.detail,
                data=item.data,
                extra=item.extra,
                errors=tuple(item.errors),
                matches=tuple(matches),
            )
        )
    return Preview(
        kind=kind.name,
        headers=tuple(table.headers),
        mapping=mapping,
        rows=tuple(rows),
        problems=tuple(problems),
        notices=tuple(notices),
    )


def _column_error(header: str, index: int, reason: str) -> str:
    return _(
        "%(column)s: %(reason)s", column=header or _("column %(n)d", n=index + 1), reason=reason
    )


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted({v for v in values if v})
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _ranked(found: dict[int, tuple[str, str, list[str]]]) -> list[Match]:
    """Candidates in the order of crm.services.duplicates: strong reasons first."""
    matches = [
        Match(sid, None, name, detail, tuple(dict.fromkeys(reasons)))
        for sid, (name, detail, reasons) in found.items()
    ]
    matches.sort(key=lambda m: (-len(_STRONG & set(m.reasons)), -len(m.reasons), m.id))
    return matches[:5]


def _name_of(stakeholder: Stakeholder) -> str:
    if stakeholder.chinese_name and stakeholder.chinese_name != stakeholder.display_name:
        return f"{stakeholder.display_name} {stakeholder.chinese_name}"
    return stakeholder.display_name


# --- Organisations ----------------------------------------------------------------------------


def build_organisation(values: dict[str, Any]) -> Built:
    data = dict(values)
    name = data.pop("name", None)
    if name:
        if has_han(name):
            data.setdefault("chinese_name", name)
            data.setdefault("display_name", name)
        else:
            data.setdefault("display_name", name)
    if not data.get("display_name") and data.get("chinese_name"):
        data["display_name"] = data["chinese_name"]
    if data.get("display_name") and has_han(data["display_name"]):
        data.setdefault("chinese_name", data["display_name"])
    errors = []
    if not data.get("display_name"):
        errors.append(_("A name is required."))
    parts = [label(data.get("org_type")), label(data.get("sector")), data.get("city")]
    display = data.get("display_name") or ""
    if data.get("chinese_name") and data["chinese_name"] != display:
        display = f"{display} {data['chinese_name']}"
    return Built(data, {}, display, " · ".join(p for p in parts if p), errors)


def organisation_keys(item: Built) -> set[str]:
    keys = {
        duplicates.organisation_key(item.data.get("display_name")),
        duplicates.organisation_key(item.data.get("chinese_name")),
    }
    return {f"org:{k}" for k in keys if k}


def find_organisations(built: Sequence[Built]) -> list[list[Match]]:
    keys = [
        [
            ("name", duplicates.organisation_key(b.data.get("display_name"))),
            ("chinese_name", duplicates.organisation_key(b.data.get("chinese_name"))),
        ]
        for b in built
    ]
    by_key: dict[str, list[Organisation]] = {}
    for chunk in _chunks(k for row in keys for _r, k in row):
        stmt = sa.select(Organisation).where(
            Organisation.deleted_at.is_(None),
            sa.or_(Organisation.match_key.in_(chunk), Organisation.match_key_zh.in_(chunk)),
        )
        for org in db.session.scalars(stmt):
            for key in {org.match_key, org.match_key_zh}:
                if key:
                    by_key.setdefault(key, []).append(org)
    results = []
    for row in keys:
        found: dict[int, tuple[str, str, list[str]]] = {}
        for reason, key in row:
            for org in by_key.get(key or "", []):
                detail = " · ".join(p for p in (label(org.org_type), org.city) if p)
                found.setdefault(org.id, (_name_of(org), detail, []))[2].append(reason)
        results.append(_ranked(found))
    return results


def write_organisation(
    writer: Writer, row: PreviewRow, action: str, target: Stakeholder | None
) -> Stakeholder:
    data = dict(row.data)
    if action == "create":
        data.setdefault("org_type", OrgType.other)
        return stakeholders._insert(
            Organisation, data, stakeholders.ORGANISATION_FIELDS, writer.actor
        )
    assert target is not None
    stakeholders._change(target, _changes(target, data), actor=writer.actor)
    return target


# --- People -----------------------------------------------------------------------------------


_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]+")


def _split_latin(name: str) -> tuple[str, str]:
    """(family, given) of a Latin full name: "Wang, Fang" or "Fang Wang"."""
    if "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        return family, given
    parts = name.split()
    if len(parts) == 1:
        return parts[0], ""
    return parts[-1], " ".join(parts[:-1])


def build_person(values: dict[str, Any]) -> Built:
    data = dict(values)
    full = data.pop("full_name", None)
    organisation = data.pop("organisation", None)
    if full:
        # "王芳", "Wang Fang", or both in one cell: "王芳 Wang Fang".
        han = "".join(_HAN_RUN.findall(full))
        latin = _WHITESPACE.sub(" ", _HAN_RUN.sub(" ", full)).strip(" ,;/()（）")
        if not re.search(r"[^\W\d_]", latin):
            latin = ""  # "人员12", "王芳2": one name with a number, not two names
            han = full if han else ""
        if han:
            data.setdefault("chinese_name", han)
        if latin and not (data.get("family_name") or data.get("given_name")):
            family, given = _split_latin(latin)
            if family:
                data["family_name"] = family[:80]
            if given:
                data["given_name"] = given[:80]
    family, given = data.get("family_name"), data.get("given_name")
    if family and given and has_han(family) and has_han(given) and not data.get("chinese_name"):
        # 姓 and 名 in characters make the Chinese name; the Latin name parts stay empty.
        data["chinese_name"] = f"{family}{given}"
        del data["family_name"], data["given_name"]
    errors = []
    if not (data.get("chinese_name") or data.get("family_name") or data.get("given_name")):
        errors.append(
            _("A name is required: a full name, a family or given name, or a Chinese name.")
        )
    extra: dict[str, Any] = {}
    if organisation:
        if duplicates.organisation_key(organisation) is None:
            errors.append(_("“%(value)s” is not an organisation name.", value=organisation[:60]))
        else:
            extra["organisation"] = organisation
    parts_of_name = SimpleNamespace(
        family_name=data.get("family_name"),
        given_name=data.get("given_name"),
        chinese_name=data.get("chinese_name"),
    )
    name = stakeholders._person_display_name(parts_of_name)  # type: ignore[arg-type]
    if data.get("chinese_name") and data["chinese_name"] != name:
        name = f"{name} {data['chinese_name']}"
    parts = [data.get("email"), data.get("phone"), organisation, data.get("job_title")]
    return Built(data, extra, name, " · ".join(p for p in parts if p), errors)


def person_keys(item: Built) -> set[str]:
    data = item.data
    name = duplicates.person_key(
        data.get("chinese_name"), data.get("family_name"), data.get("given_name")
    )
    organisation = duplicates.organisation_key(item.extra.get("organisation")) or ""
    keys = {
        f"email:{data['email']}" if data.get("email") else None,
        f"phone:{duplicates.phone_key(data.get('phone'))}"
        if duplicates.phone_key(data.get("phone"))
        else None,
        f"wechat:{data['wechat_id'].lower()}" if data.get("wechat_id") else None,
        f"name:{name}@{organisation}" if name else None,
    }
    return {k for k in keys if k}


def find_people(built: Sequence[Built]) -> list[list[Match]]:
    """The candidates of crm.services.duplicates.candidates_for_person, in batched queries.

    A match on the name alone is dropped when the row and the record both name an
    organisation and the two differ: 王芳 at one factory is not 王芳 at another. A name match
    at the same organisation says so ("same organisation").
    """
    wanted = []
    for b in built:
        d = b.data
        wanted.append(
            {
                "email": (d.get("email") or "").lower() or None,
                "phone": duplicates.phone_key(d.get("phone")),
                "wechat": (d.get("wechat_id") or "").lower() or None,
                "chinese_name": duplicates.chinese_key(d.get("chinese_name")),
                "name": duplicates.person_key(
                    d.get("chinese_name"), d.get("family_name"), d.get("given_name")
                ),
                "organisation": duplicates.organisation_key(b.extra.get("organisation")),
            }
        )
    columns = {
        "email": Person.email,
        "phone": Person.phone_key,
        "wechat": sa.func.lower(Person.wechat_id),
        "chinese_name": Person.match_key_zh,
        "name": Person.match_key,
    }
    hits: dict[str, dict[str, set[int]]] = {reason: {} for reason in columns}
    for reason, column in columns.items():
        for chunk in _chunks(w[reason] for w in wanted):
            stmt = sa.select(Person.id, column.label("key")).where(
                Person.deleted_at.is_(None), column.in_(chunk)
            )
            for person_id, key in db.session.execute(stmt):
                hits[reason].setdefault(key, set()).add(person_id)
    ids = {i for by_key in hits.values() for found in by_key.values() for i in found}
    people: dict[int, Person] = {}
    for chunk in _chunks(ids):
        stmt = (
            sa.select(Person)
            .where(Person.id.in_(chunk))
            .options(selectinload(Person.affiliations).joinedload(Affiliation.organisation))
        )
        people.update({p.id: p for p in db.session.scalars(stmt)})
    employers = {pid: _current_employers(person) for pid, person in people.items()}
    results = []
    for want in wanted:
        found: dict[int, tuple[str, str, list[str]]] = {}
        for reason in columns:
            for person_id in sorted(hits[reason].get(want[reason] or "", ())):
                person = people[person_id]
                orgs = employers[person_id]
                if reason in ("name", "chinese_name") and want["organisation"] and orgs:
                    if want["organisation"] not in {k for _n, keys in orgs for k in keys}:
                        continue
                    reasons = [reason, "organisation"]
                else:
                    reasons = [reason]
                detail = " · ".join(p for p in (person.email, *(n for n, _k in orgs)) if p)
                found.setdefault(person_id, (_name_of(person), detail, []))[2].extend(reasons)
        results.append(_ranked(found))
    return results


def _current_employers(person: Person) -> list[tuple[str, set[str]]]:
    """(name, match keys) of the live organisations where the person holds a current post."""
    employers = []
    for affiliation in person.affiliations:
        org = affiliation.organisation
        if affiliation.end_on is None and affiliation.deleted_at is None and org.deleted_at is None:
            employers.append(
                (org.display_name, {k for k in (org.match_key, org.match_key_zh) if k})
            )
    return employers


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
        person = stakeholders._insert(Person, data, stakeholders.PERSON_FIELDS, writer.actor)
        current: set[int] = set()
    else:
        assert isinstance(target, Person)
        person = target
        changes = _changes(person, data)
        if fill_in_only:
            changes = {k: v for k, v in changes.items() if k == "tags" or _lacks(person, k)}
        stakeholders._change(person, changes, actor=writer.actor)
        current = {
            a.organisation_id
            for a in person.affiliations
            if a.end_on is None and a.deleted_at is None
        }
    name = row.extra.get("organisation")
    if name:
        organisation = writer.organisation(name, row.number)
        if organisation.id not in current:
            stakeholders._attach(
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


def activity_of(batch: ImportBatch) -> Activity | None:
    """The activity of a sign-in sheet's batch (None for other kinds, or once it is gone)."""
    activity_id = ((batch.source or {}).get("options") or {}).get("activity_id")
    if batch.kind != ImportKind.attendance or not activity_id:
        return None
    return db.session.get(Activity, int(activity_id))


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
        lines.append(ReportLine(row.number, person.id, _name_of(person), note))
    return tuple(lines)


def _changes(record: Stakeholder, data: Mapping[str, Any]) -> dict[str, Any]:
    """What an update takes from a row: its non-empty values, and tags added to the old ones."""
    changes = {k: v for k, v in data.items() if v not in (None, "", [])}
    if "tags" in changes:
        changes["tags"] = sorted({t.name for t in record.tags} | set(changes["tags"]))
    return changes


_PEOPLE = Kind(
    name=ImportKind.people.value,
    model=Person,
    fields=PERSON_IMPORT_FIELDS,
    required=("full_name", "chinese_name", "family_name", "given_name"),
    build=build_person,
    find=find_people,
    keys=person_keys,
    write=write_person,
)

KINDS: dict[str, Kind] = {
    ImportKind.organisations.value: Kind(
        name=ImportKind.organisations.value,
        model=Organisation,
        fields=ORGANISATION_IMPORT_FIELDS,
        required=("name", "display_name", "chinese_name"),
        build=build_organisation,
        find=find_organisations,
        keys=organisation_keys,
        write=write_organisation,
    ),
    ImportKind.people.value: _PEOPLE,
    # A sign-in sheet is read and matched as people are; only writing differs.
    ImportKind.attendance.value: replace(
        _PEOPLE,
        name=ImportKind.attendance.value,
        write=write_attendee,
        default_action=DuplicateAction.update,
        options=attendance_options,
        after=mark_attended,
    ),
}


def get_kind(kind: Kind | str) -> Kind:
    if isinstance(kind, Kind):
        return kind
    try:
        return KINDS[str(kind)]
    except KeyError:
        raise InvalidInput(
            _("Choose what to import: organisations, people or an activity's sign-in sheet.")
        ) from None


# ---------------------------------------------------------------------------------------------
# 4. Writing: decisions, one transaction, progress, report
# ---------------------------------------------------------------------------------------------


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
                found = stakeholders._insert(
                    Organisation, data, stakeholders.ORGANISATION_FIELDS, self.actor
                )
                self.organisations_created.append(ReportLine(row, found.id, _name_of(found)))
            self.organisations[key] = found
        return self.organisations[key]


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
) -> list[tuple[PreviewRow, str, int | None, int | None, str]]:
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
    plan = []
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
    for chunk in _chunks(ids):
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


def _execute(
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
) -> Iterator[Progress | ImportReport]:
    """Check and plan now; return the generator that writes (see the module docstring)."""
    _require(actor)
    plan = _plan(
        preview, kind, decisions=decisions, on_duplicate=on_duplicate, skip_invalid=skip_invalid
    )
    return _write(
        plan, kind, writer=Writer(actor, options), dry_run=dry_run, before_commit=before_commit
    )


def _write(
    plan: list[tuple[PreviewRow, str, int | None, int | None, str]],
    kind: Kind,
    *,
    writer: Writer,
    dry_run: bool,
    before_commit: Callable[[ImportReport], None] | None,
) -> Iterator[Progress | ImportReport]:
    written: dict[int, Stakeholder] = {}
    rows_written: list[tuple[PreviewRow, Stakeholder]] = []
    created: list[ReportLine] = []
    updated: list[ReportLine] = []
    skipped: list[ReportLine] = []
    total = len(plan)
    step = max(1, total // 100)
    finished = False
    current = 0
    try:
        yield Progress(0, total)
        for done, (row, action, record_id, earlier, note) in enumerate(plan, start=1):
            current = row.number
            target: Stakeholder | None = None
            if action == "update":
                target = (
                    db.session.get(kind.model, record_id)
                    if record_id
                    else written.get(earlier or 0)
                )
                if target is None:
                    action = "create"  # the earlier row of the file wrote nothing
            if action == "skip":
                skipped.append(ReportLine(row.number, record_id, row.label, note))
            else:
                record = kind.write(writer, row, action, target)
                written[row.number] = record
                rows_written.append((row, record))
                line = ReportLine(row.number, record.id, _name_of(record))
                (created if action == "create" else updated).append(line)
            if done % step == 0 or done == total:
                yield Progress(done, total)
        current = 0
        after = kind.after(writer, rows_written) if kind.after is not None else ()
        report = ImportReport(
            kind=kind.name,
            created=tuple(created),
            updated=tuple(updated),
            skipped=tuple(skipped),
            organisations_created=tuple(writer.organisations_created),
            attended=after,
            dry_run=dry_run,
        )
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
            len(created),
            len(updated),
            len(skipped),
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
        if current:
            raise InvalidInput(
                _(
                    "Row %(row)d: %(reason)s Nothing was imported.",
                    row=current,
                    reason=str(err),
                )
            ) from None
        raise
    except sa.exc.SQLAlchemyError as err:
        db.session.rollback()
        finished = True
        log.warning("import failed at row %s: %s", current, type(err).__name__)
        if current:
            message = _("Row %(row)d could not be saved, so nothing was imported.", row=current)
        else:
            message = _("The import could not be saved, so nothing was imported.")
        raise InvalidInput(message) from None
    finally:
        if not finished:
            # Closed early (a client that went away) or failed: leave nothing half-written.
            db.session.rollback()


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
    _require(actor)
    kind = get_kind(kind)
    options = kind.checked_options(options, actor)
    table = locate_header(table, kind) if mapping is None else table
    preview = prepare(table, kind, mapping=mapping)
    steps = _execute(
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
    parts = []
    start = previous = None
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


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value for a CSV or XLSX export that a spreadsheet shows as text, never runs.

    Text starting with = + - @ (or a tab or carriage return) gets a leading apostrophe, as
    OWASP advises against CSV injection; other values are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# ---------------------------------------------------------------------------------------------
# 5. Staging in the database (the web UI)
# ---------------------------------------------------------------------------------------------


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
) -> ImportBatch:
    """Keep a parsed file with its guessed mapping and preview, for review; commits.

    Coordinators and up (PermissionDenied otherwise). The batch belongs to `actor`.
    `options` are checked by the kind and reach its `write` and `after` through
    `Writer.options` at commit. `on_duplicate` defaults to the kind's `default_action`.
    """
    _require(actor)
    kind = get_kind(kind)
    options = kind.checked_options(options, actor)
    table = locate_header(table, kind)
    preview = prepare(table, kind)
    source = {
        **table.source,
        "header_row": table.header_row,
        "cell_errors": [[r, c, m] for (r, c), m in table.cell_errors.items()],
        "options": options,
    }
    batch = ImportBatch(
        kind=ImportKind(kind.name),
        filename=(filename or "upload")[-255:],
        created_by_id=actor.id,
        on_duplicate=DuplicateAction(on_duplicate or kind.default_action),
        source=source,
        headers=list(table.headers),
        rows=[[row.number, list(row.cells)] for row in table.rows],
        mapping=list(preview.mapping),
        decisions={},
        preview=_preview_json(preview),
    )
    db.session.add(batch)
    db.session.commit()
    log.info("staged import batch %s: %d rows", batch.id, len(table.rows))
    return batch


def get_batch(batch_id: int, *, actor: User) -> ImportBatch:
    """A batch of `actor` (administrators see all); NotFound for others' and discarded ones."""
    _require(actor)
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
    _require(actor)
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
    """The stored preview (values JSON-safe: dates as ISO text, enums as their values)."""
    stored = batch.preview or {}
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


def _staged(batch: ImportBatch) -> None:
    if batch.status == ImportStatus.committed:
        raise Conflict(_("This file has already been imported."))
    if batch.status != ImportStatus.staged:
        raise NotFound(_("No such import."))


def remap(batch: ImportBatch, mapping: Sequence[str], *, actor: User) -> ImportBatch:
    """Map the columns differently and compute the preview again; commits.

    Row choices made under the old mapping are dropped, since the rows' matches change.
    """
    _require(actor)
    _staged(batch)
    preview = prepare(_table_of(batch), batch.kind.value, mapping=mapping)
    batch.mapping = list(preview.mapping)
    batch.preview = _preview_json(preview)
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
    _require(actor)
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
) -> Iterator[Progress | ImportReport]:
    """Import a staged batch: check now, then return the generator that writes.

    The rows are validated and matched again against the database as it is now, and the
    user's choices (saved ones, plus `decisions`) applied; rows with errors are refused
    unless `skip_invalid`. Those checks raise here, before anything is written. The returned
    generator yields Progress while writing and the ImportReport after the single commit,
    which also marks the batch imported and forgets its rows; a failure raises from the
    generator after rolling everything back.
    """
    _require(actor)
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

    return _execute(
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


def discard(batch: ImportBatch, *, actor: User) -> None:
    """Drop a staged batch and the copy of its rows; commits."""
    _require(actor)
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
    count = db.session.execute(stmt).rowcount
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
