"""A streaming XLSX writer for the exports: rows in, a workbook out, at disk speed.

openpyxl builds an element tree for every cell it writes: 20,000 rows of 16 columns took
3.3 s on the benchmark machine before a single value was read from the database, over the
3 s an export of 20,000 organisations may take (issue #13). Exports need little of what
openpyxl offers: sheets of typed cells, a bold frozen header, column widths and a few number
formats. This module writes exactly that as SpreadsheetML text, row by row, into a ZIP file,
so a workbook of any size goes from the query to a spooled file without sitting in memory.
The files are read back by openpyxl (tests, the importer) and open in Excel, LibreOffice and
WPS.

What a cell becomes:

* text is an inline string: never a formula, whatever it starts with ("=1+1" stays text);
  control characters (which XML 1.0 cannot hold, or which no cell should) become spaces by
  the rule forms and imports apply (crm.services.text.clean_text), and text longer than a
  cell takes (32,767 characters) is cut there; sheet names get the same rule;
* int and float are numbers; a float in a "number" or "percent" column shows one decimal;
* date and datetime are real dates (serial numbers with a date format), datetimes already in
  the programme's time zone; a date in a "month" column shows as yyyy-mm;
* None is an empty cell; bool is text (the caller's words for yes and no).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from crm.services.text import clean_text

MAX_TEXT = 32_767  # characters a cell holds in Excel
ROWS_PER_WRITE = 500
# Day 0 of Excel's 1900 date system, as openpyxl counts; naive, as sheets know no zones.
_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001
_EPOCH_DAY = _EPOCH.date()

# Cell styles (indexes into cellXfs of styles.xml below).
PLAIN, HEADER, DATE, MONTH, DATETIME, DECIMAL = range(6)
DATE_STYLES = {"month": MONTH}
FLOAT_STYLES = {"number": DECIMAL, "percent": DECIMAL}

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

_STYLES = (
    _DECLARATION + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="4">'
    '<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm"/>'
    '<numFmt numFmtId="166" formatCode="yyyy-mm-dd hh:mm"/>'
    '<numFmt numFmtId="167" formatCode="0.0"/>'
    "</numFmts>"
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


@dataclass(frozen=True)
class Worksheet:
    """One sheet to write: a valid, unique name (the caller checks), the header row, each
    column's kind and width, and rows of values in column order (iterated once)."""

    name: str
    headers: Sequence[str]
    kinds: Sequence[str]
    widths: Sequence[float]
    rows: Iterable[Sequence[Any]]


def text(value: str) -> str:
    """Text as the content of an XML element that keeps its spaces."""
    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT]
    return escape(clean_text(value, multiline=True))


def _string(ref: str, value: str, style: int = PLAIN) -> str:
    styled = f' s="{style}"' if style else ""
    content = f'<is><t xml:space="preserve">{text(value)}</t></is>'
    return f'<c r="{ref}"{styled} t="inlineStr">{content}</c>'


@dataclass(frozen=True)
class _Context:
    tz: ZoneInfo
    yes: str
    no: str


def _number(ref: str, value: float | int | Decimal, kind: str) -> str:
    if not math.isfinite(value):  # NaN and infinities are not numbers in a sheet
        return _string(ref, str(value))
    style = FLOAT_STYLES.get(kind, PLAIN) if not isinstance(value, int) else PLAIN
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled}><v>{value}</v></c>'


def _cell(ref: str, value: Any, kind: str, context: _Context) -> str:
    """The XML of one cell; '' for None."""
    cls = value.__class__
    if cls is str:
        return _string(ref, value)
    if value is None:
        return ""
    if cls is int:
        return f'<c r="{ref}"><v>{value}</v></c>'
    if cls is bool:
        return _string(ref, context.yes if value else context.no)
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # spreadsheets know no time zones: the local time
            value = value.astimezone(context.tz).replace(tzinfo=None)
        serial = (value - _EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        style = DATE_STYLES.get(kind, DATE)
        return f'<c r="{ref}" s="{style}"><v>{(value - _EPOCH_DAY).days}</v></c>'
    if isinstance(value, int | float | Decimal):
        return _number(ref, value, kind)
    return _string(ref, str(value))


def _sheet_head(sheet: Worksheet, selected: bool) -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{width:g}" customWidth="1"/>'
        for i, width in enumerate(sheet.widths, start=1)
    )
    header = "".join(
        _string(f"{get_column_letter(i)}1", h, HEADER) for i, h in enumerate(sheet.headers, 1)
    )
    tab = ' tabSelected="1"' if selected else ""
    cols = f"<cols>{cols}</cols>" if cols else ""
    return (
        _DECLARATION + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<sheetViews><sheetView{tab} workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        f'<sheetFormatPr defaultRowHeight="15"/>{cols}<sheetData>'
        f'<row r="1">{header}</row>'
    )


def _write_sheet(out: IO[bytes], sheet: Worksheet, context: _Context, selected: bool) -> None:
    letters = [get_column_letter(i) for i in range(1, len(sheet.kinds) + 1)]
    columns = list(zip(letters, sheet.kinds, strict=True))
    chunk: list[str] = [_sheet_head(sheet, selected)]
    for number, values in enumerate(sheet.rows, start=2):
        cells = "".join(
            _cell(f"{letter}{number}", value, kind, context)
            for (letter, kind), value in zip(columns, values, strict=False)
        )
        chunk.append(f'<row r="{number}">{cells}</row>')
        if len(chunk) >= ROWS_PER_WRITE:
            out.write("".join(chunk).encode())
            chunk.clear()
    chunk.append("</sheetData></worksheet>")
    out.write("".join(chunk).encode())


def _package(names: Sequence[str]) -> dict[str, str]:
    """The parts around the sheets: content types, relationships, workbook, styles."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
        for n in range(1, len(names) + 1)
    )
    sheets = "".join(
        f'<sheet name={quoteattr(clean_text(name))} sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(names, start=1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(names) + 1)
    )
    styles_id = len(names) + 1
    return {
        "[Content_Types].xml": _DECLARATION
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' + overrides + "</Types>",
        "_rels/.rels": _DECLARATION + f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": _DECLARATION + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
        "</workbook>",
        "xl/_rels/workbook.xml.rels": _DECLARATION
        + f'<Relationships xmlns="{_PKG_REL}">'
        + sheet_rels
        + f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/>'
        "</Relationships>",
        "xl/styles.xml": _STYLES,
    }


def write(
    out: IO[bytes], sheets: Iterable[Worksheet], *, tz: ZoneInfo, yes_no: tuple[str, str]
) -> None:
    """Write a workbook of `sheets` (at least one: an empty "Sheet" when none) to `out`.

    Rows are read one at a time and written in chunks of compressed XML: memory stays flat
    whatever the number of rows. Aware datetimes are written in `tz`; `yes_no` is the text
    of True and False cells.
    """
    context = _Context(tz, *yes_no)
    names: list[str] = []
    # Level 1: files a fifth larger than level 6, written two and a half times as fast.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for sheet in sheets:
            names.append(sheet.name)
            with archive.open(f"xl/worksheets/sheet{len(names)}.xml", "w") as part:
                _write_sheet(part, sheet, context, selected=len(names) == 1)
        if not names:
            names.append("Sheet")
            with archive.open("xl/worksheets/sheet1.xml", "w") as part:
                _write_sheet(part, Worksheet("Sheet", (), (), (), ()), context, selected=True)
        for name, content in _package(names).items():
            archive.writestr(name, content)
