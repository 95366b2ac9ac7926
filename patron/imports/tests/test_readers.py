"""Reading files: delimiters, quoting, encodings, XLSX, and every kind of bad file."""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from pathlib import Path

import pytest

from patron.imports.readers import (
    MAX_COLUMNS,
    ImportFileError,
    inspect_file,
    iter_rows,
)


def rows_of(path: Path | str) -> list[tuple[int, list, str]]:
    info = inspect_file(str(path))
    return list(iter_rows(str(path), info))


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    # Given a file whose cells hold the other delimiters and a quoted newline
    path = tmp_path / "d.csv"
    text = delimiter.join(["Name", "Email", "Note"]) + "\r\n"
    text += delimiter.join(['"Doe, Jane; ""J"""', "jane@example.com", '"two\nlines|x"']) + "\r\n"
    path.write_text(text, encoding="utf-8")
    # When it is read
    info = inspect_file(str(path))
    rows = list(iter_rows(str(path), info))
    # Then the delimiter, quoting and the embedded newline are understood
    assert info.delimiter == delimiter
    assert info.headers == ["Name", "Email", "Note"]
    assert rows == [(2, ['Doe, Jane; "J"', "jane@example.com", "two\nlines|x"], "")]


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("utf-8", "Name,City\nJosé,Zürich €\n".encode()),
        ("utf-8-sig", codecs.BOM_UTF8 + "Name,City\nJosé,Zürich €\n".encode()),
        ("utf-16", "Name,City\nJosé,Zürich €\n".encode("utf-16")),
        ("cp1252", "Name,City\nJosé,Zürich €\n".encode("cp1252")),
        ("latin-1", "Name,City\nJosé,Zürich ¤\n".encode("latin-1")),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, raw: bytes) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(raw)
    info = inspect_file(str(path))
    assert info.headers == ["Name", "City"]
    (row,) = list(iter_rows(str(path), info))
    assert row[1][0] == "José"
    assert row[1][1].startswith("Zürich ")


def test_binary_renamed_csv_is_refused(tmp_path: Path) -> None:
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    with pytest.raises(ImportFileError, match="PNG image"):
        inspect_file(str(png))
    blob = tmp_path / "blob.CSV"
    blob.write_bytes(b"Name,Email\n" + bytes([0, 1, 2, 255, 254, 0, 7]) * 500)
    with pytest.raises(ImportFileError, match="binary"):
        inspect_file(str(blob))


def test_undecodable_text_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"Name\n" + bytes(range(0x80, 0x100)) * 40)
    with pytest.raises(ImportFileError, match="encoding could not be recognised|binary"):
        inspect_file(str(path))


def test_zip_bomb_renamed_xlsx_is_refused_before_opening(tmp_path: Path) -> None:
    # Given a zip whose one member inflates 1000:1 (a zip bomb), named like a workbook
    bomb = tmp_path / "contacts.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", b"<x/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ImportFileError, match="zip bomb"):
        inspect_file(str(bomb))


def test_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ImportFileError, match="not an XLSX"):
        inspect_file(str(path))


def test_xlsx_is_streamed_with_dates_and_numbers(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["First name", "Phone", "Birthday", None])
    ws.append(["Jane", 4930123456, dt.datetime(1990, 3, 5), None])
    ws.append(['=HYPERLINK("x")', "+1 555", "05.03.1990"])
    path = tmp_path / "people.xlsx"
    wb.save(path)
    info = inspect_file(str(path))
    assert info.file_format == "xlsx"
    assert info.headers == ["First name", "Phone", "Birthday"]
    rows = list(iter_rows(str(path), info))
    assert rows[0] == (2, ["Jane", "4930123456", dt.date(1990, 3, 5)], "")
    # A formula is never evaluated: its cached value is read (none here: openpyxl wrote it).
    assert rows[1][1][0] == ""


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Email,Name,email\n", "Two columns are called 'email'"),
        ("Email,,Name\n", "Column 2 has no header"),
        ("", "empty"),
    ],
)
def test_bad_headers_are_refused(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(header + "a@b.co,x,y\n" if header else "")
    with pytest.raises(ImportFileError, match=message):
        inspect_file(str(path))


def test_ten_thousand_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(10_000)) + "\n" + "x," * 9999 + "x\n")
    with pytest.raises(ImportFileError, match=f"10,000 columns; at most {MAX_COLUMNS}"):
        inspect_file(str(path))


def test_ten_megabyte_cell_is_a_row_error_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("Name,Note\nJane,ok\n")
        fh.write("Huge," + "x" * (10 * 1024 * 1024) + "\n")
        fh.write('Quoted,"' + "y" * (100 * 1024) + '"\n')
        fh.write("John,fine\n")
    rows = rows_of(path)
    assert rows[0] == (2, ["Jane", "ok"], "")
    assert rows[1][0] == 3 and rows[1][1] == [] and "larger than" in rows[1][2]
    assert rows[2][0] == 4 and "64 KB" in rows[2][2]
    assert rows[3] == (5, ["John", "fine"], "")


def test_ragged_rows_are_padded_or_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("A,B,C\n1\n1,2,3,4\n1,2,3,,\n\n5,6,7\n")
    rows = rows_of(path)
    assert rows[0] == (2, ["1", "", ""], "")
    assert rows[1][2].startswith("The row has 4 cells")
    assert rows[2] == (4, ["1", "2", "3"], "")
    assert rows[3] == (6, ["5", "6", "7"], "")  # the blank line keeps its number


def test_only_rows_of_empty_cells_are_blank(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text('A,B\n,\n" ",\n"",""\n,x\n1,2\n')
    rows = rows_of(path)
    assert rows == [(3, [" ", ""], ""), (5, ["", "x"], ""), (6, ["1", "2"], "")]
