"""Reading files into tables: encodings, delimiters, workbooks, dates, whitespace, bad files."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from crm.services import imports
from crm.services.errors import InvalidInput
from crm.services.reporting import exports
from tests.imports.conftest import csv_bytes, xlsx_bytes

PEOPLE = [
    ["姓名", "手机", "邮箱", "单位"],
    ["王芳", "13800138000", "wang.fang@example.cn", "东莞和谐服装有限公司"],
    ["李娜", "+86 139 1234 5678", "li.na@example.cn", "深圳光明电子有限公司"],
]


@pytest.fixture(autouse=True)
def _context(in_app):  # type: ignore[no-untyped-def]
    """Messages are translated, which needs an application context."""
    with in_app():
        yield


def _read(data: bytes, filename: str = "people.csv", **limits: int) -> imports.Table:
    return imports.read_table(data, filename, limits=imports.Limits(**limits))


def _rejected(data: bytes, filename: str = "people.csv", **limits: int) -> str:
    with pytest.raises(InvalidInput) as caught:
        _read(data, filename, **limits)
    return str(caught.value)


def test_utf8_csv_is_read_with_spreadsheet_row_numbers():
    table = _read(csv_bytes(PEOPLE))
    assert table.headers == ("姓名", "手机", "邮箱", "单位")
    assert table.header_row == 1
    assert [row.number for row in table.rows] == [2, 3]
    assert table.rows[0].cells == (
        "王芳",
        "13800138000",
        "wang.fang@example.cn",
        "东莞和谐服装有限公司",
    )
    assert table.source["encoding"] == "utf-8" and table.source["delimiter"] == ","


def test_utf8_with_bom_does_not_leave_the_bom_in_the_first_header():
    data = csv_bytes(PEOPLE, encoding="utf-8-sig")
    assert data.startswith(codecs.BOM_UTF8)
    table = _read(data)
    assert table.headers[0] == "姓名"
    assert table.source["encoding"] == "utf-8-sig"


def test_gbk_csv_as_excel_in_china_saves_it_is_read():
    data = csv_bytes(PEOPLE, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = _read(data)
    assert table.source["encoding"] == "gb18030"
    assert table.rows[1].cells[0] == "李娜"
    assert table.rows[0].cells[3] == "东莞和谐服装有限公司"


def test_gb18030_characters_beyond_gbk_are_read():
    name = "𠮷野"  # U+20BB7 has no GBK code; GB18030 gives it four bytes
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    table = _read(csv_bytes([["姓名"], [name]], encoding="gb18030"))
    assert table.rows[0].cells == (name,)


def test_utf16_text_with_bom_as_excel_unicode_text_is_read():
    table = _read(csv_bytes(PEOPLE, encoding="utf-16", delimiter="\t"), "people.txt")
    assert table.source["encoding"] == "utf-16" and table.source["delimiter"] == "\t"
    assert table.rows[0].cells[0] == "王芳"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(delimiter):
    rows = [["Name", "Notes", "Email"], ["Li Na", "met in Shenzhen, 2024; twice", "li@x.cn"]]
    table = _read(csv_bytes(rows, delimiter=delimiter))
    assert table.source["delimiter"] == delimiter
    assert table.rows[0].cells == ("Li Na", "met in Shenzhen, 2024; twice", "li@x.cn")


def test_excel_sep_line_names_the_delimiter_and_is_not_a_row():
    table = _read(b"sep=;\r\nName;Email\r\nLi Na;li@x.cn\r\n")
    assert table.headers == ("Name", "Email")
    assert table.rows[0].number == 2 and table.rows[0].cells == ("Li Na", "li@x.cn")


def test_stray_whitespace_is_trimmed_and_empty_rows_are_skipped():
    data = "姓名 ,手机\r\n \u3000王芳\u00a0 ,\t138 0013 8000 \r\n,\r\n\r\n 李娜,\u200b\r\n".encode()
    table = _read(data)
    assert table.headers == ("姓名", "手机")
    assert [(row.number, row.cells) for row in table.rows] == [
        (2, ("王芳", "138 0013 8000")),
        (5, ("李娜", "")),
    ]


def test_a_csv_cell_starting_with_equals_is_text_and_exports_escape_it():
    table = _read(csv_bytes([["Name", "Notes"], ["Li Na", '=HYPERLINK("http://x")']]))
    assert table.rows[0].cells[1] == '=HYPERLINK("http://x")'
    for dangerous in ("=1+2", "+A1", "-5+cmd|' /C calc'!A0", "@SUM(A1)", "\t=x"):
        assert exports.safe_cell(dangerous) == "'" + dangerous
    # Phone numbers and signed numbers are not formulas: exported as they are.
    for plain in ("+86 138 0013 8000", "-5", "王芳"):
        assert exports.safe_cell(plain) == plain
    assert exports.safe_cell(3) == 3


def test_xlsx_rows_dates_and_numbers_are_read(tmp_path):
    # Excel has no time zones: its dates and times are naive.
    data = xlsx_bytes(
        tmp_path,
        [
            ["姓名", "手机", "同意日期", "影响力", "会面时间"],
            ["王芳", 13800138000, datetime(2024, 3, 5), 4.0, datetime(2024, 3, 5, 9, 30)],  # noqa: DTZ001
            [],
            ["  李娜 ", "13912345678", date(2023, 12, 31), 2, None],
        ],
    )
    table = _read(data, "people.xlsx")
    assert table.source["format"] == "xlsx" and table.source["sheet"] == "联系人"
    assert table.headers == ("姓名", "手机", "同意日期", "影响力", "会面时间")
    assert [(r.number, r.cells) for r in table.rows] == [
        (2, ("王芳", "13800138000", "2024-03-05", "4", "2024-03-05 09:30:00")),
        (4, ("李娜", "13912345678", "2023-12-31", "2", "")),
    ]


def test_an_xlsx_renamed_csv_is_still_read_as_a_workbook(tmp_path):
    data = xlsx_bytes(tmp_path, [["Name"], ["Li Na"]])
    assert _read(data, "people.csv").rows[0].cells == ("Li Na",)


def test_only_the_active_sheet_is_read_and_the_user_is_told(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Name"])
    book.active.append(["Li Na"])
    book.create_sheet("Other").append(["ignored"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    table = _read(path.read_bytes(), "two.xlsx")
    assert table.rows[0].cells == ("Li Na",)
    assert any("has 2 sheets" in notice for notice in table.source["notices"])


def test_a_formula_without_a_saved_result_is_an_error_on_its_cell(tmp_path):
    data = xlsx_bytes(tmp_path, [["Name", "Email"], ["Li Na", '=LOWER("LI@X.CN")']])
    table = _read(data, "people.xlsx")
    assert table.rows[0].cells == ("Li Na", "")
    assert "no saved result" in table.cell_errors[(2, 1)]
    assert 'LOWER("LI@X.CN")' in table.cell_errors[(2, 1)]


def _with_cached_result(data: bytes) -> bytes:
    """The workbook as Excel saves it: the formula's last result stored next to it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                text, count = re.subn(
                    r'<c r="B2"([^>]*)><f>(.*?)</f><v\s*/?>(?:</v>)?</c>',
                    r'<c r="B2" t="str"><f>\2</f><v>li@x.cn</v></c>',
                    text,
                )
                assert count == 1, text
                content = text.encode()
            target.writestr(item, content)
    return out.getvalue()


