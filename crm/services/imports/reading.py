"""Reading an uploaded file into a `Table`: bytes, encodings, CSV and XLSX sheets, limits.

`read_table(data, filename, limits=)` turns the bytes of a CSV or XLSX file into a `Table`:
the header row and the data rows as text, each row with its number as the spreadsheet shows
it (the header is row 1). CSV is decoded as UTF-8 (with or without BOM), then GB18030 (a
superset of GBK, what Excel in China writes), or UTF-16 with a BOM; other bytes are rejected.
The delimiter (comma, semicolon or tab) is sniffed from the header. XLSX is read with openpyxl
(read-only, cached values): a formula yields the result Excel saved, never its text, and a
formula without a saved result is an error on its row. Excel dates become ISO dates;
whitespace is trimmed; control characters are replaced (crm.services.text.clean_text, the
rule forms apply); empty rows are skipped. Limits and unreadable files raise InvalidInput
with a message for the user.

Limits (`Limits`, from the IMPORT_MAX_* settings) bound what one upload may cost, since it
is read inside a web request: the file's size, then for a workbook, before openpyxl parses
anything, what its parts unpack to (the sum of the zip members' sizes, and each large
member's compression ratio, since a few hundred KB of zeros can unpack to gigabytes); while
reading, the rows, the columns, the characters of one cell and of the whole file (a shared
string can be repeated in every cell). zipfile never unpacks more than a member declares, so
the declared sizes hold. A workbook without formulas is parsed once, not twice.

`table_from_records(records)` is the entry point for rows another parser has already
produced, keyed by the canonical field names of a kind: a .vcf file goes through
`crm.services.contacts.parse_vcards` and then the same preview. `read_upload` picks the reader
by file name (.vcf, else CSV/XLSX). `header_candidates` and `with_header_at` move a table's
header down past title rows; which row is the header is decided with a kind's fields
(`kinds.locate_header`).

Spreadsheet formulas: nothing here evaluates a cell. A CSV cell "=1+2" is the text "=1+2";
exports pass text through their formula guard (`safe_cell`, crm.services.reporting.exports)
so that values starting with = + - @ are never written back unescaped into a CSV or XLSX that
a spreadsheet would run (CSV injection).

This module imports nothing else of the import pipeline.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import warnings
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import zip_longest
from typing import Any

from flask_babel import ngettext

from crm.i18n import gettext as _
from crm.models import ImportKind
from crm.services.errors import InvalidInput
from crm.services.text import clean_text

log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MB
# Stop reading a worksheet after this many empty rows in a row: sheets whose formatting
# reaches row 1,048,576 would otherwise be walked to the end.
_MAX_BLANK_RUN = 1000
# How many rows above the data may hold a title instead of the headers.
HEADER_SEARCH = 10


@dataclass(frozen=True)
class Limits:
    """What a file may hold and cost to read; `from_config` takes the IMPORT_MAX_* settings
    (crm.config, where each is explained)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = 20_000
    max_columns: int = 200
    max_unpacked_bytes: int = 32 * MB
    max_compression_ratio: int = 100
    max_cell_chars: int = 32_767

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        defaults = cls()
        return cls(
            max_bytes=int(config.get("IMPORT_MAX_BYTES", defaults.max_bytes)),
            max_rows=int(config.get("IMPORT_MAX_ROWS", defaults.max_rows)),
            max_columns=int(config.get("IMPORT_MAX_COLUMNS", defaults.max_columns)),
            max_unpacked_bytes=int(
                config.get("IMPORT_MAX_UNPACKED_BYTES", defaults.max_unpacked_bytes)
            ),
            max_compression_ratio=int(
                config.get("IMPORT_MAX_COMPRESSION_RATIO", defaults.max_compression_ratio)
            ),
            max_cell_chars=int(config.get("IMPORT_MAX_CELL_CHARS", defaults.max_cell_chars)),
        )


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


# Many of these in a "CSV" mean binary data; a few are replaced before the CSV is parsed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A formula element in a worksheet's XML, with or without a namespace prefix.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
# Members smaller than this are not judged by their compression ratio (styles repeat a lot).
_RATIO_FLOOR = MB
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
VCARD_EXTENSIONS = (".vcf", ".vcard")


