"""Reading report pages and exported files back, to compare them."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from typing import Any

from openpyxl import load_workbook

BOM = "\ufeff"


class _Tables(HTMLParser):
    """Text of every cell of every <table data-table="..."> (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-table"):
            self._table = str(found["data-table"])
            self.tables[self._table] = []
        elif self._table and tag == "caption":
            self._caption += 1
        elif self._table and tag == "tr":
            self._row = []
        elif self._table and self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "caption":
            self._caption = max(0, self._caption - 1)
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._caption:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_rows(body: bytes) -> list[list[str]]:
    """The rows of a CSV export; asserts the UTF-8 BOM that Excel needs for Chinese."""
    text = body.decode("utf-8")
    assert text.startswith(BOM), "CSV exports start with a BOM"
    return list(csv.reader(io.StringIO(text[1:])))


def workbook(body: bytes) -> Any:
    return load_workbook(io.BytesIO(body))


def sheet_rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_page_text(value: str) -> str:
    """A CSV cell as the page shows it (empty cells show a dash)."""
    return value if value != "" else "—"