def test_a_formula_yields_its_saved_result_never_its_text(tmp_path):
    data = _with_cached_result(
        xlsx_bytes(tmp_path, [["Name", "Email"], ["Li Na", '=LOWER("LI@X.CN")']])
    )
    table = _read(data, "people.xlsx")
    assert table.rows[0].cells == ("Li Na", "li@x.cn")
    assert table.cell_errors == {}
    assert any("1 cell holds a formula" in notice for notice in table.source["notices"])


def test_excel_serial_numbers_and_written_dates_parse_as_dates():
    assert imports.parse_date("45356") == date(2024, 3, 5)
    assert imports.parse_date("45356.0") == date(2024, 3, 5)
    assert imports.parse_date("2024-03-05") == date(2024, 3, 5)
    assert imports.parse_date("2024/3/5") == date(2024, 3, 5)
    assert imports.parse_date("2024年3月5日") == date(2024, 3, 5)
    assert imports.parse_date("2024-03-05 00:00:00") == date(2024, 3, 5)
    for bad in ("05/03/2024", "2024-02-30", "12", "soon"):
        with pytest.raises(imports.CellError):
            imports.parse_date(bad)


def test_a_vcard_parser_output_becomes_a_table_mapped_one_to_one(in_app):
    records = [
        {"family_name": "Wang", "given_name": "Fang", "chinese_name": "王芳", "email": " w@x.cn "},
        {"family_name": "", "given_name": "", "chinese_name": "", "email": ""},
        {"family_name": "Li", "given_name": "Na", "chinese_name": "", "email": "li@x.cn"},
    ]
    table = imports.table_from_records(records, source={"format": "vcard"})
    assert table.source["format"] == "vcard"
    assert [(r.number, r.cells) for r in table.rows] == [
        (1, ("Wang", "Fang", "王芳", "w@x.cn")),
        (3, ("Li", "Na", "", "li@x.cn")),
    ]
    assert imports.guess_mapping(table.headers, "people") == list(table.headers)