def _clean(value: str) -> str:
    """Trim spaces (also full-width, no-break and zero-width ones) around a cell; control
    characters (an XLSX can hold _x0000_) become spaces by the rule forms apply too (a cell
    may hold several lines)."""
    value = clean_text(value.replace("\r\n", "\n"), multiline=True)
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


def header_candidates(table: Table) -> list[Row]:
    """The header row and the rows below it that may be the real header instead.

    Sign-in sheets often open with a title ("2026年3月培训签到表") above the real headers.
    """
    return [Row(table.header_row, table.headers), *table.rows[: HEADER_SEARCH - 1]]


def with_header_at(table: Table, index: int) -> Table:
    """The table with `header_candidates(table)[index]` as its header (index > 0); the rows
    above it are dropped, with a notice for the user."""
    header = header_candidates(table)[index]
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
        rows=table.rows[index:],
        header_row=header.number,
        source={**table.source, "notices": notices},
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
            _check_cells(number, cells, limits)
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


def _check_cells(number: int, cells: Sequence[str], limits: Limits) -> int:
    """The characters of a row's cells; InvalidInput when one cell holds too many."""
    total = 0
    for cell in cells:
        if len(cell) > limits.max_cell_chars:
            raise InvalidInput(
                _(
                    "Row %(row)d has a cell of more than %(limit)d characters, more than a "
                    "spreadsheet cell holds. Check the file and upload it again.",
                    row=number,
                    limit=limits.max_cell_chars,
                )
            )
        total += len(cell)
    return total


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
            has_formulas = _inspect_workbook(archive, limits)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error):
        # A damaged archive, an encrypted member, a compression zipfile does not know.
        raise InvalidInput(not_a_workbook) from None
    import openpyxl

    books = []
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; none matter for values.
            warnings.simplefilter("ignore")
            # The saved results, and when the sheets hold formulas a second pass for the cells'
            # types, to see which were formulas (openpyxl gives one or the other).
            values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            books.append(values)
            formulas = None
            if has_formulas:
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


def _inspect_workbook(archive: zipfile.ZipFile, limits: Limits) -> bool:
    """Refuse a workbook that unpacks to too much, before anything parses it; whether its
    worksheets hold formulas.

    Reads the zip's directory, then unpacks the worksheets (at most the sizes they declare,
    which zipfile enforces) to look for formula elements.
    """
    members = archive.infolist()
    unpacked = sum(info.file_size for info in members)
    if unpacked > limits.max_unpacked_bytes:
        raise InvalidInput(
            _(
                "The workbook is too large once unpacked (%(size)s; at most %(limit)s can be "
                "imported). Split it into smaller files, or save it as “CSV UTF-8”.",
                size=_size_text(unpacked),
                limit=_size_text(limits.max_unpacked_bytes),
            )
        )
    for info in members:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_compression_ratio:
            raise InvalidInput(
                _(
                    "The workbook holds a part that unpacks to %(ratio)d times its size, which "
                    "spreadsheets do not write. Copy the data into a new workbook, or save it "
                    "as “CSV UTF-8”, and upload it again.",
                    ratio=int(ratio),
                )
            )
    sheets = [i for i in members if i.filename.startswith("xl/worksheets/") and not i.is_dir()]
    return any(_holds_formula(archive, info) for info in sheets)


def _holds_formula(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    tail = b""
    with archive.open(info) as part:
        while chunk := part.read(1024 * 1024):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-64:]
    return False


def _sheet(book: Any) -> Any:
    sheet = book.active
    if sheet is None or not hasattr(sheet, "iter_rows"):
        sheet = book.worksheets[0]
    sheet.reset_dimensions()  # trust the cells, not the sheet's claimed size
    return sheet


def _read_sheet(values: Any, formulas: Any | None, limits: Limits) -> Table:
    """The active sheet's rows; `formulas` is the same workbook read for its formulas, or
    None when it has none."""
    sheet = _sheet(values)
    formula_rows: Any = ()
    if formulas is not None:
        formula_sheet = formulas[sheet.title]
        formula_sheet.reset_dimensions()
        formula_rows = formula_sheet.iter_rows()
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
    characters = 0
    pairs = zip_longest(sheet.iter_rows(values_only=True), formula_rows)
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
        characters += _check_cells(number, cells, limits)
        if characters > limits.max_unpacked_bytes:  # shared strings, repeated in every cell
            raise InvalidInput(
                _(
                    "The workbook holds more text than can be imported at once. Split it "
                    "into smaller files."
                )
            )
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
