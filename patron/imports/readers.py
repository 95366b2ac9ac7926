"""Reading uploaded tables: CSV (any delimiter, quoting, encodings) and XLSX, streamed.

``inspect_file`` looks at a stored upload once (format, encoding, delimiter, headers) and
refuses what cannot be read with a clear message (``ImportFileError``): binary files,
undetectable encodings, zip bombs, too many columns, duplicate or empty headers.
``iter_rows`` then streams ``(row_number, cells, problem)`` in constant memory; a row that
breaks a limit (a 10 MB cell) comes with a ``problem`` instead of failing the file.

Row numbers are spreadsheet-style: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from charset_normalizer import from_bytes

MAX_COLUMNS = 500
MAX_CELL_CHARS = 64 * 1024
MAX_ROW_CHARS = 2 * 1024 * 1024
MAX_HEADER_CHARS = 255
SAMPLE_BYTES = 256 * 1024
SNIFF_BYTES = 64 * 1024
# XLSX (a zip of XML): refuse before opening when it would inflate past these.
XLSX_MAX_UNCOMPRESSED = 1024 * 1024 * 1024
XLSX_MAX_RATIO = 150
XLSX_MAX_MEMBERS = 10_000
DELIMITERS = ",;\t|"

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Word file: save it as .xlsx or CSV",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\x7fELF": "a program",
    b"MZ": "a program",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Single-byte encodings charset detection may pick; anything else must be UTF-8/16.
_LEGACY = {"cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850", "iso8859_2", "cp1250"}


class ImportFileError(Exception):
    """The file cannot be imported; the message says why, for the person who uploaded it."""


@dataclass
class FileInfo:
    file_format: str  # csv | xlsx
    headers: list[str]
    encoding: str = ""
    delimiter: str = ""
    warnings: list[str] = field(default_factory=list)


# --- detection --------------------------------------------------------------------------


def _detect_encoding(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise ImportFileError(f"This is not a CSV file: it looks like {what}.")
    if b"\x00" in head:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if len(head) >= 4 and (odd > len(head) * 0.4 or even > len(head) * 0.4):
            return "utf-16-le" if odd > even else "utf-16-be"
        raise ImportFileError(
            "This is not a CSV file: it contains binary data. Upload a CSV or XLSX file."
        )
    if _decodes_fully(path, "utf-8"):
        return "utf-8"
    best = from_bytes(head).best()
    guess = (best.encoding if best else "").replace("-", "_").lower()
    for name in (guess, "cp1252"):
        if name in _LEGACY and _decodes_fully(path, name):
            return name
    if _decodes_fully(path, "latin_1") and _looks_like_text(head.decode("latin_1")):
        return "latin_1"
    raise ImportFileError(
        "The file's text encoding could not be recognised. Save it as UTF-8 CSV and try again."
    )


def _decodes_fully(path: str, encoding: str) -> bool:
    """True when the whole file decodes (streamed; a bad byte anywhere means no)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _looks_like_text(sample: str) -> bool:
    if not sample:
        return True
    bad = sum(1 for ch in sample if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) and ch not in "\t\r\n")
    return bad <= len(sample) * 0.01


def _check_text(path: str, encoding: str) -> None:
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not _looks_like_text(sample.lstrip("\ufeff")):
        raise ImportFileError(
            "This is not a CSV file: it contains control characters (is it binary?)."
        )