# --- Bad files: each gets a message a user can act on -----------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"   \r\n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n,,\r\n"]
)
def test_an_empty_file_is_refused(data):
    assert _rejected(data) == "The file is empty."


def test_a_header_without_rows_is_refused():
    assert "no rows below it" in _rejected(b"Name,Email\r\n")


def test_a_file_over_the_size_limit_is_refused():
    message = _rejected(csv_bytes([["Name"]] + [["Li Na"]] * 500), max_bytes=1024)
    assert "files of at most 1 KB can be imported" in message


def test_a_binary_file_renamed_csv_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256))
    assert "binary data" in _rejected(png, "photo.csv")


def test_binary_bytes_without_nul_are_refused_too():
    noise = bytes([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0E, 0x0F, 0x10, 0x11]) * 4
    assert "binary data" in _rejected(b"Name\r\n" + noise)


def test_bytes_of_an_unknown_encoding_are_refused():
    # Valid in neither UTF-8 nor GB18030 (0x80 and 0xFF start no GB18030 character).
    assert "encoding could not be recognised" in _rejected(b"Name\r\n\x80\xff\x80abc\r\n")


def test_a_row_of_ten_thousand_columns_is_refused():
    data = b"Name,Email\r\nLi Na,li@x.cn\r\n" + b",".join([b"x"] * 10_000) + b"\r\n"
    message = _rejected(data)
    assert "Row 3 has 10000 columns; at most 200 can be imported." in message


def test_a_worksheet_row_of_ten_thousand_columns_is_refused(tmp_path):
    data = xlsx_bytes(tmp_path, [["Name"], ["Li Na"], ["x"] * 10_000])
    assert "Row 3 has 10000 columns" in _rejected(data, "wide.xlsx")


def test_too_many_rows_are_refused():
    data = csv_bytes([["Name"]] + [[f"Person {n}"] for n in range(30)])
    assert "more than 20 rows" in _rejected(data, max_rows=20)


def test_an_unclosed_quote_or_a_giant_cell_is_refused():
    data = b'Name,Notes\r\nLi Na,"' + b"x" * 200_000 + b"\r\n"
    assert "could not be read" in _rejected(data)


def test_an_old_xls_file_is_refused_with_advice():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert "(.xls) cannot be read" in _rejected(data, "old.xls")


@pytest.mark.parametrize(
    ("data", "filename"),
    [(b"Name,Email\r\n", "people.xlsx"), (b"PK\x03\x04not really a zip", "people.xlsx")],
)
def test_a_broken_workbook_is_refused(data, filename):
    message = _rejected(data, filename)
    assert "not a valid Excel workbook" in message or "could not be read as an Excel" in message


def test_a_zip_that_is_no_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "could not be read as an Excel workbook" in _rejected(out.getvalue(), "report.csv")


def test_other_file_types_are_refused():
    assert "not a .pdf file" in _rejected(b"%PDF-1.4 hello", "scan.pdf")


def test_control_characters_in_cells_become_spaces(tmp_path):
    table = imports.table_from_records([{"chinese_name": "王\x00芳\x07", "notes": "a\nb"}])
    assert table.rows[0].cells == ("王 芳", "a\nb")
    data = b"Name,Notes\r\nLi\x01Na,x\r\n"
    assert _read(data).rows[0].cells == ("Li Na", "x")