def _sniff_delimiter(sample: str) -> str:
    lines = sample.splitlines()
    if not lines:
        return ","
    complete = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    cut = complete.rfind("\n", 0, SNIFF_BYTES) if len(complete) > SNIFF_BYTES else -1
    if cut > 0:
        # csv.Sniffer's regexes take ~1 s over the whole 256 KB sample; its first 64 KB
        # of whole lines (hundreds of rows) decide as well.
        complete = complete[:cut]
    try:
        found = csv.Sniffer().sniff(complete, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    header = lines[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    if found and counts.get(found, 0) > 0:
        return found
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _clean_header(value: Any) -> str:
    text = "" if value is None else str(value)
    return " ".join(text.replace("\ufeff", "").split())


def _check_headers(raw: list[Any]) -> list[str]:
    while raw and (raw[-1] is None or str(raw[-1]).strip() == ""):
        raw = raw[:-1]  # trailing empty columns (spreadsheets often have them)
    if not raw:
        raise ImportFileError("The file is empty: the first row must hold the column headers.")
    if len(raw) > MAX_COLUMNS:
        raise ImportFileError(
            f"The file has {len(raw):,} columns; at most {MAX_COLUMNS} can be imported."
        )
    headers = [_clean_header(h) for h in raw]
    seen: dict[str, int] = {}
    for i, name in enumerate(headers, start=1):
        if not name:
            raise ImportFileError(f"Column {i} has no header. Every column needs a name.")
        if len(name) > MAX_HEADER_CHARS:
            raise ImportFileError(f"The header of column {i} is too long.")
        key = name.casefold()
        if key in seen:
            raise ImportFileError(
                f"Two columns are called {name[:60]!r} (columns {seen[key]} and {i}). "
                "Headers must be unique."
            )
        seen[key] = i
    return headers


# --- CSV ----------------------------------------------------------------------------------


def _lines(fh: IO[str]) -> Iterator[str]:
    """Physical lines, each at most MAX_ROW_CHARS (an overlong line becomes a marker)."""
    while True:
        line = fh.readline(MAX_ROW_CHARS)
        if not line:
            return
        if len(line) >= MAX_ROW_CHARS and not line.endswith("\n"):
            while True:  # drop the rest of the physical line
                rest = fh.readline(MAX_ROW_CHARS)
                if not rest or rest.endswith("\n"):
                    break
            yield _OVERLONG + "\n"
            continue
        yield line


_OVERLONG = "\x00patron-overlong-row\x00"


def _open_text(path: str, encoding: str) -> IO[str]:
    return open(path, encoding=encoding, newline="", errors="strict")


def _csv_rows(path: str, encoding: str, delimiter: str) -> Iterator[list[str] | str]:
    """Records of a CSV file; a record that breaks a limit is a str (the problem)."""
    csv.field_size_limit(MAX_CELL_CHARS)
    with _open_text(path, encoding) as fh:
        reader = csv.reader(_lines(fh), delimiter=delimiter, strict=False)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    yield f"A cell is larger than {MAX_CELL_CHARS // 1024} KB."
                else:
                    yield f"The row cannot be read as CSV ({exc})."
                continue
            if record and record[0].startswith(_OVERLONG):
                yield (
                    f"The row is larger than {MAX_ROW_CHARS // (1024 * 1024)} MB "
                    f"(a cell may hold at most {MAX_CELL_CHARS // 1024} KB)."
                )
                continue
            yield record


# --- XLSX ---------------------------------------------------------------------------------


def _check_zip(path: str) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(
            "This is not a valid XLSX workbook (the archive is damaged)."
        ) from exc
    if len(infos) > XLSX_MAX_MEMBERS:
        raise ImportFileError("This XLSX workbook has too many parts to be imported safely.")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise ImportFileError(
            "This XLSX workbook would expand to more than "
            f"{XLSX_MAX_UNCOMPRESSED // (1024 * 1024)} MB; it is refused (possible zip bomb)."
        )
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > XLSX_MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise ImportFileError(
                "This XLSX workbook is compressed suspiciously well "
                f"({info.file_size // max(info.compress_size, 1)}:1); it is refused "
                "(possible zip bomb)."
            )
    if total > XLSX_MAX_RATIO * max(packed, 1) and total > 1024 * 1024:
        raise ImportFileError("This XLSX workbook is refused (possible zip bomb).")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise ImportFileError("This ZIP file is not an XLSX workbook.")


def _xlsx_cell(value: Any) -> str | dt.date:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return str(value)


def _open_sheet(path: str) -> Any:
    from openpyxl import load_workbook

    _check_zip(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed files
        raise ImportFileError("This XLSX workbook cannot be read (is it damaged?).") from exc
    ws = wb.worksheets[0] if wb.worksheets else None
    if ws is None:
        raise ImportFileError("This XLSX workbook has no worksheet.")
    ws.reset_dimensions()  # do not trust (or pad to) the declared sheet size
    return wb, ws


def _xlsx_rows(path: str) -> Iterator[list[Any] | str]:
    wb, ws = _open_sheet(path)
    try:
        for raw in ws.iter_rows(values_only=True):
            cells = [_xlsx_cell(v) for v in raw]
            while cells and cells[-1] == "":
                cells.pop()
            if len(cells) > MAX_COLUMNS * 2:
                yield f"The row has {len(cells):,} cells; at most {MAX_COLUMNS} columns are read."
                continue
            if any(isinstance(c, str) and len(c) > MAX_CELL_CHARS for c in cells):
                yield f"A cell is larger than {MAX_CELL_CHARS // 1024} KB."
                continue
            yield cells
    finally:
        wb.close()


# --- public -------------------------------------------------------------------------------


def detect_format(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    return "xlsx" if head == b"PK\x03\x04" else "csv"


def inspect_file(path: str, *, encoding: str | None = None) -> FileInfo:
    """Format, encoding, delimiter and headers of a stored upload, or ImportFileError."""
    file_format = detect_format(path)
    if file_format == "xlsx":
        first = next(iter(_xlsx_rows(path)), None)
        if first is None or isinstance(first, str):
            raise ImportFileError(
                first or "The workbook is empty: the first row must hold the column headers."
            )
        return FileInfo(file_format="xlsx", headers=_check_headers(first))
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ImportFileError(f"Unknown encoding {encoding[:40]!r}.") from exc
        if not _decodes_fully(path, encoding):
            raise ImportFileError(f"The file is not valid {encoding[:40]} text.")
    else:
        encoding = _detect_encoding(path)
    _check_text(path, encoding)
    with _open_text(path, encoding) as fh:
        sample = fh.read(SAMPLE_BYTES).lstrip("\ufeff")
    delimiter = _sniff_delimiter(sample)
    first = next(iter(_csv_rows(path, encoding, delimiter)), None)
    if first is None:
        raise ImportFileError("The file is empty: the first row must hold the column headers.")
    if isinstance(first, str):
        raise ImportFileError(f"The header row cannot be read: {first}")
    # A header row of 10,000 columns is refused here (the CSV reader itself reads it).
    return FileInfo(
        file_format="csv", headers=_check_headers(first), encoding=encoding, delimiter=delimiter
    )


def iter_rows(
    path: str, info: FileInfo, *, start_row: int = 2
) -> Iterator[tuple[int, list[Any], str]]:
    """``(row_number, cells, problem)`` for every data row from ``start_row`` on.

    ``cells`` has exactly one value per header (short rows padded); ``problem`` is "" or
    why the row cannot be imported (then ``cells`` is empty).
    """
    width = len(info.headers)
    source = (
        _xlsx_rows(path)
        if info.file_format == "xlsx"
        else _csv_rows(path, info.encoding, info.delimiter)
    )
    row_number = 0
    for record in source:
        row_number += 1
        if row_number == 1:
            continue  # the header
        if row_number < start_row:
            continue
        if isinstance(record, str):
            yield row_number, [], record
            continue
        if record.count("") == len(record):  # every cell "" (cells are str or dates)
            continue  # blank line
        if len(record) > width:
            extra = record[width:]
            if any(c not in ("", None) for c in extra):
                yield (
                    row_number,
                    [],
                    f"The row has {len(record)} cells but the header has {width} columns.",
                )
                continue
            record = record[:width]
        elif len(record) < width:
            record = [*record, *([""] * (width - len(record)))]
        yield row_number, record, ""


def info_from_job(job: Any) -> FileInfo:
    return FileInfo(
        file_format=job.file_format,
        headers=list(job.headers),
        encoding=job.encoding,
        delimiter=job.delimiter,
    )


def text_stream(data: bytes, encoding: str = "utf-8") -> io.StringIO:
    """For tests and small in-memory inputs."""
    return io.StringIO(data.decode(encoding))
